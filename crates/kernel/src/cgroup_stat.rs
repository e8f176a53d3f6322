//! Per-cgroup metrics at the end of a run: the group's `cpu.stat` (usage and the bandwidth
//! counters, as the kernel's file shows them) and the wakeup latency and run delay of the
//! tasks in it. Definitions in docs/metrics.md.

use std::fmt::Write;

use serde::Serialize;

use crate::class::fair::group::{TgId, ROOT_TG};
use crate::report::Percentiles;
use crate::sim::SimResult;
use crate::stats::new_hist;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CgroupReport {
    pub path: String,
    /// The group's weight (`cpu.shares` units: 1024 = cpu.weight 100).
    pub shares: u64,
    /// `cpu.max`: quota (None = max) and period, µs.
    pub quota_us: Option<u64>,
    pub period_us: u64,
    /// `cpu.stat`, hierarchical like the kernel's: CPU time of the group's fair tasks and
    /// its descendants', and the bandwidth counters of this group.
    pub usage_usec: u64,
    pub nr_periods: u64,
    pub nr_throttled: u64,
    pub throttled_usec: u64,
    pub nr_bursts: u64,
    pub burst_usec: u64,
    /// Tasks in the group or below it at the end of the run (their cgroup then).
    pub nr_tasks: u32,
    /// Their wakeup latencies together, and their total run delay.
    pub wakeup_latency_ns: Percentiles,
    pub run_delay_ns: u64,
}

/// `g` is `anc` or below it.
fn within(r: &SimResult, g: TgId, anc: TgId) -> bool {
    let mut x = Some(g);
    while let Some(y) = x {
        if y == anc {
            return true;
        }
        x = r.sched.fair.tg(y).parent;
    }
    false
}

/// One report per cgroup the workload created (not the root, not an autogroup).
pub fn cgroup_reports(r: &SimResult) -> Vec<CgroupReport> {
    let s = &r.sched;
    // Execution not yet charged by update_curr when the run ended.
    let mut usage: Vec<u64> = s.fair.tg.iter().map(|t| t.usage).collect();
    for rq in &s.rqs {
        let t = s.task(rq.curr);
        if t.pid != 0 && t.class == crate::class::ClassId::Fair {
            let e = s.fair.se(t.se);
            usage[t.cgroup.0 as usize] += rq.clock_task.saturating_sub(e.exec_start);
        }
    }
    let mut out = Vec::new();
    for (i, tg) in s.fair.tg.iter().enumerate() {
        let g = TgId(i as u32);
        if g == ROOT_TG || tg.autogroup {
            continue;
        }
        let mut hist = new_hist();
        let (mut nr_tasks, mut run_delay) = (0, 0);
        for (ti, t) in s.tasks.iter().enumerate() {
            if t.is_boot_kthread() || !within(r, t.cgroup, g) {
                continue;
            }
            nr_tasks += 1;
            let st = &s.task_stats[ti];
            run_delay += st.run_delay;
            let _ = hist.add(st.wakeup_latency.histogram());
        }
        let used: u64 = (0..s.fair.tg.len())
            .filter(|&j| within(r, TgId(j as u32), g))
            .map(|j| usage[j])
            .sum();
        let b = &tg.cfs_b;
        out.push(CgroupReport {
            path: tg.path.clone(),
            shares: tg.shares >> 10,
            quota_us: b.quota.map(|q| q / 1000),
            period_us: if b.period == 0 {
                100_000
            } else {
                b.period / 1000
            },
            usage_usec: used / 1000,
            nr_periods: b.nr_periods,
            nr_throttled: b.nr_throttled,
            throttled_usec: b.throttled_time / 1000,
            nr_bursts: b.nr_burst,
            burst_usec: b.burst_time / 1000,
            nr_tasks,
            wakeup_latency_ns: Percentiles::of(&hist),
            run_delay_ns: run_delay,
        });
    }
    out
}

/// Each group's `cpu.stat` as the kernel prints it, then its tasks' latency.
pub fn summary(groups: &[CgroupReport], o: &mut String) {
    for g in groups {
        let max = match g.quota_us {
            Some(q) => q.to_string(),
            None => "max".into(),
        };
        let _ = writeln!(
            o,
            "\ncgroup {} (cpu.max {} {}, weight {} shares)",
            g.path, max, g.period_us, g.shares
        );
        let _ = writeln!(o, "usage_usec {}", g.usage_usec);
        let _ = writeln!(o, "nr_periods {}", g.nr_periods);
        let _ = writeln!(o, "nr_throttled {}", g.nr_throttled);
        let _ = writeln!(o, "throttled_usec {}", g.throttled_usec);
        let _ = writeln!(o, "nr_bursts {}", g.nr_bursts);
        let _ = writeln!(o, "burst_usec {}", g.burst_usec);
        let _ = writeln!(
            o,
            "tasks {}: wakeup latency {}; run delay {:.3} ms",
            g.nr_tasks,
            g.wakeup_latency_ns.us_summary(),
            g.run_delay_ns as f64 / 1e6
        );
    }
}
