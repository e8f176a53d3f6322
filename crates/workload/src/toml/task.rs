//! One `[[task]]` table → `TaskSpec`.

use crate::model::{Naming, Step, TaskSpec};

use super::attr::task_attr;
use super::ctx::{get, join, Ctx, Res};
use super::names::Registry;
use super::step::{loop_count_or, spin_error, takes_time, Steps};
use super::tree::{Entry, Kind, Node};
use super::values;

const TASK_KEYS: &[&str] = &[
    "name", "count", "template", "policy", "nice", "priority", "slice", "runtime", "deadline",
    "period", "flags", "affinity", "cgroup", "session", "delay", "run", "program", "loop",
    "naming",
];

/// `naming = "plain"` or `"rt-app"`: how thread names are formed.
pub(crate) fn naming(ctx: &Ctx, node: &Node, key: &str) -> Res<Naming> {
    let hint = "write naming = \"plain\" (name, name-0, name-1, ...) or naming = \"rt-app\" \
                (name-<thread index>, forks name-<parent>-<nnnn>)";
    match ctx.want_str(node, key, "a naming scheme")? {
        "plain" => Ok(Naming::Plain),
        "rt-app" => Ok(Naming::RtApp),
        other => Err(ctx
            .err(node.span.start, key, format!("unknown naming `{other}`"))
            .with_hint(hint)),
    }
}

/// The entries of task table `node`, after checking it is a table with only known keys.
pub(crate) fn task_table<'n>(ctx: &Ctx, node: &'n Node, path: &str) -> Res<&'n [Entry]> {
    let t = ctx.want_table(node, path, "a task table")?;
    ctx.check_keys(t, path, TASK_KEYS)?;
    Ok(t)
}

/// The task's `name`, which must be present: threads are named after it and `fork` /
/// `resume` refer to it.
pub(crate) fn task_name<'n>(
    ctx: &Ctx,
    node: &Node,
    t: &'n [Entry],
    path: &str,
) -> Res<(&'n str, usize)> {
    let Some(e) = get(t, "name") else {
        return Err(ctx
            .err(node.span.start, path, "task without a name")
            .with_hint("add name = \"worker\" (threads are named after it)"));
    };
    let key = join(path, "name");
    let name = ctx.want_str(&e.value, &key, "a task name string")?;
    values::check_name(name).map_err(|m| {
        ctx.err(e.value.span.start, &key, m)
            .with_hint(values::NAME_HINT)
    })?;
    Ok((name, e.value.span.start))
}

pub(crate) fn task_spec(
    ctx: &Ctx,
    reg: &mut Registry,
    index: usize,
    node: &Node,
    path: &str,
    default_naming: Naming,
) -> Res<TaskSpec> {
    let t = task_table(ctx, node, path)?;
    let (name, _) = task_name(ctx, node, t, path)?;

    // count = 0 and template = true both mean "only created by fork".
    let template = match get(t, "template") {
        Some(e) => ctx.want_bool(&e.value, &join(path, "template"))?,
        None => false,
    };
    let count = match get(t, "count") {
        Some(e) => {
            let key = join(path, "count");
            let c = ctx.want_int(&e.value, &key, 0, u32::MAX.into(), "an instance count")? as u32;
            if template && c > 0 {
                return Err(ctx
                    .err(e.value.span.start, &key, "a template has no instances at start")
                    .with_hint("drop `count` (templates are only created by `fork`), or drop `template = true`"));
            }
            c
        }
        None if template => 0,
        None => 1,
    };

    let attr = task_attr(ctx, t, path)?;

    let affinity = get(t, "affinity")
        .map(|e| values::cpus_value(ctx, &e.value, &join(path, "affinity")))
        .transpose()?;
    let cgroup = match get(t, "cgroup") {
        Some(e) => {
            let key = join(path, "cgroup");
            let p = ctx.want_str(&e.value, &key, "a cgroup path like \"/web\"")?;
            Some(values::cgroup_path(p).map_err(|m| {
                ctx.err(e.value.span.start, &key, m)
                    .with_hint(values::CGROUP_HINT)
            })?)
        }
        None => None,
    };
    let session = match get(t, "session") {
        Some(e) => {
            let key = join(path, "session");
            let n = ctx.want_str(&e.value, &key, "a session name like \"build\"")?;
            values::check_name(n).map_err(|m| {
                ctx.err(e.value.span.start, &key, m)
                    .with_hint(values::NAME_HINT)
            })?;
            Some(reg.session(n))
        }
        None => None,
    };
    let start_delay = match get(t, "delay") {
        Some(e) => values::nanos_value(ctx, &e.value, &join(path, "delay"))?,
        None => 0,
    };

    let mut steps = Steps {
        ctx,
        reg,
        task: index,
        task_name: name,
        attr,
        unnamed_timers: 0,
    };
    let (body, body_at, body_key) = match (get(t, "run"), get(t, "program")) {
        (Some(_), Some(p)) => {
            return Err(ctx
                .err(
                    p.key_span.start,
                    &join(path, "program"),
                    "both `run` and `program` given",
                )
                .with_hint("`run = \"D\"` is short for `program = [\"run D\"]`; keep one"))
        }
        (Some(r), None) => {
            let key = join(path, "run");
            let d = values::dur_value(ctx, &r.value, &key)?;
            (vec![Step::Run(d)], r.value.span.start, key)
        }
        (None, Some(p)) => {
            let key = join(path, "program");
            (steps.list(&p.value, &key)?, p.value.span.start, key)
        }
        (None, None) => {
            return Err(ctx
                .err(
                    node.span.start,
                    path,
                    format!("task `{name}` has no program"),
                )
                .with_hint(
                    "add run = \"10ms\" (a CPU hog) or program = [\"run 2ms\", \"sleep 8ms\"]",
                ))
        }
    };

    // The program repeats forever unless the task says how often, or it ends in `exit`.
    let program = match get(t, "loop") {
        // As written, no loop around it: the thread exits at its end.
        Some(e) if matches!(&e.value.kind, Kind::Str(s) if s == "once") => body,
        Some(e) => {
            let count = loop_count_or(
                ctx,
                &e.value,
                &join(path, "loop"),
                "write loop = 5, loop = \"forever\" or loop = \"once\"",
            )?;
            if count.is_none() && !takes_time(&body) {
                return Err(spin_error(ctx, body_at, &body_key));
            }
            vec![Step::Loop { count, body }]
        }
        None if body.last() == Some(&Step::Exit) => body,
        None => {
            if !takes_time(&body) {
                return Err(spin_error(ctx, body_at, &body_key));
            }
            vec![Step::Loop { count: None, body }]
        }
    };

    Ok(TaskSpec {
        name: name.to_string(),
        count,
        attr,
        affinity,
        cgroup,
        session,
        start_delay,
        program,
        naming: match get(t, "naming") {
            Some(e) => naming(ctx, &e.value, &join(path, "naming"))?,
            None => default_naming,
        },
        loc: ctx.loc(node.span.start),
    })
}
