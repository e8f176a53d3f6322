//! The ext class's `SchedClass` implementation (ext.c `ext_sched_class`): enqueue, dequeue,
//! pick, put_prev/set_next, select_rq, tick, and the slice accounting (`update_curr_scx`).

use super::dsq::{DsqKey, SCX_DSQ_LOCAL};
use super::kfuncs::kf;
use super::ops::{deq, enq, CpuPreemptReason, ScxExitKind, SCX_SLICE_DFL, SCX_SLICE_INF};
use super::*;
use crate::class::{dequeue, enqueue, ClassId, SchedClass};
use crate::prio::LoadWeight;
use crate::sched::Sched;
use crate::task::{OnRq, TaskId};

/// `update_curr_scx`: charge the running ext task and shorten its slice.
pub(super) fn update_curr_scx(s: &mut Sched, cpu: u32) {
    let curr = s.curr(cpu);
    if s.task(curr).class != ClassId::Ext {
        return;
    }
    let now = s.rq(cpu).clock_task;
    let e = s.ext.ent_mut(curr);
    if now <= e.exec_start {
        return;
    }
    let delta = now - e.exec_start;
    e.exec_start = now;
    if e.slice != SCX_SLICE_INF {
        e.slice -= e.slice.min(delta);
    }
}

/// The ext class (`ext_sched_class`).
pub struct ExtClass;

impl SchedClass for ExtClass {
    /// `enqueue_task_scx`.
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
        ensure_enabled(s, p, false);
        let migrating = s.task(p).on_rq == OnRq::Migrating || flags & enqueue::MIGRATING != 0;
        let jiffies = s.jiffies();
        let extra = s.rq(cpu).scx.extra_enq_flags;
        let e = s.ext.ent_mut(p);
        let sticky = e.sticky_cpu.take();
        if e.queued {
            return;
        }
        e.queued = true;
        // set_task_runnable
        if e.reset_runnable_at {
            e.runnable_at = jiffies;
            e.reset_runnable_at = false;
        }
        e.on_runnable_list = true;
        let mut ef = flags as u64 & (enq::WAKEUP | enq::HEAD) | extra;
        if e.selected_cpu.take() == Some(cpu) && flags & enqueue::WAKEUP != 0 {
            ef |= enq::CPU_SELECTED;
        }
        s.rqs[cpu as usize].scx.nr_running += 1;
        s.add_nr_running(cpu, 1);
        if !migrating {
            call_op(s, kf::REST, cpu, false, |o, cx| o.runnable(cx, p, ef));
        }
        do_enqueue_task(s, cpu, p, ef, sticky);
    }

    /// `dequeue_task_scx`.
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) -> bool {
        if !s.ext.ent(p).queued {
            return true;
        }
        let migrating = s.task(p).on_rq == OnRq::Migrating || flags & dequeue::MIGRATING != 0;
        let df = flags as u64 & deq::SLEEP;
        ops_dequeue(s, cpu, p, df);
        if s.curr(cpu) == p {
            update_curr_scx(s, cpu);
            call_op(s, kf::REST, cpu, false, |o, cx| o.stopping(cx, p, false));
        }
        if !migrating {
            call_op(s, kf::REST, cpu, false, |o, cx| o.quiescent(cx, p, df));
        }
        let e = s.ext.ent_mut(p);
        e.queued = false;
        e.on_runnable_list = false;
        e.deferred = false;
        if !migrating {
            e.enq_at = None;
        }
        s.rqs[cpu as usize].scx.nr_running -= 1;
        s.add_nr_running(cpu, -1);
        dispatch_dequeue(s, p);
        true
    }

    /// `yield_task_scx`: ops.yield, or the slice is zeroed.
    fn yield_task(&self, s: &mut Sched, cpu: u32) {
        let p = s.curr(cpu);
        if call_op(s, kf::REST, cpu, false, |o, cx| o.yield_task(cx, p, None)).is_none() {
            s.ext.ent_mut(p).slice = 0;
        }
    }

    /// `wakeup_preempt_scx`: nothing; preemption within ext is the policy's (kicks,
    /// `SCX_ENQ_PREEMPT`).
    fn wakeup_preempt(&self, _s: &mut Sched, _cpu: u32, _p: TaskId, _wake_flags: u32) {}

    /// `balance_scx` → `balance_one`: keep prev if it has slice left, else fill the local
    /// DSQ from the global DSQ and up to 32 rounds of ops.dispatch.
    fn balance(&self, s: &mut Sched, cpu: u32, prev: TaskId) -> bool {
        if !s.ext.enabled {
            return false;
        }
        s.rqs[cpu as usize].scx.in_balance = true;
        let r = balance_one(s, cpu, prev);
        s.rqs[cpu as usize].scx.in_balance = false;
        r
    }

    /// `pick_task_scx`: prev when balance kept it (slice refilled if used up), else the
    /// head of the local DSQ.
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        if !s.ext.enabled {
            return None;
        }
        let keep = std::mem::take(&mut s.rqs[cpu as usize].scx.bal_keep);
        let prev = s.curr(cpu);
        let p = if keep && s.task(prev).class == ClassId::Ext && s.ext.ent(prev).queued {
            Some(prev)
        } else {
            s.rq(cpu).scx.local.first()
        };
        match p {
            Some(p) => {
                let e = s.ext.ent_mut(p);
                if e.slice == 0 {
                    e.slice = SCX_SLICE_DFL;
                }
                update_idle(s, cpu, false);
                Some(p)
            }
            None => {
                update_idle(s, cpu, true);
                None
            }
        }
    }

    /// `put_prev_task_scx`: ops.stopping; a still-queued task with slice left was preempted
    /// by a higher class and goes back to the head of the local DSQ without ops.enqueue; one
    /// with its slice used up is enqueued again (`SCX_ENQ_LAST` if the CPU goes idle). A
    /// higher class taking the CPU gets ops.cpu_release once (`switch_class`).
    fn put_prev_task(&self, s: &mut Sched, cpu: u32, prev: TaskId, next: TaskId) {
        update_curr_scx(s, cpu);
        let next = (next != prev).then_some(next);
        if s.ext.ent(prev).queued {
            call_op(s, kf::REST, cpu, false, |o, cx| o.stopping(cx, prev, true));
        }
        if s.ext.ent(prev).queued {
            let jiffies = s.jiffies();
            let e = s.ext.ent_mut(prev);
            if e.reset_runnable_at {
                e.runnable_at = jiffies;
                e.reset_runnable_at = false;
            }
            e.on_runnable_list = true;
            if e.slice > 0 && !s.ext.bypass {
                dispatch_enqueue(s, DsqKey::Local(cpu), prev, enq::HEAD);
            } else if next.is_some_and(|n| ClassId::Ext < s.task(n).class) {
                do_enqueue_task(s, cpu, prev, enq::LAST, None);
            } else {
                do_enqueue_task(s, cpu, prev, 0, None);
            }
        }
        let Some(n) = next else { return };
        let nc = s.task(n).class;
        if nc < ClassId::Ext && !s.rq(cpu).scx.cpu_released {
            let reason = match nc {
                ClassId::Stop => CpuPreemptReason::Stop,
                ClassId::Rt => CpuPreemptReason::Rt,
                ClassId::Dl => CpuPreemptReason::Dl,
                _ => CpuPreemptReason::Unknown,
            };
            s.rqs[cpu as usize].scx.cpu_released = true;
            call_op(s, kf::CPU_RELEASE, cpu, false, |o, cx| {
                o.cpu_release(cx, cpu, reason)
            });
        }
    }

    /// `set_next_task_scx`: off its DSQ (ops.dequeue if still owned), ops.running, off the
    /// runnable list (the watchdog clock restarts at the next enqueue).
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, _first: bool) {
        let queued = s.ext.ent(p).queued;
        if queued {
            ops_dequeue(s, cpu, p, deq::CORE_SCHED_EXEC);
            dispatch_dequeue(s, p);
        }
        let now = s.rq(cpu).clock_task;
        s.ext.ent_mut(p).exec_start = now;
        if queued {
            if let Some(c) = s.ext.stats.nr_running_events.get_mut(cpu as usize) {
                *c += 1;
            }
            if let Some(at) = s.ext.ent_mut(p).enq_at.take() {
                s.ext.metrics.ran(at, s.now);
            }
            call_op(s, kf::REST, cpu, false, |o, cx| o.running(cx, p));
        }
        let e = s.ext.ent_mut(p);
        e.on_runnable_list = false;
        e.reset_runnable_at = true;
    }

    /// `select_task_rq_scx`: ops.select_cpu (whose insert is the direct-dispatch verdict),
    /// or `scx_select_cpu_dfl` with an idle hit dispatched straight to that CPU.
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, prev_cpu: u32, wake_flags: u32) -> u32 {
        if wake_flags & crate::class::wf::EXEC != 0 {
            return prev_cpu;
        }
        if s.ext.live() {
            s.ext.ddsp_task = Some(p);
            let mask = kf::ENQUEUE | kf::SELECT_CPU;
            let r = call_op(s, mask, prev_cpu, false, |o, cx| {
                o.select_cpu(cx, p, prev_cpu, wake_flags as u64)
            });
            s.ext.ddsp_task = None;
            if let Some(c) = r {
                if c >= 0 && (c as u32) < s.nr_cpus() {
                    s.ext.ent_mut(p).selected_cpu = Some(c as u32);
                    return c as u32;
                }
                s.scx_error(
                    ScxExitKind::Error,
                    format!("invalid CPU {c} from ops.select_cpu()"),
                    Some(p),
                );
                return prev_cpu;
            }
        }
        let (cpu, found) = select_cpu_dfl(s, p, prev_cpu);
        s.ext.ent_mut(p).selected_cpu = Some(cpu);
        if found {
            let e = s.ext.ent_mut(p);
            e.slice = SCX_SLICE_DFL;
            e.ddsp = Some((SCX_DSQ_LOCAL, 0));
        }
        cpu
    }

    /// `task_tick_scx`: charge, ops.tick (in bypass the slice ends), resched at slice 0.
    fn task_tick(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        update_curr_scx(s, cpu);
        if s.ext.bypass {
            s.ext.ent_mut(p).slice = 0;
        } else {
            call_op(s, kf::REST, cpu, false, |o, cx| o.tick(cx, p));
        }
        if s.ext.ent(p).slice == 0 {
            s.resched_curr(cpu);
        }
    }

    fn update_curr(&self, s: &mut Sched, cpu: u32) {
        update_curr_scx(s, cpu);
    }

    /// `scx_post_fork` → `scx_ops_enable_task` for a child born in ext.
    fn task_fork(&self, s: &mut Sched, p: TaskId) {
        ensure_enabled(s, p, true);
    }

    /// `sched_ext_free` → `scx_ops_exit_task`: ops.disable, ops.exit_task.
    fn task_dead(&self, s: &mut Sched, p: TaskId) {
        let cpu = s.task(p).cpu;
        if s.ext.ent(p).enabled {
            s.ext.ent_mut(p).enabled = false;
            call_op(s, kf::REST, cpu, false, |o, cx| o.disable(cx, p));
        }
        if s.ext.ent(p).inited {
            s.ext.ent_mut(p).inited = false;
            call_op(s, kf::REST, cpu, false, |o, cx| o.exit_task(cx, p, false));
        }
    }

    /// `reweight_task_scx`: the weight is stored and ops.set_weight told.
    fn reweight_task(&self, s: &mut Sched, p: TaskId, lw: LoadWeight) {
        let se = s.task(p).se;
        s.fair.se_mut(se).load = lw;
        if s.ext.ent(p).enabled {
            let cpu = s.task(p).cpu;
            let w = scx_weight(lw.weight);
            call_op(s, kf::REST, cpu, false, |o, cx| o.set_weight(cx, p, w));
        }
    }

    /// `switched_from_scx` → `scx_ops_disable_task`: ops.disable.
    fn switched_from(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        if s.ext.ent(p).enabled {
            s.ext.ent_mut(p).enabled = false;
            call_op(s, kf::REST, cpu, true, |o, cx| o.disable(cx, p));
        }
    }

    /// `switching_to_scx`: ops.enable (if the enqueue has not done it), ops.set_cpumask.
    fn switched_to(&self, s: &mut Sched, _cpu: u32, p: TaskId) {
        ensure_enabled(s, p, false);
    }
}

/// `scx_bpf_reenqueue_local`'s per-task step: back to ops.enqueue with `SCX_ENQ_REENQ`.
pub(crate) fn reenqueue(s: &mut Sched, cpu: u32, p: TaskId) {
    do_enqueue_task(s, cpu, p, enq::REENQ, None);
}
