//! `tasks`: thread objects, phases and events, read into a small intermediate form that still
//! uses names (resolved to indices later, once every task is known).
//!
//! Follows rt-app's `parse_task_data` / `parse_task_phase_data` / `parse_task_event_data`:
//! events are recognised by key *prefix*, in rt-app's order (`runtime` before `run`, `memrun`
//! before `mem`), and run in the order the keys appear. Keys that are neither events nor known
//! attributes are refused (rt-app silently ignores them, which turns a typo into a different
//! workload).

use super::cost::Access;
use super::cx::{Cx, Res};
use super::json::{join_path, Json, Kind};
use super::sched::{At, SchedSpec};
use crate::model::Loc;

/// A task (thread object): `instances` identical threads.
#[derive(Clone, Debug)]
pub(crate) struct TaskDef {
    pub name: String,
    pub loc: Loc,
    pub path: String,
    pub instances: u32,
    /// Times the phase list runs: `None` = forever, `Some(0)` = never.
    pub loop_count: Option<u64>,
    pub delay_us: u64,
    pub sched: SchedSpec,
    pub cpus: Option<Vec<u32>>,
    pub taskgroup: Option<At<String>>,
    pub phases: Vec<PhaseDef>,
    /// Events json-c drops because the same key appears again later in the object.
    pub shadowed: Vec<Shadowed>,
}

/// An event hidden by a later duplicate key (json-c keeps the last value only). Kept to
/// explain errors such as "nothing ever resumes X" that the collapse causes.
#[derive(Clone, Debug)]
pub(crate) struct Shadowed {
    pub key: String,
    pub prefix: &'static str,
    pub loc: Loc,
    /// The resource it names (string value, or `ref` of an object value).
    pub name: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct PhaseDef {
    pub path: String,
    /// Iterations of the phase before the next one: `None` = forever.
    pub loop_count: Option<u64>,
    pub cpus: Option<Vec<u32>>,
    /// `None` for a thread without `phases` (rt-app drops the phase's copy of the thread's
    /// scheduling keys) or a phase that sets none.
    pub sched: Option<SchedSpec>,
    pub taskgroup: Option<At<String>>,
    pub events: Vec<EventDef>,
}

#[derive(Clone, Debug)]
pub(crate) struct EventDef {
    /// The key as written (`run0`, `timer`, ...).
    pub key: String,
    pub loc: Loc,
    pub path: String,
    pub kind: EventKind,
}

/// One event; names are still names, durations in microseconds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum EventKind {
    Run(u64),
    RunTime(u64),
    Sleep(u64),
    Timer {
        reference: String,
        period: u64,
        absolute: bool,
    },
    Lock(String),
    Unlock(String),
    Wait {
        cond: String,
        mutex: Option<String>,
    },
    Sync {
        cond: String,
        mutex: Option<String>,
    },
    Signal(String),
    Broad(String),
    Barrier(String),
    /// The condition name; an empty string was replaced by the task's own name (workgen's
    /// rule, and the only useful meaning).
    Suspend(String),
    Resume(String),
    SemPost(String),
    SemWait(String),
    Yield,
    Fork(String),
    Mem(u64),
    IoRun(u64),
    MemRun {
        size: u64,
        count: u64,
        stride: u64,
        access: Access,
    },
}

/// Event names by prefix, in the order rt-app tests them. `runtime` must come before `run`
/// and `memrun` before `mem`, since the shorter name is a prefix of the longer one.
const EVENT_PREFIXES: &[&str] = &[
    "runtime", "run", "sleep", "memrun", "mem", "iorun", "lock", "unlock", "signal", "broad",
    "wait", "sync", "barrier", "timer", "resume", "suspend", "yield", "fork", "sem_post",
    "sem_wait",
];

/// The event a key names, by prefix (`"run2"` -> `"run"`, `"runtime_a"` -> `"runtime"`).
pub(crate) fn event_prefix(key: &str) -> Option<&'static str> {
    EVENT_PREFIXES.iter().copied().find(|p| key.starts_with(p))
}

const THREAD_KEYS: &str = "instance, loop, delay, phases, cpus, nodes_membind, policy, priority, \
     dl-runtime, dl-period, dl-deadline, runtime, period, deadline, util_min, util_max, taskgroup";
const PHASE_KEYS: &str = "loop, cpus, nodes_membind, policy, priority, dl-runtime, dl-period, \
     dl-deadline, util_min, util_max, taskgroup";
const EVENT_LIST: &str = "run, runtime, sleep, timer, lock, unlock, wait, signal, broad, sync, \
     barrier, suspend, resume, sem_post, sem_wait, yield, fork, mem, iorun, memrun";

pub(crate) fn parse_tasks(cx: &Cx, tasks: &Json, path: &str) -> Res<Vec<TaskDef>> {
    let tasks = cx.object(tasks, path)?;
    let entries = tasks.entries();
    if entries.is_empty() {
        return Err(cx.err(
            tasks.loc,
            path,
            "`tasks` is empty: rt-app would create no thread",
        ));
    }
    entries
        .iter()
        .map(|e| parse_task(cx, e.key, e.key_loc, e.value, &join_path(path, e.key)))
        .collect()
}

fn parse_task(cx: &Cx, name: &str, name_loc: Loc, obj: &Json, path: &str) -> Res<TaskDef> {
    let obj = cx.object(obj, path)?;
    let has_phases = obj.get("phases").is_some();
    let mut t = TaskDef {
        name: name.to_string(),
        loc: name_loc,
        path: path.to_string(),
        instances: 1,
        loop_count: None,
        delay_us: 0,
        sched: SchedSpec::new(name_loc, path),
        cpus: None,
        taskgroup: None,
        phases: Vec::new(),
        shadowed: Vec::new(),
    };
    let mut loop_raw: Option<i64> = None;
    let mut phases_obj: Option<(&Json, String)> = None;
    // Without `phases`, the thread object is also the only phase.
    let mut events = Vec::new();
    let mut unknown: Option<(String, Loc)> = None;

    for e in obj.entries() {
        let p = join_path(path, e.key);
        let v = e.value;
        match e.key {
            "instance" => {
                let n = cx.int(v, &p)?;
                t.instances = u32::try_from(n).map_err(|_| {
                    cx.err(v.loc, &p, format!("instance must not be negative (rt-app: \"Invalid num_instances value: {n}\")"))
                })?;
            }
            "loop" => loop_raw = Some(cx.int(v, &p)?),
            "delay" => t.delay_us = cx.uint(v, &p, "delay")?,
            "phases" => phases_obj = Some((cx.object(v, &p)?, p)),
            "cpus" => t.cpus = Some(parse_cpus(cx, v, &p)?),
            "nodes_membind" => check_nodes(cx, v, &p)?,
            "taskgroup" => t.taskgroup = parse_taskgroup(cx, v, &p)?,
            "runtime" => {
                // Legacy dl-runtime alias at thread level; without `phases` rt-app *also*
                // runs it as a `runtime` event (the key collision the grammar warns about).
                t.sched.set_legacy_runtime(cx, v, &p)?;
                if !has_phases {
                    events.push(parse_event(cx, e.key, e.key_loc, v, &p, name)?);
                }
            }
            k => {
                if t.sched.take(cx, k, v, path, true)? {
                    continue;
                }
                if event_prefix(k).is_some() {
                    if has_phases {
                        return Err(cx
                            .err(e.key_loc, &p, format!("event `{k}` directly in a thread that has `phases`: rt-app ignores it"))
                            .with_hint("move it into a phase"));
                    }
                    events.push(parse_event(cx, k, e.key_loc, v, &p, name)?);
                } else if unknown.is_none() {
                    unknown = Some((k.to_string(), e.key_loc));
                }
            }
        }
    }

    if let Some((obj, ppath)) = phases_obj {
        if let Some((k, loc)) = unknown {
            return Err(unknown_key(cx, &k, loc, path, true));
        }
        let entries = obj.entries();
        if entries.is_empty() {
            return Err(cx.err(
                obj.loc,
                &ppath,
                "`phases` is empty: a thread needs at least one phase",
            ));
        }
        for pe in entries {
            let pp = join_path(&ppath, pe.key);
            t.phases.push(parse_phase(cx, pe.value, &pp, name)?);
            t.shadowed.extend(shadowed_events(pe.value));
        }
        // Thread level `loop` with phases: times the phase list runs; default forever.
        t.loop_count = match loop_raw {
            None => None,
            Some(n) if n < 0 => None,
            Some(n) => Some(n as u64),
        };
    } else {
        if events.is_empty() {
            return Err(no_events(cx, obj.loc, path, unknown));
        }
        if let Some((k, loc)) = unknown {
            return Err(unknown_key(cx, &k, loc, path, true));
        }
        t.shadowed = shadowed_events(obj);
        // Without phases `loop` counts iterations of the single phase and the thread then
        // stops; without `loop` it runs forever (rt-app: thread loop 1 / -1, phase loop n / 1).
        t.loop_count = if loop_raw.is_some() { Some(1) } else { None };
        t.phases.push(PhaseDef {
            path: path.to_string(),
            loop_count: phase_loop(loop_raw.unwrap_or(1)),
            cpus: t.cpus.clone(),
            sched: None,
            taskgroup: t.taskgroup.clone(),
            events,
        });
    }
    Ok(t)
}

/// Event members of `obj` that a later member with the same key replaces.
fn shadowed_events(obj: &Json) -> Vec<Shadowed> {
    let members = obj.as_object().unwrap_or(&[]);
    members
        .iter()
        .enumerate()
        .filter(|(i, m)| members[i + 1..].iter().any(|n| n.key == m.key))
        .filter_map(|(_, m)| {
            Some(Shadowed {
                key: m.key.clone(),
                prefix: event_prefix(&m.key)?,
                loc: m.key_loc,
                name: m
                    .value
                    .as_str()
                    .or_else(|| m.value.get("ref").and_then(Json::as_str))
                    .map(str::to_string),
            })
        })
        .collect()
}

/// A phase `loop` (default 1). rt-app stops a phase when its counter, incremented after each
/// iteration, *equals* `loop`: 0 or a negative value therefore never stops.
fn phase_loop(n: i64) -> Option<u64> {
    (n > 0).then_some(n as u64)
}

fn parse_phase(cx: &Cx, obj: &Json, path: &str, task: &str) -> Res<PhaseDef> {
    let obj = cx.object(obj, path)?;
    let mut ph = PhaseDef {
        path: path.to_string(),
        loop_count: Some(1),
        cpus: None,
        sched: None,
        taskgroup: None,
        events: Vec::new(),
    };
    let mut sched = SchedSpec::new(obj.loc, path);
    let mut unknown = None;
    for e in obj.entries() {
        let p = join_path(path, e.key);
        let v = e.value;
        match e.key {
            "loop" => ph.loop_count = phase_loop(cx.int(v, &p)?),
            "cpus" => ph.cpus = Some(parse_cpus(cx, v, &p)?),
            "nodes_membind" => check_nodes(cx, v, &p)?,
            "taskgroup" => ph.taskgroup = parse_taskgroup(cx, v, &p)?,
            k => {
                if sched.take(cx, k, v, path, false)? {
                    continue;
                }
                if event_prefix(k).is_some() {
                    ph.events.push(parse_event(cx, k, e.key_loc, v, &p, task)?);
                } else if unknown.is_none() {
                    unknown = Some((k.to_string(), e.key_loc));
                }
            }
        }
    }
    if ph.events.is_empty() {
        return Err(no_events(cx, obj.loc, path, unknown));
    }
    if let Some((k, loc)) = unknown {
        return Err(unknown_key(cx, &k, loc, path, false));
    }
    ph.sched = Some(sched);
    Ok(ph)
}

fn no_events(
    cx: &Cx,
    loc: Loc,
    path: &str,
    unknown: Option<(String, Loc)>,
) -> crate::WorkloadError {
    let mut e = cx.err(
        loc,
        path,
        "no events found (rt-app: \"No events found. Task must have events or it's useless\")",
    );
    e = match unknown {
        Some((k, _)) if ["exec", "lock_order", "resources"].contains(&k.as_str()) => e.with_hint(format!(
            "`{k}` belongs to rt-app's old pre-1.0 grammar, which rt-app no longer reads; events: {EVENT_LIST}"
        )),
        _ => e.with_hint(format!("events (matched by prefix): {EVENT_LIST}")),
    };
    e
}

fn unknown_key(cx: &Cx, key: &str, loc: Loc, path: &str, thread: bool) -> crate::WorkloadError {
    let keys = if thread { THREAD_KEYS } else { PHASE_KEYS };
    let mut hint = format!(
        "not an event (events are matched by prefix: {EVENT_LIST}) nor a {} key ({keys}); rt-app would silently ignore it",
        if thread { "thread" } else { "phase" }
    );
    if !thread && (key == "period" || key == "deadline") {
        hint = format!("the legacy `{key}` alias is only read at thread level; use `dl-{key}`");
    }
    cx.err(loc, &join_path(path, key), format!("unknown key `{key}`"))
        .with_hint(hint)
}

/// `cpus`: an array of CPU numbers; rt-app builds a cpu_set_t from it.
fn parse_cpus(cx: &Cx, v: &Json, path: &str) -> Res<Vec<u32>> {
    let items = match &v.kind {
        Kind::Array(a) => a,
        _ => return Err(cx.type_err(v, path, "an array of CPU numbers")),
    };
    let mut cpus = Vec::with_capacity(items.len());
    for (i, c) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let n = cx.uint(c, &p, "a CPU number")?;
        cpus.push(u32::try_from(n).map_err(|_| cx.err(c.loc, &p, "CPU number too large"))?);
    }
    if cpus.is_empty() {
        return Err(cx.err(
            v.loc,
            path,
            "empty `cpus`: pthread_setaffinity_np refuses an empty set (EINVAL) and rt-app exits",
        ));
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// `nodes_membind`: NUMA binding; accepted and ignored (the simulated machine has one node).
fn check_nodes(cx: &Cx, v: &Json, path: &str) -> Res<()> {
    match &v.kind {
        Kind::Array(a) => {
            for (i, n) in a.iter().enumerate() {
                cx.uint(n, &format!("{path}[{i}]"), "a NUMA node number")?;
            }
            Ok(())
        }
        _ => Err(cx.type_err(v, path, "an array of NUMA node numbers")),
    }
}

/// `taskgroup`: a cgroup path starting with `/`; `""` means none (rt-app's rule).
fn parse_taskgroup(cx: &Cx, v: &Json, path: &str) -> Res<Option<At<String>>> {
    let s = cx.str(v, path)?;
    if s.is_empty() {
        return Ok(None);
    }
    if !s.starts_with('/') {
        return Err(cx.err(
            v.loc,
            path,
            format!("taskgroup \"{s}\" must start with `/` (rt-app: \"Taskgroup [{s}] has to start with [/]\")"),
        ));
    }
    Ok(Some(At {
        v: s.to_string(),
        loc: v.loc,
    }))
}

/// rt-app's message for an event whose value has the wrong type.
fn mismatch(cx: &Cx, v: &Json, path: &str, key: &str, expected: &str) -> crate::WorkloadError {
    let e = cx.err(
        v.loc,
        path,
        format!(
            "`{key}` expects {expected}, found {} (rt-app: \"Unknown or mismatch {key} event type\")",
            super::cx::describe(v)
        ),
    );
    if key == "lock_order" {
        // Debian's taskset.json and merge/ examples.
        return e.with_hint(
            "`lock_order` (with exec/period/resources) is rt-app's pre-1.0 grammar; current rt-app \
             matches it as a `lock` event by prefix and refuses it",
        );
    }
    e
}

fn parse_event(cx: &Cx, key: &str, loc: Loc, v: &Json, path: &str, task: &str) -> Res<EventDef> {
    let prefix = event_prefix(key).expect("caller checked the prefix");
    let int_us = || -> Res<u64> {
        match v.kind {
            Kind::Int(_) => cx.uint(v, path, key),
            _ => Err(mismatch(cx, v, path, key, "an integer (microseconds)")),
        }
    };
    let name = || -> Res<String> {
        match &v.kind {
            Kind::Str(s) => Ok(s.clone()),
            _ => Err(mismatch(cx, v, path, key, "a name (string)")),
        }
    };
    let kind = match prefix {
        "run" => EventKind::Run(int_us()?),
        "runtime" => EventKind::RunTime(int_us()?),
        "sleep" => EventKind::Sleep(int_us()?),
        "mem" | "iorun" => {
            let bytes = match v.kind {
                Kind::Int(_) => cx.uint(v, path, key)?,
                _ => return Err(mismatch(cx, v, path, key, "an integer (bytes)")),
            };
            if prefix == "mem" {
                EventKind::Mem(bytes)
            } else {
                EventKind::IoRun(bytes)
            }
        }
        "memrun" => parse_memrun(cx, v, path, key)?,
        "lock" => EventKind::Lock(name()?),
        "unlock" => EventKind::Unlock(name()?),
        "signal" => EventKind::Signal(name()?),
        "broad" => EventKind::Broad(name()?),
        "barrier" => EventKind::Barrier(name()?),
        "resume" => EventKind::Resume(name()?),
        "suspend" => {
            let n = name()?;
            EventKind::Suspend(if n.is_empty() { task.to_string() } else { n })
        }
        "sem_post" => EventKind::SemPost(name()?),
        "sem_wait" => EventKind::SemWait(name()?),
        "fork" => EventKind::Fork(name()?),
        // rt-app ignores the value ("String can be empty").
        "yield" => EventKind::Yield,
        "wait" | "sync" => {
            let (cond, mutex) = parse_cond_ref(cx, v, path, key)?;
            if prefix == "wait" {
                EventKind::Wait { cond, mutex }
            } else {
                EventKind::Sync { cond, mutex }
            }
        }
        "timer" => parse_timer(cx, v, path, key)?,
        _ => unreachable!("every prefix is handled"),
    };
    Ok(EventDef {
        key: key.to_string(),
        loc,
        path: path.to_string(),
        kind,
    })
}

/// Check the members of an event object against the keys it may have.
fn object_members<'a>(
    cx: &Cx,
    v: &'a Json,
    path: &str,
    key: &str,
    allowed: &[&str],
) -> Res<Vec<super::json::Entry<'a>>> {
    if v.as_object().is_none() {
        return Err(mismatch(
            cx,
            v,
            path,
            key,
            &format!("an object with {}", allowed.join(", ")),
        ));
    }
    let entries = v.entries();
    for e in &entries {
        if !allowed.contains(&e.key) {
            return Err(cx
                .err(
                    e.key_loc,
                    &join_path(path, e.key),
                    format!("unknown key `{}` in `{key}`", e.key),
                )
                .with_hint(format!("`{key}` takes: {}", allowed.join(", "))));
        }
    }
    Ok(entries)
}

/// `wait`/`sync`: `{"ref": cond, "mutex": m}`.
fn parse_cond_ref(cx: &Cx, v: &Json, path: &str, key: &str) -> Res<(String, Option<String>)> {
    let mut cond = None;
    let mut mutex = None;
    for e in object_members(cx, v, path, key, &["ref", "mutex"])? {
        let p = join_path(path, e.key);
        match e.key {
            "ref" => cond = Some(cx.str(e.value, &p)?.to_string()),
            _ => mutex = Some(cx.str(e.value, &p)?.to_string()),
        }
    }
    let cond = cond.ok_or_else(|| {
        cx.err(
            v.loc,
            &join_path(path, "ref"),
            format!("`{key}` without `ref` (the condition to wait on)"),
        )
    })?;
    Ok((cond, mutex))
}

/// `timer`: `{"ref": name, "period": us, "mode": "relative"|"absolute"}`.
fn parse_timer(cx: &Cx, v: &Json, path: &str, key: &str) -> Res<EventKind> {
    // rt-app's default ref when none is given.
    let mut reference = "unknown".to_string();
    let mut period = None;
    let mut absolute = false;
    for e in object_members(cx, v, path, key, &["ref", "period", "mode"])? {
        let p = join_path(path, e.key);
        match e.key {
            "ref" => reference = cx.str(e.value, &p)?.to_string(),
            "period" => period = Some(cx.uint(e.value, &p, "period")?),
            _ => {
                let m = cx.str(e.value, &p)?;
                // rt-app: strncmp(mode, "absolute", 8); anything else is relative.
                absolute = m.starts_with("absolute");
                if !absolute && m != "relative" {
                    return Err(cx
                        .err(e.value.loc, &p, format!("unknown timer mode \"{m}\""))
                        .with_hint("\"relative\" (default) or \"absolute\"; rt-app would silently use relative"));
                }
            }
        }
    }
    let period = period.ok_or_else(|| {
        cx.err(v.loc, &join_path(path, "period"), "timer without `period`")
            .with_hint("rt-app would use a period of 0, which makes the timer a no-op; give the period in microseconds")
    })?;
    Ok(EventKind::Timer {
        reference,
        period,
        absolute,
    })
}

/// `memrun`: `{"type", "size", "count", "stride", "pattern", "ref"}`.
fn parse_memrun(cx: &Cx, v: &Json, path: &str, key: &str) -> Res<EventKind> {
    let mut size = None;
    let mut count = 1;
    let mut stride = 64;
    let mut chase = false;
    let mut random = false;
    for e in object_members(
        cx,
        v,
        path,
        key,
        &["type", "size", "count", "stride", "pattern", "ref"],
    )? {
        let p = join_path(path, e.key);
        match e.key {
            "size" => size = Some(cx.uint(e.value, &p, "size")?),
            "count" => count = cx.uint(e.value, &p, "count")?,
            "stride" => {
                stride = cx.uint(e.value, &p, "stride")?;
                if stride == 0 {
                    return Err(cx.err(e.value.loc, &p, "stride must be at least 1"));
                }
            }
            "type" => match cx.str(e.value, &p)? {
                "read" | "write" => {}
                "chase" => chase = true,
                other => {
                    return Err(cx.err(
                        e.value.loc,
                        &p,
                        format!("unknown memrun type \"{other}\" (read, write or chase)"),
                    ))
                }
            },
            "pattern" => match cx.str(e.value, &p)? {
                "sequential" => {}
                "random" => random = true,
                other => {
                    return Err(cx.err(
                        e.value.loc,
                        &p,
                        format!("unknown memrun pattern \"{other}\" (sequential or random)"),
                    ))
                }
            },
            // A shared buffer: no cache model, so nothing to share.
            _ => {
                cx.str(e.value, &p)?;
            }
        }
    }
    let size = size.ok_or_else(|| {
        cx.err(
            v.loc,
            &join_path(path, "size"),
            "memrun without `size` (bytes)",
        )
    })?;
    let access = if chase {
        Access::Chase
    } else if random {
        Access::Random
    } else {
        Access::Sequential
    };
    Ok(EventKind::MemRun {
        size,
        count,
        stride,
        access,
    })
}
