//! sched_ext (kernel/sched/ext.c): the ext class, between fair and idle, whose decisions a
//! loaded policy (a Rust `ExtOps` standing in for the BPF scheduler) makes through kfuncs.
//!
//! - `class.rs`: the class itself (`ext_sched_class`);
//! - `dispatch.rs`: enqueue to a DSQ, the local DSQs, the dispatch buffer, kicks, `balance_one`;
//! - `enable.rs`: loading and unloading a policy, the exit and bypass paths, the async work;
//! - `idle.rs`: the idle CPU state and the default CPU selection;
//! - `dsq.rs`: dispatch queues (global, per-CPU local, user FIFO/vtime) and `struct scx_rq`;
//! - `ops.rs`: the `sched_ext_ops` callbacks with the kernel's defaults, flags, exit info;
//! - `kfuncs.rs`: `ScxCtx`, the kfuncs with their call-context (`scx_kf_mask`) checks;
//! - `watchdog.rs`: the stall detector;
//! - `cgroup.rs`: `tg->scx` and the cgroup callbacks (init/exit, moves, weight, bandwidth);
//! - `policies/`: scx_simple (FIFO and vtime) and scx_central.
//!
//! Modes: with `ScxSpec::partial` (or `SCX_OPS_SWITCH_PARTIAL`) only SCHED_EXT tasks join
//! the class and any runnable fair task beats them; otherwise every fair-policy task joins
//! and the pick skips fair (`next_active_class`). A policy error or a stall puts the class in
//! bypass (ops ignored, global FIFO) and a same-instant disable work moves every task back to
//! fair and records an `ScxExitInfo` (`scx_ops_disable_workfn`).
//!
//! Simplifications: the ops_state handshake is a flag and a sequence number (no
//! QUEUEING/DISPATCHING races in a sequential simulation); no core scheduling,
//! hotplug, per-node global DSQs or migration-disabled tasks; `SCX_KICK_WAIT` is a plain
//! kick; asynchronous kernel work (kick irq_work, deferred local dispatches, the disable
//! work, the watchdog, BPF timers) runs as `EventKind::Scx` events.

pub mod cgroup;
mod class;
mod dispatch;
pub mod dsq;
mod enable;
mod idle;
pub mod kfuncs;
pub mod metrics;
pub mod ops;
pub mod policies;
pub mod watchdog;

pub use class::*;
pub(crate) use dispatch::*;
pub use enable::*;
pub(crate) use idle::*;

use crate::class::fair::group::TgId;
use crate::sched::Sched;
use crate::task::TaskId;
use dsq::{Dsq, DsqKey};
use kfuncs::ScxCtx;
use ops::{opsf, ExtOps, ScxExitInfo, SCX_SLICE_DFL};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Builds a fresh policy instance for a run.
pub type PolicyFactory = Arc<dyn Fn() -> Box<dyn ExtOps> + Send + Sync>;

/// Which policy to load at boot, and how (`Config::scx`).
#[derive(Clone)]
pub struct ScxSpec {
    /// The name the policy was asked for by (`simple`, `simple-vtime`, `central`, `flatcg`, or a
    /// test's own).
    pub name: String,
    pub factory: PolicyFactory,
    /// `SCX_OPS_SWITCH_PARTIAL`: only SCHED_EXT tasks join the class.
    pub partial: bool,
    /// Watchdog timeout override (`ops.timeout_ms`), at most 30 s.
    pub timeout_ms: Option<u32>,
}

impl ScxSpec {
    /// One of the example policies: `simple`, `simple-vtime`, `central`, `flatcg`.
    pub fn builtin(name: &str) -> Result<ScxSpec, String> {
        // NAME[:ARGS]: `simple:fifo` / `simple:vtime`, `central:0`.
        let (policy, args) = match name.split_once(':') {
            Some((p, a)) => (p, Some(a)),
            None => (name, None),
        };
        let bad_arg = |a: &str, want: &str| {
            Err(format!(
                "sched_ext policy `{policy}`: unknown argument `{a}` (expected {want})"
            ))
        };
        let factory: PolicyFactory = match (policy, args) {
            ("simple", None | Some("fifo")) => {
                Arc::new(|| Box::new(policies::simple::Simple::new(true)))
            }
            ("simple", Some("vtime")) | ("simple-vtime", None) => {
                Arc::new(|| Box::new(policies::simple::Simple::new(false)))
            }
            ("simple", Some(a)) => return bad_arg(a, "fifo or vtime"),
            // The central CPU is CPU 0: the policy's BPF timer is started there at load.
            ("central", None | Some("0")) => {
                Arc::new(|| Box::new(policies::central::Central::new(0)))
            }
            ("flatcg", None) => Arc::new(|| Box::new(policies::flatcg::FlatCg::new())),
            ("central", Some(a)) => return bad_arg(a, "0, the central CPU"),
            ("simple-vtime" | "flatcg", Some(a)) => return bad_arg(a, "no argument"),
            _ => {
                return Err(format!(
                    "unknown sched_ext policy `{name}` (simple[:fifo|vtime], simple-vtime, \
                     central, flatcg)"
                ))
            }
        };
        Ok(ScxSpec {
            name: name.to_string(),
            factory,
            partial: false,
            timeout_ms: None,
        })
    }

    /// A policy given as a constructor (tests, embedders).
    pub fn custom(
        name: &str,
        factory: impl Fn() -> Box<dyn ExtOps> + Send + Sync + 'static,
    ) -> ScxSpec {
        ScxSpec {
            name: name.to_string(),
            factory: Arc::new(factory),
            partial: false,
            timeout_ms: None,
        }
    }

    pub fn partial(mut self, partial: bool) -> ScxSpec {
        self.partial = partial;
        self
    }

    pub fn timeout_ms(mut self, ms: Option<u32>) -> ScxSpec {
        self.timeout_ms = ms;
        self
    }
}

impl PartialEq for ScxSpec {
    fn eq(&self, o: &ScxSpec) -> bool {
        self.name == o.name
            && self.partial == o.partial
            && self.timeout_ms == o.timeout_ms
            && Arc::ptr_eq(&self.factory, &o.factory)
    }
}

impl std::fmt::Debug for ScxSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScxSpec")
            .field("name", &self.name)
            .field("partial", &self.partial)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// Asynchronous sched_ext work, delivered as `EventKind::Scx` at the instant it is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScxWork {
    /// `scx_watchdog_workfn` (generation).
    Watchdog(u32),
    /// A policy's BPF timer (generation).
    Timer(u32),
    /// `kick_cpus_irq_workfn`.
    Kick,
    /// `process_ddsp_deferred_locals`: direct dispatches to another CPU's local DSQ.
    Deferred,
    /// `scx_ops_disable_workfn`.
    Disable,
}

/// `struct sched_ext_entity` (`p->scx`).
#[derive(Clone, Debug)]
pub struct ScxEntity {
    /// `p->scx.slice`: what is left of the current slice.
    pub slice: u64,
    /// `p->scx.dsq_vtime`.
    pub dsq_vtime: u64,
    /// `SCX_TASK_QUEUED`: enqueued in the class.
    pub queued: bool,
    /// The DSQ holding the task (`p->scx.dsq`).
    pub dsq: Option<DsqKey>,
    /// `ops_state == SCX_OPSS_QUEUED`: the policy owns the task (enqueued, not inserted).
    pub owned: bool,
    /// The qseq of the ownership (stale dispatches are ignored).
    pub qseq: u64,
    /// `p->scx.runnable_at` in jiffies and whether it is on the rq's runnable list.
    pub runnable_at: u64,
    pub on_runnable_list: bool,
    /// `SCX_TASK_RESET_RUNNABLE_AT`.
    pub reset_runnable_at: bool,
    /// `p->scx.sticky_cpu`: the enqueue is a migration into this CPU's local DSQ.
    pub sticky_cpu: Option<u32>,
    /// `p->scx.ddsp_dsq_id` / `ddsp_enq_flags`: the direct-dispatch verdict.
    pub ddsp: Option<(u64, u64)>,
    /// Waiting in the deferred-locals list.
    pub deferred: bool,
    /// `se.exec_start` for `update_curr_scx`.
    pub exec_start: u64,
    /// `SCX_TASK_INIT`/`READY` (ops.init_task done) and `SCX_TASK_ENABLED`.
    pub inited: bool,
    pub enabled: bool,
    /// `p->scx.selected_cpu`: set by the last `select_task_rq_scx`.
    pub selected_cpu: Option<u32>,
    /// `p->scx.cgrp_moving_from`: ops.cgroup_prep_move accepted a move from this cgroup.
    pub cgrp_moving_from: Option<TgId>,
    /// When ops.enqueue (or a direct dispatch) last queued the task, until it runs (the
    /// report's enqueue-to-run time).
    pub enq_at: Option<u64>,
}

const ENTITY_INIT: ScxEntity = ScxEntity {
    slice: SCX_SLICE_DFL,
    dsq_vtime: 0,
    queued: false,
    dsq: None,
    owned: false,
    qseq: 0,
    runnable_at: 0,
    on_runnable_list: false,
    reset_runnable_at: true,
    sticky_cpu: None,
    ddsp: None,
    deferred: false,
    exec_start: 0,
    inited: false,
    enabled: false,
    selected_cpu: None,
    cgrp_moving_from: None,
    enq_at: None,
};

/// Counters a test (or a curious user) can read after a run.
#[derive(Clone, Debug, Default)]
pub struct ScxStats {
    /// `ops.dispatch` calls per CPU.
    pub dispatch_calls: Vec<u64>,
    /// DSQ inserts made from `ops.dispatch` per CPU it ran on.
    pub dispatch_inserts: Vec<u64>,
    /// Tasks moved to another CPU's local DSQ, per destination CPU.
    pub remote_local_moves: Vec<u64>,
    /// Tasks that ran under the class (`ops.running` occasions) per CPU.
    pub nr_running_events: Vec<u64>,
}

/// The global sched_ext state (`scx_ops`, `scx_root`, the global DSQ, the DSQ hash, the
/// per-task entities).
#[derive(Default)]
pub struct ScxState {
    /// The policy; taken out of here while one of its callbacks runs.
    ops: Option<Box<dyn ExtOps>>,
    /// `ops.name`.
    pub name: String,
    /// `scx_enabled()`: a policy is loaded.
    pub enabled: bool,
    /// `scx_switched_all()`.
    pub switch_all: bool,
    /// `scx_rq_bypassing()` (machine-wide here).
    pub bypass: bool,
    pub ops_flags: u64,
    /// ops.update_idle is implemented without `SCX_OPS_KEEP_BUILTIN_IDLE`: the built-in
    /// idle tracking (and the kfuncs using it) is off.
    pub builtin_idle_off: bool,
    pub timeout_ms: u32,
    pub max_batch: u32,
    pub global: Dsq,
    pub user: BTreeMap<u64, Dsq>,
    ent: Vec<ScxEntity>,
    /// `tg->scx` per task group (see `cgroup.rs`).
    tg: Vec<cgroup::ScxTaskGroup>,
    /// `scx_cgroup_enabled`: the cgroup callbacks are live (between `scx_cgroup_init` at
    /// load and `scx_cgroup_exit` at disable).
    pub cgroup_enabled: bool,
    /// Why and when the policy was ejected (`scx_exit_info`).
    pub exit: Option<ScxExitInfo>,
    /// The kf mask of the callback in progress (`current->scx.kf_mask`).
    pub(crate) kf_mask: u32,
    /// `direct_dispatch_task`: the task select_cpu/enqueue is deciding for.
    pub(crate) ddsp_task: Option<TaskId>,
    /// The dispatch buffer (`scx_dsp_ctx.buf`): (task, dsq id, enq flags, qseq).
    pub(crate) dsp_buf: Vec<(TaskId, u64, u64, u64)>,
    /// `scx_dsp_ctx.nr_tasks`.
    pub(crate) dsp_nr: u32,
    /// Pending kicks (target, flags) and deferred local dispatches (task, cpu, flags).
    pub(crate) kicks: Vec<(u32, u64)>,
    kick_pending: bool,
    deferred: Vec<(TaskId, u32, u64)>,
    deferred_pending: bool,
    pub(crate) watchdog_gen: u32,
    /// Watchdog and BPF-timer events in the queue.
    pub(crate) periodic_pending: u32,
    pub(crate) timer_gen: u32,
    pub(crate) dump_buf: String,
    pub stats: ScxStats,
    /// The report's per-policy counters (`ext_stat.rs`).
    pub metrics: metrics::ScxMetrics,
}

impl ScxState {
    pub fn ent(&self, p: TaskId) -> &ScxEntity {
        self.ent.get(p.0 as usize).unwrap_or(&ENTITY_INIT)
    }

    pub fn ent_mut(&mut self, p: TaskId) -> &mut ScxEntity {
        let i = p.0 as usize;
        if i >= self.ent.len() {
            self.ent.resize(i + 1, ENTITY_INIT);
        }
        &mut self.ent[i]
    }

    /// Whether an op can be called (a policy is loaded and not failing).
    fn live(&self) -> bool {
        self.enabled && !self.bypass && self.exit.is_none()
    }
}

/// `validate_ops`: flag combinations the kernel refuses at load.
fn validate_ops(s: &Sched) -> Option<&'static str> {
    let ops = s.ext.ops.as_ref()?;
    let flags = s.ext.ops_flags;
    if flags & opsf::ENQ_LAST != 0 && !ops.implements_enqueue() {
        return Some("SCX_OPS_ENQ_LAST requires ops.enqueue() to be implemented");
    }
    if flags & opsf::BUILTIN_IDLE_PER_NODE != 0 && s.ext.builtin_idle_off {
        return Some("SCX_OPS_BUILTIN_IDLE_PER_NODE requires CPU idle selection enabled");
    }
    None
}

/// `sched_weight_to_cgroup(scale_load_down(w))`: the scx weight of a (scaled) load
/// weight, nice 0 → 100, clamped to 1..10000.
pub fn scx_weight(load_weight: u64) -> u32 {
    let w = crate::prio::scale_load_down(load_weight);
    ((w * 100 + 512) / 1024).clamp(1, 10000) as u32
}

/// `SCX_CALL_OP*`: runs a policy callback with its kf mask. Returns None when the policy
/// is not callable (bypass, failed, not loaded); `force` still calls a failed policy (the
/// disable path's ops.disable/exit_task/exit/dump).
pub(crate) fn call_op<R>(
    s: &mut Sched,
    mask: u32,
    cpu: u32,
    force: bool,
    f: impl FnOnce(&mut dyn ExtOps, &mut ScxCtx) -> R,
) -> Option<R> {
    if !force && !s.ext.live() {
        return None;
    }
    let mut ops = s.ext.ops.take()?;
    let saved = s.ext.kf_mask;
    s.ext.kf_mask = mask;
    let r = {
        let mut cx = ScxCtx::new(s, cpu);
        f(ops.as_mut(), &mut cx)
    };
    s.ext.kf_mask = saved;
    s.ext.ops = Some(ops);
    Some(r)
}

fn task_name(s: &Sched, p: TaskId) -> String {
    let t = s.task(p);
    format!("{}[{}]", t.comm, t.pid)
}
