//! Moving tasks between task groups (kernel/sched/core.c `sched_move_task`,
//! `sched_change_group`); which group a task of the root cgroup runs in is autogroup's
//! answer (`core/autogroup.rs`).

use crate::class::fair::group::{set_task_rq, task_change_group_fair, TgId};
use crate::class::{class_of, dequeue, enqueue, ClassId};
use crate::sched::{Ctx, Sched};
use crate::task::{OnRq, TaskId};

impl Sched {
    /// `cgroup_migrate` for the cpu controller: the task joins cgroup `css` (its pid
    /// written to `cgroup.procs`) unless sched_ext refuses (`cpu_cgroup_can_attach` →
    /// `scx_cgroup_can_attach`: ops.cgroup_prep_move), then `cpu_cgroup_attach` →
    /// `sched_move_task`. The error names the policy, the task and the cgroups.
    /// The cpuset controller's attach follows (`cpuset_attach_task`): the task's affinity
    /// within its new cgroup's CPUs, a running task moved by its CPU's stopper while the
    /// writer, in `ctx`, waits.
    pub fn cgroup_attach(&mut self, ctx: Ctx, p: TaskId, css: TgId) -> Result<(), String> {
        crate::class::ext::cgroup::scx_cgroup_can_attach(self, &[(p, css)])
            .map_err(|r| r.message)?;
        self.sched_move_task(p, css);
        self.cpuset_attach_task(ctx, p)
    }

    /// `sched_move_task`: the task joins cgroup `css` (writing its pid to `cgroup.procs`,
    /// or staying in its cgroup for an autogroup change); it is dequeued and put, changes
    /// group, and is queued and set again.
    pub fn sched_move_task(&mut self, p: TaskId, css: TgId) {
        self.task_mut(p).cgroup = css;
        let tg = self.autogroup_task_group(p, css);
        if self.task(p).sched_task_group == tg {
            return;
        }
        let t = self.task(p);
        let (cpu, queued, class) = (t.cpu, t.on_rq == OnRq::Queued, t.class);
        self.update_rq_clock(cpu);
        let running = self.curr(cpu) == p;
        let flags = dequeue::SAVE | dequeue::MOVE | dequeue::NOCLOCK;
        if queued {
            class_of(class).dequeue_task(self, cpu, p, flags);
        }
        if running {
            class_of(class).put_prev_task(self, cpu, p, p);
        }
        // sched_change_group
        if class == ClassId::Fair {
            task_change_group_fair(self, p, tg);
        } else {
            self.task_mut(p).sched_task_group = tg;
            set_task_rq(self, p, cpu);
        }
        // sched_ext: ops.cgroup_move for a move ops.cgroup_prep_move accepted; an autogroup
        // change (`for_autogroup`) was never prepared, so there is none for it.
        crate::class::ext::cgroup::scx_cgroup_move_task(self, p);
        if queued {
            let en = enqueue::RESTORE | enqueue::MOVE | enqueue::NOCLOCK;
            class_of(class).enqueue_task(self, cpu, p, en);
        }
        if running {
            class_of(class).set_next_task(self, cpu, p, false);
            // The running task may have joined a throttled group.
            self.resched_curr(cpu);
        }
    }
}
