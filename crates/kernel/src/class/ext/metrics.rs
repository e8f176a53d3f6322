//! Per-policy counters for the report (`ext_stat.rs`; definitions in docs/metrics.md),
//! bumped where the DSQ and kfunc code already passes. Not kernel state: the kernel's
//! closest counterparts are the scx_stat events and the BPF schedulers' own stats maps.

use hdrhistogram::Histogram;

use super::dsq::{DepthStat, DsqKey, SCX_DSQ_GLOBAL, SCX_DSQ_LOCAL, SCX_DSQ_LOCAL_ON};

/// Applied DSQ inserts (`scx_bpf_dsq_insert[_vtime]` verdicts) by the id they named.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsertCounts {
    /// `SCX_DSQ_LOCAL`.
    pub local: u64,
    /// `SCX_DSQ_LOCAL_ON | cpu`.
    pub local_on: u64,
    /// `SCX_DSQ_GLOBAL`.
    pub global: u64,
    /// A user DSQ.
    pub user: u64,
}

/// What the report needs about the policy loaded last.
#[derive(Clone, Debug, Default)]
pub struct ScxMetrics {
    /// When the policy was loaded (`scx_enable`) and unloaded (the disable work).
    pub loaded_at: Option<u64>,
    pub unloaded_at: Option<u64>,
    /// Inserts by target, and by where they were made: the direct-dispatch verdict of
    /// ops.select_cpu/ops.enqueue, or the buffer of ops.dispatch.
    pub inserts: InsertCounts,
    pub direct: u64,
    pub from_dispatch: u64,
    /// Successful `scx_bpf_dsq_move_to_local` and `scx_bpf_dsq_move[_vtime]` calls.
    pub move_to_local: u64,
    pub dsq_move: u64,
    /// `ops.enqueue` calls.
    pub enqueues: u64,
    /// Time from ops.enqueue (or the direct-dispatch verdict) to `ops.running`, ns.
    pub enqueue_to_run: Option<Histogram<u64>>,
    /// DSQs that are gone (destroyed, or every DSQ at unload) with their depth record
    /// closed at `since`.
    pub closed: Vec<(DsqKey, DepthStat)>,
}

impl ScxMetrics {
    /// Fresh counters for a policy loaded at `now`.
    pub fn start(now: u64) -> ScxMetrics {
        ScxMetrics {
            loaded_at: Some(now),
            enqueue_to_run: Some(crate::stats::new_hist()),
            ..ScxMetrics::default()
        }
    }

    /// One applied insert into DSQ `id`; `direct`: a select_cpu/enqueue verdict.
    pub fn count_insert(&mut self, id: u64, direct: bool) {
        let c = &mut self.inserts;
        if id == SCX_DSQ_LOCAL {
            c.local += 1;
        } else if id & SCX_DSQ_LOCAL_ON == SCX_DSQ_LOCAL_ON {
            c.local_on += 1;
        } else if id == SCX_DSQ_GLOBAL {
            c.global += 1;
        } else {
            c.user += 1;
        }
        if direct {
            self.direct += 1;
        } else {
            self.from_dispatch += 1;
        }
    }

    /// A task queued since `since` starts running at `now`.
    pub fn ran(&mut self, since: u64, now: u64) {
        if let Some(h) = self.enqueue_to_run.as_mut() {
            let _ = h.record(now.saturating_sub(since));
        }
    }
}
