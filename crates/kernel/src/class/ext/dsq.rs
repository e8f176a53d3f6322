//! Dispatch queues (`struct scx_dispatch_q`, kernel/sched/ext.c): the per-CPU local DSQs
//! (the only queues a CPU executes from), the global DSQ, and the user DSQs a policy creates
//! with `scx_bpf_create_dsq`. A DSQ is FIFO or ordered by `p->scx.dsq_vtime`, never both:
//! `dispatch_enqueue` raises a policy error when a policy mixes the two on one queue.

use std::collections::{BTreeMap, VecDeque};

use crate::task::TaskId;

/// Bit 63 marks a built-in DSQ id (`SCX_DSQ_FLAG_BUILTIN`).
pub const SCX_DSQ_FLAG_BUILTIN: u64 = 1 << 63;
/// `SCX_DSQ_FLAG_LOCAL_ON`.
pub const SCX_DSQ_FLAG_LOCAL_ON: u64 = 1 << 62;
pub const SCX_DSQ_INVALID: u64 = SCX_DSQ_FLAG_BUILTIN;
pub const SCX_DSQ_GLOBAL: u64 = SCX_DSQ_FLAG_BUILTIN | 1;
pub const SCX_DSQ_LOCAL: u64 = SCX_DSQ_FLAG_BUILTIN | 2;
pub const SCX_DSQ_LOCAL_ON: u64 = SCX_DSQ_FLAG_BUILTIN | SCX_DSQ_FLAG_LOCAL_ON;
pub const SCX_DSQ_LOCAL_CPU_MASK: u64 = 0xffff_ffff;

/// Where a queued ext task is held: which DSQ (`p->scx.dsq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DsqKey {
    Global,
    /// The local DSQ of a CPU (`rq->scx.local_dsq`).
    Local(u32),
    /// A user DSQ by id.
    User(u64),
}

impl DsqKey {
    /// The DSQ id as the ops API names it.
    pub fn id(self) -> u64 {
        match self {
            DsqKey::Global => SCX_DSQ_GLOBAL,
            DsqKey::Local(c) => SCX_DSQ_LOCAL_ON | c as u64,
            DsqKey::User(id) => id,
        }
    }

    pub fn is_builtin(self) -> bool {
        !matches!(self, DsqKey::User(_))
    }
}

/// One dispatch queue: a FIFO list and a vtime-ordered tree (`dsq->list`, `dsq->priq`).
/// Only one of them holds tasks at a time.
#[derive(Clone, Debug, Default)]
pub struct Dsq {
    fifo: VecDeque<TaskId>,
    /// Keyed by (vtime as a signed value, so that `time_before64` order holds across the
    /// wrap; insertion sequence).
    priq: BTreeMap<(i64, u64), TaskId>,
    /// `dsq->seq`: bumped on every insertion.
    pub seq: u64,
    /// Depth over time, for the report (not in the kernel).
    pub depth: DepthStat,
}

/// A DSQ's depth over time while the policy is loaded: the integral of `nr` over time and
/// its maximum (`ext_stat.rs` turns them into the report's mean and max).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DepthStat {
    /// When accounting started (load, or creation of a user DSQ).
    pub start: u64,
    /// The last change of `nr` already integrated.
    pub since: u64,
    /// ∫ nr dt (task-nanoseconds) over [start, since].
    pub integral: u128,
    pub max: u32,
}

impl DepthStat {
    /// Mean and max depth over [start, end].
    pub fn mean_at(&self, nr: u32, end: u64) -> f64 {
        let integral = self.integral + nr as u128 * end.saturating_sub(self.since) as u128;
        let span = end.saturating_sub(self.start);
        if span == 0 {
            return 0.0;
        }
        integral as f64 / span as f64
    }
}

impl Dsq {
    /// An empty DSQ whose depth accounting starts at `now`.
    pub fn new_at(now: u64) -> Dsq {
        let mut d = Dsq::default();
        d.reset_depth(now);
        d
    }

    /// Integrate the current depth up to `now`; called before every change of `nr`
    /// (`dsq_mut` does).
    pub fn account(&mut self, now: u64) {
        let dt = now.saturating_sub(self.depth.since);
        self.depth.integral += self.nr() as u128 * dt as u128;
        self.depth.since = self.depth.since.max(now);
    }

    /// Start the depth accounting afresh at `now` (policy load).
    pub fn reset_depth(&mut self, now: u64) {
        let max = self.nr();
        self.depth = DepthStat {
            start: now,
            since: now,
            integral: 0,
            max,
        };
    }

    fn note_max(&mut self) {
        self.depth.max = self.depth.max.max(self.nr());
    }

    /// `dsq->nr`.
    pub fn nr(&self) -> u32 {
        (self.fifo.len() + self.priq.len()) as u32
    }

    pub fn has_fifo(&self) -> bool {
        !self.fifo.is_empty()
    }

    pub fn has_priq(&self) -> bool {
        !self.priq.is_empty()
    }

    pub fn push_fifo(&mut self, p: TaskId, head: bool) {
        self.seq += 1;
        if head {
            self.fifo.push_front(p);
        } else {
            self.fifo.push_back(p);
        }
        self.note_max();
    }

    pub fn push_vtime(&mut self, p: TaskId, vtime: u64) {
        self.seq += 1;
        self.priq.insert((vtime as i64, self.seq), p);
        self.note_max();
    }

    /// `dispatch_dequeue`'s list/tree removal. Returns whether `p` was here.
    pub fn remove(&mut self, p: TaskId) -> bool {
        if let Some(i) = self.fifo.iter().position(|&q| q == p) {
            self.fifo.remove(i);
            return true;
        }
        let key = self.priq.iter().find(|(_, &q)| q == p).map(|(k, _)| *k);
        if let Some(k) = key {
            self.priq.remove(&k);
            return true;
        }
        false
    }

    /// The tasks in dispatch order (`nldsq_next_task` / `bpf_iter_scx_dsq`).
    pub fn iter(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.fifo.iter().copied().chain(self.priq.values().copied())
    }

    pub fn first(&self) -> Option<TaskId> {
        self.iter().next()
    }

    pub fn contains(&self, p: TaskId) -> bool {
        self.iter().any(|q| q == p)
    }

    pub fn clear(&mut self) {
        self.fifo.clear();
        self.priq.clear();
    }
}

/// `struct scx_rq`: the per-CPU sched_ext state kept in `struct rq`.
#[derive(Clone, Debug, Default)]
pub struct ScxRq {
    /// `rq->scx.local_dsq`.
    pub local: Dsq,
    /// `rq->scx.nr_running`: ext tasks counted on this rq.
    pub nr_running: u32,
    /// `SCX_RQ_IN_BALANCE`: the CPU is in balance_one, looking for its next task.
    pub in_balance: bool,
    /// `SCX_RQ_BAL_KEEP`: balance decided to keep running prev.
    pub bal_keep: bool,
    /// `rq->scx.cpu_released`: a higher class took the CPU (`ops.cpu_release` was called).
    pub cpu_released: bool,
    /// Same-instant balance rounds (the simulation's livelock guard): instant, count.
    pub bal_instant: u64,
    pub bal_rounds: u32,
    /// `rq->scx.extra_enq_flags`: flags a migrating insert carries into the enqueue.
    pub extra_enq_flags: u64,
    /// `rq->scx.ops_qseq`.
    pub ops_qseq: u64,
    /// The last idle state reported through `ops.update_idle`.
    pub idle_reported: bool,
    /// The CPU's idle bit was cleared by `test_and_clear_cpu_idle` (select_cpu_dfl) since
    /// it last went idle.
    pub idle_claimed: bool,
}
