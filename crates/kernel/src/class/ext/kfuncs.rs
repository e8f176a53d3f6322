//! The kfuncs a policy may call (`scx_bpf_*`), on the context handed to each callback.
//! Each checks the calling context the way `scx_kf_allowed` checks `current->scx.kf_mask`:
//! misuse is a policy error (`scx_ops_error`), which ejects the policy.

use crate::class::ClassId;
use crate::cpumask::CpuMask;
use crate::events::EventKind;
use crate::sched::Sched;
use crate::task::TaskId;

use super::dsq::{DsqKey, SCX_DSQ_GLOBAL, SCX_DSQ_LOCAL, SCX_DSQ_LOCAL_CPU_MASK, SCX_DSQ_LOCAL_ON};
use super::ops::{enq, ScxExitKind};
use super::{
    consume_dispatch_q, cpu_idle, dispatch_dequeue, dispatch_enqueue, dispatch_to_local_dsq,
    dsq_ref, find_dsq_for_dispatch, flush_dispatch_buf, queue_kick, scx_weight, select_cpu_dfl,
    test_and_clear_cpu_idle, ScxWork,
};

/// `enum scx_kf_mask`: which callback is running.
pub mod kf {
    /// Sleepable callbacks: ops.init, ops.exit, ops.init_task and the cgroup callbacks
    /// (`SCX_KF_UNLOCKED`).
    pub const UNLOCKED: u32 = 1 << 0;
    pub const CPU_RELEASE: u32 = 1 << 1;
    pub const DISPATCH: u32 = 1 << 2;
    pub const ENQUEUE: u32 = 1 << 3;
    pub const SELECT_CPU: u32 = 1 << 4;
    /// Every other callback (`SCX_KF_REST`).
    pub const REST: u32 = 1 << 5;
    /// ops.dump* (only they may call `scx_bpf_dump`).
    pub const DUMP: u32 = 1 << 6;
    /// A BPF timer callback: no ops callback in progress.
    pub const TIMER: u32 = 0;
}

/// `-EINVAL`, `-EEXIST`, `-ENOENT`.
pub const EINVAL: i32 = -22;
pub const EEXIST: i32 = -17;
pub const ENOENT: i32 = -2;

/// The kfunc context of one callback: the kernel state, the CPU it runs on.
pub struct ScxCtx<'a> {
    s: &'a mut Sched,
    cpu: u32,
}

impl<'a> ScxCtx<'a> {
    pub(crate) fn new(s: &'a mut Sched, cpu: u32) -> ScxCtx<'a> {
        ScxCtx { s, cpu }
    }

    /// `scx_kf_allowed`: the kfunc may be called from a callback in `mask`.
    fn allowed(&mut self, mask: u32, kfunc: &str) -> bool {
        let cur = self.s.ext.kf_mask;
        if cur & mask != 0 {
            return true;
        }
        self.s.scx_error(
            ScxExitKind::Error,
            format!(
                "kfunc {kfunc}() called from a disallowed context (kf_mask 0x{cur:x}, needs 0x{mask:x})"
            ),
            None,
        );
        false
    }

    fn err(&mut self, msg: String, p: Option<TaskId>) {
        self.s.scx_error(ScxExitKind::Error, msg, p);
    }

    fn name(&self, p: TaskId) -> String {
        let t = self.s.task(p);
        format!("{}[{}]", t.comm, t.pid)
    }

    fn in_dispatch(&self) -> bool {
        self.s.ext.kf_mask & kf::DISPATCH != 0
    }

    // --- DSQ insertion and movement -------------------------------------------------

    /// `scx_bpf_dsq_insert(p, dsq_id, slice, enq_flags)`: from select_cpu/enqueue the
    /// direct-dispatch verdict for the task being decided; from dispatch a buffered insert
    /// applied when the callback returns. `slice` 0 keeps the current slice.
    pub fn dsq_insert(&mut self, p: TaskId, dsq_id: u64, slice: u64, enq_flags: u64) {
        self.insert(p, dsq_id, slice, None, enq_flags, "scx_bpf_dsq_insert");
    }

    /// `scx_bpf_dsq_insert_vtime`: as `dsq_insert`, ordered by `vtime` (user DSQs only).
    pub fn dsq_insert_vtime(
        &mut self,
        p: TaskId,
        dsq_id: u64,
        slice: u64,
        vtime: u64,
        enq_flags: u64,
    ) {
        self.insert(
            p,
            dsq_id,
            slice,
            Some(vtime),
            enq_flags,
            "scx_bpf_dsq_insert_vtime",
        );
    }

    fn insert(
        &mut self,
        p: TaskId,
        dsq_id: u64,
        slice: u64,
        vtime: Option<u64>,
        mut flags: u64,
        kfunc: &str,
    ) {
        if !self.allowed(kf::ENQUEUE | kf::DISPATCH, kfunc) {
            return;
        }
        if self.s.task(p).class != ClassId::Ext {
            // finish_dispatch: a task that left sched_ext (a class change, a PI boost) since
            // the policy queued it is a stale dispatch, and is dropped without an error.
            return;
        }
        // scx_dsq_insert_preamble
        let e = self.s.ext.ent_mut(p);
        if slice != 0 {
            e.slice = slice;
        } else if e.slice == 0 {
            e.slice = 1;
        }
        if let Some(v) = vtime {
            e.dsq_vtime = v;
            flags |= enq::DSQ_PRIQ;
        }
        if self.in_dispatch() {
            let max = self.s.ext.max_batch as usize;
            if self.s.ext.dsp_buf.len() >= max {
                self.err(format!("dispatch buffer overflow (max {max})"), Some(p));
                return;
            }
            let qseq = self.s.ext.ent(p).qseq;
            self.s.ext.dsp_buf.push((p, dsq_id, flags, qseq));
            self.s.ext.dsp_nr += 1;
            if let Some(c) = self.s.ext.stats.dispatch_inserts.get_mut(self.cpu as usize) {
                *c += 1;
            }
            return;
        }
        // mark_direct_dispatch
        match self.s.ext.ddsp_task {
            Some(q) if q == p => {}
            Some(q) => {
                let (a, b) = (self.name(q), self.name(p));
                self.err(
                    format!("scheduling for {a} but trying to direct-dispatch {b}"),
                    Some(p),
                );
                return;
            }
            None => {
                let b = self.name(p);
                self.err(
                    format!("direct-dispatching {b} outside its select_cpu/enqueue"),
                    Some(p),
                );
                return;
            }
        }
        if self.s.ext.ent(p).ddsp.is_some() {
            let n = self.name(p);
            self.err(format!("{n} already direct-dispatched"), Some(p));
            return;
        }
        self.s.ext.ent_mut(p).ddsp = Some((dsq_id, flags));
    }

    /// `scx_bpf_dsq_move_to_local(dsq_id)` (was `scx_bpf_consume`): move the first task of
    /// a DSQ that can run here to this CPU's local DSQ. Dispatch only.
    pub fn dsq_move_to_local(&mut self, dsq_id: u64) -> bool {
        if !self.allowed(kf::DISPATCH, "scx_bpf_dsq_move_to_local") {
            return false;
        }
        flush_dispatch_buf(self.s, self.cpu);
        let key = if dsq_id == SCX_DSQ_GLOBAL {
            DsqKey::Global
        } else if dsq_id & super::dsq::SCX_DSQ_FLAG_BUILTIN == 0
            && self.s.ext.user.contains_key(&dsq_id)
        {
            DsqKey::User(dsq_id)
        } else {
            self.err(format!("invalid DSQ ID 0x{dsq_id:016x}"), None);
            return false;
        };
        if consume_dispatch_q(self.s, self.cpu, key) {
            self.s.ext.dsp_nr += 1;
            self.s.ext.metrics.move_to_local += 1;
            return true;
        }
        false
    }

    /// `scx_bpf_dsq_move(it, p, dsq_id, enq_flags)`: move `p`, found while iterating DSQ
    /// `from` (see `dsq_iter`), to another DSQ. Dispatch and sleepable callbacks.
    pub fn dsq_move(&mut self, from: u64, p: TaskId, dsq_id: u64, enq_flags: u64) -> bool {
        self.move_task(from, p, dsq_id, None, enq_flags, "scx_bpf_dsq_move")
    }

    /// `scx_bpf_dsq_move_vtime`.
    pub fn dsq_move_vtime(
        &mut self,
        from: u64,
        p: TaskId,
        dsq_id: u64,
        vtime: u64,
        enq_flags: u64,
    ) -> bool {
        self.move_task(
            from,
            p,
            dsq_id,
            Some(vtime),
            enq_flags,
            "scx_bpf_dsq_move_vtime",
        )
    }

    fn move_task(
        &mut self,
        from: u64,
        p: TaskId,
        dsq_id: u64,
        vtime: Option<u64>,
        mut flags: u64,
        kfunc: &str,
    ) -> bool {
        if !self.allowed(kf::DISPATCH | kf::UNLOCKED, kfunc) {
            return false;
        }
        if self.in_dispatch() {
            flush_dispatch_buf(self.s, self.cpu);
        }
        let Some(src) = self.key_of(from) else {
            return false;
        };
        if self.s.ext.ent(p).dsq != Some(src) {
            return false;
        }
        if let Some(v) = vtime {
            self.s.ext.ent_mut(p).dsq_vtime = v;
            flags |= enq::DSQ_PRIQ;
        }
        let cpu = self.cpu;
        let dst = find_dsq_for_dispatch(self.s, cpu, dsq_id, p);
        self.s.ext.metrics.dsq_move += 1;
        dispatch_dequeue(self.s, p);
        match dst {
            DsqKey::Local(c) => {
                dispatch_to_local_dsq(self.s, cpu, c, p, flags);
                if c == cpu && self.in_dispatch() {
                    self.s.ext.dsp_nr += 1;
                }
            }
            k => dispatch_enqueue(self.s, k, p, flags),
        }
        true
    }

    fn key_of(&self, id: u64) -> Option<DsqKey> {
        if id == SCX_DSQ_GLOBAL {
            Some(DsqKey::Global)
        } else if id == SCX_DSQ_LOCAL {
            Some(DsqKey::Local(self.cpu))
        } else if id & SCX_DSQ_LOCAL_ON == SCX_DSQ_LOCAL_ON {
            let c = (id & SCX_DSQ_LOCAL_CPU_MASK) as u32;
            (c < self.s.nr_cpus()).then_some(DsqKey::Local(c))
        } else if self.s.ext.user.contains_key(&id) {
            Some(DsqKey::User(id))
        } else {
            None
        }
    }

    /// `bpf_iter_scx_dsq`: the tasks of a DSQ in dispatch order (a snapshot).
    pub fn dsq_iter(&self, dsq_id: u64) -> Vec<TaskId> {
        self.key_of(dsq_id)
            .and_then(|k| dsq_ref(self.s, k))
            .map(|d| d.iter().collect())
            .unwrap_or_default()
    }

    /// `scx_bpf_dispatch_nr_slots`: free entries in the dispatch buffer.
    pub fn dispatch_nr_slots(&mut self) -> u32 {
        if !self.allowed(kf::DISPATCH, "scx_bpf_dispatch_nr_slots") {
            return 0;
        }
        self.s
            .ext
            .max_batch
            .saturating_sub(self.s.ext.dsp_buf.len() as u32)
    }

    /// `scx_bpf_dispatch_cancel`: drop the last buffered insert.
    pub fn dispatch_cancel(&mut self) {
        if !self.allowed(kf::DISPATCH, "scx_bpf_dispatch_cancel") {
            return;
        }
        if self.s.ext.dsp_buf.pop().is_some() {
            self.s.ext.dsp_nr = self.s.ext.dsp_nr.saturating_sub(1);
        }
    }

    /// `scx_bpf_reenqueue_local`: from ops.cpu_release, give every task of this CPU's local
    /// DSQ back to ops.enqueue (`SCX_ENQ_REENQ`). Returns how many.
    pub fn reenqueue_local(&mut self) -> u32 {
        if !self.allowed(kf::CPU_RELEASE, "scx_bpf_reenqueue_local") {
            return 0;
        }
        let cpu = self.cpu;
        let tasks: Vec<TaskId> = self.s.rq(cpu).scx.local.iter().collect();
        for &p in &tasks {
            dispatch_dequeue(self.s, p);
            super::reenqueue(self.s, cpu, p);
        }
        tasks.len() as u32
    }

    // --- DSQ management ---------------------------------------------------------------

    /// `scx_bpf_create_dsq(dsq_id, node)`: sleepable callbacks (ops.init) only.
    pub fn create_dsq(&mut self, dsq_id: u64) -> Result<(), i32> {
        if !self.allowed(kf::UNLOCKED, "scx_bpf_create_dsq") {
            return Err(EINVAL);
        }
        if dsq_id & super::dsq::SCX_DSQ_FLAG_BUILTIN != 0 {
            return Err(EINVAL);
        }
        if self.s.ext.user.contains_key(&dsq_id) {
            return Err(EEXIST);
        }
        let now = self.s.now;
        self.s.ext.user.insert(dsq_id, super::dsq::Dsq::new_at(now));
        Ok(())
    }

    /// `scx_bpf_destroy_dsq`: an in-use DSQ is an error.
    pub fn destroy_dsq(&mut self, dsq_id: u64) {
        let nr = self.s.ext.user.get(&dsq_id).map(|d| d.nr());
        match nr {
            Some(0) => {
                let now = self.s.now;
                if let Some(mut d) = self.s.ext.user.remove(&dsq_id) {
                    d.account(now);
                    let m = &mut self.s.ext.metrics;
                    m.closed.push((DsqKey::User(dsq_id), d.depth));
                }
            }
            Some(n) => self.err(
                format!("attempting to destroy in-use dsq 0x{dsq_id:016x} (nr={n})"),
                None,
            ),
            None => {}
        }
    }

    /// `scx_bpf_dsq_nr_queued`: tasks on a DSQ (`SCX_DSQ_LOCAL` is this CPU's), or -ENOENT.
    pub fn dsq_nr_queued(&self, dsq_id: u64) -> i32 {
        match self.key_of(dsq_id).and_then(|k| dsq_ref(self.s, k)) {
            Some(d) => d.nr() as i32,
            None => ENOENT,
        }
    }

    // --- CPUs ---------------------------------------------------------------------------

    /// `scx_bpf_kick_cpu(cpu, flags)`: asynchronous (an irq_work): `IDLE` only wakes an
    /// idle CPU, `PREEMPT` zeroes the running ext task's slice, otherwise a reschedule.
    pub fn kick_cpu(&mut self, cpu: u32, flags: u64) {
        if cpu >= self.s.nr_cpus() {
            self.err(format!("invalid cpu {cpu}"), None);
            return;
        }
        queue_kick(self.s, cpu, flags);
    }

    /// The idle kfuncs need the built-in idle tracking (`scx_builtin_idle_enabled`).
    fn builtin_idle(&mut self, kfunc: &str) -> bool {
        if self.s.ext.builtin_idle_off {
            self.err(format!("{kfunc}: built-in idle tracking is disabled"), None);
            return false;
        }
        true
    }

    /// `scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle)`: ops.select_cpu only.
    /// Returns the CPU and whether it was idle (and is now claimed).
    pub fn select_cpu_dfl(&mut self, p: TaskId, prev_cpu: u32, _wake_flags: u64) -> (u32, bool) {
        if !self.allowed(kf::SELECT_CPU, "scx_bpf_select_cpu_dfl")
            || !self.builtin_idle("scx_bpf_select_cpu_dfl")
        {
            return (prev_cpu, false);
        }
        select_cpu_dfl(self.s, p, prev_cpu)
    }

    /// `scx_bpf_get_idle_cpumask`.
    pub fn idle_cpumask(&mut self) -> CpuMask {
        let n = self.s.nr_cpus();
        let mut m = CpuMask::empty(n as usize);
        if self.builtin_idle("scx_bpf_get_idle_cpumask") {
            for c in (0..n).filter(|&c| cpu_idle(self.s, c)) {
                m.set(c);
            }
        }
        m
    }

    /// `scx_bpf_test_and_clear_cpu_idle`.
    pub fn test_and_clear_cpu_idle(&mut self, cpu: u32) -> bool {
        self.builtin_idle("scx_bpf_test_and_clear_cpu_idle")
            && cpu < self.s.nr_cpus()
            && test_and_clear_cpu_idle(self.s, cpu)
    }

    /// `scx_bpf_pick_idle_cpu(mask, flags)`: claim the first idle CPU of `mask`.
    pub fn pick_idle_cpu(&mut self, mask: &CpuMask) -> Option<u32> {
        if !self.builtin_idle("scx_bpf_pick_idle_cpu") {
            return None;
        }
        let n = self.s.nr_cpus();
        (0..n)
            .filter(|&c| mask.test(c))
            .find(|&c| test_and_clear_cpu_idle(self.s, c))
    }

    /// `scx_bpf_pick_any_cpu`: an idle CPU of `mask` if any, else any CPU of it.
    pub fn pick_any_cpu(&mut self, mask: &CpuMask) -> Option<u32> {
        self.pick_idle_cpu(mask).or_else(|| mask.first())
    }

    /// `scx_bpf_nr_cpu_ids`.
    pub fn nr_cpu_ids(&self) -> u32 {
        self.s.nr_cpus()
    }

    /// `bpf_get_smp_processor_id`: the CPU this callback runs on.
    pub fn this_cpu(&self) -> u32 {
        self.cpu
    }

    /// `scx_bpf_now` / `bpf_ktime_get_ns`.
    pub fn now(&self) -> u64 {
        self.s.now
    }

    // --- tasks --------------------------------------------------------------------------

    /// `scx_bpf_task_running`: the task is the current task of its CPU.
    pub fn task_running(&self, p: TaskId) -> bool {
        let t = self.s.task(p);
        self.s.curr(t.cpu) == p
    }

    /// `scx_bpf_task_cpu`.
    pub fn task_cpu(&self, p: TaskId) -> u32 {
        self.s.task(p).cpu
    }

    /// `p->scx.slice` (readable and writable by BPF).
    pub fn task_slice(&self, p: TaskId) -> u64 {
        self.s.ext.ent(p).slice
    }

    pub fn set_task_slice(&mut self, p: TaskId, slice: u64) {
        self.s.ext.ent_mut(p).slice = slice;
    }

    /// `p->scx.dsq_vtime`.
    pub fn task_vtime(&self, p: TaskId) -> u64 {
        self.s.ext.ent(p).dsq_vtime
    }

    pub fn set_task_vtime(&mut self, p: TaskId, vtime: u64) {
        self.s.ext.ent_mut(p).dsq_vtime = vtime;
    }

    /// `p->scx.weight` (nice 0 → 100).
    pub fn task_weight(&self, p: TaskId) -> u32 {
        scx_weight(self.s.fair.se(self.s.task(p).se).load.weight)
    }

    /// `p->pid`, `p->comm`.
    pub fn task_pid(&self, p: TaskId) -> i32 {
        self.s.task(p).pid
    }

    pub fn task_comm(&self, p: TaskId) -> String {
        self.s.task(p).comm.to_string()
    }

    /// `scx_bpf_task_cgroup(p)`: the cgroup path of the task's `sched_task_group` (`/` for
    /// an autogroup). Only from rq-locked callbacks (`__SCX_KF_RQ_LOCKED`): elsewhere a
    /// policy error, and the root cgroup.
    pub fn task_cgroup(&mut self, p: TaskId) -> String {
        let rq_locked = kf::CPU_RELEASE | kf::DISPATCH | kf::ENQUEUE | kf::SELECT_CPU | kf::REST;
        if !self.allowed(rq_locked, "scx_bpf_task_cgroup") {
            return "/".into();
        }
        let g = super::cgroup::tg_cgrp(self.s, self.s.task(p).sched_task_group);
        self.s.fair.tg(g).path.clone()
    }

    /// `p->cpus_ptr` tests.
    pub fn task_allows(&self, p: TaskId, cpu: u32) -> bool {
        self.s.task(p).cpus_allowed.test(cpu)
    }

    /// `p->cpus_ptr`: the task's affinity.
    pub fn task_cpumask(&self, p: TaskId) -> CpuMask {
        self.s.task(p).cpus_allowed.clone()
    }

    pub fn task_nr_cpus_allowed(&self, p: TaskId) -> u32 {
        self.s.task(p).nr_cpus_allowed
    }

    /// `p->flags & PF_KTHREAD`: the simulated workloads have no kernel threads.
    pub fn task_is_kthread(&self, _p: TaskId) -> bool {
        false
    }

    /// `bpf_task_from_pid` succeeds: the task exists and has not exited.
    pub fn task_alive(&self, p: TaskId) -> bool {
        (p.0 as usize) < self.s.tasks.len() && !self.s.task(p).exited
    }

    // --- exits, timers, dumps -----------------------------------------------------------

    /// `scx_bpf_error`: eject the policy with a message.
    pub fn error(&mut self, msg: &str) {
        self.s
            .scx_error(ScxExitKind::ErrorBpf, msg.to_string(), None);
    }

    /// `scx_bpf_exit`: unload the policy voluntarily (exit code 0).
    pub fn exit(&mut self, msg: &str) {
        self.exit_code(0, msg);
    }

    /// `scx_bpf_exit(code, fmt...)`: unload the policy voluntarily with `ei->exit_code`.
    pub fn exit_code(&mut self, code: i64, msg: &str) {
        self.s
            .scx_exit(ScxExitKind::UnregBpf, code, msg.to_string(), None);
    }

    /// `bpf_timer_start(timer, delay, BPF_F_TIMER_CPU_PIN)`: call `ops.timer` on this CPU
    /// after `delay_ns` (re-arming replaces the pending expiry).
    pub fn timer_start(&mut self, delay_ns: u64) {
        let e = &mut self.s.ext;
        e.timer_gen = e.timer_gen.wrapping_add(1);
        if !self.s.scx_has_future() {
            // Nothing could be observed any more; let a run without a duration end.
            return;
        }
        let at = self.s.now + delay_ns;
        let work = ScxWork::Timer(self.s.ext.timer_gen);
        self.s.ext.periodic_pending += 1;
        self.s.queue.push(
            at,
            EventKind::Scx {
                cpu: self.cpu,
                work,
            },
        );
    }

    /// `scx_bpf_dump`: a line of the exit report (ops.dump* only).
    pub fn dump(&mut self, text: &str) {
        if self.s.ext.kf_mask & kf::DUMP == 0 {
            return;
        }
        self.s.ext.dump_buf.push_str(text);
        if !text.ends_with('\n') {
            self.s.ext.dump_buf.push('\n');
        }
    }
}
