//! vCPU packing: a vendor patch in the reference VM's kernel (6.18.44-fc), not in mainline.
//! Its boot line sets `sched_vcpu_pack=15`, and `select_task_rq_fair` starts with a step that
//! puts a task on a *busy* CPU with room to spare before mainline's search for an idle one,
//! so a lightly loaded guest keeps its other vCPUs idle (for the host to reclaim).
//!
//! Read from the VM's kernel text (its symbols `vcpu_pack_room` and `setup_sched_vcpu_pack`,
//! disassembled from memory read with bpftrace; docs/kernel-version.md). The machine key
//! `vcpu_pack` is the boot parameter's bit mask; `refvm` sets 15.

use super::pelt::{capacity_of, cpu_util_cfs, task_util_est};
use crate::class::wf;
use crate::sched::Sched;
use crate::task::{OnRq, TaskId};

/// A wakeup made by the idle task (an interrupt on an idle CPU) stays on that CPU.
pub const PACK_IDLE_WAKE: u32 = 1;
/// A WF_SYNC wakeup goes to the waker's CPU if it has room.
pub const PACK_SYNC: u32 = 2;
/// A wakeup goes to its previous CPU if busy with room, else the waker's CPU with room,
/// else the first busy CPU with room.
pub const PACK_WAKE: u32 = 4;
/// Fork and exec place the task on the parent's CPU if it has room.
pub const PACK_FORK: u32 = 8;

/// `vcpu_pack_room`: `cpu` runs only fair tasks, at most one of them runnable besides `p`,
/// no wakeup is on its way there, and its CFS utilisation with `p` added stays under 70 %
/// of its capacity.
pub fn vcpu_pack_room(s: &Sched, p: TaskId, cpu: u32) -> bool {
    let t = s.task(p);
    let already_here = t.on_rq == OnRq::Queued && t.cpu == cpu;
    if !t.cpus_allowed.test(cpu) {
        return false;
    }
    let rq = s.rq(cpu);
    let cfs = s.fair.cfs(rq.cfs);
    if rq.ttwu_pending > 0 || rq.nr_running != cfs.h_nr_queued {
        return false;
    }
    if cfs.h_nr_runnable > already_here as u32 + 1 {
        return false;
    }
    let mut util = cpu_util_cfs(s, cpu);
    if cpu != t.cpu {
        util += task_util_est(s, p);
    }
    util * 100 < capacity_of(s, cpu) * 70
}

/// The packing step at the top of `select_task_rq_fair`: the CPU to place `p` on, or None
/// to go on with mainline's placement. `sync` is WF_SYNC from a waker that is not exiting.
pub fn select(
    s: &Sched,
    p: TaskId,
    prev: u32,
    this_cpu: u32,
    wake_flags: u32,
    sync: bool,
) -> Option<u32> {
    let pack = s.cfg.vcpu_pack;
    if pack == 0 || s.task(p).nr_cpus_allowed == 1 {
        return None;
    }
    if wake_flags & (wf::FORK | wf::EXEC) != 0 {
        return (pack & PACK_FORK != 0 && vcpu_pack_room(s, p, this_cpu)).then_some(this_cpu);
    }
    if wake_flags & wf::TTWU == 0 {
        return None;
    }
    let current = s.curr(this_cpu);
    if pack & PACK_IDLE_WAKE != 0
        && current == s.rq(this_cpu).idle
        && s.rq(this_cpu).nr_running == 0
        && s.task(p).cpus_allowed.test(this_cpu)
    {
        return Some(this_cpu);
    }
    if pack & PACK_SYNC != 0 && sync && vcpu_pack_room(s, p, this_cpu) {
        return Some(this_cpu);
    }
    if pack & PACK_WAKE == 0 {
        return None;
    }
    if !s.idle_cpu(prev) && vcpu_pack_room(s, p, prev) {
        return Some(prev);
    }
    if vcpu_pack_room(s, p, this_cpu) {
        return Some(this_cpu);
    }
    (0..s.nr_cpus())
        .find(|&c| s.task(p).cpus_allowed.test(c) && !s.idle_cpu(c) && vcpu_pack_room(s, p, c))
}
