//! Priority inheritance (kernel/sched/core.c `rt_mutex_setprio`): a task holding a PI mutex
//! runs at the priority of its top waiter. The user layer picks the top waiter from its
//! mutexes (kernel/locking/rtmutex.c: by priority, deadline waiters by deadline); this is
//! the scheduler side. A deadline donor (priority −1) moves the owner to the deadline class
//! with its `pi_se` pointing to the donor's entity (class/dl/pi.rs): a task that is not
//! SCHED_DEADLINE runs on the donor's parameters, a deadline task is boosted only by a
//! donor with an earlier deadline.

use schedsim_trace::Event;
use schedsim_workload::Policy;

use crate::class::{class_of, dequeue, dl, enqueue, ClassId};
use crate::prio::MAX_RT_PRIO;
use crate::sched::{Ctx, Sched};
use crate::task::{OnRq, TaskId};

impl Sched {
    /// `__rt_effective_prio(pi_task, prio)`: the donor's priority if it is higher.
    pub(crate) fn rt_effective_prio(&self, pi_task: Option<TaskId>, prio: i32) -> i32 {
        pi_task.map_or(prio, |d| self.task(d).prio.min(prio))
    }

    /// `rt_mutex_setprio(p, pi_task)`: `pi_task` is the top waiter of the PI mutexes `p`
    /// holds, or None when nothing boosts it any more. Traces `sched_pi_setprio` when the
    /// priority changes (always in the deadline range, where the donor's parameters may
    /// change at the same priority) and moves the task between classes (a fair task
    /// boosted by an RT waiter runs in rt, by a deadline waiter in dl).
    pub fn rt_mutex_setprio(&mut self, ctx_cpu: u32, p: TaskId, pi_task: Option<TaskId>) {
        let t = self.task(p);
        let prio = self.rt_effective_prio(pi_task, t.normal_prio);
        let oldprio = t.prio;
        if t.pi_task == pi_task && prio == oldprio && prio >= 0 {
            return;
        }
        self.task_mut(p).pi_task = pi_task;
        if prio == oldprio && prio >= 0 {
            return;
        }
        let t = self.task(p);
        let ev = Event::PiSetprio {
            comm: t.comm,
            pid: t.pid,
            oldprio,
            newprio: prio,
        };
        let (cpu, class) = (t.cpu, t.class);
        self.trace_in(Ctx::Task(ctx_cpu), 2, ev);
        self.update_rq_clock(cpu);
        let mut queue_flags = dequeue::SAVE | dequeue::MOVE | dequeue::NOCLOCK;
        if oldprio == prio {
            queue_flags &= !dequeue::MOVE;
        }
        let new_class = if prio < 0 {
            ClassId::Dl
        } else if prio < MAX_RT_PRIO {
            ClassId::Rt
        } else {
            self.policy_class(self.task(p).policy)
        };
        // A delayed fair sleeper changing class finishes its dequeue first.
        if new_class != class
            && class == ClassId::Fair
            && self.task(p).on_rq == OnRq::Queued
            && self.fair.se(self.task(p).se).sched_delayed
        {
            let flags = dequeue::SLEEP | dequeue::DELAYED | dequeue::NOCLOCK;
            class_of(class).dequeue_task(self, cpu, p, flags);
        }
        let queued = self.task(p).on_rq == OnRq::Queued;
        let running = self.curr(cpu) == p;
        if queued {
            class_of(class).dequeue_task(self, cpu, p, queue_flags);
        }
        if running {
            class_of(class).put_prev_task(self, cpu, p, p);
        }
        // DEQUEUE_SAVE|MOVE|NOCLOCK are ENQUEUE_RESTORE|MOVE|NOCLOCK.
        let mut en = queue_flags;
        if prio < 0 {
            if dl::pi_setprio_dl(self, p, pi_task) {
                en |= enqueue::REPLENISH;
            }
        } else {
            if oldprio < 0 {
                dl::pi_unboost_dl(self, p);
            }
            // An RT deboost requeues at the head of its level.
            if prio < MAX_RT_PRIO && oldprio < prio {
                en |= enqueue::HEAD;
            }
        }
        let t = self.task_mut(p);
        t.prio = prio;
        t.class = new_class;
        if queued {
            class_of(new_class).enqueue_task(self, cpu, p, en);
        }
        if running {
            class_of(new_class).set_next_task(self, cpu, p, false);
        }
        // check_class_changed
        if new_class != class {
            class_of(class).switched_from(self, cpu, p);
            class_of(new_class).switched_to(self, cpu, p);
        } else {
            class_of(new_class).prio_changed(self, cpu, p, oldprio);
        }
    }

    /// The class a task of this policy runs in when not boosted (`__setscheduler_class`).
    fn policy_class(&self, policy: Policy) -> ClassId {
        if policy == Policy::Deadline {
            ClassId::Dl
        } else if policy.is_rt() {
            ClassId::Rt
        } else if self.task_should_scx(policy) {
            ClassId::Ext
        } else {
            ClassId::Fair
        }
    }
}
