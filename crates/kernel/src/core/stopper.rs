//! The per-CPU stopper kthread `migration/N` (kernel/stop_machine.c: `cpu_stop_queue_work`,
//! `cpu_stopper_thread`) and core.c's migration work (`migration_cpu_stop`,
//! `move_queued_task`). The stopper is a stop-class task (class/stop.rs); its works run in
//! zero simulated time when it gets the CPU.

use crate::class::{dequeue, enqueue};
use crate::sched::{Ctx, Sched};
use crate::task::{tstate, OnRq, TaskId};

use super::schedule::SchedMode;
use crate::stats::MigrationCause;

/// A work queued on a CPU's stopper (`struct cpu_stop_work` with its function).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuStopWork {
    /// `migration_cpu_stop`: move `p` to `dest`, then wake `waiter` (`complete_all` of the
    /// `set_affinity_pending` that `affine_move_task` waits on).
    MigrationCpuStop {
        p: TaskId,
        dest: u32,
        waiter: Option<TaskId>,
    },
    /// `active_load_balance_cpu_stop`: push one task of this (busiest) CPU to `target_cpu`.
    ActiveBalance { target_cpu: u32 },
}

/// The stopper of CPU `cpu` (created at boot, `cpu_stop_init` → smpboot) gets pid
/// `STOPPER_PID_BASE + STOPPER_PID_STRIDE * cpu`: the boot creates three per-CPU kthreads
/// per CPU (cpuhp, migration, ksoftirqd), so the reference VM has migration/0 = 18 and
/// migration/1 = 21.
pub const STOPPER_PID_BASE: i32 = 18;
pub const STOPPER_PID_STRIDE: i32 = 3;

impl Sched {
    /// `cpu_stop_queue_work`: append `work` to `cpu`'s stopper list and wake the stopper
    /// (`wake_up_process`; the stop class preempts whatever runs there).
    pub fn cpu_stop_queue_work(&mut self, ctx: Ctx, cpu: u32, work: CpuStopWork) {
        self.rq_mut(cpu).stop_works.push_back(work);
        let stop = self.rq(cpu).stop.expect("every CPU has a stopper");
        self.try_to_wake_up(ctx, stop, tstate::NORMAL, 0);
    }

    /// `smpboot_thread_fn` + `cpu_stopper_thread` when the stopper is `cpu`'s current task:
    /// run every queued work in order, then sleep (TASK_INTERRUPTIBLE) and `schedule()`.
    /// Returns false if the stopper is not current.
    pub fn run_stopper(&mut self, cpu: u32) -> bool {
        let stop = self.curr(cpu);
        if Some(stop) != self.rq(cpu).stop {
            return false;
        }
        while let Some(work) = self.rq_mut(cpu).stop_works.pop_front() {
            match work {
                CpuStopWork::MigrationCpuStop { p, dest, waiter } => {
                    self.migration_cpu_stop(cpu, p, dest, waiter)
                }
                CpuStopWork::ActiveBalance { target_cpu } => {
                    crate::class::fair::balance::active_load_balance_cpu_stop(self, cpu, target_cpu)
                }
            }
        }
        self.task_mut(stop).state = tstate::INTERRUPTIBLE;
        self.schedule(cpu, SchedMode::None);
        true
    }

    /// `migration_cpu_stop` on `cpu`'s stopper: a task still here and not allowed here is
    /// moved if queued (`__migrate_task`), else only its `wake_cpu` is set; a task that
    /// moved meanwhile to another CPU it may not use is chased there. Then the waiter is
    /// woken (`complete_all`).
    fn migration_cpu_stop(&mut self, cpu: u32, p: TaskId, dest: u32, waiter: Option<TaskId>) {
        let ctx = Ctx::Task(cpu);
        let t = self.task(p);
        let allowed_here = t.cpus_allowed.test(t.cpu);
        if t.cpu == cpu {
            if !allowed_here {
                if t.on_rq == OnRq::Queued {
                    self.update_rq_clock(cpu);
                    if self.task(p).cpus_allowed.test(dest) {
                        self.move_queued_task(ctx, p, dest);
                    }
                } else {
                    self.task_mut(p).wake_cpu = dest;
                }
            }
        } else if !allowed_here {
            let work = CpuStopWork::MigrationCpuStop { p, dest, waiter };
            self.cpu_stop_queue_work(ctx, t.cpu, work);
            return;
        }
        if let Some(w) = waiter {
            self.try_to_wake_up(ctx, w, tstate::NORMAL, 0);
        }
    }

    /// `move_queued_task`: a queued, not running task leaves its rq for `dest`.
    pub fn move_queued_task(&mut self, ctx: Ctx, p: TaskId, dest: u32) {
        let (deq, enq) = (dequeue::MIGRATING, enqueue::MIGRATING);
        self.migrate_queued_task(ctx, p, dest, deq, enq, MigrationCause::Affinity);
        self.wakeup_preempt(dest, p, 0);
    }

    /// `deactivate_task`, `set_task_cpu`, `activate_task`: a queued, not running task
    /// moves from its rq to `dst`'s, both clocks updated, with the dequeue and enqueue
    /// flags of the caller's path (balancing, push/pull, the stopper).
    pub fn migrate_queued_task(
        &mut self,
        ctx: Ctx,
        p: TaskId,
        dst: u32,
        deq: u32,
        enq: u32,
        cause: MigrationCause,
    ) {
        let src = self.task(p).cpu;
        self.update_rq_clock(src);
        self.deactivate_task(src, p, deq | dequeue::NOCLOCK);
        self.set_task_cpu(ctx, p, dst, cause);
        self.update_rq_clock(dst);
        self.activate_task(dst, p, enq | enqueue::NOCLOCK);
    }

    /// `cpumask_any_and_distribute(mask, cpu_active_mask)` on `this_cpu`: the next CPU of
    /// `mask` after this CPU's previous pick, wrapping (the first pick skips CPU 0).
    pub fn cpumask_any_and_distribute(
        &mut self,
        this_cpu: u32,
        mask: &crate::cpumask::CpuMask,
    ) -> Option<u32> {
        let n = self.nr_cpus();
        let start = self.rq(this_cpu).distribute_cpu_mask_prev + 1;
        let pick = (0..n).map(|i| (start + i) % n).find(|&c| mask.test(c))?;
        self.rq_mut(this_cpu).distribute_cpu_mask_prev = pick;
        Some(pick)
    }
}
