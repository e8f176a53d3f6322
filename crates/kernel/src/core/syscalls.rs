//! Syscalls that change scheduling state (kernel/sched/syscalls.c, core.c): `sched_yield`,
//! `sched_setattr`/`setpriority` and `sched_setaffinity`.

use schedsim_workload::{Policy, SchedAttr};

use crate::class::{class_of, dequeue, dl, enqueue, ClassId};
use crate::cpumask::CpuMask;
use crate::prio::{nice_to_prio, prio_to_nice, LoadWeight, MAX_RT_PRIO};
use crate::sched::{Ctx, Sched};
use crate::task::{tstate, OnRq, TaskId};

use super::schedule::SchedMode;
use super::stopper::CpuStopWork;

/// `sched_attr.sched_runtime` bounds for a fair custom slice (`__setscheduler_params`).
const SLICE_MIN: u64 = 100_000;
const SLICE_MAX: u64 = 100_000_000;

impl Sched {
    /// `do_sched_yield`: the class gives up the turn, then `schedule()`.
    pub fn sys_sched_yield(&mut self, cpu: u32) {
        self.update_rq_clock(cpu);
        self.rqs[cpu as usize].stat.yld_count += 1;
        let c = self.task(self.curr(cpu)).class;
        class_of(c).yield_task(self, cpu);
        self.schedule(cpu, SchedMode::None);
    }

    /// The checks `sched_setattr` makes before changing anything, with the kernel's errno
    /// (`__sched_setscheduler`: `valid_policy`, the sched_priority range and
    /// `rt_policy(policy) != (sched_priority != 0)`).
    pub fn check_attr(&self, attr: &SchedAttr) -> Result<(), String> {
        match attr.policy {
            // SCHED_EXT takes the fair checks; without a loaded policy it runs in fair.
            Policy::Normal | Policy::Batch | Policy::Idle | Policy::Ext => {
                if !(-20..=19).contains(&attr.nice) {
                    return Err(format!("nice {} outside -20..19 (EINVAL)", attr.nice));
                }
                if attr.rt_priority != 0 {
                    return Err(format!(
                        "sched_priority {} must be 0 for {} (EINVAL)",
                        attr.rt_priority,
                        attr.policy.name()
                    ));
                }
                Ok(())
            }
            Policy::Fifo | Policy::Rr => {
                if !(1..=99).contains(&attr.rt_priority) {
                    return Err(format!(
                        "sched_priority {} outside 1..99 for {} (EINVAL)",
                        attr.rt_priority,
                        attr.policy.name()
                    ));
                }
                Ok(())
            }
            Policy::Deadline => {
                if attr.rt_priority != 0 {
                    return Err(format!(
                        "sched_priority {} must be 0 for SCHED_DEADLINE (EINVAL)",
                        attr.rt_priority
                    ));
                }
                dl::checkparam_dl(attr.runtime, attr.deadline, attr.period)
            }
        }
    }

    /// Sets policy parameters on a task that is not queued (a new child).
    pub fn apply_attr_new(&mut self, p: TaskId, attr: &SchedAttr) -> Result<(), String> {
        self.check_attr(attr)?;
        self.dl_admission(p, attr)?;
        self.set_params(p, attr);
        Ok(())
    }

    /// `sched_dl_overflow` (and the root-domain span rule) when the task enters, stays in
    /// or leaves SCHED_DEADLINE; the root domain's bandwidth is updated on success.
    fn dl_admission(&mut self, p: TaskId, attr: &SchedAttr) -> Result<(), String> {
        let to_dl = attr.policy == Policy::Deadline;
        // task_has_dl_policy: a task boosted into the class by PI does not count.
        if !to_dl && self.task(p).policy != Policy::Deadline {
            return Ok(());
        }
        dl::sched_dl_overflow(self, p, to_dl, attr.runtime, attr.deadline, attr.period)
    }

    /// `__setscheduler_params` + `set_load_weight` + `__setscheduler_class`: the task is
    /// off its queue here. Fair policies set the nice level and custom slice; RT keeps
    /// `static_prio` and sets `rt_priority`; `normal_prio` and `prio` follow the policy.
    fn set_params(&mut self, p: TaskId, attr: &SchedAttr) {
        let old_class = self.task(p).class;
        let fair = attr.policy.is_fair();
        // __setscheduler_class: task_should_scx → ext.
        let to_ext = self.task_should_scx(attr.policy);
        let t = self.task_mut(p);
        t.policy = attr.policy;
        if fair {
            t.static_prio = nice_to_prio(attr.nice);
        }
        t.rt_priority = attr.rt_priority;
        // normal_prio: DL -1 (MAX_DL_PRIO - 1), RT 99 - rt_priority, else static_prio.
        let dl_policy = attr.policy == Policy::Deadline;
        t.normal_prio = if dl_policy {
            -1
        } else if attr.policy.is_rt() {
            MAX_RT_PRIO - 1 - attr.rt_priority as i32
        } else {
            t.static_prio
        };
        // rt_effective_prio: a PI-boosted task keeps its donor's priority (and the rt or
        // deadline class) until it is deboosted; only the normal parameters change now.
        let (normal_prio, pi_task) = (t.normal_prio, t.pi_task);
        let prio = self.rt_effective_prio(pi_task, normal_prio);
        let t = self.task_mut(p);
        t.prio = prio;
        // __setscheduler_class
        t.class = if prio < 0 {
            ClassId::Dl
        } else if t.prio < MAX_RT_PRIO {
            ClassId::Rt
        } else if to_ext {
            ClassId::Ext
        } else {
            ClassId::Fair
        };
        t.sched_reset_on_fork = attr.flags & 1 != 0;
        let se = t.se;
        let nice = prio_to_nice(t.static_prio);
        let lw = LoadWeight::for_task(nice, attr.policy == Policy::Idle);
        if dl_policy {
            // __setparam_dl
            dl::setparam_dl(
                self,
                p,
                attr.runtime,
                attr.deadline,
                attr.period,
                attr.flags,
            );
        }
        let e = self.fair.se_mut(se);
        if fair {
            if attr.runtime != 0 {
                e.custom_slice = true;
                e.slice = attr.runtime.clamp(SLICE_MIN, SLICE_MAX);
            } else {
                e.custom_slice = false;
            }
        }
        if e.load != lw {
            // set_load_weight: through the old class's reweight_task (only fair has one),
            // else the weight is simply stored.
            if matches!(old_class, ClassId::Fair | ClassId::Ext) {
                class_of(old_class).reweight_task(self, p, lw);
            } else {
                self.fair.se_mut(se).load = lw;
            }
        }
    }

    /// `sched_setattr` on a live task (`__sched_setscheduler`): dequeue(SAVE|MOVE)/put,
    /// change, enqueue (HEAD iff the priority was lowered)/set, then
    /// `check_class_changed`. Unchanged parameters are a no-op that keeps the queue
    /// position.
    pub fn sched_setattr(&mut self, p: TaskId, attr: &SchedAttr) -> Result<(), String> {
        self.check_attr(attr)?;
        let t = self.task(p);
        let se = self.fair.se(t.se);
        let unchanged = t.policy == attr.policy
            && if attr.policy == Policy::Deadline {
                !dl::dl_param_changed(
                    self,
                    p,
                    attr.runtime,
                    attr.deadline,
                    attr.period,
                    attr.flags,
                )
            } else if attr.policy.is_rt() {
                t.rt_priority == attr.rt_priority
            } else {
                t.static_prio == nice_to_prio(attr.nice)
                    && (attr.runtime == 0) != se.custom_slice
                    && (attr.runtime == 0 || se.slice == attr.runtime.clamp(SLICE_MIN, SLICE_MAX))
            };
        if unchanged {
            self.task_mut(p).sched_reset_on_fork = attr.flags & 1 != 0;
            return Ok(());
        }
        self.dl_admission(p, attr)?;
        let t = self.task(p);
        let (cpu, queued, oldprio, class) = (t.cpu, t.on_rq == OnRq::Queued, t.prio, t.class);
        self.update_rq_clock(cpu);
        let running = self.curr(cpu) == p;
        let queue_flags = dequeue::SAVE | dequeue::MOVE | dequeue::NOCLOCK;
        if queued {
            class_of(class).dequeue_task(self, cpu, p, queue_flags);
        }
        if running {
            class_of(class).put_prev_task(self, cpu, p, p);
        }
        self.set_params(p, attr);
        let nc = self.task(p).class;
        // A task kept in the deadline range by inheritance while its policy is not
        // SCHED_DEADLINE runs on its top waiter's parameters, refilled at the enqueue.
        let mut replenish = 0;
        if self.task(p).prio < 0
            && attr.policy != Policy::Deadline
            && dl::setscheduler_pi_dl(self, p, self.task(p).pi_task)
        {
            replenish = enqueue::REPLENISH;
        }
        if queued {
            // DEQUEUE_SAVE|MOVE|NOCLOCK are ENQUEUE_RESTORE|MOVE|NOCLOCK.
            let mut en = enqueue::RESTORE | enqueue::MOVE | enqueue::NOCLOCK | replenish;
            if oldprio < self.task(p).prio {
                en |= enqueue::HEAD;
            }
            class_of(nc).enqueue_task(self, cpu, p, en);
        }
        if running {
            class_of(nc).set_next_task(self, cpu, p, false);
        }
        // check_class_changed
        if nc != class {
            class_of(class).switched_from(self, cpu, p);
            class_of(nc).switched_to(self, cpu, p);
        } else if oldprio != self.task(p).prio || nc == ClassId::Dl {
            class_of(nc).prio_changed(self, cpu, p, oldprio);
        }
        Ok(())
    }

    /// `sched_setaffinity` → `__set_cpus_allowed_ptr_locked` + `affine_move_task`: an
    /// unchanged mask is a no-op; `dest` is `cpumask_any_and_distribute` of the new mask;
    /// if the task's CPU stays allowed only the mask changes; a queued task is moved
    /// (`move_queued_task`); a running (or waking) one is moved by its CPU's stopper
    /// (`migration_cpu_stop`) while the calling task waits in TASK_UNINTERRUPTIBLE
    /// (`wait_for_completion`).
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
        // __sched_setaffinity: a deadline task's mask must cover its root domain while DL
        // admission control is on.
        if self.task(p).class == ClassId::Dl
            && self.cfg.rt_runtime_us >= 0
            && (0..n).any(|c| !mask.test(c))
        {
            return Err(
                "a SCHED_DEADLINE task's affinity must cover the root domain (EBUSY)".into(),
            );
        }
        if self.task(p).cpus_allowed == mask {
            return Ok(());
        }
        let dest = self
            .cpumask_any_and_distribute(ctx.cpu(), &mask)
            .expect("a non-empty mask of existing CPUs");
        let t = self.task_mut(p);
        t.nr_cpus_allowed = mask.weight();
        t.cpus_allowed = mask;
        let cpu = t.cpu;
        if t.cpus_allowed.test(cpu) {
            return Ok(());
        }
        if t.on_cpu || t.state == tstate::WAKING {
            let waiter = match ctx {
                Ctx::Task(c) => Some(self.curr(c)),
                Ctx::HardIrq(_) => None,
            };
            let work = CpuStopWork::MigrationCpuStop { p, dest, waiter };
            self.cpu_stop_queue_work(ctx, cpu, work);
            if let Some(w) = waiter {
                self.task_mut(w).state = tstate::UNINTERRUPTIBLE;
                self.schedule(ctx.cpu(), SchedMode::None);
            }
        } else if self.task(p).on_rq == OnRq::Queued {
            self.move_queued_task(ctx, p, dest);
        }
        Ok(())
    }
}
