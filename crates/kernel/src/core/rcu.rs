//! The RCU grace-period kthread `rcu_preempt` (kernel/rcu/tree.c `rcu_gp_kthread`), as far
//! as the scheduler sees it: a fair kthread woken to start a grace period when callbacks
//! wait for one, and again when the grace period ends, running a little each time.
//!
//! The callbacks that matter to a scheduler workload are the exits' (`release_task` →
//! `put_task_struct_rcu_user` → `call_rcu`), whose invocation frees more behind further
//! grace periods: on the reference VM a lone thread exit keeps the kthread waking every
//! 8 ms four times, three grace periods in a row (machine key `rcu_exit_gps`). A grace period needs every CPU to pass a
//! quiescent state: a CPU running a task notices the new grace period at its next tick
//! (`rcu_sched_clock_irq` → `note_gp_changes`) and reports its quiescent state at the tick
//! after (`rcu_check_quiescent_state`); an idle CPU is in an extended quiescent state
//! (dyntick-idle) and holds nothing up. The tick that completes the grace period wakes the
//! kthread (`rcu_report_qs_rsp` → `rcu_gp_kthread_wake`), which cleans up and, if callbacks
//! arrived meanwhile, starts the next one at once (`rcu_gp_cleanup` → `rcu_gp_init`). So a
//! stream of exits keeps the kthread waking every second tick, from a tick, as on the
//! reference VM (every 8 ms at HZ=250 while threads exit). Callbacks run in softirq
//! (`rcu_core`), not in a task, and are not modelled.
//!
//! Machine keys `rcu_gp_run`: the kthread's CPU time per wakeup (unset: no kthread);
//! `rcu_exit_gps`: the grace periods an exit's callback chain needs in a row (default 1).

use crate::sched::{Ctx, Sched};
use crate::task::{tstate, Demand, TaskId};
use schedsim_trace::Comm;

/// `rcu_preempt`'s pid on the reference VM (created early at boot).
pub const RCU_GP_PID: i32 = 15;

/// A CPU's part in the current grace period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CpuGp {
    /// Has not noticed the grace period yet.
    Unseen,
    /// Noticed it at a tick; reports its quiescent state at the next.
    Seen,
    /// Passed a quiescent state.
    Quiet,
}

/// The RCU state (`struct rcu_state`), reduced to what decides the kthread's wakeups.
#[derive(Clone, Debug, Default)]
pub struct RcuState {
    /// The kthread, if the machine has one (`rcu_gp_run`).
    pub kthread: Option<TaskId>,
    /// Callbacks queued since the current grace period started (they need the next one),
    /// per CPU that queued them: each the number of grace periods its chain still needs.
    waiting: Vec<Vec<u32>>,
    /// Callbacks waiting for the current grace period, per CPU.
    in_gp: Vec<Vec<u32>>,
    /// The current grace period's per-CPU progress; None between grace periods.
    gp: Option<Vec<CpuGp>>,
    /// The kthread was woken and has not slept again yet.
    awake: bool,
    /// It has been given its CPU time for this wakeup.
    charged: bool,
    /// Grace periods completed (for the tests and the curious).
    pub completed: u64,
}

impl Sched {
    /// `rcu_spawn_gp_kthread` at boot: the kthread exists and waits (TASK_IDLE) for work.
    pub(crate) fn rcu_boot(&mut self) {
        if self.cfg.rcu_gp_run.is_none() {
            return;
        }
        let n = self.nr_cpus() as usize;
        self.rcu.waiting = vec![Vec::new(); n];
        self.rcu.in_gp = vec![Vec::new(); n];
        let k = self.new_kthread(Comm::new("rcu_preempt"), 0, RCU_GP_PID);
        self.task_mut(k).state = tstate::IDLE;
        self.rcu.kthread = Some(k);
    }

    /// `call_rcu` on `cpu` for an exit: a callback waits for the next grace period, which
    /// the next tick starts if none is running; its invocation queues the next link of
    /// the exit's chain, `rcu_exit_gps` grace periods in all.
    pub(crate) fn call_rcu(&mut self, cpu: u32) {
        if self.rcu.kthread.is_some() {
            let chain = self.cfg.rcu_exit_gps;
            self.rcu.waiting[cpu as usize].push(chain);
        }
    }

    /// `rcu_needs_cpu`: a CPU with callbacks not yet invoked keeps its tick when idle.
    pub(crate) fn rcu_needs_cpu(&self, cpu: u32) -> bool {
        let c = cpu as usize;
        self.rcu.kthread.is_some()
            && !(self.rcu.waiting[c].is_empty() && self.rcu.in_gp[c].is_empty())
    }

    fn rcu_waiting(&self) -> bool {
        self.rcu.waiting.iter().any(|w| !w.is_empty())
    }

    /// `rcu_sched_clock_irq` on `cpu`'s tick: start a grace period for waiting callbacks,
    /// or move this CPU through the current one and wake the kthread when it completes.
    pub(crate) fn rcu_sched_clock_irq(&mut self, cpu: u32) {
        let Some(k) = self.rcu.kthread else {
            return;
        };
        let idle = |s: &Sched, c: u32| s.rq(c).curr == s.rq(c).idle;
        match self.rcu.gp.as_mut() {
            None => {
                if self.rcu_waiting() && !self.rcu.awake {
                    // rcu_start_this_gp → rcu_gp_kthread_wake: the kthread runs rcu_gp_init.
                    self.rcu_wake(cpu, k);
                }
            }
            Some(gp) => {
                let c = cpu as usize;
                gp[c] = match gp[c] {
                    CpuGp::Unseen => CpuGp::Seen,
                    _ => CpuGp::Quiet,
                };
                let n = self.nr_cpus();
                let done = (0..n).all(|c| {
                    self.rcu.gp.as_ref().expect("a grace period")[c as usize] == CpuGp::Quiet
                        || idle(self, c)
                });
                if done && !self.rcu.awake {
                    // rcu_do_batch: this grace period's callbacks are invoked, and those
                    // with a further link queue it for the next.
                    let RcuState { waiting, in_gp, .. } = &mut self.rcu;
                    for (w, g) in waiting.iter_mut().zip(in_gp.iter_mut()) {
                        w.extend(g.drain(..).filter(|&n| n > 1).map(|n| n - 1));
                    }
                    self.rcu.gp = None;
                    self.rcu.completed += 1;
                    self.rcu_wake(cpu, k);
                }
            }
        }
    }

    /// Wakes the kthread from `cpu`'s tick with its work to do.
    fn rcu_wake(&mut self, cpu: u32, k: TaskId) {
        self.rcu.awake = true;
        self.rcu.charged = false;
        self.try_to_wake_up(Ctx::HardIrq(cpu), k, tstate::IDLE, 0);
    }

    /// `rcu_gp_kthread` when it is `cpu`'s current task: its CPU time (`rcu_gp_run`), then
    /// the cleanup of the grace period that ended and the start of the next if callbacks
    /// wait (its CPUs then idle already quiet), then it sleeps in TASK_IDLE. Returns true
    /// when it slept (the CPU has scheduled), false if it is not current or still runs.
    pub fn run_rcu_gp_kthread(&mut self, cpu: u32) -> bool {
        let k = self.curr(cpu);
        if Some(k) != self.rcu.kthread || self.task(k).demand != Demand::None {
            return false;
        }
        if !self.rcu.charged {
            self.rcu.charged = true;
            let cost = self.cfg.rcu_gp_run.expect("a kthread has its cost");
            let w = self.path_cost(cost);
            if self.give_kthread_work(k, w) {
                return false;
            }
        }
        if self.rcu.gp.is_none() && self.rcu_waiting() {
            // rcu_gp_init: the callbacks queued so far wait for this grace period.
            let RcuState { waiting, in_gp, .. } = &mut self.rcu;
            for (w, g) in waiting.iter_mut().zip(in_gp.iter_mut()) {
                g.append(w);
            }
            let n = self.nr_cpus();
            self.rcu.gp = Some(vec![CpuGp::Unseen; n as usize]);
        }
        self.rcu.awake = false;
        self.task_mut(k).state = tstate::IDLE;
        self.schedule(cpu, crate::core::schedule::SchedMode::None);
        true
    }
}
