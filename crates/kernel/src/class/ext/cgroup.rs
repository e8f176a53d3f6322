//! sched_ext's cgroup support (CONFIG_EXT_GROUP_SCHED, kernel/sched/ext.c): each task
//! group's `tg->scx` (the cgroup v2 weight and bandwidth as the scheduler sees them), and
//! the cgroup callbacks at the points the kernel calls them:
//!
//! - `scx_cgroup_init` / `scx_cgroup_exit`: every cgroup (the root included, autogroups
//!   not: they are no cgroups) gets `ops.cgroup_init` when the scheduler is enabled, in
//!   pre-order, and `ops.cgroup_exit` when it is disabled, in post-order;
//! - `scx_tg_online`: a cgroup created while the scheduler is loaded gets `ops.cgroup_init`;
//! - `scx_cgroup_can_attach` / `scx_cgroup_move_task` / `scx_cgroup_cancel_attach`: a
//!   migration between cgroups is prepared for every task of it (`ops.cgroup_prep_move`,
//!   which may refuse), committed from `sched_move_task` (`ops.cgroup_move`), or cancelled
//!   (`ops.cgroup_cancel_move`);
//! - `scx_group_set_weight` / `scx_group_set_bandwidth`: `cpu.weight`/`cpu.max` writes are
//!   recorded in `tg->scx` and, while the scheduler is loaded and the value changes,
//!   reported (`ops.cgroup_set_weight`, `ops.cgroup_set_bandwidth`).
//!
//! Every one of these callbacks runs with `SCX_KF_UNLOCKED` (sleepable), and between
//! `scx_cgroup_init` and `scx_cgroup_exit` (`scx_cgroup_enabled`), even when the policy
//! has failed and its disable is pending, as in the kernel.

use crate::class::fair::group::{TgId, ROOT_TG};
use crate::sched::Sched;
use crate::task::TaskId;

use super::kfuncs::kf;
use super::ops::{CgroupInitArgs, ScxExitKind};
use super::{call_op, task_name};

/// `CGROUP_WEIGHT_DFL`.
pub const CGROUP_WEIGHT_DFL: u32 = 100;
/// `default_bw_period_us()`: 100 ms.
pub const DEFAULT_BW_PERIOD_US: u64 = 100_000;
/// `RUNTIME_INF`: no quota ("max").
pub const RUNTIME_INF: u64 = u64::MAX;
/// `MAX_ERRNO` and `-EPROTO` (`ops_sanitize_err`).
const MAX_ERRNO: i32 = 4095;
const EPROTO: i32 = -71;

/// `struct scx_task_group` (`tg->scx`), as `scx_tg_init` leaves it and the cgroup file
/// writes change it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScxTaskGroup {
    /// `tg->scx.weight` (cgroup v2 weight, 1..10000).
    pub weight: u32,
    pub bw_period_us: u64,
    pub bw_quota_us: u64,
    pub bw_burst_us: u64,
    /// `SCX_TG_INITED`: `ops.cgroup_init` succeeded (or the policy has none).
    pub inited: bool,
}

/// `scx_tg_init`.
pub const TG_INIT: ScxTaskGroup = ScxTaskGroup {
    weight: CGROUP_WEIGHT_DFL,
    bw_period_us: DEFAULT_BW_PERIOD_US,
    bw_quota_us: RUNTIME_INF,
    bw_burst_us: 0,
    inited: false,
};

impl ScxTaskGroup {
    fn args(&self) -> CgroupInitArgs {
        CgroupInitArgs {
            weight: self.weight,
            bw_period_us: self.bw_period_us,
            bw_quota_us: self.bw_quota_us,
            bw_burst_us: self.bw_burst_us,
        }
    }
}

impl super::ScxState {
    /// `tg->scx` of group `g`.
    pub fn tg(&self, g: TgId) -> ScxTaskGroup {
        self.tg.get(g.0 as usize).copied().unwrap_or(TG_INIT)
    }

    fn tg_mut(&mut self, g: TgId) -> &mut ScxTaskGroup {
        let i = g.0 as usize;
        if i >= self.tg.len() {
            self.tg.resize(i + 1, TG_INIT);
        }
        &mut self.tg[i]
    }
}

/// `tg_cgrp`: the cgroup of a task group; an autogroup stands for the root cgroup.
pub fn tg_cgrp(s: &Sched, g: TgId) -> TgId {
    if s.fair.tg(g).autogroup {
        ROOT_TG
    } else {
        g
    }
}

fn path(s: &Sched, g: TgId) -> String {
    s.fair.tg(tg_cgrp(s, g)).path.clone()
}

/// `ops_sanitize_err`: a callback's error must be a negative errno; anything else is a
/// policy error and becomes -EPROTO.
fn sanitize(s: &mut Sched, op: &str, err: i32) -> i32 {
    if (-MAX_ERRNO..0).contains(&err) {
        return err;
    }
    s.scx_error(
        ScxExitKind::Error,
        format!("ops.{op}() returned an invalid errno {err}"),
        None,
    );
    EPROTO
}

/// The cgroup tree walked from the root (`css_for_each_descendant_pre` and `_post`):
/// children in creation order; autogroups are not cgroups.
fn walk(s: &Sched, post: bool) -> Vec<TgId> {
    let n = s.fair.tg.len();
    let mut children: Vec<Vec<TgId>> = vec![Vec::new(); n];
    for i in 1..n {
        let g = TgId(i as u32);
        if s.fair.tg(g).autogroup {
            continue;
        }
        if let Some(p) = s.fair.tg(g).parent {
            children[p.0 as usize].push(g);
        }
    }
    fn visit(g: TgId, children: &[Vec<TgId>], post: bool, out: &mut Vec<TgId>) {
        if !post {
            out.push(g);
        }
        for &c in &children[g.0 as usize] {
            visit(c, children, post, out);
        }
        if post {
            out.push(g);
        }
    }
    let mut out = Vec::with_capacity(n);
    visit(ROOT_TG, &children, post, &mut out);
    out
}

/// `scx_cgroup_init` (from `scx_enable`, after ops.init and before any task is
/// initialized): ops.cgroup_init for every cgroup not yet initialized, parents first. A
/// failure is a policy error and aborts the load.
pub(crate) fn scx_cgroup_init(s: &mut Sched) -> Result<(), i32> {
    for g in walk(s, false) {
        let tg = s.ext.tg(g);
        if tg.inited {
            continue;
        }
        let (cgroup, args) = (path(s, g), tg.args());
        match call_op(s, kf::UNLOCKED, 0, false, |o, cx| {
            o.cgroup_init(cx, &cgroup, &args)
        }) {
            Some(Ok(())) => s.ext.tg_mut(g).inited = true,
            Some(Err(err)) => {
                s.scx_error(
                    ScxExitKind::Error,
                    format!("ops.cgroup_init() failed ({err}) for cgroup {cgroup}"),
                    None,
                );
                return Err(err);
            }
            // The policy failed (ops.init called scx_bpf_error): its disable is pending.
            None => return Err(EPROTO),
        }
    }
    s.ext.cgroup_enabled = true;
    Ok(())
}

/// `scx_cgroup_exit` (from the disable work, before tasks leave the class):
/// ops.cgroup_exit for every initialized cgroup, children first.
pub(crate) fn scx_cgroup_exit(s: &mut Sched) {
    s.ext.cgroup_enabled = false;
    for g in walk(s, true) {
        if !s.ext.tg(g).inited {
            continue;
        }
        s.ext.tg_mut(g).inited = false;
        let cgroup = path(s, g);
        call_op(s, kf::UNLOCKED, 0, true, |o, cx| o.cgroup_exit(cx, &cgroup));
    }
}

/// `scx_tg_online`: a cgroup was created (`cpu_cgroup_css_online`). While the scheduler
/// is loaded it gets ops.cgroup_init, whose error fails the creation (the errno).
pub fn scx_tg_online(s: &mut Sched, g: TgId) -> Result<(), i32> {
    if !s.ext.cgroup_enabled {
        return Ok(());
    }
    let (cgroup, args) = (path(s, g), s.ext.tg(g).args());
    if let Some(Err(err)) = call_op(s, kf::UNLOCKED, 0, true, |o, cx| {
        o.cgroup_init(cx, &cgroup, &args)
    }) {
        return Err(sanitize(s, "cgroup_init", err));
    }
    s.ext.tg_mut(g).inited = true;
    Ok(())
}

/// `scx_group_set_weight`: a successful `cpu.weight` (`cpu.shares`, `cpu.weight.nice`)
/// write; `weight` is the cgroup v2 weight. Reported only while loaded and if it changed.
pub fn scx_group_set_weight(s: &mut Sched, g: TgId, weight: u32) {
    if s.ext.cgroup_enabled && s.ext.tg(g).weight != weight {
        let cgroup = path(s, g);
        call_op(s, kf::UNLOCKED, 0, true, |o, cx| {
            o.cgroup_set_weight(cx, &cgroup, weight)
        });
    }
    s.ext.tg_mut(g).weight = weight;
}

/// `scx_group_set_bandwidth`: a successful `cpu.max`/`cpu.max.burst` (or v1) write, in
/// microseconds (`quota_us` = `RUNTIME_INF` for "max"). Reported only while loaded and if
/// something changed.
pub fn scx_group_set_bandwidth(
    s: &mut Sched,
    g: TgId,
    period_us: u64,
    quota_us: u64,
    burst_us: u64,
) {
    let tg = s.ext.tg(g);
    let changed =
        (tg.bw_period_us, tg.bw_quota_us, tg.bw_burst_us) != (period_us, quota_us, burst_us);
    if s.ext.cgroup_enabled && changed {
        let cgroup = path(s, g);
        call_op(s, kf::UNLOCKED, 0, true, |o, cx| {
            o.cgroup_set_bandwidth(cx, &cgroup, period_us, quota_us, burst_us)
        });
    }
    let t = s.ext.tg_mut(g);
    t.bw_period_us = period_us;
    t.bw_quota_us = quota_us;
    t.bw_burst_us = burst_us;
}

/// Why `scx_cgroup_can_attach` refused a migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveRefused {
    /// The task ops.cgroup_prep_move refused.
    pub task: TaskId,
    /// The (sanitized) errno.
    pub err: i32,
    /// "sched_ext policy "NAME" refused to move comm[pid] from cgroup /a to /b
    /// (ops.cgroup_prep_move() returned -16)".
    pub message: String,
}

/// `scx_cgroup_can_attach`: ops.cgroup_prep_move for every task of the migration `tset`
/// (task, destination cgroup) that changes cgroup. The first error cancels the tasks
/// already prepared (ops.cgroup_cancel_move) and refuses the whole migration.
pub fn scx_cgroup_can_attach(s: &mut Sched, tset: &[(TaskId, TgId)]) -> Result<(), MoveRefused> {
    if !s.ext.cgroup_enabled {
        return Ok(());
    }
    for &(p, css) in tset {
        let from = tg_cgrp(s, s.task(p).sched_task_group);
        let to = tg_cgrp(s, css);
        // sched_move_task omits identity migrations: prep_move and move stay paired.
        if from == to {
            continue;
        }
        let (fp, tp, cpu) = (path(s, from), path(s, to), s.task(p).cpu);
        let r = call_op(s, kf::UNLOCKED, cpu, true, |o, cx| {
            o.cgroup_prep_move(cx, p, &fp, &tp)
        });
        if let Some(Err(err)) = r {
            scx_cgroup_cancel_attach(s, tset);
            let err = sanitize(s, "cgroup_prep_move", err);
            let message = format!(
                "sched_ext policy \"{}\" refused to move {} from cgroup {fp} to {tp} \
                 (ops.cgroup_prep_move() returned {err})",
                s.ext.name,
                task_name(s, p)
            );
            return Err(MoveRefused {
                task: p,
                err,
                message,
            });
        }
        s.ext.ent_mut(p).cgrp_moving_from = Some(from);
    }
    Ok(())
}

/// `scx_cgroup_move_task` (from `sched_move_task`, after `sched_change_group`, not for an
/// autogroup change): ops.cgroup_move for a task `scx_cgroup_can_attach` prepared.
pub fn scx_cgroup_move_task(s: &mut Sched, p: TaskId) {
    if !s.ext.cgroup_enabled {
        return;
    }
    let Some(from) = s.ext.ent_mut(p).cgrp_moving_from.take() else {
        return;
    };
    let to = tg_cgrp(s, s.task(p).sched_task_group);
    let (fp, tp, cpu) = (path(s, from), path(s, to), s.task(p).cpu);
    call_op(s, kf::UNLOCKED, cpu, true, |o, cx| {
        o.cgroup_move(cx, p, &fp, &tp)
    });
}

/// `scx_cgroup_cancel_attach`: the migration will not happen after all;
/// ops.cgroup_cancel_move for every task of it that was prepared.
pub fn scx_cgroup_cancel_attach(s: &mut Sched, tset: &[(TaskId, TgId)]) {
    if !s.ext.cgroup_enabled {
        return;
    }
    for &(p, css) in tset {
        let Some(from) = s.ext.ent_mut(p).cgrp_moving_from.take() else {
            continue;
        };
        let (fp, tp, cpu) = (path(s, from), path(s, css), s.task(p).cpu);
        call_op(s, kf::UNLOCKED, cpu, true, |o, cx| {
            o.cgroup_cancel_move(cx, p, &fp, &tp)
        });
    }
}
