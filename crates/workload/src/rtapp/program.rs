//! Turn each task into the behaviour program its threads run, in rt-app's order
//! (`thread_body` in rt-app.c):
//!
//! ```text
//! Marker {rtapp_thread_start}              set-up, then the start barrier (start.rs)
//! Marker {rtapp_output}                    "[i] starting thread ..." (output.rs)
//! [Marker rtapp_task: event=start]         ftrace "task"
//! [Marker t_first] [Sleep delay]           rt-app: absolute from t_zero; relative here
//!                                          (the marker only if the thread uses a timer)
//! Marker {rtapp_output}                    "[i] Starting with <policy> policy ..."
//! [SetAttr thread policy]                  only if not SCHED_OTHER nice 0
//! [{rtapp_output} Mlockall]                lock_pages, for an RT or DL thread
//! [SetCgroup thread taskgroup]
//! Loop(thread loop) {
//!   per phase: [SetAffinity] [SetAttr] [SetCgroup]   when the phase changes them
//!   Loop(phase loop) { [Marker loop start] [stats begin] ([Marker event] event)*
//!                      [Marker loop end] [Marker rtapp_stats] }
//! }
//! Marker {rtapp_thread_end}               where a thread goes at rt-app's shutdown (end.rs)
//! [SetAttr SCHED_OTHER] [SetCgroup /] [Marker rtapp_task: event=end]
//!   {rtapp_output} ("[i] Exiting.") Exit    reached when the loops end, or at the shutdown
//! ```
//!
//! rt-app re-applies affinity, policy and taskgroup at every phase iteration but only makes
//! a system call when the value differs from the current one; the values are known
//! statically, so we emit a step only where rt-app would make the call (in the first pass
//! through the phases or in a later one), once per phase rather than per phase iteration.

use std::collections::HashMap;

use super::cost;
use super::cx::{Cx, Res};
use super::end;
use super::global::Global;
use super::link::{timer_key, Facts, TimerKey};
use super::origin;
use super::parse::{EventDef, EventKind, PhaseDef, TaskDef};
use super::sched::{phase_attr, thread_attr, uclamp_refused};
use super::stats;
use crate::model::*;

/// Name -> index tables, filled in order of first use (so in file order).
#[derive(Default)]
struct Names {
    list: Vec<String>,
    map: HashMap<String, usize>,
}

impl Names {
    fn index(&mut self, name: &str) -> usize {
        if let Some(&i) = self.map.get(name) {
            return i;
        }
        self.list.push(name.to_string());
        self.map.insert(name.to_string(), self.list.len() - 1);
        self.list.len() - 1
    }
}

/// Builds every program and the declarations they refer to.
pub(crate) struct Builder<'a> {
    cx: Cx<'a>,
    g: &'a Global,
    tasks: &'a [TaskDef],
    facts: &'a Facts,
    mutexes: Names,
    conds: Names,
    sems: Names,
    barriers: Names,
    timers: Names,
    timer_shared: Vec<bool>,
    timer_index: HashMap<TimerKey, usize>,
}

/// What rt-app tracks as "current" while it walks the phases.
#[derive(Clone, PartialEq)]
struct State {
    attr: SchedAttr,
    affinity: Option<Vec<u32>>,
    cgroup: Option<String>,
}

impl<'a> Builder<'a> {
    pub fn new(cx: Cx<'a>, g: &'a Global, tasks: &'a [TaskDef], facts: &'a Facts) -> Self {
        Builder {
            cx,
            g,
            tasks,
            facts,
            mutexes: Names::default(),
            conds: Names::default(),
            sems: Names::default(),
            barriers: Names::default(),
            timers: Names::default(),
            timer_shared: Vec::new(),
            timer_index: HashMap::new(),
        }
    }

    /// Build the whole workload.
    pub fn finish(mut self) -> Res<Workload> {
        let mut specs = Vec::with_capacity(self.tasks.len());
        for ti in 0..self.tasks.len() {
            let t = &self.tasks[ti];
            specs.push(TaskSpec {
                name: t.name.clone(),
                count: t.instances,
                // rt-app creates every thread SCHED_OTHER nice 0, unpinned, in its own cgroup;
                // the program applies the rest after the start barrier.
                attr: SchedAttr::default(),
                affinity: None,
                cgroup: None,
                session: None,
                start_delay: 0,
                program: self.program(ti)?,
                naming: Naming::RtApp,
                loc: t.loc,
            });
        }
        let pi = self.g.pi_enabled;
        let parties = &self.facts.barrier_parties;
        let tasks = self.tasks;
        let mut w = Workload {
            source: self.cx.file.to_string(),
            duration: self.g.duration,
            tasks: specs,
            sems: self
                .sems
                .list
                .into_iter()
                .map(|name| SyncDecl { name, initial: 0 })
                .collect(),
            conds: self
                .conds
                .list
                .into_iter()
                .map(|name| SyncDecl { name, initial: 0 })
                .collect(),
            mutexes: self
                .mutexes
                .list
                .into_iter()
                .map(|name| MutexDecl { name, pi })
                .collect(),
            barriers: self
                .barriers
                .list
                .into_iter()
                .map(|name| BarrierDecl {
                    parties: parties.get(&name).copied().unwrap_or(0),
                    name,
                })
                .collect(),
            timers: self
                .timers
                .list
                .into_iter()
                .zip(self.timer_shared)
                .map(|(name, shared)| TimerDecl { name, shared })
                .collect(),
            sysctls: Vec::new(),
            cgroups: Vec::new(),
            cgroup_files: Vec::new(),
            // rt-app has no sessions: every thread is in rt-app's own.
            sessions: Vec::new(),
            launcher_comm: "rt-app".to_string(),
            ftrace_markers: self.g.markers,
            calibration_ns: self.g.calibration_ns,
            launcher_output: super::output::launcher(self.g),
        };
        // rt-app creates its taskgroups (`cgroup_mkdir` in rt-app_taskgroups.c) in the order
        // it meets them: each task's own, then its phases'.
        for t in tasks {
            for g in t
                .taskgroup
                .iter()
                .chain(t.phases.iter().flat_map(|p| p.taskgroup.iter()))
            {
                w.declare_cgroup(&g.v, g.loc);
            }
        }
        Ok(w)
    }

    fn program(&mut self, ti: usize) -> Res<Vec<Step>> {
        let t = &self.tasks[ti];
        let m = self.g.markers;
        // The thread's set-up and, for the threads created at start, rt-app's barrier.
        let output = || Step::Marker(super::output::MARKER.into());
        let mut prog = vec![Step::Marker(super::start::MARKER.into()), output()];
        if m.task {
            prog.push(Step::Marker("rtapp_task: event=start".into()));
        }
        if t.delay_us > 0 {
            let mut events = t.phases.iter().flat_map(|p| &p.events);
            if events.any(|e| matches!(e.kind, EventKind::Timer { .. })) {
                // rt-app's `t_first = t_zero + delay`: the origin of the thread's timers.
                prog.push(Step::Marker(origin::marker(t.delay_us * 1000)));
            }
            prog.push(Step::Sleep(Dur::Fixed(t.delay_us * 1000)));
        }
        let attr0 = thread_attr(&self.cx, &t.sched, self.g.default_policy)?;
        uclamp_refused(&self.cx, &t.sched, attr0.policy)?;
        prog.push(output());
        if attr0 != SchedAttr::default() {
            prog.push(Step::SetAttr(attr0));
        }
        // lock_pages: `mlockall` once the thread has its policy, unless it is fair.
        if self.g.lock_pages && matches!(attr0.policy, Policy::Fifo | Policy::Rr | Policy::Deadline)
        {
            prog.push(output());
            prog.push(Step::Mlockall);
        }
        if let Some(tg) = &t.taskgroup {
            prog.push(Step::SetCgroup(tg.v.clone()));
        }

        // The phase attributes, resolved once as rt-app does (a phase without `policy` takes
        // the policy current when it first runs, and keeps it).
        let start = State {
            attr: attr0,
            affinity: None,
            cgroup: t.taskgroup.as_ref().map(|g| g.v.clone()),
        };
        let mut attrs = Vec::with_capacity(t.phases.len());
        let mut s = start.clone();
        for p in &t.phases {
            let a = match &p.sched {
                Some(spec) => phase_attr(&self.cx, spec, &s.attr)?,
                None => None,
            };
            if let (Some(spec), Some(a)) = (&p.sched, a) {
                // Applied when the phase first runs (never, with a thread `loop` of 0).
                if t.loop_count != Some(0) {
                    uclamp_refused(&self.cx, spec, a.policy)?;
                }
            }
            attrs.push(a);
            apply(&mut s, t, p, a);
        }
        let end_of_pass = s.clone();
        // States before each phase in the first pass and, if the list repeats, in later ones.
        let repeats = !matches!(t.loop_count, Some(0) | Some(1));
        let before1 = states_before(&start, t, &attrs);
        let before2 = if repeats {
            states_before(&end_of_pass, t, &attrs)
        } else {
            before1.clone()
        };

        let thread_looped = t.loop_count != Some(1);
        let thread_loop_txt = if thread_looped {
            "{loop0}".to_string()
        } else {
            "0".to_string()
        };
        let mut body = Vec::new();
        for (pi, p) in t.phases.iter().enumerate() {
            let (b1, b2) = (&before1[pi], &before2[pi]);
            let mut setup = Vec::new();
            let aff = p.cpus.clone().or_else(|| t.cpus.clone());
            setup.push((
                aff != b1.affinity,
                aff != b2.affinity,
                Step::SetAffinity(aff),
            ));
            if let Some(a) = attrs[pi] {
                setup.push((a != b1.attr, a != b2.attr, Step::SetAttr(a)));
            }
            if let Some(g) = &p.taskgroup {
                let (c1, c2) = (
                    b1.cgroup.as_ref() != Some(&g.v),
                    b2.cgroup.as_ref() != Some(&g.v),
                );
                setup.push((c1, c2, Step::SetCgroup(g.v.clone())));
            }
            for (first_pass, later, step) in setup {
                if pi == 0 && first_pass && !later {
                    // Needed only when the thread enters its first loop: before the loop
                    // (and not at all if the loop never runs).
                    if t.loop_count != Some(0) {
                        prog.push(step);
                    }
                } else if first_pass || later {
                    // Needed in some pass; in the others it repeats the current value, which
                    // the kernel (and the simulator) treat as a no-op.
                    body.push(step);
                }
            }
            let phase_loop_txt = match p.loop_count {
                Some(1) => "0".to_string(),
                _ => format!("{{loop{}}}", usize::from(thread_looped)),
            };
            let mut iter = Vec::new();
            if m.looping {
                iter.push(Step::Marker(format!(
                    "rtapp_loop: event=start thread_loop={thread_loop_txt} phase={pi} phase_loop={phase_loop_txt}"
                )));
            }
            if m.stats {
                let begin = if self.g.cumulative_slack {
                    stats::BEGIN_CUMULATIVE
                } else {
                    stats::BEGIN
                };
                iter.push(Step::Marker(begin.into()));
            }
            for (ei, e) in p.events.iter().enumerate() {
                if m.event {
                    iter.push(Step::Marker(event_marker(ei, e)));
                }
                if m.stats && is_work_not_run(&e.kind) {
                    iter.push(Step::Marker(stats::NOT_RUN.into()));
                }
                self.lower(ti, e, &mut iter)?;
            }
            if m.looping {
                iter.push(Step::Marker(format!(
                    "rtapp_loop: event=end thread_loop={thread_loop_txt} phase={pi} phase_loop={phase_loop_txt}"
                )));
            }
            if m.stats {
                let (c_period, c_run) = configured_sums(&p.events);
                iter.push(Step::Marker(stats::line(c_period, c_run)));
            }
            wrap(p.loop_count, iter, &mut body);
        }
        wrap(t.loop_count, body, &mut prog);

        // The end: after the loops if they are finite, and where the shutdown sends a
        // thread in any case (its attributes then are taken as the last phase's).
        prog.push(Step::Marker(end::MARKER.into()));
        let last = if t.loop_count == Some(0) {
            &start
        } else {
            &end_of_pass
        };
        // pthread_setschedparam(SCHED_OTHER, 0): the kernel keeps the nice value and a
        // fair custom slice (sched_setscheduler passes both along).
        let fair = matches!(last.attr.policy, Policy::Normal | Policy::Batch);
        let reset = SchedAttr {
            policy: Policy::Normal,
            nice: last.attr.nice,
            runtime: if fair { last.attr.runtime } else { 0 },
            ..SchedAttr::default()
        };
        if reset != last.attr {
            prog.push(Step::SetAttr(reset));
        }
        if self.facts.any_taskgroup {
            prog.push(Step::SetCgroup("/".into()));
        }
        if m.task {
            prog.push(Step::Marker("rtapp_task: event=end".into()));
        }
        prog.push(output());
        prog.push(Step::Exit);
        Ok(prog)
    }

    /// The steps of one event.
    fn lower(&mut self, ti: usize, e: &EventDef, out: &mut Vec<Step>) -> Res<()> {
        let us = |n: u64| Dur::Fixed(n * 1000);
        let step = match &e.kind {
            EventKind::Run(n) => Step::Run(us(*n)),
            EventKind::RunTime(n) => Step::RunWall(us(*n)),
            EventKind::Sleep(n) => Step::Sleep(us(*n)),
            EventKind::Timer {
                reference, period, ..
            } => {
                let key = timer_key(ti, reference);
                let absolute = self
                    .facts
                    .timer_absolute
                    .get(&key)
                    .copied()
                    .unwrap_or(false);
                Step::Timer {
                    timer: self.timer(ti, key),
                    period: period * 1000,
                    absolute,
                }
            }
            EventKind::Lock(m) => Step::Lock(self.mutexes.index(m)),
            EventKind::Unlock(m) => Step::Unlock(self.mutexes.index(m)),
            EventKind::Wait { cond, mutex } => Step::CondWait {
                cond: self.conds.index(cond),
                mutex: mutex.as_deref().map(|m| self.mutexes.index(m)),
            },
            EventKind::Sync { cond, mutex } => Step::CondSync {
                cond: self.conds.index(cond),
                mutex: mutex.as_deref().map(|m| self.mutexes.index(m)),
            },
            EventKind::Signal(c) => Step::CondSignal(self.conds.index(c)),
            EventKind::Broad(c) => Step::CondBroadcast(self.conds.index(c)),
            EventKind::Barrier(b) => Step::Barrier(self.barriers.index(b)),
            EventKind::Suspend(x) if self.facts.suspend_by_task.contains(x) => Step::Suspend,
            EventKind::Resume(x) if self.facts.suspend_by_task.contains(x) => {
                Step::Resume(self.facts.task_index[x])
            }
            // rt-app's suspend/resume on a name that is not simply "my own task": a condition
            // variable and a mutex of that name, exactly as rt-app.c does it.
            EventKind::Suspend(x) | EventKind::Resume(x) => {
                let (c, m) = (self.conds.index(x), self.mutexes.index(x));
                out.push(Step::Lock(m));
                out.push(match &e.kind {
                    EventKind::Suspend(_) => Step::CondWait {
                        cond: c,
                        mutex: Some(m),
                    },
                    _ => Step::CondBroadcast(c),
                });
                Step::Unlock(m)
            }
            EventKind::SemPost(s) => Step::SemPost(self.sems.index(s)),
            EventKind::SemWait(s) => Step::SemWait(self.sems.index(s)),
            EventKind::Yield => Step::Yield,
            EventKind::Fork(name) => Step::Fork(self.facts.task_index[name]),
            EventKind::Mem(bytes) => {
                self.buffer_size(e)?;
                Step::Run(Dur::Fixed(cost::mem_ns(*bytes)))
            }
            EventKind::IoRun(bytes) => {
                let buf = self.buffer_size(e)?;
                Step::Run(Dur::Fixed(cost::iorun_ns(*bytes, buf, &self.g.io_device)))
            }
            EventKind::MemRun {
                size,
                count,
                stride,
                access,
            } => Step::Run(Dur::Fixed(cost::memrun_ns(*size, *count, *stride, *access))),
        };
        out.push(step);
        Ok(())
    }

    /// `mem`/`iorun` work through the per-thread buffer; rt-app loops forever on an empty one.
    fn buffer_size(&self, e: &EventDef) -> Res<u64> {
        self.g.mem_buffer_size.ok_or_else(|| {
            self.cx.err(
                self.g.mem_buffer_size_loc,
                "global.mem_buffer_size",
                format!(
                    "`{}` needs a positive mem_buffer_size (rt-app would loop forever)",
                    e.key
                ),
            )
        })
    }

    fn timer(&mut self, ti: usize, key: TimerKey) -> usize {
        if let Some(&i) = self.timer_index.get(&key) {
            return i;
        }
        let shared = key.0.is_none();
        // Unique timers: one declaration per task, instantiated once per thread.
        let name = if shared {
            key.1.clone()
        } else {
            format!("{}:{}", self.tasks[ti].name, key.1)
        };
        let i = self.timers.index(&name);
        if i == self.timer_shared.len() {
            self.timer_shared.push(shared);
        }
        self.timer_index.insert(key, i);
        i
    }
}

/// Apply a phase's changes to the current state, as rt-app does when the phase starts.
fn apply(s: &mut State, t: &TaskDef, p: &PhaseDef, attr: Option<SchedAttr>) {
    // Affinity: the phase's cpus, else the task's, else the thread's initial (all CPUs).
    s.affinity = p.cpus.clone().or_else(|| t.cpus.clone());
    if let Some(a) = attr {
        s.attr = a;
    }
    if let Some(g) = &p.taskgroup {
        s.cgroup = Some(g.v.clone());
    }
}

fn states_before(start: &State, t: &TaskDef, attrs: &[Option<SchedAttr>]) -> Vec<State> {
    let mut s = start.clone();
    let mut out = Vec::with_capacity(t.phases.len());
    for (p, a) in t.phases.iter().zip(attrs) {
        out.push(s.clone());
        apply(&mut s, t, p, *a);
    }
    out
}

/// Repeat `body` `count` times: inline once, or as a `Step::Loop`.
fn wrap(count: Option<u64>, body: Vec<Step>, out: &mut Vec<Step>) {
    match count {
        Some(0) => {}
        Some(1) => out.extend(body),
        n => out.push(Step::Loop { count: n, body }),
    }
}

/// `mem`, `iorun` and `memrun` become CPU work (`Step::Run`) but are not `run` events for
/// rt-app's statistics.
fn is_work_not_run(k: &EventKind) -> bool {
    matches!(
        k,
        EventKind::Mem(_) | EventKind::IoRun(_) | EventKind::MemRun { .. }
    )
}

/// rt-app's `c_period` and `c_run` of one iteration of a phase (µs): the configured periods
/// of its timers and durations of its `run`/`runtime` events (`run_event` adds them up).
fn configured_sums(events: &[EventDef]) -> (u64, u64) {
    events.iter().fold((0, 0), |(per, run), e| match e.kind {
        EventKind::Timer { period, .. } => (per + period, run),
        EventKind::Run(n) | EventKind::RunTime(n) => (per, run + n),
        _ => (per, run),
    })
}

/// rt-app's per-event marker: `rtapp_event: id=<index in phase> type=<resource_t> desc=<name>`.
/// Type numbers follow rt-app's `resource_t`; those of events newer than the enum we could
/// read (sem_*, memrun) are our own continuation of it (see docs/rt-app.md).
fn event_marker(id: usize, e: &EventDef) -> String {
    let k = &e.key;
    let (ty, desc) = match &e.kind {
        EventKind::Wait { cond, mutex } => (
            2,
            format!("{k}:{cond}:{}", mutex.as_deref().unwrap_or("unknown")),
        ),
        EventKind::Signal(c) => (3, format!("{k}:{c}")),
        EventKind::Broad(c) => (4, format!("{k}:{c}")),
        EventKind::Sleep(_) => (5, k.clone()),
        EventKind::Run(_) => (6, k.clone()),
        EventKind::Sync { cond, mutex } => (
            7,
            format!("{k}:{cond}:{}", mutex.as_deref().unwrap_or("unknown")),
        ),
        EventKind::Lock(m) => (8, format!("{k}:{m}")),
        EventKind::Unlock(m) => (9, format!("{k}:{m}")),
        EventKind::Timer { reference, .. } => (10, format!("{k}:{reference}")),
        EventKind::Suspend(x) => (11, format!("{k}:{x}:{x}")),
        EventKind::Resume(x) => (12, format!("{k}:{x}:{x}")),
        EventKind::Mem(_) => (13, k.clone()),
        EventKind::IoRun(_) => (14, k.clone()),
        EventKind::RunTime(_) => (15, k.clone()),
        EventKind::Yield => (16, k.clone()),
        EventKind::Barrier(b) => (17, format!("{k}:{b}")),
        EventKind::Fork(f) => (18, format!("{k}:{f}")),
        EventKind::SemPost(s) => (19, format!("{k}:{s}")),
        EventKind::SemWait(s) => (20, format!("{k}:{s}")),
        EventKind::MemRun { .. } => (21, k.clone()),
    };
    format!("rtapp_event: id={id} type={ty} desc={desc}")
}
