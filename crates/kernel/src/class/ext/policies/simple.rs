//! scx_simple (scheds/c/scx_simple.bpf.c): one shared user DSQ, FIFO or ordered by a
//! weighted virtual time; idle CPUs found by `select_cpu_dfl` get the task directly.

use crate::class::ext::dsq::SCX_DSQ_LOCAL;
use crate::class::ext::kfuncs::ScxCtx;
use crate::class::ext::ops::{ExtOps, SCX_SLICE_DFL};
use crate::task::TaskId;

use super::time_before;

/// The shared DSQ's id.
pub const SHARED_DSQ: u64 = 0;

pub struct Simple {
    /// `fifo_sched`.
    fifo: bool,
    /// `vtime_now`: the highest vtime of a task that started running.
    vtime_now: u64,
    /// `stats[0]` (local: idle CPU hits) and `stats[1]` (global: enqueued to the DSQ).
    pub nr_local: u64,
    pub nr_global: u64,
}

impl Simple {
    pub fn new(fifo: bool) -> Simple {
        Simple {
            fifo,
            vtime_now: 0,
            nr_local: 0,
            nr_global: 0,
        }
    }
}

impl ExtOps for Simple {
    fn name(&self) -> &str {
        "simple"
    }

    /// `simple_select_cpu`.
    fn select_cpu(&mut self, cx: &mut ScxCtx, p: TaskId, prev_cpu: u32, wake_flags: u64) -> i32 {
        let (cpu, idle) = cx.select_cpu_dfl(p, prev_cpu, wake_flags);
        if idle {
            self.nr_local += 1;
            cx.dsq_insert(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
        }
        cpu as i32
    }

    /// `simple_enqueue`: FIFO, or by vtime with the budget of an idle task capped at one
    /// slice (`vtime_now - SCX_SLICE_DFL`).
    fn enqueue(&mut self, cx: &mut ScxCtx, p: TaskId, enq_flags: u64) {
        self.nr_global += 1;
        if self.fifo {
            cx.dsq_insert(p, SHARED_DSQ, SCX_SLICE_DFL, enq_flags);
        } else {
            let mut vtime = cx.task_vtime(p);
            let floor = self.vtime_now.wrapping_sub(SCX_SLICE_DFL);
            if time_before(vtime, floor) {
                vtime = floor;
            }
            cx.dsq_insert_vtime(p, SHARED_DSQ, SCX_SLICE_DFL, vtime, enq_flags);
        }
    }

    /// `simple_dispatch`.
    fn dispatch(&mut self, cx: &mut ScxCtx, _cpu: u32, _prev: Option<TaskId>) {
        cx.dsq_move_to_local(SHARED_DSQ);
    }

    /// `simple_running`: global vtime follows the running tasks.
    fn running(&mut self, cx: &mut ScxCtx, p: TaskId) {
        if self.fifo {
            return;
        }
        let v = cx.task_vtime(p);
        if time_before(self.vtime_now, v) {
            self.vtime_now = v;
        }
    }

    /// `simple_stopping`: charge the slice used, scaled by the inverse weight.
    fn stopping(&mut self, cx: &mut ScxCtx, p: TaskId, _runnable: bool) {
        if self.fifo {
            return;
        }
        let used = SCX_SLICE_DFL.saturating_sub(cx.task_slice(p));
        let w = cx.task_weight(p).max(1) as u64;
        let v = cx.task_vtime(p).wrapping_add(used * 100 / w);
        cx.set_task_vtime(p, v);
    }

    /// `simple_enable`.
    fn enable(&mut self, cx: &mut ScxCtx, p: TaskId) {
        cx.set_task_vtime(p, self.vtime_now);
    }

    /// `simple_init`.
    fn init(&mut self, cx: &mut ScxCtx) -> Result<(), i32> {
        cx.create_dsq(SHARED_DSQ)
    }
}
