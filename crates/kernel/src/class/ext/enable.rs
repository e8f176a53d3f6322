//! Loading and unloading a policy (ext.c `scx_ops_enable`, `scx_ops_disable_workfn`): the
//! class switch of every task, the error and exit paths into bypass, and the asynchronous
//! work (`ScxWork`) those paths and the kicks queue.

use super::dsq::DsqKey;
use super::kfuncs::kf;
use super::ops::{
    opsf, ScxExitInfo, ScxExitKind, SCX_DSP_DFL_MAX_BATCH, SCX_SLICE_DFL,
    SCX_WATCHDOG_MAX_TIMEOUT_MS,
};
use super::*;
use crate::class::{class_of, dequeue, enqueue, ClassId};
use crate::events::EventKind;
use crate::sched::Sched;
use crate::task::{OnRq, TaskId};
use schedsim_workload::Policy;

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

/// `scx_ops_enable_task` (and `scx_ops_init_task` the first time): ops.init_task,
/// ops.enable, ops.set_weight, ops.set_cpumask.
pub(super) fn ensure_enabled(s: &mut Sched, p: TaskId, fork: bool) {
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
