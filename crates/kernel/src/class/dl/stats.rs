//! Per-task deadline statistics (docs/metrics.md, "Deadline tasks"): jobs, deadline misses,
//! the lateness distribution and the time spent throttled.
//!
//! The kernel has no deadline-miss event (core-and-classes.md §3.3): a job is the user's
//! notion, one activation from wakeup (or admission into SCHED_DEADLINE) to the block (or
//! `sched_yield`) that ends it, and its absolute deadline is its release plus the relative
//! deadline `dl_deadline`. The hooks below sit where the class sees those instants:
//! `enqueue_task_dl` (WAKEUP/INITIAL), `dequeue_task_dl` (SLEEP), `yield_task_dl`,
//! `dl_task_timer` (the activation after a yield), `switched_to_dl`/`switched_from_dl`.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::*;
use crate::stats::new_hist;

/// A signed distribution (lateness: negative = early) as two HdrHistograms of magnitudes.
#[derive(Clone, Debug)]
pub struct Lateness {
    /// `deadline − finish` of jobs that finished on time (≥ 0).
    early: Histogram<u64>,
    /// `finish − deadline` of late jobs (> 0).
    late: Histogram<u64>,
}

impl Default for Lateness {
    fn default() -> Self {
        Lateness {
            early: new_hist(),
            late: new_hist(),
        }
    }
}

impl Lateness {
    pub fn record(&mut self, lateness: i64) {
        let _ = if lateness > 0 {
            self.late.record(lateness as u64)
        } else {
            self.early.record(lateness.unsigned_abs())
        };
    }

    pub fn len(&self) -> u64 {
        self.early.len() + self.late.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `rank`-th smallest sample (1-based), quantised as HdrHistogram does.
    fn at_rank(&self, rank: u64) -> i64 {
        let ne = self.early.len();
        if rank <= ne {
            // Ascending lateness walks the early magnitudes from the largest down.
            -(rank_value(&self.early, ne - rank + 1) as i64)
        } else {
            rank_value(&self.late, rank - ne) as i64
        }
    }

    /// Nearest-rank quantile (the ⌈q·n⌉-th smallest sample); 0 when empty.
    pub fn quantile(&self, q: f64) -> i64 {
        let n = self.len();
        if n == 0 {
            return 0;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        self.at_rank(rank)
    }
}

/// The `rank`-th smallest value recorded in `h` (1-based).
fn rank_value(h: &Histogram<u64>, rank: u64) -> u64 {
    let mut seen = 0;
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        if seen >= rank {
            return v.value_iterated_to();
        }
    }
    h.max()
}

/// An activation in progress: its absolute deadline (release + `dl_deadline`).
#[derive(Clone, Copy, Debug)]
struct Job {
    deadline: u64,
}

/// What one task accumulated while it was SCHED_DEADLINE.
#[derive(Clone, Debug, Default)]
pub struct DlTaskStats {
    /// Finished jobs.
    pub jobs: u64,
    /// Finished jobs whose finish came after their absolute deadline.
    pub misses: u64,
    /// Finished jobs whose finish came after `dl_se->deadline` as it stood then.
    pub misses_kernel: u64,
    pub lateness: Lateness,
    /// Closed `dl_throttled` intervals, and how many there were.
    pub throttled_ns: u64,
    pub nr_throttled: u64,
    throttled_since: Option<u64>,
    job: Option<Job>,
}

/// The stats of task `p` (created with its entity, at its home CPU).
fn stats_mut(s: &mut Sched, p: TaskId) -> Option<&mut DlTaskStats> {
    let h = dl_home(s, p)?;
    Some(s.rq_mut(h).dl.stats.entry(p).or_default())
}

/// A job of `p` is released: by the wakeup that `sched_waking` started (its instant), by
/// the fork or `sched_setattr` that made it a deadline task, or by the replenishment that
/// ends a yield.
pub(super) fn job_release(s: &mut Sched, p: TaskId) {
    let release = s.task(p).waking_ts.unwrap_or(s.now).min(s.now);
    let deadline = release + task_se(s, p).dl_deadline;
    if let Some(st) = stats_mut(s, p) {
        st.job = Some(Job { deadline });
    }
}

/// The open job of `p` finished now (it blocked, exited or yielded).
pub(super) fn job_finish(s: &mut Sched, p: TaskId) {
    let now = s.now;
    let kernel_deadline = task_se(s, p).deadline;
    let Some(st) = stats_mut(s, p) else { return };
    let Some(job) = st.job.take() else { return };
    let lateness = now as i64 - job.deadline as i64;
    st.jobs += 1;
    if lateness > 0 {
        st.misses += 1;
    }
    if dl_time_before(kernel_deadline, now) {
        st.misses_kernel += 1;
    }
    st.lateness.record(lateness);
}

/// Whether `p` has a job in progress.
pub(super) fn job_open(s: &Sched, p: TaskId) -> bool {
    dl_home(s, p).is_some_and(|h| s.rq(h).dl.stats.get(&p).is_some_and(|st| st.job.is_some()))
}

/// `p` left SCHED_DEADLINE: its open job and throttling end without a verdict.
pub(super) fn job_abandon(s: &mut Sched, p: TaskId) {
    if let Some(st) = stats_mut(s, p) {
        st.job = None;
    }
}

/// Sets `dl_throttled` of entity `k`, timing a task's throttled intervals.
pub(super) fn set_throttled(s: &mut Sched, cpu: u32, k: DlKey, on: bool) {
    se_mut(s, cpu, k).dl_throttled = on;
    let DlKey::Task(p) = k else { return };
    let now = s.now;
    let Some(st) = stats_mut(s, p) else { return };
    match (on, st.throttled_since) {
        (true, None) => {
            st.throttled_since = Some(now);
            st.nr_throttled += 1;
        }
        (false, Some(t)) => {
            st.throttled_ns += now - t;
            st.throttled_since = None;
        }
        _ => {}
    }
}

/// The deadline figures of one task in the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DlReport {
    pub jobs: u64,
    pub misses: u64,
    pub misses_kernel: u64,
    pub lateness_ns: LatenessReport,
    pub throttled_ns: u64,
    pub nr_throttled: u64,
}

/// Lateness percentiles (signed ns: negative = finished before the deadline).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LatenessReport {
    pub count: u64,
    pub min: i64,
    pub p50: i64,
    pub p90: i64,
    pub p99: i64,
    pub max: i64,
}

impl LatenessReport {
    pub fn of(l: &Lateness) -> LatenessReport {
        LatenessReport {
            count: l.len(),
            min: l.quantile(0.0),
            p50: l.quantile(0.5),
            p90: l.quantile(0.9),
            p99: l.quantile(0.99),
            max: l.quantile(1.0),
        }
    }
}

/// The report of task `p` at the end of the run (`end`), if it ever was a deadline task:
/// an open job already past its deadline counts as a job and a miss (it has no lateness
/// sample), an open throttled interval is closed at `end`.
pub fn dl_task_report(s: &Sched, p: TaskId, end: u64) -> Option<DlReport> {
    let st = s.rq(dl_home(s, p)?).dl.stats.get(&p)?;
    let open_miss = st.job.is_some_and(|j| j.deadline < end) as u64;
    Some(DlReport {
        jobs: st.jobs + open_miss,
        misses: st.misses + open_miss,
        misses_kernel: st.misses_kernel,
        lateness_ns: LatenessReport::of(&st.lateness),
        throttled_ns: st.throttled_ns + st.throttled_since.map_or(0, |t| end - t),
        nr_throttled: st.nr_throttled,
    })
}

impl DlReport {
    /// The header of the summary's deadline table.
    pub fn summary_header() -> String {
        format!(
            "{:<16} {:>7} {:>8} {:>8} {:>12} {:>12} {:>12} {:>14}",
            "deadline task",
            "pid",
            "jobs",
            "misses",
            "late p50 ms",
            "late p99 ms",
            "late max ms",
            "throttled ms"
        )
    }

    /// One row of the summary's deadline table.
    pub fn summary_row(&self, comm: &str, pid: i32) -> String {
        let ms = |v: i64| v as f64 / 1e6;
        let l = &self.lateness_ns;
        format!(
            "{:<16} {:>7} {:>8} {:>8} {:>12.3} {:>12.3} {:>12.3} {:>14.3}",
            comm,
            pid,
            self.jobs,
            self.misses,
            ms(l.p50),
            ms(l.p99),
            ms(l.max),
            self.throttled_ns as f64 / 1e6
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_quantiles_are_signed_nearest_rank() {
        let mut l = Lateness::default();
        for v in [-30, -10, 0, 20, 40] {
            l.record(v);
        }
        assert_eq!(l.quantile(0.0), -30);
        assert_eq!(l.quantile(0.2), -30);
        assert_eq!(l.quantile(0.4), -10);
        assert_eq!(l.quantile(0.5), 0);
        assert_eq!(l.quantile(0.8), 20);
        assert_eq!(l.quantile(1.0), 40);
        assert_eq!(Lateness::default().quantile(0.5), 0);
    }
}
