//! `struct sched_entity` and `struct cfs_rq` (kernel/sched/sched.h, include/linux/sched.h).
//! Entities live in one arena indexed by `SeId`; a task's entity and (with group scheduling)
//! the per-CPU entities of task groups are all there, linked like the kernel's pointers.

use crate::prio::LoadWeight;

use super::bandwidth::CfsRqBandwidth;
use super::group::TgId;
use crate::task::TaskId;

use super::tree::{RunNode, Timeline};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CfsRqId(pub u32);

#[derive(Clone, Debug)]
pub struct SchedEntity {
    pub load: LoadWeight,
    pub vruntime: u64,
    pub deadline: u64,
    /// Augmented subtree minima (valid while in the tree).
    pub min_vruntime: u64,
    pub min_slice: u64,
    pub max_slice: u64,
    pub slice: u64,
    /// Virtual lag saved at dequeue (`entity_lag`), or the relative deadline holder. While
    /// the entity runs, the same storage holds `vprot` (6.18.44 still has the union; 6.18.45
    /// separates them), so a dequeue or reweight of the running task overwrites its
    /// protection: see `vprot()`.
    pub vlag: i64,
    pub exec_start: u64,
    pub sum_exec_runtime: u64,
    pub prev_sum_exec_runtime: u64,
    pub on_rq: bool,
    pub sched_delayed: bool,
    pub rel_deadline: bool,
    pub custom_slice: bool,
    /// The cfs_rq this entity is (or would be) queued on.
    pub cfs_rq: CfsRqId,
    /// The task this entity is, or None for a group entity.
    pub task: Option<TaskId>,
    /// The group entity one level up (`se->parent`), None at the root cfs_rq.
    pub parent: Option<SeId>,
    /// A group entity's own queue (`se->my_q`).
    pub my_q: Option<CfsRqId>,
    /// Levels below the root (`se->depth`).
    pub depth: u32,
    /// A group entity's runnable count for PELT (`se->runnable_weight`).
    pub runnable_weight: u32,
    pub node: RunNode,
    /// PELT averages (`se->avg`).
    pub avg: super::pelt::SchedAvg,
    /// The task's waker-side placement state (wakee flips, recent_used_cpu).
    pub wake: super::placement::WakeeState,
}

impl SchedEntity {
    /// 6.17+: the vruntime up to which the running entity's slice is protected
    /// (`set_protect_slice`), kept in `vlag`'s storage as in 6.18.44's union.
    pub fn vprot(&self) -> u64 {
        self.vlag as u64
    }

    pub fn set_vprot(&mut self, vprot: u64) {
        self.vlag = vprot as i64;
    }

    pub fn new(cfs_rq: CfsRqId, task: Option<TaskId>, load: LoadWeight) -> SchedEntity {
        SchedEntity {
            load,
            vruntime: 0,
            deadline: 0,
            min_vruntime: 0,
            min_slice: 0,
            max_slice: 0,
            slice: 0,
            vlag: 0,
            exec_start: 0,
            sum_exec_runtime: 0,
            prev_sum_exec_runtime: 0,
            on_rq: false,
            sched_delayed: false,
            rel_deadline: false,
            custom_slice: false,
            cfs_rq,
            task,
            parent: None,
            my_q: None,
            depth: 0,
            runnable_weight: 0,
            node: RunNode::default(),
            avg: Default::default(),
            wake: Default::default(),
        }
    }
}

/// `struct cfs_rq`: one EEVDF queue. `curr` is kept out of the tree and out of the sums.
#[derive(Clone, Debug)]
pub struct CfsRq {
    pub cpu: u32,
    /// The task group this queue belongs to (`cfs_rq->tg`).
    pub tg: TgId,
    /// Sum of the queued entities' weights, curr and delayed ones included (`load.weight`).
    pub load_weight: u64,
    /// `nr_queued` (6.14+ name of nr_running): entities on this queue, curr included.
    pub nr_queued: u32,
    /// Tasks queued in this hierarchy, delayed ones included (`h_nr_queued`).
    pub h_nr_queued: u32,
    /// Queued minus delayed (`h_nr_runnable`).
    pub h_nr_runnable: u32,
    /// SCHED_IDLE tasks in the hierarchy (`h_nr_idle`).
    pub h_nr_idle: u32,
    /// Σ (v_i − zero_vruntime)·w_i over the tree (`avg_vruntime`).
    pub avg_vruntime: i64,
    /// Σ w_i over the tree (`avg_load`), scale_load_down'd weights.
    pub avg_load: i64,
    pub zero_vruntime: u64,
    pub curr: Option<SeId>,
    pub next: Option<SeId>,
    pub timeline: Timeline,
    /// PELT averages of the queue (`cfs_rq->avg`) and load removed lazily.
    pub avg: super::pelt::SchedAvg,
    pub removed: super::pelt::Removed,
    /// This queue's last contribution to `tg->load_avg` and when it was made.
    pub tg_load_avg_contrib: i64,
    pub last_update_tg_load_avg: u64,
    /// Load changes of a child queue waiting to reach the group entity (`propagate`,
    /// `prop_runnable_sum`).
    pub propagate: bool,
    pub prop_runnable_sum: i64,
    /// Hierarchical load for the load balancer (`h_load`, `last_h_load_update`,
    /// `h_load_next`).
    pub h_load: u64,
    pub last_h_load_update: u64,
    pub h_load_next: Option<SeId>,
    /// CFS bandwidth state of this per-CPU queue.
    pub bw: CfsRqBandwidth,
}

impl CfsRq {
    pub fn new(cpu: u32, tg: TgId) -> CfsRq {
        CfsRq {
            cpu,
            tg,
            load_weight: 0,
            nr_queued: 0,
            h_nr_queued: 0,
            h_nr_runnable: 0,
            h_nr_idle: 0,
            avg_vruntime: 0,
            avg_load: 0,
            // init_cfs_rq: start near the wrap so wrapping comparisons are exercised.
            zero_vruntime: (-(1i64 << 20)) as u64,
            curr: None,
            next: None,
            timeline: Timeline::default(),
            avg: Default::default(),
            removed: Default::default(),
            tg_load_avg_contrib: 0,
            last_update_tg_load_avg: 0,
            propagate: false,
            prop_runnable_sum: 0,
            h_load: 0,
            // Not yet computed in any jiffy.
            last_h_load_update: u64::MAX,
            h_load_next: None,
            bw: CfsRqBandwidth::default(),
        }
    }
}
