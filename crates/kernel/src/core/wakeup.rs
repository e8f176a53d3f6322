//! `try_to_wake_up` and its helpers (kernel/sched/core.c): the task state machine
//! (`__state`, `on_rq`, `on_cpu`), the still-queued fast path, CPU selection, the remote
//! wakelist, activation and wakeup preemption.

use schedsim_trace::Event;

use crate::class::{class_of, enqueue, wf};
use crate::events::EventKind;
use crate::sched::{Ctx, Sched};
use crate::stats::MigrationCause;
use crate::task::{tstate, OnRq, TaskId};

impl Sched {
    /// `enqueue_task` + `p->on_rq = QUEUED` (`activate_task`).
    pub fn activate_task(&mut self, cpu: u32, p: TaskId, flags: u32) {
        let now = self.now;
        if flags & enqueue::RESTORE == 0 {
            // sched_info_enqueue
            let t = self.task_mut(p);
            if !t.on_cpu && t.last_queued.is_none() {
                t.last_queued = Some(now);
            }
        }
        let c = self.task(p).class;
        class_of(c).enqueue_task(self, cpu, p, flags);
        self.task_mut(p).on_rq = OnRq::Queued;
    }

    /// `dequeue_task` + `on_rq = 0` for a task leaving the rq while not sleeping
    /// (migration, policy change), i.e. `deactivate_task`.
    pub fn deactivate_task(&mut self, cpu: u32, p: TaskId, flags: u32) {
        let c = self.task(p).class;
        class_of(c).dequeue_task(self, cpu, p, flags);
        self.task_mut(p).on_rq = OnRq::No;
    }

    /// `wakeup_preempt`: same class → the class decides; a higher class always preempts.
    pub fn wakeup_preempt(&mut self, cpu: u32, p: TaskId, wake_flags: u32) {
        let curr = self.curr(cpu);
        let (pc, cc) = (self.task(p).class, self.task(curr).class);
        if pc == cc {
            class_of(pc).wakeup_preempt(self, cpu, p, wake_flags);
        } else if pc < cc {
            self.resched_curr(cpu);
        }
    }

    /// `idle_cpu`: the idle task runs, nothing is queued and no wakeup is pending.
    pub fn idle_cpu(&self, cpu: u32) -> bool {
        let rq = self.rq(cpu);
        rq.curr == rq.idle && rq.nr_running == 0 && rq.ttwu_pending == 0
    }

    /// `select_task_rq`: the class chooses when the task may run on more than one CPU.
    pub fn select_task_rq(&mut self, p: TaskId, cpu: u32, wake_flags: &mut u32) -> u32 {
        let t = self.task(p);
        let mut cpu = if t.nr_cpus_allowed > 1 {
            *wake_flags |= wf::RQ_SELECTED;
            let c = t.class;
            class_of(c).select_task_rq(self, p, cpu, *wake_flags)
        } else {
            t.cpus_allowed.first().unwrap_or(0)
        };
        if !self.task(p).cpus_allowed.test(cpu) {
            // select_fallback_rq
            cpu = self.task(p).cpus_allowed.first().unwrap_or(0);
        }
        cpu
    }

    /// `set_task_cpu`: always traces `sched_migrate_task`, then moves the task.
    pub fn set_task_cpu(&mut self, ctx: Ctx, p: TaskId, new_cpu: u32, cause: MigrationCause) {
        let t = self.task(p);
        let ev = Event::MigrateTask {
            comm: t.comm,
            pid: t.pid,
            prio: t.prio,
            orig_cpu: t.cpu,
            dest_cpu: new_cpu,
        };
        self.trace_in(ctx, 4, ev);
        let c = self.task(p).class;
        class_of(c).migrate_task_rq(self, p, new_cpu);
        if self.task(p).cpu != new_cpu {
            let st = &mut self.task_stats[p.0 as usize];
            st.migrations += 1;
            st.migrations_by[cause as usize] += 1;
        }
        // __set_task_cpu: the wakeup's next placement starts from here (p->wake_cpu).
        let t = self.task_mut(p);
        t.cpu = new_cpu;
        t.wake_cpu = new_cpu;
    }

    fn trace_wake(&mut self, ctx: Ctx, p: TaskId, waking: bool, preempt_count: u8) {
        let t = self.task(p);
        let (comm, pid, prio, target_cpu) = (t.comm, t.pid, t.prio, t.cpu);
        let ev = if waking {
            Event::Waking {
                comm,
                pid,
                prio,
                target_cpu,
            }
        } else {
            Event::Wakeup {
                comm,
                pid,
                prio,
                target_cpu,
            }
        };
        self.trace_in(ctx, preempt_count, ev);
    }

    /// `try_to_wake_up(p, state, wake_flags)` from `ctx`. Returns whether `p` was woken.
    pub fn try_to_wake_up(&mut self, ctx: Ctx, p: TaskId, state: u32, wake_flags: u32) -> bool {
        let woken = self.ttwu(ctx, p, state, wake_flags);
        if woken {
            self.ttwu_stat(ctx.cpu(), self.task(p).cpu);
        }
        woken
    }

    /// `ttwu_stat`: the waking CPU's schedstat counters (`ttwu_count`, `ttwu_local`), and
    /// for a task woken onto another CPU the lowest domain of the waking CPU that spans it
    /// (`ttwu_wake_remote`).
    fn ttwu_stat(&mut self, this_cpu: u32, cpu: u32) {
        let n = self.nr_cpus();
        if this_cpu >= n {
            return;
        }
        if cpu == this_cpu {
            self.rqs[this_cpu as usize].stat.ttwu_local += 1;
        } else if let Some(d) = self.topo.sd[this_cpu as usize]
            .iter_mut()
            .find(|d| d.span.test(cpu))
        {
            d.stat.ttwu_wake_remote += 1;
        }
        self.rqs[this_cpu as usize].stat.ttwu_count += 1;
    }

    /// The body of `try_to_wake_up`.
    fn ttwu(&mut self, ctx: Ctx, p: TaskId, state: u32, mut wake_flags: u32) -> bool {
        let this_cpu = ctx.cpu();
        wake_flags |= wf::TTWU;
        if matches!(ctx, Ctx::Task(_)) && self.curr(this_cpu) == p {
            // Waking current: only the state changes.
            if self.task(p).state & state == 0 {
                return false;
            }
            self.trace_wake(ctx, p, true, 3);
            self.task_mut(p).state = tstate::RUNNING;
            self.trace_wake(ctx, p, false, 3);
            return true;
        }
        if self.task(p).state & state == 0 {
            return false;
        }
        self.trace_wake(ctx, p, true, 3);
        if !self.task(p).on_cpu {
            let now = self.now;
            self.task_mut(p).waking_ts.get_or_insert(now);
        }
        if self.task(p).on_rq != OnRq::No && self.ttwu_runnable(ctx, p, wake_flags) {
            return true;
        }
        self.task_mut(p).state = tstate::WAKING;
        let prev_cpu = self.task(p).cpu;
        let wake_cpu = self.task(p).wake_cpu;
        self.this_cpu = this_cpu;
        let cpu = self.select_task_rq(p, wake_cpu, &mut wake_flags);
        if cpu != prev_cpu {
            wake_flags |= wf::MIGRATED;
            // A task whose affinity no longer allows its CPU (it changed its own, and the
            // stopper only set its wake_cpu) moves for its affinity, by this path.
            let cause = if self.task(p).cpus_allowed.test(prev_cpu) {
                MigrationCause::Wakeup
            } else {
                MigrationCause::Affinity
            };
            self.set_task_cpu(ctx, p, cpu, cause);
        }
        if self.ttwu_queue_wakelist(this_cpu, p, cpu, wake_flags) {
            return true;
        }
        if let Some(at) = self.idle_timer_activation(ctx, cpu) {
            self.queue_activation(at, cpu, p, wake_flags, false);
            return true;
        }
        self.ttwu_do_activate(ctx, cpu, p, wake_flags);
        true
    }

    /// When a wakeup in an interrupt on this idle CPU (its timer's, in practice) of a task
    /// placed there activates it (machine key `idle_timer_activate`), if that takes time;
    /// the CPU stays taken meanwhile.
    fn idle_timer_activation(&mut self, ctx: Ctx, cpu: u32) -> Option<u64> {
        let rq = self.rq(cpu);
        if ctx != Ctx::HardIrq(cpu) || rq.curr != rq.idle || rq.nr_running != 0 {
            return None;
        }
        let cost = self
            .cfg
            .idle_timer_activate_cpus
            .iter()
            .find(|&&(c, _)| c == cpu)
            .map(|&(_, d)| d)
            .or(self.cfg.idle_timer_activate)?;
        let d = self.path_cost(cost);
        (d > 0).then_some(self.now + d)
    }

    /// `ttwu_runnable`: the task is still queued (it had not yet been switched out, or fair
    /// delayed its dequeue): requeue a delayed entity and finish the wakeup in place.
    fn ttwu_runnable(&mut self, ctx: Ctx, p: TaskId, wake_flags: u32) -> bool {
        let cpu = self.task(p).cpu;
        self.update_rq_clock(cpu);
        if self.fair.se(self.task(p).se).sched_delayed {
            let c = self.task(p).class;
            class_of(c).enqueue_task(self, cpu, p, enqueue::NOCLOCK | enqueue::DELAYED);
            let now = self.now;
            self.task_mut(p).last_queued.get_or_insert(now);
        }
        if !self.task(p).on_cpu {
            self.wakeup_preempt(cpu, p, wake_flags);
        }
        self.task_mut(p).state = tstate::RUNNING;
        self.trace_wake(ctx, p, false, 3);
        true
    }

    /// `ttwu_queue_cond` + `__ttwu_queue_wakelist`: an idle remote CPU in the same LLC
    /// (every CPU here) is sent the wakeup by IPI and activates the task itself, so
    /// `sched_wakeup` appears on the target CPU.
    fn ttwu_queue_wakelist(&mut self, this_cpu: u32, p: TaskId, cpu: u32, wake_flags: u32) -> bool {
        if !self.cfg.features.ttwu_queue || cpu == this_cpu {
            return false;
        }
        if !self.task(p).cpus_allowed.test(cpu) || self.rq(cpu).nr_running != 0 {
            return false;
        }
        if !self.scx_allow_ttwu_queue(p) {
            return false;
        }
        let at = self.now + self.ipi_cost(cpu);
        self.queue_activation(at, cpu, p, wake_flags, true);
        true
    }

    /// `p`'s activation on `cpu` at `at` (`sched_ttwu_pending`), by the wakelist's IPI
    /// (`ipi`) or later in the same interrupt; the CPU counts as taken meanwhile.
    fn queue_activation(&mut self, at: u64, cpu: u32, p: TaskId, wake_flags: u32, ipi: bool) {
        self.rq_mut(cpu).ttwu_pending += 1;
        self.queue.push(
            at,
            EventKind::WakeList {
                cpu,
                task: p,
                wake_flags,
                ipi,
            },
        );
    }

    /// `sched_ttwu_pending`: the wakelist IPI handler on the target CPU.
    pub fn sched_ttwu_pending(&mut self, cpu: u32, p: TaskId, wake_flags: u32) {
        self.rq_mut(cpu).ttwu_pending -= 1;
        self.update_rq_clock(cpu);
        self.ttwu_do_activate(Ctx::HardIrq(cpu), cpu, p, wake_flags);
    }

    /// `ttwu_do_activate`: enqueue, check preemption, mark running, trace `sched_wakeup`.
    fn ttwu_do_activate(&mut self, ctx: Ctx, cpu: u32, p: TaskId, wake_flags: u32) {
        self.update_rq_clock(cpu);
        let mut en = enqueue::WAKEUP | enqueue::NOCLOCK;
        if wake_flags & wf::MIGRATED != 0 {
            en |= enqueue::MIGRATED;
        }
        self.activate_task(cpu, p, en);
        self.wakeup_preempt(cpu, p, wake_flags);
        self.task_mut(p).state = tstate::RUNNING;
        let pc = if matches!(ctx, Ctx::HardIrq(_)) { 2 } else { 3 };
        self.trace_wake(ctx, p, false, pc);
        let c = self.task(p).class;
        class_of(c).task_woken(self, cpu, p);
    }
}
