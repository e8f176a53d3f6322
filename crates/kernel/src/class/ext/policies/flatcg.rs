//! scx_flatcg (scheds/c/scx_flatcg.bpf.c), flattened to one level: every cgroup gets its
//! own user DSQ and a virtual time that advances by the CPU time its tasks use divided by
//! the cgroup's `cpu.weight`. `ops.dispatch` serves the cgroup with the lowest virtual
//! time, so busy cgroups share the CPUs in proportion to their weights, whatever the
//! number of tasks in each; within a cgroup, tasks are ordered by their own weighted
//! virtual time, as in scx_simple. Nested cgroups are not weighted hierarchically (the
//! real scx_flatcg compounds the weights down the tree): each cgroup competes on its own.

use std::collections::BTreeMap;

use crate::class::ext::kfuncs::ScxCtx;
use crate::class::ext::ops::{CgroupInitArgs, ExtOps, SCX_SLICE_DFL};
use crate::task::TaskId;

use super::time_before;

/// `struct fcg_cgrp_ctx`: one per cgroup.
struct Cgrp {
    /// The cgroup's DSQ (`cgid` in the original).
    dsq: u64,
    /// `cpu.weight` (100 by default).
    weight: u32,
    /// The cgroup's virtual time (`cvtime`).
    vtime: u64,
    /// The highest task vtime that started running in it (`tvtime_now`).
    tvtime_now: u64,
}

#[derive(Default)]
pub struct FlatCg {
    /// The cgroups by path.
    cgrps: BTreeMap<String, Cgrp>,
    /// The next DSQ id to hand out.
    next_dsq: u64,
    /// The highest cgroup vtime dispatched (`cvtime_now`): an idle cgroup coming back
    /// starts at most one slice behind it.
    cvtime_now: u64,
    /// When each running task started (`ops.running`), to charge it in `ops.stopping`.
    started: BTreeMap<TaskId, u64>,
}

impl FlatCg {
    pub fn new() -> FlatCg {
        FlatCg::default()
    }

    /// The context of `p`'s cgroup (`find_cgrp_ctx`); a cgroup the policy never saw
    /// (impossible while cgroup_init runs for each) falls back to the root.
    fn cgrp_of(&mut self, cx: &mut ScxCtx, p: TaskId) -> Option<&mut Cgrp> {
        let path = cx.task_cgroup(p);
        match self.cgrps.contains_key(&path) {
            true => self.cgrps.get_mut(&path),
            false => self.cgrps.get_mut("/"),
        }
    }
}

impl ExtOps for FlatCg {
    fn name(&self) -> &str {
        "flatcg"
    }

    /// `fcg_enqueue`: queue on the cgroup's DSQ by task vtime, with the budget of a task
    /// that slept capped at one slice; a cgroup that was idle is brought up to at most one
    /// slice behind the busiest.
    fn enqueue(&mut self, cx: &mut ScxCtx, p: TaskId, enq_flags: u64) {
        let floor_c = self.cvtime_now.wrapping_sub(SCX_SLICE_DFL);
        let mut vtime = cx.task_vtime(p);
        let Some(cg) = self.cgrp_of(cx, p) else {
            cx.error("flatcg: no root cgroup");
            return;
        };
        let floor_t = cg.tvtime_now.wrapping_sub(SCX_SLICE_DFL);
        if time_before(vtime, floor_t) {
            vtime = floor_t;
        }
        if time_before(cg.vtime, floor_c) {
            cg.vtime = floor_c;
        }
        let dsq = cg.dsq;
        cx.dsq_insert_vtime(p, dsq, SCX_SLICE_DFL, vtime, enq_flags);
    }

    /// `fcg_dispatch`: the cgroup with queued tasks and the lowest vtime first (the
    /// original keeps them in an rbtree; a scan is as good for a handful of cgroups).
    fn dispatch(&mut self, cx: &mut ScxCtx, _cpu: u32, _prev: Option<TaskId>) {
        let mut order: Vec<(u64, u64)> = self
            .cgrps
            .values()
            .filter(|c| cx.dsq_nr_queued(c.dsq) > 0)
            .map(|c| (c.vtime, c.dsq))
            .collect();
        // Lowest vtime first; on a tie, the cgroup created first.
        order.sort_unstable();
        for (vtime, dsq) in order {
            if cx.dsq_move_to_local(dsq) {
                if time_before(self.cvtime_now, vtime) {
                    self.cvtime_now = vtime;
                }
                return;
            }
        }
    }

    /// `fcg_running`: the cgroup's task vtime follows its running tasks.
    fn running(&mut self, cx: &mut ScxCtx, p: TaskId) {
        let v = cx.task_vtime(p);
        self.started.insert(p, cx.now());
        if let Some(cg) = self.cgrp_of(cx, p) {
            if time_before(cg.tvtime_now, v) {
                cg.tvtime_now = v;
            }
        }
    }

    /// `fcg_stopping`: charge the time run to the task (scaled by its weight) and to its
    /// cgroup (scaled by the cgroup's weight).
    fn stopping(&mut self, cx: &mut ScxCtx, p: TaskId, _runnable: bool) {
        let Some(start) = self.started.remove(&p) else {
            return;
        };
        let used = cx.now().saturating_sub(start);
        let tw = cx.task_weight(p).max(1) as u64;
        let v = cx.task_vtime(p).wrapping_add(used * 100 / tw);
        cx.set_task_vtime(p, v);
        if let Some(cg) = self.cgrp_of(cx, p) {
            cg.vtime = cg.vtime.wrapping_add(used * 100 / cg.weight.max(1) as u64);
        }
    }

    /// `fcg_enable`: a task starts at its cgroup's current task vtime.
    fn enable(&mut self, cx: &mut ScxCtx, p: TaskId) {
        if let Some(cg) = self.cgrp_of(cx, p) {
            let v = cg.tvtime_now;
            cx.set_task_vtime(p, v);
        }
    }

    /// `fcg_cgroup_init`: the cgroup's DSQ and weight.
    fn cgroup_init(
        &mut self,
        cx: &mut ScxCtx,
        cgroup: &str,
        args: &CgroupInitArgs,
    ) -> Result<(), i32> {
        let dsq = self.next_dsq;
        cx.create_dsq(dsq)?;
        self.next_dsq += 1;
        let cg = Cgrp {
            dsq,
            weight: args.weight,
            vtime: self.cvtime_now,
            tvtime_now: 0,
        };
        self.cgrps.insert(cgroup.to_string(), cg);
        Ok(())
    }

    /// `fcg_cgroup_exit`: forget the cgroup; its DSQ goes with it once empty (the unload
    /// frees the others).
    fn cgroup_exit(&mut self, cx: &mut ScxCtx, cgroup: &str) {
        if let Some(cg) = self.cgrps.remove(cgroup) {
            if cx.dsq_nr_queued(cg.dsq) == 0 {
                cx.destroy_dsq(cg.dsq);
            }
        }
    }

    /// `fcg_cgroup_set_weight`.
    fn cgroup_set_weight(&mut self, _cx: &mut ScxCtx, cgroup: &str, weight: u32) {
        if let Some(cg) = self.cgrps.get_mut(cgroup) {
            cg.weight = weight;
        }
    }

    /// `fcg_cgroup_move`: keep the task's place relative to its cgroup's task vtime.
    fn cgroup_move(&mut self, cx: &mut ScxCtx, p: TaskId, from: &str, to: &str) {
        let (Some(f), Some(t)) = (self.cgrps.get(from), self.cgrps.get(to)) else {
            return;
        };
        let v = cx
            .task_vtime(p)
            .wrapping_sub(f.tvtime_now)
            .wrapping_add(t.tvtime_now);
        cx.set_task_vtime(p, v);
    }
}
