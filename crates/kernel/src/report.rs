//! The metrics report of a run (definitions in docs/metrics.md): per task CPU time, run
//! delay, wakeup latency percentiles, switch counts and slices; per CPU busy/idle time and
//! run-queue length; context switches per second. JSON via serde, text in schbench's layout.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::class::dl::{dl_task_report, DlReport};
use crate::sim::SimResult;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Percentiles {
    /// `p50 X us, p99 Y us, max Z us` (rounded up to whole µs), for the text summaries.
    pub fn us_summary(&self) -> String {
        let us = |v: u64| v.div_ceil(1000);
        format!(
            "p50 {} us, p99 {} us, max {} us",
            us(self.p50),
            us(self.p99),
            us(self.max)
        )
    }

    pub fn of(h: &Histogram<u64>) -> Percentiles {
        let q = |p: f64| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(p)
            }
        };
        Percentiles {
            count: h.len(),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: if h.is_empty() { 0 } else { h.max() },
            mean: if h.is_empty() {
                0.0
            } else {
                (h.mean() * 10.0).round() / 10.0
            },
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TaskReport {
    pub comm: String,
    pub pid: i32,
    pub policy: String,
    pub nice: i32,
    pub cpu_time_ns: u64,
    pub share: f64,
    pub run_delay_ns: u64,
    pub nr_switches_voluntary: u64,
    pub nr_switches_involuntary: u64,
    pub nr_migrations: u64,
    /// `nr_migrations` by cause: wakeup placement, load balancing, RT/DL push-pull,
    /// affinity, sched_ext dispatch.
    pub migrations_by_cause: MigrationsByCause,
    pub wakeup_latency_ns: Percentiles,
    pub slice_ns: Percentiles,
    pub exited: bool,
    /// Jobs, misses, lateness and throttling of a task that was SCHED_DEADLINE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DlReport>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CpuReport {
    pub cpu: u32,
    pub busy_ns: u64,
    pub idle_ns: u64,
    pub nr_switches: u64,
    pub rq_len_mean: f64,
    pub rq_len_max: u32,
    /// Idle while another CPU of its LLC had a task waiting.
    pub wasted_idle_ns: u64,
    /// Its load balancing, summed over its domains and idle types.
    pub balance: BalanceReport,
    /// Its `/proc/schedstat` line and domain lines, by name.
    pub schedstat: CpuSchedstat,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MigrationsByCause {
    pub wakeup: u64,
    pub balance: u64,
    pub push_pull: u64,
    pub affinity: u64,
    pub ext: u64,
}

/// A CPU's balancing passes (`lb_count`), those that found an imbalance (not
/// `lb_balanced`), and the tasks they brought here (`lb_gained`, active pushes included).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BalanceReport {
    pub attempts: u64,
    pub imbalanced: u64,
    pub moved: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CpuSchedstat {
    #[serde(flatten)]
    pub rq: crate::schedstat::RqStat,
    pub rq_cpu_time: u64,
    pub run_delay: u64,
    pub pcount: u64,
    pub domains: Vec<DomainSchedstat>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DomainSchedstat {
    pub name: &'static str,
    /// The span as `/proc/schedstat` prints it (`%*pb`).
    pub span: String,
    /// Per counter of `SdStat`; the `lb_*` ones as [busy, idle, newly idle].
    #[serde(flatten)]
    pub stat: crate::schedstat::SdStat,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub duration_ns: u64,
    pub nr_cpus: u32,
    pub context_switches: u64,
    pub context_switches_per_sec: f64,
    pub ended_early: Option<String>,
    pub blocked_forever: Vec<String>,
    /// Blocked at the end on something a live thread may still signal.
    pub blocked_waiting: Vec<String>,
    pub tasks: Vec<TaskReport>,
    pub cpus: Vec<CpuReport>,
    /// One entry per cgroup the workload created.
    pub cgroups: Vec<crate::cgroup_stat::CgroupReport>,
    /// The sched_ext policy loaded last, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<crate::ext_stat::ExtReport>,
    /// The machine's background daemon (`daemon_period`), if any: not one of the
    /// workload's tasks, but in the trace, the CPU figures and the context switches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daemon: Option<MachineTaskReport>,
    /// The process reading the launcher's output (`reader_run`), if any: the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reader: Option<MachineTaskReport>,
    /// The machine's kernel threads that run by themselves (`rcu_preempt`, the workqueue
    /// workers, kdamond; core/rcu.rs, core/kthreads.rs): the same.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kthreads: Vec<MachineTaskReport>,
}

/// A task of the machine rather than of the workload (the daemon, the output reader, the
/// background kthreads).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MachineTaskReport {
    pub comm: String,
    pub pid: i32,
    pub cpu_time_ns: u64,
    /// Its runs: its start, then one per wakeup.
    pub runs: u64,
}

impl MachineTaskReport {
    fn of(s: &crate::sched::Sched, t: crate::task::TaskId, end: u64) -> MachineTaskReport {
        let task = s.task(t);
        let st = &s.task_stats[t.0 as usize];
        let running_now = if task.on_cpu {
            end - task.last_arrival
        } else {
            0
        };
        MachineTaskReport {
            comm: task.comm.to_string(),
            pid: task.pid,
            cpu_time_ns: st.cpu_time + running_now,
            runs: st.wakeup_latency.len(),
        }
    }
}

fn round4(x: f64) -> f64 {
    (x * 10000.0).round() / 10000.0
}

impl Report {
    /// Builds the report, closing every open interval at the end of the run.
    pub fn from_result(r: &SimResult) -> Report {
        let s = &r.sched;
        let end = r.end.max(1);
        let mut tasks = Vec::new();
        for (i, t) in s.tasks.iter().enumerate() {
            let machine = [r.user.launcher, r.user.daemon, r.user.reader, s.rcu.kthread];
            if t.is_boot_kthread() || machine.contains(&Some(t.id)) || s.kthreads.contains(t.id) {
                continue;
            }
            let st = &s.task_stats[i];
            let running_now = if t.on_cpu { end - t.last_arrival } else { 0 };
            let waiting_now = t.last_queued.map_or(0, |q| end - q);
            let cpu_time = st.cpu_time + running_now;
            tasks.push(TaskReport {
                comm: t.comm.to_string(),
                pid: t.pid,
                policy: t.policy.name().to_string(),
                nice: t.static_prio - 120,
                cpu_time_ns: cpu_time,
                share: round4(cpu_time as f64 / end as f64),
                run_delay_ns: st.run_delay + waiting_now,
                nr_switches_voluntary: st.nvcsw,
                nr_switches_involuntary: st.nivcsw,
                nr_migrations: st.migrations,
                migrations_by_cause: {
                    let m = st.migrations_by;
                    MigrationsByCause {
                        wakeup: m[0],
                        balance: m[1],
                        push_pull: m[2],
                        affinity: m[3],
                        ext: m[4],
                    }
                },
                wakeup_latency_ns: Percentiles::of(&st.wakeup_latency.histogram()),
                slice_ns: Percentiles::of(&st.slices.histogram()),
                exited: t.exited,
                deadline: dl_task_report(s, t.id, end),
            });
        }
        let cpus = s
            .rqs
            .iter()
            .map(|rq| {
                let cs = &s.cpu_stats[rq.cpu as usize];
                let curr = &s.tasks[rq.curr.0 as usize];
                let open = end - curr.last_arrival;
                let (busy, idle) = if curr.pid == 0 {
                    (cs.busy, cs.idle + open)
                } else {
                    (cs.busy + open, cs.idle)
                };
                let integral = rq.nr_running_integral
                    + rq.nr_running as u128 * (end - rq.nr_running_since) as u128;
                let doms = &s.topo.sd[rq.cpu as usize];
                let sum = |f: fn(&crate::schedstat::SdStat) -> u64| -> u64 {
                    doms.iter().map(|d| f(&d.stat)).sum()
                };
                let attempts = sum(|st| st.lb_count.iter().sum());
                CpuReport {
                    cpu: rq.cpu,
                    busy_ns: busy,
                    idle_ns: idle,
                    nr_switches: cs.nr_switches,
                    rq_len_mean: round4(integral as f64 / end as f64),
                    rq_len_max: rq.nr_running_max,
                    wasted_idle_ns: s.wasted_idle.total_at(rq.cpu, end),
                    balance: BalanceReport {
                        attempts,
                        imbalanced: attempts - sum(|st| st.lb_balanced.iter().sum()),
                        moved: sum(crate::schedstat::SdStat::moved),
                    },
                    schedstat: CpuSchedstat {
                        rq: rq.stat.clone(),
                        rq_cpu_time: busy,
                        run_delay: cs.run_delay,
                        pcount: cs.pcount,
                        domains: doms
                            .iter()
                            .map(|d| DomainSchedstat {
                                name: d.name,
                                span: crate::schedstat::cpumask_hex(&d.span, s.nr_cpus()),
                                stat: d.stat.clone(),
                            })
                            .collect(),
                    },
                }
            })
            .collect();
        let switches: u64 = s.rqs.iter().map(|rq| rq.nr_switches).sum();
        Report {
            duration_ns: r.end,
            nr_cpus: s.nr_cpus(),
            context_switches: switches,
            context_switches_per_sec: round4(switches as f64 * 1e9 / end as f64),
            ended_early: r.ended_early.clone(),
            blocked_forever: r.blocked_forever.clone(),
            blocked_waiting: r.blocked_waiting.clone(),
            tasks,
            cpus,
            cgroups: crate::cgroup_stat::cgroup_reports(r),
            ext: crate::ext_stat::ext_report(r),
            daemon: r.user.daemon.map(|d| MachineTaskReport::of(s, d, end)),
            reader: r.user.reader.map(|d| MachineTaskReport::of(s, d, end)),
            kthreads: s
                .rcu
                .kthread
                .into_iter()
                .chain(s.kthreads.list.iter().map(|k| k.task))
                .map(|k| MachineTaskReport::of(s, k, end))
                .collect(),
        }
    }

    /// The readable summary: per task, wakeup latencies in schbench's percentile layout.
    pub fn summary(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "simulated {:.3} s on {} CPUs: {} context switches ({:.1}/s)",
            self.duration_ns as f64 / 1e9,
            self.nr_cpus,
            self.context_switches,
            self.context_switches_per_sec
        );
        let machine = [
            ("the machine's daemon", self.daemon.as_ref()),
            ("the launcher's output reader", self.reader.as_ref()),
        ]
        .into_iter()
        .chain(
            self.kthreads
                .iter()
                .filter(|k| k.runs > 0)
                .map(|k| ("the kernel thread", Some(k))),
        );
        for (what, d) in machine {
            if let Some(d) = d {
                let _ = writeln!(
                    o,
                    "{what} {}[{}] ran {} times, {:.3} ms (in the trace and the CPU figures, not in the table)",
                    d.comm,
                    d.pid,
                    d.runs,
                    d.cpu_time_ns as f64 / 1e6
                );
            }
        }
        if let Some(why) = &self.ended_early {
            let _ = writeln!(o, "ended early: {why}");
        }
        for b in &self.blocked_forever {
            let _ = writeln!(o, "warning: {b} forever (nothing signals it)");
        }
        for b in &self.blocked_waiting {
            let _ = writeln!(
                o,
                "note: {b} at the end (a live thread may still signal it)"
            );
        }
        let _ = writeln!(
            o,
            "\n{:<16} {:>7} {:>12} {:>7} {:>12} {:>8} {:>8} {:>6}",
            "task", "pid", "cpu ms", "share", "delay ms", "vol", "invol", "migr"
        );
        for t in &self.tasks {
            let _ = writeln!(
                o,
                "{:<16} {:>7} {:>12.3} {:>7.4} {:>12.3} {:>8} {:>8} {:>6}",
                t.comm,
                t.pid,
                t.cpu_time_ns as f64 / 1e6,
                t.share,
                t.run_delay_ns as f64 / 1e6,
                t.nr_switches_voluntary,
                t.nr_switches_involuntary,
                t.nr_migrations
            );
        }
        for t in self.tasks.iter().filter(|t| t.wakeup_latency_ns.count > 0) {
            let w = &t.wakeup_latency_ns;
            let us = |v: u64| v.div_ceil(1000);
            let _ = writeln!(o, "\n{} [{}] Wakeup Latencies percentiles (usec) runtime {:.3} (s) ({} total samples)",
                t.comm, t.pid, self.duration_ns as f64 / 1e9, w.count);
            let _ = writeln!(o, "\t  50.0th: {:<10}", us(w.p50));
            let _ = writeln!(o, "\t  90.0th: {:<10}", us(w.p90));
            let _ = writeln!(o, "\t* 99.0th: {:<10}", us(w.p99));
            let _ = writeln!(o, "\t  99.9th: {:<10}", us(w.p999));
            let _ = writeln!(o, "\t  max:    {:<10}", us(w.max));
        }
        let dl: Vec<_> = self.tasks.iter().filter(|t| t.deadline.is_some()).collect();
        if !dl.is_empty() {
            let _ = writeln!(o, "\n{}", DlReport::summary_header());
        }
        for t in dl {
            let row = t.deadline.as_ref().map(|d| d.summary_row(&t.comm, t.pid));
            let _ = writeln!(o, "{}", row.unwrap_or_default());
        }
        crate::cgroup_stat::summary(&self.cgroups, &mut o);
        crate::ext_stat::summary(self.ext.as_ref(), &mut o);
        let _ = writeln!(
            o,
            "\n{:<5} {:>12} {:>12} {:>12} {:>10} {:>10} {:>8} {:>9} {:>6}",
            "cpu",
            "busy ms",
            "idle ms",
            "wasted ms",
            "switches",
            "rq mean",
            "rq max",
            "balances",
            "pulled"
        );
        for c in &self.cpus {
            let _ = writeln!(
                o,
                "{:<5} {:>12.3} {:>12.3} {:>12.3} {:>10} {:>10.4} {:>8} {:>9} {:>6}",
                c.cpu,
                c.busy_ns as f64 / 1e6,
                c.idle_ns as f64 / 1e6,
                c.wasted_idle_ns as f64 / 1e6,
                c.nr_switches,
                c.rq_len_mean,
                c.rq_len_max,
                c.balance.attempts,
                c.balance.moved
            );
        }
        o
    }
}
