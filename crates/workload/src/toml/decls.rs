//! Optional declarations of sync objects, for the few properties a step cannot say:
//! a semaphore's initial count, a mutex's priority inheritance, a barrier's party count.
//! Objects are otherwise declared by using them.

use super::ctx::{get, join, Ctx, Res};
use super::names::Registry;
use super::tree::{Entry, Kind, Node};
use super::values;

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
