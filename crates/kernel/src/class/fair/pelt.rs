//! PELT, per-entity load tracking (kernel/sched/pelt.c, pelt.h, sched-pelt.h and the
//! fair.c users): load/runnable/util sums and averages per task entity and per cfs_rq,
//! blocked-load decay, lazy removal on migration, util_est, and the CPU-level readers
//! (`cpu_util_cfs`, `cpu_load`, `task_h_load`...) that placement and balancing use.
//!
//! The rt and dl classes' per-rq signals (`rq->avg_rt`, `rq->avg_dl`, updated where the
//! kernel updates them: put_prev_task, task_tick and set_next_task of those classes and the
//! blocked-load update) give `scale_rt_capacity` and so `capacity_of` (`rq->cpu_capacity`,
//! refreshed by `update_cpu_capacity` at balance time); `util_fits_cpu`/`task_fits_cpu`
//! (the 80 % margin, no uclamp) serve misfit and asymmetric placement.
//!
//! Not modelled: irq and hw pressure (interrupts take no time here, so `cpu_util_irq` is
//! 0), frequency invariance, `lost_idle_time`, `migrate_se_pelt_lag`.

use std::sync::OnceLock;

use super::entity::{CfsRqId, SeId};
use crate::prio::scale_load_down;
use crate::sched::Sched;
use crate::task::{OnRq, TaskId};

/// `LOAD_AVG_PERIOD`: y^32 = 1/2.
pub const LOAD_AVG_PERIOD: u64 = 32;
/// `LOAD_AVG_MAX`: the maximum possible load_sum of an always-runnable entity.
pub const LOAD_AVG_MAX: u64 = 47742;
/// `PELT_MIN_DIVIDER`.
pub const PELT_MIN_DIVIDER: u64 = LOAD_AVG_MAX - 1024;
/// `UTIL_AVG_UNCHANGED`: util_est's flag bit (util_avg unchanged since the last sample).
pub const UTIL_AVG_UNCHANGED: u32 = 0x1;
/// `UTIL_EST_MARGIN`: 1% of capacity.
pub const UTIL_EST_MARGIN: u32 = 1024 / 100;

/// `update_load_avg` flags.
pub const UPDATE_TG: u32 = 0x1;
pub const SKIP_AGE_LOAD: u32 = 0x2;
pub const DO_ATTACH: u32 = 0x4;
pub const DO_DETACH: u32 = 0x8;

/// `runnable_avg_yN_inv[]`: y^n scaled by 2^32−1, generated as sched-pelt.h's generator
/// does (f64), once.
pub fn yn_inv() -> &'static [u32; 32] {
    static T: OnceLock<[u32; 32]> = OnceLock::new();
    T.get_or_init(|| {
        let y = 0.5f64.powf(1.0 / 32.0);
        let mut t = [0u32; 32];
        for (i, v) in t.iter_mut().enumerate() {
            *v = ((u32::MAX as f64) * y.powi(i as i32)) as u32;
        }
        t
    })
}

/// `struct sched_avg`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedAvg {
    pub last_update_time: u64,
    pub load_sum: u64,
    pub runnable_sum: u64,
    pub util_sum: u64,
    pub period_contrib: u32,
    pub load_avg: u64,
    pub runnable_avg: u64,
    pub util_avg: u64,
    /// For a task: the EWMA with the UTIL_AVG_UNCHANGED bit; for a cfs_rq: the sum of
    /// its queued tasks' estimates.
    pub util_est: u32,
    /// Ours: the entity's load was detached from its cfs_rq by a queued migration
    /// (`DO_DETACH`), so `migrate_task_rq_fair` must not remove it again.
    pub detached: bool,
}

/// `cfs_rq->removed`: load of entities that left while blocked, subtracted lazily.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub nr: u32,
    pub load_avg: u64,
    pub util_avg: u64,
    pub runnable_avg: u64,
}

/// `decay_load`: val · y^n.
pub fn decay_load(mut val: u64, n: u64) -> u64 {
    if n > LOAD_AVG_PERIOD * 63 {
        return 0;
    }
    let mut local_n = n;
    if local_n >= LOAD_AVG_PERIOD {
        val >>= local_n / LOAD_AVG_PERIOD;
        local_n %= LOAD_AVG_PERIOD;
    }
    // mul_u64_u32_shr(val, yN[n], 32)
    ((val as u128 * yn_inv()[local_n as usize] as u128) >> 32) as u64
}

/// `__accumulate_pelt_segments`: d1 (the rest of the first period, decayed), the full
/// periods in between, d3 (the current partial period).
fn accumulate_pelt_segments(periods: u64, d1: u64, d3: u64) -> u64 {
    let c1 = decay_load(d1, periods);
    let c2 = LOAD_AVG_MAX - decay_load(LOAD_AVG_MAX, periods) - 1024;
    c1 + c2 + d3
}

/// `accumulate_sum`: returns the number of period boundaries crossed.
fn accumulate_sum(
    mut delta: u64,
    sa: &mut SchedAvg,
    load: u64,
    runnable: u64,
    running: bool,
) -> u64 {
    let mut contrib = delta;
    delta += sa.period_contrib as u64;
    let periods = delta / 1024;
    if periods != 0 {
        sa.load_sum = decay_load(sa.load_sum, periods);
        sa.runnable_sum = decay_load(sa.runnable_sum, periods);
        sa.util_sum = decay_load(sa.util_sum, periods);
        delta %= 1024;
        if load != 0 {
            contrib = accumulate_pelt_segments(periods, 1024 - sa.period_contrib as u64, delta);
        }
    }
    sa.period_contrib = delta as u32;
    if load != 0 {
        sa.load_sum += load * contrib;
    }
    if runnable != 0 {
        sa.runnable_sum += (runnable * contrib) << 10;
    }
    if running {
        sa.util_sum += contrib << 10;
    }
    periods
}

/// `___update_load_sum`: true if a period boundary was crossed (the averages need an
/// update).
pub fn update_load_sum(
    now: u64,
    sa: &mut SchedAvg,
    load: u64,
    runnable: u64,
    running: bool,
) -> bool {
    let delta = now.wrapping_sub(sa.last_update_time) as i64;
    if delta < 0 {
        sa.last_update_time = now;
        return false;
    }
    let delta = (delta as u64) >> 10;
    if delta == 0 {
        return false;
    }
    sa.last_update_time += delta << 10;
    let (runnable, running) = if load == 0 {
        (0, false)
    } else {
        (runnable, running)
    };
    accumulate_sum(delta, sa, load, runnable, running) != 0
}

/// `get_pelt_divider`.
pub fn pelt_divider(sa: &SchedAvg) -> u64 {
    PELT_MIN_DIVIDER + sa.period_contrib as u64
}

/// `___update_load_avg`.
pub fn update_load_avg_from_sums(sa: &mut SchedAvg, load: u64) {
    let div = pelt_divider(sa);
    sa.load_avg = load.wrapping_mul(sa.load_sum) / div;
    sa.runnable_avg = sa.runnable_sum / div;
    sa.util_avg = sa.util_sum / div;
}

/// `cfs_se_util_change`: util_avg changed, so the next dequeue may sample util_est.
fn se_util_change(sa: &mut SchedAvg) {
    sa.util_est &= !UTIL_AVG_UNCHANGED;
}

fn sub_positive(a: &mut u64, b: u64) {
    *a = a.saturating_sub(b);
}

/// `rq_clock_pelt` (with `update_rq_clock_pelt` folded in): while a task runs the PELT
/// clock advances scaled by the CPU's capacity; an idle CPU's is synced to clock_task.
pub fn rq_clock_pelt(s: &mut Sched, cpu: u32) -> u64 {
    let cap = s.topo.capacity(cpu);
    let rq = &mut s.rqs[cpu as usize];
    let now = rq.clock_task;
    if rq.curr == rq.idle {
        rq.smp.clock_pelt = now;
    } else if now > rq.smp.pelt_stamp {
        let delta = now - rq.smp.pelt_stamp;
        rq.smp.clock_pelt += (delta * cap) >> 10;
    }
    rq.smp.pelt_stamp = now;
    rq.smp.clock_pelt + PELT_EPOCH
}

/// Offset of the PELT clock: like the kernel's (which counts from boot), it is never 0
/// once tasks run, since `last_update_time == 0` means "not attached / migrated".
pub const PELT_EPOCH: u64 = 1 << 32;

fn se_weight(s: &Sched, se: SeId) -> u64 {
    scale_load_down(s.fair.se(se).load.weight)
}

/// `__update_load_avg_se`.
fn update_se(s: &mut Sched, now: u64, c: CfsRqId, se: SeId) -> bool {
    let w = se_weight(s, se);
    let running = s.fair.cfs(c).curr == Some(se);
    let e = s.fair.se_mut(se);
    let load = e.on_rq as u64;
    // se_runnable: a group entity counts its queue's runnable tasks.
    let runnable = if e.sched_delayed {
        0
    } else if e.task.is_some() {
        e.on_rq as u64
    } else {
        e.runnable_weight as u64
    };
    if update_load_sum(now, &mut e.avg, load, runnable, running) {
        update_load_avg_from_sums(&mut e.avg, w);
        se_util_change(&mut e.avg);
        return true;
    }
    false
}

/// `__update_load_avg_cfs_rq`.
fn update_cfs(s: &mut Sched, now: u64, c: CfsRqId) -> bool {
    let cfs = s.fair.cfs_mut(c);
    let load = scale_load_down(cfs.load_weight);
    let runnable = cfs.h_nr_runnable as u64;
    let running = cfs.curr.is_some();
    if update_load_sum(now, &mut cfs.avg, load, runnable, running) {
        update_load_avg_from_sums(&mut cfs.avg, 1);
        return true;
    }
    false
}

/// `update_cfs_rq_load_avg`: apply removed load, then age the queue.
pub fn update_cfs_rq_load_avg(s: &mut Sched, now: u64, c: CfsRqId) -> bool {
    let mut decayed = false;
    let cfs = s.fair.cfs_mut(c);
    if cfs.removed.nr != 0 {
        let r = std::mem::take(&mut cfs.removed);
        let sa = &mut cfs.avg;
        let div = pelt_divider(sa);
        sub_positive(&mut sa.load_avg, r.load_avg);
        sub_positive(&mut sa.load_sum, r.load_avg * div);
        sa.load_sum = clamp_sum(sa.load_sum, sa.load_avg);
        sub_positive(&mut sa.util_avg, r.util_avg);
        sub_positive(&mut sa.util_sum, r.util_avg * div);
        sa.util_sum = clamp_sum(sa.util_sum, sa.util_avg);
        sub_positive(&mut sa.runnable_avg, r.runnable_avg);
        sub_positive(&mut sa.runnable_sum, r.runnable_avg * div);
        sa.runnable_sum = clamp_sum(sa.runnable_sum, sa.runnable_avg);
        add_tg_cfs_propagate(s, c, -(((r.runnable_avg * div) >> 10) as i64));
        decayed = true;
    }
    decayed | update_cfs(s, now, c)
}

/// `attach_entity_load_avg`: the entity joins the queue's sums, aligned to its clock.
pub fn attach_entity_load_avg(s: &mut Sched, c: CfsRqId, se: SeId) {
    let w = se_weight(s, se);
    let cavg = s.fair.cfs(c).avg;
    let div = pelt_divider(&cavg);
    let e = s.fair.se_mut(se);
    let a = &mut e.avg;
    a.last_update_time = cavg.last_update_time;
    a.period_contrib = cavg.period_contrib;
    a.util_sum = a.util_avg * div;
    a.runnable_sum = a.runnable_avg * div;
    a.load_sum = a.load_avg.wrapping_mul(div);
    a.load_sum = if w < a.load_sum { a.load_sum / w } else { 1 };
    a.detached = false;
    let a = *a;
    let sa = &mut s.fair.cfs_mut(c).avg;
    // enqueue_load_avg
    sa.load_avg += a.load_avg;
    sa.load_sum = sa.load_sum.wrapping_add(w.wrapping_mul(a.load_sum));
    sa.util_avg += a.util_avg;
    sa.util_sum += a.util_sum;
    sa.runnable_avg += a.runnable_avg;
    sa.runnable_sum += a.runnable_sum;
    add_tg_cfs_propagate(s, c, a.load_sum as i64);
}

/// `detach_entity_load_avg`.
fn detach_entity_load_avg(s: &mut Sched, c: CfsRqId, se: SeId) {
    let w = se_weight(s, se);
    s.fair.se_mut(se).avg.detached = true;
    let a = s.fair.se(se).avg;
    let sa = &mut s.fair.cfs_mut(c).avg;
    // dequeue_load_avg
    sub_positive(&mut sa.load_avg, a.load_avg);
    sub_positive(&mut sa.load_sum, w.wrapping_mul(a.load_sum));
    sa.load_sum = clamp_sum(sa.load_sum, sa.load_avg);
    sub_positive(&mut sa.util_avg, a.util_avg);
    sub_positive(&mut sa.util_sum, a.util_sum);
    sa.util_sum = clamp_sum(sa.util_sum, sa.util_avg);
    sub_positive(&mut sa.runnable_avg, a.runnable_avg);
    sub_positive(&mut sa.runnable_sum, a.runnable_sum);
    sa.runnable_sum = clamp_sum(sa.runnable_sum, sa.runnable_avg);
    add_tg_cfs_propagate(s, c, -(a.load_sum as i64));
}

/// `add_tg_cfs_propagate`: a load change below waits to reach the group entity.
fn add_tg_cfs_propagate(s: &mut Sched, c: CfsRqId, runnable_sum: i64) {
    let cfs = s.fair.cfs_mut(c);
    cfs.propagate = true;
    cfs.prop_runnable_sum = cfs.prop_runnable_sum.wrapping_add(runnable_sum);
}

/// `max_t(u32, sum, avg * PELT_MIN_DIVIDER)`: the kernel's floor on a queue's sum after a
/// subtraction, compared (and stored) as 32-bit values.
fn clamp_sum(sum: u64, avg: u64) -> u64 {
    (sum as u32).max(avg.wrapping_mul(PELT_MIN_DIVIDER) as u32) as u64
}

fn add_positive(v: &mut u64, d: i64) {
    *v = (*v as i64).saturating_add(d).max(0) as u64;
}

/// `propagate_entity_load_avg`: a group entity takes over its queue's util and runnable
/// and the propagated load change (`update_tg_cfs_util/runnable/load`).
fn propagate_entity_load_avg(s: &mut Sched, se: SeId) -> bool {
    let Some(gq) = s.fair.se(se).my_q else {
        return false;
    };
    if !s.fair.cfs(gq).propagate {
        return false;
    }
    s.fair.cfs_mut(gq).propagate = false;
    let c = s.fair.cfs_rq_of(se);
    let prop = s.fair.cfs(gq).prop_runnable_sum;
    add_tg_cfs_propagate(s, c, prop);
    let g = s.fair.cfs(gq).avg;
    let div = pelt_divider(&s.fair.cfs(c).avg);
    // update_tg_cfs_util, update_tg_cfs_runnable
    take_group_avg(s, c, se, util_fields, g.util_avg, div);
    take_group_avg(s, c, se, runnable_fields, g.runnable_avg, div);
    update_tg_cfs_load(s, c, se, gq, div);
    true
}

fn util_fields(a: &mut SchedAvg) -> (&mut u64, &mut u64) {
    (&mut a.util_avg, &mut a.util_sum)
}

fn runnable_fields(a: &mut SchedAvg) -> (&mut u64, &mut u64) {
    (&mut a.runnable_avg, &mut a.runnable_sum)
}

/// `update_tg_cfs_util`/`update_tg_cfs_runnable`: the group entity takes its queue's
/// average (`field` picks util or runnable) and the parent queue follows by the difference.
fn take_group_avg(
    s: &mut Sched,
    c: CfsRqId,
    se: SeId,
    field: fn(&mut SchedAvg) -> (&mut u64, &mut u64),
    group_avg: u64,
    div: u64,
) {
    let mut e = s.fair.se(se).avg;
    let (avg, sum) = field(&mut e);
    let delta_avg = group_avg as i64 - *avg as i64;
    if delta_avg == 0 {
        return;
    }
    let new_sum = group_avg * div;
    let delta_sum = new_sum as i64 - *sum as i64;
    let (avg, sum) = field(&mut s.fair.se_mut(se).avg);
    *avg = group_avg;
    *sum = new_sum;
    let (avg, sum) = field(&mut s.fair.cfs_mut(c).avg);
    add_positive(avg, delta_avg);
    add_positive(sum, delta_sum);
    *sum = clamp_sum(*sum, *avg);
}

/// `update_tg_cfs_load`.
fn update_tg_cfs_load(s: &mut Sched, c: CfsRqId, se: SeId, gq: CfsRqId, div: u64) {
    let mut runnable_sum = s.fair.cfs(gq).prop_runnable_sum;
    if runnable_sum == 0 {
        return;
    }
    s.fair.cfs_mut(gq).prop_runnable_sum = 0;
    let e = s.fair.se(se).avg;
    if runnable_sum >= 0 {
        runnable_sum = (runnable_sum + e.load_sum as i64).min(div as i64);
    } else {
        let gw = scale_load_down(s.fair.cfs(gq).load_weight);
        let load_sum = s.fair.cfs(gq).avg.load_sum.checked_div(gw).unwrap_or(0);
        runnable_sum = e.load_sum.min(load_sum) as i64;
    }
    let running_sum = (e.util_sum >> 10) as i64;
    let runnable_sum = runnable_sum.max(running_sum) as u64;
    let w = se_weight(s, se);
    let load_sum = w * runnable_sum;
    let load_avg = load_sum / div;
    let delta_avg = load_avg as i64 - e.load_avg as i64;
    if delta_avg == 0 {
        return;
    }
    let delta_sum = load_sum as i64 - (w * e.load_sum) as i64;
    let ea = &mut s.fair.se_mut(se).avg;
    ea.load_sum = runnable_sum;
    ea.load_avg = load_avg;
    let sa = &mut s.fair.cfs_mut(c).avg;
    add_positive(&mut sa.load_avg, delta_avg);
    add_positive(&mut sa.load_sum, delta_sum);
    sa.load_sum = clamp_sum(sa.load_sum, sa.load_avg);
}

/// `reweight_entity`, PELT part, before the weight changes: the entity's load leaves its
/// queue's load sums (`dequeue_load_avg`).
pub fn reweight_begin(s: &mut Sched, se: SeId) {
    if s.fair.se(se).avg.last_update_time == 0 || s.fair.se(se).avg.detached {
        return;
    }
    let c = s.fair.se(se).cfs_rq;
    let w = se_weight(s, se);
    let a = s.fair.se(se).avg;
    let sa = &mut s.fair.cfs_mut(c).avg;
    sub_positive(&mut sa.load_avg, a.load_avg);
    sub_positive(&mut sa.load_sum, w.wrapping_mul(a.load_sum));
    sa.load_sum = clamp_sum(sa.load_sum, sa.load_avg);
}

/// `reweight_entity`, after the weight changed: load_avg is recomputed from load_sum
/// with the new weight and rejoins the queue (`enqueue_load_avg`).
pub fn reweight_end(s: &mut Sched, se: SeId) {
    let w = se_weight(s, se);
    let e = s.fair.se_mut(se);
    let div = pelt_divider(&e.avg);
    if e.avg.last_update_time == 0 && e.avg.load_sum == 0 && e.task.is_some() {
        // Never attached (a new task): init_entity_runnable_average's value.
        e.avg.load_avg = w;
        return;
    }
    e.avg.load_avg = w.wrapping_mul(e.avg.load_sum) / div;
    if e.avg.last_update_time == 0 || e.avg.detached {
        return;
    }
    let a = e.avg;
    let c = e.cfs_rq;
    let sa = &mut s.fair.cfs_mut(c).avg;
    sa.load_avg += a.load_avg;
    sa.load_sum = sa.load_sum.wrapping_add(w.wrapping_mul(a.load_sum));
}

/// `update_load_avg(cfs_rq, se, flags)`.
pub fn update_load_avg(s: &mut Sched, c: CfsRqId, se: SeId, flags: u32) {
    let cpu = s.fair.cfs(c).cpu;
    let now = rq_clock_pelt(s, cpu);
    let lut = s.fair.se(se).avg.last_update_time;
    if lut != 0 && flags & SKIP_AGE_LOAD == 0 {
        update_se(s, now, c, se);
    }
    let decayed = update_cfs_rq_load_avg(s, now, c) | propagate_entity_load_avg(s, se);
    if lut == 0 && flags & DO_ATTACH != 0 {
        attach_entity_load_avg(s, c, se);
        super::group::update_tg_load_avg(s, c);
    } else if flags & DO_DETACH != 0 {
        detach_entity_load_avg(s, c, se);
        super::group::update_tg_load_avg(s, c);
    } else if decayed && flags & UPDATE_TG != 0 {
        super::group::update_tg_load_avg(s, c);
    }
}

/// `sync_entity_load_avg`: decay a blocked entity to its queue's last update
/// (`__update_load_avg_blocked_se`).
pub fn sync_entity_load_avg(s: &mut Sched, se: SeId) {
    let c = s.fair.se(se).cfs_rq;
    let last = s.fair.cfs(c).avg.last_update_time;
    let w = se_weight(s, se);
    let e = s.fair.se_mut(se);
    if update_load_sum(last, &mut e.avg, 0, 0, false) {
        update_load_avg_from_sums(&mut e.avg, w);
        se_util_change(&mut e.avg);
    }
}

/// `remove_entity_load_avg`: a blocked entity leaves its queue (wakeup migration, exit):
/// sync it to the queue's last update and queue its load for lazy removal.
pub fn remove_entity_load_avg(s: &mut Sched, se: SeId) {
    sync_entity_load_avg(s, se);
    let c = s.fair.se(se).cfs_rq;
    let a = s.fair.se(se).avg;
    let r = &mut s.fair.cfs_mut(c).removed;
    r.nr += 1;
    r.util_avg += a.util_avg;
    r.load_avg += a.load_avg;
    r.runnable_avg += a.runnable_avg;
}

/// `init_entity_runnable_average` + `post_init_entity_util_avg` for a new task about to be
/// enqueued on `c` for the first time.
pub fn init_new_task_avg(s: &mut Sched, c: CfsRqId, se: SeId) {
    let w = se_weight(s, se);
    let cpu = s.fair.cfs(c).cpu;
    let cap_cpu = s.topo.capacity(cpu) as i64;
    let cavg = s.fair.cfs(c).avg;
    let cap = (cap_cpu - cavg.util_avg as i64) / 2;
    let e = s.fair.se_mut(se);
    e.avg = SchedAvg {
        load_avg: w,
        ..SchedAvg::default()
    };
    if cap > 0 {
        if cavg.util_avg != 0 {
            let u = cavg.util_avg * w / (cavg.load_avg + 1);
            e.avg.util_avg = u.min(cap as u64);
        } else {
            e.avg.util_avg = cap as u64;
        }
    }
    e.avg.runnable_avg = e.avg.util_avg;
}

/// `_task_util_est`.
pub fn task_util_est_raw(s: &Sched, p: TaskId) -> u64 {
    (s.fair.se(s.task(p).se).avg.util_est & !UTIL_AVG_UNCHANGED) as u64
}

/// `task_util`.
pub fn task_util(s: &Sched, p: TaskId) -> u64 {
    s.fair.se(s.task(p).se).avg.util_avg
}

/// `task_util_est`: max(util, ewma).
pub fn task_util_est(s: &Sched, p: TaskId) -> u64 {
    task_util(s, p).max(task_util_est_raw(s, p))
}

/// `task_runnable`.
pub fn task_runnable(s: &Sched, p: TaskId) -> u64 {
    s.fair.se(s.task(p).se).avg.runnable_avg
}

/// `util_est_enqueue`.
pub fn util_est_enqueue(s: &mut Sched, cpu: u32, p: TaskId) {
    let u = task_util_est_raw(s, p) as u32;
    let c = s.rq(cpu).cfs;
    s.fair.cfs_mut(c).avg.util_est += u;
}

/// `util_est_dequeue`.
pub fn util_est_dequeue(s: &mut Sched, cpu: u32, p: TaskId) {
    let u = task_util_est_raw(s, p) as u32;
    let c = s.rq(cpu).cfs;
    let e = &mut s.fair.cfs_mut(c).avg.util_est;
    *e = e.saturating_sub(u);
}

/// `util_est_update`: sample the task's utilization when it goes to sleep.
pub fn util_est_update(s: &mut Sched, cpu: u32, p: TaskId, task_sleep: bool) {
    if !task_sleep {
        return;
    }
    let se = s.task(p).se;
    let mut ewma = s.fair.se(se).avg.util_est;
    if ewma & UTIL_AVG_UNCHANGED != 0 {
        return;
    }
    let dequeued = task_util(s, p) as u32;
    if ewma <= dequeued {
        ewma = dequeued;
    } else {
        let diff = ewma - dequeued;
        if diff >= UTIL_EST_MARGIN {
            if dequeued as u64 > s.topo.capacity(cpu) {
                return;
            }
            // (≤ 6.15) a task that waited more than it ran keeps its estimate.
            if (dequeued + UTIL_EST_MARGIN) as u64 >= task_runnable(s, p) {
                ewma = ((ewma << 2) - diff) >> 2;
            }
        }
    }
    s.fair.se_mut(se).avg.util_est = ewma | UTIL_AVG_UNCHANGED;
}

/// `sched_balance_update_blocked_averages`: `__update_blocked_others` (the rt and dl
/// signals), then `__update_blocked_fair`: decay the load of an idle or balancing CPU.
pub fn update_blocked_averages(s: &mut Sched, cpu: u32) {
    s.update_rq_clock(cpu);
    update_other_load_avgs(s, cpu);
    super::group::update_blocked_fair(s, cpu);
}

/// `update_rt_rq_load_avg` / `update_dl_rq_load_avg`: a binary signal, running or not, of
/// the rt (dl) class on this CPU (`rq->avg_rt`, `rq->avg_dl`).
fn update_class_load_avg(s: &mut Sched, cpu: u32, dl: bool, running: bool) -> bool {
    let now = rq_clock_pelt(s, cpu);
    let smp = &mut s.rqs[cpu as usize].smp;
    let sa = if dl { &mut smp.avg_dl } else { &mut smp.avg_rt };
    let r = running as u64;
    if update_load_sum(now, sa, r, r, running) {
        update_load_avg_from_sums(sa, 1);
        return true;
    }
    false
}

/// `update_rt_rq_load_avg`: from put_prev_task_rt and task_tick_rt (running), set_next_task_rt
/// when an rt task starts to run, and the blocked-load update.
pub fn update_rt_rq_load_avg(s: &mut Sched, cpu: u32, running: bool) -> bool {
    update_class_load_avg(s, cpu, false, running)
}

/// `update_dl_rq_load_avg`: the same for the deadline class.
pub fn update_dl_rq_load_avg(s: &mut Sched, cpu: u32, running: bool) -> bool {
    update_class_load_avg(s, cpu, true, running)
}

/// `update_other_load_avgs`: the rt and dl signals, running if the current task is of that
/// class. (No irq or hw pressure signal: interrupts take no time here.)
pub fn update_other_load_avgs(s: &mut Sched, cpu: u32) -> bool {
    let class = s.task(s.curr(cpu)).class;
    let rt = update_rt_rq_load_avg(s, cpu, class == crate::class::ClassId::Rt);
    let dl = update_dl_rq_load_avg(s, cpu, class == crate::class::ClassId::Dl);
    rt | dl
}

/// `cpu_util_rt`.
pub fn cpu_util_rt(s: &Sched, cpu: u32) -> u64 {
    s.rq(cpu).smp.avg_rt.util_avg
}

/// `cpu_util_dl`.
pub fn cpu_util_dl(s: &Sched, cpu: u32) -> u64 {
    s.rq(cpu).smp.avg_dl.util_avg
}

/// `scale_rt_capacity`: what the rt and dl classes leave of the CPU's capacity
/// (`get_actual_cpu_capacity` is the arch capacity: no thermal or cpufreq pressure; the irq
/// signal is 0, so `scale_irq_capacity` leaves `free` as it is).
pub fn scale_rt_capacity(s: &Sched, cpu: u32) -> u64 {
    let max = s.topo.capacity(cpu);
    let used = cpu_util_rt(s, cpu) + cpu_util_dl(s, cpu);
    if used >= max {
        return 1;
    }
    max - used
}

/// `update_cpu_capacity`: refresh `rq->cpu_capacity` (from `update_group_capacity` at the
/// lowest domain when this CPU balances).
pub fn update_cpu_capacity(s: &mut Sched, cpu: u32) {
    let c = scale_rt_capacity(s, cpu).max(1);
    s.rq_mut(cpu).smp.cpu_capacity = c;
}

/// `capacity_of`: `rq->cpu_capacity`, the capacity left to CFS as last computed by
/// `update_cpu_capacity`.
pub fn capacity_of(s: &Sched, cpu: u32) -> u64 {
    s.rq(cpu).smp.cpu_capacity
}

/// `check_cpu_capacity`: the CPU's capacity is noticeably reduced by other classes.
pub fn check_cpu_capacity(s: &Sched, cpu: u32, imbalance_pct: u64) -> bool {
    capacity_of(s, cpu) * imbalance_pct < s.topo.capacity(cpu) * 100
}

/// `fits_capacity`: util below 80 % of the capacity.
pub fn fits_capacity(util: u64, cap: u64) -> bool {
    util * 1280 < cap * 1024
}

/// `capacity_greater`: cap1 is more than ~5 % above cap2.
pub fn capacity_greater(cap1: u64, cap2: u64) -> bool {
    cap1 * 1024 > cap2 * 1078
}

/// `util_fits_cpu` without uclamp (not modelled: `uclamp_is_used()` is false).
pub fn util_fits_cpu(s: &Sched, util: u64, cpu: u32) -> bool {
    fits_capacity(util, capacity_of(s, cpu))
}

/// `task_fits_cpu`.
pub fn task_fits_cpu(s: &Sched, p: TaskId, cpu: u32) -> bool {
    util_fits_cpu(s, task_util_est(s, p), cpu)
}

/// `cpu_load` (`cfs_rq_load_avg` of the root queue).
pub fn cpu_load(s: &Sched, cpu: u32) -> u64 {
    s.fair.cfs(s.rq(cpu).cfs).avg.load_avg
}

/// `cpu_runnable`.
pub fn cpu_runnable(s: &Sched, cpu: u32) -> u64 {
    s.fair.cfs(s.rq(cpu).cfs).avg.runnable_avg
}

fn counted_here(s: &Sched, cpu: u32, p: TaskId) -> bool {
    s.task(p).cpu == cpu && s.fair.se(s.task(p).se).avg.last_update_time != 0
}

/// `cpu_load_without`.
pub fn cpu_load_without(s: &Sched, cpu: u32, p: TaskId) -> u64 {
    let l = cpu_load(s, cpu);
    if !counted_here(s, cpu, p) {
        return l;
    }
    l.saturating_sub(super::group::task_h_load(s, p))
}

/// `cpu_runnable_without`.
pub fn cpu_runnable_without(s: &Sched, cpu: u32, p: TaskId) -> u64 {
    let r = cpu_runnable(s, cpu);
    if !counted_here(s, cpu, p) {
        return r;
    }
    r.saturating_sub(task_runnable(s, p))
}

/// `cpu_util(cpu, p, dst_cpu, boost)`.
pub fn cpu_util(s: &Sched, cpu: u32, p: Option<TaskId>, dst_cpu: Option<u32>, boost: bool) -> u64 {
    let avg = &s.fair.cfs(s.rq(cpu).cfs).avg;
    let mut util = avg.util_avg;
    if boost {
        util = util.max(avg.runnable_avg);
    }
    if let Some(p) = p {
        if s.task(p).cpu == cpu && dst_cpu != Some(cpu) {
            util = util.saturating_sub(task_util(s, p));
        } else if s.task(p).cpu != cpu && dst_cpu == Some(cpu) {
            util += task_util(s, p);
        }
    }
    let mut est = avg.util_est as u64;
    if let Some(p) = p {
        if dst_cpu == Some(cpu) {
            est += task_util_est_raw(s, p);
        } else if s.task(p).on_rq == OnRq::Queued || s.curr(s.task(p).cpu) == p {
            est = est.saturating_sub(task_util_est_raw(s, p));
        }
    }
    util.max(est).min(s.topo.capacity(cpu))
}

/// `cpu_util_cfs`.
pub fn cpu_util_cfs(s: &Sched, cpu: u32) -> u64 {
    cpu_util(s, cpu, None, None, false)
}

/// `cpu_util_cfs_boost`.
pub fn cpu_util_cfs_boost(s: &Sched, cpu: u32) -> u64 {
    cpu_util(s, cpu, None, None, true)
}

/// `cpu_util_without`.
pub fn cpu_util_without(s: &Sched, cpu: u32, p: TaskId) -> u64 {
    let p = counted_here(s, cpu, p).then_some(p);
    cpu_util(s, cpu, p, None, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_table_matches_the_kernel() {
        let t = yn_inv();
        assert_eq!(t[0], 0xffffffff);
        assert_eq!(t[1], 0xfa83b2da);
        assert_eq!(t[31], 0x82cd8698);
        // y^32 = 1/2: decaying by 32 periods halves (then ×yN[0] = 1 − 2^-32 truncates).
        assert_eq!(decay_load(1 << 20, 32), (1 << 19) - 1);
        assert_eq!(decay_load(47742, 2017), 0);
        // 1024 · y ≈ 1002.06 → 1002 (truncating multiply).
        assert_eq!(decay_load(1024, 1), 1002);
    }

    #[test]
    fn always_running_entity_converges_to_load_avg_max() {
        // The series over a long time reaches the divider (LOAD_AVG_MAX − 1024 +
        // period_contrib; here period_contrib = 0), so the averages reach ~1024.
        let mut sa = SchedAvg::default();
        let mut now = 0;
        for _ in 0..5000 {
            now += 1024 * 1024;
            update_load_sum(now, &mut sa, 1, 1, true);
            update_load_avg_from_sums(&mut sa, 1024);
        }
        assert_eq!(sa.period_contrib, 0);
        assert!(
            (PELT_MIN_DIVIDER - 10..=PELT_MIN_DIVIDER).contains(&sa.load_sum),
            "{}",
            sa.load_sum
        );
        assert!(
            sa.util_avg >= 1020 && sa.util_avg <= 1024,
            "{}",
            sa.util_avg
        );
        assert!(sa.load_avg >= 1020 && sa.load_avg <= 1024);
    }

    #[test]
    fn hand_computed_update() {
        // From zero, run 1000 µs-units (1024000 ns): one full 1024-unit period is not yet
        // reached (1000 < 1024): contrib = 1000, no averages update.
        let mut sa = SchedAvg::default();
        assert!(!update_load_sum(1000 << 10, &mut sa, 1, 1, true));
        assert_eq!(
            (sa.load_sum, sa.util_sum, sa.period_contrib),
            (1000, 1000 << 10, 1000)
        );
        // 100 more units cross the boundary: d = 1100, p = 1, d%1024 = 76.
        // contrib = decay(1024−1000, 1) + 47742 − decay(47742, 1) − 1024 + 76
        //         = 23 + 47742 − 46718 − 1024 + 76 = 99; load_sum = decay(1000,1)+99 = 978+99.
        assert!(update_load_sum(1100 << 10, &mut sa, 1, 1, true));
        assert_eq!(decay_load(1000, 1), 978);
        assert_eq!(decay_load(47742, 1), 46718);
        assert_eq!(sa.period_contrib, 76);
        assert_eq!(sa.load_sum, 978 + 99);
        update_load_avg_from_sums(&mut sa, 1024);
        // divider = 46718 + 76.
        assert_eq!(sa.load_avg, 1024 * 1077 / 46794);
        assert_eq!(sa.util_avg, (sa.util_sum) / 46794);
    }

    #[test]
    fn blocked_load_decays_by_half_every_32_ms() {
        let mut sa = SchedAvg::default();
        let mut now = 0;
        for _ in 0..400 {
            now += 1024 * 1024;
            update_load_sum(now, &mut sa, 1, 1, true);
        }
        update_load_avg_from_sums(&mut sa, 1024);
        let before = sa.util_avg;
        now += 32 * 1024 * 1024;
        update_load_sum(now, &mut sa, 0, 0, false);
        update_load_avg_from_sums(&mut sa, 1024);
        assert!(
            (sa.util_avg as i64 - before as i64 / 2).abs() <= 2,
            "{before} {}",
            sa.util_avg
        );
    }
}
