//! Idle CPU tracking (ext.c `update_selcpu_topology`'s idle masks, `scx_select_cpu_dfl`):
//! the default CPU selection and the idle-state helpers the kfuncs read.

use super::kfuncs::kf;
use super::*;
use crate::sched::Sched;
use crate::task::TaskId;

/// `scx_select_cpu_dfl` without SMT/LLC/NUMA levels (the machine has no topology here):
/// prev_cpu if idle, else the first idle allowed CPU after it; claims the CPU it returns.
pub(crate) fn select_cpu_dfl(s: &mut Sched, p: TaskId, prev_cpu: u32) -> (u32, bool) {
    let n = s.nr_cpus();
    let order: Vec<u32> = (0..n).map(|i| (prev_cpu + i) % n).collect();
    for c in order {
        if s.task(p).cpus_allowed.test(c) && test_and_clear_cpu_idle(s, c) {
            return (c, true);
        }
    }
    (prev_cpu, false)
}

/// Whether the built-in idle tracking sees `cpu` idle (its bit in `idle_masks.cpu`): it
/// runs the idle task and nobody claimed it since it went idle.
pub(crate) fn cpu_idle(s: &Sched, cpu: u32) -> bool {
    let rq = s.rq(cpu);
    rq.curr == rq.idle && !rq.scx.idle_claimed
}

/// `scx_bpf_test_and_clear_cpu_idle`: the bit stays clear until the CPU goes idle again.
pub(crate) fn test_and_clear_cpu_idle(s: &mut Sched, cpu: u32) -> bool {
    if !cpu_idle(s, cpu) {
        return false;
    }
    s.rqs[cpu as usize].scx.idle_claimed = true;
    true
}

/// Reports idle transitions to ops.update_idle (`__scx_update_idle`), as seen by the ext
/// pick: None means the CPU goes idle.
pub(super) fn update_idle(s: &mut Sched, cpu: u32, idle: bool) {
    if idle {
        // The CPU (re)enters idle: its idle bit is set again.
        s.rqs[cpu as usize].scx.idle_claimed = false;
    }
    if s.rqs[cpu as usize].scx.idle_reported == idle {
        return;
    }
    s.rqs[cpu as usize].scx.idle_reported = idle;
    let has = s
        .ext
        .ops
        .as_ref()
        .is_some_and(|o| o.implements_update_idle());
    if has {
        call_op(s, kf::REST, cpu, false, |o, cx| {
            o.update_idle(cx, cpu, idle)
        });
    }
}
