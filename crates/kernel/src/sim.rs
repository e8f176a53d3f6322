//! The event loop: boots the machine and the workload's launcher, then pops events in time
//! order, lets the kernel and user space handle each, and visits every CPU that reached a
//! preemption point (see `events` for the same-instant order).

use schedsim_trace::TraceSink;
use schedsim_workload::Workload;

use crate::class::fair::balance;
use crate::config::Config;
use crate::core::schedule::SchedMode;
use crate::events::EventKind;
use crate::sched::Sched;
use crate::task::Demand;
use crate::user::{UserError, Userspace};

#[derive(Clone, Debug, Default)]
pub struct SimOptions {
    /// Simulated time to run (None: until every thread exited or nothing can happen).
    pub duration: Option<u64>,
    pub seed: u64,
    pub trace: bool,
    /// Verify the kernel's invariants after every event (`check::Checker`); the run stops
    /// at the first violation.
    pub check: bool,
}

/// Why a run stopped with an error.
#[derive(Debug)]
pub enum SimError {
    /// The workload's program failed (livelock, bad syscall arguments).
    User(UserError),
    /// `SimOptions::check` found a broken invariant.
    Check(Box<crate::check::CheckFailure>),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::User(e) => write!(f, "task {}: {}", e.task, e.message),
            SimError::Check(c) => write!(f, "{c}"),
        }
    }
}

impl From<UserError> for SimError {
    fn from(e: UserError) -> SimError {
        SimError::User(e)
    }
}

impl From<SimError> for UserError {
    /// A violation as a `UserError` (for `run`'s callers): the task it names, the rest in
    /// the message.
    fn from(e: SimError) -> UserError {
        match e {
            SimError::User(u) => u,
            SimError::Check(c) => UserError {
                task: c.violation.task.clone().unwrap_or_else(|| "-".into()),
                message: c.to_string(),
            },
        }
    }
}

/// What a finished run hands to the output writers.
pub struct SimResult {
    pub sched: Sched,
    pub end: u64,
    /// Why the run ended early, if it did (everything blocked or exited).
    pub ended_early: Option<String>,
    /// Threads left blocked on objects nothing signals.
    pub blocked_forever: Vec<String>,
    /// Threads blocked at the end on objects a live thread may still signal.
    pub blocked_waiting: Vec<String>,
    pub user: Userspace,
}

/// Observes progress (simulated time) for a progress bar.
pub trait Progress {
    fn advance(&mut self, now: u64);
}

impl Progress for () {
    fn advance(&mut self, _now: u64) {}
}

pub fn run(
    workload: Workload,
    cfg: Config,
    opts: &SimOptions,
    progress: &mut dyn Progress,
) -> Result<SimResult, UserError> {
    try_run(workload, cfg, opts, progress).map_err(UserError::from)
}

/// `run`, with a checker violation kept apart from user-space errors.
pub fn try_run(
    workload: Workload,
    cfg: Config,
    opts: &SimOptions,
    progress: &mut dyn Progress,
) -> Result<SimResult, SimError> {
    try_run_streamed(workload, cfg, opts, progress, None)
}

/// `try_run`, streaming the trace to `sink` as the run goes (tracing is on whatever
/// `opts.trace` says): records reach it in the `trace` file's order once final (as they
/// are written, since each is stamped with the current instant), and the result's
/// `sched.trace` keeps none. Call `sched.trace.finish()` on the result to complete
/// the output; on an error the sink is dropped unfinished.
pub fn try_run_streamed(
    workload: Workload,
    cfg: Config,
    opts: &SimOptions,
    progress: &mut dyn Progress,
    sink: Option<Box<dyn TraceSink>>,
) -> Result<SimResult, SimError> {
    // `--cfg schedsim_no_checker` compiles the checker's call sites out, only to measure
    // what they cost when `check` is off (docs/benchmarks.md: nothing).
    const CHECKER_BUILT: bool = !cfg!(schedsim_no_checker);
    assert!(
        CHECKER_BUILT || !opts.check,
        "built with --cfg schedsim_no_checker: no --check"
    );
    let mut checker = (CHECKER_BUILT && opts.check).then(crate::check::Checker::new);
    let mut last_event = None;
    let duration = opts.duration.or(workload.duration);
    let mut s = Sched::new(cfg, opts.trace);
    crate::cgroup::setup(&mut s, &workload).map_err(SimError::User)?;
    if let Some(sink) = sink {
        s.trace.stream_to(sink);
    }
    // rt-app's main thread ends the run (`Op::Shutdown`) once its threads have finished
    // after its shutdown (user/shutdown.rs), which the threads' last events, the kernel's
    // path costs or a starved launcher put after the duration; a second more is cut off.
    let launcher_ends =
        opts.duration.is_none() && workload.ftrace_markers.main && workload.duration.is_some();
    let mut user = Userspace::new(workload, opts.seed);
    s.boot_ticks();
    user.boot(&mut s);
    if let Some(spec) = s.cfg.scx.clone() {
        // The policy is loaded once the launcher exists (scx_ops_enable switches it too).
        s.scx_enable(&spec).map_err(|m| {
            SimError::User(UserError {
                task: "-".into(),
                message: m,
            })
        })?;
    }
    if let Some(d) = duration {
        let cutoff = if launcher_ends { 1_000_000_000 } else { 0 };
        s.queue.push(d + cutoff, EventKind::End);
    }
    let mut ended_early = None;
    let mut last_progress = 0;
    // Set while same-instant ticks of other CPUs are pending: every CPU's tick interrupt
    // runs before any of them returns to user mode; the balance softirqs run after the
    // CPUs that raised none have passed their preemption point (events.rs, rule 5).
    let mut in_tick_batch = false;
    loop {
        if !in_tick_batch {
            balance::queue_tick_softirqs(&mut s);
            if std::mem::take(&mut s.fair.tick_softirq_ready) {
                if balance::any_softirq_pending(&s) {
                    // Irq exit of the ticks: CPUs with no softirq reach their preemption
                    // point first, then the balance softirqs run.
                    visit_dirty_where(&mut s, &mut user, |s, c| !balance::softirq_pending(s, c))?;
                }
                balance::run_tick_softirqs(&mut s);
            }
            if balance::any_softirq_pending(&s) {
                // A CPU in its balance softirq returns to its task only after it.
                visit_dirty_where(&mut s, &mut user, |s, c| !balance::softirq_pending(s, c))?;
            } else {
                visit_dirty(&mut s, &mut user)?;
            }
            if let Some(c) = checker.as_mut() {
                check_now(c, &s, last_event)?;
            }
        }
        // Only periodic sched_ext work left (watchdog, BPF timers) and no ext task waiting:
        // nothing can happen any more, as with an empty queue.
        let next = if s.scx_has_future() {
            s.queue.pop()
        } else {
            None
        };
        let Some((t, ev)) = next else {
            ended_early = Some(if all_exited(&s, &user) {
                "every thread exited".to_string()
            } else {
                "no thread can make progress (all are blocked and no timer is pending)".to_string()
            });
            break;
        };
        s.now = t;
        // Every record is stamped with `now`, which never goes back: none will be
        // stamped before `t` (a streamed trace hands on what is final).
        s.trace.advance(t);
        if checker.is_some() {
            last_event = Some(ev);
        }
        if t - last_progress >= 10_000_000 {
            progress.advance(t);
            last_progress = t;
        }
        // smp_processor_id() of the handler: the CPU the event happens on; the CPU-less
        // bandwidth timers reach every CPU by IPI.
        s.this_cpu = match ev {
            EventKind::WorkDone { task, .. } => s.task(task).cpu,
            EventKind::Timer { cpu, .. }
            | EventKind::WakeList { cpu, .. }
            | EventKind::DlTimer { cpu, .. }
            | EventKind::Scx { cpu, .. }
            | EventKind::Resched { cpu, .. }
            | EventKind::TickSoftirq { cpu }
            | EventKind::Tick { cpu } => cpu,
            EventKind::RtPeriodTimer { .. } | EventKind::CfsBandwidth { .. } | EventKind::End => {
                u32::MAX
            }
        };
        s.in_ipi = matches!(ev, EventKind::WakeList { ipi: true, .. });
        match ev {
            EventKind::End => break,
            EventKind::WorkDone { task, gen } => {
                let tk = s.task(task);
                if tk.demand_gen == gen && tk.on_cpu {
                    s.task_mut(task).demand = Demand::None;
                    let cpu = s.task(task).cpu;
                    s.mark_dirty(cpu);
                }
            }
            EventKind::Timer { task, gen, cpu } => {
                if !s.kthread_timer_fired(task, gen, cpu) {
                    user.timer_fired(&mut s, task, gen, cpu)
                }
            }
            EventKind::WakeList {
                cpu,
                task,
                wake_flags,
                ipi,
            } => {
                if ipi {
                    s.irq_entry(cpu, schedsim_trace::IrqVector::CallFunctionSingle);
                }
                s.sched_ttwu_pending(cpu, task, wake_flags);
                s.mark_dirty(cpu);
            }
            EventKind::DlTimer { cpu, task, gen } => {
                crate::class::dl::dl_timer_fired(&mut s, cpu, task, gen)
            }
            EventKind::RtPeriodTimer { gen } => {
                crate::class::rt::sched_rt_period_timer(&mut s, gen)
            }
            EventKind::CfsBandwidth { tg, timer, gen } => {
                crate::class::fair::bandwidth::timer_fired(&mut s, tg, timer, gen)
            }
            EventKind::Scx { cpu, work } => crate::class::ext::handle_work(&mut s, cpu, work),
            EventKind::Resched { cpu, ipi } => {
                if ipi {
                    s.irq_entry(cpu, schedsim_trace::IrqVector::Reschedule);
                }
                s.mark_dirty(cpu)
            }
            EventKind::TickSoftirq { cpu } => balance::run_tick_softirq(&mut s, cpu),
            EventKind::Tick { cpu } => s.sched_tick(cpu),
        }
        s.in_ipi = false;
        in_tick_batch = matches!(ev, EventKind::Tick { .. }) && s.queue.peek_is_tick_at(t);
    }
    let end = s.now;
    let (blocked_forever, blocked_waiting) = user.blocked_at_end(&s);
    Ok(SimResult {
        sched: s,
        end,
        ended_early,
        blocked_forever,
        blocked_waiting,
        user,
    })
}

/// Runs the checker; a violation becomes the run's error, with the event it followed.
fn check_now(
    c: &mut crate::check::Checker,
    s: &Sched,
    ev: Option<EventKind>,
) -> Result<(), SimError> {
    c.check(s).map_err(|violation| {
        SimError::Check(Box::new(crate::check::CheckFailure {
            time: s.now,
            event: ev.map_or_else(|| "boot".to_string(), |e| format!("{e:?}")),
            violation,
        }))
    })
}

fn all_exited(s: &Sched, user: &Userspace) -> bool {
    user.threads
        .values()
        .filter(|th| th.spec.is_some())
        .all(|th| s.task(th.task).exited)
}

/// Every CPU that reached a preemption point: reschedule if asked (the idle loop with
/// `schedule_idle`, a user task on its way back to user mode with `schedule`), then let the
/// current thread run until it burns CPU or blocks (the stopper kthread: until its works
/// are done).
fn visit_dirty(s: &mut Sched, user: &mut Userspace) -> Result<(), UserError> {
    visit_dirty_where(s, user, |_, _| true)
}

/// `visit_dirty` for the CPUs `now` selects; the others stay dirty.
fn visit_dirty_where(
    s: &mut Sched,
    user: &mut Userspace,
    now: impl Fn(&Sched, u32) -> bool,
) -> Result<(), UserError> {
    let mut later = Vec::new();
    while let Some(cpu) = s.pop_dirty() {
        if !now(s, cpu) {
            later.push(cpu);
            continue;
        }
        loop {
            s.this_cpu = cpu;
            let rq = s.rq(cpu);
            if (rq.need_resched || rq.need_resched_lazy) && s.now >= rq.resched_at {
                let mode = if rq.curr == rq.idle {
                    SchedMode::Idle
                } else {
                    SchedMode::None
                };
                s.schedule(cpu, mode);
            }
            // The stopper kthread runs its works and sleeps again (cpu_stopper_thread); so
            // do the other kthreads.
            if s.run_stopper(cpu) || s.run_rcu_gp_kthread(cpu) || s.run_kthread(cpu) {
                continue;
            }
            if !user.step(s, cpu)? {
                break;
            }
        }
    }
    for cpu in later {
        s.mark_dirty(cpu);
    }
    Ok(())
}
