//! Root domain bandwidth (`dl_bw`) and parameter checks: `__checkparam_dl`,
//! `sched_dl_overflow` (admission, `__dl_add`/`__dl_sub`), `__setparam_dl`, `dl_param_changed`.

use super::*;
use schedsim_workload::Policy;

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
pub(super) fn dl_bw_limit(s: &Sched) -> Option<u64> {
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
/// (`__dl_add`/`__dl_sub`). A task leaving keeps its bandwidth until its 0-lag time
/// (`switched_from_dl`, `inactive_task_timer`); one coming back before that must fit with
/// it still counted, and then replaces it. Also the `-EPERM` rule: the affinity must cover
/// the root domain.
pub fn sched_dl_overflow(
    s: &mut Sched,
    p: TaskId,
    to_dl: bool,
    runtime: u64,
    deadline: u64,
    period: u64,
) -> Result<(), String> {
    // task_has_dl_policy (not the class: PI may have boosted p into it).
    let was_dl = s.task(p).policy == Policy::Deadline;
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
        // Leaving the class: switched_from_dl releases the bandwidth at the 0-lag time.
        return Ok(());
    }
    // __dl_overflow: cap_scale(bw, cap) < total_bw - old + new, cap = 1024 per CPU. A task
    // entering does not subtract what it may still hold from before (its inactive timer
    // is pending: that is replaced on success).
    let old_counted = if was_dl { old_bw } else { 0 };
    if let Some(bw) = limit {
        let cap = 1024 * n as u64;
        let total = total_bw(s) - old_counted + new_bw;
        if (bw * cap) >> 10 < total {
            return Err(format!(
                "SCHED_DEADLINE bandwidth {runtime}/{period} does not fit: the root domain's \
                 limit is {:.3} CPUs and {:.3} are taken, the fair servers included (EBUSY)",
                ((bw * cap) >> 10) as f64 / (1u64 << BW_SHIFT) as f64,
                (total_bw(s) - old_counted) as f64 / (1u64 << BW_SHIFT) as f64,
            ));
        }
    }
    if was_dl {
        dl_change_utilization(s, p, new_bw);
    }
    ensure_entity(s, p);
    se_mut(s, s.task(p).cpu, DlKey::Task(p)).admitted_bw = new_bw;
    Ok(())
}

/// Gives `p` its deadline entity and statistics (an entity made for a PI boost has none).
pub(super) fn ensure_entity(s: &mut Sched, p: TaskId) {
    let h = match dl_home(s, p) {
        Some(h) => h,
        None => {
            let c = s.task(p).cpu;
            // A task that never was SCHED_DEADLINE has a zeroed entity: its deadline is
            // the boot, which the kernel's rq_clock (the uptime) is always far past. Our
            // clock starts with the workload, so put it that far back, or
            // dl_check_constrained_dl would see a period that had just begun and throttle
            // a constrained task's first activation until dl_period − dl_deadline.
            let fresh = DlEntity {
                deadline: BOOT_DEADLINE,
                ..DlEntity::default()
            };
            s.rq_mut(c).dl.entities.insert(p, fresh);
            c
        }
    };
    s.rq_mut(h).dl.stats.entry(p).or_default();
}

/// The deadline of a zeroed entity, relative to the workload's start: 2^40 ns (18 min,
/// far past any DL period, at most `sched_deadline_period_max_us` = 4.2 s) before it.
const BOOT_DEADLINE: u64 = 0u64.wrapping_sub(1 << 40);

/// `__dl_sub` of what `p` holds in the root domain's `total_bw`.
pub(super) fn release_bw(s: &mut Sched, p: TaskId) {
    let cpu = s.task(p).cpu;
    se_mut(s, cpu, DlKey::Task(p)).admitted_bw = 0;
}

/// `__dl_clear_params`: a task out of the class past its 0-lag time forgets its
/// parameters (and a boost it no longer has).
pub(super) fn dl_clear_params(s: &mut Sched, p: TaskId) {
    let cpu = s.task(p).cpu;
    set_throttled(s, cpu, DlKey::Task(p), false);
    let e = se_mut(s, cpu, DlKey::Task(p));
    e.dl_runtime = 0;
    e.dl_deadline = 0;
    e.dl_period = 0;
    e.flags = 0;
    e.dl_bw = 0;
    e.dl_density = 0;
    e.dl_yielded = false;
    e.dl_non_contending = false;
    e.dl_overrun = false;
    e.pi_se = None;
    e.params_gen = e.params_gen.wrapping_add(1);
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
    e.params_gen = e.params_gen.wrapping_add(1);
    e.max_slack = e.max_slack.max(e.dl_period - e.dl_deadline);
    e.max_period = e.max_period.max(e.dl_period);
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
