//! `struct task_struct`: the scheduler-visible part of a task, in the task arena.

use schedsim_trace::Comm;
use schedsim_workload::Policy;

use crate::class::fair::entity::SeId;
use crate::class::ClassId;
use crate::cpumask::CpuMask;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub u32);

/// `__state` values (include/linux/sched.h).
pub mod tstate {
    pub const RUNNING: u32 = 0x0000;
    pub const INTERRUPTIBLE: u32 = 0x0001;
    pub const UNINTERRUPTIBLE: u32 = 0x0002;
    pub const DEAD: u32 = 0x0080;
    pub const WAKING: u32 = 0x0200;
    pub const NEW: u32 = 0x0800;
    pub const NOLOAD: u32 = 0x0400;
    /// `TASK_IDLE`: an uninterruptible sleep that does not count as load (kthreads
    /// waiting for work; `prev_state` prints `I`).
    pub const IDLE: u32 = UNINTERRUPTIBLE | NOLOAD;
    /// `TASK_NORMAL`: what `wake_up_process` wakes.
    pub const NORMAL: u32 = INTERRUPTIBLE | UNINTERRUPTIBLE;
}

/// `p->on_rq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnRq {
    No,
    Queued,
    Migrating,
}

/// What the task's user-mode code is doing while it has the CPU (the simulation's model of
/// user execution): an amount of CPU work, or a busy loop until a wall-clock instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Demand {
    /// Nothing in progress: the task is about to make a syscall or is blocked.
    None,
    /// CPU work left, in ns at capacity 1024.
    Work(u64),
    /// Busy until this instant.
    Until(u64),
}

#[derive(Clone, Debug)]
pub struct Task {
    pub id: TaskId,
    pub pid: i32,
    pub tgid: i32,
    pub comm: Comm,
    pub state: u32,
    pub on_rq: OnRq,
    /// Currently executing on a CPU (`p->on_cpu`).
    pub on_cpu: bool,
    /// `task_cpu(p)`.
    pub cpu: u32,
    /// `p->wake_cpu`.
    pub wake_cpu: u32,
    pub policy: Policy,
    pub prio: i32,
    pub static_prio: i32,
    pub normal_prio: i32,
    pub rt_priority: u32,
    pub class: ClassId,
    pub cpus_allowed: CpuMask,
    pub nr_cpus_allowed: u32,
    /// The affinity the task asked for (`p->user_cpus_ptr`): its `cpus_allowed` is this
    /// within its cpuset (core/cpuset.rs); None: never asked.
    pub user_cpus: Option<CpuMask>,
    pub se: SeId,
    /// The task group (cgroup, or autogroup) the task's entity is queued under
    /// (`sched_task_group`).
    pub sched_task_group: crate::class::fair::group::TgId,
    /// The cgroup the task is in (its cpu css); `sched_task_group` is this, or the
    /// session's autogroup for the root cgroup.
    pub cgroup: crate::class::fair::group::TgId,
    /// The autogroup of the task's session (`p->signal->autogroup`); None with autogroup
    /// off. Inherited across fork (`sched_autogroup_fork`), replaced by `setsid`.
    pub autogroup: Option<crate::class::fair::group::TgId>,
    /// Taken off its queue by CFS bandwidth throttling and parked on the queue's limbo
    /// list, still runnable (`p->throttled`, 6.18).
    pub throttled: bool,
    /// The top waiter of the PI mutexes this task holds, whose priority it inherits
    /// (`pi_top_task`, set by `rt_mutex_setprio`).
    pub pi_task: Option<TaskId>,
    /// RR time slice left, in ticks (`p->rt.time_slice`).
    pub rt_time_slice: u32,
    pub sched_reset_on_fork: bool,
    /// `exit_state`: a dead task that has switched out for the last time.
    pub exited: bool,
    /// User-mode execution in progress.
    pub demand: Demand,
    /// When `demand` last made progress (set at switch-in).
    pub demand_since: u64,
    /// Invalidates the pending completion event of `demand` when it is re-armed.
    pub demand_gen: u32,
    /// Invalidates a pending sleep timer.
    pub timer_gen: u32,
    /// Pending wakeup being counted for latency: time of `sched_waking`.
    pub waking_ts: Option<u64>,
    /// `sched_info`: when the task last became runnable-but-waiting (`last_queued`).
    pub last_queued: Option<u64>,
    /// When it last switched in (`last_arrival`).
    pub last_arrival: u64,
}

impl Task {
    pub fn is_idle_task(&self) -> bool {
        self.pid == 0
    }

    /// A kernel thread of the boot (idle or stopper), not one of the workload's tasks.
    pub fn is_boot_kthread(&self) -> bool {
        self.is_idle_task() || self.class == ClassId::Stop
    }
}
