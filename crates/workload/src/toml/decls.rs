//! Optional declarations of sync objects, for the few properties a step cannot say:
//! a semaphore's initial count, a mutex's priority inheritance, a barrier's party count.
//! Objects are otherwise declared by using them. Sessions likewise: a task naming one
//! declares it, and `[session.NAME]` only gives its autogroup a nice value.

use super::attr::NICE_RANGE;
use super::ctx::{get, join, Ctx, Res};
use super::names::Registry;
use super::tree::{Entry, Kind, Node};
use super::values;
use crate::model::{LauncherOutput, Markers};

/// Each `NAME = value` of a declaration table, with its name checked.
fn named<'n>(
    ctx: &Ctx,
    node: &'n Node,
    path: &str,
    example: &str,
) -> Res<Vec<(&'n Entry, String)>> {
    let t = ctx.want_table(node, path, &format!("a table of names, e.g. {example}"))?;
    t.iter()
        .map(|e| {
            let key = join(path, &e.key);
            values::check_name(&e.key).map_err(|m| {
                ctx.err(e.key_span.start, &key, m)
                    .with_hint(values::NAME_HINT)
            })?;
            Ok((e, key))
        })
        .collect()
}

/// `NAME = N` or `NAME = { field = N }`: the integer either way.
fn count_of(ctx: &Ctx, e: &Entry, key: &str, field: &str, lo: i64, what: &str) -> Res<u32> {
    let hi = i64::from(u32::MAX);
    match &e.value.kind {
        Kind::Table(t) => {
            ctx.check_keys(t, key, &[field])?;
            match get(t, field) {
                Some(f) => Ok(ctx.want_int(&f.value, &join(key, field), lo, hi, what)? as u32),
                None => Err(ctx
                    .err(e.value.span.start, key, format!("missing `{field}`"))
                    .with_hint(format!("write {} = {lo}", e.key))),
            }
        }
        _ => Ok(ctx.want_int(&e.value, key, lo, hi, what)? as u32),
    }
}

/// `[sem]`: `ping = 1` (initial count) or `[sem.ping] initial = 1`.
pub(crate) fn sems(ctx: &Ctx, reg: &mut Registry, node: &Node, path: &str) -> Res<()> {
    for (e, key) in named(ctx, node, path, "[sem] ping = 1")? {
        let initial = count_of(ctx, e, &key, "initial", 0, "an initial count")?;
        let i = reg.sem(&e.key);
        reg.sems.decls[i].initial = initial;
    }
    Ok(())
}

/// `[mutex]`: `m = { pi = true }` or `[mutex.m] pi = true`.
pub(crate) fn mutexes(ctx: &Ctx, reg: &mut Registry, node: &Node, path: &str) -> Res<()> {
    for (e, key) in named(ctx, node, path, "[mutex.m] pi = true")? {
        let t = ctx.want_table(&e.value, &key, "a table like { pi = true }")?;
        ctx.check_keys(t, &key, &["pi"])?;
        let pi = match get(t, "pi") {
            Some(p) => ctx.want_bool(&p.value, &join(&key, "pi"))?,
            None => false,
        };
        let i = reg.mutex(&e.key);
        reg.mutexes.decls[i].pi = pi;
    }
    Ok(())
}

/// `[barrier]`: `b = 3` or `[barrier.b] parties = 3`, for barriers that forked threads
/// reach (the parties of other barriers are counted from the tasks that use them).
pub(crate) fn barriers(ctx: &Ctx, reg: &mut Registry, node: &Node, path: &str) -> Res<()> {
    for (e, key) in named(ctx, node, path, "[barrier] b = 3")? {
        let parties = count_of(ctx, e, &key, "parties", 1, "a number of threads")?;
        let i = reg.barrier(&e.key);
        reg.barrier_parties[i] = Some(parties);
    }
    Ok(())
}

/// `cond = ["go", "done"]`: condition variables declared ahead of their use (they need no
/// declaration; this only fixes their order, as `schedsim convert` writes it).
pub(crate) fn conds(ctx: &Ctx, reg: &mut Registry, node: &Node, path: &str) -> Res<()> {
    for (i, n) in ctx
        .want_array(node, path, "an array of names")?
        .iter()
        .enumerate()
    {
        let key = super::ctx::index(path, i);
        let name = ctx.want_str(n, &key, "a condition variable name")?;
        values::check_name(name)
            .map_err(|m| ctx.err(n.span.start, &key, m).with_hint(values::NAME_HINT))?;
        reg.cond(name);
    }
    Ok(())
}

/// `[timer]`: `tick = "shared"` (every thread naming it wakes on the same ticks, the default
/// for a named timer) or `tick = "private"` (each thread has its own).
pub(crate) fn timers(ctx: &Ctx, reg: &mut Registry, node: &Node, path: &str) -> Res<()> {
    for (e, key) in named(ctx, node, path, "[timer] tick = \"shared\"")? {
        let shared = match ctx.want_str(&e.value, &key, "\"shared\" or \"private\"")? {
            "shared" => true,
            "private" => false,
            other => {
                return Err(ctx
                    .err(
                        e.value.span.start,
                        &key,
                        format!("unknown timer kind `{other}`"),
                    )
                    .with_hint(format!("write {} = \"shared\" or \"private\"", e.key)))
            }
        };
        reg.timer(&e.key, shared);
    }
    Ok(())
}

/// `[session.build] nice = 5` (or `[session] build = { nice = 5 }`): the session's
/// autogroup nice value, as written to `/proc/<pid>/autogroup`.
pub(crate) fn sessions(ctx: &Ctx, reg: &mut Registry, node: &Node, path: &str) -> Res<()> {
    for (e, key) in named(ctx, node, path, "[session.build] nice = 5")? {
        let t = ctx.want_table(&e.value, &key, "a table like { nice = 5 }")?;
        ctx.check_keys(t, &key, &["nice"])?;
        let nice = match get(t, "nice") {
            Some(n) => {
                let (lo, hi) = (*NICE_RANGE.start(), *NICE_RANGE.end());
                ctx.want_int(
                    &n.value,
                    &join(&key, "nice"),
                    lo.into(),
                    hi.into(),
                    "a nice value",
                )? as i32
            }
            None => 0,
        };
        let i = reg.session(&e.key);
        reg.sessions.decls[i].nice = nice;
    }
    Ok(())
}

/// `launcher_output = { before_start = 2, at_start = 1, per_thread = 1 }`: the lines the
/// launcher prints.
pub(crate) fn launcher_output(ctx: &Ctx, node: &Node, path: &str) -> Res<LauncherOutput> {
    let entries = ctx.want_table(node, path, "a table like { at_start = 1, per_thread = 1 }")?;
    ctx.check_keys(entries, path, &["before_start", "at_start", "per_thread"])?;
    let mut out = LauncherOutput::default();
    for e in entries {
        let key = join(path, &e.key);
        let n = ctx.want_int(&e.value, &key, 0, 1000, "a count of lines")? as u32;
        match e.key.as_str() {
            "before_start" => out.before_start = n,
            "at_start" => out.after_start = n,
            _ => out.per_thread = n,
        }
    }
    Ok(out)
}

/// rt-app's trace_marker categories, as in its `global.ftrace`.
pub(crate) const MARKERS: &[&str] = &["main", "task", "loop", "event", "stats"];

/// `markers = ["main", "task"]`: which rt-app trace_marker lines the simulation writes.
pub(crate) fn markers(ctx: &Ctx, node: &Node, path: &str) -> Res<Markers> {
    let mut m = Markers::default();
    for (i, n) in ctx
        .want_array(node, path, "an array of marker categories")?
        .iter()
        .enumerate()
    {
        let key = super::ctx::index(path, i);
        let flag = match ctx.want_str(n, &key, "a marker category")? {
            "main" => &mut m.main,
            "task" => &mut m.task,
            "loop" => &mut m.looping,
            "event" => &mut m.event,
            "stats" => &mut m.stats,
            other => {
                return Err(ctx
                    .err(
                        n.span.start,
                        &key,
                        format!("unknown marker category `{other}`"),
                    )
                    .with_hint(format!("categories: {}", MARKERS.join(", "))))
            }
        };
        *flag = true;
    }
    Ok(m)
}
