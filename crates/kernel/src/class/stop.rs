//! The stop class (kernel/sched/stop_task.c): one task per CPU, the stopper kthread
//! `migration/N` (`rq->stop`), above every other class. It preempts everything, nothing
//! preempts it, and it never migrates. Its works are run by `core::stopper`.

use crate::class::SchedClass;
use crate::sched::Sched;
use crate::task::{OnRq, TaskId};

/// `sched_stop_runnable`: the rq's stopper is queued.
fn stop_runnable(s: &Sched, cpu: u32) -> bool {
    s.rq(cpu)
        .stop
        .is_some_and(|p| s.task(p).on_rq == OnRq::Queued)
}

pub struct StopClass;

impl SchedClass for StopClass {
    /// `enqueue_task_stop`.
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, _p: TaskId, _flags: u32) {
        s.add_nr_running(cpu, 1);
    }

    /// `dequeue_task_stop`.
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, _p: TaskId, _flags: u32) -> bool {
        s.add_nr_running(cpu, -1);
        true
    }

    /// `yield_task_stop`: the stopper never yields.
    fn yield_task(&self, _s: &mut Sched, _cpu: u32) {
        unreachable!("the stop task never yields");
    }

    /// `wakeup_preempt_stop`: never preempted.
    fn wakeup_preempt(&self, _s: &mut Sched, _cpu: u32, _p: TaskId, _wake_flags: u32) {}

    /// `balance_stop`.
    fn balance(&self, s: &mut Sched, cpu: u32, _prev: TaskId) -> bool {
        stop_runnable(s, cpu)
    }

    /// `pick_task_stop`.
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        if !stop_runnable(s, cpu) {
            return None;
        }
        s.rq(cpu).stop
    }

    /// `put_prev_task_stop` → `update_curr_common`: charge the run to the task's entity
    /// and cgroup.
    fn put_prev_task(&self, s: &mut Sched, cpu: u32, prev: TaskId, _next: TaskId) {
        let now = s.rq(cpu).clock_task;
        let se = s.task(prev).se;
        let e = s.fair.se_mut(se);
        let delta = now.saturating_sub(e.exec_start);
        e.exec_start = now;
        e.sum_exec_runtime += delta;
        let g = s.task(prev).cgroup;
        s.fair.tg_mut(g).usage += delta;
    }

    /// `set_next_task_stop`.
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, _first: bool) {
        let se = s.task(p).se;
        s.fair.se_mut(se).exec_start = s.rq(cpu).clock_task;
    }

    /// `select_task_rq_stop`: stop tasks never migrate.
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, _prev: u32, _wake_flags: u32) -> u32 {
        s.task(p).cpu
    }

    /// `task_tick_stop`.
    fn task_tick(&self, _s: &mut Sched, _cpu: u32, _p: TaskId) {}

    /// `update_curr_stop`.
    fn update_curr(&self, _s: &mut Sched, _cpu: u32) {}
}
