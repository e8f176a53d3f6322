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

mod balance_rq;
mod detach;
mod newidle;
mod nohz;
mod periodic;
mod sd_lb_stats;

pub use balance_rq::*;
use detach::*;
pub use newidle::*;
pub use nohz::*;
pub use periodic::*;
pub use sd_lb_stats::*;

use crate::class::fair::group::{task_h_load, update_task_h_load};
use crate::class::fair::pelt::task_fits_cpu;
use crate::cpumask::CpuMask;
use crate::sched::Sched;
use crate::task::TaskId;
use crate::topology::SchedDomain;
use std::collections::VecDeque;

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
    /// Its irq-exit half is queued as a `TickSoftirq` event (`queue_tick_softirqs`).
    pub softirq_queued: bool,
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

#[cfg(test)]
mod tests;
