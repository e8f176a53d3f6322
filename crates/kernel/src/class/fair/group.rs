//! Group scheduling (CONFIG_FAIR_GROUP_SCHED, kernel/sched/fair.c and core.c): task groups
//! with one cfs_rq and one group entity per CPU, the group entity's weight from
//! `calc_group_shares`, `tg->load_avg`, the hierarchical load the balancer uses, and moving
//! a task between groups (`sched_move_task`).

use super::bandwidth::CfsBandwidth;
use super::entity::{CfsRq, CfsRqId, SchedEntity, SeId};
use super::{pelt, reweight_entity, FairState};
use crate::prio::{scale_load_down, LoadWeight, NICE_0_LOAD};
use crate::sched::Sched;
use crate::task::TaskId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TgId(pub u32);

/// `root_task_group`.
pub const ROOT_TG: TgId = TgId(0);

/// `MIN_SHARES` (unscaled, as the kernel clamps a group entity's weight with it).
pub const MIN_SHARES: u64 = 2;
/// `MAX_SHARES`.
pub const MAX_SHARES: u64 = 1 << 18;

/// `struct task_group`.
#[derive(Clone, Debug)]
pub struct TaskGroup {
    /// cgroup path (`/` for the root, `/autogroup-N` for an autogroup).
    pub path: String,
    pub parent: Option<TgId>,
    /// `tg->shares`, scaled (`scale_load`).
    pub shares: u64,
    /// `cpu.idle`: the group's entities count as SCHED_IDLE (`tg->idle`).
    pub idle: bool,
    /// `tg->load_avg`: the sum of the per-CPU queues' published contributions.
    pub load_avg: i64,
    /// `tg->cfs_rq[cpu]`.
    pub cfs_rq: Vec<CfsRqId>,
    /// `tg->se[cpu]`; none for the root group.
    pub se: Vec<Option<SeId>>,
    /// `tg->cfs_bandwidth`.
    pub cfs_b: CfsBandwidth,
    /// CPU time of the fair tasks whose cgroup this is (`cgroup_account_cputime`), ns.
    pub usage: u64,
    /// A session's autogroup, not a cgroup (`tg->autogroup`, `task_group_is_autogroup`).
    pub autogroup: bool,
}

impl FairState {
    pub fn tg(&self, g: TgId) -> &TaskGroup {
        &self.tg[g.0 as usize]
    }

    pub fn tg_mut(&mut self, g: TgId) -> &mut TaskGroup {
        &mut self.tg[g.0 as usize]
    }

    /// `parent_entity`.
    pub fn parent_entity(&self, se: SeId) -> Option<SeId> {
        self.se(se).parent
    }

    /// `cfs_rq_of`.
    pub fn cfs_rq_of(&self, se: SeId) -> CfsRqId {
        self.se(se).cfs_rq
    }

    /// `cfs_rq_is_idle`.
    pub fn cfs_rq_is_idle(&self, c: CfsRqId) -> bool {
        self.tg(self.cfs(c).tg).idle
    }

    /// The chain of entities from `se` up to the root cfs_rq (`for_each_sched_entity`).
    pub fn ancestors(&self, se: SeId) -> Vec<SeId> {
        let mut v = vec![se];
        let mut e = se;
        while let Some(p) = self.parent_entity(e) {
            v.push(p);
            e = p;
        }
        v
    }

    /// The root group, over the per-CPU root queues already created.
    pub fn init_root_group(&mut self, root_cfs: Vec<CfsRqId>) {
        let n = root_cfs.len();
        self.tg.push(TaskGroup {
            path: "/".into(),
            parent: None,
            shares: NICE_0_LOAD,
            idle: false,
            load_avg: 0,
            cfs_rq: root_cfs,
            se: vec![None; n],
            cfs_b: CfsBandwidth::default(),
            usage: 0,
            autogroup: false,
        });
    }

    /// `sched_create_group` → `alloc_fair_sched_group` → `init_tg_cfs_entry`: a queue and
    /// a group entity (weight NICE_0_LOAD, no load yet) per CPU.
    pub fn create_group(&mut self, path: &str, parent: TgId) -> TgId {
        let g = TgId(self.tg.len() as u32);
        let n = self.tg(parent).cfs_rq.len();
        let (mut cfs_rq, mut se) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for cpu in 0..n {
            let c = CfsRqId(self.cfs_rq.len() as u32);
            self.cfs_rq.push(CfsRq::new(cpu as u32, g));
            let pq = self.tg(parent).cfs_rq[cpu];
            let pse = self.tg(parent).se[cpu];
            let id = SeId(self.se.len() as u32);
            let mut e = SchedEntity::new(pq, None, LoadWeight::from_weight(NICE_0_LOAD));
            e.my_q = Some(c);
            e.parent = pse;
            e.depth = pse.map_or(0, |p| self.se(p).depth + 1);
            self.se.push(e);
            cfs_rq.push(c);
            se.push(Some(id));
        }
        self.tg.push(TaskGroup {
            path: path.into(),
            parent: Some(parent),
            shares: NICE_0_LOAD,
            idle: false,
            load_avg: 0,
            cfs_rq,
            se,
            cfs_b: CfsBandwidth::default(),
            usage: 0,
            autogroup: false,
        });
        g
    }

    /// The group whose cgroup path is `path`; autogroups, named `/autogroup-N` as the
    /// kernel's `autogroup_path` shows them, are not cgroups and never match.
    pub fn group_by_path(&self, path: &str) -> Option<TgId> {
        self.tg
            .iter()
            .position(|t| t.path == path && !t.autogroup)
            .map(|i| TgId(i as u32))
    }

    /// `throttled_hierarchy`: this queue or an ancestor is throttled.
    pub fn throttled_hierarchy(&self, c: CfsRqId) -> bool {
        self.cfs(c).bw.throttle_count > 0
    }
}

/// `se_is_idle`: a SCHED_IDLE task, or a group entity of an idle group.
pub fn se_is_idle(s: &Sched, se: SeId) -> bool {
    match s.fair.se(se).task {
        Some(p) => s.task(p).policy == schedsim_workload::Policy::Idle,
        None => s
            .fair
            .cfs_rq_is_idle(s.fair.se(se).my_q.expect("group entity")),
    }
}

/// `set_task_rq`: the task's entity belongs to its group's queue on `cpu`.
pub fn set_task_rq(s: &mut Sched, p: TaskId, cpu: u32) {
    let g = s.task(p).sched_task_group;
    let (c, parent) = (
        s.fair.tg(g).cfs_rq[cpu as usize],
        s.fair.tg(g).se[cpu as usize],
    );
    let depth = parent.map_or(0, |e| s.fair.se(e).depth + 1);
    let se = s.task(p).se;
    let e = s.fair.se_mut(se);
    e.cfs_rq = c;
    e.parent = parent;
    e.depth = depth;
}

/// `calc_group_shares`: the group's weight on this CPU in proportion to this queue's part
/// of the group's load (`tg->load_avg`, with this queue's own contribution taken fresh).
fn calc_group_shares(s: &Sched, c: CfsRqId) -> u64 {
    let cfs = s.fair.cfs(c);
    let tg_shares = s.fair.tg(cfs.tg).shares as i64;
    let load = (scale_load_down(cfs.load_weight) as i64).max(cfs.avg.load_avg as i64);
    let tg_weight = s.fair.tg(cfs.tg).load_avg - cfs.tg_load_avg_contrib + load;
    // 64-bit arithmetic that wraps as the kernel's `long` does (a task's load can be
    // inflated far past its weight, see `attach_entity_load_avg`).
    let mut shares = tg_shares.wrapping_mul(load);
    if tg_weight != 0 {
        shares /= tg_weight;
    }
    shares.clamp(MIN_SHARES as i64, tg_shares) as u64
}

/// `update_cfs_group`: reweight a group entity from its queue, unless the queue is empty
/// (the weight is kept, which matters for delayed dequeue) or throttled.
pub fn update_cfs_group(s: &mut Sched, se: SeId) {
    let Some(gq) = s.fair.se(se).my_q else {
        return;
    };
    if s.fair.cfs(gq).load_weight == 0 || s.fair.throttled_hierarchy(gq) {
        return;
    }
    let shares = calc_group_shares(s, gq);
    if s.fair.se(se).load.weight != shares {
        let c = s.fair.cfs_rq_of(se);
        reweight_entity(s, c, se, shares);
    }
}

/// `se_update_runnable`: a group entity is as runnable as its queue's runnable tasks.
pub fn se_update_runnable(s: &mut Sched, se: SeId) {
    if let Some(gq) = s.fair.se(se).my_q {
        let n = s.fair.cfs(gq).h_nr_runnable;
        s.fair.se_mut(se).runnable_weight = n;
    }
}

/// `update_tg_load_avg`: publish this queue's load into `tg->load_avg` when it moved by
/// more than 1/64 of the last published value, at most once per ms; never for the root.
pub fn update_tg_load_avg(s: &mut Sched, c: CfsRqId) {
    let cfs = s.fair.cfs(c);
    if cfs.tg == super::group::ROOT_TG {
        return;
    }
    let now = s.rq(cfs.cpu).clock;
    if now.saturating_sub(cfs.last_update_tg_load_avg) < 1_000_000 {
        return;
    }
    let delta = cfs.avg.load_avg as i64 - cfs.tg_load_avg_contrib;
    if delta.abs() > cfs.tg_load_avg_contrib / 64 {
        let g = cfs.tg;
        s.fair.tg_mut(g).load_avg += delta;
        let cfs = s.fair.cfs_mut(c);
        cfs.tg_load_avg_contrib = cfs.avg.load_avg as i64;
        cfs.last_update_tg_load_avg = now;
    }
}

/// `update_cfs_rq_h_load`: top-down hierarchical load of the queues on the path to `c`,
/// at most once per jiffy.
fn update_cfs_rq_h_load(s: &mut Sched, c: CfsRqId) {
    let now = s.jiffies();
    if s.fair.cfs(c).last_h_load_update == now {
        return;
    }
    s.fair.cfs_mut(c).h_load_next = None;
    let cpu = s.fair.cfs(c).cpu as usize;
    let mut se = s.fair.tg(s.fair.cfs(c).tg).se[cpu];
    let mut q = c;
    while let Some(e) = se {
        q = s.fair.cfs_rq_of(e);
        s.fair.cfs_mut(q).h_load_next = Some(e);
        if s.fair.cfs(q).last_h_load_update == now {
            break;
        }
        se = s.fair.parent_entity(e);
    }
    if se.is_none() {
        let cfs = s.fair.cfs_mut(q);
        cfs.h_load = cfs.avg.load_avg;
        cfs.last_h_load_update = now;
    }
    while let Some(e) = s.fair.cfs(q).h_load_next {
        let cfs = s.fair.cfs(q);
        let load = cfs.h_load * s.fair.se(e).avg.load_avg / (cfs.avg.load_avg + 1);
        q = s.fair.se(e).my_q.expect("group entity");
        let g = s.fair.cfs_mut(q);
        g.h_load = load;
        g.last_h_load_update = now;
    }
}

/// The first half of `task_h_load`: bring the cached hierarchical loads on the task's
/// path up to date for this jiffy. Callers run it before the reads of one decision (no
/// time passes within one), which is where the kernel's first read would run it.
pub fn update_task_h_load(s: &mut Sched, p: TaskId) {
    let c = s.fair.cfs_rq_of(s.task(p).se);
    update_cfs_rq_h_load(s, c);
}

/// `task_h_load`: the task's share of its CPU's root load through the hierarchy, from the
/// cached `h_load` (see `update_task_h_load`).
pub fn task_h_load(s: &Sched, p: TaskId) -> u64 {
    let se = s.task(p).se;
    let c = s.fair.cfs_rq_of(se);
    let cfs = s.fair.cfs(c);
    s.fair.se(se).avg.load_avg.wrapping_mul(cfs.h_load) / cfs.avg.load_avg.wrapping_add(1)
}

/// `propagate_entity_cfs_rq`: after an attach or detach below, bring the ancestors' PELT
/// up to date so the change reaches the root.
pub fn propagate_entity_cfs_rq(s: &mut Sched, se: SeId) {
    let c = s.fair.cfs_rq_of(se);
    if s.fair.cfs(c).bw.throttled {
        return;
    }
    let mut e = s.fair.parent_entity(se);
    while let Some(g) = e {
        let c = s.fair.cfs_rq_of(g);
        pelt::update_load_avg(s, c, g, pelt::UPDATE_TG);
        if s.fair.cfs(c).bw.throttled {
            break;
        }
        e = s.fair.parent_entity(g);
    }
}

/// `sched_create_group` + `sched_online_group`: a new group under `parent`, its bandwidth
/// initialised (`init_cfs_bandwidth`) and its entities attached.
pub fn sched_create_group(s: &mut Sched, path: &str, parent: TgId) -> TgId {
    let g = s.fair.create_group(path, parent);
    super::bandwidth::init_cfs_bandwidth(s, g);
    online_fair_sched_group(s, g);
    g
}

/// `online_fair_sched_group`: when a group comes online each CPU's group entity joins its
/// parent's queue (`attach_entity_cfs_rq`, with ATTACH_AGE_LOAD), empty. Its first enqueue
/// then finds it attached and only takes over its queue's averages; attaching it there
/// instead would add the propagated util and load to the parent twice.
fn online_fair_sched_group(s: &mut Sched, g: TgId) {
    for cpu in 0..s.nr_cpus() {
        let Some(se) = s.fair.tg(g).se[cpu as usize] else {
            continue;
        };
        s.update_rq_clock(cpu);
        let c = s.fair.cfs_rq_of(se);
        pelt::update_load_avg(s, c, se, 0);
        pelt::attach_entity_load_avg(s, c, se);
        update_tg_load_avg(s, c);
        propagate_entity_cfs_rq(s, se);
    }
}

/// `task_change_group_fair`: the task's load leaves the old group's queue and joins the
/// new one's (`detach_task_cfs_rq`, `set_task_rq`, `attach_task_cfs_rq`).
pub fn task_change_group_fair(s: &mut Sched, p: TaskId, to: TgId) {
    let se = s.task(p).se;
    let cpu = s.task(p).cpu;
    let attached = s.task(p).state != crate::task::tstate::NEW;
    if attached && s.fair.se(se).avg.last_update_time != 0 {
        let c = s.fair.cfs_rq_of(se);
        pelt::update_load_avg(s, c, se, pelt::DO_DETACH);
        update_tg_load_avg(s, c);
        propagate_entity_cfs_rq(s, se);
    }
    s.task_mut(p).sched_task_group = to;
    set_task_rq(s, p, cpu);
    if !attached {
        return;
    }
    s.fair.se_mut(se).avg.last_update_time = 0;
    let c = s.fair.cfs_rq_of(se);
    pelt::update_load_avg(s, c, se, pelt::DO_ATTACH);
    update_tg_load_avg(s, c);
    propagate_entity_cfs_rq(s, se);
}

/// `__update_blocked_fair`: decay every queue of this CPU, children before parents, and
/// carry the change into the group entities.
pub fn update_blocked_fair(s: &mut Sched, cpu: u32) {
    let now = pelt::rq_clock_pelt(s, cpu);
    for g in (0..s.fair.tg.len()).rev() {
        let c = s.fair.tg[g].cfs_rq[cpu as usize];
        if pelt::update_cfs_rq_load_avg(s, now, c) {
            update_tg_load_avg(s, c);
        }
        if let Some(se) = s.fair.tg[g].se[cpu as usize].filter(|&se| !skip_blocked_update(s, se)) {
            let pc = s.fair.cfs_rq_of(se);
            pelt::update_load_avg(s, pc, se, pelt::UPDATE_TG);
        }
    }
}

/// `skip_blocked_update`: a group entity with no load left and nothing to propagate.
fn skip_blocked_update(s: &Sched, se: SeId) -> bool {
    let a = &s.fair.se(se).avg;
    let gq = s.fair.se(se).my_q.expect("group entity");
    a.load_avg == 0 && a.util_avg == 0 && !s.fair.cfs(gq).propagate
}

/// `__sched_group_set_shares` at set-up: a scaled weight clamped to the kernel's range.
pub fn set_shares(s: &mut Sched, g: TgId, shares: u64) {
    s.fair.tg_mut(g).shares = shares.clamp(MIN_SHARES << 10, MAX_SHARES << 10);
}
