//! Priority inheritance (kernel/sched/core.c `rt_mutex_setprio`): a task holding a PI mutex
//! runs at the priority of its highest-priority waiter. The user layer decides the donor
//! priority from its mutexes (kernel/locking/rtmutex.c); this is the scheduler side.

use schedsim_trace::Event;
use schedsim_workload::Policy;

use crate::class::{class_of, dequeue, enqueue, ClassId};
use crate::prio::MAX_RT_PRIO;
use crate::sched::{Ctx, Sched};
use crate::task::{OnRq, TaskId};

impl Sched {
    /// `rt_mutex_setprio(p, pi_task)`: `pi_prio` is the top waiter's priority, or None when
    /// nothing boosts `p` any more. Traces `sched_pi_setprio` when the priority changes and
    /// moves the task between classes (a fair task boosted by an RT waiter runs in rt).
    /// Deadline donors are not modelled: their priority (−1) boosts as the highest RT level.
    pub fn rt_mutex_setprio(&mut self, ctx_cpu: u32, p: TaskId, pi_prio: Option<i32>) {
        self.task_mut(p).pi_prio = pi_prio;
        let t = self.task(p);
        // __rt_effective_prio
        let prio = pi_prio.map_or(t.normal_prio, |pp| pp.max(0).min(t.normal_prio));
        let oldprio = t.prio;
        if prio == oldprio {
            return;
        }
        let ev = Event::PiSetprio {
            comm: t.comm,
            pid: t.pid,
            oldprio,
            newprio: prio,
        };
        let (cpu, queued, class) = (t.cpu, t.on_rq == OnRq::Queued, t.class);
        self.trace_in(Ctx::Task(ctx_cpu), 2, ev);
        self.update_rq_clock(cpu);
        let running = self.curr(cpu) == p;
        if queued {
            let flags = dequeue::SAVE | dequeue::MOVE | dequeue::NOCLOCK;
            class_of(class).dequeue_task(self, cpu, p, flags);
        }
        if running {
            class_of(class).put_prev_task(self, cpu, p, p);
        }
        let new_class = if prio < MAX_RT_PRIO {
            ClassId::Rt
        } else {
            self.policy_class(self.task(p).policy)
        };
        let t = self.task_mut(p);
        t.prio = prio;
        t.class = new_class;
        if queued {
            let mut en = enqueue::RESTORE | enqueue::NOCLOCK;
            // An RT deboost requeues at the head of its level.
            if new_class == ClassId::Rt && oldprio < prio {
                en |= enqueue::HEAD;
            }
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
