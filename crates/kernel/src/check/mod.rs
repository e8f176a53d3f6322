//! The invariant checker ("trust"): `verify(&Sched)` walks the whole kernel state and
//! returns the first broken invariant as a `Violation`. With `SimOptions::check` the event
//! loop runs it after every event and dirty-CPU visit (through a `Checker`, which also keeps
//! the little state that spans events, such as the last `now`) and stops the run at the
//! first violation.
//!
//! Rules are named after the kernel's warning site (`WARN_ON_ONCE`, formerly
//! `SCHED_WARN_ON`) or the comment in kernel/sched that states the invariant, where there is
//! one; otherwise after the field or function whose meaning they pin down.
//!
//! The checks are split by area: `core` (task state machine, rq membership, nr_running,
//! clocks and CPU-time accounting), `fair` (every cfs_rq: the EEVDF sums, the timeline
//! and its augmentation, counters, lag, delayed dequeue, group entities, limbo lists),
//! `bandwidth` (CFS bandwidth control: the throttled lists, `throttle_count`, the quota
//! pool), `rt` (the prio lists and their counters) and `dl` (the EDF trees, throttling,
//! the CBS runtime bounds, `this_bw`/`running_bw` and the root domain's `total_bw`). Each
//! area lists its rule names in its `rule` module. `determinism` compares two runs.
//!
//! `verify` only reads; it never changes the state, so a checked run is the same run.
//! docs/checker.md lists the rules, how each is tested, and what the checker found.

pub mod bandwidth;
pub mod core;
pub mod determinism;
pub mod dl;
pub mod fair;
pub mod rt;

/// The rule the `Checker` keeps across events.
pub const TIME_BACKWARDS: &str = "time goes backwards (sched_clock is monotonic)";

use std::fmt;

use crate::class::ClassId;
use crate::sched::Sched;
use crate::task::TaskId;

/// A broken invariant: which rule, where, and the state of the run queue involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule's name (the kernel's warning site or comment where there is one).
    pub rule: &'static str,
    /// The CPU whose rq is involved, if one is.
    pub cpu: Option<u32>,
    /// The task involved, as `comm[pid]`.
    pub task: Option<String>,
    /// What was found, then the state of the rq involved.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invariant violated: {}", self.rule)?;
        if let Some(c) = self.cpu {
            write!(f, " on CPU {c}")?;
        }
        if let Some(t) = &self.task {
            write!(f, " (task {t})")?;
        }
        write!(f, ": {}", self.detail)
    }
}

impl std::error::Error for Violation {}

/// A violation found during a run: the instant and the event after which it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckFailure {
    /// Simulated time (ns) of the event.
    pub time: u64,
    /// The event that was just handled (and the dirty CPUs visited after it).
    pub event: String,
    pub violation: Violation,
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at {} ns, after {}: {}",
            self.time, self.event, self.violation
        )
    }
}

impl std::error::Error for CheckFailure {}

/// Checks every stateless invariant of the kernel state.
pub fn verify(s: &Sched) -> Result<(), Violation> {
    core::verify(s)?;
    fair::verify(s)?;
    bandwidth::verify(s)?;
    rt::verify(s)?;
    dl::verify(s)?;
    Ok(())
}

/// The checker's state across events.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    last_now: u64,
    checks: u64,
    dl_budgets: dl::Budgets,
}

impl Checker {
    pub fn new() -> Checker {
        Checker::default()
    }

    /// How many times the state was verified.
    pub fn checks(&self) -> u64 {
        self.checks
    }

    /// Time never goes backwards, then every stateless invariant, then those that need
    /// the previous check's state (deadline runtime across parameter changes).
    pub fn check(&mut self, s: &Sched) -> Result<(), Violation> {
        self.checks += 1;
        if s.now < self.last_now {
            return Err(Violation {
                rule: TIME_BACKWARDS,
                cpu: None,
                task: None,
                detail: format!("now {} after {}", s.now, self.last_now),
            });
        }
        self.last_now = s.now;
        verify(s)?;
        self.dl_budgets.check(s)
    }
}

/// `comm[pid]` of a task.
pub fn task_name(s: &Sched, p: TaskId) -> String {
    let t = s.task(p);
    format!("{}[{}]", t.comm, t.pid)
}

/// A violation on `cpu`, with the rq's state appended to the detail.
pub(crate) fn violation(
    s: &Sched,
    rule: &'static str,
    cpu: Option<u32>,
    task: Option<TaskId>,
    what: String,
) -> Violation {
    let mut detail = what;
    if let Some(c) = cpu.filter(|&c| c < s.nr_cpus()) {
        detail.push('\n');
        detail.push_str(&rq_state(s, c));
    }
    Violation {
        rule,
        cpu,
        task: task.map(|p| task_name(s, p)),
        detail,
    }
}

/// The number of tasks a class says it has queued on `cpu` (its share of `nr_running`),
/// or None while the class keeps no such count the checker knows how to read. A new class
/// plugs its counter in here (rt: `rt.rt_nr_running`; dl: the tasks in the dl_rq tree,
/// which is `dl_nr_running` less the fair server).
pub fn class_nr_queued(s: &Sched, cpu: u32, c: ClassId) -> Option<u32> {
    #[allow(unreachable_patterns)]
    match c {
        ClassId::Fair => Some(s.fair.cfs(s.rq(cpu).cfs).h_nr_queued),
        ClassId::Rt => Some(s.rq(cpu).rt.rt_nr_running),
        ClassId::Ext => Some(s.rq(cpu).scx.nr_running),
        ClassId::Dl => Some(s.rq(cpu).dl.nr_tasks()),
        ClassId::Idle => Some(0),
        ClassId::Stop => {
            Some(u32::from(s.rq(cpu).stop.is_some_and(|p| {
                s.task(p).on_rq == crate::task::OnRq::Queued
            })))
        }
        _ => None,
    }
}

/// Most entities listed in a dump.
const DUMP_MAX: usize = 24;

/// The state of one rq: counters, curr, and the root cfs_rq with its entities.
pub fn rq_state(s: &Sched, cpu: u32) -> String {
    use std::fmt::Write;
    let rq = s.rq(cpu);
    let mut o = String::new();
    let _ = write!(
        o,
        "  rq[{cpu}]: now={} clock={} clock_task={} nr_running={} curr={} need_resched={} lazy={} ttwu_pending={}",
        s.now,
        rq.clock,
        rq.clock_task,
        rq.nr_running,
        task_name(s, rq.curr),
        rq.need_resched,
        rq.need_resched_lazy,
        rq.ttwu_pending
    );
    let others: Vec<String> = s
        .tasks
        .iter()
        .filter(|t| t.cpu == cpu && t.on_rq != crate::task::OnRq::No && t.class != ClassId::Fair)
        .map(|t| {
            format!(
                "{:?} {}[{}] prio={} state={:#x} on_rq={:?} on_cpu={}",
                t.class, t.comm, t.pid, t.prio, t.state, t.on_rq, t.on_cpu
            )
        })
        .collect();
    if !others.is_empty() {
        let _ = write!(o, "\n  queued in other classes: {}", others.join("; "));
    }
    let c = rq.cfs;
    let cfs = s.fair.cfs(c);
    let _ = write!(
        o,
        "\n  cfs_rq[{}]: nr_queued={} h_nr_queued={} h_nr_runnable={} h_nr_idle={} load={} avg_vruntime={} avg_load={} zero_vruntime={} curr={:?} next={:?} tree={}",
        c.0,
        cfs.nr_queued,
        cfs.h_nr_queued,
        cfs.h_nr_runnable,
        cfs.h_nr_idle,
        cfs.load_weight,
        cfs.avg_vruntime,
        cfs.avg_load,
        cfs.zero_vruntime as i64,
        cfs.curr.map(|x| x.0),
        cfs.next.map(|x| x.0),
        cfs.timeline.len()
    );
    let mut ents: Vec<(&str, crate::class::fair::entity::SeId)> = Vec::new();
    if let Some(cs) = cfs.curr {
        ents.push(("curr", cs));
    }
    for se in cfs.timeline.in_order(&s.fair.se) {
        ents.push(("tree", se));
    }
    for (i, (wh, se)) in ents.iter().enumerate() {
        if i == DUMP_MAX {
            let _ = write!(o, "\n    ... {} more", ents.len() - DUMP_MAX);
            break;
        }
        let e = s.fair.se(*se);
        let name = e
            .task
            .map(|p| task_name(s, p))
            .unwrap_or_else(|| "group".into());
        let key = e.vruntime.wrapping_sub(cfs.zero_vruntime) as i64;
        let dl = e.deadline.wrapping_sub(cfs.zero_vruntime) as i64;
        let _ = write!(
            o,
            "\n    {wh} se[{}] {name}: v-v0={key} d-v0={dl} w={} slice={} vlag={} on_rq={} delayed={} min_v-v0={} min_slice={}",
            se.0,
            e.load.weight,
            e.slice,
            e.vlag,
            e.on_rq,
            e.sched_delayed,
            e.min_vruntime.wrapping_sub(cfs.zero_vruntime) as i64,
            e.min_slice
        );
        if let Some(p) = e.task {
            let t = s.task(p);
            let _ = write!(
                o,
                " state={:#x} on_rq={:?} on_cpu={} cpu={}",
                t.state, t.on_rq, t.on_cpu, t.cpu
            );
        }
    }
    o
}
