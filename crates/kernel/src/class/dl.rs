//! The deadline class, SCHED_DEADLINE (kernel/sched/deadline.c), with global EDF through
//! `cpudl` (kernel/sched/cpudeadline.c, as a scan) and push/pull, and the per-CPU fair
//! server (`dl_server`, 50 ms every 1 s, deferred) that protects fair tasks from RT and DL
//! starvation.
//!
//! A deadline entity follows the constant bandwidth server: `runtime` is charged with the
//! time the entity runs (at update points: the tick, put_prev, dequeue, yield — overruns of
//! up to a tick are repaid by the replenishment loop), it is throttled when it runs out and
//! a timer (`EventKind::DlTimer`) replenishes it at the start of its next period. The rq
//! keeps the queued entities in EDF order (`DlRq::tree`).
//!
//! The fair server is an entity of this class whose "task" is the fair class: when it is
//! picked, `pick_task_fair` supplies the task. Its hooks into the fair and idle classes
//! (`dl_server_start` on the first fair enqueue, `dl_server_update` from fair's
//! `update_curr`, `dl_server_update_idle_time` from `put_prev_task_idle`) sit at the class
//! boundary: `ServedFair` and `ServedIdle` wrap those classes in the class table.
//!
//! Simplifications (core-and-classes.md §3): no GRUB reclaiming and no running/active
//! bandwidth tracking (so no inactive timer); the bandwidth of a task leaving the class is
//! released at once instead of at its 0-lag time; no PI boosting; `cpudl` is a scan; the
//! balance callbacks run at once.

use std::collections::{BTreeMap, BTreeSet};

use crate::class::fair::FairClass;
use crate::class::idle::IdleClass;
use crate::class::rt::cpupri_set;
use crate::class::{enqueue, wf, ClassId, SchedClass};
use crate::cpumask::CpuMask;
use crate::events::EventKind;
use crate::prio::{LoadWeight, MAX_RT_PRIO};
use crate::sched::{Ctx, Sched};
use crate::task::{OnRq, TaskId};

/// `BW_SHIFT`: bandwidths are fixed point with 20 fractional bits.
pub const BW_SHIFT: u32 = 20;
const DL_SCALE: u32 = 10;
/// `SCHED_FLAG_DL_OVERRUN`.
const SCHED_FLAG_DL_OVERRUN: u64 = 0x04;
/// `SCHED_FLAG_RECLAIM | SCHED_FLAG_DL_OVERRUN` (`SCHED_DL_FLAGS` without SUGOV).
const SCHED_DL_FLAGS: u64 = 0x02 | 0x04;
/// `sysctl_sched_dl_period_min` / `_max` (µs).
const DL_PERIOD_MIN_US: u64 = 100;
const DL_PERIOD_MAX_US: u64 = 1 << 22;
/// The fair server's parameters (`sched_init_dl_servers`).
pub const FAIR_SERVER_RUNTIME: u64 = 50_000_000;
pub const FAIR_SERVER_PERIOD: u64 = 1_000_000_000;
/// `dl_server_min_res`.
const DL_SERVER_MIN_RES: u64 = 1_000_000;

/// `to_ratio(period, runtime)`.
pub fn to_ratio(period: u64, runtime: u64) -> u64 {
    if period == 0 {
        return 0;
    }
    ((runtime as u128) << BW_SHIFT).div_euclid(period as u128) as u64
}

/// `dl_time_before(a, b)`.
fn dl_time_before(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) < 0
}

/// Which deadline entity: a task's or this CPU's fair server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DlKey {
    Task(TaskId),
    Server,
}

/// `struct sched_dl_entity`.
#[derive(Clone, Debug, Default)]
pub struct DlEntity {
    pub dl_runtime: u64,
    pub dl_deadline: u64,
    pub dl_period: u64,
    pub dl_bw: u64,
    pub dl_density: u64,
    /// Remaining runtime (negative after an overrun).
    pub runtime: i64,
    /// Absolute deadline.
    pub deadline: u64,
    pub flags: u64,
    pub dl_throttled: bool,
    pub dl_yielded: bool,
    pub dl_overrun: bool,
    pub dl_server: bool,
    pub dl_defer: bool,
    pub dl_defer_armed: bool,
    pub dl_defer_running: bool,
    pub dl_server_active: bool,
    /// The deferred server restarted its period because idle time used it up (6.17+):
    /// its timer then stops it instead of running it.
    pub dl_defer_idle: bool,
    /// Bandwidth this entity holds in the root domain's `dl_bw.total_bw`.
    pub admitted_bw: u64,
    /// The pending `dl_timer` expiry.
    pub timer_at: Option<u64>,
    /// Invalidates a cancelled timer's event.
    pub timer_gen: u32,
    /// Its key in `DlRq::tree` while queued (`!RB_EMPTY_NODE`).
    node: Option<(u64, u64)>,
}

impl DlEntity {
    /// `dl_is_implicit`: deadline equals period.
    fn is_implicit(&self) -> bool {
        self.dl_deadline == self.dl_period
    }

    /// `dl_next_period`.
    fn next_period(&self) -> u64 {
        self.deadline
            .wrapping_sub(self.dl_deadline)
            .wrapping_add(self.dl_period)
    }

    /// `dl_entity_overflow(dl_se, t)`: the remaining runtime over the remaining time to the
    /// deadline exceeds the reserved bandwidth.
    fn overflow(&self, t: u64) -> bool {
        let left = (self.dl_deadline >> DL_SCALE).wrapping_mul((self.runtime as u64) >> DL_SCALE);
        let right =
            (self.deadline.wrapping_sub(t) >> DL_SCALE).wrapping_mul(self.dl_runtime >> DL_SCALE);
        dl_time_before(right, left)
    }

    /// `dl_runtime_exceeded`.
    fn runtime_exceeded(&self) -> bool {
        self.runtime <= 0
    }

    /// The fair server as `sched_init_dl_servers` sets it up at boot
    /// (`dl_server_apply_params(init)` + `setup_new_dl_entity`).
    fn fair_server() -> DlEntity {
        let mut e = DlEntity {
            dl_runtime: FAIR_SERVER_RUNTIME,
            dl_deadline: FAIR_SERVER_PERIOD,
            dl_period: FAIR_SERVER_PERIOD,
            dl_server: true,
            dl_defer: true,
            ..DlEntity::default()
        };
        e.dl_bw = to_ratio(e.dl_period, e.dl_runtime);
        e.dl_density = to_ratio(e.dl_deadline, e.dl_runtime);
        e.admitted_bw = e.dl_bw;
        // setup_new_dl_entity at boot (clock 0): a deferred period starting now.
        e.deadline = e.dl_deadline;
        e.runtime = e.dl_runtime as i64;
        e.dl_throttled = true;
        e.dl_defer_armed = true;
        e
    }
}

/// `struct dl_rq` plus this CPU's `cpudl` element and `dlo_mask` bit.
#[derive(Clone, Debug)]
pub struct DlRq {
    /// The EDF tree: (deadline, insertion order, entity).
    tree: BTreeSet<(u64, u64, DlKey)>,
    seq: u64,
    /// Queued entities, the fair server included.
    pub dl_nr_running: u32,
    /// `earliest_dl.curr` (0 when empty) and `.next` (earliest pushable, 0 when none).
    pub earliest_curr: u64,
    pub earliest_next: u64,
    /// `pushable_dl_tasks_root`.
    pushable: BTreeSet<(u64, u64, TaskId)>,
    /// `dl_rq->overloaded` (this CPU's bit in `rd->dlo_mask`).
    pub overloaded: bool,
    /// The deadline entities of tasks created on this CPU (an entity stays where it was
    /// created; `dl_home` finds it).
    entities: BTreeMap<TaskId, DlEntity>,
    /// `rq->fair_server`.
    pub server: DlEntity,
    /// `exec_start` of the running deadline task, of the running fair task (for the fair
    /// server's charge) and of the idle task (`dl_server_update_idle_time`).
    exec_start: u64,
    fair_exec_start: u64,
    idle_exec_start: u64,
    distribute_prev: Option<u32>,
}

impl Default for DlRq {
    fn default() -> Self {
        DlRq::new()
    }
}

impl DlRq {
    /// `init_dl_rq` + `sched_init_dl_servers`.
    pub fn new() -> DlRq {
        DlRq {
            tree: BTreeSet::new(),
            seq: 0,
            dl_nr_running: 0,
            earliest_curr: 0,
            earliest_next: 0,
            pushable: BTreeSet::new(),
            overloaded: false,
            entities: BTreeMap::new(),
            server: DlEntity::fair_server(),
            exec_start: 0,
            fair_exec_start: 0,
            idle_exec_start: 0,
            distribute_prev: None,
        }
    }

    /// Deadline tasks in the tree: this class's share of `nr_running` (the server is not
    /// counted, nor is a throttled task, which stays `on_rq` off the tree: `dec_dl_tasks`).
    pub fn nr_tasks(&self) -> u32 {
        self.tree
            .iter()
            .filter(|(_, _, k)| matches!(k, DlKey::Task(_)))
            .count() as u32
    }

    /// The leftmost (earliest-deadline) entity.
    pub fn leftmost(&self) -> Option<DlKey> {
        self.tree.first().map(|&(_, _, k)| k)
    }
}

/// The CPU whose `DlRq::entities` holds task `p`'s entity.
fn dl_home(s: &Sched, p: TaskId) -> Option<u32> {
    let c = s.task(p).cpu;
    if s.rq(c).dl.entities.contains_key(&p) {
        return Some(c);
    }
    (0..s.nr_cpus()).find(|&c| s.rq(c).dl.entities.contains_key(&p))
}

/// The entity `k` of rq `cpu`.
fn se(s: &Sched, cpu: u32, k: DlKey) -> &DlEntity {
    match k {
        DlKey::Server => &s.rq(cpu).dl.server,
        DlKey::Task(p) => {
            let h = dl_home(s, p).expect("deadline entity exists");
            &s.rq(h).dl.entities[&p]
        }
    }
}

fn se_mut(s: &mut Sched, cpu: u32, k: DlKey) -> &mut DlEntity {
    match k {
        DlKey::Server => &mut s.rq_mut(cpu).dl.server,
        DlKey::Task(p) => {
            let h = dl_home(s, p).expect("deadline entity exists");
            s.rq_mut(h).dl.entities.get_mut(&p).unwrap()
        }
    }
}

/// Task `p`'s deadline entity (a default one for a task that never was SCHED_DEADLINE).
pub fn task_dl(s: &Sched, p: TaskId) -> DlEntity {
    dl_home(s, p).map_or_else(DlEntity::default, |h| s.rq(h).dl.entities[&p].clone())
}

fn task_se(s: &Sched, p: TaskId) -> &DlEntity {
    se(s, s.task(p).cpu, DlKey::Task(p))
}

/// `dl_task`: prio in the deadline range.
fn dl_task(s: &Sched, p: TaskId) -> bool {
    s.task(p).prio < 0
}

/// `on_dl_rq`.
fn on_dl_rq(s: &Sched, cpu: u32, k: DlKey) -> bool {
    match k {
        DlKey::Task(p) if dl_home(s, p).is_none() => false,
        _ => se(s, cpu, k).node.is_some(),
    }
}

/// `dl_entity_preempt(a, b)`: a's deadline is earlier.
fn dl_entity_preempt(a: &DlEntity, b: &DlEntity) -> bool {
    dl_time_before(a.deadline, b.deadline)
}

/// The deadline entity the running task of `cpu` is scheduled by, if any (a deadline task,
/// or a fair task run by the fair server).
fn curr_dl_entity(s: &Sched, cpu: u32) -> Option<DlEntity> {
    let curr = s.curr(cpu);
    if dl_task(s, curr) {
        Some(task_se(s, curr).clone())
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// Root domain bandwidth (`dl_bw`) and parameter checks.

/// `__checkparam_dl`: the kernel's rules for SCHED_DEADLINE parameters.
pub fn checkparam_dl(runtime: u64, deadline: u64, period: u64) -> Result<(), String> {
    if deadline == 0 {
        return Err("sched_deadline must not be 0 (EINVAL)".into());
    }
    if runtime < 1 << DL_SCALE {
        return Err(format!(
            "sched_runtime {runtime} ns is below the 1024 ns minimum (EINVAL)"
        ));
    }
    if deadline & (1 << 63) != 0 || period & (1 << 63) != 0 {
        return Err("sched_deadline/sched_period has the top bit set (EINVAL)".into());
    }
    let period = if period == 0 { deadline } else { period };
    if period < deadline || deadline < runtime {
        return Err(format!(
            "need sched_runtime ({runtime}) <= sched_deadline ({deadline}) <= sched_period ({period}) (EINVAL)"
        ));
    }
    if !(DL_PERIOD_MIN_US * 1000..=DL_PERIOD_MAX_US * 1000).contains(&period) {
        return Err(format!(
            "sched_period {period} ns outside [{} µs, {} µs] (EINVAL)",
            DL_PERIOD_MIN_US, DL_PERIOD_MAX_US
        ));
    }
    Ok(())
}

/// `dl_b->bw`: `to_ratio(sched_rt_period, sched_rt_runtime)`, or None (−1) when DL
/// admission control is off (`sched_rt_runtime_us = -1`).
fn dl_bw_limit(s: &Sched) -> Option<u64> {
    if s.cfg.rt_runtime_us < 0 {
        return None;
    }
    Some(to_ratio(s.cfg.rt_period_us, s.cfg.rt_runtime_us as u64))
}

/// `dl_b->total_bw`: admitted tasks and every CPU's fair server.
pub fn total_bw(s: &Sched) -> u64 {
    (0..s.nr_cpus())
        .map(|c| {
            let dl = &s.rq(c).dl;
            dl.server.admitted_bw + dl.entities.values().map(|e| e.admitted_bw).sum::<u64>()
        })
        .sum()
}

/// `sched_dl_overflow`: admission of `p` moving to (or within, or out of) SCHED_DEADLINE
/// with the new parameters; on success the root domain's `total_bw` is updated
/// (`__dl_add`/`__dl_sub`). Also the `-EPERM` rule: the affinity must cover the root
/// domain.
pub fn sched_dl_overflow(
    s: &mut Sched,
    p: TaskId,
    to_dl: bool,
    runtime: u64,
    deadline: u64,
    period: u64,
) -> Result<(), String> {
    let was_dl = s.task(p).class == ClassId::Dl;
    let limit = dl_bw_limit(s);
    let n = s.nr_cpus();
    if to_dl && limit.is_some() {
        let span_ok = (0..n).all(|c| s.task(p).cpus_allowed.test(c));
        if !span_ok || limit == Some(0) {
            return Err(
                "SCHED_DEADLINE needs an affinity covering the whole root domain (EPERM)".into(),
            );
        }
    }
    let period = if period == 0 { deadline } else { period };
    let new_bw = if to_dl { to_ratio(period, runtime) } else { 0 };
    let old_bw = task_dl(s, p).admitted_bw;
    if to_dl && was_dl && new_bw == old_bw {
        return Ok(());
    }
    if !to_dl {
        // Leaving the class: released at once (the kernel waits for the 0-lag time).
        if let Some(h) = dl_home(s, p) {
            s.rq_mut(h).dl.entities.get_mut(&p).unwrap().admitted_bw = 0;
        }
        return Ok(());
    }
    // __dl_overflow: cap_scale(bw, cap) < total_bw - old + new, cap = 1024 per CPU.
    if let Some(bw) = limit {
        let cap = 1024 * n as u64;
        let total = total_bw(s) - old_bw + new_bw;
        if (bw * cap) >> 10 < total {
            return Err(format!(
                "SCHED_DEADLINE bandwidth {runtime}/{period} does not fit: the root domain's \
                 limit is {:.3} CPUs and {:.3} are taken, the fair servers included (EBUSY)",
                ((bw * cap) >> 10) as f64 / (1u64 << BW_SHIFT) as f64,
                (total_bw(s) - old_bw) as f64 / (1u64 << BW_SHIFT) as f64,
            ));
        }
    }
    ensure_entity(s, p);
    se_mut(s, s.task(p).cpu, DlKey::Task(p)).admitted_bw = new_bw;
    Ok(())
}

fn ensure_entity(s: &mut Sched, p: TaskId) {
    if dl_home(s, p).is_none() {
        let c = s.task(p).cpu;
        s.rq_mut(c).dl.entities.insert(p, DlEntity::default());
    }
}

/// `__setparam_dl`: the static parameters (the task is off its queue).
pub fn setparam_dl(s: &mut Sched, p: TaskId, runtime: u64, deadline: u64, period: u64, flags: u64) {
    ensure_entity(s, p);
    let c = s.task(p).cpu;
    let e = se_mut(s, c, DlKey::Task(p));
    e.dl_runtime = runtime;
    e.dl_deadline = deadline;
    e.dl_period = if period == 0 { deadline } else { period };
    e.flags = flags & SCHED_DL_FLAGS;
    e.dl_bw = to_ratio(e.dl_period, e.dl_runtime);
    e.dl_density = to_ratio(e.dl_deadline, e.dl_runtime);
}

/// `dl_param_changed`.
pub fn dl_param_changed(
    s: &Sched,
    p: TaskId,
    runtime: u64,
    deadline: u64,
    period: u64,
    flags: u64,
) -> bool {
    let e = task_dl(s, p);
    let period = if period == 0 { deadline } else { period };
    e.dl_runtime != runtime
        || e.dl_deadline != deadline
        || e.dl_period != period
        || e.flags != flags & SCHED_DL_FLAGS
}

// ---------------------------------------------------------------------------------------
// CBS.

/// `replenish_dl_new_period`: a fresh period from now (a deferred server re-arms).
fn replenish_dl_new_period(s: &mut Sched, cpu: u32, k: DlKey) {
    let now = s.rq(cpu).clock;
    let e = se_mut(s, cpu, k);
    e.deadline = now + e.dl_deadline;
    e.runtime = e.dl_runtime as i64;
    if e.dl_defer && !e.dl_defer_running {
        e.dl_throttled = true;
        e.dl_defer_armed = true;
    }
}

/// `setup_new_dl_entity`.
fn setup_new_dl_entity(s: &mut Sched, cpu: u32, k: DlKey) {
    if se(s, cpu, k).dl_throttled {
        return;
    }
    replenish_dl_new_period(s, cpu, k);
}

/// `replenish_dl_entity`: add periods until the runtime is positive (the overrun is
/// carried), restart if it lags behind now; a deferred server may re-arm.
fn replenish_dl_entity(s: &mut Sched, cpu: u32, k: DlKey) {
    let now = s.rq(cpu).clock;
    {
        let e = se_mut(s, cpu, k);
        if e.dl_deadline == 0 || (e.dl_defer_armed && e.overflow(now)) {
            e.deadline = now + e.dl_deadline;
            e.runtime = e.dl_runtime as i64;
        }
        if e.dl_yielded && e.runtime > 0 {
            e.runtime = 0;
        }
        while e.runtime <= 0 {
            e.deadline += e.dl_period;
            e.runtime += e.dl_runtime as i64;
        }
    }
    if dl_time_before(se(s, cpu, k).deadline, now) {
        // "DL replenish lagged too much"
        replenish_dl_new_period(s, cpu, k);
    }
    let e = se_mut(s, cpu, k);
    e.dl_yielded = false;
    e.dl_throttled = false;
    if e.dl_defer_armed {
        e.dl_defer_armed = false;
        return;
    }
    if e.dl_defer
        && !e.dl_defer_running
        && dl_time_before(now, e.deadline.wrapping_sub(e.runtime as u64))
    {
        e.dl_defer_armed = true;
        e.dl_throttled = true;
        if !start_dl_timer(s, cpu, k) {
            cancel_dl_timer(s, cpu, k);
            let e = se_mut(s, cpu, k);
            e.dl_defer_armed = false;
            e.dl_throttled = false;
        }
    }
}

/// `update_dl_entity`: a wakeup keeps the current deadline and runtime unless they would
/// overflow the bandwidth; a constrained (or running deferred) entity then gets the revised
/// runtime `dl_density · (deadline − now)` instead of a new period.
fn update_dl_entity(s: &mut Sched, cpu: u32, k: DlKey) {
    let now = s.rq(cpu).clock;
    let e = se(s, cpu, k);
    if dl_time_before(e.deadline, now) || e.overflow(now) {
        if (!e.is_implicit() || (e.dl_defer && e.dl_defer_running))
            && !dl_time_before(e.deadline, now)
        {
            // update_dl_revised_wakeup
            let laxity = e.deadline - now;
            let rt = ((e.dl_density as u128 * laxity as u128) >> BW_SHIFT) as i64;
            se_mut(s, cpu, k).runtime = rt;
            return;
        }
        se_mut(s, cpu, k).dl_defer_running = false;
        replenish_dl_new_period(s, cpu, k);
    } else if e.dl_server && e.dl_defer && !e.dl_defer_running {
        let e = se_mut(s, cpu, k);
        e.dl_defer_armed = true;
        e.dl_throttled = true;
    }
}

/// `start_dl_timer`: arm the replenishment timer at the next period (or, for an armed
/// deferred server, at the zero-laxity instant `deadline − runtime`). False if that is
/// already in the past.
fn start_dl_timer(s: &mut Sched, cpu: u32, k: DlKey) -> bool {
    let now = s.now;
    let e = se(s, cpu, k);
    let act = if e.dl_defer_armed {
        e.deadline.wrapping_sub(e.runtime as u64)
    } else {
        e.next_period()
    };
    // ktime_us_delta(act, now) < 0
    if (act as i64 - now as i64) / 1000 < 0 {
        return false;
    }
    if e.timer_at.is_none() {
        let at = act.max(now);
        let e = se_mut(s, cpu, k);
        e.timer_at = Some(at);
        e.timer_gen = e.timer_gen.wrapping_add(1);
        let gen = e.timer_gen;
        let task = match k {
            DlKey::Task(p) => Some(p),
            DlKey::Server => None,
        };
        s.queue.push(at, EventKind::DlTimer { cpu, task, gen });
    }
    true
}

/// `hrtimer_try_to_cancel(&dl_se->dl_timer)`.
fn cancel_dl_timer(s: &mut Sched, cpu: u32, k: DlKey) {
    let e = se_mut(s, cpu, k);
    e.timer_at = None;
    e.timer_gen = e.timer_gen.wrapping_add(1);
}

/// `inc_dl_deadline`/`dec_dl_deadline`: `earliest_dl.curr`, cpudl and cpupri follow the
/// tree.
fn update_earliest(s: &mut Sched, cpu: u32) {
    let dl = &s.rq(cpu).dl;
    let was = dl.earliest_curr;
    let now_e = dl.tree.first().map_or(0, |&(d, _, _)| d);
    s.rq_mut(cpu).dl.earliest_curr = now_e;
    if was == 0 && now_e != 0 {
        cpupri_set(s, cpu, CPUPRI_HIGHER_PRIO);
    } else if was != 0 && now_e == 0 {
        let p = s.rq(cpu).rt.highest_prio_curr;
        cpupri_set(s, cpu, p);
    }
}

/// The task prio `cpupri_set` maps to `CPUPRI_HIGHER` (deadline work present).
const CPUPRI_HIGHER_PRIO: i32 = MAX_RT_PRIO;

/// `__enqueue_dl_entity` + `inc_dl_tasks`.
fn __enqueue_dl_entity(s: &mut Sched, cpu: u32, k: DlKey) {
    if se(s, cpu, k).node.is_some() {
        return;
    }
    let d = se(s, cpu, k).deadline;
    let dl = &mut s.rq_mut(cpu).dl;
    dl.seq += 1;
    let key = (d, dl.seq);
    dl.tree.insert((d, dl.seq, k));
    dl.dl_nr_running += 1;
    se_mut(s, cpu, k).node = Some(key);
    if matches!(k, DlKey::Task(_)) {
        s.add_nr_running(cpu, 1);
    }
    update_earliest(s, cpu);
}

/// `__dequeue_dl_entity` + `dec_dl_tasks` (nothing if not queued).
fn __dequeue_dl_entity(s: &mut Sched, cpu: u32, k: DlKey) {
    let Some((d, seq)) = se(s, cpu, k).node else {
        return;
    };
    se_mut(s, cpu, k).node = None;
    let dl = &mut s.rq_mut(cpu).dl;
    dl.tree.remove(&(d, seq, k));
    dl.dl_nr_running -= 1;
    if matches!(k, DlKey::Task(_)) {
        s.add_nr_running(cpu, -1);
    }
    update_earliest(s, cpu);
}

/// `dl_check_constrained_dl`: a constrained task waking after its deadline but before its
/// next period would overrun its bandwidth: throttle it until the next period.
fn dl_check_constrained_dl(s: &mut Sched, cpu: u32, k: DlKey) {
    let now = s.rq(cpu).clock;
    let e = se(s, cpu, k);
    if dl_time_before(e.deadline, now) && dl_time_before(now, e.next_period()) {
        if !start_dl_timer(s, cpu, k) {
            return;
        }
        let e = se_mut(s, cpu, k);
        e.dl_throttled = true;
        if e.runtime > 0 {
            e.runtime = 0;
        }
    }
}

/// `enqueue_dl_entity`.
fn enqueue_dl_entity(s: &mut Sched, cpu: u32, k: DlKey, flags: u32) {
    let e = se(s, cpu, k);
    if !e.dl_throttled && !e.is_implicit() {
        dl_check_constrained_dl(s, cpu, k);
    }
    let e = se(s, cpu, k);
    if !e.dl_defer && e.dl_throttled && flags & enqueue::REPLENISH == 0 {
        // Throttled: stays off the tree until its timer.
        return;
    }
    if flags & enqueue::WAKEUP != 0 {
        update_dl_entity(s, cpu, k);
    } else if flags & enqueue::REPLENISH != 0 {
        replenish_dl_entity(s, cpu, k);
    } else if flags & enqueue::RESTORE != 0
        && dl_time_before(se(s, cpu, k).deadline, s.rq(cpu).clock)
    {
        setup_new_dl_entity(s, cpu, k);
    }
    if se(s, cpu, k).dl_throttled && start_dl_timer(s, cpu, k) {
        return;
    }
    if se(s, cpu, k).dl_throttled {
        cancel_dl_timer(s, cpu, k);
        let e = se_mut(s, cpu, k);
        e.dl_defer_armed = false;
        e.dl_throttled = false;
    }
    __enqueue_dl_entity(s, cpu, k);
}

/// `dequeue_dl_entity`.
fn dequeue_dl_entity(s: &mut Sched, cpu: u32, k: DlKey) {
    __dequeue_dl_entity(s, cpu, k);
}

/// `update_curr_dl_se`: charge `delta` and throttle at exhaustion (or yield), with the
/// replenishment timer at the next period; a deferred server that ran out while armed
/// restarts its period and re-arms instead (`idle`: the charge is idle time).
fn update_curr_dl_se(s: &mut Sched, cpu: u32, k: DlKey, delta: i64, idle: bool) {
    let e = se(s, cpu, k);
    let throttle_now;
    if delta <= 0 {
        if !e.dl_yielded {
            return;
        }
        throttle_now = true;
    } else {
        if e.dl_server && e.dl_throttled && !e.dl_defer {
            return;
        }
        let e = se_mut(s, cpu, k);
        e.runtime -= delta;
        if e.dl_defer && e.dl_throttled && e.runtime_exceeded() {
            // Fair work ran in the background: back to the initial deferred state.
            if e.dl_defer_idle {
                return;
            }
            e.dl_defer_running = false;
            cancel_dl_timer(s, cpu, k);
            replenish_dl_new_period(s, cpu, k);
            if idle {
                se_mut(s, cpu, k).dl_defer_idle = true;
            }
            start_dl_timer(s, cpu, k);
            return;
        }
        throttle_now = false;
    }
    let e = se(s, cpu, k);
    if e.runtime_exceeded() || e.dl_yielded || throttle_now {
        let e = se_mut(s, cpu, k);
        e.dl_throttled = true;
        if e.runtime_exceeded() && e.flags & SCHED_FLAG_DL_OVERRUN != 0 {
            e.dl_overrun = true;
        }
        dequeue_dl_entity(s, cpu, k);
        if let DlKey::Task(p) = k {
            dequeue_pushable_dl_task(s, cpu, p);
        }
        if !start_dl_timer(s, cpu, k) {
            match k {
                DlKey::Server => enqueue_dl_entity(s, cpu, k, enqueue::REPLENISH),
                DlKey::Task(p) => enqueue_task_dl(s, cpu, p, enqueue::REPLENISH),
            }
        }
        if s.rq(cpu).dl.leftmost() != Some(k) {
            s.resched_curr(cpu);
        }
    }
}

/// `update_curr_dl`: charge the running deadline task.
fn update_curr_dl(s: &mut Sched, cpu: u32) {
    let curr = s.curr(cpu);
    if !dl_task(s, curr) || !on_dl_rq(s, cpu, DlKey::Task(curr)) {
        return;
    }
    let now = s.rq(cpu).clock_task;
    let delta = now as i64 - s.rq(cpu).dl.exec_start as i64;
    if delta > 0 {
        s.rq_mut(cpu).dl.exec_start = now;
    }
    update_curr_dl_se(s, cpu, DlKey::Task(curr), delta, false);
}

/// `enqueue_task_dl`.
fn enqueue_task_dl(s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
    if s.task(p).normal_prio >= 0 {
        // De-boosted: nothing to queue.
        se_mut(s, cpu, DlKey::Task(p)).dl_throttled = false;
        return;
    }
    enqueue_dl_entity(s, cpu, DlKey::Task(p), flags);
    if s.curr(cpu) != p && !task_se(s, p).dl_throttled && s.task(p).nr_cpus_allowed > 1 {
        enqueue_pushable_dl_task(s, cpu, p);
    }
}

// ---------------------------------------------------------------------------------------
// The replenishment timer.

/// A `dl_timer` expired (`dl_task_timer` / `dl_server_timer`), from the event loop.
pub fn dl_timer_fired(s: &mut Sched, cpu: u32, task: Option<TaskId>, gen: u32) {
    let (cpu, k) = match task {
        Some(p) => {
            if dl_home(s, p).is_none() {
                return;
            }
            (s.task(p).cpu, DlKey::Task(p))
        }
        None => (cpu, DlKey::Server),
    };
    let e = se(s, cpu, k);
    if e.timer_gen != gen || e.timer_at.is_none() {
        return;
    }
    se_mut(s, cpu, k).timer_at = None;
    s.update_rq_clock(cpu);
    match k {
        DlKey::Server => dl_server_timer(s, cpu),
        DlKey::Task(p) => dl_task_timer(s, cpu, p),
    }
    s.mark_dirty(cpu);
}

/// `dl_task_timer`.
fn dl_task_timer(s: &mut Sched, cpu: u32, p: TaskId) {
    let k = DlKey::Task(p);
    if !dl_task(s, p) || !se(s, cpu, k).dl_throttled {
        return;
    }
    if s.task(p).on_rq != OnRq::Queued {
        replenish_dl_entity(s, cpu, k);
        return;
    }
    enqueue_task_dl(s, cpu, p, enqueue::REPLENISH);
    if dl_task(s, s.curr(cpu)) {
        DlClass.wakeup_preempt(s, cpu, p, 0);
    } else {
        s.resched_curr(cpu);
    }
    push_dl_tasks(s, cpu, s.curr(cpu));
}

/// `dl_server_timer`: a deferred server still far from zero laxity pushes its timer on;
/// otherwise it starts running (`dl_defer_running`) and is queued with a replenishment.
fn dl_server_timer(s: &mut Sched, cpu: u32) {
    let k = DlKey::Server;
    let e = se(s, cpu, k);
    if !e.dl_throttled || e.dl_runtime == 0 {
        return;
    }
    if e.dl_defer_idle {
        // Only idle time used the period: nothing to serve.
        dl_server_stop(s, cpu);
        return;
    }
    let now = s.rq(cpu).clock;
    if e.dl_defer_armed {
        let zero_lax = e.deadline.wrapping_sub(e.runtime as u64);
        if dl_time_before(now, zero_lax.wrapping_sub(DL_SERVER_MIN_RES)) {
            // hrtimer_forward_now
            let e = se_mut(s, cpu, k);
            e.timer_at = Some(zero_lax);
            e.timer_gen = e.timer_gen.wrapping_add(1);
            let gen = e.timer_gen;
            s.queue.push(
                zero_lax,
                EventKind::DlTimer {
                    cpu,
                    task: None,
                    gen,
                },
            );
            return;
        }
        se_mut(s, cpu, k).dl_defer_running = true;
    }
    enqueue_dl_entity(s, cpu, k, enqueue::REPLENISH);
    let server = se(s, cpu, k).clone();
    match curr_dl_entity(s, cpu) {
        Some(c) if !dl_entity_preempt(&server, &c) => {}
        _ => s.resched_curr(cpu),
    }
    push_dl_tasks(s, cpu, s.curr(cpu));
}

// ---------------------------------------------------------------------------------------
// The fair server.

/// `dl_server_start`: the first fair task became runnable on this CPU.
fn dl_server_start(s: &mut Sched, cpu: u32) {
    let e = se(s, cpu, DlKey::Server);
    if e.dl_runtime == 0 || e.dl_server_active {
        return;
    }
    se_mut(s, cpu, DlKey::Server).dl_server_active = true;
    enqueue_dl_entity(s, cpu, DlKey::Server, enqueue::WAKEUP);
    let server = se(s, cpu, DlKey::Server).clone();
    match curr_dl_entity(s, cpu) {
        Some(c) if !dl_entity_preempt(&server, &c) => {}
        _ => s.resched_curr(cpu),
    }
}

/// `dl_server_stop`: no fair task left to serve.
fn dl_server_stop(s: &mut Sched, cpu: u32) {
    if se(s, cpu, DlKey::Server).dl_runtime == 0 {
        return;
    }
    dequeue_dl_entity(s, cpu, DlKey::Server);
    cancel_dl_timer(s, cpu, DlKey::Server);
    let e = se_mut(s, cpu, DlKey::Server);
    e.dl_defer_armed = false;
    e.dl_throttled = false;
    e.dl_server_active = false;
    e.dl_defer_idle = false;
}

/// `dl_server_update`: fair execution is charged to an active server, whether it runs
/// through the server or not (so a fair task that gets its share never needs it).
fn dl_server_update(s: &mut Sched, cpu: u32, delta: i64) {
    let e = se(s, cpu, DlKey::Server);
    if e.dl_runtime != 0 && e.dl_server_active {
        se_mut(s, cpu, DlKey::Server).dl_defer_idle = false;
        update_curr_dl_se(s, cpu, DlKey::Server, delta, false);
    }
}

/// `dl_server_update_idle_time` (6.18: `dl_server_update_idle`): idle time also consumes
/// a deferred server's runtime; running out restarts its period.
fn dl_server_update_idle_time(s: &mut Sched, cpu: u32) {
    let now = s.rq(cpu).clock_task;
    let delta = now as i64 - s.rq(cpu).dl.idle_exec_start as i64;
    if delta <= 0 {
        return;
    }
    s.rq_mut(cpu).dl.idle_exec_start = now;
    let e = se(s, cpu, DlKey::Server);
    if e.dl_defer && e.dl_runtime != 0 && e.dl_server_active {
        update_curr_dl_se(s, cpu, DlKey::Server, delta, true);
    }
}

/// Fair's `update_curr` → `dl_server_update` for the running fair task (only while the
/// cfs_rq has a current entity, as `update_curr` itself).
fn charge_fair(s: &mut Sched, cpu: u32) {
    let c = s.rq(cpu).cfs;
    if s.fair.cfs(c).curr.is_none() {
        return;
    }
    let now = s.rq(cpu).clock_task;
    let delta = now as i64 - s.rq(cpu).dl.fair_exec_start as i64;
    if delta <= 0 {
        return;
    }
    s.rq_mut(cpu).dl.fair_exec_start = now;
    dl_server_update(s, cpu, delta);
}

/// The fair class with its fair-server hooks (fair.c's calls into deadline.c).
pub struct ServedFair;

impl SchedClass for ServedFair {
    /// `enqueue_task_fair`: the first runnable fair task starts the server (idle time up
    /// to now is charged first).
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
        charge_fair(s, cpu);
        let c = s.rq(cpu).cfs;
        let before = s.fair.cfs(c).h_nr_queued;
        let was_running = s.rq(cpu).nr_running;
        FairClass.enqueue_task(s, cpu, p, flags);
        if before == 0 && s.fair.cfs(c).h_nr_queued > 0 {
            if was_running == 0 && s.curr(cpu) == s.rq(cpu).idle {
                dl_server_update_idle_time(s, cpu);
            }
            dl_server_start(s, cpu);
        }
    }
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) -> bool {
        charge_fair(s, cpu);
        FairClass.dequeue_task(s, cpu, p, flags)
    }
    fn yield_task(&self, s: &mut Sched, cpu: u32) {
        charge_fair(s, cpu);
        FairClass.yield_task(s, cpu)
    }
    fn wakeup_preempt(&self, s: &mut Sched, cpu: u32, p: TaskId, wake_flags: u32) {
        charge_fair(s, cpu);
        FairClass.wakeup_preempt(s, cpu, p, wake_flags)
    }
    fn balance(&self, s: &mut Sched, cpu: u32, prev: TaskId) -> bool {
        FairClass.balance(s, cpu, prev)
    }
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        charge_fair(s, cpu);
        FairClass.pick_task(s, cpu)
    }
    fn put_prev_task(&self, s: &mut Sched, cpu: u32, prev: TaskId, next: TaskId) {
        charge_fair(s, cpu);
        FairClass.put_prev_task(s, cpu, prev, next)
    }
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, first: bool) {
        FairClass.set_next_task(s, cpu, p, first);
        s.rq_mut(cpu).dl.fair_exec_start = s.rq(cpu).clock_task;
    }
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, prev_cpu: u32, wake_flags: u32) -> u32 {
        FairClass.select_task_rq(s, p, prev_cpu, wake_flags)
    }
    fn task_tick(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        charge_fair(s, cpu);
        FairClass.task_tick(s, cpu, p)
    }
    fn update_curr(&self, s: &mut Sched, cpu: u32) {
        charge_fair(s, cpu);
        FairClass.update_curr(s, cpu)
    }
    fn task_woken(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        FairClass.task_woken(s, cpu, p)
    }
    fn task_fork(&self, s: &mut Sched, p: TaskId) {
        FairClass.task_fork(s, p)
    }
    fn task_dead(&self, s: &mut Sched, p: TaskId) {
        FairClass.task_dead(s, p)
    }
    fn reweight_task(&self, s: &mut Sched, p: TaskId, lw: LoadWeight) {
        FairClass.reweight_task(s, p, lw)
    }
    fn prio_changed(&self, s: &mut Sched, cpu: u32, p: TaskId, oldprio: i32) {
        charge_fair(s, cpu);
        FairClass.prio_changed(s, cpu, p, oldprio)
    }
    fn switched_from(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        FairClass.switched_from(s, cpu, p)
    }
    fn switched_to(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        FairClass.switched_to(s, cpu, p)
    }
    fn migrate_task_rq(&self, s: &mut Sched, p: TaskId, new_cpu: u32) {
        FairClass.migrate_task_rq(s, p, new_cpu)
    }
}

/// The idle class with its fair-server hook (`put_prev_task_idle` →
/// `dl_server_update_idle_time`).
pub struct ServedIdle;

impl SchedClass for ServedIdle {
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
        IdleClass.enqueue_task(s, cpu, p, flags)
    }
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) -> bool {
        IdleClass.dequeue_task(s, cpu, p, flags)
    }
    fn yield_task(&self, s: &mut Sched, cpu: u32) {
        IdleClass.yield_task(s, cpu)
    }
    fn wakeup_preempt(&self, s: &mut Sched, cpu: u32, p: TaskId, wake_flags: u32) {
        IdleClass.wakeup_preempt(s, cpu, p, wake_flags)
    }
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        IdleClass.pick_task(s, cpu)
    }
    /// `put_prev_task_idle`.
    fn put_prev_task(&self, s: &mut Sched, cpu: u32, prev: TaskId, next: TaskId) {
        dl_server_update_idle_time(s, cpu);
        IdleClass.put_prev_task(s, cpu, prev, next)
    }
    /// `set_next_task_idle`: the idle task's exec_start.
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, first: bool) {
        IdleClass.set_next_task(s, cpu, p, first);
        s.rq_mut(cpu).dl.idle_exec_start = s.rq(cpu).clock_task;
    }
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, prev: u32, wake_flags: u32) -> u32 {
        IdleClass.select_task_rq(s, p, prev, wake_flags)
    }
    fn task_tick(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        IdleClass.task_tick(s, cpu, p)
    }
    fn update_curr(&self, s: &mut Sched, cpu: u32) {
        IdleClass.update_curr(s, cpu)
    }
}

// ---------------------------------------------------------------------------------------
// SMP: cpudl, push and pull.

/// `enqueue_pushable_dl_task`.
fn enqueue_pushable_dl_task(s: &mut Sched, cpu: u32, p: TaskId) {
    dequeue_pushable_dl_task(s, cpu, p);
    let d = task_se(s, p).deadline;
    let dl = &mut s.rq_mut(cpu).dl;
    dl.seq += 1;
    dl.pushable.insert((d, dl.seq, p));
    dl.earliest_next = dl.pushable.first().map_or(0, |&(d, _, _)| d);
    dl.overloaded = true;
}

/// `dequeue_pushable_dl_task`.
fn dequeue_pushable_dl_task(s: &mut Sched, cpu: u32, p: TaskId) {
    let dl = &mut s.rq_mut(cpu).dl;
    dl.pushable.retain(|&(_, _, q)| q != p);
    dl.earliest_next = dl.pushable.first().map_or(0, |&(d, _, _)| d);
    if dl.pushable.is_empty() {
        dl.overloaded = false;
    }
}

/// `cpudl_find(cp, p, later_mask)`: with a mask, the CPUs without deadline work in `p`'s
/// affinity; else (or if none) the CPU with the latest earliest deadline if `p` beats it.
fn cpudl_find(s: &Sched, p: TaskId, with_mask: bool) -> Option<CpuMask> {
    let n = s.nr_cpus();
    let t = s.task(p);
    let mut m = CpuMask::empty(n as usize);
    if with_mask {
        for c in (0..n).filter(|&c| s.rq(c).dl.dl_nr_running == 0 && t.cpus_allowed.test(c)) {
            m.set(c);
        }
        if m.weight() > 0 {
            return Some(m);
        }
    }
    // cpudl_maximum: the root of the max-heap of earliest deadlines.
    let best = (0..n)
        .filter(|&c| s.rq(c).dl.dl_nr_running > 0)
        .max_by(|&a, &b| {
            let (da, db) = (s.rq(a).dl.earliest_curr, s.rq(b).dl.earliest_curr);
            (da.wrapping_sub(db) as i64).cmp(&0).then(b.cmp(&a))
        })?;
    if t.cpus_allowed.test(best)
        && dl_time_before(task_se(s, p).deadline, s.rq(best).dl.earliest_curr)
    {
        m.set(best);
        return Some(m);
    }
    None
}

/// `find_later_rq`: a CPU where `p` would run earliest (its last CPU first, then the
/// executing CPU, then a spread pick).
fn find_later_rq(s: &mut Sched, p: TaskId, this_cpu: Option<u32>) -> Option<u32> {
    if s.task(p).nr_cpus_allowed == 1 {
        return None;
    }
    let later = cpudl_find(s, p, true)?;
    let cpu = s.task(p).cpu;
    if later.test(cpu) {
        return Some(cpu);
    }
    if let Some(tc) = this_cpu.filter(|&c| later.test(c)) {
        return Some(tc);
    }
    let from = this_cpu.unwrap_or(cpu);
    let n = s.nr_cpus();
    let start = s.rq(from).dl.distribute_prev.map_or(0, |x| x + 1);
    let pick = (0..n).map(|i| (start + i) % n).find(|&c| later.test(c))?;
    s.rq_mut(from).dl.distribute_prev = Some(pick);
    Some(pick)
}

/// `dl_task_is_earliest_deadline(p, rq)`.
fn dl_task_is_earliest_deadline(s: &Sched, p: TaskId, cpu: u32) -> bool {
    let dl = &s.rq(cpu).dl;
    dl.dl_nr_running == 0 || dl_time_before(task_se(s, p).deadline, dl.earliest_curr)
}

/// `find_lock_later_rq` (one try decides; nothing drops the locks).
fn find_lock_later_rq(s: &mut Sched, p: TaskId, cpu: u32) -> Option<u32> {
    let later = find_later_rq(s, p, Some(cpu))?;
    if later == cpu || !dl_task_is_earliest_deadline(s, p, later) {
        return None;
    }
    Some(later)
}

/// `deactivate_task` / `set_task_cpu` / `activate_task` from `src` to `dst`.
fn move_queued_task(s: &mut Sched, src: u32, dst: u32, p: TaskId) {
    s.deactivate_task(src, p, 0);
    s.set_task_cpu(Ctx::Task(src), p, dst);
    s.update_rq_clock(dst);
    s.activate_task(dst, p, 0);
}

/// `push_dl_task`: move the earliest pushable task to a CPU where it would run first.
fn push_dl_task(s: &mut Sched, cpu: u32, curr: TaskId) -> bool {
    let Some(&(_, _, next)) = s.rq(cpu).dl.pushable.first() else {
        return false;
    };
    if dl_task(s, curr)
        && dl_time_before(task_se(s, next).deadline, task_se(s, curr).deadline)
        && s.task(curr).nr_cpus_allowed > 1
    {
        s.resched_curr(cpu);
        return false;
    }
    if next == curr {
        return false;
    }
    let Some(later) = find_lock_later_rq(s, next, cpu) else {
        return false;
    };
    move_queued_task(s, cpu, later, next);
    s.resched_curr(later);
    true
}

fn push_dl_tasks(s: &mut Sched, cpu: u32, curr: TaskId) {
    while push_dl_task(s, cpu, curr) {}
}

/// `pull_dl_task`: from overloaded CPUs, pull the earliest pushable task that would run
/// first here (and beats earlier pulls) unless it beats its own CPU's current.
fn pull_dl_task(s: &mut Sched, this_cpu: u32) {
    let n = s.nr_cpus();
    if !(0..n).any(|c| s.rq(c).dl.overloaded) {
        return;
    }
    let mut dmin: Option<u64> = None;
    let mut resched = false;
    for src in 0..n {
        if src == this_cpu || !s.rq(src).dl.overloaded {
            continue;
        }
        let this = &s.rq(this_cpu).dl;
        if this.dl_nr_running > 0 && dl_time_before(this.earliest_curr, s.rq(src).dl.earliest_next)
        {
            continue;
        }
        if s.rq(src).dl.dl_nr_running <= 1 {
            continue;
        }
        let p = s
            .rq(src)
            .dl
            .pushable
            .iter()
            .map(|&(_, _, p)| p)
            .find(|&p| !s.task(p).on_cpu && s.task(p).cpus_allowed.test(this_cpu));
        let Some(p) = p else { continue };
        let d = task_se(s, p).deadline;
        if dmin.is_none_or(|m| dl_time_before(d, m)) && dl_task_is_earliest_deadline(s, p, this_cpu)
        {
            let sc = s.curr(src);
            if dl_task(s, sc) && dl_time_before(d, task_se(s, sc).deadline) {
                continue;
            }
            s.update_rq_clock(src);
            move_queued_task(s, src, this_cpu, p);
            dmin = Some(d);
            resched = true;
        }
    }
    if resched {
        s.resched_curr(this_cpu);
    }
}

/// `check_preempt_equal_dl`.
fn check_preempt_equal_dl(s: &mut Sched, cpu: u32, p: TaskId) {
    let curr = s.curr(cpu);
    if s.task(curr).nr_cpus_allowed == 1 || cpudl_find(s, curr, false).is_none() {
        return;
    }
    if s.task(p).nr_cpus_allowed != 1 && cpudl_find(s, p, false).is_some() {
        return;
    }
    s.resched_curr(cpu);
}

// ---------------------------------------------------------------------------------------
// The class.

pub struct DlClass;

impl SchedClass for DlClass {
    /// `enqueue_task_dl`.
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
        enqueue_task_dl(s, cpu, p, flags);
    }

    /// `dequeue_task_dl`.
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, _flags: u32) -> bool {
        update_curr_dl(s, cpu);
        dequeue_dl_entity(s, cpu, DlKey::Task(p));
        dequeue_pushable_dl_task(s, cpu, p);
        true
    }

    /// `yield_task_dl`: give up the rest of this period's runtime.
    fn yield_task(&self, s: &mut Sched, cpu: u32) {
        let curr = s.curr(cpu);
        se_mut(s, cpu, DlKey::Task(curr)).dl_yielded = true;
        update_curr_dl(s, cpu);
    }

    /// `wakeup_preempt_dl`: an earlier deadline preempts; an equal one may (SMP rule).
    fn wakeup_preempt(&self, s: &mut Sched, cpu: u32, p: TaskId, _wake_flags: u32) {
        let curr = s.curr(cpu);
        let (pe, ce) = (task_se(s, p).clone(), task_se(s, curr).clone());
        if dl_entity_preempt(&pe, &ce) {
            s.resched_curr(cpu);
            return;
        }
        if pe.deadline == ce.deadline && !s.rq(cpu).need_resched {
            check_preempt_equal_dl(s, cpu, p);
        }
    }

    /// `balance_dl`: pull when the previous deadline task left the queue.
    fn balance(&self, s: &mut Sched, cpu: u32, prev: TaskId) -> bool {
        if dl_task(s, prev) && !on_dl_rq(s, cpu, DlKey::Task(prev)) {
            pull_dl_task(s, cpu);
        }
        s.rq(cpu).dl.dl_nr_running > 0
    }

    /// `pick_task_dl`: the earliest deadline; the fair server supplies a fair task, or
    /// stops when there is none.
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        loop {
            match s.rq(cpu).dl.leftmost()? {
                DlKey::Task(p) => return Some(p),
                DlKey::Server => match FairClass.pick_task(s, cpu) {
                    Some(p) => return Some(p),
                    None => dl_server_stop(s, cpu),
                },
            }
        }
    }

    /// `put_prev_task_dl`.
    fn put_prev_task(&self, s: &mut Sched, cpu: u32, prev: TaskId, _next: TaskId) {
        update_curr_dl(s, cpu);
        if on_dl_rq(s, cpu, DlKey::Task(prev)) && s.task(prev).nr_cpus_allowed > 1 {
            enqueue_pushable_dl_task(s, cpu, prev);
        }
    }

    /// `set_next_task_dl`.
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, first: bool) {
        s.rq_mut(cpu).dl.exec_start = s.rq(cpu).clock_task;
        dequeue_pushable_dl_task(s, cpu, p);
        if first {
            push_dl_tasks(s, cpu, p);
        }
    }

    /// `select_task_rq_dl`: on wakeup, leave a CPU whose current deadline task would not
    /// be preempted (or cannot move) for a CPU where this task would be earliest.
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, cpu: u32, wake_flags: u32) -> u32 {
        if wake_flags & wf::TTWU == 0 {
            return cpu;
        }
        let curr = s.curr(cpu);
        let select = dl_task(s, curr)
            && (s.task(curr).nr_cpus_allowed < 2
                || !dl_entity_preempt(task_se(s, p), task_se(s, curr)))
            && s.task(p).nr_cpus_allowed > 1;
        if select {
            if let Some(target) = find_later_rq(s, p, None) {
                if dl_task_is_earliest_deadline(s, p, target) {
                    return target;
                }
            }
        }
        cpu
    }

    /// `task_tick_dl`: the tick is where runtime runs out (HRTICK_DL is off).
    fn task_tick(&self, s: &mut Sched, cpu: u32, _p: TaskId) {
        update_curr_dl(s, cpu);
    }

    fn update_curr(&self, s: &mut Sched, cpu: u32) {
        update_curr_dl(s, cpu);
    }

    /// `task_woken_dl`.
    fn task_woken(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        let curr = s.curr(cpu);
        if !s.task(p).on_cpu
            && !s.rq(cpu).need_resched
            && s.task(p).nr_cpus_allowed > 1
            && dl_task(s, curr)
            && (s.task(curr).nr_cpus_allowed < 2
                || !dl_entity_preempt(task_se(s, p), task_se(s, curr)))
        {
            push_dl_tasks(s, cpu, curr);
        }
    }

    /// A task created straight into SCHED_DEADLINE starts a new period (a deadline task
    /// itself cannot fork; `setup_new_dl_entity` as at its first wakeup).
    fn task_fork(&self, s: &mut Sched, p: TaskId) {
        let cpu = s.task(p).cpu;
        s.update_rq_clock(cpu);
        replenish_dl_new_period(s, cpu, DlKey::Task(p));
    }

    /// `task_dead_dl`: the bandwidth is released.
    fn task_dead(&self, s: &mut Sched, p: TaskId) {
        let cpu = s.task(p).cpu;
        cancel_dl_timer(s, cpu, DlKey::Task(p));
        se_mut(s, cpu, DlKey::Task(p)).admitted_bw = 0;
    }

    /// `prio_changed_dl`: new parameters of a queued task.
    fn prio_changed(&self, s: &mut Sched, cpu: u32, p: TaskId, _oldprio: i32) {
        if s.task(p).on_rq != OnRq::Queued {
            return;
        }
        if !s.rq(cpu).dl.overloaded {
            pull_dl_task(s, cpu);
        }
        let d = task_se(s, p).deadline;
        if s.curr(cpu) == p {
            if dl_time_before(s.rq(cpu).dl.earliest_curr, d) {
                s.resched_curr(cpu);
            }
        } else {
            let curr = s.curr(cpu);
            if !dl_task(s, curr) || dl_time_before(d, task_se(s, curr).deadline) {
                s.resched_curr(cpu);
            }
        }
    }

    /// `switched_from_dl`: the last deadline task left; maybe pull.
    fn switched_from(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        cancel_dl_timer(s, cpu, DlKey::Task(p));
        se_mut(s, cpu, DlKey::Task(p)).dl_throttled = false;
        if s.task(p).on_rq != OnRq::Queued || s.rq(cpu).dl.dl_nr_running > 0 {
            return;
        }
        pull_dl_task(s, cpu);
    }

    /// `switched_to_dl`: a queued task may push others away or preempt.
    fn switched_to(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        if s.task(p).on_rq != OnRq::Queued {
            return;
        }
        let curr = s.curr(cpu);
        if curr != p {
            if s.task(p).nr_cpus_allowed > 1 && s.rq(cpu).dl.overloaded {
                push_dl_tasks(s, cpu, curr);
            }
            if dl_task(s, curr) {
                self.wakeup_preempt(s, cpu, p, 0);
            } else {
                s.resched_curr(cpu);
            }
        }
    }

    /// `set_task_rq` (core, every class): the fair entity follows the task's CPU.
    fn migrate_task_rq(&self, s: &mut Sched, p: TaskId, new_cpu: u32) {
        let se = s.task(p).se;
        let c = s.rq(new_cpu).cfs;
        s.fair.se_mut(se).cfs_rq = c;
    }
}
