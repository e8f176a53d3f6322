//! Autogroup (kernel/sched/autogroup.c): with `kernel.sched_autogroup_enabled`, every
//! session (`setsid`) gets a task group of its own, a child of the root, and the tasks of
//! the session that stay in the root cgroup run in it, so sessions share the CPU as equals
//! (or as their autogroups' nice values say) however many tasks each runs.
//!
//! A simulated thread is its own process here: `setsid` and a workload's `session` move
//! the one thread (the kernel moves every thread of the process, `for_each_thread`).
//! With autogroup off no autogroup exists and sessions have no scheduling effect, as in
//! the kernel, whose `autogroup_task_group` then answers the cgroup's group.

use crate::class::fair::group::{set_shares, set_task_rq, TgId, ROOT_TG};
use crate::prio::{scale_load, PRIO_TO_WEIGHT};
use crate::sched::Sched;
use crate::task::TaskId;

impl Sched {
    /// `autogroup_create`: a new group under the root, `/autogroup-N` with N counting
    /// every autogroup created (`autogroup_seq_nr`), nice 0. None with autogroup off:
    /// sessions then have no group.
    pub fn autogroup_create(&mut self) -> Option<TgId> {
        if !self.cfg.autogroup {
            return None;
        }
        self.fair.autogroup_seq_nr += 1;
        let path = format!("/autogroup-{}", self.fair.autogroup_seq_nr);
        let ag = crate::class::fair::group::sched_create_group(self, &path, ROOT_TG);
        self.fair.tg_mut(ag).autogroup = true;
        Some(ag)
    }

    /// The launcher's session (the shell's, that started the workload): `autogroup-1`,
    /// which the launcher is in before it first runs, so no move is needed.
    pub fn autogroup_init(&mut self, launcher: TaskId) {
        let Some(ag) = self.autogroup_create() else {
            return;
        };
        self.fair.autogroup = Some(ag);
        let t = self.task_mut(launcher);
        t.autogroup = Some(ag);
        t.cgroup = ROOT_TG;
        t.sched_task_group = ag;
        let cpu = self.task(launcher).cpu;
        set_task_rq(self, launcher, cpu);
    }

    /// `sched_autogroup_create_attach` (from `setsid`, `ksys_setsid`): `p` starts a new
    /// session with a new autogroup. With autogroup off the task stays where it runs.
    pub fn sched_autogroup_create_attach(&mut self, p: TaskId) {
        if let Some(ag) = self.autogroup_create() {
            self.autogroup_move_group(p, ag);
        }
    }

    /// `autogroup_move_group`: `p` joins session autogroup `ag`; `sched_move_task` then
    /// requeues it if its cgroup is the root.
    pub fn autogroup_move_group(&mut self, p: TaskId, ag: TgId) {
        self.task_mut(p).autogroup = Some(ag);
        let css = self.task(p).cgroup;
        self.sched_move_task(p, css);
    }

    /// `proc_sched_autogroup_set_nice`: the autogroup's weight is the nice value's
    /// (`sched_group_set_shares(ag->tg, sched_prio_to_weight[nice + 20])`). Written before
    /// any task joins the group, so no group entity needs reweighting (the set-up
    /// `set_shares`).
    pub fn proc_sched_autogroup_set_nice(&mut self, ag: TgId, nice: i32) -> Result<(), String> {
        if !(-20..=19).contains(&nice) {
            return Err(format!("autogroup nice {nice} is outside -20..19 (EINVAL)"));
        }
        set_shares(self, ag, scale_load(PRIO_TO_WEIGHT[(nice + 20) as usize]));
        Ok(())
    }

    /// `autogroup_task_group`: a task in the root cgroup runs in its session's
    /// autogroup; a task in any other cgroup runs in that cgroup.
    pub(crate) fn autogroup_task_group(&self, p: TaskId, css: TgId) -> TgId {
        match self.task(p).autogroup {
            Some(ag) if css == ROOT_TG => ag,
            _ => css,
        }
    }
}
