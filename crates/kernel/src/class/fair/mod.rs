//! The fair class: EEVDF as in Linux 6.18 (kernel/sched/fair.c). `eevdf.rs` holds the
//! per-cfs_rq arithmetic, `tree.rs` the augmented timeline; this file the class operations.
//!
//! Group scheduling (`group.rs`) makes the queues a hierarchy: a task entity is queued on
//! its group's cfs_rq for its CPU, whose group entity is queued one level up, up to the
//! CPU's root cfs_rq; every level runs EEVDF on its own.

pub mod balance;
pub mod bandwidth;
pub mod eevdf;
pub mod entity;
pub mod group;
pub mod pelt;
pub mod placement;
pub mod tree;
pub mod vcpu_pack;

use schedsim_workload::Policy;

use crate::class::{dequeue, enqueue, wf, ClassId, SchedClass};
use crate::prio::{calc_delta_fair, LoadWeight};
use crate::sched::Sched;
use crate::task::{OnRq, TaskId};

use entity::{CfsRq, CfsRqId, SchedEntity, SeId};
use tree::vtime_before;

/// `normalized_sysctl_sched_base_slice`: the unscaled 0.7 ms.
pub const NORMALIZED_BASE_SLICE: u64 = 700_000;

/// The fair class's arenas: every sched_entity and every cfs_rq.
#[derive(Clone, Debug, Default)]
pub struct FairState {
    pub se: Vec<SchedEntity>,
    pub cfs_rq: Vec<CfsRq>,
    /// Task groups; the root group is `group::ROOT_TG`.
    pub tg: Vec<group::TaskGroup>,
    /// The launcher session's autogroup (`autogroup-1`), when autogroup is enabled.
    pub autogroup: Option<group::TgId>,
    /// `autogroup_seq_nr`: autogroups created so far; the next is `autogroup-<this + 1>`.
    pub autogroup_seq_nr: u32,
    /// `nohz.next_balance` (jiffies).
    pub nohz_next_balance: u64,
    /// CPUs whose tick at this instant left work for irq exit (`balance::run_tick_softirqs`).
    pub tick_softirq_cpus: Vec<u32>,
    /// Those ticks' interrupts have exited without the cost model: their softirqs run at
    /// once after the ticks (with it each CPU's at its `TickSoftirq` event,
    /// docs/cost-model.md).
    pub tick_softirq_ready: bool,
}

pub struct FairClass;

fn se_of(s: &Sched, p: TaskId) -> SeId {
    s.task(p).se
}

fn cfs_of(s: &Sched, se: SeId) -> CfsRqId {
    s.fair.se(se).cfs_rq
}

/// `update_curr`: charge the running entity, renew its deadline when the request is used
/// up, and reschedule when the slice ended or its protection lapsed.
pub fn update_curr(s: &mut Sched, c: CfsRqId) {
    let Some(curr) = s.fair.cfs(c).curr else {
        return;
    };
    let cpu = s.fair.cfs(c).cpu;
    let now = s.rq(cpu).clock_task;
    let e = s.fair.se_mut(curr);
    let delta = now as i64 - e.exec_start as i64;
    if delta <= 0 {
        return;
    }
    let delta = delta as u64;
    e.exec_start = now;
    e.sum_exec_runtime += delta;
    e.vruntime = e.vruntime.wrapping_add(calc_delta_fair(delta, &e.load));
    if let Some(p) = e.task {
        // update_curr_task → cgroup_account_cputime.
        let g = s.task(p).cgroup;
        s.fair.tg_mut(g).usage += delta;
    }
    let base = s.cfg.base_slice();
    let resched = s.fair.update_deadline(c, curr, base);
    bandwidth::account_cfs_rq_runtime(s, c, delta);
    if s.fair.cfs(c).nr_queued == 1 {
        return;
    }
    if resched || !s.fair.protect_slice(curr) {
        s.resched_curr_lazy(cpu);
        clear_buddies(s, c, curr);
    }
}

/// `clear_buddies` → `__clear_buddies_next`: the next-buddy marks on the way up.
fn clear_buddies(s: &mut Sched, c: CfsRqId, se: SeId) {
    if s.fair.cfs(c).next != Some(se) {
        return;
    }
    for e in s.fair.ancestors(se) {
        let q = s.fair.cfs_rq_of(e);
        if s.fair.cfs(q).next != Some(e) {
            break;
        }
        s.fair.cfs_mut(q).next = None;
    }
}

/// `set_next_buddy`: prefer this entity's branch at the next pick on every level.
fn set_next_buddy(s: &mut Sched, se: SeId) {
    for e in s.fair.ancestors(se) {
        if group::se_is_idle(s, e) {
            return;
        }
        let q = s.fair.cfs_rq_of(e);
        s.fair.cfs_mut(q).next = Some(e);
    }
}

/// `set_preempt_buddy` (NEXT_BUDDY): the wakee becomes the next buddy unless the current
/// one has an earlier deadline.
fn set_preempt_buddy(s: &mut Sched, c: CfsRqId, pse: SeId) -> bool {
    if let Some(n) = s.fair.cfs(c).next {
        if vtime_before(s.fair.se(n).deadline, s.fair.se(pse).deadline) {
            return false;
        }
    }
    set_next_buddy(s, pse);
    true
}

/// `preempt_sync` (NEXT_BUDDY, WF_SYNC): the waker says it will sleep, so an earlier wakee
/// preempts once the waker has run `migration_cost` (a quarter of it when the wakee's CPU
/// was chosen for it) since `exec_start`.
fn preempt_sync(s: &Sched, cpu: u32, wake_flags: u32, pse: SeId, se: SeId) -> bool {
    let mut threshold = s.cfg.migration_cost_ns;
    let delta = s
        .rq(cpu)
        .clock_task
        .saturating_sub(s.fair.se(se).exec_start);
    if wake_flags & wf::RQ_SELECTED != 0 {
        threshold >>= 2;
    }
    vtime_before(s.fair.se(pse).deadline, s.fair.se(se).deadline) && delta >= threshold
}

/// `set_delayed` / `clear_delayed`: a delayed task stops (or starts again) counting as
/// runnable on every level above it.
fn set_delayed(s: &mut Sched, se: SeId, delayed: bool) {
    s.fair.se_mut(se).sched_delayed = delayed;
    let Some(p) = s.fair.se(se).task else {
        return;
    };
    for e in s.fair.ancestors(se) {
        let q = s.fair.cfs_rq_of(e);
        let cfs = s.fair.cfs_mut(q);
        if delayed {
            cfs.h_nr_runnable -= 1;
        } else {
            cfs.h_nr_runnable += 1;
        }
    }
    let cpu = s.task(p).cpu;
    s.note_wasted_idle(cpu);
}

fn is_idle_policy(s: &Sched, p: TaskId) -> bool {
    s.task(p).policy == Policy::Idle
}

/// `enqueue_entity`.
fn enqueue_entity(s: &mut Sched, c: CfsRqId, se: SeId, flags: u32) {
    let is_curr = s.fair.cfs(c).curr == Some(se);
    let pflags = if flags & enqueue::INITIAL != 0 {
        eevdf::PLACE_INITIAL
    } else {
        0
    };
    let (feat, base) = (s.cfg.features, s.cfg.base_slice());
    if is_curr {
        s.fair.place_entity(c, se, pflags, &feat, base);
    }
    update_curr(s, c);
    pelt::update_load_avg(s, c, se, pelt::UPDATE_TG | pelt::DO_ATTACH);
    group::se_update_runnable(s, se);
    group::update_cfs_group(s, se);
    if !is_curr {
        s.fair.place_entity(c, se, pflags, &feat, base);
    }
    let w = s.fair.se(se).load.weight;
    let cfs = s.fair.cfs_mut(c);
    cfs.load_weight += w;
    cfs.nr_queued += 1;
    // account_entity_enqueue: the task joins the head of rq->cfs_tasks.
    if let Some(p) = s.fair.se(se).task {
        let cpu = s.fair.cfs(c).cpu;
        s.rq_mut(cpu).smp.cfs_tasks.push_front(p);
    }
    if flags & enqueue::MIGRATED != 0 {
        s.fair.se_mut(se).exec_start = 0;
    }
    if !is_curr {
        s.fair.enqueue_tree(c, se);
    }
    s.fair.se_mut(se).on_rq = true;
    if s.fair.cfs(c).nr_queued == 1 {
        bandwidth::check_enqueue_throttle(s, c);
    }
}

/// `dequeue_entity`: returns false when the entity is kept queued as delayed.
fn dequeue_entity(s: &mut Sched, c: CfsRqId, se: SeId, flags: u32) -> bool {
    let sleep = flags & dequeue::SLEEP != 0;
    update_curr(s, c);
    clear_buddies(s, c, se);
    if flags & dequeue::DELAYED == 0 {
        // Special task states and bandwidth throttling must not suffer spurious wakeups.
        let delay = sleep && flags & (dequeue::SPECIAL | dequeue::THROTTLE) == 0;
        if s.cfg.features.delay_dequeue && delay && !s.fair.entity_eligible(c, se) {
            pelt::update_load_avg(s, c, se, 0);
            // Stays in the tree and the sums until picked or woken.
            set_delayed(s, se, true);
            return false;
        }
    }
    // A queued task leaving for another CPU takes its load with it (DO_DETACH).
    let action = if flags & dequeue::MIGRATING != 0 && s.fair.se(se).task.is_some() {
        pelt::UPDATE_TG | pelt::DO_DETACH
    } else {
        pelt::UPDATE_TG
    };
    pelt::update_load_avg(s, c, se, action);
    group::se_update_runnable(s, se);
    let tick = s.cfg.tick_nsec();
    s.fair.update_entity_lag(c, se, tick);
    // The kernel makes the deadline relative before __dequeue_entity; the rbtree erase
    // does not compare keys, but our treap's removal does, so leave the tree first.
    if s.fair.cfs(c).curr != Some(se) {
        s.fair.dequeue_tree(c, se);
    }
    if s.cfg.features.place_rel_deadline && !sleep {
        let e = s.fair.se_mut(se);
        e.deadline = e.deadline.wrapping_sub(e.vruntime);
        e.rel_deadline = true;
    }
    let w = s.fair.se(se).load.weight;
    s.fair.se_mut(se).on_rq = false;
    let cfs = s.fair.cfs_mut(c);
    cfs.load_weight -= w;
    cfs.nr_queued -= 1;
    if let Some(p) = s.fair.se(se).task {
        let cpu = s.fair.cfs(c).cpu;
        s.rq_mut(cpu).smp.cfs_tasks.retain(|&x| x != p);
    }
    bandwidth::return_cfs_rq_runtime(s, c);
    group::update_cfs_group(s, se);
    if flags & dequeue::DELAYED != 0 {
        // finish_delayed_dequeue_entity
        set_delayed(s, se, false);
        let e = s.fair.se_mut(se);
        if s.cfg.features.delay_zero && e.vlag > 0 {
            e.vlag = 0;
        }
    }
    true
}

/// The per-level counts a task contributes to every queue above it (`h_nr_queued`,
/// `h_nr_runnable`, `h_nr_idle`), as enqueue and dequeue carry them up.
#[derive(Clone, Copy)]
struct HCounts {
    queued: u32,
    runnable: u32,
    idle: u32,
}

impl HCounts {
    fn add(self, s: &mut Sched, c: CfsRqId, sign: i32) -> HCounts {
        let cfs = s.fair.cfs_mut(c);
        let f = |v: &mut u32, d: u32| *v = (*v as i64 + sign as i64 * d as i64) as u32;
        f(&mut cfs.h_nr_queued, self.queued);
        f(&mut cfs.h_nr_runnable, self.runnable);
        f(&mut cfs.h_nr_idle, self.idle);
        // An idle group makes everything below it count as idle above it.
        if s.fair.cfs_rq_is_idle(c) {
            HCounts {
                idle: self.queued,
                ..self
            }
        } else {
            self
        }
    }
}

/// The second half of `enqueue_task_fair`/`dequeue_entities`: the levels above the one
/// where the walk stopped keep their entity queued but update its load, weight, slice and
/// counts.
fn update_ancestors(s: &mut Sched, mut se: Option<SeId>, mut slice: u64, h: HCounts, sign: i32) {
    let mut h = h;
    while let Some(e) = se {
        let c = s.fair.cfs_rq_of(e);
        pelt::update_load_avg(s, c, e, pelt::UPDATE_TG);
        group::se_update_runnable(s, e);
        group::update_cfs_group(s, e);
        set_slice(s, c, e, slice);
        slice = s.fair.cfs_rq_min_slice(c);
        h = h.add(s, c, sign);
        se = s.fair.parent_entity(e);
    }
}

/// A group entity's slice is its queue's smallest (`se->slice = slice` and
/// `min_vruntime_cb_propagate`).
fn set_slice(s: &mut Sched, c: CfsRqId, se: SeId, slice: u64) {
    if s.fair.se(se).slice == slice {
        return;
    }
    let in_tree = s.fair.se(se).on_rq && s.fair.cfs(c).curr != Some(se);
    if in_tree {
        s.fair.dequeue_tree(c, se);
    }
    s.fair.se_mut(se).slice = slice;
    if in_tree {
        s.fair.enqueue_tree(c, se);
    }
}

/// `dequeue_entities`: false when the task's dequeue was delayed.
fn dequeue_entities(s: &mut Sched, cpu: u32, se0: SeId, flags: u32) -> bool {
    let task = s.fair.se(se0).task;
    let task_sleep = flags & dequeue::SLEEP != 0;
    let task_delayed = flags & dequeue::DELAYED != 0;
    let mut h = HCounts {
        queued: 0,
        runnable: 0,
        idle: 0,
    };
    let mut slice = 0;
    if let Some(p) = task {
        h.queued = 1;
        h.idle = is_idle_policy(s, p) as u32;
        if task_sleep || task_delayed || !s.fair.se(se0).sched_delayed {
            h.runnable = 1;
        }
    } else {
        slice = s
            .fair
            .cfs_rq_min_slice(s.fair.se(se0).my_q.expect("group entity"));
    }
    let mut flags = flags;
    let mut se = Some(se0);
    while let Some(e) = se {
        let c = s.fair.cfs_rq_of(e);
        if !dequeue_entity(s, c, e, flags) {
            if task.is_some() && e == se0 {
                return false;
            }
            slice = s.fair.cfs_rq_min_slice(c);
            break;
        }
        h = h.add(s, c, -1);
        // Don't dequeue the parent while it has other entities besides us.
        if s.fair.cfs(c).load_weight != 0 {
            slice = s.fair.cfs_rq_min_slice(c);
            se = s.fair.parent_entity(e);
            if let Some(pe) = se.filter(|_| task_sleep) {
                set_next_buddy(s, pe);
            }
            break;
        }
        flags |= dequeue::SLEEP;
        flags &= !(dequeue::DELAYED | dequeue::SPECIAL);
        se = s.fair.parent_entity(e);
    }
    update_ancestors(s, se, slice, h, -1);
    s.add_nr_running(cpu, -(h.queued as i32));
    if let Some(p) = task.filter(|_| task_delayed) {
        // __block_task: the delayed sleeper finally leaves.
        s.task_mut(p).on_rq = OnRq::No;
    }
    true
}

/// `requeue_delayed_entity`: a delayed entity is woken where it is.
fn requeue_delayed_entity(s: &mut Sched, se: SeId) {
    let c = cfs_of(s, se);
    if s.cfg.features.delay_zero {
        let tick = s.cfg.tick_nsec();
        s.fair.update_entity_lag(c, se, tick);
        if s.fair.se(se).vlag > 0 {
            let is_curr = s.fair.cfs(c).curr == Some(se);
            s.fair.cfs_mut(c).nr_queued -= 1;
            if !is_curr {
                s.fair.dequeue_tree(c, se);
            }
            s.fair.se_mut(se).vlag = 0;
            let (feat, base) = (s.cfg.features, s.cfg.base_slice());
            s.fair.place_entity(c, se, 0, &feat, base);
            if !is_curr {
                s.fair.enqueue_tree(c, se);
            }
            s.fair.cfs_mut(c).nr_queued += 1;
        }
    }
    pelt::update_load_avg(s, c, se, 0);
    set_delayed(s, se, false);
}

/// `pick_next_entity(rq, cfs_rq, protect)` (6.18.33+): EEVDF's pick; a delayed pick is
/// dequeued for good and the caller picks again (None). The wakeup-preemption test uses it
/// too, so a delayed entity it meets leaves the queue there.
fn pick_next_entity(s: &mut Sched, cpu: u32, c: CfsRqId, protect: bool) -> Option<SeId> {
    let se = s.fair.pick_eevdf(c, protect, s.cfg.features.pick_buddy)?;
    if s.fair.se(se).sched_delayed {
        dequeue_entities(s, cpu, se, dequeue::SLEEP | dequeue::DELAYED);
        return None;
    }
    Some(se)
}

/// `put_prev_entity`: curr goes back into its tree.
fn put_prev_entity(s: &mut Sched, c: CfsRqId, se: SeId) {
    if s.fair.se(se).on_rq {
        update_curr(s, c);
    }
    bandwidth::check_cfs_rq_runtime(s, c);
    if s.fair.se(se).on_rq {
        s.fair.enqueue_tree(c, se);
        pelt::update_load_avg(s, c, se, 0);
    }
    s.fair.cfs_mut(c).curr = None;
}

/// `set_next_entity(cfs_rq, se, first)`: curr leaves the tree and its clock starts. Its slice
/// is protected only when it is picked (`first`, 6.18.17+), not when a sched_change
/// (`put_prev_task` + `set_next_task`) sets the running task again.
fn set_next_entity(s: &mut Sched, c: CfsRqId, se: SeId, first: bool) {
    clear_buddies(s, c, se);
    if s.fair.se(se).on_rq {
        s.fair.dequeue_tree(c, se);
        pelt::update_load_avg(s, c, se, pelt::UPDATE_TG);
        if first {
            let feat = s.cfg.features;
            s.fair.set_protect_slice(c, se, &feat);
        }
    }
    let now = s.rq(s.fair.cfs(c).cpu).clock_task;
    let e = s.fair.se_mut(se);
    e.exec_start = now;
    e.prev_sum_exec_runtime = e.sum_exec_runtime;
    s.fair.cfs_mut(c).curr = Some(se);
}

/// `find_matching_se`: walk both entities up to siblings on one cfs_rq.
fn find_matching_se(s: &Sched, mut se: SeId, mut pse: SeId) -> (SeId, SeId) {
    let up = |e: SeId| s.fair.parent_entity(e).expect("a common root cfs_rq");
    while s.fair.se(se).depth > s.fair.se(pse).depth {
        se = up(se);
    }
    while s.fair.se(pse).depth > s.fair.se(se).depth {
        pse = up(pse);
    }
    while s.fair.cfs_rq_of(se) != s.fair.cfs_rq_of(pse) {
        se = up(se);
        pse = up(pse);
    }
    (se, pse)
}

/// `reweight_entity` (6.13+): scale the lag and the relative deadline to the new weight,
/// then place again.
pub fn reweight_entity(s: &mut Sched, c: CfsRqId, se: SeId, weight: u64) {
    let on_rq = s.fair.se(se).on_rq;
    let is_curr = s.fair.cfs(c).curr == Some(se);
    let tick = s.cfg.tick_nsec();
    if on_rq {
        update_curr(s, c);
    }
    // 6.18.17 (ff38424030f9): a protected curr keeps its protection, scaled like the
    // relative deadline; an unprotected one gets the lag in vprot's storage.
    let rel_vprot = (is_curr && on_rq && s.fair.protect_slice(se)).then(|| {
        let e = s.fair.se(se);
        e.vprot().wrapping_sub(e.vruntime) as i64
    });
    pelt::reweight_begin(s, se);
    if on_rq {
        s.fair.update_entity_lag(c, se, tick);
        // Leave the tree before the key (the deadline) is made relative: the treap's
        // removal compares keys, the kernel's rb_erase does not.
        if !is_curr {
            s.fair.dequeue_tree(c, se);
        }
        let e = s.fair.se_mut(se);
        e.deadline = e.deadline.wrapping_sub(e.vruntime);
        e.rel_deadline = true;
        s.fair.cfs_mut(c).nr_queued -= 1;
        let w = s.fair.se(se).load.weight;
        s.fair.cfs_mut(c).load_weight -= w;
    }
    let e = s.fair.se_mut(se);
    let (old, new) = (e.load.weight as i64, weight as i64);
    e.vlag = e.vlag.wrapping_mul(old) / new;
    if e.rel_deadline {
        e.deadline = ((e.deadline as i64).wrapping_mul(old) / new) as u64;
    }
    // update_load_set clears inv_weight, so placement below divides by the weight itself,
    // as the kernel does.
    e.load = LoadWeight::from_weight(weight);
    if on_rq {
        s.fair.cfs_mut(c).load_weight += weight;
        let (feat, base) = (s.cfg.features, s.cfg.base_slice());
        s.fair.place_entity(c, se, 0, &feat, base);
        if let Some(rel) = rel_vprot {
            let e = s.fair.se_mut(se);
            let v = e
                .vruntime
                .wrapping_add((rel.wrapping_mul(old) / new) as u64);
            e.set_vprot(v);
        }
        if !is_curr {
            s.fair.enqueue_tree(c, se);
        }
        s.fair.cfs_mut(c).nr_queued += 1;
    }
    pelt::reweight_end(s, se);
}

impl SchedClass for FairClass {
    /// `enqueue_task_fair`.
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
        let se = se_of(s, p);
        if bandwidth::enqueue_throttled_task(s, cpu, p) {
            return;
        }
        let migrating = flags & (enqueue::MIGRATING | enqueue::MIGRATED) != 0;
        if !(s.fair.se(se).sched_delayed && (migrating || flags & enqueue::RESTORE != 0)) {
            pelt::util_est_enqueue(s, cpu, p);
        }
        if flags & enqueue::WAKEUP != 0 {
            balance::note_wakeup(s, cpu);
        }
        if flags & enqueue::INITIAL != 0 && s.fair.se(se).avg.last_update_time == 0 {
            // init_entity_runnable_average + post_init_entity_util_avg, against the
            // task's own queue.
            group::set_task_rq(s, p, cpu);
            let c = cfs_of(s, se);
            pelt::init_new_task_avg(s, c, se);
        }
        if flags & enqueue::DELAYED != 0 {
            requeue_delayed_entity(s, se);
            return;
        }
        let task_new = flags & enqueue::WAKEUP == 0;
        let mut h = HCounts {
            queued: 1,
            runnable: !(task_new && s.fair.se(se).sched_delayed) as u32,
            idle: is_idle_policy(s, p) as u32,
        };
        group::set_task_rq(s, p, cpu);
        let mut flags = flags;
        let mut slice = 0;
        let mut next = Some(se);
        while let Some(e) = next {
            if s.fair.se(e).on_rq {
                if s.fair.se(e).sched_delayed {
                    requeue_delayed_entity(s, e);
                }
                break;
            }
            let c = s.fair.cfs_rq_of(e);
            // A group entity serves its queue in the time of its shortest slice.
            if slice != 0 {
                let g = s.fair.se_mut(e);
                g.slice = slice;
                g.custom_slice = true;
            }
            enqueue_entity(s, c, e, flags);
            slice = s.fair.cfs_rq_min_slice(c);
            h = h.add(s, c, 1);
            flags = enqueue::WAKEUP;
            next = s.fair.parent_entity(e);
        }
        update_ancestors(s, next, slice, h, 1);
        s.add_nr_running(cpu, 1);
    }

    /// `dequeue_task_fair`.
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) -> bool {
        if s.task(p).throttled {
            bandwidth::dequeue_throttled_task(s, p, flags);
            return true;
        }
        let migrating = flags & dequeue::MIGRATING != 0;
        if !(s.fair.se(se_of(s, p)).sched_delayed && (migrating || flags & dequeue::SAVE != 0)) {
            pelt::util_est_dequeue(s, cpu, p);
        }
        pelt::util_est_update(s, cpu, p, flags & dequeue::SLEEP != 0);
        dequeue_entities(s, cpu, se_of(s, p), flags)
    }

    /// `balance_fair`: with no fair task queued, try to pull one (`sched_balance_newidle`).
    fn balance(&self, s: &mut Sched, cpu: u32, _prev: TaskId) -> bool {
        let c = s.rq(cpu).cfs;
        if s.fair.cfs(c).h_nr_runnable == 0 && s.fair.cfs(c).nr_queued > 0 {
            // pick_next_task_fair: picking a delayed entity dequeues it; with only delayed
            // entities queued the pick comes up empty and newidle balancing follows.
            if self.pick_task(s, cpu).is_some() {
                return true;
            }
        }
        if s.fair.cfs(c).nr_queued > 0 {
            return true;
        }
        balance::sched_balance_newidle(s, cpu) != 0
    }

    /// `yield_task_fair` (6.18): an eligible task forfeits the rest of its request.
    fn yield_task(&self, s: &mut Sched, cpu: u32) {
        if s.rq(cpu).nr_running == 1 {
            return;
        }
        let curr = s.curr(cpu);
        let se = se_of(s, curr);
        let c = cfs_of(s, se);
        clear_buddies(s, c, se);
        update_curr(s, c);
        if s.fair.entity_eligible(c, se) {
            let e = s.fair.se_mut(se);
            e.vruntime = e.deadline;
            let base = s.cfg.base_slice();
            s.fair.update_deadline(c, se, base);
        }
    }

    /// `check_preempt_wakeup_fair` in its 6.18.33+ form (e837456fdca8 with ac8e69e69363,
    /// 9f6d929ee2c6 and the revert 15257cc2f905; docs/kernel-version.md), compared on the level where
    /// the two tasks' branches meet. A shorter-slice wakee ignores curr's slice protection;
    /// otherwise a forked child or a delayed wakee never preempts. The pick dequeues any
    /// delayed entity it meets and retries while the queue is not empty; a wakeup that does
    /// not preempt shrinks curr's protection to the smallest queued slice.
    fn wakeup_preempt(&self, s: &mut Sched, cpu: u32, p: TaskId, wake_flags: u32) {
        let curr = s.curr(cpu);
        let (se, pse) = (se_of(s, curr), se_of(s, p));
        if se == pse || s.fair.throttled_hierarchy(cfs_of(s, pse)) {
            return;
        }
        if s.rq(cpu).need_resched || !s.cfg.features.wakeup_preemption {
            return;
        }
        let (se, pse) = find_matching_se(s, se, pse);
        let c = cfs_of(s, se);
        let (cse_idle, pse_idle) = (group::se_is_idle(s, se), group::se_is_idle(s, pse));
        // PREEMPT_WAKEUP_SHORT: preempt past curr's slice protection, and cancel it.
        let short = if cse_idle && !pse_idle {
            true
        } else {
            if cse_idle != pse_idle || !matches!(s.task(p).policy, Policy::Normal | Policy::Ext) {
                return;
            }
            update_curr(s, c);
            let short = s.cfg.features.preempt_short && s.fair.se(pse).slice < s.fair.se(se).slice;
            if !short && (wake_flags & wf::FORK != 0 || s.fair.se(pse).sched_delayed) {
                return;
            }
            // NEXT_BUDDY: a WF_SYNC wakee that became the buddy is decided by preempt_sync.
            if !short
                && s.cfg.features.next_buddy
                && set_preempt_buddy(s, c, pse)
                && wake_flags & wf::SYNC != 0
            {
                if preempt_sync(s, cpu, wake_flags, pse, se) {
                    s.resched_curr_lazy(cpu);
                }
                return;
            }
            loop {
                match pick_next_entity(s, cpu, c, !short) {
                    Some(n) if n == pse => break,
                    None if s.fair.cfs(c).nr_queued > 0 => continue,
                    _ => {
                        if s.cfg.features.run_to_parity {
                            s.fair.update_protect_slice(c, se);
                        }
                        return;
                    }
                }
            }
            short
        };
        if short {
            s.fair.cancel_protect_slice(se);
        }
        s.resched_curr_lazy(cpu);
    }

    /// `pick_task_fair` (6.18): EEVDF on each level from the root down to a task.
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        'again: loop {
            let mut c = s.rq(cpu).cfs;
            if s.fair.cfs(c).nr_queued == 0 {
                return None;
            }
            loop {
                if let Some(cur) = s.fair.cfs(c).curr {
                    if s.fair.se(cur).on_rq {
                        update_curr(s, c);
                    }
                }
                // 6.18: a throttled queue stays queued; the task picked below it leaves
                // for the limbo list on its return to user space (`return_to_user`).
                bandwidth::check_cfs_rq_runtime(s, c);
                let Some(se) = pick_next_entity(s, cpu, c, true) else {
                    continue 'again;
                };
                match s.fair.se(se).my_q {
                    Some(q) => c = q,
                    None => return s.fair.se(se).task,
                }
            }
        }
    }

    /// `put_prev_task_fair` → `put_prev_entity` on each level. When the next task is fair
    /// too, the levels it shares with prev stay current (`pick_next_task_fair`'s walk to
    /// the common cfs_rq).
    fn put_prev_task(&self, s: &mut Sched, _cpu: u32, prev: TaskId, next: TaskId) {
        let se = se_of(s, prev);
        let shared = if next != prev && s.task(next).class == ClassId::Fair {
            s.fair.ancestors(se_of(s, next))
        } else {
            Vec::new()
        };
        for e in s.fair.ancestors(se) {
            if shared.contains(&e) {
                break;
            }
            let c = s.fair.cfs_rq_of(e);
            put_prev_entity(s, c, e);
        }
    }

    /// `set_next_task_fair` → `set_next_entity` on each level up to one that is already
    /// current (kept by `put_prev_task`).
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, first: bool) {
        for e in s.fair.ancestors(se_of(s, p)) {
            let c = s.fair.cfs_rq_of(e);
            if s.fair.cfs(c).curr == Some(e) {
                break;
            }
            set_next_entity(s, c, e, first);
            bandwidth::account_cfs_rq_runtime(s, c, 0);
        }
        // pick_next_task_fair: the picked task moves to the head of rq->cfs_tasks (MRU).
        let q = &mut s.rq_mut(cpu).smp.cfs_tasks;
        if let Some(i) = q.iter().position(|&x| x == p) {
            q.remove(i);
            q.push_front(p);
        }
        if first {
            balance::update_misfit_status(s, cpu, Some(p));
        }
    }

    /// `select_task_rq_fair` (placement.rs).
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, prev_cpu: u32, wake_flags: u32) -> u32 {
        placement::select_task_rq_fair(s, p, prev_cpu, wake_flags)
    }

    /// `task_tick_fair` → `entity_tick` on each level: update_curr is the tick's
    /// preemption check; the load and the group weights follow.
    fn task_tick(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        for e in s.fair.ancestors(se_of(s, p)) {
            let c = s.fair.cfs_rq_of(e);
            update_curr(s, c);
            pelt::update_load_avg(s, c, e, pelt::UPDATE_TG);
            group::update_cfs_group(s, e);
        }
        balance::update_misfit_status(s, cpu, Some(p));
    }

    /// `update_curr_fair`: the running task's own level.
    fn update_curr(&self, s: &mut Sched, cpu: u32) {
        let c = cfs_of(s, se_of(s, s.curr(cpu)));
        update_curr(s, c);
    }

    /// `reweight_task_fair`: `reweight_entity`, keeping the task's inverse weight.
    fn reweight_task(&self, s: &mut Sched, p: TaskId, lw: LoadWeight) {
        let se = se_of(s, p);
        let c = cfs_of(s, se);
        reweight_entity(s, c, se, lw.weight);
        s.fair.se_mut(se).load = lw;
    }

    /// `prio_changed_fair`.
    fn prio_changed(&self, s: &mut Sched, cpu: u32, p: TaskId, oldprio: i32) {
        if s.task(p).on_rq != OnRq::Queued {
            return;
        }
        let c = s.rq(cpu).cfs;
        if s.fair.cfs(c).nr_queued == 1 {
            return;
        }
        if s.curr(cpu) == p {
            if s.task(p).prio > oldprio {
                s.resched_curr(cpu);
            }
        } else {
            s.wakeup_preempt(cpu, p, 0);
        }
    }

    /// `migrate_task_rq_fair` + `set_task_rq`: the entity now belongs to the new CPU's
    /// queue; its lag and relative deadline came with it from dequeue.
    fn migrate_task_rq(&self, s: &mut Sched, p: TaskId, new_cpu: u32) {
        let se = se_of(s, p);
        let a = s.fair.se(se).avg;
        if !a.detached && a.last_update_time != 0 {
            // A blocked task leaves: its load is removed from the old queue lazily.
            pelt::remove_entity_load_avg(s, se);
        }
        // Tell the new CPU we migrated: attach at the next enqueue.
        s.fair.se_mut(se).avg.last_update_time = 0;
        group::set_task_rq(s, p, new_cpu);
    }

    fn return_to_user(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        bandwidth::throttle_at_return_to_user(s, cpu, p);
    }

    /// `task_dead_fair`: the dead task's blocked load leaves its queue.
    fn task_dead(&self, s: &mut Sched, p: TaskId) {
        let se = se_of(s, p);
        if s.fair.se(se).avg.last_update_time != 0 && !s.fair.se(se).on_rq {
            pelt::remove_entity_load_avg(s, se);
            s.fair.se_mut(se).avg.last_update_time = 0;
        }
    }
}
