//! Scheduler statistics collected as the kernel's `sched_info` (kernel/sched/stats.h) and
//! schedstats would: per-task CPU time, run delay, switch counts and wakeup latency; per-CPU
//! busy time and run-queue length. Definitions are in docs/metrics.md.

use hdrhistogram::Histogram;

#[derive(Clone, Debug)]
pub struct TaskStats {
    /// Total time on a CPU (`se.sum_exec_runtime` as sched_info sees it).
    pub cpu_time: u64,
    /// Time runnable but waiting for a CPU (`sched_info.run_delay`).
    pub run_delay: u64,
    /// Times it got a CPU (`sched_info.pcount`).
    pub pcount: u64,
    /// Switch-outs while blocking (`nvcsw`) and while still runnable (`nivcsw`).
    pub nvcsw: u64,
    pub nivcsw: u64,
    /// Wakeup latency (`sched_waking` to switch-in), ns.
    pub wakeup_latency: Histogram<u64>,
    /// Lengths of uninterrupted runs (switch-in to switch-out), ns.
    pub slices: Histogram<u64>,
    pub migrations: u64,
    pub first_seen: u64,
    pub exited_at: Option<u64>,
}

impl Default for TaskStats {
    fn default() -> Self {
        TaskStats {
            cpu_time: 0,
            run_delay: 0,
            pcount: 0,
            nvcsw: 0,
            nivcsw: 0,
            wakeup_latency: new_hist(),
            slices: new_hist(),
            migrations: 0,
            first_seen: 0,
            exited_at: None,
        }
    }
}

/// A latency histogram with 3 significant digits that grows with the largest value seen
/// (a fixed 1 ns – 1000 s range costs 250 KiB per histogram, per task).
pub fn new_hist() -> Histogram<u64> {
    let mut h = Histogram::new(3).expect("valid histogram precision");
    h.auto(true);
    h
}

#[derive(Clone, Debug, Default)]
pub struct CpuStats {
    pub busy: u64,
    pub idle: u64,
    pub nr_switches: u64,
}
