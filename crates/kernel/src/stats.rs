//! Scheduler statistics collected as the kernel's `sched_info` (kernel/sched/stats.h) and
//! schedstats would: per-task CPU time, run delay, switch counts and wakeup latency; per-CPU
//! busy time and run-queue length. Definitions are in docs/metrics.md.

use hdrhistogram::Histogram;

#[derive(Clone, Debug, Default)]
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
    pub wakeup_latency: LatencyHist,
    /// Lengths of uninterrupted runs (switch-in to switch-out), ns.
    pub slices: LatencyHist,
    pub migrations: u64,
    /// Of those, by cause (`MigrationCause as usize`).
    pub migrations_by: [u64; MIGRATION_CAUSES.len()],
    pub first_seen: u64,
    pub exited_at: Option<u64>,
}

/// Why a task changed CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationCause {
    /// Its wakeup's `select_task_rq` placed it elsewhere.
    Wakeup,
    /// Fair load balancing pulled it (periodic, newidle, NOHZ) or pushed it (active).
    Balance,
    /// RT or deadline push/pull.
    PushPull,
    /// Its affinity no longer allowed its CPU (`migration_cpu_stop`, `__set_cpus_allowed_ptr`).
    Affinity,
    /// sched_ext dispatched it to another CPU's local DSQ.
    Ext,
}

/// The causes with their names in the report, in `MigrationCause` order.
pub const MIGRATION_CAUSES: [&str; 5] = ["wakeup", "balance", "push_pull", "affinity", "ext"];

/// A latency histogram with 3 significant digits that grows with the largest value seen
/// (a fixed 1 ns – 1000 s range costs 250 KiB per histogram, per task).
pub fn new_hist() -> Histogram<u64> {
    let mut h = Histogram::new(3).expect("valid histogram precision");
    h.auto(true);
    h
}

/// A per-task latency distribution at [`new_hist`]'s resolution (3 significant digits),
/// stored sparsely: one 8-byte entry per bucket in use, none before the first sample. A
/// sleeping or short-lived task costs a few bytes instead of the tens of KiB of a dense
/// histogram, a long-lived one at most as many entries as it has distinct values at that
/// resolution. [`histogram`](LatencyHist::histogram) rebuilds the `new_hist` histogram of
/// the same samples: the same percentiles, mean and extremes.
#[derive(Clone, Debug, Default)]
pub struct LatencyHist {
    /// Sorted entries: the bucket's key (see `bucket`) above `COUNT_BITS` bits of count.
    entries: Vec<u64>,
    len: u64,
}

/// Bits of an entry holding the bucket's count (the key needs 17: a 6-bit shift and an
/// 11-bit mantissa).
const COUNT_BITS: u32 = 47;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// `new_hist`'s bucket of `v` (3 significant digits: 2048 sub-buckets, unit 1): values
/// below 2048 exactly, larger ones to their top 11 bits. Returns the key, which orders
/// like the values, and the bucket's lowest value (`lowest_equivalent`).
fn bucket(v: u64) -> (u64, u64) {
    let shift = (64 - v.leading_zeros()).saturating_sub(11);
    let mantissa = v >> shift;
    ((shift as u64) << 11 | mantissa, mantissa << shift)
}

impl LatencyHist {
    /// Records one value (ns), as `Histogram::record`.
    pub fn record(&mut self, v: u64) -> Result<(), hdrhistogram::RecordError> {
        let key = bucket(v).0 << COUNT_BITS;
        let i = self.entries.partition_point(|&e| e < key);
        match self.entries.get_mut(i) {
            Some(e) if *e & !COUNT_MASK == key && *e & COUNT_MASK < COUNT_MASK => *e += 1,
            Some(e) if *e & !COUNT_MASK == key => {} // 2^47 - 1 samples: saturated
            _ => self.entries.insert(i, key | 1),
        }
        self.len += 1;
        Ok(())
    }

    /// Samples recorded.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The distribution as [`new_hist`] would hold it.
    pub fn histogram(&self) -> Histogram<u64> {
        let mut h = new_hist();
        for &e in &self.entries {
            let lowest = bucket_lowest(e >> COUNT_BITS);
            h.record_n(lowest, e & COUNT_MASK)
                .expect("an auto-resizing histogram takes any value");
        }
        h
    }

    /// `Histogram::min`: the lowest equivalent of the smallest sample (0 if none).
    pub fn min(&self) -> u64 {
        self.histogram().min()
    }

    /// `Histogram::max`: the highest equivalent of the largest sample (0 if none).
    pub fn max(&self) -> u64 {
        self.histogram().max()
    }
}

/// The lowest value of the bucket with key `key`.
fn bucket_lowest(key: u64) -> u64 {
    (key & 0x7ff) << (key >> 11)
}

#[derive(Clone, Debug, Default)]
pub struct CpuStats {
    pub busy: u64,
    pub idle: u64,
    pub nr_switches: u64,
    /// `rq_sched_info`: the run delay of the tasks switched in here, and how many.
    pub run_delay: u64,
    pub pcount: u64,
    /// Time idle while another CPU of its LLC had a task waiting (docs/metrics.md).
    pub wasted_idle: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_hdrhistograms() {
        let h = new_hist();
        for v in (0..5000).chain([1 << 20, (1 << 20) + 511, (1 << 20) + 512, u64::MAX >> 1]) {
            let (key, lowest) = bucket(v);
            assert_eq!(lowest, h.lowest_equivalent(v), "{v}");
            assert_eq!(bucket_lowest(key), lowest, "{v}");
        }
        assert!(bucket(2047).0 < bucket(2048).0 && bucket(4095).0 < bucket(4096).0);
    }

    /// Every figure the report takes equals a plain `new_hist` histogram's.
    #[test]
    fn latency_hist_matches_a_full_histogram() {
        let mut x = 7u64;
        for n in [0, 1, 2, 100, 5_000, 50_000] {
            let mut l = LatencyHist::default();
            let mut h = new_hist();
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = (x % 4_000_000_000) >> (x % 24);
                l.record(v).unwrap();
                h.record(v).unwrap();
            }
            let g = l.histogram();
            assert_eq!(l.len(), h.len());
            assert_eq!(g.len(), h.len());
            assert_eq!((l.min(), l.max()), (h.min(), h.max()), "n={n}");
            for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
                assert_eq!(
                    g.value_at_quantile(q),
                    h.value_at_quantile(q),
                    "n={n} q={q}"
                );
            }
            assert_eq!(g.mean(), h.mean(), "n={n}");
            assert!(l.entries.len() as u64 <= n);
        }
    }
}
