//! The idle class (kernel/sched/idle.c): the per-CPU idle task, always pickable, never
//! queued.

use crate::class::SchedClass;
use crate::sched::Sched;
use crate::task::TaskId;

pub struct IdleClass;

impl SchedClass for IdleClass {
    fn enqueue_task(&self, _s: &mut Sched, _cpu: u32, _p: TaskId, _flags: u32) {}

    fn dequeue_task(&self, _s: &mut Sched, _cpu: u32, _p: TaskId, _flags: u32) -> bool {
        true
    }

    fn yield_task(&self, _s: &mut Sched, _cpu: u32) {}

    /// `wakeup_preempt_idle`: anything preempts idle.
    fn wakeup_preempt(&self, s: &mut Sched, cpu: u32, _p: TaskId, _wake_flags: u32) {
        s.resched_curr(cpu);
    }

    /// `pick_task_idle`.
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        Some(s.rq(cpu).idle)
    }

    fn put_prev_task(&self, _s: &mut Sched, _cpu: u32, _prev: TaskId, _next: TaskId) {}

    fn set_next_task(&self, _s: &mut Sched, _cpu: u32, _p: TaskId, _first: bool) {}

    fn select_task_rq(&self, s: &mut Sched, p: TaskId, _prev: u32, _wake_flags: u32) -> u32 {
        s.task(p).cpu
    }

    fn task_tick(&self, _s: &mut Sched, _cpu: u32, _p: TaskId) {}

    fn update_curr(&self, _s: &mut Sched, _cpu: u32) {}
}
