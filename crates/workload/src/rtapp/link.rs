//! Whole-file checks and facts that need every task: fork targets, barrier party counts,
//! timer modes, which `suspend`/`resume` names are plain task names, and the rules that make
//! a workload refuse to start (or block forever) under rt-app.

use std::collections::{HashMap, HashSet};

use super::cx::{Cx, Res};
use super::parse::{EventDef, EventKind, TaskDef};
use crate::model::Policy;

/// rt-app's `max_nbr_tgs`.
const MAX_TASKGROUPS: usize = 32;

/// A timer resource: shared by name, or (`unique...` refs) one per thread of a task.
pub(crate) type TimerKey = (Option<usize>, String);

pub(crate) fn timer_key(task: usize, reference: &str) -> TimerKey {
    // rt-app: a ref starting with "unique" lives in the thread's local resources.
    if reference.starts_with("unique") {
        (Some(task), reference.to_string())
    } else {
        (None, reference.to_string())
    }
}

/// Facts about the whole file the program builder needs.
pub(crate) struct Facts {
    pub task_index: HashMap<String, usize>,
    /// Barrier name -> parties, counted as rt-app does.
    pub barrier_parties: HashMap<String, u32>,
    /// rt-app keeps the timer mode on the timer resource: one `absolute` reference makes
    /// every use of that timer absolute.
    pub timer_absolute: HashMap<TimerKey, bool>,
    /// `suspend`/`resume` names that map to `Step::Suspend` / `Step::Resume(task)`.
    pub suspend_by_task: HashSet<String>,
    /// Some task has a taskgroup: rt-app then moves every thread back to `/` before it exits.
    pub any_taskgroup: bool,
}

fn events(tasks: &[TaskDef]) -> impl Iterator<Item = (usize, &EventDef)> {
    tasks.iter().enumerate().flat_map(|(ti, t)| {
        t.phases
            .iter()
            .flat_map(move |p| p.events.iter().map(move |e| (ti, e)))
    })
}

pub(crate) fn link(cx: &Cx, tasks: &[TaskDef], default_policy: Policy) -> Res<Facts> {
    let task_index: HashMap<String, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();

    check_taskgroups(cx, tasks, default_policy)?;

    let mut signalled: HashSet<&str> = HashSet::new(); // conds that signal/broad/sync/resume name
    let mut cond_users: HashSet<&str> = HashSet::new(); // names used as plain condition variables
    let mut mutex_users: HashSet<&str> = HashSet::new(); // names used as plain mutexes
    let mut resumed: HashSet<&str> = HashSet::new();
    let mut posted: HashSet<&str> = HashSet::new();
    let mut suspenders: HashMap<&str, HashSet<usize>> = HashMap::new();
    let mut fork_targets: HashSet<usize> = HashSet::new();
    let mut barrier_parties: HashMap<String, u32> = HashMap::new();
    let mut timer_absolute: HashMap<TimerKey, bool> = HashMap::new();

    for (ti, e) in events(tasks) {
        match &e.kind {
            EventKind::Signal(c) | EventKind::Broad(c) => {
                signalled.insert(c);
                cond_users.insert(c);
            }
            EventKind::Sync { cond, mutex } => {
                signalled.insert(cond);
                cond_users.insert(cond);
                mutex_users.extend(mutex.as_deref());
            }
            EventKind::Wait { cond, mutex } => {
                cond_users.insert(cond);
                mutex_users.extend(mutex.as_deref());
            }
            EventKind::Lock(m) | EventKind::Unlock(m) => {
                mutex_users.insert(m);
            }
            EventKind::Resume(x) => {
                resumed.insert(x);
                signalled.insert(x);
            }
            EventKind::Suspend(x) => {
                suspenders.entry(x.as_str()).or_default().insert(ti);
            }
            EventKind::SemPost(s) => {
                posted.insert(s);
            }
            EventKind::Fork(name) => match task_index.get(name) {
                Some(&i) => {
                    fork_targets.insert(i);
                }
                None => {
                    return Err(cx
                        .err(e.loc, &e.path, format!("fork of unknown task `{name}` (rt-app: \"Can't fork unknown task {name}\")"))
                        .with_hint("the value of `fork` must be the name of a task in `tasks` (often one with \"instance\": 0)"))
                }
            },
            EventKind::Barrier(b) => {
                // rt-app adds the task's instance count for every barrier event that names
                // the barrier (rt-app_parse_config.c: `waiting += num_instances`).
                *barrier_parties.entry(b.clone()).or_insert(0) += tasks[ti].instances;
            }
            EventKind::Timer { reference, absolute, .. } => {
                *timer_absolute.entry(timer_key(ti, reference)).or_insert(false) |= *absolute;
            }
            _ => {}
        }
    }

    // Blocking on something nothing ever wakes: rt-app would start and hang until the end.
    for (_, e) in events(tasks) {
        let (what, name, ok, wakers) = match &e.kind {
            EventKind::Wait { cond, .. } => (
                "wait",
                cond,
                signalled.contains(cond.as_str()),
                "`signal`, `broad`, `sync` or `resume`",
            ),
            EventKind::Suspend(x) => ("suspend", x, signalled.contains(x.as_str()), "`resume`"),
            EventKind::SemWait(s) => ("sem_wait", s, posted.contains(s.as_str()), "`sem_post`"),
            _ => continue,
        };
        if !ok {
            let noun = match what {
                "sem_wait" => "semaphore",
                _ => "condition",
            };
            let waker_prefixes: &[&str] = match what {
                "sem_wait" => &["sem_post"],
                _ => &["signal", "broad", "sync", "resume"],
            };
            let shadowed = tasks.iter().flat_map(|t| &t.shadowed).find(|s| {
                waker_prefixes.contains(&s.prefix) && s.name.as_deref() == Some(name.as_str())
            });
            let hint = match shadowed {
                Some(s) => format!(
                    "`{}` naming `{name}` at {} is a repeated key in its object, and json-c (so rt-app) keeps only the \
                     last value of a repeated key; give repeated events distinct keys (`{p}1`, `{p}2`, ...) as rt-app's workgen does",
                    s.key, s.loc, p = s.prefix
                ),
                None => format!("add a {wakers} on `{name}` in another task, or check the spelling"),
            };
            return Err(cx
                .err(e.loc, &e.path, format!("`{what}` on {noun} `{name}` that no task wakes (no {wakers} names `{name}`): the thread would block forever"))
                .with_hint(hint));
        }
    }

    // Barriers count their parties at parse time; forked threads are not counted.
    for (ti, e) in events(tasks) {
        if let EventKind::Barrier(b) = &e.kind {
            if fork_targets.contains(&ti) {
                return Err(cx
                    .err(e.loc, &e.path, format!("barrier `{b}` in task `{}`, which is forked: barriers cannot be used with fork", tasks[ti].name))
                    .with_hint("rt-app counts a barrier's parties when it parses the file, so forked threads are never counted and the barrier would never open"));
            }
        }
    }

    // `resume X` / `suspend X` are a condition variable and a mutex named X in rt-app. When X
    // is a task, only that task suspends on X (the usual "suspend on my own name" pattern) and
    // nothing else uses X as a cond or a mutex, they are exactly Step::Suspend /
    // Step::Resume(X); otherwise they are lowered to rt-app's cond/mutex operations.
    let suspend_by_task = resumed
        .iter()
        .copied()
        .chain(suspenders.keys().copied())
        .filter(|x| {
            let Some(&i) = task_index.get(*x) else {
                return false;
            };
            let only_self = suspenders.get(x).into_iter().flatten().all(|&t| t == i);
            only_self && !cond_users.contains(x) && !mutex_users.contains(x)
        })
        .map(str::to_string)
        .collect();

    Ok(Facts {
        task_index,
        barrier_parties,
        timer_absolute,
        suspend_by_task,
        any_taskgroup: tasks
            .iter()
            .any(|t| t.taskgroup.is_some() || t.phases.iter().any(|p| p.taskgroup.is_some())),
    })
}

/// rt-app's taskgroup rules: at most 32 groups, and a thread in a taskgroup must use a fair
/// policy (`check_taskgroup_policy_dep`, walked over the phases in order).
fn check_taskgroups(cx: &Cx, tasks: &[TaskDef], default_policy: Policy) -> Res<()> {
    let mut groups: Vec<&str> = Vec::new();
    for t in tasks {
        let mut policy = t.sched.policy.map_or(default_policy, |a| a.v);
        let mut tg = t
            .taskgroup
            .as_ref()
            .map(|g| (g, super::json::join_path(&t.path, "taskgroup")));
        for tg in t
            .taskgroup
            .iter()
            .chain(t.phases.iter().flat_map(|p| p.taskgroup.iter()))
        {
            if !groups.contains(&tg.v.as_str()) {
                groups.push(&tg.v);
                if groups.len() > MAX_TASKGROUPS {
                    return Err(cx.err(tg.loc, &t.path, format!("more than {MAX_TASKGROUPS} taskgroups (rt-app: \"# taskgroups exceeds max # taskgroups [{MAX_TASKGROUPS}]\")")));
                }
            }
        }
        for p in &t.phases {
            if let Some(pol) = p.sched.as_ref().and_then(|s| s.policy) {
                policy = pol.v;
            }
            if let Some(g) = &p.taskgroup {
                tg = Some((g, super::json::join_path(&p.path, "taskgroup")));
            }
            if let Some((g, tg_path)) = &tg {
                if !matches!(policy, Policy::Normal | Policy::Batch | Policy::Idle) {
                    return Err(cx
                        .err(g.loc, tg_path, format!("no taskgroup support for policy {} (rt-app's rule: a thread in a taskgroup must be SCHED_OTHER, SCHED_BATCH or SCHED_IDLE)", policy.name()))
                        .with_hint(format!("taskgroup `{}`", g.v)));
                }
            }
        }
    }
    Ok(())
}
