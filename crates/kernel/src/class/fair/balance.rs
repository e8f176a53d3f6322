//! Load balancing (kernel/sched/fair.c): periodic balancing per domain on the jiffies grid
//! (`sched_balance_trigger` → `sched_balance_softirq` → `sched_balance_domains`),
//! `sched_balance_rq` with group classification and `calculate_imbalance`,
//! `detach_tasks`/`can_migrate_task`, newidle balancing (`sched_balance_newidle`), active
//! balancing (`active_load_balance_cpu_stop`, run by the busiest CPU's stopper) and the
//! NOHZ idle balance.
//!
//! Simplifications (see the report in docs): the NOHZ kick runs the idle balance
//! synchronously on the kicked CPU (as with zero IPI latency); no NUMA balancing,
//! no asym packing; `rd->overloaded` is computed on demand; the 6.17/6.18 newidle cost
//! bump is not modelled (NI_RANDOM is: `update_newidle_stats`). A group's `sgc->capacity`/`min_capacity`/
//! `max_capacity` are the sum, min and max of its CPUs' `capacity_of` (each refreshed by
//! `update_cpu_capacity` when that CPU balances its lowest domain), not the shared,
//! per-level cached sums. No energy model, so no EAS (`find_energy_efficient_cpu`) and no
//! overutilized state; no uclamp (`util_fits_cpu` is `fits_capacity`).
//!
//! Asymmetric capacity (big.LITTLE, `SD_ASYM_CPUCAPACITY(_FULL)` from the topology):
//! `update_misfit_status` at the tick and at each pick, `group_misfit_task`, the
//! `migrate_misfit` imbalance moving the biggest misfit task by active balance, the misfit
//! and capacity checks of `update_sd_pick_busiest` and `sched_balance_find_src_rq`, and
//! the NOHZ kick for a misfit task. RT/DL pressure: `capacity_of` is `rq->cpu_capacity`
//! (`scale_rt_capacity`: the arch capacity less the rt and dl PELT signals), used by
//! `check_cpu_capacity`, `sched_reduced_capacity` and `need_active_balance`.
//!
//! The tick's softirq half (`run_tick_softirqs`) runs after the CPUs whose tick raised no
//! softirq have rescheduled (events.rs, rule 5).

use schedsim_workload::Dur;
use std::collections::VecDeque;

use super::group::{task_h_load, update_task_h_load};
use super::pelt::{
    capacity_greater, capacity_of, check_cpu_capacity, cpu_load, cpu_runnable, cpu_util_cfs,
    cpu_util_cfs_boost, task_fits_cpu, task_util_est, update_blocked_averages, update_cpu_capacity,
};
use crate::class::{dequeue, enqueue, ClassId};
use crate::core::stopper::CpuStopWork;
use crate::cpumask::CpuMask;
use crate::sched::{Ctx, Sched};
use crate::task::TaskId;
use crate::topology::{sdf, SchedDomain};
use schedsim_workload::Policy;

/// Per-rq state of SMP scheduling (fields of `struct rq`).
#[derive(Clone, Debug, Default)]
pub struct RqSmp {
    /// `clock_pelt` and the clock_task it was last advanced at.
    pub clock_pelt: u64,
    pub pelt_stamp: u64,
    /// `next_balance` (jiffies).
    pub next_balance: u64,
    /// `idle_balance`: the CPU was idle at its last tick.
    pub idle_balance: bool,
    /// `idle_stamp` (0: not newly idle), `avg_idle`, `max_idle_balance_cost` (ns).
    pub idle_stamp: u64,
    pub avg_idle: u64,
    pub max_idle_balance_cost: u64,
    /// `active_balance`: an `active_load_balance_cpu_stop` work is pending on this CPU's
    /// stopper.
    pub active_balance: bool,
    /// `rq->cfs_tasks`: fair tasks queued here, most recently picked first.
    pub cfs_tasks: VecDeque<TaskId>,
    /// SCHED_SOFTIRQ raised by this CPU's tick, run at its irq exit (`run_tick_softirqs`).
    pub balance_softirq: bool,
    /// This CPU's tick checks whether to kick an idle CPU (`nohz_balancer_kick`).
    pub nohz_kick_check: bool,
    /// `rq->avg_rt`, `rq->avg_dl`: PELT signals of the rt and dl classes running here.
    pub avg_rt: super::pelt::SchedAvg,
    pub avg_dl: super::pelt::SchedAvg,
    /// `rq->cpu_capacity`: what rt/dl pressure leaves to CFS (`update_cpu_capacity`).
    pub cpu_capacity: u64,
    /// `rq->misfit_task_load`: the running task does not fit this CPU (asymmetric
    /// capacity), with its load (`update_misfit_status`).
    pub misfit_task_load: u64,
}

/// `enum cpu_idle_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idle {
    NotIdle,
    Idle,
    NewlyIdle,
}

/// `enum group_type`, in order of increasing imbalance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupType {
    HasSpare,
    FullyBusy,
    MisfitTask,
    SmtBalance,
    AsymPacking,
    Imbalanced,
    Overloaded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MigrationType {
    Load,
    Util,
    Task,
    Misfit,
}

/// `struct sg_lb_stats`.
#[derive(Clone, Debug)]
struct SgStats {
    avg_load: u64,
    group_load: u64,
    group_capacity: u64,
    group_util: u64,
    group_runnable: u64,
    sum_nr_running: u32,
    sum_h_nr_running: u32,
    idle_cpus: u32,
    group_weight: u32,
    group_type: GroupType,
    cores: u32,
    smt_group: bool,
    /// `group_misfit_task_load`.
    misfit_load: u64,
    /// `sgc->min_capacity` / `sgc->max_capacity`.
    min_capacity: u64,
    max_capacity: u64,
}

impl Default for SgStats {
    fn default() -> Self {
        SgStats {
            avg_load: 0,
            group_load: 0,
            group_capacity: 0,
            group_util: 0,
            group_runnable: 0,
            sum_nr_running: 0,
            sum_h_nr_running: 0,
            idle_cpus: u32::MAX,
            group_weight: 0,
            group_type: GroupType::HasSpare,
            cores: 0,
            smt_group: false,
            misfit_load: 0,
            min_capacity: 0,
            max_capacity: 0,
        }
    }
}

struct Env {
    cpu: u32,
    level: usize,
    dst_cpu: u32,
    src_cpu: u32,
    idle: Idle,
    imbalance: i64,
    migration_type: MigrationType,
    cpus: CpuMask,
    loop_: u32,
    loop_max: u32,
    loop_break: u32,
    all_pinned: bool,
    some_pinned: bool,
    dst_pinned: bool,
    need_break: bool,
    new_dst_cpu: u32,
    active: bool,
    /// `dst_core_idle`: no SMT, or the destination's core is idle.
    dst_core_idle: bool,
}

impl Env {
    /// The `struct lb_env` initializer of `sched_balance_rq` and
    /// `active_load_balance_cpu_stop`: balancing into `dst_cpu` over `cpus`.
    fn new(dst_cpu: u32, level: usize, src_cpu: u32, idle: Idle, cpus: CpuMask) -> Env {
        Env {
            cpu: dst_cpu,
            level,
            dst_cpu,
            src_cpu,
            idle,
            imbalance: 0,
            migration_type: MigrationType::Load,
            cpus,
            loop_: 0,
            loop_max: 0,
            loop_break: SCHED_NR_MIGRATE_BREAK,
            all_pinned: false,
            some_pinned: false,
            dst_pinned: false,
            need_break: false,
            new_dst_cpu: dst_cpu,
            active: false,
            dst_core_idle: false,
        }
    }
}

pub const SCHED_NR_MIGRATE_BREAK: u32 = 32;
pub const MAX_PINNED_INTERVAL: u64 = 512;

fn msecs_to_jiffies(s: &Sched, ms: u64) -> u64 {
    (ms * s.cfg.hz as u64).div_ceil(1000)
}

/// `max_load_balance_interval`: HZ·ncpus/10.
fn max_lb_interval(s: &Sched) -> u64 {
    (s.cfg.hz as u64 * s.nr_cpus() as u64 / 10).max(1)
}

fn sd(s: &Sched, cpu: u32, level: usize) -> &SchedDomain {
    &s.topo.sd[cpu as usize][level]
}

fn sd_mut(s: &mut Sched, cpu: u32, level: usize) -> &mut SchedDomain {
    &mut s.topo.sd[cpu as usize][level]
}

/// `sched_idle_cpu`: only SCHED_IDLE tasks are queued.
pub fn sched_idle_cpu(s: &Sched, cpu: u32) -> bool {
    let rq = s.rq(cpu);
    rq.nr_running > 0 && rq.nr_running == s.fair.cfs(rq.cfs).h_nr_idle
}

fn h_nr_queued(s: &Sched, cpu: u32) -> u32 {
    s.fair.cfs(s.rq(cpu).cfs).h_nr_queued
}

/// Boot-time per-rq values (`sched_init`).
pub fn init_rq(s: &mut Sched) {
    let mc = s.cfg.migration_cost_ns;
    for cpu in 0..s.nr_cpus() {
        let cap = s.topo.capacity(cpu);
        let r = &mut s.rq_mut(cpu).smp;
        r.avg_idle = 2 * mc;
        r.max_idle_balance_cost = mc;
        r.cpu_capacity = cap;
        // The PELT clock starts at PELT_EPOCH (rq_clock_pelt).
        r.avg_rt.last_update_time = super::pelt::PELT_EPOCH;
        r.avg_dl.last_update_time = super::pelt::PELT_EPOCH;
    }
    // A running machine's NI_RANDOM statistics (`Config::newidle_ratio`): the state right
    // after an update (`update_newidle_stats` halves the counts), as sd_init's is.
    if let Some(ratio) = s.cfg.newidle_ratio {
        for d in s.topo.sd.iter_mut().flatten() {
            d.newidle_ratio = ratio;
            d.newidle_call = 512;
            d.newidle_success = ratio / 2;
        }
    }
}

/// `max_allowed_capacity` of a task: the biggest capacity among the CPUs it may run on
/// (`set_task_max_allowed_capacity`, computed on demand).
fn max_allowed_capacity(s: &Sched, p: TaskId) -> u64 {
    s.task(p)
        .cpus_allowed
        .iter()
        .map(|c| s.topo.capacity(c))
        .max()
        .unwrap_or(0)
}

/// `update_misfit_status` (task_tick_fair, the first set_next_task_fair of a pick, and
/// with no task when the CPU goes newly idle): on an asymmetric machine, record the load
/// of a running task that does not fit this CPU while a bigger one is allowed.
pub fn update_misfit_status(s: &mut Sched, cpu: u32, p: Option<TaskId>) {
    if !s.topo.asym_capacity {
        return;
    }
    let load = match p {
        Some(p)
            if s.task(p).nr_cpus_allowed > 1
                && s.topo.capacity(cpu) != max_allowed_capacity(s, p)
                && !task_fits_cpu(s, p, cpu) =>
        {
            update_task_h_load(s, p);
            task_h_load(s, p).max(1)
        }
        _ => 0,
    };
    s.rq_mut(cpu).smp.misfit_task_load = load;
}

/// `get_sd_balance_interval`.
fn sd_balance_interval(s: &Sched, d: &SchedDomain, busy: bool) -> u64 {
    let mut iv = d.balance_interval;
    if busy {
        iv *= d.busy_factor;
    }
    let mut j = msecs_to_jiffies(s, iv);
    if busy {
        j = j.saturating_sub(1);
    }
    j.clamp(1, max_lb_interval(s))
}

/// `sched_balance_trigger` (from `sched_tick`, in the tick's hard interrupt): raise the
/// balance softirq when due, and check whether to kick an idle CPU for NOHZ balancing.
/// Both run later, at irq exit (`run_tick_softirqs`).
pub fn sched_balance_trigger(s: &mut Sched, cpu: u32) {
    if s.topo.sd[cpu as usize].is_empty() {
        return;
    }
    s.rq_mut(cpu).smp.idle_balance = s.idle_cpu(cpu);
    if s.jiffies() >= s.rq(cpu).smp.next_balance {
        s.rq_mut(cpu).smp.balance_softirq = true;
    }
    s.rq_mut(cpu).smp.nohz_kick_check = true;
    s.fair.tick_softirq_cpus.push(cpu);
    // The softirq runs at irq exit, which the cost model puts one resched path later
    // (once per instant: the ticks of one instant exit together).
    if s.cfg.resched_latency == Dur::Fixed(0) {
        s.fair.tick_softirq_ready = true;
    } else if s.fair.tick_softirq_cpus.len() == 1 {
        let lat = s.path_cost(s.cfg.resched_latency);
        s.queue
            .push(s.now + lat, crate::events::EventKind::TickSoftirq);
    }
}

/// Whether a tick raised a balance softirq that has not run yet.
pub fn softirq_pending(s: &Sched, cpu: u32) -> bool {
    s.rq(cpu).smp.balance_softirq
}

/// Whether some tick of this instant raised a balance softirq.
pub fn any_softirq_pending(s: &Sched) -> bool {
    s.fair
        .tick_softirq_cpus
        .iter()
        .any(|&c| s.rq(c).smp.balance_softirq)
}

/// The irq-exit half of the ticks of one instant: each raised balance softirq
/// (`sched_balance_softirq`), in CPU order, then the NOHZ kicks (the kicked idle CPU
/// balances after the IPI reaches it).
///
/// The event loop runs this after the CPUs whose tick raised no softirq have passed their
/// preemption point: on the hardware their `schedule()` at irq exit follows the tick
/// handler at once, while a balancing CPU first runs the softirq (blocked-load decay, the
/// domain walk, the group statistics) before it looks at a remote runqueue. So a task that
/// a remote tick just switched out is seen as the tail of that CPU's `cfs_tasks`, cache hot
/// (`exec_start` = now), as the kernel sees it.
pub fn run_tick_softirqs(s: &mut Sched) {
    if s.fair.tick_softirq_cpus.is_empty() {
        return;
    }
    let mut cpus = std::mem::take(&mut s.fair.tick_softirq_cpus);
    cpus.sort_unstable();
    // Each softirq runs on its own CPU (`smp_processor_id()`: a pulled task's
    // `wakeup_preempt` is local there).
    for &cpu in &cpus {
        if std::mem::take(&mut s.rq_mut(cpu).smp.balance_softirq) {
            s.this_cpu = cpu;
            s.update_rq_clock(cpu);
            sched_balance_softirq(s, cpu);
        }
    }
    for &cpu in &cpus {
        if std::mem::take(&mut s.rq_mut(cpu).smp.nohz_kick_check) {
            s.this_cpu = cpu;
            nohz_balancer_kick(s, cpu);
        }
    }
}

/// `sched_balance_softirq`.
fn sched_balance_softirq(s: &mut Sched, cpu: u32) {
    let idle = if s.rq(cpu).smp.idle_balance {
        Idle::Idle
    } else {
        Idle::NotIdle
    };
    update_blocked_averages(s, cpu);
    sched_balance_domains(s, cpu, idle);
}

/// `update_newidle_stats` (6.18.5+): count a newidle pass and its (weighted) success; every
/// 1024 passes the success count becomes the ratio and both counts halve.
fn update_newidle_stats(d: &mut SchedDomain, success: u32) {
    d.newidle_call += 1;
    d.newidle_success += success;
    if d.newidle_call >= 1024 {
        d.newidle_ratio = d.newidle_success;
        d.newidle_call /= 2;
        d.newidle_success /= 2;
    }
}

/// `update_newidle_cost`: decay max_newidle_lb_cost by 1% a second.
fn update_newidle_cost(s: &mut Sched, cpu: u32, level: usize, cost: u64) -> bool {
    let j = s.jiffies();
    let hz = s.cfg.hz as u64;
    let d = sd_mut(s, cpu, level);
    if cost > d.max_newidle_lb_cost {
        d.max_newidle_lb_cost = cost;
        d.last_decay_max_lb_cost = j;
    } else if j > d.last_decay_max_lb_cost + hz {
        d.max_newidle_lb_cost = d.max_newidle_lb_cost * 253 / 256;
        d.last_decay_max_lb_cost = j;
        return true;
    }
    false
}

/// `sched_balance_domains`: balance each level whose interval elapsed, bottom-up.
fn sched_balance_domains(s: &mut Sched, cpu: u32, mut idle: Idle) {
    let mut busy = idle != Idle::Idle && !sched_idle_cpu(s, cpu);
    let j = s.jiffies();
    let mut next_balance = j + 60 * s.cfg.hz as u64;
    let mut update_next = false;
    let mut continue_balancing = true;
    let mut need_decay = false;
    let mut max_cost = 0;
    for level in 0..s.topo.sd[cpu as usize].len() {
        need_decay = update_newidle_cost(s, cpu, level, 0);
        max_cost += sd(s, cpu, level).max_newidle_lb_cost;
        if !continue_balancing {
            if need_decay {
                continue;
            }
            break;
        }
        let mut iv = sd_balance_interval(s, sd(s, cpu, level), busy);
        if j >= sd(s, cpu, level).last_balance + iv {
            if sched_balance_rq(s, cpu, level, idle, &mut continue_balancing) > 0 {
                idle = if s.idle_cpu(cpu) {
                    Idle::Idle
                } else {
                    Idle::NotIdle
                };
                busy = idle != Idle::Idle && !sched_idle_cpu(s, cpu);
            }
            sd_mut(s, cpu, level).last_balance = j;
            iv = sd_balance_interval(s, sd(s, cpu, level), busy);
        }
        let last = sd(s, cpu, level).last_balance;
        if next_balance > last + iv {
            next_balance = last + iv;
            update_next = true;
        }
    }
    if need_decay {
        let mc = s.cfg.migration_cost_ns;
        s.rq_mut(cpu).smp.max_idle_balance_cost = mc.max(max_cost);
    }
    if update_next {
        s.rq_mut(cpu).smp.next_balance = next_balance;
    }
}

/// `is_core_idle`.
fn is_core_idle(s: &Sched, cpu: u32) -> bool {
    s.topo.smt_siblings(cpu).all(|c| c == cpu || s.idle_cpu(c))
}

/// `should_we_balance`: only one CPU of the local group balances a domain.
fn should_we_balance(s: &Sched, env: &Env) -> bool {
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

/// `group_is_overloaded`.
fn group_is_overloaded(pct: u64, g: &SgStats) -> bool {
    if g.sum_nr_running <= g.group_weight {
        return false;
    }
    g.group_capacity * 100 < g.group_util * pct || g.group_capacity * pct < g.group_runnable * 100
}

/// `group_has_capacity`.
fn group_has_capacity(pct: u64, g: &SgStats) -> bool {
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
fn update_group_capacity(s: &mut Sched, cpu: u32, level: usize) {
    let j = s.jiffies();
    let iv = msecs_to_jiffies(s, sd(s, cpu, level).balance_interval).clamp(1, max_lb_interval(s));
    sd_mut(s, cpu, level).groups[0].next_update = j + iv;
    if level == 0 {
        update_cpu_capacity(s, cpu);
    }
}

/// `update_sg_lb_stats` + `group_classify`.
fn sg_lb_stats(s: &Sched, env: &Env, gi: usize) -> SgStats {
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
fn pick_busiest(
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
fn sibling_imbalance(env: &Env, busiest: &SgStats, local: &SgStats) -> i64 {
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
fn find_src_group(s: &mut Sched, env: &mut Env) -> Option<usize> {
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
fn update_idle_cpu_scan(s: &mut Sched, env: &Env, sum_util: u64) {
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

/// `sched_balance_find_src_rq`.
fn find_src_rq(s: &Sched, env: &Env, gi: usize) -> Option<u32> {
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
fn task_hot(s: &Sched, env: &Env, p: TaskId) -> bool {
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
fn can_migrate_task(s: &Sched, env: &mut Env, p: TaskId) -> bool {
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
fn task_is_ineligible_on_dst_cpu(s: &Sched, p: TaskId, dst: u32) -> bool {
    let se = s.task(p).se;
    let dst_cfs = s.fair.tg(s.task(p).sched_task_group).cfs_rq[dst as usize];
    s.cfg.features.place_lag
        && s.fair.cfs(dst_cfs).nr_queued > 0
        && !s.fair.entity_eligible(s.fair.cfs_rq_of(se), se)
}

/// `detach_task` + `attach_task`: move a queued task between rqs.
fn move_task(s: &mut Sched, ctx: Ctx, p: TaskId, dst: u32) {
    s.migrate_queued_task(ctx, p, dst, dequeue::MIGRATING, enqueue::MIGRATED);
    s.wakeup_preempt(dst, p, 0);
}

/// `detach_tasks` + `attach_tasks`: returns the number moved.
fn detach_tasks(s: &mut Sched, env: &mut Env, ctx: Ctx) -> u32 {
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
    detached
}

/// `need_active_balance`.
fn need_active_balance(s: &Sched, env: &Env) -> bool {
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
fn sched_balance_rq(s: &mut Sched, cpu: u32, level: usize, idle: Idle, cont: &mut bool) -> u32 {
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
    'redo: loop {
        if !should_we_balance(s, &env) {
            *cont = false;
            return out_balanced(s, &env, has_parent);
        }
        let Some(gi) = find_src_group(s, &mut env) else {
            return out_balanced(s, &env, has_parent);
        };
        let Some(busiest) = find_src_rq(s, &env, gi) else {
            return out_balanced(s, &env, has_parent);
        };
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
                sd_mut(s, cpu, level).nr_balance_failed = 0;
                return out_one_pinned(s, &env);
            }
        }
        break;
    }
    if ld_moved == 0 {
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

fn out_balanced(s: &mut Sched, env: &Env, has_parent: bool) -> u32 {
    if has_parent && !env.all_pinned {
        sd_mut(s, env.cpu, env.level + 1).groups[0].imbalance = false;
    }
    sd_mut(s, env.cpu, env.level).nr_balance_failed = 0;
    out_one_pinned(s, env)
}

fn out_one_pinned(s: &mut Sched, env: &Env) -> u32 {
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
        if let Some(p) = p {
            move_task(s, Ctx::Task(cpu), p, target);
            sd_mut(s, target, level).nr_balance_failed = 0;
        }
    }
    s.rq_mut(cpu).smp.active_balance = false;
}

/// `rd->overloaded` (computed on demand): some rq has more than one task, or (what
/// `update_sg_lb_stats` also counts on asymmetric domains) a misfit task.
fn rd_overloaded(s: &Sched) -> bool {
    (0..s.nr_cpus()).any(|c| s.rq(c).nr_running >= 2 || s.rq(c).smp.misfit_task_load != 0)
}

/// `update_next_balance`.
fn update_next_balance(s: &Sched, cpu: u32, level: usize, next: &mut u64) {
    let d = sd(s, cpu, level);
    let n = d.last_balance + sd_balance_interval(s, d, false);
    if *next > n {
        *next = n;
    }
}

/// `sched_balance_newidle`: a CPU about to go idle pulls work. Returns >0 if a fair task
/// was pulled, <0 if a higher class has work.
pub fn sched_balance_newidle(s: &mut Sched, cpu: u32) -> i32 {
    update_misfit_status(s, cpu, None);
    if s.topo.sd[cpu as usize].is_empty() || s.rq(cpu).ttwu_pending > 0 {
        return 0;
    }
    let now = s.now;
    s.rq_mut(cpu).smp.idle_stamp = now;
    let j = s.jiffies();
    let mut next_balance = j + s.cfg.hz as u64;
    let avg_idle = s.rq(cpu).smp.avg_idle;
    let mut pulled = 0;
    if !rd_overloaded(s) || avg_idle < sd(s, cpu, 0).max_newidle_lb_cost {
        update_next_balance(s, cpu, 0, &mut next_balance);
    } else {
        update_blocked_averages(s, cpu);
        let mut curr_cost = 0;
        let mut cont = true;
        for level in 0..s.topo.sd[cpu as usize].len() {
            update_next_balance(s, cpu, level, &mut next_balance);
            let d = sd(s, cpu, level);
            if avg_idle < curr_cost + d.max_newidle_lb_cost {
                break;
            }
            if d.has(sdf::BALANCE_NEWIDLE) {
                let mut weight = 1;
                if s.cfg.features.ni_random {
                    // NI_RANDOM: a 1024-sided die; pass at the domain's success rate, and
                    // weigh a success by the inverse of that chance (rounded).
                    let d1k = s.sched_rng(cpu) % 1024;
                    weight = 1 + sd(s, cpu, level).newidle_ratio;
                    if d1k > weight {
                        update_newidle_stats(sd_mut(s, cpu, level), 0);
                        continue;
                    }
                    weight = (1024 + weight / 2) / weight;
                }
                pulled = sched_balance_rq(s, cpu, level, Idle::NewlyIdle, &mut cont);
                // The simulation charges no time to the balance pass itself; the kernel's
                // pass always costs some, so its statistics always count it.
                update_newidle_stats(sd_mut(s, cpu, level), weight * (pulled > 0) as u32);
                update_newidle_cost(s, cpu, level, 0);
                curr_cost += sd(s, cpu, level).max_newidle_lb_cost;
            }
            if pulled > 0 || s.rq(cpu).nr_running > 0 {
                break;
            }
        }
    }
    let r = &mut s.rq_mut(cpu).smp;
    if r.next_balance > next_balance {
        r.next_balance = next_balance;
    }
    if pulled > 0 {
        r.idle_stamp = 0;
    }
    if s.rq(cpu).nr_running > h_nr_queued(s, cpu) {
        return -1;
    }
    pulled as i32
}

/// The wakeup side of idle_stamp/avg_idle (`ttwu_do_activate`): a CPU that went newly idle
/// gets work.
pub fn note_wakeup(s: &mut Sched, cpu: u32) {
    let now = s.now;
    let r = &mut s.rq_mut(cpu).smp;
    if r.idle_stamp != 0 {
        let delta = now - r.idle_stamp;
        let max = 2 * r.max_idle_balance_cost;
        // update_avg: avg += (sample − avg)/8
        let avg = r.avg_idle as i64 + (delta as i64 - r.avg_idle as i64) / 8;
        r.avg_idle = (avg.max(0) as u64).min(max);
        r.idle_stamp = 0;
    }
}

/// NOHZ idle balance (`nohz_balancer_kick` + `kick_ilb` + `nohz_idle_balance`): a busy CPU
/// whose rq holds two or more tasks kicks the first tickless idle CPU, which balances for
/// every idle CPU that is due.
fn nohz_balancer_kick(s: &mut Sched, cpu: u32) {
    if s.idle_cpu(cpu) || !s.cfg.nohz_idle {
        return;
    }
    let j = s.jiffies();
    if j < s.fair.nohz_next_balance {
        return;
    }
    let idle: Vec<u32> = (0..s.nr_cpus())
        .filter(|&c| c != cpu && s.idle_cpu(c) && !s.rq(c).tick_running)
        .collect();
    let Some(&ilb) = idle.first() else {
        return;
    };
    let mut kick = s.rq(cpu).nr_running >= 2;
    // A CFS task on a CPU whose capacity rt/dl pressure reduced: see if a better CPU can
    // take it.
    if !kick && !s.topo.sd[cpu as usize].is_empty() {
        kick = h_nr_queued(s, cpu) >= 1 && check_cpu_capacity(s, cpu, sd(s, cpu, 0).imbalance_pct);
    }
    if !kick {
        if s.topo.sd_asym_cpucapacity(cpu).is_some() {
            // Asymmetric capacity: only a misfit task calls for a bigger CPU (no LLC
            // spreading).
            kick = s.rq(cpu).smp.misfit_task_load != 0;
        } else {
            // More than one busy CPU in the LLC (sd_llc_shared->nr_busy_cpus > 1).
            let llc = s.topo.llc_span(cpu);
            kick = llc.iter().filter(|&c| !s.idle_cpu(c)).count() > 1;
        }
    }
    if !kick {
        return;
    }
    // nohz_idle_balance on the ilb CPU, for each tickless idle CPU due.
    let mut next = j + 60 * s.cfg.hz as u64;
    for c in idle {
        if !s.idle_cpu(c) {
            continue;
        }
        update_blocked_averages(s, c);
        if j >= s.rq(c).smp.next_balance {
            s.update_rq_clock(c);
            sched_balance_domains(s, c, Idle::Idle);
        }
        next = next.min(s.rq(c).smp.next_balance);
    }
    let _ = ilb;
    s.fair.nohz_next_balance = next.max(j + 1);
}

#[cfg(test)]
#[path = "balance_tests.rs"]
mod tests;
