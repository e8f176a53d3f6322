//! The workload as plain data: what the simulated kernel consumes, whatever file format
//! it came from (our TOML, rt-app JSON). Parsers build it; `schedsim-kernel` runs it.
//!
//! All times are integer nanoseconds. Names of synchronisation objects are resolved to
//! indices at parse time so the simulation never looks anything up by string.

use std::fmt;

/// Nanoseconds.
pub type Nanos = u64;

/// Where something was written in the input file (1-based), for run-time error messages.
/// Line 0: not written in the file (a command-line flag such as `--cgroup`, or a
/// scenario's setup line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Loc {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A whole workload.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Workload {
    /// The file it was read from (for messages).
    pub source: String,
    /// How long to simulate; `None` = until every task has exited (or the CLI's --duration).
    pub duration: Option<Nanos>,
    /// Task specifications. Specs with `count == 0` are fork templates only.
    pub tasks: Vec<TaskSpec>,
    /// Synchronisation objects referenced by steps (by index).
    pub sems: Vec<SyncDecl>,
    pub conds: Vec<SyncDecl>,
    pub mutexes: Vec<MutexDecl>,
    pub barriers: Vec<BarrierDecl>,
    pub timers: Vec<TimerDecl>,
    /// Kernel knobs set by the workload (sysctls, debugfs tunables and features).
    pub sysctls: Vec<Setting>,
    /// Every cgroup the workload creates, in creation order (`[cgroup."/web"]` tables, rt-app
    /// taskgroups, `--cgroup` flags). The root `/` always exists and is never listed; a
    /// group's missing parents are created implicitly, like `mkdir -p`. Whether the groups
    /// named by tasks and steps exist is the simulator's check.
    pub cgroups: Vec<CgroupDecl>,
    /// cgroup files written by the workload (`/path`, `cpu.max`, `"50000 100000"`), in
    /// order, after every group is created. Names and values are the simulator's check.
    pub cgroup_files: Vec<CgroupSetting>,
    /// Named sessions (`[session.build]` tables, or named by a task), by index
    /// (`TaskSpec::session`); each gets its own autogroup. Not the launcher's session.
    pub sessions: Vec<SessionDecl>,
    /// Name of the launcher process that forks the tasks (`rt-app` for rt-app imports).
    pub launcher_comm: String,
    /// rt-app `global.ftrace` categories that ask for trace_marker lines.
    pub ftrace_markers: Markers,
    /// rt-app's `calibration` in ns per loop: a `run` is then a count of busy loops
    /// (`d / calibration`), whose real cost is the machine's (`rtapp_loop`). None: a `run`
    /// is CPU time (our TOML; rt-app's `"CPUn"`, which calibrates on the machine itself).
    pub calibration_ns: Option<u64>,
    /// The lines the launcher prints (rt-app's `log_notice`): each is a write that wakes
    /// the machine's output reader, if it has one. None for our TOML.
    pub launcher_output: LauncherOutput,
}

/// Lines the launcher writes to its output, from its start on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LauncherOutput {
    /// Before its start (the simulated t = 0): still in the pipe when the run starts, so
    /// the reader's first `read` finds them.
    pub before_start: u32,
    /// At its start, before it creates any thread.
    pub after_start: u32,
    /// Before it creates each thread.
    pub per_thread: u32,
}

impl Workload {
    /// Declare cgroup `path` (created at `loc`) unless it is the root or already declared.
    pub fn declare_cgroup(&mut self, path: &str, loc: Loc) {
        if path != "/" && !self.cgroups.iter().any(|g| g.path == path) {
            self.cgroups.push(CgroupDecl {
                path: path.to_string(),
                loc,
            });
        }
    }
}

/// rt-app's trace_marker categories (`global.ftrace`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Markers {
    pub main: bool,
    pub task: bool,
    pub looping: bool,
    pub event: bool,
    pub stats: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub name: String,
    pub value: String,
    pub loc: Loc,
}

/// A cgroup the workload creates (`mkdir -p /sys/fs/cgroup/<path>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupDecl {
    /// Absolute path below the cgroup root: `/web`, `/web/child`; never `/`.
    pub path: String,
    /// Where it is declared; line 0 when it came from the command line (`--cgroup`).
    pub loc: Loc,
}

/// A session (`setsid`) some tasks start in, with its autogroup's nice value
/// (`/proc/<pid>/autogroup`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDecl {
    pub name: String,
    /// -20..=19: the autogroup's weight is `sched_prio_to_weight[nice + 20]`.
    pub nice: i32,
}

/// One cgroup file write: `echo <value> > /sys/fs/cgroup/<path>/<file>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupSetting {
    pub path: String,
    pub file: String,
    pub value: String,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDecl {
    pub name: String,
    /// Initial count (semaphores); unused for condition variables.
    pub initial: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutexDecl {
    pub name: String,
    /// Priority-inheritance mutex (`PTHREAD_PRIO_INHERIT`).
    pub pi: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarrierDecl {
    pub name: String,
    /// Number of threads that must arrive before all are released.
    pub parties: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerDecl {
    pub name: String,
    /// Shared by every thread naming it (rt-app `ref`), or one per thread (`unique...`).
    pub shared: bool,
}

/// Scheduling policy, as `sched_setattr` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Policy {
    #[default]
    Normal,
    Batch,
    Idle,
    Fifo,
    Rr,
    Deadline,
    Ext,
}

impl Policy {
    /// The kernel's SCHED_* number.
    pub fn number(self) -> u32 {
        match self {
            Policy::Normal => 0,
            Policy::Fifo => 1,
            Policy::Rr => 2,
            Policy::Batch => 3,
            Policy::Idle => 5,
            Policy::Deadline => 6,
            Policy::Ext => 7,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Policy::Normal => "SCHED_OTHER",
            Policy::Fifo => "SCHED_FIFO",
            Policy::Rr => "SCHED_RR",
            Policy::Batch => "SCHED_BATCH",
            Policy::Idle => "SCHED_IDLE",
            Policy::Deadline => "SCHED_DEADLINE",
            Policy::Ext => "SCHED_EXT",
        }
    }

    pub fn is_rt(self) -> bool {
        matches!(self, Policy::Fifo | Policy::Rr)
    }

    pub fn is_fair(self) -> bool {
        matches!(
            self,
            Policy::Normal | Policy::Batch | Policy::Idle | Policy::Ext
        )
    }
}

/// `sched_setattr` parameters: everything a policy change carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SchedAttr {
    pub policy: Policy,
    /// Nice value for fair policies (-20..19).
    pub nice: i32,
    /// rt_priority for FIFO/RR (1..99).
    pub rt_priority: u32,
    /// SCHED_DEADLINE runtime; for fair policies a custom EEVDF slice (0 = default).
    pub runtime: Nanos,
    pub deadline: Nanos,
    pub period: Nanos,
    /// SCHED_FLAG_* bits (RESET_ON_FORK 1, RECLAIM 2, DL_OVERRUN 4).
    pub flags: u64,
}

/// A duration that may be drawn from a distribution (seeded by `--seed`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dur {
    Fixed(Nanos),
    Uniform { lo: Nanos, hi: Nanos },
    Exponential { mean: Nanos },
    Normal { mean: Nanos, stddev: Nanos },
    LogNormal { mean: Nanos, stddev: Nanos },
}

impl Dur {
    /// The fixed value, if this is not random.
    pub fn fixed(self) -> Option<Nanos> {
        match self {
            Dur::Fixed(n) => Some(n),
            _ => None,
        }
    }
}

/// One task specification: `count` identical threads.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    /// Base name; threads are named by the format's own rule (see `comm_of`).
    pub name: String,
    /// Number of instances created at start; 0 = fork template only.
    pub count: u32,
    /// Policy and parameters the thread is created with (a format that applies them later,
    /// as rt-app does after its start barrier, puts a `Step::SetAttr` in the program).
    pub attr: SchedAttr,
    /// CPUs allowed (None = all).
    pub affinity: Option<Vec<u32>>,
    /// cgroup path the thread starts in (None = the launcher's group).
    pub cgroup: Option<String>,
    /// Index in `Workload::sessions` of the session the thread starts in (None = its
    /// creator's session: the launcher's, or the forking thread's).
    pub session: Option<usize>,
    /// Delay from the start before the program begins (the thread exists, sleeping).
    pub start_delay: Nanos,
    /// The behaviour program.
    pub program: Vec<Step>,
    /// How thread names are formed.
    pub naming: Naming,
    pub loc: Loc,
}

/// How a thread's comm is formed from its spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Naming {
    /// `name` for a single instance, `name-i` (i = instance index) otherwise.
    #[default]
    Plain,
    /// rt-app: `name-<global thread index>`, forks `name-<parent idx>-<nnnn>`.
    RtApp,
}

/// One step of a behaviour program. Steps other than `Run`/`RunWall` (and blocking ones)
/// take no simulated time: they are the syscalls a thread makes between bursts of work.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Burn this much CPU work (ns at capacity 1024; scaled by CPU capacity).
    Run(Dur),
    /// Busy-loop until this much wall time has passed (rt-app `runtime`).
    RunWall(Dur),
    /// Sleep for this long (`nanosleep`).
    Sleep(Dur),
    /// Sleep until the next boundary of a periodic timer (rt-app `timer`).
    Timer {
        timer: usize,
        period: Nanos,
        absolute: bool,
    },
    /// Post a semaphore (wakes one waiter or counts up).
    SemPost(usize),
    /// Wait on a semaphore (blocks while its count is 0).
    SemWait(usize),
    /// Signal a condition variable: wake one waiter (lost if none waits).
    CondSignal(usize),
    /// Broadcast a condition variable: wake all waiters.
    CondBroadcast(usize),
    /// Wait on a condition variable, releasing `mutex` while blocked (if any).
    CondWait {
        cond: usize,
        mutex: Option<usize>,
    },
    /// Signal then wait, atomically (rt-app `sync`).
    CondSync {
        cond: usize,
        mutex: Option<usize>,
    },
    Lock(usize),
    Unlock(usize),
    Barrier(usize),
    /// Block until resumed (rt-app `suspend`); resumes sent before are lost.
    Suspend,
    /// Wake every thread of task spec `index` that is suspended.
    Resume(usize),
    /// `sched_yield()`.
    Yield,
    /// Create a thread from task spec `index`.
    Fork(usize),
    /// Exit the thread.
    Exit,
    /// `sched_setattr` / `setpriority` at run time.
    SetAttr(SchedAttr),
    /// `sched_setaffinity` at run time (None = all CPUs).
    SetAffinity(Option<Vec<u32>>),
    /// Move this thread to a cgroup.
    SetCgroup(String),
    /// `setsid()`: start a new session, with a new autogroup of nice 0.
    Setsid,
    /// `mlockall(MCL_CURRENT | MCL_FUTURE)`: fault in and pin the whole process's memory
    /// (every thread's stack and buffers), CPU time the machine's `mlock_cost` per thread.
    Mlockall,
    /// Repeat `body` `count` times (None = forever).
    Loop {
        count: Option<u64>,
        body: Vec<Step>,
    },
    /// A `trace_marker` write (rt-app's ftrace markers).
    Marker(String),
}
