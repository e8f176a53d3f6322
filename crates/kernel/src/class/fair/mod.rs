//! The fair class: EEVDF as in Linux 6.18 (kernel/sched/fair.c). `eevdf.rs` holds the
//! per-cfs_rq arithmetic, `tree.rs` the augmented timeline; this file the class operations.
//!
//! The hierarchy is flat for now (every task entity is queued on its CPU's root cfs_rq);
//! group entities join the same arena with the cgroup work.

pub mod balance;
pub mod eevdf;
pub mod entity;
pub mod pelt;
pub mod placement;
pub mod tree;

use schedsim_workload::Policy;

use crate::class::{dequeue, enqueue, wf, SchedClass};
use crate::prio::{calc_delta_fair, LoadWeight};
use crate::sched::Sched;
use crate::task::{OnRq, TaskId};

use entity::{CfsRq, CfsRqId, SchedEntity, SeId};

/// `normalized_sysctl_sched_base_slice`: the unscaled 0.7 ms.
pub const NORMALIZED_BASE_SLICE: u64 = 700_000;

/// The fair class's arenas: every sched_entity and every cfs_rq.
#[derive(Clone, Debug, Default)]
pub struct FairState {
    pub se: Vec<SchedEntity>,
    pub cfs_rq: Vec<CfsRq>,
    /// `nohz.next_balance` (jiffies).
    pub nohz_next_balance: u64,
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
    let base = s.cfg.base_slice();
    let resched = s.fair.update_deadline(c, curr, base);
    if s.fair.cfs(c).nr_queued == 1 {
        return;
    }
    if resched || !s.fair.protect_slice(curr) {
        s.resched_curr_lazy(cpu);
        clear_buddies(s, c, curr);
    }
}

fn clear_buddies(s: &mut Sched, c: CfsRqId, se: SeId) {
    if s.fair.cfs(c).next == Some(se) {
        s.fair.cfs_mut(c).next = None;
    }
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
}

/// `dequeue_entity`: returns false when the entity is kept queued as delayed.
fn dequeue_entity(s: &mut Sched, c: CfsRqId, se: SeId, flags: u32) -> bool {
    let sleep = flags & dequeue::SLEEP != 0;
    update_curr(s, c);
    clear_buddies(s, c, se);
    if flags & dequeue::DELAYED == 0 {
        let delay = sleep && flags & dequeue::SPECIAL == 0;
        if s.cfg.features.delay_dequeue && delay && !s.fair.entity_eligible(c, se) {
            pelt::update_load_avg(s, c, se, 0);
            // set_delayed: stays in the tree and the sums until picked or woken.
            s.fair.se_mut(se).sched_delayed = true;
            s.fair.cfs_mut(c).h_nr_runnable -= 1;
            return false;
        }
    }
    // A queued task leaving for another CPU takes its load with it (DO_DETACH).
    let action = if flags & dequeue::MIGRATING != 0 {
        pelt::UPDATE_TG | pelt::DO_DETACH
    } else {
        pelt::UPDATE_TG
    };
    pelt::update_load_avg(s, c, se, action);
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
    if flags & dequeue::DELAYED != 0 {
        // finish_delayed_dequeue_entity
        s.fair.se_mut(se).sched_delayed = false;
        s.fair.cfs_mut(c).h_nr_runnable += 1;
        let e = s.fair.se_mut(se);
        if s.cfg.features.delay_zero && e.vlag > 0 {
            e.vlag = 0;
        }
    }
    true
}

/// `dequeue_entities` for a task entity: -1 delayed, 1 done.
fn dequeue_entities(s: &mut Sched, cpu: u32, p: TaskId, flags: u32) -> bool {
    let se = se_of(s, p);
    let c = cfs_of(s, se);
    let task_sleep = flags & dequeue::SLEEP != 0;
    let task_delayed = flags & dequeue::DELAYED != 0;
    let was_delayed = !task_sleep && !task_delayed && s.fair.se(se).sched_delayed;
    if !dequeue_entity(s, c, se, flags) {
        return false;
    }
    let idle = is_idle_policy(s, p) as u32;
    let cfs = s.fair.cfs_mut(c);
    if !was_delayed {
        cfs.h_nr_runnable -= 1;
    }
    cfs.h_nr_queued -= 1;
    cfs.h_nr_idle -= idle;
    s.add_nr_running(cpu, -1);
    if task_delayed {
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
    s.fair.se_mut(se).sched_delayed = false;
    s.fair.cfs_mut(c).h_nr_runnable += 1;
}

/// `pick_next_entity`: the next buddy if eligible, else EEVDF; a delayed pick is
/// dequeued for good and the pick restarts (None).
fn pick_next_entity(s: &mut Sched, cpu: u32, c: CfsRqId) -> Option<SeId> {
    if s.cfg.features.pick_buddy {
        if let Some(n) = s.fair.cfs(c).next {
            if s.fair.entity_eligible(c, n) {
                return Some(n);
            }
        }
    }
    let se = s.fair.pick_eevdf(c, true)?;
    if s.fair.se(se).sched_delayed {
        let p = s.fair.se(se).task.expect("task entity");
        dequeue_entities(s, cpu, p, dequeue::SLEEP | dequeue::DELAYED);
        return None;
    }
    Some(se)
}

impl SchedClass for FairClass {
    /// `enqueue_task_fair`.
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
        let se = se_of(s, p);
        let migrating = flags & (enqueue::MIGRATING | enqueue::MIGRATED) != 0;
        if !(s.fair.se(se).sched_delayed && (migrating || flags & enqueue::RESTORE != 0)) {
            pelt::util_est_enqueue(s, cpu, p);
        }
        if flags & enqueue::WAKEUP != 0 {
            balance::note_wakeup(s, cpu);
        }
        if flags & enqueue::INITIAL != 0 && s.fair.se(se).avg.last_update_time == 0 {
            // init_entity_runnable_average + post_init_entity_util_avg.
            let c = s.rq(cpu).cfs;
            pelt::init_new_task_avg(s, c, se);
        }
        if flags & enqueue::DELAYED != 0 {
            requeue_delayed_entity(s, se);
            return;
        }
        let task_new = flags & enqueue::WAKEUP == 0;
        let delayed = task_new && s.fair.se(se).sched_delayed;
        let c = s.rq(cpu).cfs;
        s.fair.se_mut(se).cfs_rq = c;
        enqueue_entity(s, c, se, flags);
        let idle = is_idle_policy(s, p) as u32;
        let cfs = s.fair.cfs_mut(c);
        if !delayed {
            cfs.h_nr_runnable += 1;
        }
        cfs.h_nr_queued += 1;
        cfs.h_nr_idle += idle;
        s.add_nr_running(cpu, 1);
    }

    /// `dequeue_task_fair`.
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) -> bool {
        let migrating = flags & dequeue::MIGRATING != 0;
        if !(s.fair.se(se_of(s, p)).sched_delayed && (migrating || flags & dequeue::SAVE != 0)) {
            pelt::util_est_dequeue(s, cpu, p);
        }
        pelt::util_est_update(s, cpu, p, flags & dequeue::SLEEP != 0);
        dequeue_entities(s, cpu, p, flags)
    }

    /// `balance_fair`: with no fair task queued, try to pull one (`sched_balance_newidle`).
    fn balance(&self, s: &mut Sched, cpu: u32, prev: TaskId) -> bool {
        balance::active_load_balance(s, cpu, prev);
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

    /// `check_preempt_wakeup_fair` (6.17+ form with slice protection).
    fn wakeup_preempt(&self, s: &mut Sched, cpu: u32, p: TaskId, wake_flags: u32) {
        let curr = s.curr(cpu);
        let (se, pse) = (se_of(s, curr), se_of(s, p));
        if se == pse {
            return;
        }
        let c = cfs_of(s, se);
        if s.cfg.features.next_buddy
            && wake_flags & wf::FORK == 0
            && !s.fair.se(pse).sched_delayed
            && !is_idle_policy(s, p)
        {
            s.fair.cfs_mut(c).next = Some(pse);
        }
        if s.rq(cpu).need_resched || !s.cfg.features.wakeup_preemption {
            return;
        }
        let (cse_idle, pse_idle) = (is_idle_policy(s, curr), is_idle_policy(s, p));
        let short;
        if cse_idle && !pse_idle {
            short = true;
        } else {
            if cse_idle != pse_idle || !matches!(s.task(p).policy, Policy::Normal | Policy::Ext) {
                return;
            }
            update_curr(s, c);
            short = s.cfg.features.preempt_short && s.fair.se(pse).slice < s.fair.se(se).slice;
            if s.fair.pick_eevdf(c, !short) != Some(pse) {
                if s.cfg.features.run_to_parity && short {
                    s.fair.update_protect_slice(c, se);
                }
                return;
            }
        }
        if short {
            s.fair.cancel_protect_slice(se);
        }
        s.resched_curr_lazy(cpu);
    }

    /// `pick_task_fair`.
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        let c = s.rq(cpu).cfs;
        loop {
            if s.fair.cfs(c).nr_queued == 0 {
                return None;
            }
            if let Some(cur) = s.fair.cfs(c).curr {
                if s.fair.se(cur).on_rq {
                    update_curr(s, c);
                }
            }
            if let Some(se) = pick_next_entity(s, cpu, c) {
                return s.fair.se(se).task;
            }
        }
    }

    /// `put_prev_task_fair` → `put_prev_entity`: curr goes back into the tree.
    fn put_prev_task(&self, s: &mut Sched, cpu: u32, prev: TaskId, next: TaskId) {
        let se = se_of(s, prev);
        let c = cfs_of(s, se);
        if s.fair.cfs(c).cpu != cpu {
            // Already put and moved away by active balancing during this schedule().
            return;
        }
        if s.fair.se(se).on_rq {
            update_curr(s, c);
            s.fair.enqueue_tree(c, se);
            pelt::update_load_avg(s, c, se, 0);
        }
        s.fair.cfs_mut(c).curr = None;
        // A real switch-out (not a change-pattern put): a pending active balance moves prev.
        if next != prev {
            balance::active_balance_at_switch(s, cpu, prev);
        }
    }

    /// `set_next_task_fair` → `set_next_entity`: curr leaves the tree, its slice is
    /// protected, and its execution clock starts.
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, _first: bool) {
        let se = se_of(s, p);
        let c = cfs_of(s, se);
        clear_buddies(s, c, se);
        if s.fair.se(se).on_rq {
            s.fair.dequeue_tree(c, se);
            pelt::update_load_avg(s, c, se, pelt::UPDATE_TG);
            let feat = s.cfg.features;
            s.fair.set_protect_slice(c, se, &feat);
        }
        let now = s.rq(cpu).clock_task;
        let e = s.fair.se_mut(se);
        e.exec_start = now;
        e.prev_sum_exec_runtime = e.sum_exec_runtime;
        s.fair.cfs_mut(c).curr = Some(se);
        // pick_next_task_fair: the picked task moves to the head of rq->cfs_tasks (MRU).
        let q = &mut s.rq_mut(cpu).smp.cfs_tasks;
        if let Some(i) = q.iter().position(|&x| x == p) {
            q.remove(i);
            q.push_front(p);
        }
    }

    /// `select_task_rq_fair` (placement.rs).
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, prev_cpu: u32, wake_flags: u32) -> u32 {
        placement::select_task_rq_fair(s, p, prev_cpu, wake_flags)
    }

    /// `task_tick_fair` → `entity_tick`: update_curr is the tick's preemption check.
    fn task_tick(&self, s: &mut Sched, cpu: u32, _p: TaskId) {
        let c = s.rq(cpu).cfs;
        update_curr(s, c);
        if let Some(curr) = s.fair.cfs(c).curr {
            pelt::update_load_avg(s, c, curr, pelt::UPDATE_TG);
        }
    }

    fn update_curr(&self, s: &mut Sched, cpu: u32) {
        let c = s.rq(cpu).cfs;
        update_curr(s, c);
    }

    /// `reweight_task_fair` → `reweight_entity` (6.13+): scale the lag and the relative
    /// deadline to the new weight, then place again.
    fn reweight_task(&self, s: &mut Sched, p: TaskId, lw: LoadWeight) {
        let se = se_of(s, p);
        let c = cfs_of(s, se);
        let on_rq = s.fair.se(se).on_rq;
        let is_curr = s.fair.cfs(c).curr == Some(se);
        let tick = s.cfg.tick_nsec();
        if on_rq {
            update_curr(s, c);
        }
        pelt::reweight_begin(s, se);
        if on_rq {
            s.fair.update_entity_lag(c, se, tick);
            let e = s.fair.se_mut(se);
            e.deadline = e.deadline.wrapping_sub(e.vruntime);
            e.rel_deadline = true;
            s.fair.cfs_mut(c).nr_queued -= 1;
            if !is_curr {
                s.fair.dequeue_tree(c, se);
            }
            let w = s.fair.se(se).load.weight;
            s.fair.cfs_mut(c).load_weight -= w;
        }
        let e = s.fair.se_mut(se);
        let (old, new) = (e.load.weight as i64, lw.weight as i64);
        e.vlag = e.vlag.wrapping_mul(old) / new;
        if e.rel_deadline {
            e.deadline = ((e.deadline as i64).wrapping_mul(old) / new) as u64;
        }
        // update_load_set clears inv_weight; reweight_task_fair restores it afterwards,
        // so placement below divides by the weight itself, as the kernel does.
        e.load = LoadWeight {
            weight: lw.weight,
            inv_weight: 0,
        };
        if on_rq {
            s.fair.cfs_mut(c).load_weight += lw.weight;
            let (feat, base) = (s.cfg.features, s.cfg.base_slice());
            s.fair.place_entity(c, se, 0, &feat, base);
            if !is_curr {
                s.fair.enqueue_tree(c, se);
            }
            s.fair.cfs_mut(c).nr_queued += 1;
        }
        s.fair.se_mut(se).load = lw;
        pelt::reweight_end(s, se);
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
        let c = s.rq(new_cpu).cfs;
        s.fair.se_mut(se).cfs_rq = c;
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
