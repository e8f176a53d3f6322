//! sched_ext (kernel/sched/ext.c): the ext class, between fair and idle, whose decisions a
//! loaded policy (a Rust `ExtOps` standing in for the BPF scheduler) makes through kfuncs.
//!
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
pub mod dsq;
pub mod kfuncs;
pub mod metrics;
pub mod ops;
pub mod policies;
pub mod watchdog;

use std::collections::BTreeMap;
use std::sync::Arc;

use schedsim_workload::Policy;

use crate::class::fair::group::TgId;
use crate::class::{class_of, dequeue, enqueue, ClassId, SchedClass};
use crate::events::EventKind;
use crate::prio::LoadWeight;
use crate::sched::{Ctx, Sched};
use crate::task::{OnRq, TaskId};

use dsq::{Dsq, DsqKey, SCX_DSQ_GLOBAL, SCX_DSQ_LOCAL, SCX_DSQ_LOCAL_CPU_MASK, SCX_DSQ_LOCAL_ON};
use kfuncs::{kf, ScxCtx};
use ops::{
    deq, enq, opsf, CpuPreemptReason, ExtOps, ScxExitInfo, ScxExitKind, SCX_DSP_DFL_MAX_BATCH,
    SCX_DSP_MAX_LOOPS, SCX_SLICE_DFL, SCX_SLICE_INF, SCX_WATCHDOG_MAX_TIMEOUT_MS,
};

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

impl Sched {
    /// `next_active_class`'s skips: fair is skipped once ext switched every task, ext while
    /// no policy is loaded.
    pub fn class_active(&self, c: ClassId) -> bool {
        match c {
            ClassId::Fair => !(self.ext.enabled && self.ext.switch_all),
            ClassId::Ext => self.ext.enabled,
            _ => true,
        }
    }

    /// `scx_allow_ttwu_queue`: ext tasks are woken directly unless the policy sets
    /// `SCX_OPS_ALLOW_QUEUED_WAKEUP`.
    pub fn scx_allow_ttwu_queue(&self, p: TaskId) -> bool {
        !self.ext.enabled
            || self.ext.ops_flags & opsf::ALLOW_QUEUED_WAKEUP != 0
            || self.task(p).class != ClassId::Ext
    }

    /// `task_should_scx`: a fair-policy task belongs in ext.
    pub fn task_should_scx(&self, policy: Policy) -> bool {
        self.ext.enabled
            && self.ext.exit.is_none()
            && policy.is_fair()
            && (self.ext.switch_all || policy == Policy::Ext)
    }

    /// `scx_ops_error_kind`: record why the policy fails, enter bypass, queue the disable.
    pub fn scx_error(&mut self, kind: ScxExitKind, msg: String, task: Option<TaskId>) {
        self.scx_exit(kind, 0, msg, task);
    }

    /// `scx_exit(sch, kind, exit_code, fmt...)`: as `scx_error`, with the exit code
    /// `scx_bpf_exit` passes (`ei->exit_code`). The first exit wins.
    pub fn scx_exit(
        &mut self,
        kind: ScxExitKind,
        exit_code: i64,
        msg: String,
        task: Option<TaskId>,
    ) {
        if !self.ext.enabled || self.ext.exit.is_some() {
            return;
        }
        let task = task.map(|p| task_name(self, p));
        self.ext.exit = Some(ScxExitInfo {
            kind,
            policy: self.ext.name.clone(),
            msg,
            exit_code,
            task,
            at: self.now,
            dump: String::new(),
        });
        self.ext.bypass = true;
        self.scx_queue_work(0, ScxWork::Disable);
    }

    pub(crate) fn scx_queue_work(&mut self, cpu: u32, work: ScxWork) {
        let now = self.now;
        self.queue.push(now, EventKind::Scx { cpu, work });
    }

    /// Whether anything can still happen that a periodic sched_ext event could observe: other
    /// events are pending or an ext task waits to run. Periodic work is not re-armed
    /// otherwise, so a run without a duration still ends (periodic sched_ext events do not keep
    /// each other alive).
    pub fn scx_has_future(&self) -> bool {
        self.queue.len() > self.ext.periodic_pending as usize
            || self.tasks.iter().any(|t| {
                t.class == ClassId::Ext && !t.exited && self.ext.ent(t.id).on_runnable_list
            })
    }

    /// `scx_ops_enable`: load the policy (ops.init), then switch every task that should be
    /// in ext (`scx_ops_enable_task` through the class change).
    pub fn scx_enable(&mut self, spec: &ScxSpec) -> Result<(), String> {
        let ops = (spec.factory)();
        let timeout = spec
            .timeout_ms
            .or(Some(ops.timeout_ms()).filter(|&t| t != 0))
            .unwrap_or(SCX_WATCHDOG_MAX_TIMEOUT_MS);
        if timeout == 0 || timeout > SCX_WATCHDOG_MAX_TIMEOUT_MS {
            return Err(format!(
                "sched_ext: {}: timeout {timeout} ms outside 1..{SCX_WATCHDOG_MAX_TIMEOUT_MS} (EINVAL)",
                ops.name()
            ));
        }
        let n = self.nr_cpus() as usize;
        let e = &mut self.ext;
        e.name = ops.name().to_string();
        e.ops_flags = ops.flags();
        e.builtin_idle_off =
            ops.implements_update_idle() && e.ops_flags & opsf::KEEP_BUILTIN_IDLE == 0;
        e.max_batch = match ops.dispatch_max_batch() {
            0 => SCX_DSP_DFL_MAX_BATCH,
            b => b,
        };
        e.timeout_ms = timeout;
        e.switch_all = !(spec.partial || e.ops_flags & opsf::SWITCH_PARTIAL != 0);
        e.ops = Some(ops);
        e.enabled = true;
        e.exit = None;
        e.bypass = false;
        for cpu in 0..n {
            self.rqs[cpu].scx.idle_claimed = false;
        }
        let e = &mut self.ext;
        e.stats = ScxStats {
            dispatch_calls: vec![0; n],
            dispatch_inserts: vec![0; n],
            remote_local_moves: vec![0; n],
            nr_running_events: vec![0; n],
        };
        let now = self.now;
        self.ext.metrics = metrics::ScxMetrics::start(now);
        self.ext.global.reset_depth(now);
        for cpu in 0..n {
            self.rqs[cpu].scx.local.reset_depth(now);
        }
        // ops.init is sleepable and runs with every task still outside the class.
        if let Some(Err(err)) = call_op(self, kf::UNLOCKED, 0, false, |o, cx| o.init(cx)) {
            let msg = format!("ops.init() failed ({err})");
            self.scx_error(ScxExitKind::Error, msg, None);
            return Ok(());
        }
        // validate_ops (after ops.init, as 6.18's scx_enable calls it): the load "succeeds"
        // and the scheduler is ejected at once with SCX_EXIT_ERROR.
        if let Some(msg) = validate_ops(self) {
            self.scx_error(ScxExitKind::Error, msg.to_string(), None);
            return Ok(());
        }
        // scx_cgroup_init: ops.cgroup_init for every cgroup, before any task is initialized;
        // a failure (a policy error, already recorded) aborts the load.
        if cgroup::scx_cgroup_init(self).is_err() {
            return Ok(());
        }
        let ids: Vec<TaskId> = self.tasks.iter().map(|t| t.id).collect();
        for p in ids {
            let t = self.task(p);
            if t.is_idle_task() || t.exited || t.class != ClassId::Fair {
                continue;
            }
            if self.task_should_scx(t.policy) {
                self.scx_switch_class(p, ClassId::Ext);
            }
        }
        watchdog::arm(self);
        Ok(())
    }

    /// `bpf_link__destroy` from user space: unload the policy now (`SCX_EXIT_UNREG`, unless
    /// an exit is already recorded): the disable path of an ejection, run at once. Runs
    /// end with the policy still loaded; a test or embedder unloads it with this.
    pub fn scx_unload(&mut self) {
        self.scx_disable();
    }

    /// `sched_deq_and_put_task` / `sched_enq_and_set_task` + `check_class_changed`: move a
    /// task between fair and ext as the load and unload paths do.
    fn scx_switch_class(&mut self, p: TaskId, new: ClassId) {
        let t = self.task(p);
        let (cpu, queued, old) = (t.cpu, t.on_rq == OnRq::Queued, t.class);
        if old == new {
            return;
        }
        self.update_rq_clock(cpu);
        let running = self.curr(cpu) == p;
        if queued {
            let f = dequeue::SAVE | dequeue::MOVE | dequeue::NOCLOCK;
            class_of(old).dequeue_task(self, cpu, p, f);
        }
        if running {
            class_of(old).put_prev_task(self, cpu, p, p);
        }
        self.task_mut(p).class = new;
        if queued {
            let f = enqueue::RESTORE | enqueue::MOVE | enqueue::NOCLOCK;
            class_of(new).enqueue_task(self, cpu, p, f);
        }
        if running {
            class_of(new).set_next_task(self, cpu, p, false);
        }
        class_of(old).switched_from(self, cpu, p);
        class_of(new).switched_to(self, cpu, p);
    }

    /// `scx_ops_disable_workfn`: bypass, dump, every ext task back to fair (its policy is
    /// kept), ops.exit, unload.
    fn scx_disable(&mut self) {
        if !self.ext.enabled {
            return;
        }
        self.ext.bypass = true;
        if self.ext.exit.is_none() {
            self.ext.exit = Some(ScxExitInfo {
                kind: ScxExitKind::Unreg,
                policy: self.ext.name.clone(),
                msg: String::new(),
                exit_code: 0,
                task: None,
                at: self.now,
                dump: String::new(),
            });
        }
        // scx_dump_state: the policy's dump callbacks write into the exit info.
        self.ext.dump_buf.clear();
        call_op(self, kf::DUMP, 0, true, |o, cx| o.dump(cx));
        for cpu in 0..self.nr_cpus() {
            let idle = self.curr(cpu) == self.rq(cpu).idle;
            call_op(self, kf::DUMP, cpu, true, |o, cx| o.dump_cpu(cx, cpu, idle));
        }
        let dump = std::mem::take(&mut self.ext.dump_buf);
        if let Some(e) = self.ext.exit.as_mut() {
            e.dump = dump;
        }
        self.ext.switch_all = false;
        // scx_cgroup_exit: cgroup support shuts down before the tasks leave.
        cgroup::scx_cgroup_exit(self);
        let ids: Vec<TaskId> = self.tasks.iter().map(|t| t.id).collect();
        for p in ids {
            if self.task(p).class != ClassId::Ext {
                continue;
            }
            if !self.task(p).exited {
                self.scx_switch_class(p, ClassId::Fair);
            }
            if self.ext.ent(p).inited {
                // scx_ops_exit_task
                call_op(self, kf::REST, 0, true, |o, cx| o.exit_task(cx, p, false));
                self.ext.ent_mut(p).inited = false;
            }
        }
        let info = self.ext.exit.clone().expect("set above");
        call_op(self, kf::UNLOCKED, 0, true, |o, cx| o.exit(cx, &info));
        // Close every DSQ's depth record before the queues are emptied.
        let now = self.now;
        let mut closed: Vec<(DsqKey, dsq::DepthStat)> = Vec::new();
        let mut keys = vec![DsqKey::Global];
        keys.extend((0..self.nr_cpus()).map(DsqKey::Local));
        keys.extend(self.ext.user.keys().map(|&id| DsqKey::User(id)));
        for k in keys {
            let d = dsq_mut(self, k);
            closed.push((k, d.depth));
        }
        for cpu in 0..self.nr_cpus() {
            self.rqs[cpu as usize].scx.local.depth = Default::default();
        }
        let e = &mut self.ext;
        e.metrics.closed.extend(closed);
        e.metrics.unloaded_at = Some(now);
        e.global.depth = Default::default();
        e.ops = None;
        e.enabled = false;
        e.bypass = false;
        e.global.clear();
        e.user.clear();
        e.dsp_buf.clear();
        e.kicks.clear();
        e.deferred.clear();
        e.ddsp_task = None;
        e.watchdog_gen = e.watchdog_gen.wrapping_add(1);
        e.timer_gen = e.timer_gen.wrapping_add(1);
        for cpu in 0..self.nr_cpus() {
            let rq = &mut self.rqs[cpu as usize].scx;
            rq.local.clear();
            rq.bal_keep = false;
            rq.cpu_released = false;
            if self.rq(cpu).nr_running > 0 {
                self.resched_curr(cpu);
            }
        }
    }
}

/// Handles an `EventKind::Scx` event.
pub fn handle_work(s: &mut Sched, cpu: u32, work: ScxWork) {
    match work {
        ScxWork::Watchdog(gen) => {
            s.ext.periodic_pending -= 1;
            watchdog::run(s, gen)
        }
        ScxWork::Timer(gen) => {
            s.ext.periodic_pending -= 1;
            if gen == s.ext.timer_gen && s.ext.live() {
                call_op(s, kf::TIMER, cpu, false, |o, cx| o.timer(cx));
            }
        }
        ScxWork::Kick => {
            s.ext.kick_pending = false;
            let kicks = std::mem::take(&mut s.ext.kicks);
            for (c, flags) in kicks {
                kick_one_cpu(s, c, flags);
            }
        }
        ScxWork::Deferred => {
            s.ext.deferred_pending = false;
            let list = std::mem::take(&mut s.ext.deferred);
            for (p, dst, flags) in list {
                let e = s.ext.ent(p);
                if !e.deferred || !e.queued {
                    continue;
                }
                s.ext.ent_mut(p).deferred = false;
                let this = s.task(p).cpu;
                dispatch_to_local_dsq(s, this, dst, p, flags);
            }
        }
        ScxWork::Disable => s.scx_disable(),
    }
}

/// `scx_bpf_kick_cpu`'s irq_work queueing.
pub(crate) fn queue_kick(s: &mut Sched, cpu: u32, flags: u64) {
    s.ext.kicks.push((cpu, flags));
    if !s.ext.kick_pending {
        s.ext.kick_pending = true;
        s.scx_queue_work(cpu, ScxWork::Kick);
    }
}

/// `kick_one_cpu` / `kick_one_cpu_if_idle`.
fn kick_one_cpu(s: &mut Sched, cpu: u32, flags: u64) {
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

/// `update_curr_scx`: charge the running ext task and shorten its slice.
fn update_curr_scx(s: &mut Sched, cpu: u32) {
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
fn local_dsq_post_enq(s: &mut Sched, cpu: u32, p: TaskId, flags: u64) {
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
fn move_remote_task_to_local_dsq(s: &mut Sched, this_cpu: u32, p: TaskId, flags: u64, dst: u32) {
    let src = s.task(p).cpu;
    s.update_rq_clock(src);
    s.task_mut(p).on_rq = OnRq::Migrating;
    ExtClass.dequeue_task(s, src, p, dequeue::MIGRATING | dequeue::NOCLOCK);
    s.set_task_cpu(Ctx::Task(this_cpu), p, dst);
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
fn direct_dispatch(s: &mut Sched, cpu: u32, p: TaskId, enq_flags: u64) {
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
fn do_enqueue_task(s: &mut Sched, cpu: u32, p: TaskId, enq_flags: u64, sticky: Option<u32>) {
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
fn ops_dequeue(s: &mut Sched, cpu: u32, p: TaskId, deq_flags: u64) {
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

/// `scx_ops_enable_task` (and `scx_ops_init_task` the first time): ops.init_task,
/// ops.enable, ops.set_weight, ops.set_cpumask.
fn ensure_enabled(s: &mut Sched, p: TaskId, fork: bool) {
    if !s.ext.enabled || s.task(p).class != ClassId::Ext {
        return;
    }
    let cpu = s.task(p).cpu;
    if !s.ext.ent(p).inited {
        let e = s.ext.ent_mut(p);
        e.inited = true;
        e.slice = SCX_SLICE_DFL;
        let r = call_op(s, kf::UNLOCKED, cpu, false, |o, cx| {
            o.init_task(cx, p, fork)
        });
        if let Some(Err(err)) = r {
            let name = task_name(s, p);
            s.scx_error(
                ScxExitKind::Error,
                format!("ops.init_task() failed ({err}) for {name}"),
                Some(p),
            );
        }
    }
    if !s.ext.ent(p).enabled {
        s.ext.ent_mut(p).enabled = true;
        let w = scx_weight(s.fair.se(s.task(p).se).load.weight);
        call_op(s, kf::REST, cpu, false, |o, cx| o.enable(cx, p));
        call_op(s, kf::REST, cpu, false, |o, cx| o.set_weight(cx, p, w));
        let mask = s.task(p).cpus_allowed.clone();
        call_op(s, kf::REST, cpu, false, |o, cx| o.set_cpumask(cx, p, &mask));
    }
}

/// Reports idle transitions to ops.update_idle (`__scx_update_idle`), as seen by the ext
/// pick: None means the CPU goes idle.
fn update_idle(s: &mut Sched, cpu: u32, idle: bool) {
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

/// Simulated time does not pass inside the kernel, so a policy that makes a CPU balance
/// again and again (32 dispatch rounds, self-kick, repeat) would spin forever at one
/// instant where the kernel would burn real time until its watchdog fired. Past
/// `BALANCE_LIVELOCK` balances of one CPU at one instant the policy is ejected as stalled.
const BALANCE_LIVELOCK: u32 = 20_000;

fn balance_livelocked(s: &mut Sched, cpu: u32) -> bool {
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
fn balance_one(s: &mut Sched, cpu: u32, prev: TaskId) -> bool {
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
