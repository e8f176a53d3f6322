//! Deadline inheritance, the deadline side of `rt_mutex_setprio` and `__sched_setscheduler`
//! (core/pi.rs): a task boosted by a deadline waiter runs in this class with `pi_se`
//! pointing to its donor's entity, whose parameters refill it (`pi_of`), and it is never
//! throttled while boosted (`is_dl_boosted`).

use super::*;

/// Gives `p` a deadline entity if it has none (every `task_struct` has its `dl`; here a
/// task that never was SCHED_DEADLINE gets one when it is boosted). No statistics: it has
/// no jobs of its own.
fn ensure_pi_entity(s: &mut Sched, p: TaskId) {
    if dl_home(s, p).is_none() {
        let c = s.task(p).cpu;
        s.rq_mut(c).dl.entities.insert(p, DlEntity::default());
    }
}

/// `p->dl.pi_se = donor ? donor->dl.pi_se : &p->dl`.
fn set_pi_se(s: &mut Sched, p: TaskId, donor: Option<TaskId>) {
    let target = donor.map(|d| task_se(s, d).pi_se.unwrap_or(d));
    let cpu = s.task(p).cpu;
    se_mut(s, cpu, DlKey::Task(p)).pi_se = target.filter(|&d| d != p);
}

/// `rt_mutex_setprio` for a task whose new priority is in the deadline range: boosted by
/// `donor` (its `pi_se` becomes the donor's) when `p` is not a deadline task itself, or when
/// the donor is a deadline task with an earlier deadline; else it runs with its own
/// parameters. True when the enqueue must replenish (`ENQUEUE_REPLENISH`).
pub fn pi_setprio_dl(s: &mut Sched, p: TaskId, donor: Option<TaskId>) -> bool {
    ensure_pi_entity(s, p);
    let boost = donor.is_some_and(|d| {
        s.task(p).normal_prio >= 0
            || (dl_task(s, d) && dl_entity_preempt(task_se(s, d), task_se(s, p)))
    });
    set_pi_se(s, p, if boost { donor } else { None });
    boost
}

/// `rt_mutex_setprio` leaving the deadline range (or `__dl_clear_params`): `p` runs with its
/// own parameters again.
pub fn pi_unboost_dl(s: &mut Sched, p: TaskId) {
    if dl_home(s, p).is_some() {
        set_pi_se(s, p, None);
    }
}

/// `__sched_setscheduler` on a task that stays in the deadline range by inheritance while
/// its policy is not SCHED_DEADLINE: it runs with the top waiter's parameters, refilled
/// at the enqueue. True when the enqueue must replenish.
pub fn setscheduler_pi_dl(s: &mut Sched, p: TaskId, donor: Option<TaskId>) -> bool {
    let Some(d) = donor else { return false };
    ensure_pi_entity(s, p);
    set_pi_se(s, p, Some(d));
    true
}
