//! Dispatch (ext.c): where a task goes on enqueue (`do_enqueue_task`, direct dispatch), the
//! DSQ operations (`dispatch_enqueue`/`dispatch_dequeue`, the local DSQs and the remote move),
//! the dispatch buffer, CPU kicks, and `balance_one`, which runs `ops.dispatch` until the
//! local DSQ has a task.

use super::dsq::{
    Dsq, DsqKey, SCX_DSQ_GLOBAL, SCX_DSQ_LOCAL, SCX_DSQ_LOCAL_CPU_MASK, SCX_DSQ_LOCAL_ON,
};
use super::kfuncs::kf;
use super::ops::{enq, opsf, ScxExitKind, SCX_DSP_MAX_LOOPS, SCX_SLICE_DFL};
use super::*;
use crate::class::{dequeue, enqueue, ClassId, SchedClass};
use crate::sched::{Ctx, Sched};
use crate::stats::MigrationCause;
use crate::task::{OnRq, TaskId};

/// `scx_bpf_kick_cpu`'s irq_work queueing.
pub(crate) fn queue_kick(s: &mut Sched, cpu: u32, flags: u64) {
    s.ext.kicks.push((cpu, flags));
    if !s.ext.kick_pending {
        s.ext.kick_pending = true;
        s.scx_queue_work(cpu, ScxWork::Kick);
    }
}

/// `kick_one_cpu` / `kick_one_cpu_if_idle`.
pub(super) fn kick_one_cpu(s: &mut Sched, cpu: u32, flags: u64) {
    let curr = s.curr(cpu);
    if flags & ops::kick::IDLE != 0 {
        if curr == s.rq(cpu).idle {
            s.resched_curr(cpu);
        }
        return;
    }
    if flags & ops::kick::PREEMPT != 0 && s.task(curr).class == ClassId::Ext {
        s.ext.ent_mut(curr).slice = 0;
    }
    s.resched_curr(cpu);
}

/// `find_dsq_for_dispatch`: resolve a DSQ id as seen from `rq_cpu`; a bad id is a policy
/// error and falls back to the global DSQ.
pub(crate) fn find_dsq_for_dispatch(s: &mut Sched, rq_cpu: u32, id: u64, p: TaskId) -> DsqKey {
    if id == SCX_DSQ_LOCAL {
        return DsqKey::Local(rq_cpu);
    }
    if id & SCX_DSQ_LOCAL_ON == SCX_DSQ_LOCAL_ON {
        let cpu = id & SCX_DSQ_LOCAL_CPU_MASK;
        if cpu < s.nr_cpus() as u64 {
            return DsqKey::Local(cpu as u32);
        }
        s.scx_error(
            ScxExitKind::Error,
            format!("invalid CPU {cpu} in SCX_DSQ_LOCAL_ON verdict"),
            Some(p),
        );
        return DsqKey::Global;
    }
    if id == SCX_DSQ_GLOBAL {
        return DsqKey::Global;
    }
    if id & dsq::SCX_DSQ_FLAG_BUILTIN == 0 && s.ext.user.contains_key(&id) {
        return DsqKey::User(id);
    }
    let name = task_name(s, p);
    s.scx_error(
        ScxExitKind::Error,
        format!("non-existent DSQ 0x{id:x} for {name}"),
        Some(p),
    );
    DsqKey::Global
}

/// A DSQ about to change: its depth so far is integrated up to now.
pub(crate) fn dsq_mut(s: &mut Sched, key: DsqKey) -> &mut Dsq {
    let now = s.now;
    let d = match key {
        DsqKey::Global => &mut s.ext.global,
        DsqKey::Local(c) => &mut s.rqs[c as usize].scx.local,
        DsqKey::User(id) => s.ext.user.entry(id).or_insert_with(|| Dsq::new_at(now)),
    };
    d.account(now);
    d
}

pub(crate) fn dsq_ref(s: &Sched, key: DsqKey) -> Option<&Dsq> {
    match key {
        DsqKey::Global => Some(&s.ext.global),
        DsqKey::Local(c) => s.rqs.get(c as usize).map(|r| &r.scx.local),
        DsqKey::User(id) => s.ext.user.get(&id),
    }
}

/// `dispatch_enqueue`: put a task on a DSQ (FIFO, head, or by vtime); a local insertion
/// may preempt (`local_dsq_post_enq`).
pub(crate) fn dispatch_enqueue(s: &mut Sched, key: DsqKey, p: TaskId, flags: u64) {
    let mut vtime = flags & enq::DSQ_PRIQ != 0;
    if vtime && key.is_builtin() {
        s.scx_error(
            ScxExitKind::Error,
            format!(
                "cannot use vtime ordering for built-in DSQs (0x{:x})",
                key.id()
            ),
            Some(p),
        );
        vtime = false;
    }
    if let DsqKey::User(id) = key {
        let d = dsq_mut(s, key);
        let (fifo, priq) = (d.has_fifo(), d.has_priq());
        if vtime && fifo {
            s.scx_error(
                ScxExitKind::Error,
                format!("DSQ 0x{id:x} already had FIFO-enqueued tasks"),
                Some(p),
            );
        } else if !vtime && priq {
            s.scx_error(
                ScxExitKind::Error,
                format!("DSQ 0x{id:x} already had PRIQ-enqueued tasks"),
                Some(p),
            );
        }
    }
    let v = s.ext.ent(p).dsq_vtime;
    let d = dsq_mut(s, key);
    if vtime {
        d.push_vtime(p, v);
    } else {
        d.push_fifo(p, flags & (enq::HEAD | enq::PREEMPT) != 0);
    }
    let e = s.ext.ent_mut(p);
    e.dsq = Some(key);
    e.owned = false;
    if let DsqKey::Local(c) = key {
        local_dsq_post_enq(s, c, p, flags);
    }
}

/// `local_dsq_post_enq`: a local insertion reschedules only with `SCX_ENQ_PREEMPT` (the
/// running ext task's slice is zeroed) or when the CPU runs a lower class (idle).
pub(super) fn local_dsq_post_enq(s: &mut Sched, cpu: u32, p: TaskId, flags: u64) {
    if s.rq(cpu).scx.in_balance {
        // The CPU is already looking for its next task.
        return;
    }
    let curr = s.curr(cpu);
    let cc = s.task(curr).class;
    let mut preempt = false;
    if flags & enq::PREEMPT != 0 && p != curr && cc == ClassId::Ext {
        s.ext.ent_mut(curr).slice = 0;
        preempt = true;
    }
    if preempt || ClassId::Ext < cc {
        s.resched_curr(cpu);
    }
}

/// `dispatch_dequeue`: take the task off whatever DSQ holds it.
pub(crate) fn dispatch_dequeue(s: &mut Sched, p: TaskId) {
    if let Some(k) = s.ext.ent_mut(p).dsq.take() {
        dsq_mut(s, k).remove(p);
    }
}

/// `task_can_run_on_remote_rq`: affinity check for a move to `cpu`; with `enforce`, a
/// disallowed CPU is a policy error.
pub(crate) fn task_can_run_on_remote_rq(s: &mut Sched, p: TaskId, cpu: u32, enforce: bool) -> bool {
    if s.task(p).cpus_allowed.test(cpu) {
        return true;
    }
    if enforce {
        let name = task_name(s, p);
        s.scx_error(
            ScxExitKind::Error,
            format!("SCX_DSQ_LOCAL[_ON] target CPU {cpu} not allowed for {name}"),
            Some(p),
        );
    }
    false
}

/// `move_remote_task_to_local_dsq`: deactivate on the source rq, `set_task_cpu`, activate
/// on the destination with the sticky CPU so the enqueue lands in its local DSQ.
pub(super) fn move_remote_task_to_local_dsq(
    s: &mut Sched,
    this_cpu: u32,
    p: TaskId,
    flags: u64,
    dst: u32,
) {
    let src = s.task(p).cpu;
    s.update_rq_clock(src);
    s.task_mut(p).on_rq = OnRq::Migrating;
    ExtClass.dequeue_task(s, src, p, dequeue::MIGRATING | dequeue::NOCLOCK);
    s.set_task_cpu(Ctx::Task(this_cpu), p, dst, MigrationCause::Ext);
    s.ext.ent_mut(p).sticky_cpu = Some(dst);
    s.update_rq_clock(dst);
    s.task_mut(p).on_rq = OnRq::Migrating;
    s.rqs[dst as usize].scx.extra_enq_flags = flags;
    s.activate_task(dst, p, enqueue::MIGRATING | enqueue::NOCLOCK);
    s.rqs[dst as usize].scx.extra_enq_flags = 0;
    if let Some(c) = s.ext.stats.remote_local_moves.get_mut(dst as usize) {
        *c += 1;
    }
}

/// `dispatch_to_local_dsq`: insert into `dst`'s local DSQ, migrating the task there if it
/// is counted on another rq; an affinity miss is a policy error and the task goes global.
pub(crate) fn dispatch_to_local_dsq(s: &mut Sched, this_cpu: u32, dst: u32, p: TaskId, flags: u64) {
    let src = s.task(p).cpu;
    if src == dst {
        dispatch_enqueue(s, DsqKey::Local(dst), p, flags);
        return;
    }
    if !task_can_run_on_remote_rq(s, p, dst, true) {
        dispatch_enqueue(s, DsqKey::Global, p, flags);
        return;
    }
    move_remote_task_to_local_dsq(s, this_cpu, p, flags, dst);
}

/// `consume_dispatch_q`: move the first task of a DSQ that may run on `cpu` to its local
/// DSQ (`move_local_task_to_local_dsq` or `move_remote_task_to_local_dsq`).
pub(crate) fn consume_dispatch_q(s: &mut Sched, cpu: u32, key: DsqKey) -> bool {
    let cands: Vec<TaskId> = match dsq_ref(s, key) {
        Some(d) => d.iter().collect(),
        None => return false,
    };
    for p in cands {
        if s.task(p).cpu == cpu {
            dispatch_dequeue(s, p);
            dsq_mut(s, DsqKey::Local(cpu)).push_fifo(p, false);
            s.ext.ent_mut(p).dsq = Some(DsqKey::Local(cpu));
            return true;
        }
        if task_can_run_on_remote_rq(s, p, cpu, false) {
            dispatch_dequeue(s, p);
            move_remote_task_to_local_dsq(s, cpu, p, 0, cpu);
            return true;
        }
    }
    false
}

/// `direct_dispatch`: apply the verdict select_cpu/enqueue gave; another CPU's local DSQ is
/// reached through the deferred list (`ddsp_deferred_locals`).
pub(super) fn direct_dispatch(s: &mut Sched, cpu: u32, p: TaskId, enq_flags: u64) {
    let Some((id, dflags)) = s.ext.ent_mut(p).ddsp.take() else {
        return;
    };
    let flags = enq_flags | dflags;
    s.ext.metrics.count_insert(id, true);
    let key = find_dsq_for_dispatch(s, cpu, id, p);
    match key {
        DsqKey::Local(c) if c != cpu => {
            s.ext.ent_mut(p).deferred = true;
            s.ext.deferred.push((p, c, flags));
            if !s.ext.deferred_pending {
                s.ext.deferred_pending = true;
                s.scx_queue_work(cpu, ScxWork::Deferred);
            }
        }
        _ => dispatch_enqueue(s, key, p, flags),
    }
}

/// `do_enqueue_task`: sticky migration → local; bypass → global; a direct-dispatch verdict;
/// else ops.enqueue, after which the policy owns the task unless it inserted it.
pub(super) fn do_enqueue_task(
    s: &mut Sched,
    cpu: u32,
    p: TaskId,
    enq_flags: u64,
    sticky: Option<u32>,
) {
    if sticky == Some(cpu) {
        dispatch_enqueue(s, DsqKey::Local(cpu), p, enq_flags);
        return;
    }
    if !s.ext.live() {
        s.ext.ent_mut(p).slice = SCX_SLICE_DFL;
        dispatch_enqueue(s, DsqKey::Global, p, enq_flags);
        return;
    }
    let now = s.now;
    s.ext.ent_mut(p).enq_at = Some(now);
    if s.ext.ent(p).ddsp.is_some() {
        direct_dispatch(s, cpu, p, enq_flags);
        return;
    }
    s.ext.metrics.enqueues += 1;
    let qseq = s.rqs[cpu as usize].scx.ops_qseq;
    s.rqs[cpu as usize].scx.ops_qseq += 1;
    let e = s.ext.ent_mut(p);
    e.owned = true;
    e.qseq = qseq;
    s.ext.ddsp_task = Some(p);
    let called = call_op(s, kf::ENQUEUE, cpu, false, |o, cx| {
        o.enqueue(cx, p, enq_flags)
    });
    s.ext.ddsp_task = None;
    if called.is_none() {
        let e = s.ext.ent_mut(p);
        e.owned = false;
        e.slice = SCX_SLICE_DFL;
        dispatch_enqueue(s, DsqKey::Global, p, enq_flags);
        return;
    }
    if s.ext.ent(p).ddsp.is_some() {
        s.ext.ent_mut(p).owned = false;
        direct_dispatch(s, cpu, p, enq_flags);
    }
}

/// `ops_dequeue`: a task the policy owns is taken back (ops.dequeue).
pub(super) fn ops_dequeue(s: &mut Sched, cpu: u32, p: TaskId, deq_flags: u64) {
    if !s.ext.ent(p).owned {
        return;
    }
    s.ext.ent_mut(p).owned = false;
    call_op(s, kf::REST, cpu, false, |o, cx| o.dequeue(cx, p, deq_flags));
}

/// `flush_dispatch_buf` → `finish_dispatch`: apply the inserts ops.dispatch buffered; a
/// task the policy no longer owns (dequeued, already dispatched) is skipped.
pub(crate) fn flush_dispatch_buf(s: &mut Sched, cpu: u32) {
    let buf = std::mem::take(&mut s.ext.dsp_buf);
    for (p, id, flags, qseq) in buf {
        let e = s.ext.ent(p);
        if !e.queued || !e.owned || e.qseq != qseq {
            continue;
        }
        s.ext.ent_mut(p).owned = false;
        s.ext.metrics.count_insert(id, false);
        match find_dsq_for_dispatch(s, cpu, id, p) {
            DsqKey::Local(c) => dispatch_to_local_dsq(s, cpu, c, p, flags),
            key => dispatch_enqueue(s, key, p, flags),
        }
    }
}

/// Simulated time does not pass inside the kernel, so a policy that makes a CPU balance
/// again and again (32 dispatch rounds, self-kick, repeat) would spin forever at one
/// instant where the kernel would burn real time until its watchdog fired. Past
/// `BALANCE_LIVELOCK` balances of one CPU at one instant the policy is ejected as stalled.
pub(super) const BALANCE_LIVELOCK: u32 = 20_000;

pub(super) fn balance_livelocked(s: &mut Sched, cpu: u32) -> bool {
    let now = s.now;
    let rq = &mut s.rqs[cpu as usize].scx;
    if rq.bal_instant != now {
        rq.bal_instant = now;
        rq.bal_rounds = 0;
    }
    rq.bal_rounds += 1;
    if rq.bal_rounds <= BALANCE_LIVELOCK || !s.ext.live() {
        return false;
    }
    s.scx_error(
        ScxExitKind::ErrorStall,
        format!("CPU {cpu} balanced {BALANCE_LIVELOCK} times at one instant (dispatch livelock)"),
        None,
    );
    true
}

/// `balance_one` (see `ExtClass::balance`).
pub(super) fn balance_one(s: &mut Sched, cpu: u32, prev: TaskId) -> bool {
    s.rqs[cpu as usize].scx.bal_keep = false;
    if balance_livelocked(s, cpu) {
        return false;
    }
    if s.rq(cpu).scx.cpu_released {
        call_op(s, kf::REST, cpu, false, |o, cx| o.cpu_acquire(cx, cpu));
        s.rqs[cpu as usize].scx.cpu_released = false;
    }
    let prev_on_scx = s.task(prev).class == ClassId::Ext;
    let prev_on_rq = prev_on_scx && s.ext.ent(prev).queued;
    let keep = |s: &mut Sched| {
        s.rqs[cpu as usize].scx.bal_keep = true;
        true
    };
    if prev_on_scx {
        update_curr_scx(s, cpu);
        if prev_on_rq && s.ext.ent(prev).slice > 0 && !s.ext.bypass {
            return keep(s);
        }
    }
    if s.rq(cpu).scx.local.nr() > 0 || consume_dispatch_q(s, cpu, DsqKey::Global) {
        return true;
    }
    if s.ext.live() {
        let mut loops = SCX_DSP_MAX_LOOPS;
        loop {
            s.ext.dsp_nr = 0;
            if let Some(c) = s.ext.stats.dispatch_calls.get_mut(cpu as usize) {
                *c += 1;
            }
            let pv = prev_on_scx.then_some(prev);
            call_op(s, kf::DISPATCH, cpu, false, |o, cx| o.dispatch(cx, cpu, pv));
            flush_dispatch_buf(s, cpu);
            if prev_on_rq && s.ext.ent(prev).slice > 0 {
                return keep(s);
            }
            if s.rq(cpu).scx.local.nr() > 0 || consume_dispatch_q(s, cpu, DsqKey::Global) {
                return true;
            }
            loops -= 1;
            if loops == 0 {
                // Let the watchdog run: finish this pick, then kick ourselves.
                queue_kick(s, cpu, 0);
                break;
            }
            if s.ext.dsp_nr == 0 || !s.ext.live() {
                break;
            }
        }
    }
    // no_tasks: keep running prev unless SCX_OPS_ENQ_LAST asks for an explicit enqueue.
    if prev_on_rq && (s.ext.ops_flags & opsf::ENQ_LAST == 0 || s.ext.bypass) {
        return keep(s);
    }
    false
}
