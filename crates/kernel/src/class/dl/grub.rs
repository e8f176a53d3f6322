//! Active bandwidth and GRUB reclaiming (deadline.c): each rq's `this_bw` (the bandwidth of
//! the entities assigned to it) and `running_bw` (of the *active* ones: contending, or
//! blocked before their 0-lag time), the inactive timer that ends the non-contending state
//! (`task_non_contending`, `task_contending`, `inactive_task_timer`), and `grub_reclaim`,
//! which lets a SCHED_FLAG_RECLAIM task be charged only for its share of the bandwidth not
//! used by active entities (core-and-classes.md §3.4).
//!
//! The inactive timer travels as a `DlTimer` event of the same entity whose generation
//! carries `INACTIVE_TIMER` (see `dl_timer_fired`).

use super::*;
use crate::task::tstate;

/// `SCHED_FLAG_RECLAIM`.
pub const SCHED_FLAG_RECLAIM: u64 = 0x02;
/// `RATIO_SHIFT`: `bw_ratio` has 8 fractional bits.
const RATIO_SHIFT: u32 = 8;
/// Marks the generation of a `DlTimer` event that is the entity's inactive timer.
pub(super) const INACTIVE_TIMER: u32 = 1 << 31;

/// `__add_running_bw`.
fn add_running(s: &mut Sched, cpu: u32, bw: u64) {
    let dl = &mut s.rq_mut(cpu).dl;
    dl.running_bw += bw;
    debug_assert!(
        dl.running_bw <= dl.this_bw,
        "running_bw > this_bw on CPU {cpu}"
    );
}

/// `__sub_running_bw` (an underflow is clamped to 0, as the kernel does after its warning).
fn sub_running(s: &mut Sched, cpu: u32, bw: u64) {
    let dl = &mut s.rq_mut(cpu).dl;
    debug_assert!(dl.running_bw >= bw, "running_bw underflow on CPU {cpu}");
    dl.running_bw = dl.running_bw.saturating_sub(bw);
}

/// `add_rq_bw`.
pub(super) fn add_rq_bw(s: &mut Sched, cpu: u32, k: DlKey) {
    let bw = se(s, cpu, k).dl_bw;
    s.rq_mut(cpu).dl.this_bw += bw;
}

/// `sub_rq_bw`.
pub(super) fn sub_rq_bw(s: &mut Sched, cpu: u32, k: DlKey) {
    let bw = se(s, cpu, k).dl_bw;
    let dl = &mut s.rq_mut(cpu).dl;
    debug_assert!(dl.this_bw >= bw, "this_bw underflow on CPU {cpu}");
    dl.this_bw = dl.this_bw.saturating_sub(bw);
    debug_assert!(
        dl.running_bw <= dl.this_bw,
        "running_bw > this_bw on CPU {cpu}"
    );
}

/// `add_running_bw`.
pub(super) fn add_running_bw(s: &mut Sched, cpu: u32, k: DlKey) {
    let bw = se(s, cpu, k).dl_bw;
    add_running(s, cpu, bw);
}

/// `sub_running_bw`.
pub(super) fn sub_running_bw(s: &mut Sched, cpu: u32, k: DlKey) {
    let bw = se(s, cpu, k).dl_bw;
    sub_running(s, cpu, bw);
}

/// Arms the inactive timer of `k` at `at` (`hrtimer_start(&dl_se->inactive_timer)`).
fn start_inactive_timer(s: &mut Sched, cpu: u32, k: DlKey, at: u64) {
    let e = se_mut(s, cpu, k);
    e.inactive_at = Some(at);
    e.inactive_gen = (e.inactive_gen + 1) & !INACTIVE_TIMER;
    let gen = e.inactive_gen | INACTIVE_TIMER;
    let task = match k {
        DlKey::Task(p) => Some(p),
        DlKey::Server => None,
    };
    s.queue.push(at, EventKind::DlTimer { cpu, task, gen });
}

/// `hrtimer_try_to_cancel(&dl_se->inactive_timer)`.
pub(super) fn cancel_inactive_timer(s: &mut Sched, cpu: u32, k: DlKey) {
    let e = se_mut(s, cpu, k);
    e.inactive_at = None;
    e.inactive_gen = (e.inactive_gen + 1) & !INACTIVE_TIMER;
}

/// `task_non_contending`: the entity blocked (or a task is dying, or leaving the class
/// while queued: `switched_from_dl`). Before its 0-lag time
/// `deadline − runtime·period/dl_runtime` it stays active (non contending) until the
/// inactive timer; after it, its bandwidth leaves `running_bw` at once, and a task out of
/// the class gives its root-domain bandwidth back and forgets its parameters.
pub(super) fn task_non_contending(s: &mut Sched, cpu: u32, k: DlKey) {
    let e = se(s, cpu, k);
    if e.dl_runtime == 0 {
        return;
    }
    debug_assert!(!e.dl_non_contending);
    let lag = (e.runtime as i128 * e.dl_period as i128 / e.dl_runtime as i128) as i64;
    let zerolag = e.deadline as i64 - lag;
    let now = s.rq(cpu).clock as i64;
    if zerolag < now || e.inactive_at.is_some() {
        match k {
            DlKey::Server => sub_running_bw(s, cpu, k),
            DlKey::Task(p) => {
                if dl_task(s, p) {
                    sub_running_bw(s, cpu, k);
                }
                if s.task(p).state & tstate::DEAD != 0 {
                    sub_rq_bw(s, cpu, k);
                } else if !dl_task(s, p) {
                    admission::release_bw(s, p);
                    admission::dl_clear_params(s, p);
                }
            }
        }
        return;
    }
    se_mut(s, cpu, k).dl_non_contending = true;
    start_inactive_timer(s, cpu, k, zerolag as u64);
}

/// `task_contending`: the entity wakes (or the fair server starts): active again, either
/// still in `running_bw` (the inactive timer is cancelled) or added back.
pub(super) fn task_contending(s: &mut Sched, cpu: u32, k: DlKey, flags: u32) {
    // ENQUEUE_MIGRATED brings only what migrate_task_rq_dl took off the old rq (a task
    // that was in another class then and switched to this one while waking brought its
    // bandwidth here already, switched_to_dl).
    let migrated = std::mem::take(&mut se_mut(s, cpu, k).migrated_bw);
    if se(s, cpu, k).dl_runtime == 0 {
        return;
    }
    if flags & enqueue::MIGRATED != 0 && migrated {
        add_rq_bw(s, cpu, k);
    }
    if se(s, cpu, k).dl_non_contending {
        se_mut(s, cpu, k).dl_non_contending = false;
        cancel_inactive_timer(s, cpu, k);
    } else {
        add_running_bw(s, cpu, k);
    }
}

/// `inactive_task_timer`: the 0-lag time of a non-contending entity passed: its bandwidth
/// leaves `running_bw` (a dead task's also leaves `this_bw`). For a task that left the
/// class meanwhile (`switched_from_dl` already took it off the rq) its root-domain
/// bandwidth is given back now and its parameters are cleared.
pub(super) fn inactive_task_timer(s: &mut Sched, cpu: u32, k: DlKey) {
    se_mut(s, cpu, k).inactive_at = None;
    if let DlKey::Task(p) = k {
        if !dl_task(s, p) {
            admission::release_bw(s, p);
            admission::dl_clear_params(s, p);
            return;
        }
    }
    if !se(s, cpu, k).dl_non_contending {
        return;
    }
    if let DlKey::Task(p) = k {
        if s.task(p).state & tstate::DEAD != 0 {
            sub_running_bw(s, cpu, k);
            sub_rq_bw(s, cpu, k);
            se_mut(s, cpu, k).dl_non_contending = false;
            return;
        }
    }
    sub_running_bw(s, cpu, k);
    se_mut(s, cpu, k).dl_non_contending = false;
}

/// `migrate_task_rq_dl`: a waking task moves to `new_cpu`: its bandwidth leaves the old
/// rq (the wakeup's `task_contending(ENQUEUE_MIGRATED)` adds it to the new one).
pub(super) fn migrate_task_rq_dl(s: &mut Sched, p: TaskId, new_cpu: u32) {
    let old = s.task(p).cpu;
    if s.task(p).state != tstate::WAKING || old == new_cpu || dl_home(s, p).is_none() {
        return;
    }
    let k = DlKey::Task(p);
    if se(s, old, k).dl_non_contending {
        sub_running_bw(s, old, k);
        se_mut(s, old, k).dl_non_contending = false;
        cancel_inactive_timer(s, old, k);
    }
    sub_rq_bw(s, old, k);
    se_mut(s, old, k).migrated_bw = true;
}

/// `dl_change_utilization`: new parameters for a task that is not queued: its
/// `this_bw` share changes now (a non-contending task becomes inactive first).
pub(super) fn dl_change_utilization(s: &mut Sched, p: TaskId, new_bw: u64) {
    if s.task(p).on_rq == OnRq::Queued {
        return;
    }
    let (cpu, k) = (s.task(p).cpu, DlKey::Task(p));
    if se(s, cpu, k).dl_non_contending {
        sub_running_bw(s, cpu, k);
        se_mut(s, cpu, k).dl_non_contending = false;
        cancel_inactive_timer(s, cpu, k);
    }
    sub_rq_bw(s, cpu, k);
    s.rq_mut(cpu).dl.this_bw += new_bw;
}

/// `dl_rq->max_bw` and `dl_rq->bw_ratio` (`init_dl_rq_bw_ratio`): the root domain's limit
/// and its inverse (8 fractional bits); 1 and 1 without admission control.
fn max_bw_and_ratio(s: &Sched) -> (u64, u64) {
    match admission::dl_bw_limit(s) {
        None => (1 << BW_SHIFT, 1 << RATIO_SHIFT),
        Some(bw) => {
            let (rt_rt, rt_p) = (s.cfg.rt_runtime_us as u64, s.cfg.rt_period_us);
            (bw, to_ratio(rt_rt, rt_p) >> (BW_SHIFT - RATIO_SHIFT))
        }
    }
}

/// `dl_rq->extra_bw`: `max_bw` less each admitted bandwidth divided among the root
/// domain's CPUs (`__dl_add`/`__dl_sub` → `__dl_update`), the same on every CPU.
fn extra_bw(s: &Sched, max_bw: u64) -> u64 {
    let cpus = s.nr_cpus() as u64;
    (0..s.nr_cpus()).fold(max_bw, |acc, c| {
        let dl = &s.rq(c).dl;
        let taken: u64 = dl.server.admitted_bw / cpus
            + dl.entities
                .values()
                .map(|e| e.admitted_bw / cpus)
                .sum::<u64>();
        acc.wrapping_sub(taken)
    })
}

/// `grub_reclaim`: the runtime a reclaiming entity is charged for `delta` of execution:
/// `delta · max(u, max_bw − u_inact − extra_bw) / max_bw`, with `u_inact = this_bw −
/// running_bw` (compared the other way round, as the kernel does, so that it cannot go
/// negative).
pub(super) fn grub_reclaim(s: &Sched, cpu: u32, delta: i64, e: &DlEntity) -> i64 {
    let (max_bw, bw_ratio) = max_bw_and_ratio(s);
    let extra = extra_bw(s, max_bw);
    let dl = &s.rq(cpu).dl;
    let u_inact = dl.this_bw.wrapping_sub(dl.running_bw);
    let u_act = if u_inact.wrapping_add(extra) > max_bw.wrapping_sub(e.dl_bw) {
        e.dl_bw
    } else {
        max_bw - u_inact - extra
    };
    let u_act = (u_act as u128 * bw_ratio as u128) >> RATIO_SHIFT;
    ((delta as u128 * u_act) >> BW_SHIFT) as i64
}
