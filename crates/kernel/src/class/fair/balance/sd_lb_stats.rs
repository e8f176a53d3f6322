//! The statistics `sched_balance_find_src_group` reads (fair.c `update_sd_lb_stats`,
//! `update_sg_lb_stats`, `group_classify`, `update_sd_pick_busiest`) and the imbalance it
//! computes (`calculate_imbalance`), with the NUMA imbalance allowance.

use super::*;
use crate::class::fair::pelt::{
    capacity_greater, capacity_of, check_cpu_capacity, cpu_load, cpu_runnable, cpu_util_cfs,
    update_cpu_capacity,
};
use crate::cpumask::CpuMask;
use crate::sched::Sched;
use crate::topology::sdf;

/// `is_core_idle`.
pub(super) fn is_core_idle(s: &Sched, cpu: u32) -> bool {
    s.topo.smt_siblings(cpu).all(|c| c == cpu || s.idle_cpu(c))
}

/// `group_is_overloaded`.
pub(super) fn group_is_overloaded(pct: u64, g: &SgStats) -> bool {
    if g.sum_nr_running <= g.group_weight {
        return false;
    }
    g.group_capacity * 100 < g.group_util * pct || g.group_capacity * pct < g.group_runnable * 100
}

/// `group_has_capacity`.
pub(super) fn group_has_capacity(pct: u64, g: &SgStats) -> bool {
    if g.sum_nr_running < g.group_weight {
        return true;
    }
    if g.group_capacity * pct < g.group_runnable * 100 {
        return false;
    }
    g.group_capacity * 100 > g.group_util * pct
}

/// A group's `sgc->capacity`, `min_capacity` and `max_capacity`: here the sum, min and max
/// of its CPUs' `capacity_of` (the kernel sums the child groups' capacities as their
/// balancing CPUs last refreshed them; each CPU's own value is refreshed when it balances).
pub fn group_capacity(s: &Sched, span: &CpuMask) -> (u64, u64, u64) {
    let (mut sum, mut min, mut max) = (0, u64::MAX, 0);
    for c in span.iter() {
        let cap = capacity_of(s, c);
        sum += cap;
        min = min.min(cap);
        max = max.max(cap);
    }
    (sum.max(1), min, max)
}

/// `update_group_capacity` for the local group: at the lowest domain, `update_cpu_capacity`
/// of the balancing CPU; schedules the next refresh for newidle balancing.
pub(super) fn update_group_capacity(s: &mut Sched, cpu: u32, level: usize) {
    let j = s.jiffies();
    let iv = msecs_to_jiffies(s, sd(s, cpu, level).balance_interval).clamp(1, max_lb_interval(s));
    sd_mut(s, cpu, level).groups[0].next_update = j + iv;
    if level == 0 {
        update_cpu_capacity(s, cpu);
    }
}

/// `update_sg_lb_stats` + `group_classify`.
pub(super) fn sg_lb_stats(s: &Sched, env: &Env, gi: usize) -> SgStats {
    let d = sd(s, env.cpu, env.level);
    let g = &d.groups[gi];
    let mut st = SgStats {
        idle_cpus: 0,
        ..SgStats::default()
    };
    let local = gi == 0;
    let asym = d.has(sdf::ASYM_CPUCAPACITY);
    for i in g.span.iter().filter(|&c| env.cpus.test(c)) {
        let load = cpu_load(s, i);
        st.group_load += load;
        st.group_util += cpu_util_cfs(s, i);
        st.group_runnable += cpu_runnable(s, i);
        st.sum_h_nr_running += h_nr_queued(s, i);
        let nr = s.rq(i).nr_running;
        st.sum_nr_running += nr;
        if nr == 0 && s.idle_cpu(i) {
            st.idle_cpus += 1;
            // An idle CPU has no misfit task.
            continue;
        }
        if local {
            continue;
        }
        if asym {
            st.misfit_load = st.misfit_load.max(s.rq(i).smp.misfit_task_load);
        } else if env.idle != Idle::NotIdle
            && h_nr_queued(s, i) == 1
            && check_cpu_capacity(s, i, d.imbalance_pct)
        {
            // sched_reduced_capacity: one CFS task on a CPU that rt/dl pressure shrank.
            st.misfit_load = st.misfit_load.max(load);
        }
    }
    (st.group_capacity, st.min_capacity, st.max_capacity) = group_capacity(s, &g.span);
    st.group_weight = g.weight;
    let first = g.span.first().unwrap_or(0);
    st.smt_group = g.weight > 1
        && g.span
            .iter()
            .all(|c| s.topo.cpus[c as usize].core == s.topo.cpus[first as usize].core);
    let mut cores: Vec<u32> = g
        .span
        .iter()
        .map(|c| s.topo.cpus[c as usize].core)
        .collect();
    cores.dedup();
    cores.sort_unstable();
    cores.dedup();
    st.cores = cores.len() as u32;
    // smt_balance
    let smt_balance =
        !local && env.idle != Idle::NotIdle && st.smt_group && st.sum_h_nr_running > 1;
    st.group_type = if group_is_overloaded(d.imbalance_pct, &st) {
        GroupType::Overloaded
    } else if g.imbalance {
        GroupType::Imbalanced
    } else if smt_balance {
        GroupType::SmtBalance
    } else if st.misfit_load != 0 {
        GroupType::MisfitTask
    } else if !group_has_capacity(d.imbalance_pct, &st) {
        GroupType::FullyBusy
    } else {
        GroupType::HasSpare
    };
    if st.group_type == GroupType::Overloaded {
        st.avg_load = st.group_load * 1024 / st.group_capacity;
    }
    st
}

/// `update_sd_pick_busiest`.
pub(super) fn pick_busiest(
    s: &Sched,
    env: &Env,
    local: &SgStats,
    busiest: &SgStats,
    busiest_smt: bool,
    sg: &SgStats,
) -> bool {
    if sg.sum_h_nr_running == 0 {
        return false;
    }
    if sd(s, env.cpu, env.level).has(sdf::ASYM_CPUCAPACITY) {
        let dst_cap = capacity_of(s, env.dst_cpu);
        // Don't pull a misfit task we can't help: the destination must be an idle core
        // noticeably bigger than the group's biggest CPU, and the local group have room.
        if sg.group_type == GroupType::MisfitTask
            && (!env.dst_core_idle
                || !capacity_greater(dst_cap, sg.max_capacity)
                || local.group_type != GroupType::HasSpare)
        {
            return false;
        }
        // At most one task per CPU on bigger CPUs: moving them down costs throughput.
        if sg.group_type <= GroupType::FullyBusy && capacity_greater(sg.min_capacity, dst_cap) {
            return false;
        }
    }
    if sg.group_type > busiest.group_type {
        return true;
    }
    if sg.group_type < busiest.group_type {
        return false;
    }
    let has_spare = |sg: &SgStats, b: &SgStats| {
        !(sg.idle_cpus > b.idle_cpus
            || (sg.idle_cpus == b.idle_cpus && sg.sum_nr_running <= b.sum_nr_running))
    };
    match sg.group_type {
        GroupType::Overloaded => sg.avg_load > busiest.avg_load,
        GroupType::Imbalanced | GroupType::AsymPacking => false,
        GroupType::MisfitTask => sg.misfit_load > busiest.misfit_load,
        GroupType::SmtBalance if sg.idle_cpus != 0 || busiest.idle_cpus != 0 => {
            has_spare(sg, busiest)
        }
        GroupType::SmtBalance | GroupType::FullyBusy => {
            !(sg.avg_load < busiest.avg_load || (sg.avg_load == busiest.avg_load && busiest_smt))
        }
        GroupType::HasSpare => {
            // smt_vs_nonsmt_groups
            if busiest.group_weight > 0 && busiest_smt != sg.smt_group {
                return !(sg.smt_group && sg.sum_h_nr_running <= 1);
            }
            has_spare(sg, busiest)
        }
    }
}

/// `sibling_imbalance`.
pub(super) fn sibling_imbalance(env: &Env, busiest: &SgStats, local: &SgStats) -> i64 {
    if env.idle == Idle::NotIdle || busiest.sum_nr_running == 0 {
        return 0;
    }
    let (nb, nl) = (busiest.cores as i64, local.cores as i64);
    if nb == nl {
        return (busiest.sum_nr_running as i64 - local.sum_nr_running as i64).max(0);
    }
    let mut imb = (nl * busiest.sum_nr_running as i64 - nb * local.sum_nr_running as i64).max(0);
    imb = (2 * imb + nl + nb) / (nl + nb);
    if imb <= 1 && local.sum_nr_running == 0 && busiest.sum_nr_running > 1 {
        imb = 2;
    }
    imb
}

/// `sched_balance_find_src_group` (with `update_sd_lb_stats` and `calculate_imbalance`):
/// the busiest group's index, with env.imbalance and migration_type set.
pub(super) fn find_src_group(s: &mut Sched, env: &mut Env) -> Option<usize> {
    let ngroups = sd(s, env.cpu, env.level).groups.len();
    let mut local = SgStats::default();
    let mut busiest = SgStats::default();
    let mut busiest_idx = None;
    let mut busiest_smt = false;
    let (mut total_load, mut total_cap, mut sum_util) = (0u64, 0u64, 0u64);
    env.dst_core_idle = !s.topo.smt_present || is_core_idle(s, env.dst_cpu);
    for gi in 0..ngroups {
        if gi == 0
            && (env.idle != Idle::NewlyIdle
                || s.jiffies() >= sd(s, env.cpu, env.level).groups[0].next_update)
        {
            update_group_capacity(s, env.dst_cpu, env.level);
        }
        let st = sg_lb_stats(s, env, gi);
        total_load += st.group_load;
        total_cap += st.group_capacity;
        sum_util += st.group_util;
        if gi == 0 {
            local = st;
            continue;
        }
        if pick_busiest(s, env, &local, &busiest, busiest_smt, &st) {
            busiest_smt = st.smt_group;
            busiest = st;
            busiest_idx = Some(gi);
        }
    }
    let prefer_sibling = env.level > 0 && sd(s, env.cpu, env.level - 1).has(sdf::PREFER_SIBLING);
    if env.idle != Idle::NewlyIdle {
        update_idle_cpu_scan(s, env, sum_util);
    }
    let bi = busiest_idx?;
    let pct = sd(s, env.cpu, env.level).imbalance_pct;
    let mut sd_avg = 0;
    // Misfit tasks are dealt with regardless of the average load (no energy model, so
    // the "not overutilized" exit of EAS never applies).
    let force = matches!(
        busiest.group_type,
        GroupType::MisfitTask | GroupType::Imbalanced
    );
    if !force {
        if local.group_type > busiest.group_type {
            return None;
        }
        if local.group_type == GroupType::Overloaded {
            if local.avg_load >= busiest.avg_load {
                return None;
            }
            sd_avg = total_load * 1024 / total_cap;
            if local.avg_load >= sd_avg {
                return None;
            }
            if 100 * busiest.avg_load <= pct * local.avg_load {
                return None;
            }
        }
        let sib_force = prefer_sibling
            && local.group_type == GroupType::HasSpare
            && sibling_imbalance(env, &busiest, &local) > 1;
        if !sib_force && busiest.group_type != GroupType::Overloaded {
            if env.idle == Idle::NotIdle {
                return None;
            }
            let smt_force =
                busiest.group_type == GroupType::SmtBalance && busiest_smt != local.smt_group;
            if !smt_force {
                if busiest.group_weight > 1 && local.idle_cpus <= busiest.idle_cpus + 1 {
                    return None;
                }
                if busiest.sum_h_nr_running == 1 {
                    return None;
                }
            }
        }
    }
    // calculate_imbalance
    let share_llc = sd(s, env.cpu, env.level).has(sdf::SHARE_LLC);
    if busiest.group_type == GroupType::MisfitTask {
        if sd(s, env.cpu, env.level).has(sdf::ASYM_CPUCAPACITY) {
            env.migration_type = MigrationType::Misfit;
            env.imbalance = 1;
        } else {
            // A task on a CPU whose capacity rt/dl pressure reduced.
            env.migration_type = MigrationType::Load;
            env.imbalance = busiest.misfit_load as i64;
        }
    } else if matches!(
        busiest.group_type,
        GroupType::SmtBalance | GroupType::Imbalanced
    ) {
        env.migration_type = MigrationType::Task;
        env.imbalance = 1;
    } else if local.group_type == GroupType::HasSpare {
        if busiest.group_type > GroupType::FullyBusy && !share_llc {
            env.migration_type = MigrationType::Util;
            env.imbalance = (local.group_capacity.max(local.group_util) - local.group_util) as i64;
            if env.idle != Idle::NotIdle && env.imbalance == 0 {
                env.migration_type = MigrationType::Task;
                env.imbalance = 1;
            }
        } else {
            env.migration_type = MigrationType::Task;
            env.imbalance = if busiest.group_weight == 1 || prefer_sibling {
                sibling_imbalance(env, &busiest, &local)
            } else {
                (local.idle_cpus as i64 - busiest.idle_cpus as i64).max(0)
            };
            if sd(s, env.cpu, env.level).has(sdf::NUMA) {
                let nr = imb_numa_nr(s, env.cpu, env.level);
                env.imbalance =
                    adjust_numa_imbalance(env.imbalance, local.sum_nr_running as i64 + 1, nr);
            }
            env.imbalance >>= 1;
        }
    } else {
        if local.group_type < GroupType::Overloaded {
            local.avg_load = local.group_load * 1024 / local.group_capacity;
            if local.avg_load >= busiest.avg_load {
                return None;
            }
            sd_avg = total_load * 1024 / total_cap;
            if local.avg_load >= sd_avg {
                return None;
            }
        }
        env.migration_type = MigrationType::Load;
        env.imbalance = ((busiest.avg_load.saturating_sub(sd_avg) * busiest.group_capacity)
            .min(sd_avg.saturating_sub(local.avg_load) * local.group_capacity)
            / 1024) as i64;
    }
    (env.imbalance != 0).then_some(bi)
}

/// `update_idle_cpu_scan` (SIS_UTIL): at the LLC level, how many CPUs a wakeup may scan.
pub(super) fn update_idle_cpu_scan(s: &mut Sched, env: &Env, sum_util: u64) {
    let d = sd(s, env.cpu, env.level);
    let llc_w = s.topo.llc_size[env.dst_cpu as usize] as u64;
    if d.span_weight as u64 != llc_w || !d.has(sdf::SHARE_LLC) {
        return;
    }
    let pct = d.imbalance_pct;
    let x = sum_util / llc_w;
    let y = x * x * pct * pct / (10000 * 1024);
    let nr = llc_w * (1024 - y.min(1024)) / 1024;
    let id = s.topo.llc_id[env.dst_cpu as usize] as usize;
    s.topo.llc_shared[id].nr_idle_scan = nr as u32;
}

/// `sd->imb_numa_nr` (build_sched_domains): the tolerated NUMA imbalance.
pub fn imb_numa_nr(s: &Sched, cpu: u32, level: usize) -> i64 {
    let d = sd(s, cpu, level);
    let child_w = level
        .checked_sub(1)
        .map_or(1, |l| sd(s, cpu, l).span_weight)
        .max(1);
    let nr_llcs = d.span_weight / child_w;
    let imb = if nr_llcs == 1 {
        d.span_weight >> 3
    } else {
        nr_llcs
    };
    imb.max(1) as i64
}

/// `adjust_numa_imbalance`.
pub fn adjust_numa_imbalance(imbalance: i64, dst_running: i64, imb_numa_nr: i64) -> i64 {
    if dst_running > imb_numa_nr {
        return imbalance;
    }
    if imbalance <= 2 {
        return 0;
    }
    imbalance
}
