//! The ops API (`struct sched_ext_ops`, include/linux/sched/ext.h and kernel/sched/ext.c):
//! every callback a BPF scheduler may implement, as a Rust trait. A method the policy does
//! not override behaves as the kernel does when the callback is missing (`SCX_HAS_OP` is
//! false): the default body is that fallback, written against the same kfuncs.
//!
//! Policies act on the kernel only through the `ScxCtx` handed to each callback (the kfuncs,
//! see `kfuncs.rs`); `TaskId`s name tasks (`struct task_struct *`).

use crate::class::ext::kfuncs::ScxCtx;
use crate::cpumask::CpuMask;
use crate::task::TaskId;

use super::dsq::{SCX_DSQ_GLOBAL, SCX_DSQ_LOCAL};

/// `SCX_SLICE_DFL`: 20 ms.
pub const SCX_SLICE_DFL: u64 = 20_000_000;
/// `SCX_SLICE_INF`: never expires.
pub const SCX_SLICE_INF: u64 = u64::MAX;
/// `SCX_OPS_TASK_ITER_BATCH`/`SCX_DSP_DFL_MAX_BATCH`: the default dispatch buffer.
pub const SCX_DSP_DFL_MAX_BATCH: u32 = 32;
/// `SCX_DSP_MAX_LOOPS`: ops.dispatch calls per balance before the CPU kicks itself.
pub const SCX_DSP_MAX_LOOPS: u32 = 32;
/// `SCX_WATCHDOG_MAX_TIMEOUT`: 30 s (also the default).
pub const SCX_WATCHDOG_MAX_TIMEOUT_MS: u32 = 30_000;

/// `enum scx_enq_flags`. WAKEUP and HEAD are the core's ENQUEUE_* values.
pub mod enq {
    pub const WAKEUP: u64 = crate::class::enqueue::WAKEUP as u64;
    pub const HEAD: u64 = crate::class::enqueue::HEAD as u64;
    /// `SCX_ENQ_CPU_SELECTED` (`ENQUEUE_RQ_SELECTED`): ops.select_cpu chose the rq.
    pub const CPU_SELECTED: u64 = 1 << 20;
    pub const PREEMPT: u64 = 1 << 32;
    pub const REENQ: u64 = 1 << 40;
    pub const LAST: u64 = 1 << 41;
    pub const CLEAR_OPSS: u64 = 1 << 56;
    pub const DSQ_PRIQ: u64 = 1 << 57;
}

/// `enum scx_deq_flags`.
pub mod deq {
    pub const SLEEP: u64 = crate::class::dequeue::SLEEP as u64;
    pub const CORE_SCHED_EXEC: u64 = 1 << 32;
}

/// `enum scx_kick_flags`.
pub mod kick {
    pub const IDLE: u64 = 1;
    pub const PREEMPT: u64 = 2;
    pub const WAIT: u64 = 4;
}

/// `enum scx_ops_flags`.
pub mod opsf {
    pub const KEEP_BUILTIN_IDLE: u64 = 1;
    pub const ENQ_LAST: u64 = 2;
    pub const ENQ_EXITING: u64 = 4;
    pub const SWITCH_PARTIAL: u64 = 8;
    pub const ENQ_MIGRATION_DISABLED: u64 = 16;
    pub const ALLOW_QUEUED_WAKEUP: u64 = 32;
    pub const BUILTIN_IDLE_PER_NODE: u64 = 64;
}

/// `enum scx_cpu_preempt_reason`: why ops.cpu_release is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuPreemptReason {
    Rt,
    Dl,
    Stop,
    /// A class the kernel has no reason for (fair above ext in partial mode).
    Unknown,
}

/// `enum scx_exit_kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScxExitKind {
    /// `SCX_EXIT_UNREG`: the scheduler was unloaded (end of the run).
    Unreg,
    /// `SCX_EXIT_UNREG_BPF`: the policy called `scx_bpf_exit`.
    UnregBpf,
    /// `SCX_EXIT_ERROR`: `scx_bpf_error` or a kfunc misuse.
    Error,
    /// `SCX_EXIT_ERROR_BPF`: the policy called `scx_bpf_error`.
    ErrorBpf,
    /// `SCX_EXIT_ERROR_STALL`: the watchdog found a runnable task that did not run.
    ErrorStall,
}

impl ScxExitKind {
    /// `scx_exit_reason`.
    pub fn reason(self) -> &'static str {
        match self {
            ScxExitKind::Unreg => "unregistered from user space",
            ScxExitKind::UnregBpf => "unregistered from BPF",
            ScxExitKind::Error => "runtime error",
            ScxExitKind::ErrorBpf => "scx_bpf_error",
            ScxExitKind::ErrorStall => "runnable task stall",
        }
    }

    pub fn is_error(self) -> bool {
        matches!(
            self,
            ScxExitKind::Error | ScxExitKind::ErrorBpf | ScxExitKind::ErrorStall
        )
    }
}

/// `struct scx_exit_info`, plus the simulation's context: when and which task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScxExitInfo {
    pub kind: ScxExitKind,
    /// The policy's name (`ops.name`).
    pub policy: String,
    /// `ei->msg`.
    pub msg: String,
    /// `ei->exit_code`: the code given to `scx_bpf_exit` (`cx.exit_code`); 0 otherwise.
    pub exit_code: i64,
    /// The task the error is about (`comm[pid]`), when there is one.
    pub task: Option<String>,
    /// Simulated time of the error.
    pub at: u64,
    /// What `ops.dump` wrote (`ei->dump`).
    pub dump: String,
}

impl std::fmt::Display for ScxExitInfo {
    /// What the kernel logs on disable (`scx_ops_disable_workfn`): the scheduler, the
    /// reason, and the message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sched_ext: BPF scheduler \"{}\" disabled ({}) at {}.{:06}s",
            self.policy,
            self.kind.reason(),
            self.at / 1_000_000_000,
            self.at % 1_000_000_000 / 1000
        )?;
        if !self.msg.is_empty() {
            write!(f, "\nsched_ext: {}: {}", self.policy, self.msg)?;
        }
        if let Some(t) = &self.task {
            write!(f, "\nsched_ext: task: {t}")?;
        }
        Ok(())
    }
}

/// `struct scx_cgroup_init_args`: a cgroup's settings as `ops.cgroup_init` sees them
/// (`tg->scx`): the cgroup v2 weight and the `cpu.max` bandwidth in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgroupInitArgs {
    /// `cpu.weight`, 1..10000 (`CGROUP_WEIGHT_DFL` = 100).
    pub weight: u32,
    /// `cpu.max` period (`default_bw_period_us()` = 100 000 until written).
    pub bw_period_us: u64,
    /// `cpu.max` quota; `RUNTIME_INF` (u64::MAX) for "max".
    pub bw_quota_us: u64,
    /// `cpu.max.burst`.
    pub bw_burst_us: u64,
}

/// `struct sched_ext_ops`. Every callback has the kernel's fallback as its default body.
/// `cx` is the kfunc context of the call (which kfuncs are allowed depends on the callback,
/// as `scx_kf_mask` does in the kernel).
#[allow(unused_variables)]
pub trait ExtOps: Send {
    /// `ops.name`.
    fn name(&self) -> &str;

    /// `ops.flags` (`opsf::*`).
    fn flags(&self) -> u64 {
        0
    }

    /// `ops.timeout_ms`: the watchdog timeout (0: the default 30 s).
    fn timeout_ms(&self) -> u32 {
        0
    }

    /// `ops.dispatch_max_batch` (0: the default 32).
    fn dispatch_max_batch(&self) -> u32 {
        0
    }

    /// `ops.select_cpu(p, prev_cpu, wake_flags)`: pick the CPU a waking task is enqueued on;
    /// an insert into a DSQ here is the task's direct-dispatch verdict. Missing:
    /// `scx_select_cpu_dfl`, and an idle hit goes straight to that CPU's local DSQ with a
    /// fresh `SCX_SLICE_DFL` (`select_task_rq_scx`).
    fn select_cpu(&mut self, cx: &mut ScxCtx, p: TaskId, prev_cpu: u32, wake_flags: u64) -> i32 {
        let (cpu, idle) = cx.select_cpu_dfl(p, prev_cpu, wake_flags);
        if idle {
            cx.dsq_insert(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
        }
        cpu as i32
    }

    /// `ops.enqueue(p, enq_flags)`: the task became runnable (or was put back with its
    /// slice used up). Not inserting it anywhere keeps it owned by the policy, which must
    /// dispatch it later. Missing: the global DSQ with a fresh slice (`do_enqueue_task`).
    fn enqueue(&mut self, cx: &mut ScxCtx, p: TaskId, enq_flags: u64) {
        cx.dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
    }

    /// Whether `enqueue` is implemented (`ops.enqueue != NULL`). The default body already
    /// behaves as a missing callback does; this is only read by the load-time check
    /// `validate_ops`, which refuses `SCX_OPS_ENQ_LAST` without `ops.enqueue`. Return false
    /// to stand for a scheduler that leaves `ops.enqueue` out.
    fn implements_enqueue(&self) -> bool {
        true
    }

    /// `ops.dequeue(p, deq_flags)`: a task the policy owns leaves (sleep, setattr...).
    fn dequeue(&mut self, cx: &mut ScxCtx, p: TaskId, deq_flags: u64) {}

    /// `ops.dispatch(cpu, prev)`: fill `cpu`'s local DSQ (insert/move tasks). `prev` is
    /// the ext task being switched out, if any.
    fn dispatch(&mut self, cx: &mut ScxCtx, cpu: u32, prev: Option<TaskId>) {}

    /// `ops.tick(p)`: every tick while an ext task runs.
    fn tick(&mut self, cx: &mut ScxCtx, p: TaskId) {}

    /// `ops.runnable(p, enq_flags)`: the task became runnable (not on migration).
    fn runnable(&mut self, cx: &mut ScxCtx, p: TaskId, enq_flags: u64) {}

    /// `ops.running(p)`: the task starts running on its CPU.
    fn running(&mut self, cx: &mut ScxCtx, p: TaskId) {}

    /// `ops.stopping(p, runnable)`: the task stops running (`runnable`: still queued).
    fn stopping(&mut self, cx: &mut ScxCtx, p: TaskId, runnable: bool) {}

    /// `ops.quiescent(p, deq_flags)`: the task is no longer runnable (not on migration).
    fn quiescent(&mut self, cx: &mut ScxCtx, p: TaskId, deq_flags: u64) {}

    /// `ops.yield(from, to)`: returns whether the yield to `to` succeeded. Missing: the
    /// yielding task's slice is zeroed (`yield_task_scx`).
    fn yield_task(&mut self, cx: &mut ScxCtx, from: TaskId, to: Option<TaskId>) -> bool {
        cx.set_task_slice(from, 0);
        false
    }

    /// `ops.core_sched_before(a, b)`: core scheduling order. Missing: the order tasks
    /// became runnable (`scx_prio_less`). Not called: the simulator has no core scheduling.
    fn core_sched_before(&mut self, cx: &mut ScxCtx, a: TaskId, b: TaskId) -> bool {
        false
    }

    /// `ops.set_weight(p, weight)`: the task's weight (1..10000, nice 0 = 100) changed.
    fn set_weight(&mut self, cx: &mut ScxCtx, p: TaskId, weight: u32) {}

    /// `ops.set_cpumask(p, mask)`: the task's affinity, when it joins the class.
    fn set_cpumask(&mut self, cx: &mut ScxCtx, p: TaskId, mask: &CpuMask) {}

    /// `ops.update_idle(cpu, idle)`: the CPU enters or leaves idle. Implementing it
    /// (`implements_update_idle`) turns the built-in idle tracking off unless
    /// `KEEP_BUILTIN_IDLE` is set.
    fn update_idle(&mut self, cx: &mut ScxCtx, cpu: u32, idle: bool) {}

    /// Whether `update_idle` is implemented (`SCX_HAS_OP(update_idle)`).
    fn implements_update_idle(&self) -> bool {
        false
    }

    /// `ops.cpu_acquire(cpu)`: the CPU is back from a higher class.
    fn cpu_acquire(&mut self, cx: &mut ScxCtx, cpu: u32) {}

    /// `ops.cpu_release(cpu, reason)`: a higher class (rt, dl) took the CPU.
    fn cpu_release(&mut self, cx: &mut ScxCtx, cpu: u32, reason: CpuPreemptReason) {}

    /// `ops.init_task(p, fork)`: a task is created or the scheduler is loaded; an error
    /// (a negative errno) fails the load or the fork.
    fn init_task(&mut self, cx: &mut ScxCtx, p: TaskId, fork: bool) -> Result<(), i32> {
        Ok(())
    }

    /// `ops.exit_task(p, cancelled)`.
    fn exit_task(&mut self, cx: &mut ScxCtx, p: TaskId, cancelled: bool) {}

    /// `ops.enable(p)`: the task joins the ext class.
    fn enable(&mut self, cx: &mut ScxCtx, p: TaskId) {}

    /// `ops.disable(p)`: the task leaves the ext class.
    fn disable(&mut self, cx: &mut ScxCtx, p: TaskId) {}

    /// `ops.cgroup_init(cgrp, args)`: a cgroup becomes known to the scheduler: every
    /// existing one (the root `/` first, parents before children) when the scheduler is
    /// enabled, and each one created while it is loaded. Sleepable (`SCX_KF_UNLOCKED`). An
    /// error fails the load (`ops.cgroup_init() failed`), or the cgroup's creation.
    fn cgroup_init(
        &mut self,
        cx: &mut ScxCtx,
        cgroup: &str,
        args: &CgroupInitArgs,
    ) -> Result<(), i32> {
        Ok(())
    }

    /// `ops.cgroup_exit(cgrp)`: every initialized cgroup, children before parents, when
    /// the scheduler is disabled (before its tasks leave the class). Sleepable.
    fn cgroup_exit(&mut self, cx: &mut ScxCtx, cgroup: &str) {}

    /// `ops.cgroup_prep_move(p, from, to)`: `p` is about to move to another cgroup (any
    /// task, whatever its class; not for autogroup changes, nor when `from == to`). An
    /// error refuses the move. Sleepable.
    fn cgroup_prep_move(
        &mut self,
        cx: &mut ScxCtx,
        p: TaskId,
        from: &str,
        to: &str,
    ) -> Result<(), i32> {
        Ok(())
    }

    /// `ops.cgroup_move(p, from, to)`: the move `cgroup_prep_move` accepted is done
    /// (called from `sched_move_task`, after the task changed group). Sleepable.
    fn cgroup_move(&mut self, cx: &mut ScxCtx, p: TaskId, from: &str, to: &str) {}

    /// `ops.cgroup_cancel_move(p, from, to)`: a move `cgroup_prep_move` accepted will not
    /// happen (another task of the same migration was refused). Sleepable.
    fn cgroup_cancel_move(&mut self, cx: &mut ScxCtx, p: TaskId, from: &str, to: &str) {}

    /// `ops.cgroup_set_weight(cgrp, weight)`: the cgroup's `cpu.weight` (1..10000, 100 by
    /// default; `cpu.shares` and `cpu.weight.nice` writes converted with
    /// `sched_weight_to_cgroup`) changed while the scheduler is loaded. Sleepable.
    fn cgroup_set_weight(&mut self, cx: &mut ScxCtx, cgroup: &str, weight: u32) {}

    /// `ops.cgroup_set_bandwidth(cgrp, period_us, quota_us, burst_us)` (6.17+): the
    /// cgroup's `cpu.max`/`cpu.max.burst` changed while the scheduler is loaded; `quota_us`
    /// is `RUNTIME_INF` (u64::MAX) for "max". Sleepable.
    fn cgroup_set_bandwidth(
        &mut self,
        cx: &mut ScxCtx,
        cgroup: &str,
        period_us: u64,
        quota_us: u64,
        burst_us: u64,
    ) {
    }

    /// `ops.cpu_online` / `ops.cpu_offline`: never called (no hotplug).
    fn cpu_online(&mut self, cx: &mut ScxCtx, cpu: u32) {}
    fn cpu_offline(&mut self, cx: &mut ScxCtx, cpu: u32) {}

    /// `ops.init()`: sleepable; creates the user DSQs. An error fails the load.
    fn init(&mut self, cx: &mut ScxCtx) -> Result<(), i32> {
        Ok(())
    }

    /// `ops.exit(info)`: the scheduler is being disabled.
    fn exit(&mut self, cx: &mut ScxCtx, info: &ScxExitInfo) {}

    /// `ops.dump(ctx)`, `ops.dump_cpu`, `ops.dump_task`: write state into the exit
    /// report with `cx.dump`.
    fn dump(&mut self, cx: &mut ScxCtx) {}
    fn dump_cpu(&mut self, cx: &mut ScxCtx, cpu: u32, idle: bool) {}
    fn dump_task(&mut self, cx: &mut ScxCtx, p: TaskId) {}

    /// A BPF timer armed with `cx.timer_start` fired (the simulator's `bpf_timer`; its
    /// callback runs on the CPU that armed it, outside any ops callback).
    fn timer(&mut self, cx: &mut ScxCtx) {}
}
