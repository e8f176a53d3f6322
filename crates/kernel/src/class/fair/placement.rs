//! Wakeup and fork placement: `select_task_rq_fair` (kernel/sched/fair.c) with
//! `record_wakee`/`wake_wide`, `wake_affine` (idle and weight tests),
//! `select_idle_sibling` (target, prev, recent_used_cpu, idle core, SIS_UTIL-limited scan,
//! `select_idle_capacity` on asymmetric machines) and the fork/exec slow path
//! (`sched_balance_find_dst_group` / `_cpu`).
//!
//! `has_idle_cores` is evaluated on demand (is some core of the LLC wholly idle) rather
//! than kept as the kernel's sticky hint.

use super::balance::{adjust_numa_imbalance, imb_numa_nr, sched_idle_cpu, GroupType};
use super::group::{task_h_load, update_task_h_load};
use super::pelt::{
    capacity_of, cpu_load, cpu_load_without, cpu_runnable_without, cpu_util_without, task_fits_cpu,
    task_util_est, util_fits_cpu,
};
use crate::class::wf;
use crate::cpumask::CpuMask;
use crate::sched::Sched;
use crate::task::{tstate, OnRq, TaskId};
use crate::topology::sdf;

/// The waker-side fields of `task_struct` used by placement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WakeeState {
    pub wakee_flips: u32,
    /// jiffies.
    pub wakee_flip_decay_ts: u64,
    pub last_wakee: Option<TaskId>,
    pub recent_used_cpu: Option<u32>,
}

fn wake(s: &Sched, p: TaskId) -> &WakeeState {
    &s.fair.se(s.task(p).se).wake
}

fn wake_mut(s: &mut Sched, p: TaskId) -> &mut WakeeState {
    let se = s.task(p).se;
    &mut s.fair.se_mut(se).wake
}

/// `available_idle_cpu`: idle, and not a vCPU its hypervisor has descheduled. schedsim's
/// vCPUs are never descheduled: on the reference VM the steal-time `preempted` flag of an
/// idle vCPU reads 0 (bpftrace), so this is `idle_cpu`.
pub fn available_idle_cpu(s: &Sched, cpu: u32) -> bool {
    s.idle_cpu(cpu)
}

fn idle_or_sched_idle(s: &Sched, cpu: u32) -> bool {
    available_idle_cpu(s, cpu) || sched_idle_cpu(s, cpu)
}

fn allowed(s: &Sched, p: TaskId, cpu: u32) -> bool {
    s.task(p).cpus_allowed.test(cpu)
}

/// `record_wakee`: `current` (the task running on the waking CPU) woke `p`.
fn record_wakee(s: &mut Sched, current: TaskId, p: TaskId) {
    let j = s.jiffies();
    let hz = s.cfg.hz as u64;
    let w = wake_mut(s, current);
    if j > w.wakee_flip_decay_ts + hz {
        w.wakee_flips >>= 1;
        w.wakee_flip_decay_ts = j;
    }
    if w.last_wakee != Some(p) {
        w.last_wakee = Some(p);
        w.wakee_flips += 1;
    }
}

/// `wake_wide`: a waker/wakee pair with many partners should spread beyond the LLC.
fn wake_wide(s: &Sched, current: TaskId, p: TaskId, this_cpu: u32) -> bool {
    let mut master = wake(s, current).wakee_flips;
    let mut slave = wake(s, p).wakee_flips;
    let factor = s.topo.llc_size[this_cpu as usize];
    if master < slave {
        std::mem::swap(&mut master, &mut slave);
    }
    !(slave < factor || master < slave * factor)
}

/// `wake_affine_idle`.
fn wake_affine_idle(s: &Sched, this_cpu: u32, prev_cpu: u32, sync: bool) -> Option<u32> {
    if available_idle_cpu(s, this_cpu) && s.topo.share_cache(this_cpu, prev_cpu) {
        return Some(if available_idle_cpu(s, prev_cpu) {
            prev_cpu
        } else {
            this_cpu
        });
    }
    if sync {
        let rq = s.rq(this_cpu);
        let cfs = s.fair.cfs(rq.cfs);
        let delayed = cfs.h_nr_queued - cfs.h_nr_runnable;
        if rq.nr_running - delayed == 1 {
            return Some(this_cpu);
        }
    }
    if available_idle_cpu(s, prev_cpu) {
        return Some(prev_cpu);
    }
    None
}

/// `wake_affine_weight`.
fn wake_affine_weight(
    s: &mut Sched,
    pct: u64,
    current: TaskId,
    p: TaskId,
    this_cpu: u32,
    prev_cpu: u32,
    sync: bool,
) -> Option<u32> {
    let mut this_eff = cpu_load(s, this_cpu) as i64;
    if sync {
        update_task_h_load(s, current);
        let cur = task_h_load(s, current) as i64;
        if cur > this_eff {
            return Some(this_cpu);
        }
        this_eff -= cur;
    }
    update_task_h_load(s, p);
    let task_load = task_h_load(s, p) as i64;
    this_eff += task_load;
    this_eff *= 100;
    this_eff *= capacity_of(s, prev_cpu) as i64;
    let mut prev_eff = cpu_load(s, prev_cpu) as i64 - task_load;
    prev_eff *= 100 + (pct as i64 - 100) / 2;
    prev_eff *= capacity_of(s, this_cpu) as i64;
    if sync {
        prev_eff += 1;
    }
    (this_eff < prev_eff).then_some(this_cpu)
}

/// `wake_affine`: this CPU or prev.
#[allow(clippy::too_many_arguments)]
fn wake_affine(
    s: &mut Sched,
    pct: u64,
    current: TaskId,
    p: TaskId,
    this_cpu: u32,
    prev_cpu: u32,
    sync: bool,
) -> u32 {
    let target = match wake_affine_idle(s, this_cpu, prev_cpu, sync) {
        Some(t) => Some(t),
        None => wake_affine_weight(s, pct, current, p, this_cpu, prev_cpu, sync),
    };
    if target != Some(this_cpu) {
        prev_cpu
    } else {
        this_cpu
    }
}

/// CPUs of a mask in `for_each_cpu_wrap` order from `start`.
fn wrap(n: u32, mask: &CpuMask, start: u32) -> Vec<u32> {
    (0..n)
        .map(|i| (start + i) % n)
        .filter(|&c| mask.test(c))
        .collect()
}

/// `select_idle_core`: a wholly idle core, remembering the first idle thread.
fn select_idle_core(
    s: &Sched,
    core: u32,
    cpus: &mut CpuMask,
    idle_cpu: &mut Option<u32>,
) -> Option<u32> {
    let mut idle = true;
    let sibs: Vec<u32> = s.topo.smt_siblings(core).collect();
    for &c in &sibs {
        if !available_idle_cpu(s, c) {
            idle = false;
            if idle_cpu.is_none() {
                if sched_idle_cpu(s, c) && cpus.test(c) {
                    *idle_cpu = Some(c);
                    break;
                }
                continue;
            }
            break;
        }
        if idle_cpu.is_none() && cpus.test(c) {
            *idle_cpu = Some(c);
        }
    }
    if idle {
        return Some(core);
    }
    let keep: Vec<u32> = cpus.iter().filter(|c| !sibs.contains(c)).collect();
    *cpus = CpuMask::from_list(s.nr_cpus() as usize, &keep);
    None
}

/// `test_idle_cores` (on demand).
fn test_idle_cores(s: &Sched, target: u32) -> bool {
    let llc = s.topo.llc_span(target);
    let any = llc
        .iter()
        .any(|c| s.topo.smt_siblings(c).all(|x| available_idle_cpu(s, x)));
    any
}

/// `select_idle_cpu`: scan the LLC from target+1.
fn select_idle_cpu(s: &mut Sched, p: TaskId, has_idle_core: bool, target: u32) -> Option<u32> {
    let n = s.nr_cpus();
    let llc = s.topo.llc_span(target);
    let mut cpus = CpuMask::from_list(
        n as usize,
        &llc.iter().filter(|&c| allowed(s, p, c)).collect::<Vec<_>>(),
    );
    let id = s.topo.llc_id[target as usize] as usize;
    let mut nr = s.topo.llc_shared[id].nr_idle_scan as i64 + 1;
    if nr == 1 {
        return None;
    }
    let mut idle_cpu = None;
    for c in wrap(n, &cpus.clone(), target + 1) {
        if !cpus.test(c) {
            continue;
        }
        if has_idle_core {
            if let Some(i) = select_idle_core(s, c, &mut cpus, &mut idle_cpu) {
                return Some(i);
            }
        } else {
            nr -= 1;
            if nr <= 0 {
                return None;
            }
            if idle_or_sched_idle(s, c) {
                idle_cpu = Some(c);
                break;
            }
        }
    }
    if has_idle_core {
        s.topo.llc_shared[id].has_idle_cores = false;
    }
    idle_cpu
}

/// `select_idle_capacity`: on asymmetric machines, the first idle CPU of
/// `sd_asym_cpucapacity` that fits the task (wrapping from target), else the idle one with
/// the most capacity.
fn select_idle_capacity(s: &Sched, p: TaskId, level: usize, target: u32) -> Option<u32> {
    let n = s.nr_cpus();
    let span = s.topo.sd[target as usize][level].span.clone();
    let util = task_util_est(s, p);
    let mut best: Option<(u64, u32)> = None;
    for c in wrap(n, &span, target) {
        if !allowed(s, p, c) || !idle_or_sched_idle(s, c) {
            continue;
        }
        if util_fits_cpu(s, util, c) {
            return Some(c);
        }
        let cap = capacity_of(s, c);
        if best.is_none_or(|(b, _)| cap > b) {
            best = Some((cap, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `asym_fits_cpu`: on an asymmetric machine, the task must fit the CPU.
fn asym_fits_cpu(s: &Sched, util: u64, cpu: u32) -> bool {
    !s.topo.asym_capacity || util_fits_cpu(s, util, cpu)
}

/// `select_idle_sibling(p, prev, target)`.
pub fn select_idle_sibling(s: &mut Sched, p: TaskId, prev: u32, target: u32) -> u32 {
    // On an asymmetric machine the task's utilization decides which CPUs fit it.
    let util = if s.topo.asym_capacity {
        let se = s.task(p).se;
        if s.fair.se(se).avg.last_update_time != 0 {
            super::pelt::sync_entity_load_avg(s, se);
        }
        task_util_est(s, p)
    } else {
        0
    };
    if idle_or_sched_idle(s, target) && asym_fits_cpu(s, util, target) {
        return target;
    }
    let cluster_active = s.topo.sd.iter().flatten().any(|d| d.has(sdf::CLUSTER));
    let share_res =
        |s: &Sched, a: u32, b: u32| s.topo.share_id[a as usize] == s.topo.share_id[b as usize];
    let mut prev_aff = None;
    if prev != target
        && s.topo.share_cache(prev, target)
        && idle_or_sched_idle(s, prev)
        && asym_fits_cpu(s, util, prev)
    {
        if !cluster_active || share_res(s, prev, target) {
            return prev;
        }
        prev_aff = Some(prev);
    }
    let recent = wake(s, p).recent_used_cpu;
    wake_mut(s, p).recent_used_cpu = Some(prev);
    let mut recent_ok = None;
    if let Some(r) = recent {
        if r != prev
            && r != target
            && r < s.nr_cpus()
            && s.topo.share_cache(r, target)
            && idle_or_sched_idle(s, r)
            && allowed(s, p, r)
            && asym_fits_cpu(s, util, r)
        {
            if !cluster_active || share_res(s, r, target) {
                return r;
            }
            recent_ok = Some(r);
        }
    }
    // Asymmetric capacity: the domain of interest is sd_asym_cpucapacity, not sd_llc.
    if s.topo.asym_capacity {
        if let Some(level) = s.topo.sd_asym_cpucapacity(target) {
            return select_idle_capacity(s, p, level, target).unwrap_or(target);
        }
    }
    if s.topo.sd_llc[target as usize].is_none() {
        return target;
    }
    let mut has_idle_core = false;
    if s.topo.smt_present {
        has_idle_core = test_idle_cores(s, target);
        if !has_idle_core && s.topo.share_cache(prev, target) {
            // select_idle_smt
            let llc = s.topo.llc_span(target);
            let sib: Vec<u32> = s.topo.smt_siblings(prev).collect();
            for c in sib {
                if c != prev && allowed(s, p, c) && llc.test(c) && idle_or_sched_idle(s, c) {
                    return c;
                }
            }
        }
    }
    if let Some(i) = select_idle_cpu(s, p, has_idle_core, target) {
        return i;
    }
    prev_aff.or(recent_ok).unwrap_or(target)
}

/// Stats of one group for the fork/exec path (`update_sg_wakeup_stats`).
#[derive(Clone, Debug)]
struct WakeStats {
    avg_load: u64,
    group_util: u64,
    idle_cpus: u32,
    nr_running: u32,
    group_type: GroupType,
    /// `sgc->max_capacity`.
    max_capacity: u64,
}

fn sg_wakeup_stats(
    s: &Sched,
    span: &CpuMask,
    weight: u32,
    pct: u64,
    asym: bool,
    p: TaskId,
) -> WakeStats {
    let (mut load, mut util, mut runnable) = (0, 0, 0);
    let (mut nr_sum, mut idle) = (0u32, 0u32);
    let (cap, _, max_capacity) = super::balance::group_capacity(s, span);
    // On an asymmetric domain, assume the task fits no CPU of the group until one does.
    let mut misfit = asym;
    for i in span.iter().filter(|&c| allowed(s, p, c)) {
        if misfit && task_fits_cpu(s, p, i) {
            misfit = false;
        }
        load += cpu_load_without(s, i, p);
        util += cpu_util_without(s, i, p);
        runnable += cpu_runnable_without(s, i, p);
        let t = s.task(p);
        let local = (t.cpu == i
            && s.fair.se(t.se).avg.last_update_time != 0
            && t.on_rq == OnRq::Queued) as u32;
        let nr = s.rq(i).nr_running - local;
        nr_sum += nr;
        let rq = s.rq(i);
        let idle_without = (rq.curr == rq.idle || rq.curr == p) && rq.ttwu_pending == 0;
        if nr == 0 && idle_without {
            idle += 1;
        }
    }
    // group_classify (no sgc->imbalance in the wakeup path)
    let overloaded = nr_sum > weight && (cap * 100 < util * pct || cap * pct < runnable * 100);
    let has_capacity = nr_sum < weight || (cap * pct >= runnable * 100 && cap * 100 > util * pct);
    let group_type = if overloaded {
        GroupType::Overloaded
    } else if misfit {
        GroupType::MisfitTask
    } else if !has_capacity {
        GroupType::FullyBusy
    } else {
        GroupType::HasSpare
    };
    let avg_load = if matches!(group_type, GroupType::Overloaded | GroupType::FullyBusy) {
        load * 1024 / cap
    } else {
        0
    };
    WakeStats {
        avg_load,
        group_util: util,
        idle_cpus: idle,
        nr_running: nr_sum,
        group_type,
        max_capacity,
    }
}

/// `sched_balance_find_dst_group`: the idlest group of a domain, or None to stay local.
fn find_idlest_group(s: &Sched, cpu: u32, level: usize, p: TaskId, this_cpu: u32) -> Option<usize> {
    let d = &s.topo.sd[cpu as usize][level];
    let pct = d.imbalance_pct;
    let mut idlest: Option<(usize, WakeStats)> = None;
    let mut local: Option<WakeStats> = None;
    for (gi, g) in d.groups.iter().enumerate() {
        if !g.span.iter().any(|c| allowed(s, p, c)) {
            continue;
        }
        let st = sg_wakeup_stats(s, &g.span, g.weight, pct, d.has(sdf::ASYM_CPUCAPACITY), p);
        if g.span.test(this_cpu) {
            local = Some(st);
            continue;
        }
        // update_pick_idlest
        let better = match &idlest {
            None => true,
            Some((_, b)) => {
                if st.group_type != b.group_type {
                    st.group_type < b.group_type
                } else {
                    match st.group_type {
                        GroupType::Overloaded | GroupType::FullyBusy => b.avg_load > st.avg_load,
                        // The group with the biggest CPU.
                        GroupType::MisfitTask => b.max_capacity < st.max_capacity,
                        GroupType::HasSpare => {
                            !(b.idle_cpus > st.idle_cpus
                                || (b.idle_cpus == st.idle_cpus && b.group_util <= st.group_util))
                        }
                        _ => false,
                    }
                }
            }
        };
        if better {
            idlest = Some((gi, st));
        }
    }
    let (gi, idl) = idlest?;
    let Some(loc) = local else {
        return Some(gi);
    };
    if loc.group_type < idl.group_type {
        return None;
    }
    if loc.group_type > idl.group_type {
        return Some(gi);
    }
    match loc.group_type {
        GroupType::MisfitTask if loc.max_capacity >= idl.max_capacity => return None,
        GroupType::Overloaded | GroupType::FullyBusy => {
            let imb = 1024 * (pct - 100) / 100;
            if idl.avg_load >= loc.avg_load + imb {
                return None;
            }
            if 100 * loc.avg_load <= pct * idl.avg_load {
                return None;
            }
        }
        GroupType::HasSpare => {
            if d.has(sdf::NUMA) {
                let nr = imb_numa_nr(s, cpu, level).min(s.task(p).nr_cpus_allowed as i64);
                let imb = (loc.idle_cpus as i64 - idl.idle_cpus as i64).abs();
                if adjust_numa_imbalance(imb, loc.nr_running as i64 + 1, nr) == 0 {
                    return None;
                }
            }
            if loc.idle_cpus >= idl.idle_cpus {
                return None;
            }
        }
        _ => {}
    }
    Some(gi)
}

/// `sched_balance_find_dst_group_cpu`.
fn find_idlest_group_cpu(s: &Sched, span: &CpuMask, p: TaskId, this_cpu: u32) -> u32 {
    if span.weight() == 1 {
        return span.first().unwrap_or(this_cpu);
    }
    let mut min_load = u64::MAX;
    let mut least = this_cpu;
    let mut latest_idle = 0;
    let mut shallowest = None;
    for i in span.iter().filter(|&c| allowed(s, p, c)) {
        if sched_idle_cpu(s, i) {
            return i;
        }
        if available_idle_cpu(s, i) {
            let stamp = s.rq(i).smp.idle_stamp;
            if stamp > latest_idle {
                latest_idle = stamp;
                shallowest = Some(i);
            }
        } else if shallowest.is_none() {
            let l = cpu_load(s, i);
            if l < min_load {
                min_load = l;
                least = i;
            }
        }
    }
    shallowest.unwrap_or(least)
}

/// `sched_balance_find_dst_cpu`: the fork/exec slow path from `level` down.
fn find_idlest_cpu(
    s: &Sched,
    mut cpu: u32,
    level: usize,
    p: TaskId,
    prev: u32,
    sd_flag: u32,
) -> u32 {
    let span = &s.topo.sd[cpu as usize][level].span;
    if !span.iter().any(|c| allowed(s, p, c)) {
        return prev;
    }
    let mut new_cpu = cpu;
    let mut lvl = Some(level);
    while let Some(l) = lvl {
        let d = &s.topo.sd[cpu as usize][l];
        let child = l.checked_sub(1);
        if d.flags & sd_flag == 0 {
            lvl = child;
            continue;
        }
        let Some(gi) = find_idlest_group(s, cpu, l, p, cpu) else {
            lvl = child;
            continue;
        };
        let gspan = d.groups[gi].span.clone();
        new_cpu = find_idlest_group_cpu(s, &gspan, p, cpu);
        if new_cpu == cpu {
            lvl = child;
            continue;
        }
        let weight = d.span_weight;
        cpu = new_cpu;
        lvl = None;
        for (i, t) in s.topo.sd[cpu as usize].iter().enumerate() {
            if weight <= t.span_weight {
                break;
            }
            if t.flags & sd_flag != 0 {
                lvl = Some(i);
            }
        }
    }
    new_cpu
}

/// `select_task_rq_fair(p, prev_cpu, wake_flags)`; the waking CPU is `s.this_cpu`.
pub fn select_task_rq_fair(s: &mut Sched, p: TaskId, prev_cpu: u32, wake_flags: u32) -> u32 {
    let this_cpu = s.this_cpu;
    let current = s.curr(this_cpu);
    let sync = wake_flags & wf::SYNC != 0 && s.task(current).state != tstate::DEAD;
    let sd_flag = wake_flags & 0xF;
    let mut new_cpu = prev_cpu;
    let mut want_affine = false;
    // The reference VM's vendor patch packs onto busy CPUs first (vcpu_pack.rs).
    if let Some(cpu) = super::vcpu_pack::select(s, p, prev_cpu, this_cpu, wake_flags, sync) {
        return cpu;
    }
    if wake_flags & wf::TTWU != 0 {
        record_wakee(s, current, p);
        if wake_flags & wf::CURRENT_CPU != 0 && allowed(s, p, this_cpu) {
            return this_cpu;
        }
        want_affine = !wake_wide(s, current, p, this_cpu) && allowed(s, p, this_cpu);
    }
    let mut sd_sel = None;
    for i in 0..s.topo.sd[this_cpu as usize].len() {
        let d = &s.topo.sd[this_cpu as usize][i];
        if want_affine && d.has(sdf::WAKE_AFFINE) && d.span.test(prev_cpu) {
            if this_cpu != prev_cpu {
                let pct = d.imbalance_pct;
                new_cpu = wake_affine(s, pct, current, p, this_cpu, prev_cpu, sync);
                if new_cpu == this_cpu {
                    // wake_affine's schedstat_inc(sd->ttwu_move_affine).
                    s.topo.sd[this_cpu as usize][i].stat.ttwu_move_affine += 1;
                }
            }
            sd_sel = None;
            break;
        }
        if d.flags & sd_flag != 0 {
            sd_sel = Some(i);
        } else if !want_affine {
            break;
        }
    }
    if let Some(l) = sd_sel {
        find_idlest_cpu(s, this_cpu, l, p, prev_cpu, sd_flag)
    } else if wake_flags & wf::TTWU != 0 {
        select_idle_sibling(s, p, prev_cpu, new_cpu)
    } else {
        new_cpu
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use schedsim_trace::Comm;

    /// A machine with `spec`, and one task per CPU listed in `busy` made current there.
    fn machine(spec: &str, busy: &[u32]) -> (Sched, TaskId) {
        let cfg = Config::parse_machine(spec).unwrap();
        let mut s = Sched::new(cfg, false);
        for &c in busy {
            let t = s.new_task(Comm::new("busy"), c);
            s.rqs[c as usize].curr = t;
            s.rqs[c as usize].nr_running = 1;
        }
        let p = s.new_task(Comm::new("p"), 0);
        (s, p)
    }

    #[test]
    fn idle_target_then_idle_prev_then_recent() {
        let (mut s, p) = machine("cpus=4", &[0, 1]);
        // Target idle: target.
        assert_eq!(select_idle_sibling(&mut s, p, 1, 2), 2);
        // Target busy, prev idle in the same LLC: prev.
        assert_eq!(select_idle_sibling(&mut s, p, 3, 0), 3);
        // Both busy: recent_used_cpu if idle (then recent becomes prev).
        wake_mut(&mut s, p).recent_used_cpu = Some(3);
        assert_eq!(select_idle_sibling(&mut s, p, 1, 0), 3);
        assert_eq!(wake(&s, p).recent_used_cpu, Some(1));
        // Nothing idle among target/prev/recent and SIS_UTIL allows no scan (nr_idle_scan
        // 0 until periodic balancing computes it): target.
        s.rqs[3].nr_running = 1;
        s.rqs[3].curr = s.rqs[0].curr;
        assert_eq!(select_idle_sibling(&mut s, p, 1, 0), 0);
        // With a scan budget, the LLC is scanned from target+1: CPU 2.
        s.topo.llc_shared[0].nr_idle_scan = 4;
        assert_eq!(select_idle_sibling(&mut s, p, 1, 0), 2);
    }

    /// `__set_task_cpu` keeps `p->wake_cpu` with the task, so the next wakeup's
    /// placement starts from the CPU the task last ran on, wherever it came from.
    #[test]
    fn a_migrated_task_wakes_from_its_new_cpu() {
        let (mut s, p) = machine("cpus=2", &[]);
        s.set_task_cpu(
            crate::sched::Ctx::Task(0),
            p,
            1,
            crate::stats::MigrationCause::Wakeup,
        );
        assert_eq!((s.task(p).cpu, s.task(p).wake_cpu), (1, 1));
        // Its timer fires on CPU 1, idle like CPU 0: it stays where it is.
        s.this_cpu = 1;
        let mut flags = crate::class::wf::TTWU;
        let wake_cpu = s.task(p).wake_cpu;
        assert_eq!(s.select_task_rq(p, wake_cpu, &mut flags), 1);
    }

    #[test]
    fn wake_affine_idle_and_sync_rules() {
        let (mut s, p) = machine("cpus=2", &[1]);
        let cur = s.rqs[1].curr;
        // This CPU (0) idle, prev (1) busy, same LLC: this.
        assert_eq!(wake_affine(&mut s, 117, cur, p, 0, 1, false), 0);
        let (mut s, p) = machine("cpus=2", &[0]);
        let cur = s.rqs[0].curr;
        // Prev idle: prev.
        assert_eq!(wake_affine(&mut s, 117, cur, p, 0, 1, false), 1);
        let (mut s, p) = machine("cpus=2", &[0, 1]);
        let cur = s.rqs[0].curr;
        // Sync wakeup from a CPU running only the waker: this.
        assert_eq!(wake_affine(&mut s, 117, cur, p, 0, 1, true), 0);
    }

    #[test]
    fn wake_affine_weight_compares_loads() {
        let (mut s, p) = machine("cpus=2", &[0, 1]);
        let cur = s.rqs[0].curr;
        let (c0, c1) = (s.rqs[0].cfs, s.rqs[1].cfs);
        let pse = s.task(p).se;
        s.fair.se_mut(pse).avg.load_avg = 500;
        // this = (100 + 500)·100·1024 = 61440000 < prev = (2000 − 500)·108·1024: this.
        s.fair.cfs_mut(c0).avg.load_avg = 100;
        s.fair.cfs_mut(c1).avg.load_avg = 2000;
        assert_eq!(wake_affine(&mut s, 117, cur, p, 0, 1, false), 0);
        // A loaded waker CPU: prev.
        s.fair.cfs_mut(c0).avg.load_avg = 2000;
        s.fair.cfs_mut(c1).avg.load_avg = 600;
        assert_eq!(wake_affine(&mut s, 117, cur, p, 0, 1, false), 1);
    }

    #[test]
    fn wakeup_prefers_idle_prev_and_fork_goes_to_the_idlest_cpu() {
        let (mut s, p) = machine("cpus=2", &[0]);
        s.task_mut(p).cpu = 1;
        s.this_cpu = 0;
        assert_eq!(select_task_rq_fair(&mut s, p, 1, wf::TTWU), 1);
        // Fork from busy CPU 0: the idle CPU 1.
        let (mut s, p) = machine("cpus=2", &[0]);
        s.this_cpu = 0;
        assert_eq!(select_task_rq_fair(&mut s, p, 0, wf::FORK), 1);
        // Wake-wide pairs are not pulled to the waker's CPU.
        let (mut s, p) = machine("laptop", &[0]);
        s.this_cpu = 0;
        let cur = s.rqs[0].curr;
        let se = s.task(cur).se;
        s.fair.se_mut(se).wake.wakee_flips = 100;
        let pse = s.task(p).se;
        s.fair.se_mut(pse).wake.wakee_flips = 10;
        assert!(wake_wide(&s, cur, p, 0));
    }
}
