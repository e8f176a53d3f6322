//! Syscalls that change scheduling state (kernel/sched/syscalls.c, core.c): `sched_yield`,
//! `sched_setattr`/`setpriority` and `sched_setaffinity`.

use schedsim_workload::{Policy, SchedAttr};

use crate::class::{class_of, dequeue, enqueue, ClassId};
use crate::cpumask::CpuMask;
use crate::prio::{nice_to_prio, LoadWeight};
use crate::sched::{Ctx, Sched};
use crate::task::{tstate, OnRq, TaskId};

use super::schedule::SchedMode;

/// `sched_attr.sched_runtime` bounds for a fair custom slice (`__setscheduler_params`).
const SLICE_MIN: u64 = 100_000;
const SLICE_MAX: u64 = 100_000_000;

impl Sched {
    /// `do_sched_yield`: the class gives up the turn, then `schedule()`.
    pub fn sys_sched_yield(&mut self, cpu: u32) {
        self.update_rq_clock(cpu);
        let c = self.task(self.curr(cpu)).class;
        class_of(c).yield_task(self, cpu);
        self.schedule(cpu, SchedMode::None);
    }

    /// The checks `sched_setattr` makes before changing anything, with the kernel's errno.
    pub fn check_attr(&self, attr: &SchedAttr) -> Result<(), String> {
        match attr.policy {
            Policy::Normal | Policy::Batch | Policy::Idle => {
                if !(-20..=19).contains(&attr.nice) {
                    return Err(format!("nice {} outside -20..19 (EINVAL)", attr.nice));
                }
                Ok(())
            }
            Policy::Fifo | Policy::Rr | Policy::Deadline | Policy::Ext => Err(format!(
                "{} is not simulated yet (only SCHED_OTHER, SCHED_BATCH and SCHED_IDLE)",
                attr.policy.name()
            )),
        }
    }

    /// Sets policy parameters on a task that is not queued (a new child).
    pub fn apply_attr_new(&mut self, p: TaskId, attr: &SchedAttr) -> Result<(), String> {
        self.check_attr(attr)?;
        self.set_params(p, attr);
        Ok(())
    }

    /// `__setscheduler_params` + `set_load_weight`: the task is off its queue here.
    fn set_params(&mut self, p: TaskId, attr: &SchedAttr) {
        let t = self.task_mut(p);
        t.policy = attr.policy;
        t.static_prio = nice_to_prio(attr.nice);
        t.normal_prio = t.static_prio;
        t.prio = t.normal_prio;
        t.rt_priority = 0;
        t.class = ClassId::Fair;
        t.sched_reset_on_fork = attr.flags & 1 != 0;
        let se = t.se;
        let lw = LoadWeight::for_task(attr.nice, attr.policy == Policy::Idle);
        let e = self.fair.se_mut(se);
        if attr.runtime != 0 {
            e.custom_slice = true;
            e.slice = attr.runtime.clamp(SLICE_MIN, SLICE_MAX);
        } else {
            e.custom_slice = false;
        }
        if e.load != lw {
            let c = self.task(p).class;
            class_of(c).reweight_task(self, p, lw);
        }
    }

    /// `sched_setattr` on a live task: dequeue/put, change, enqueue/set, tell the class.
    /// Unchanged parameters are a no-op that keeps the queue position.
    pub fn sched_setattr(&mut self, p: TaskId, attr: &SchedAttr) -> Result<(), String> {
        self.check_attr(attr)?;
        let t = self.task(p);
        let se = self.fair.se(t.se);
        let unchanged = t.policy == attr.policy
            && t.static_prio == nice_to_prio(attr.nice)
            && (attr.runtime == 0) != se.custom_slice
            && (attr.runtime == 0 || se.slice == attr.runtime.clamp(SLICE_MIN, SLICE_MAX));
        if unchanged {
            return Ok(());
        }
        let (cpu, queued, oldprio, class) = (t.cpu, t.on_rq == OnRq::Queued, t.prio, t.class);
        self.update_rq_clock(cpu);
        let running = self.curr(cpu) == p;
        if queued {
            class_of(class).dequeue_task(
                self,
                cpu,
                p,
                dequeue::SAVE | dequeue::MOVE | dequeue::NOCLOCK,
            );
        }
        if running {
            class_of(class).put_prev_task(self, cpu, p, p);
        }
        self.set_params(p, attr);
        let nc = self.task(p).class;
        if queued {
            class_of(nc).enqueue_task(self, cpu, p, enqueue::RESTORE | enqueue::NOCLOCK);
        }
        if running {
            class_of(nc).set_next_task(self, cpu, p, false);
        }
        class_of(nc).prio_changed(self, cpu, p, oldprio);
        Ok(())
    }

    /// `sched_setaffinity` → `__set_cpus_allowed_ptr`: if the task's CPU stays allowed only
    /// the mask changes; a queued task is moved; a running task is moved through the
    /// stopper, which the caller models by blocking and waking the task (`affine_move_task`
    /// waits for `migration_cpu_stop` in TASK_UNINTERRUPTIBLE).
    pub fn set_cpus_allowed(&mut self, ctx: Ctx, p: TaskId, mask: CpuMask) -> Result<(), String> {
        let n = self.nr_cpus();
        if let Some(bad) = mask.iter().find(|&c| c >= n) {
            return Err(format!(
                "CPU {bad} does not exist (the machine has {n} CPUs) (EINVAL)"
            ));
        }
        if mask.weight() == 0 {
            return Err("empty CPU mask (EINVAL)".into());
        }
        let t = self.task_mut(p);
        t.nr_cpus_allowed = mask.weight();
        t.cpus_allowed = mask;
        let cpu = t.cpu;
        if self.task(p).cpus_allowed.test(cpu) {
            return Ok(());
        }
        let dest = self.task(p).cpus_allowed.first().unwrap_or(0);
        let running = self.curr(cpu) == p;
        if running {
            // The caller blocks until the stopper has moved it: it sleeps uninterruptibly
            // and is woken towards `dest`.
            self.task_mut(p).wake_cpu = dest;
            self.task_mut(p).state = tstate::UNINTERRUPTIBLE;
            self.schedule(cpu, SchedMode::None);
            self.try_to_wake_up(Ctx::Task(cpu), p, tstate::NORMAL, 0);
        } else if self.task(p).on_rq == OnRq::Queued {
            // move_queued_task
            self.update_rq_clock(cpu);
            self.deactivate_task(cpu, p, dequeue::NOCLOCK | dequeue::MIGRATING);
            self.set_task_cpu(ctx, p, dest);
            self.update_rq_clock(dest);
            self.activate_task(dest, p, enqueue::NOCLOCK | enqueue::MIGRATING);
            self.wakeup_preempt(dest, p, 0);
        } else {
            self.task_mut(p).wake_cpu = dest;
        }
        Ok(())
    }
}
