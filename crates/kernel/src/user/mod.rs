//! User space: what each workload thread does between syscalls. A thread runs its program
//! op by op; ops that burn CPU set the task's demand, ops that are syscalls call the kernel
//! (`Sched`) as the real syscall would, in the thread's own context on its CPU.

mod blocked;
mod fork;
mod locking;
pub mod program;
mod reader;
pub mod rng;
mod session;
mod shutdown;
pub mod stats;
pub mod sync;

use std::collections::HashMap;
use std::ops::{Index, IndexMut};

use schedsim_trace::{Comm, Event, RecFlags};
use schedsim_workload::{Naming, TaskSpec, Workload};

use crate::class::fair::group::TgId;
use crate::core::schedule::SchedMode;
use crate::cpumask::CpuMask;
use crate::events::EventKind;
use crate::sched::{Ctx, Sched};
use crate::task::{tstate, Demand, TaskId};

use program::{compile, is_rtapp_thread, Op};
use rng::{stream, Rng};
use stats::IterStats;
use sync::SyncObjects;

/// Why a thread is blocked (for the end-of-run report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    Sleep,
    Sem(usize),
    Cond(usize),
    Mutex(usize),
    Barrier(usize),
    /// rt-app's `threads_barrier` at the start.
    StartBarrier,
    Suspend,
    Forever,
    /// The output reader, in `read` on an empty pipe.
    Output,
    /// rt-app's main thread in `pthread_join`, after its shutdown.
    Join,
}

/// One user thread.
#[derive(Clone, Debug)]
pub struct Thread {
    pub task: TaskId,
    pub spec: Option<usize>,
    pub pc: usize,
    /// Each open loop's iterations left and current iteration (0-based), innermost last.
    pub loops: Vec<(Option<u64>, u64)>,
    pub rng: Rng,
    /// Per-thread (unique) timers' next expiry, by timer index.
    pub timers: HashMap<usize, u64>,
    pub blocked: Option<Blocked>,
    /// Creation index over every thread, the launcher's 0 (seeds the thread's RNG).
    pub index: u32,
    /// Ops run at this instant without time advancing (livelock detection).
    pub zero_time_ops: u64,
    pub last_op_time: u64,
    /// rt-app's `t_first - t_zero` (the thread's delay): the origin of the timers it is the
    /// first to use.
    pub t_first: u64,
    /// rt-app's statistics of the current phase iteration (`rtapp_stats` lines), from the
    /// iteration's start marker on.
    pub stats: Option<IterStats>,
    /// It called `setsid`, so it leads a session (and its process group) and cannot
    /// start another (`ksys_setsid`: EPERM).
    pub session_leader: bool,
    /// The launcher created it (rt-app: not `forked`), so it waits on the start barrier.
    pub created_at_start: bool,
    /// The name it gives itself when it first runs (rt-app's `pthread_setname_np` at the
    /// top of `thread_body`); until then it has its creator's comm, as `copy_process` left it.
    pub setname: Option<String>,
}

impl Thread {
    /// A thread of `task` at the start of its program, with a placeholder random stream.
    fn new(task: TaskId, spec: Option<usize>, index: u32) -> Thread {
        Thread {
            task,
            spec,
            pc: 0,
            loops: Vec::new(),
            rng: Rng::new(0, 0),
            timers: HashMap::new(),
            blocked: None,
            index,
            zero_time_ops: 0,
            setname: None,
            last_op_time: 0,
            t_first: 0,
            stats: None,
            session_leader: false,
            created_at_start: false,
        }
    }
}

/// An error a thread's program hits at run time (a refused syscall, a livelock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    pub task: String,
    pub message: String,
}

/// More ops than this at one instant by one thread is a livelock.
const LIVELOCK_OPS: u64 = 1_000_000;

pub struct Userspace {
    pub workload: Workload,
    programs: Vec<Vec<Op>>,
    /// Where each task spec's rt-app end starts (`Op::RtappThreadEnd`), if it is an rt-app
    /// thread.
    thread_end: Vec<Option<usize>>,
    /// rt-app's `continue_running` is clear: the launcher has shut down (shutdown.rs).
    shutting_down: bool,
    launcher_ops: Vec<Op>,
    /// The machine's background daemon (`Config::daemon_period`), if any, and its program.
    pub daemon: Option<TaskId>,
    daemon_ops: Vec<Op>,
    /// The process reading the launcher's output (`Config::reader_run`), if any, its
    /// program, and whether a line waits in the pipe for its next `read`.
    pub reader: Option<TaskId>,
    reader_ops: Vec<Op>,
    output_pending: bool,
    pub threads: Threads,
    /// Instances of each task spec created so far (for instance names).
    instances: Vec<u32>,
    /// Threads of each task spec created by `fork` so far (rt-app's per-fork-resource
    /// `nforks`, the last part of a forked thread's name).
    forked: Vec<u32>,
    pub sync: SyncObjects,
    seed: u64,
    next_index: u32,
    /// The instant the threads' common time origin was taken (rt-app `t_zero`).
    pub t_zero: Option<u64>,
    pub launcher: Option<TaskId>,
    /// The autogroup of each named session (`Workload::sessions`), once its first thread
    /// is created.
    sessions: Vec<Option<TgId>>,
    /// Wakeups of threads by threads so far (`wake_return`).
    wakes: u64,
}

impl Userspace {
    pub fn new(workload: Workload, seed: u64) -> Userspace {
        let rtapp_threads: Vec<bool> = workload
            .tasks
            .iter()
            .map(|t| is_rtapp_thread(&t.program))
            .collect();
        let programs: Vec<Vec<Op>> = workload
            .tasks
            .iter()
            .map(|t| compile(&t.program, &rtapp_threads))
            .collect();
        let thread_end = programs
            .iter()
            .map(|ops| ops.iter().position(|op| *op == Op::RtappThreadEnd))
            .collect();
        // The launcher is rt-app's main thread: it marks the start, creates every thread,
        // sleeps for the duration, marks the shutdown, joins its threads (shutdown.rs) and
        // marks the end (`rtapp_main` markers).
        let mut launcher_ops = Vec::new();
        let main_markers = workload.ftrace_markers.main;
        if main_markers {
            launcher_ops.push(Op::Marker("rtapp_main: event=start".into()));
        }
        let lines = workload.launcher_output;
        launcher_ops.extend((0..lines.after_start).map(|_| Op::Output));
        let mut first = true;
        for (i, t) in workload.tasks.iter().enumerate() {
            for _ in 0..t.count {
                launcher_ops.extend((0..lines.per_thread).map(|_| Op::Output));
                // create_thread's work before the clone; the first thread's is before
                // t = 0, which is its fork, where `tick_phase` is measured from.
                if rtapp_threads[i] && !first {
                    launcher_ops.push(Op::RtappCreate);
                }
                first = false;
                launcher_ops.push(Op::Fork(i));
            }
        }
        if let (true, Some(d)) = (main_markers, workload.duration) {
            launcher_ops.push(Op::Sleep(schedsim_workload::Dur::Fixed(d)));
            launcher_ops.push(Op::Marker("rtapp_main: event=shutdown".into()));
            launcher_ops.push(Op::RtappShutdown);
            launcher_ops.push(Op::Marker("rtapp_main: event=end".into()));
            launcher_ops.push(Op::Shutdown);
        }
        let sync = SyncObjects {
            start_barrier: sync::Barrier {
                parties: workload.tasks.iter().map(|t| t.count).sum(),
                ..Default::default()
            },
            sems: workload
                .sems
                .iter()
                .map(|s| sync::Semaphore {
                    count: s.initial as u64,
                    ..Default::default()
                })
                .collect(),
            conds: vec![Default::default(); workload.conds.len()],
            mutexes: vec![Default::default(); workload.mutexes.len()],
            barriers: workload
                .barriers
                .iter()
                .map(|b| sync::Barrier {
                    parties: b.parties,
                    ..Default::default()
                })
                .collect(),
            suspended: vec![Default::default(); workload.tasks.len()],
            timers: vec![None; workload.timers.len()],
        };
        Userspace {
            programs,
            thread_end,
            shutting_down: false,
            launcher_ops,
            daemon: None,
            daemon_ops: Vec::new(),
            reader: None,
            reader_ops: Vec::new(),
            output_pending: false,
            threads: Threads::default(),
            instances: vec![0; workload.tasks.len()],
            forked: vec![0; workload.tasks.len()],
            sync,
            seed,
            next_index: 0,
            t_zero: None,
            launcher: None,
            sessions: vec![None; workload.sessions.len()],
            wakes: 0,
            workload,
        }
    }

    /// Creates the launcher process that forks every task (rt-app's main thread) on the
    /// machine's `launcher_cpu`.
    pub fn boot(&mut self, s: &mut Sched) {
        let comm = if self.workload.launcher_comm.is_empty() {
            "schedsim".to_string()
        } else {
            self.workload.launcher_comm.clone()
        };
        let cpu = s.cfg.launcher_cpu;
        let t = s.new_task(schedsim_trace::Comm::new(&comm), cpu);
        s.autogroup_init(t);
        self.launcher = Some(t);
        self.add_thread(t, None);
        if let Some(run) = s.cfg.reader_run {
            self.boot_reader(s, t, run);
        }
        s.start_boot_task(cpu, t);
        self.boot_daemon(s);
    }

    /// The machine's background daemon: a thread of the root task group, started on the CPU
    /// after the launcher's, that sleeps a random part of its period (where its cycle
    /// stands when the workload starts), then runs and sleeps its period forever. Its draws
    /// come from the machine's `cost_seed`, not the workload's seed.
    fn boot_daemon(&mut self, s: &mut Sched) {
        let Some(period) = s.cfg.daemon_period else {
            return;
        };
        let cpu = (s.cfg.launcher_cpu + 1) % s.nr_cpus();
        // In init's session, so in the root task group whatever autogroup does (the VM's
        // agent: session id 0).
        let t = s.new_system_task(schedsim_trace::Comm::new("daemon"), cpu, 1);
        self.daemon_ops = vec![
            Op::Sleep(schedsim_workload::Dur::Uniform { lo: 0, hi: period }),
            Op::LoopStart {
                count: None,
                end: 4,
            },
            Op::Burn(s.cfg.daemon_run),
            Op::Sleep(schedsim_workload::Dur::Fixed(period)),
            Op::LoopEnd { start: 1 },
        ];
        self.daemon = Some(t);
        self.threads.insert(
            t,
            Thread {
                rng: Rng::new(s.cfg.cost_seed, stream::DAEMON),
                ..Thread::new(t, None, u32::MAX)
            },
        );
        s.start_boot_task(cpu, t);
    }

    fn add_thread(&mut self, task: TaskId, spec: Option<usize>) -> u32 {
        let index = self.next_index;
        self.next_index += 1;
        let th = Thread {
            rng: Rng::new(self.seed, index as u64),
            ..Thread::new(task, spec, index)
        };
        self.threads.insert(task, th);
        index
    }

    pub(crate) fn ops(&self, th: &Thread) -> &[Op] {
        match th.spec {
            Some(i) => &self.programs[i],
            None if Some(th.task) == self.daemon => &self.daemon_ops,
            None if Some(th.task) == self.reader => &self.reader_ops,
            None => &self.launcher_ops,
        }
    }

    /// The comm of a new thread of `spec`; `index` is its creation index (the launcher is 0),
    /// `instance` the number of threads of `spec` created before it, `nfork` the number of
    /// them created by `fork`.
    fn comm_for(
        &self,
        spec: &TaskSpec,
        forked: bool,
        index: u32,
        instance: u32,
        nfork: u32,
    ) -> String {
        // rt-app numbers its threads from 0 in creation order (`tdata->ind`); its main
        // thread is not one of them.
        let ind = index.saturating_sub(1);
        match spec.naming {
            Naming::Plain if spec.count <= 1 && !forked => spec.name.clone(),
            Naming::Plain if !forked => format!("{}-{}", spec.name, instance),
            Naming::Plain => format!("{}-{}", spec.name, index),
            // `thread_data_set_unique_name` (rt-app.c): "%s-%d", or "%s-%d-%04d" with the new
            // thread's own index and the fork resource's count.
            Naming::RtApp if !forked => format!("{}-{}", spec.name, ind),
            Naming::RtApp => format!("{}-{}-{:04}", spec.name, ind, nfork),
        }
    }

    /// Blocks the current thread in state S and schedules away.
    fn block(&mut self, s: &mut Sched, t: TaskId, why: Blocked) {
        let cpu = s.task(t).cpu;
        s.task_mut(t).state = tstate::INTERRUPTIBLE;
        self.threads.get_mut(&t).unwrap().blocked = Some(why);
        s.schedule(cpu, SchedMode::None);
    }

    /// Wakes a blocked thread from `ctx`.
    fn wake(&mut self, s: &mut Sched, ctx: Ctx, t: TaskId) {
        self.wake_flags(s, ctx, t, 0);
    }

    /// Wakes a blocked thread from `ctx` with `wake_flags` (WF_SYNC for a pipe).
    fn wake_flags(&mut self, s: &mut Sched, ctx: Ctx, t: TaskId, wake_flags: u32) {
        if let Some(th) = self.threads.get_mut(&t) {
            th.blocked = None;
        }
        self.wakes += 1;
        s.try_to_wake_up(ctx, t, tstate::NORMAL, wake_flags);
    }

    /// One op of thread `t`. One that woke another thread from its system call leaves
    /// the waker running the machine's `wake_return` (the syscall's return and the path
    /// to its next call) before its next op.
    fn op(&mut self, s: &mut Sched, t: TaskId, cpu: u32, op: Op) -> Result<(), UserError> {
        let wakes = self.wakes;
        self.run_op(s, t, cpu, op)?;
        let task = s.task(t);
        if self.wakes != wakes && task.state == tstate::RUNNING && task.demand == Demand::None {
            let w = s.path_cost(s.cfg.wake_return);
            burn(s, t, w);
        }
        Ok(())
    }

    /// The threads of the process: the live workload threads and those the launcher has
    /// still to create (rt-app creates them all before any starts).
    fn process_threads(&self, s: &Sched) -> u64 {
        let live = self
            .threads
            .values()
            .filter(|th| th.spec.is_some() && !s.task(th.task).exited)
            .count();
        let to_create = self
            .launcher
            .and_then(|l| self.threads.get(&l))
            .map_or(0, |l| {
                let ops = &self.launcher_ops[l.pc..];
                ops.iter().filter(|op| matches!(op, Op::Fork(_))).count()
            });
        (live + to_create) as u64
    }

    /// A sleep timer expired: wake the thread from a hard interrupt on `cpu`.
    pub fn timer_fired(&mut self, s: &mut Sched, t: TaskId, gen: u32, cpu: u32) {
        if s.task(t).timer_gen != gen || s.task(t).exited {
            return;
        }
        s.irq_entry(cpu, schedsim_trace::IrqVector::LocalTimer);
        s.update_rq_clock(cpu);
        self.wake(s, Ctx::HardIrq(cpu), t);
        s.mark_dirty(cpu);
    }

    fn sleep_until(&mut self, s: &mut Sched, t: TaskId, at: u64) {
        arm_sleep_timer(s, t, at);
        self.block(s, t, Blocked::Sleep);
    }

    /// Runs the current thread of `cpu` for one syscall (or until it starts CPU work or
    /// blocks). Returns false if there is nothing for user space to do on this CPU.
    pub fn step(&mut self, s: &mut Sched, cpu: u32) -> Result<bool, UserError> {
        let t = s.curr(cpu);
        if s.task(t).pid == 0 || s.task(t).demand != Demand::None {
            return Ok(false);
        }
        if s.task(t).state != tstate::RUNNING {
            return Ok(false);
        }
        let now = s.now;
        let th = self.threads.get_mut(&t).expect("user task has a thread");
        if th.last_op_time == now {
            th.zero_time_ops += 1;
            if th.zero_time_ops > LIVELOCK_OPS {
                return Err(self.err(s, t, "livelock: the program loops without ever taking time (a loop of zero-duration steps)".into()));
            }
        } else {
            th.last_op_time = now;
            th.zero_time_ops = 0;
        }
        if let Some(name) = th.setname.take() {
            s.task_mut(t).comm = Comm::new(&name);
        }
        let th = self.threads.get_mut(&t).expect("user task has a thread");
        if let Some(st) = th.stats.as_mut() {
            // Back in user space: a run or a timer sleep being measured ends here.
            st.resume(now);
        }
        if self.t_zero.is_none() && self.threads[&t].spec.is_some() && !self.at_rtapp_setup(t) {
            // The first thread to run takes the common time origin (rt-app's t_zero), after
            // its set-up: rt-app's thread 0 takes it just before the start barrier.
            self.t_zero = Some(now);
            if self.workload.ftrace_markers.task {
                let text = format!("rtapp_main: event=clock_ref data={}", now / 1000);
                s.trace_event(cpu, t, RecFlags::default(), Event::Print { text });
            }
        }
        loop {
            if self.shutdown_step(t) == Some(false) {
                // After rt-app's shutdown the rest of the phase's events is skipped.
                self.threads.get_mut(&t).unwrap().pc += 1;
                continue;
            }
            let th = &self.threads[&t];
            let Some(op) = self.ops(th).get(th.pc).cloned() else {
                return self.op_end(s, t, cpu);
            };
            self.threads.get_mut(&t).unwrap().pc += 1;
            match op {
                Op::LoopStart { count, end } => {
                    let th = self.threads.get_mut(&t).unwrap();
                    th.loops.push((count, 0));
                    let _ = end;
                }
                Op::LoopEnd { start } => {
                    let th = self.threads.get_mut(&t).unwrap();
                    let (left, iter) = th.loops.last_mut().expect("open loop");
                    *iter += 1;
                    let again = match left {
                        None => true,
                        Some(n) => {
                            *n -= 1;
                            *n > 0
                        }
                    };
                    if again {
                        th.pc = start + 1;
                        // A loop iteration is a natural point to check time did advance.
                        return Ok(true);
                    }
                    th.loops.pop();
                }
                op => return self.op(s, t, cpu, op).map(|_| true),
            }
        }
    }

    /// The thread's next op is rt-app's set-up (it has not taken `t_zero`'s place yet).
    fn at_rtapp_setup(&self, t: TaskId) -> bool {
        let th = &self.threads[&t];
        self.ops(th).get(th.pc) == Some(&Op::RtappSetup)
    }

    fn err(&self, s: &Sched, t: TaskId, message: String) -> UserError {
        UserError {
            task: format!("{}[{}]", s.task(t).comm, s.task(t).pid),
            message,
        }
    }

    /// The program ran out: a thread exits; the launcher waits for the end.
    fn op_end(&mut self, s: &mut Sched, t: TaskId, cpu: u32) -> Result<bool, UserError> {
        if self.threads[&t].spec.is_none() {
            self.t_zero.get_or_insert(s.now);
            self.block(s, t, Blocked::Forever);
        } else {
            self.exit(s, t, cpu);
        }
        Ok(true)
    }

    fn exit(&mut self, s: &mut Sched, t: TaskId, cpu: u32) {
        s.exit_task(t);
        self.threads.get_mut(&t).unwrap().blocked = None;
        self.join_exited(s, Ctx::Task(cpu));
        s.schedule(cpu, SchedMode::None);
    }

    fn run_op(&mut self, s: &mut Sched, t: TaskId, cpu: u32, op: Op) -> Result<(), UserError> {
        let ctx = Ctx::Task(cpu);
        match op {
            Op::Run(d) => {
                let th = self.threads.get_mut(&t).unwrap();
                if let Some(st) = th.stats.as_mut() {
                    st.work(s.now);
                }
                let w = rtapp_loops_cost(
                    self.workload.calibration_ns,
                    s.cfg.rtapp_loop_ps,
                    th.rng.sample(d),
                );
                burn(s, t, w);
            }
            Op::RunWall(d) => {
                let th = self.threads.get_mut(&t).unwrap();
                if let Some(st) = th.stats.as_mut() {
                    st.work(s.now);
                }
                let w = th.rng.sample(d);
                if w > 0 {
                    s.task_mut(t).demand = Demand::Until(s.now + w);
                    s.arm_demand(t);
                }
            }
            Op::Sleep(d) => {
                let w = self.threads.get_mut(&t).unwrap().rng.sample(d);
                if w > 0 {
                    self.sleep_until(s, t, s.now + w);
                }
            }
            Op::Timer {
                timer,
                period,
                absolute,
            } => {
                let t_zero = *self.t_zero.get_or_insert(s.now);
                let shared = self.workload.timers[timer].shared;
                let prev = if shared {
                    self.sync.timers[timer]
                } else {
                    self.threads[&t].timers.get(&timer).copied()
                };
                // First use: the t_first of this thread (rt-app: t_zero + its delay).
                let origin = t_zero + self.threads[&t].t_first;
                let mut next = prev.map_or(origin + period, |n| n + period);
                let late = next <= s.now;
                if let Some(st) = self.threads.get_mut(&t).unwrap().stats.as_mut() {
                    st.timer(s.now, next, late);
                }
                if late && !absolute {
                    next = s.now;
                }
                if shared {
                    self.sync.timers[timer] = Some(next);
                } else {
                    self.threads.get_mut(&t).unwrap().timers.insert(timer, next);
                }
                if !late {
                    self.sleep_until(s, t, next);
                }
            }
            Op::SemPost(i) => match self.sync.sems[i].waiters.pop() {
                Some(w) => self.wake(s, ctx, w),
                None => self.sync.sems[i].count += 1,
            },
            Op::SemWait(i) => {
                if self.sync.sems[i].count > 0 {
                    self.sync.sems[i].count -= 1;
                } else {
                    let prio = futex_prio(s, t);
                    self.sync.sems[i].waiters.push(prio, t);
                    self.block(s, t, Blocked::Sem(i));
                }
            }
            Op::CondSignal(i) => {
                if let Some(w) = self.sync.conds[i].pop() {
                    self.wake(s, ctx, w);
                }
            }
            Op::CondBroadcast(i) => {
                for w in self.sync.conds[i].drain() {
                    self.wake(s, ctx, w);
                }
            }
            Op::CondWait {
                cond,
                mutex,
                signal_first,
            } => {
                if signal_first {
                    if let Some(w) = self.sync.conds[cond].pop() {
                        self.wake(s, ctx, w);
                    }
                }
                if let Some(m) = mutex {
                    self.unlock(s, ctx, t, m)?;
                }
                let prio = futex_prio(s, t);
                self.sync.conds[cond].push(prio, t);
                self.block(s, t, Blocked::Cond(cond));
            }
            Op::Lock(m) => {
                let mx = &mut self.sync.mutexes[m];
                match mx.owner {
                    None => mx.owner = Some(t),
                    Some(o) if o == t => {
                        return Err(self.err(
                            s,
                            t,
                            format!(
                                "locks mutex `{}` it already holds (deadlock)",
                                self.workload.mutexes[m].name
                            ),
                        ))
                    }
                    Some(o) => {
                        self.queue_mutex_waiter(s, m, t);
                        // task_blocks_on_rt_mutex: a new top waiter boosts the owner (and
                        // whoever it waits for: rt_mutex_adjust_prio_chain) before sleeping.
                        let top = self.sync.mutexes[m].waiters.top().map(|(_, w)| w);
                        if self.workload.mutexes[m].pi && top == Some(t) {
                            self.adjust_pi_chain(s, cpu, o);
                        }
                        self.block(s, t, Blocked::Mutex(m));
                    }
                }
            }
            Op::Unlock(m) => self.unlock(s, ctx, t, m)?,
            Op::Barrier(b) => self.barrier_arrive(s, ctx, t, Some(b)),
            Op::Suspend => {
                let spec = self.threads[&t].spec.unwrap_or(0);
                let prio = futex_prio(s, t);
                self.sync.suspended[spec].push(prio, t);
                self.block(s, t, Blocked::Suspend);
            }
            Op::Resume(spec) => {
                for w in self.sync.suspended[spec].drain() {
                    self.wake(s, ctx, w);
                }
            }
            Op::Yield => s.sys_sched_yield(cpu),
            Op::Fork(i) => self.fork(s, t, i)?,
            Op::Exit => self.exit(s, t, cpu),
            Op::SetAttr(a) => {
                s.sched_setattr(t, &a)
                    .map_err(|e| self.err(s, t, format!("sched_setattr refused: {e}")))?;
            }
            Op::SetAffinity(cpus) => {
                let n = s.nr_cpus() as usize;
                let mask = match &cpus {
                    Some(c) => CpuMask::from_list(n, c),
                    None => CpuMask::full(n),
                };
                s.sched_setaffinity(ctx, t, mask)
                    .map_err(|e| self.err(s, t, format!("sched_setaffinity refused: {e}")))?;
            }
            Op::SetCgroup(g) => {
                let tg = s.fair.group_by_path(&g).expect("checked at set-up");
                // A sched_ext policy may refuse the move (ops.cgroup_prep_move).
                s.cgroup_attach(ctx, t, tg).map_err(|e| self.err(s, t, e))?;
            }
            Op::Setsid => self.setsid(s, t)?,
            Op::Mlockall => {
                // mlockall(MCL_CURRENT | MCL_FUTURE) faults in every thread's stack and
                // buffers: CPU time in proportion to the threads of the process (one draw
                // of the per-thread price per call).
                let w = s.path_cost(s.cfg.mlock_cost) * self.process_threads(s);
                if let Some(st) = self.threads[&t].stats.as_mut() {
                    st.not_run();
                }
                burn(s, t, w);
            }
            Op::RtappCreate => {
                let w = s.path_cost(s.cfg.rtapp_create);
                burn(s, t, w);
            }
            Op::RtappSetup => {
                let w = s.path_cost(s.cfg.rtapp_setup);
                burn(s, t, w);
            }
            Op::RtappBarrierEntry => {
                if self.threads[&t].created_at_start {
                    let w = s.path_cost(s.cfg.rtapp_barrier);
                    burn(s, t, w);
                }
            }
            Op::RtappBarrier => {
                if self.threads[&t].created_at_start {
                    self.barrier_arrive(s, ctx, t, None);
                }
            }
            Op::Output => self.output(s, ctx),
            Op::ReadOutput => self.read_output(s, t),
            Op::Burn(d) => {
                let w = self.threads.get_mut(&t).unwrap().rng.sample(d);
                burn(s, t, w);
            }
            Op::RtappShutdown => {
                self.rtapp_shutdown(s, ctx, t);
            }
            Op::RtappThreadEnd => {}
            Op::Shutdown => s.queue.push(s.now, crate::events::EventKind::End),
            Op::Marker(mut text) => {
                // `{loopN}`: the 0-based iteration of the enclosing loop at depth N.
                for (depth, (_, iter)) in self.threads[&t].loops.iter().enumerate() {
                    text = text.replace(&format!("{{loop{depth}}}"), &iter.to_string());
                }
                // `{stats.*}`: the measured values of the iteration (rtapp_stats).
                if let Some(st) = &self.threads[&t].stats {
                    text = st.fill(&text, s.now);
                }
                s.trace_event(cpu, t, RecFlags::default(), Event::Print { text });
            }
            Op::StatsBegin { cumulative_slack } => {
                self.threads[&t].stats = Some(IterStats::begin(s.now, cumulative_slack));
            }
            Op::TimerOrigin(delay) => self.threads[&t].t_first = delay,
            Op::StatsNotRun => {
                if let Some(st) = self.threads[&t].stats.as_mut() {
                    st.not_run();
                }
            }
            Op::LoopStart { .. } | Op::LoopEnd { .. } => unreachable!("handled by step"),
        }
        Ok(())
    }
}

/// The thread arena, indexed by the thread's `TaskId` (tasks and threads share ids).
#[derive(Clone, Debug, Default)]
pub struct Threads {
    slots: Vec<Option<Thread>>,
}

impl Threads {
    fn insert(&mut self, t: TaskId, th: Thread) {
        let i = t.0 as usize;
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        self.slots[i] = Some(th);
    }

    pub fn get(&self, t: &TaskId) -> Option<&Thread> {
        self.slots.get(t.0 as usize).and_then(Option::as_ref)
    }

    pub fn get_mut(&mut self, t: &TaskId) -> Option<&mut Thread> {
        self.slots.get_mut(t.0 as usize).and_then(Option::as_mut)
    }

    /// Every thread, in task-id (creation) order.
    pub fn values(&self) -> impl Iterator<Item = &Thread> {
        self.slots.iter().flatten()
    }
}

impl Index<&TaskId> for Threads {
    type Output = Thread;
    fn index(&self, t: &TaskId) -> &Thread {
        self.get(t).expect("a user task has a thread")
    }
}

impl IndexMut<&TaskId> for Threads {
    fn index_mut(&mut self, t: &TaskId) -> &mut Thread {
        self.get_mut(t).expect("a user task has a thread")
    }
}

/// The futex queue priority of a waiter (`futex_q` plist: RT by priority, others equal).
fn futex_prio(s: &Sched, t: TaskId) -> i32 {
    s.task(t).normal_prio.min(100)
}

/// Gives the running thread `t` `w` ns of CPU work before its next op.
fn burn(s: &mut Sched, t: TaskId, w: u64) {
    if w > 0 {
        s.task_mut(t).demand = Demand::Work(w);
        s.arm_demand(t);
    }
}

/// rt-app's `loadwait`: a `run` of `d` ns is `d / calibration` busy loops, counted per whole
/// second then for the rest; each costs `loop_ps` on this machine. Without both, `d`.
fn rtapp_loops_cost(calibration_ns: Option<u64>, loop_ps: Option<u64>, d: u64) -> u64 {
    let (Some(cal), Some(loop_ps)) = (calibration_ns, loop_ps) else {
        return d;
    };
    const SEC: u64 = 1_000_000_000;
    let loops = (d / SEC) * (SEC / cal) + (d % SEC) / cal;
    ((loops as u128 * loop_ps as u128) / 1000) as u64
}

/// Arms the sleep timer of `t` (`hrtimer_nanosleep`): it fires at `hrtimer_expiry`, on the
/// task's CPU; a newer sleep invalidates an older timer (`timer_gen`).
fn arm_sleep_timer(s: &mut Sched, t: TaskId, at: u64) {
    let at = hrtimer_expiry(s, t, at);
    let task = s.task_mut(t);
    task.timer_gen = task.timer_gen.wrapping_add(1);
    let (gen, cpu) = (task.timer_gen, task.cpu);
    s.queue.push(at, EventKind::Timer { task: t, gen, cpu });
}

/// When a sleep until `at` ends (`hrtimer_nanosleep`, `clock_nanosleep`): a task outside
/// rt/dl (`rt_or_dl_task`, so by its possibly boosted prio) sleeps with its timer slack,
/// a soft expiry at `at` and a hard one `slack` later; the first hrtimer interrupt of its
/// CPU in between runs it: the tick's if one comes (the CPU stays busy with other tasks, so
/// NO_HZ does not stop its tick), else the timer's own at the hard expiry.
fn hrtimer_expiry(s: &Sched, t: TaskId, at: u64) -> u64 {
    let task = s.task(t);
    if task.prio < crate::prio::MAX_RT_PRIO || s.cfg.timer_slack_ns == 0 {
        return at;
    }
    let hard = at + s.cfg.timer_slack_ns;
    let next_tick = s.cfg.tick_at_or_after(at);
    let rq = s.rq(task.cpu);
    if rq.tick_running && rq.nr_running > 1 && next_tick < hard {
        next_tick
    } else {
        hard
    }
}
