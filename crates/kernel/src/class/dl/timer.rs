//! The replenishment timer: `dl_task_timer` and `dl_server_timer`, reached from the event
//! loop through `dl_timer_fired`.

use super::*;

/// A `dl_timer` expired (`dl_task_timer` / `dl_server_timer`), from the event loop.
/// The entity's inactive timer (`inactive_task_timer`) comes the same way, its generation
/// marked with `INACTIVE_TIMER`.
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
    if gen & INACTIVE_TIMER != 0 {
        if e.inactive_gen != gen & !INACTIVE_TIMER || e.inactive_at.is_none() {
            return;
        }
        s.irq_entry(cpu, schedsim_trace::IrqVector::LocalTimer);
        s.update_rq_clock(cpu);
        inactive_task_timer(s, cpu, k);
        return;
    }
    if e.timer_gen != gen || e.timer_at.is_none() {
        return;
    }
    se_mut(s, cpu, k).timer_at = None;
    s.irq_entry(cpu, schedsim_trace::IrqVector::LocalTimer);
    s.update_rq_clock(cpu);
    match k {
        DlKey::Server => dl_server_timer(s, cpu),
        DlKey::Task(p) => dl_task_timer(s, cpu, p),
    }
    s.mark_dirty(cpu);
}

/// `dl_task_timer`.
pub(super) fn dl_task_timer(s: &mut Sched, cpu: u32, p: TaskId) {
    let k = DlKey::Task(p);
    if !dl_task(s, p) {
        // The task left SCHED_DEADLINE meanwhile (switched_from_dl). The kernel ignores
        // the timer and leaves it throttled until its 0-lag time (`__dl_clear_params`),
        // which for an overrun comes after this timer: a return in between would stay
        // throttled with no timer left. Here the timer replenishes it as it does a
        // blocked task, so a return runs on a refilled budget, not on the overrun.
        if se(s, cpu, k).dl_throttled && pi_params(s, cpu, k).0 > 0 {
            replenish_dl_entity(s, cpu, k);
        } else {
            set_throttled(s, cpu, k, false);
        }
        return;
    }
    // Boosted meanwhile (rt_mutex_setprio): the boost replenished it, it is not throttled.
    if is_dl_boosted(s, cpu, k) || !se(s, cpu, k).dl_throttled {
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
pub(super) fn dl_server_timer(s: &mut Sched, cpu: u32) {
    let k = DlKey::Server;
    let e = se(s, cpu, k);
    if !e.dl_throttled || e.dl_runtime == 0 {
        return;
    }
    // 6.18: the current task's (or the idle task's) pending runtime reaches the server
    // first (`rq->donor->sched_class->update_curr`), so idle time since the last
    // accounting point counts before the server decides to run.
    s.update_rq_clock(cpu);
    let curr = s.curr(cpu);
    crate::class::class_of(s.task(curr).class).update_curr(s, cpu);
    let e = se(s, cpu, k);
    if !e.dl_throttled {
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
