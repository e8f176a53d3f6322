//! The constant bandwidth server (deadline.c): replenishment, `update_dl_entity`, the
//! replenishment timer's arming, the EDF tree (`__enqueue_dl_entity`/`__dequeue_dl_entity`),
//! `enqueue_dl_entity`, and charging (`update_curr_dl_se`, `update_curr_dl`).

use super::*;

/// `replenish_dl_new_period`: a fresh period from now, with `pi_of`'s parameters (a
/// deferred server re-arms).
pub(super) fn replenish_dl_new_period(s: &mut Sched, cpu: u32, k: DlKey) {
    let now = s.rq(cpu).clock;
    let (pi_runtime, pi_deadline, _) = pi_params(s, cpu, k);
    let e = se_mut(s, cpu, k);
    e.deadline = now + pi_deadline;
    e.runtime = pi_runtime as i64;
    e.refill_runtime = pi_runtime;
    if e.dl_defer && !e.dl_defer_running {
        e.dl_throttled = true;
        e.dl_defer_armed = true;
    }
}

/// `setup_new_dl_entity`.
pub(super) fn setup_new_dl_entity(s: &mut Sched, cpu: u32, k: DlKey) {
    if se(s, cpu, k).dl_throttled {
        return;
    }
    replenish_dl_new_period(s, cpu, k);
}

/// `replenish_dl_entity`: add periods until the runtime is positive (the overrun is
/// carried), restart if it lags behind now; a deferred server may re-arm. A boosted entity
/// (a task that never was SCHED_DEADLINE among them: its `dl_deadline` is 0) is refilled
/// with its donor's parameters (`pi_of`).
pub(super) fn replenish_dl_entity(s: &mut Sched, cpu: u32, k: DlKey) {
    let now = s.rq(cpu).clock;
    let pi = pi_params(s, cpu, k);
    let (pi_runtime, pi_deadline, pi_period) = pi;
    let boosted = is_dl_boosted(s, cpu, k);
    {
        let e = se_mut(s, cpu, k);
        if e.dl_deadline == 0 || (e.dl_defer_armed && e.overflow(now, pi)) {
            e.deadline = now + pi_deadline;
            e.runtime = pi_runtime as i64;
            e.refill_runtime = pi_runtime;
        }
        if e.dl_yielded && e.runtime > 0 {
            e.runtime = 0;
        }
        while e.runtime <= 0 {
            e.deadline += pi_period;
            e.runtime += pi_runtime as i64;
            e.refill_runtime = pi_runtime;
        }
    }
    if dl_time_before(se(s, cpu, k).deadline, now) {
        // "DL replenish lagged too much"
        replenish_dl_new_period(s, cpu, k);
    }
    set_throttled(s, cpu, k, false);
    let e = se_mut(s, cpu, k);
    e.dl_yielded = false;
    if e.dl_defer_armed {
        e.dl_defer_armed = false;
        return;
    }
    if e.dl_defer
        && !e.dl_defer_running
        && dl_time_before(now, e.deadline.wrapping_sub(e.runtime as u64))
        && !boosted
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
/// runtime `dl_density · (deadline − now)` instead of a new period (not while boosted).
pub(super) fn update_dl_entity(s: &mut Sched, cpu: u32, k: DlKey) {
    let now = s.rq(cpu).clock;
    let pi = pi_params(s, cpu, k);
    let e = se(s, cpu, k);
    if dl_time_before(e.deadline, now) || e.overflow(now, pi) {
        if (!e.is_implicit() || (e.dl_defer && e.dl_defer_running))
            && !dl_time_before(e.deadline, now)
            && !e.is_boosted()
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
pub(super) fn start_dl_timer(s: &mut Sched, cpu: u32, k: DlKey) -> bool {
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
pub(super) fn cancel_dl_timer(s: &mut Sched, cpu: u32, k: DlKey) {
    let e = se_mut(s, cpu, k);
    e.timer_at = None;
    e.timer_gen = e.timer_gen.wrapping_add(1);
}

/// `inc_dl_deadline`/`dec_dl_deadline`: `earliest_dl.curr`, cpudl and cpupri follow the
/// tree.
pub(super) fn update_earliest(s: &mut Sched, cpu: u32) {
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
pub(super) const CPUPRI_HIGHER_PRIO: i32 = MAX_RT_PRIO;

/// `__enqueue_dl_entity` + `inc_dl_tasks`.
pub(super) fn __enqueue_dl_entity(s: &mut Sched, cpu: u32, k: DlKey) {
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
pub(super) fn __dequeue_dl_entity(s: &mut Sched, cpu: u32, k: DlKey) {
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
/// next period would overrun its bandwidth: throttle it until the next period (unless it
/// is boosted).
pub(super) fn dl_check_constrained_dl(s: &mut Sched, cpu: u32, k: DlKey) {
    let now = s.rq(cpu).clock;
    let e = se(s, cpu, k);
    if dl_time_before(e.deadline, now) && dl_time_before(now, e.next_period()) {
        if e.is_boosted() || !start_dl_timer(s, cpu, k) {
            return;
        }
        set_throttled(s, cpu, k, true);
        let e = se_mut(s, cpu, k);
        if e.runtime > 0 {
            e.runtime = 0;
        }
    }
}

/// `enqueue_dl_entity`.
pub(super) fn enqueue_dl_entity(s: &mut Sched, cpu: u32, k: DlKey, flags: u32) {
    let e = se(s, cpu, k);
    if !e.dl_throttled && !e.is_implicit() {
        dl_check_constrained_dl(s, cpu, k);
    }
    if flags & (enqueue::RESTORE | enqueue::MIGRATING | enqueue::INITIAL) != 0 {
        // A task arriving by setattr or migration (or created straight into the class)
        // brings its bandwidth, active.
        add_rq_bw(s, cpu, k);
        add_running_bw(s, cpu, k);
    }
    let e = se(s, cpu, k);
    if !e.dl_defer && e.dl_throttled && flags & enqueue::REPLENISH == 0 {
        // Throttled: stays off the tree until its timer (but is active).
        if flags & enqueue::WAKEUP != 0 {
            task_contending(s, cpu, k, flags);
        }
        return;
    }
    if flags & enqueue::WAKEUP != 0 {
        task_contending(s, cpu, k, flags);
        update_dl_entity(s, cpu, k);
    } else if flags & enqueue::REPLENISH != 0 {
        replenish_dl_entity(s, cpu, k);
    } else if flags & enqueue::RESTORE != 0
        && !is_dl_boosted(s, cpu, k)
        && dl_time_before(se(s, cpu, k).deadline, s.rq(cpu).clock)
    {
        setup_new_dl_entity(s, cpu, k);
    }
    if se(s, cpu, k).dl_throttled && start_dl_timer(s, cpu, k) {
        return;
    }
    if se(s, cpu, k).dl_throttled {
        cancel_dl_timer(s, cpu, k);
        se_mut(s, cpu, k).dl_defer_armed = false;
        set_throttled(s, cpu, k, false);
    }
    __enqueue_dl_entity(s, cpu, k);
}

/// `dequeue_dl_entity`: a task leaving by setattr or migration takes its bandwidth along;
/// a blocking one becomes non contending.
pub(super) fn dequeue_dl_entity(s: &mut Sched, cpu: u32, k: DlKey, flags: u32) {
    __dequeue_dl_entity(s, cpu, k);
    if flags & (dequeue::SAVE | dequeue::MIGRATING) != 0 {
        sub_running_bw(s, cpu, k);
        sub_rq_bw(s, cpu, k);
    }
    if flags & dequeue::SLEEP != 0 {
        task_non_contending(s, cpu, k);
    }
}

/// `update_curr_dl_se`: charge `delta` and throttle at exhaustion (or yield), with the
/// replenishment timer at the next period; a deferred server that ran out while armed
/// restarts its period and re-arms instead (`idle`: the charge is idle time).
pub(super) fn update_curr_dl_se(s: &mut Sched, cpu: u32, k: DlKey, delta: i64, idle: bool) {
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
        // dl_scaled_delta_exec: GRUB for a reclaiming task (no capacity scaling here).
        let scaled = if !e.dl_server && e.flags & SCHED_FLAG_RECLAIM != 0 {
            grub_reclaim(s, cpu, delta, e)
        } else {
            delta
        };
        let e = se_mut(s, cpu, k);
        e.runtime -= scaled;
        if e.dl_defer && e.dl_throttled && e.runtime_exceeded() {
            // Fair work ran in the background: back to the initial deferred state.
            if e.dl_defer_idle && idle {
                // Idle-wait: the activation is not pushed out again; the timer at the
                // zero-laxity point stops the server. No negative runtime is kept (it
                // would move that point, and the 0-lag time, out).
                e.runtime = 0;
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
        set_throttled(s, cpu, k, true);
        let e = se_mut(s, cpu, k);
        if e.runtime_exceeded() && e.flags & SCHED_FLAG_DL_OVERRUN != 0 {
            e.dl_overrun = true;
        }
        dequeue_dl_entity(s, cpu, k, 0);
        if let DlKey::Task(p) = k {
            dequeue_pushable_dl_task(s, cpu, p);
        }
        // A boosted entity is not throttled: it is refilled at once with its donor's
        // parameters (the deadline moves on by the donor's period).
        if is_dl_boosted(s, cpu, k) || !start_dl_timer(s, cpu, k) {
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
pub(super) fn update_curr_dl(s: &mut Sched, cpu: u32) {
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
pub(super) fn enqueue_task_dl(s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
    let k = DlKey::Task(p);
    if is_dl_boosted(s, cpu, k) {
        // The boost overrides a throttle (the task may have blocked on the mutex with an
        // overrun): the replenishment timer is cancelled.
        if se(s, cpu, k).dl_throttled {
            cancel_dl_timer(s, cpu, k);
            set_throttled(s, cpu, k, false);
        }
    } else if s.task(p).normal_prio >= 0 {
        // Being de-boosted (it goes back to its own class): nothing to queue.
        set_throttled(s, cpu, k, false);
        return;
    }
    // A job starts at a wakeup, at the first enqueue of a new task, and at the
    // replenishment that follows a yield (stats.rs).
    if flags & (enqueue::WAKEUP | enqueue::INITIAL) != 0
        || (flags & enqueue::REPLENISH != 0 && !job_open(s, p))
    {
        job_release(s, p);
    }
    enqueue_dl_entity(s, cpu, DlKey::Task(p), flags);
    if s.curr(cpu) != p && !task_se(s, p).dl_throttled && s.task(p).nr_cpus_allowed > 1 {
        enqueue_pushable_dl_task(s, cpu, p);
    }
}
