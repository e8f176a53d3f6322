//! Choosing and moving tasks (fair.c): `sched_balance_find_src_rq`, `can_migrate_task` with
//! cache hotness (`task_hot`), and `detach_tasks` under the imbalance's migration type.

use super::*;
use crate::class::fair::group::{task_h_load, update_task_h_load};
use crate::class::fair::pelt::{
    capacity_greater, capacity_of, check_cpu_capacity, cpu_load, cpu_util_cfs_boost, task_fits_cpu,
    task_util_est,
};
use crate::class::{dequeue, enqueue, ClassId};
use crate::sched::{Ctx, Sched};
use crate::stats::MigrationCause;
use crate::task::TaskId;
use crate::topology::sdf;
use schedsim_workload::Policy;

/// `sched_balance_find_src_rq`.
pub(super) fn find_src_rq(s: &Sched, env: &Env, gi: usize) -> Option<u32> {
    let g = &sd(s, env.cpu, env.level).groups[gi];
    let mut best = None;
    let (mut b_load, mut b_cap, mut b_util, mut b_nr) = (0u64, 1u64, 0u64, 0u32);
    for i in g.span.iter().filter(|&c| env.cpus.test(c)) {
        let nr = h_nr_queued(s, i);
        if nr == 0 {
            continue;
        }
        let cap = capacity_of(s, i);
        let d = sd(s, env.cpu, env.level);
        // On asymmetric capacity, never pick a lone task that active balance would move to
        // a CPU that is not noticeably bigger.
        if d.has(sdf::ASYM_CPUCAPACITY)
            && !capacity_greater(capacity_of(s, env.dst_cpu), cap)
            && nr == 1
        {
            continue;
        }
        match env.migration_type {
            MigrationType::Load => {
                let load = cpu_load(s, i);
                if nr == 1
                    && load as i64 > env.imbalance
                    && !check_cpu_capacity(s, i, d.imbalance_pct)
                {
                    continue;
                }
                if load * b_cap > b_load * cap {
                    b_load = load;
                    b_cap = cap;
                    best = Some(i);
                }
            }
            MigrationType::Util => {
                let util = cpu_util_cfs_boost(s, i);
                if nr <= 1 {
                    continue;
                }
                if b_util < util {
                    b_util = util;
                    best = Some(i);
                }
            }
            MigrationType::Task => {
                if b_nr < nr {
                    b_nr = nr;
                    best = Some(i);
                }
            }
            MigrationType::Misfit => {
                // The biggest misfit task.
                let m = s.rq(i).smp.misfit_task_load;
                if m > b_load {
                    b_load = m;
                    best = Some(i);
                }
            }
        }
    }
    best
}

/// `task_hot`.
pub(super) fn task_hot(s: &Sched, env: &Env, p: TaskId) -> bool {
    let t = s.task(p);
    if t.class != ClassId::Fair || t.policy == Policy::Idle {
        return false;
    }
    if sd(s, env.cpu, env.level).has(sdf::SHARE_CPUCAPACITY) {
        return false;
    }
    let se = t.se;
    let c = s.fair.se(se).cfs_rq;
    if s.rq(env.dst_cpu).nr_running > 0 && s.fair.cfs(c).next == Some(se) {
        return true;
    }
    let cost = s.cfg.migration_cost_ns;
    if cost == 0 {
        return false;
    }
    let delta = s.rq(env.src_cpu).clock_task as i64 - s.fair.se(se).exec_start as i64;
    delta < cost as i64
}

/// `can_migrate_task`.
pub(super) fn can_migrate_task(s: &Sched, env: &mut Env, p: TaskId) -> bool {
    let t = s.task(p);
    // 6.14+: a delayed-dequeue sleeper moves only to migrate load; an ineligible task
    // only once balancing here has failed (both before the affinity test, so they leave
    // LBF_ALL_PINNED set).
    let se = t.se;
    if s.fair.se(se).sched_delayed && env.migration_type != MigrationType::Load {
        return false;
    }
    if sd(s, env.cpu, env.level).nr_balance_failed == 0
        && task_is_ineligible_on_dst_cpu(s, p, env.dst_cpu)
    {
        return false;
    }
    if !t.cpus_allowed.test(env.dst_cpu) {
        env.some_pinned = true;
        if env.idle == Idle::NewlyIdle || env.dst_pinned || env.active {
            return false;
        }
        let local = &sd(s, env.cpu, env.level).groups[0].span;
        if let Some(c) = local
            .iter()
            .find(|&c| env.cpus.test(c) && t.cpus_allowed.test(c))
        {
            env.dst_pinned = true;
            env.new_dst_cpu = c;
        }
        return false;
    }
    env.all_pinned = false;
    if s.curr(env.src_cpu) == p || t.on_cpu {
        return false;
    }
    if env.active {
        return true;
    }
    !task_hot(s, env, p)
        || sd(s, env.cpu, env.level).nr_balance_failed > sd(s, env.cpu, env.level).cache_nice_tries
}

/// `task_is_ineligible_on_dst_cpu` (6.14+): with PLACE_LAG an ineligible task stays
/// ineligible where its group already has entities queued on the destination.
pub(super) fn task_is_ineligible_on_dst_cpu(s: &Sched, p: TaskId, dst: u32) -> bool {
    let se = s.task(p).se;
    let dst_cfs = s.fair.tg(s.task(p).sched_task_group).cfs_rq[dst as usize];
    s.cfg.features.place_lag
        && s.fair.cfs(dst_cfs).nr_queued > 0
        && !s.fair.entity_eligible(s.fair.cfs_rq_of(se), se)
}

/// `detach_task` + `attach_task`: move a queued task between rqs.
pub(super) fn move_task(s: &mut Sched, ctx: Ctx, p: TaskId, dst: u32) {
    let cause = MigrationCause::Balance;
    s.migrate_queued_task(ctx, p, dst, dequeue::MIGRATING, enqueue::MIGRATED, cause);
    s.wakeup_preempt(dst, p, 0);
}

/// `detach_tasks` + `attach_tasks`: returns the number moved.
pub(super) fn detach_tasks(s: &mut Sched, env: &mut Env, ctx: Ctx) -> u32 {
    let src = env.src_cpu;
    if s.rq(src).nr_running <= 1 {
        env.all_pinned = false;
        return 0;
    }
    if env.imbalance <= 0 {
        return 0;
    }
    let mut detached = 0;
    let failed = sd(s, env.cpu, env.level).nr_balance_failed;
    while !s.rq(src).smp.cfs_tasks.is_empty() {
        if env.idle != Idle::NotIdle && s.rq(src).nr_running <= 1 {
            break;
        }
        env.loop_ += 1;
        if env.loop_ > env.loop_max {
            break;
        }
        if env.loop_ > env.loop_break {
            env.loop_break += SCHED_NR_MIGRATE_BREAK;
            env.need_break = true;
            break;
        }
        let p = *s.rq(src).smp.cfs_tasks.back().expect("non-empty");
        let mut ok = can_migrate_task(s, env, p);
        if ok {
            match env.migration_type {
                MigrationType::Load => {
                    update_task_h_load(s, p);
                    let load = task_h_load(s, p).max(1);
                    // LB_MIN is off by default.
                    if (load >> failed.min(63)) as i64 > env.imbalance {
                        ok = false;
                    } else {
                        env.imbalance -= load as i64;
                    }
                }
                MigrationType::Util => {
                    let util = task_util_est(s, p);
                    if (util >> failed.min(63)) as i64 > env.imbalance {
                        ok = false;
                    } else {
                        env.imbalance -= util as i64;
                    }
                }
                MigrationType::Task => env.imbalance -= 1,
                MigrationType::Misfit => {
                    // Not a misfit task: it fits where it is.
                    if task_fits_cpu(s, p, src) {
                        ok = false;
                    } else {
                        env.imbalance = 0;
                    }
                }
            }
        }
        if !ok {
            // list_move to the head.
            let q = &mut s.rq_mut(src).smp.cfs_tasks;
            q.retain(|&x| x != p);
            q.push_front(p);
            continue;
        }
        // detach_task: a cache-hot task moved because balancing had failed (6.14+: judged
        // at this task's can_migrate_task).
        if task_hot(s, env, p) {
            sd_mut(s, env.cpu, env.level).stat.lb_hot_gained[env.idle as usize] += 1;
        }
        move_task(s, ctx, p, env.dst_cpu);
        detached += 1;
        // CONFIG_PREEMPTION: newidle moves one task.
        if env.idle == Idle::NewlyIdle && s.cfg.preempt != crate::config::PreemptModel::None {
            break;
        }
        if env.imbalance <= 0 {
            break;
        }
    }
    sd_mut(s, env.cpu, env.level).stat.lb_gained[env.idle as usize] += u64::from(detached);
    detached
}
