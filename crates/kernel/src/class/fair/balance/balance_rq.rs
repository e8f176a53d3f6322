//! One balancing pass over one domain (fair.c `sched_balance_rq`): `should_we_balance`, the
//! source group and rq, the pull, the pinned retries and the active balance through the
//! busiest CPU's stopper (`active_load_balance_cpu_stop`).

use super::*;
use crate::class::fair::pelt::{capacity_of, check_cpu_capacity};
use crate::core::stopper::CpuStopWork;
use crate::cpumask::CpuMask;
use crate::sched::{Ctx, Sched};
use crate::topology::sdf;

/// `should_we_balance`: only one CPU of the local group balances a domain.
pub(super) fn should_we_balance(s: &Sched, env: &Env) -> bool {
    if !env.cpus.test(env.dst_cpu) {
        return false;
    }
    if env.idle == Idle::NewlyIdle {
        let rq = s.rq(env.dst_cpu);
        return rq.nr_running == 0 && rq.ttwu_pending == 0;
    }
    let d = sd(s, env.cpu, env.level);
    let local = &d.groups[0].span;
    let mut idle_smt = None;
    let mut skip = CpuMask::empty(s.nr_cpus() as usize);
    for c in local.iter().filter(|&c| env.cpus.test(c)) {
        if skip.test(c) || !s.idle_cpu(c) {
            continue;
        }
        if !d.has(sdf::SHARE_CPUCAPACITY) && !is_core_idle(s, c) {
            idle_smt.get_or_insert(c);
            for x in s.topo.smt_siblings(c) {
                skip.set(x);
            }
            continue;
        }
        return c == env.dst_cpu;
    }
    if let Some(c) = idle_smt {
        return c == env.dst_cpu;
    }
    local.first() == Some(env.dst_cpu)
}

/// `need_active_balance`.
pub(super) fn need_active_balance(s: &Sched, env: &Env) -> bool {
    let d = sd(s, env.cpu, env.level);
    if env.migration_type == MigrationType::Task && d.nr_balance_failed > d.cache_nice_tries + 2 {
        return true;
    }
    // An idle destination, a lone CFS task on a source whose capacity rt/dl pressure
    // reduced, and noticeably more capacity here.
    if env.idle != Idle::NotIdle
        && h_nr_queued(s, env.src_cpu) == 1
        && check_cpu_capacity(s, env.src_cpu, d.imbalance_pct)
        && capacity_of(s, env.src_cpu) * d.imbalance_pct < capacity_of(s, env.dst_cpu) * 100
    {
        return true;
    }
    env.migration_type == MigrationType::Misfit
}

/// `sched_balance_rq`: returns the number of tasks moved.
pub(super) fn sched_balance_rq(
    s: &mut Sched,
    cpu: u32,
    level: usize,
    idle: Idle,
    cont: &mut bool,
) -> u32 {
    let span = sd(s, cpu, level).span.clone();
    let ctx = if idle == Idle::NewlyIdle {
        Ctx::Task(cpu)
    } else {
        Ctx::HardIrq(cpu)
    };
    let mut env = Env::new(cpu, level, cpu, idle, span);
    let has_parent = level + 1 < s.topo.sd[cpu as usize].len();
    let mut ld_moved = 0;
    let mut active_balance = false;
    let it = idle as usize;
    sd_mut(s, cpu, level).stat.lb_count[it] += 1;
    'redo: loop {
        if !should_we_balance(s, &env) {
            *cont = false;
            return out_balanced(s, &env, has_parent);
        }
        let Some(gi) = find_src_group(s, &mut env) else {
            sd_mut(s, cpu, level).stat.lb_nobusyg[it] += 1;
            return out_balanced(s, &env, has_parent);
        };
        let Some(busiest) = find_src_rq(s, &env, gi) else {
            sd_mut(s, cpu, level).stat.lb_nobusyq[it] += 1;
            return out_balanced(s, &env, has_parent);
        };
        update_lb_imbalance_stat(s, &env);
        env.src_cpu = busiest;
        env.all_pinned = true;
        // rq_lock(busiest) + update_rq_clock(busiest): task_hot reads its clock_task.
        s.update_rq_clock(busiest);
        if s.rq(busiest).nr_running > 1 {
            env.loop_max = s.cfg.nr_migrate.min(s.rq(busiest).nr_running);
            loop {
                ld_moved += detach_tasks(s, &mut env, ctx);
                if env.need_break {
                    env.need_break = false;
                    continue;
                }
                if env.dst_pinned && env.imbalance > 0 {
                    // Retry towards another CPU of the local group the tasks allow.
                    let d = env.dst_cpu;
                    let mut c = env.cpus.clone();
                    c = CpuMask::from_list(
                        s.nr_cpus() as usize,
                        &c.iter().filter(|&x| x != d).collect::<Vec<_>>(),
                    );
                    env.cpus = c;
                    env.dst_cpu = env.new_dst_cpu;
                    env.dst_pinned = false;
                    env.loop_ = 0;
                    env.loop_break = SCHED_NR_MIGRATE_BREAK;
                    continue;
                }
                break;
            }
            if has_parent && env.some_pinned && env.imbalance > 0 {
                sd_mut(s, cpu, level + 1).groups[0].imbalance = true;
            }
            if env.all_pinned {
                let b = busiest;
                let rest: Vec<u32> = env.cpus.iter().filter(|&x| x != b).collect();
                env.cpus = CpuMask::from_list(s.nr_cpus() as usize, &rest);
                let local = sd(s, cpu, level).groups[0].span.clone();
                if rest.iter().any(|&x| !local.test(x)) {
                    env.loop_ = 0;
                    env.loop_break = SCHED_NR_MIGRATE_BREAK;
                    continue 'redo;
                }
                // out_all_pinned
                let d = sd_mut(s, cpu, level);
                d.stat.lb_balanced[it] += 1;
                d.nr_balance_failed = 0;
                return out_one_pinned(s, &env);
            }
        }
        break;
    }
    if ld_moved == 0 {
        sd_mut(s, cpu, level).stat.lb_failed[it] += 1;
        // Neither newidle nor misfit balancing counts as a failure.
        if idle != Idle::NewlyIdle && env.migration_type != MigrationType::Misfit {
            sd_mut(s, cpu, level).nr_balance_failed += 1;
        }
        if need_active_balance(s, &env) {
            let busiest = env.src_cpu;
            let curr = s.curr(busiest);
            if !s.task(curr).cpus_allowed.test(cpu) {
                env.all_pinned = true;
                return out_one_pinned(s, &env);
            }
            if !s.rq(busiest).smp.active_balance {
                s.rq_mut(busiest).smp.active_balance = true;
                active_balance = true;
                // stop_one_cpu_nowait
                let work = CpuStopWork::ActiveBalance { target_cpu: cpu };
                s.cpu_stop_queue_work(ctx, busiest, work);
            }
        }
    } else {
        sd_mut(s, cpu, level).nr_balance_failed = 0;
    }
    if !active_balance || need_active_balance(s, &env) {
        let d = sd_mut(s, cpu, level);
        d.balance_interval = d.min_interval;
    }
    ld_moved
}

pub(super) fn out_balanced(s: &mut Sched, env: &Env, has_parent: bool) -> u32 {
    if has_parent && !env.all_pinned {
        sd_mut(s, env.cpu, env.level + 1).groups[0].imbalance = false;
    }
    let d = sd_mut(s, env.cpu, env.level);
    d.stat.lb_balanced[env.idle as usize] += 1;
    d.nr_balance_failed = 0;
    out_one_pinned(s, env)
}

/// `update_lb_imbalance_stat` (6.14+): the imbalance found, by migration type.
fn update_lb_imbalance_stat(s: &mut Sched, env: &Env) {
    let imb = env.imbalance.max(0) as u64;
    let st = &mut sd_mut(s, env.cpu, env.level).stat;
    let i = env.idle as usize;
    match env.migration_type {
        MigrationType::Load => st.lb_imbalance_load[i] += imb,
        MigrationType::Util => st.lb_imbalance_util[i] += imb,
        MigrationType::Task => st.lb_imbalance_task[i] += imb,
        MigrationType::Misfit => st.lb_imbalance_misfit[i] += imb,
    }
}

pub(super) fn out_one_pinned(s: &mut Sched, env: &Env) -> u32 {
    // Newidle ignores intervals; a misfit migration is no sign of a busy system.
    if env.idle == Idle::NewlyIdle || env.migration_type == MigrationType::Misfit {
        return 0;
    }
    let d = sd_mut(s, env.cpu, env.level);
    if (env.all_pinned && d.balance_interval < MAX_PINNED_INTERVAL)
        || d.balance_interval < d.max_interval
    {
        d.balance_interval *= 2;
    }
    0
}

/// `active_load_balance_cpu_stop` on the busiest CPU's stopper: the former curr is now
/// queued, not running; one task is pushed to `target` (`detach_one_task`: from the tail of
/// cfs_tasks, `can_migrate_task` with LBF_ACTIVE_LB) within the first domain of `target`
/// that spans this CPU.
pub fn active_load_balance_cpu_stop(s: &mut Sched, cpu: u32, target: u32) {
    let level = s.topo.sd[target as usize]
        .iter()
        .position(|d| d.span.test(cpu));
    let go = s.rq(cpu).smp.active_balance && s.rq(cpu).nr_running > 1 && target != cpu;
    if let Some(level) = level.filter(|_| go) {
        let mut env = Env {
            active: true,
            dst_core_idle: !s.topo.smt_present || is_core_idle(s, target),
            ..Env::new(
                target,
                level,
                cpu,
                Idle::Idle,
                sd(s, target, level).span.clone(),
            )
        };
        s.update_rq_clock(cpu);
        let p = s
            .rq(cpu)
            .smp
            .cfs_tasks
            .iter()
            .rev()
            .copied()
            .find(|&p| can_migrate_task(s, &mut env, p));
        sd_mut(s, target, level).stat.alb_count += 1;
        if let Some(p) = p {
            move_task(s, Ctx::Task(cpu), p, target);
            let d = sd_mut(s, target, level);
            d.stat.lb_gained[Idle::Idle as usize] += 1;
            d.stat.alb_pushed += 1;
            d.nr_balance_failed = 0;
        } else {
            sd_mut(s, target, level).stat.alb_failed += 1;
        }
    }
    s.rq_mut(cpu).smp.active_balance = false;
}
