//! schedsim's own workload format: TOML written for people.
//!
//! ```toml
//! duration = "10s"
//!
//! [[task]]
//! name = "hog"
//! run = "10ms"                              # a CPU hog: `run 10ms`, forever
//!
//! [[task]]
//! name = "per"
//! affinity = [0]
//! program = ["run 2ms", "timer 10ms"]       # 2ms of work every 10ms
//! ```
//!
//! The complete reference is docs/workload-format.md. Every error names the file, line,
//! column and key path (`task[2].program[1]`) with a hint; nothing here panics on any
//! input.
//!
//! Layout: `tree` turns toml_edit's document into a spanned tree; `ctx` turns wrong types
//! into located errors; `task`, `attr`, `step` read tasks; `names` resolves and checks
//! object names; `decls` and `kernel` read the optional top-level tables. `write` is the
//! other direction: any `Workload` back to this format (`schedsim convert`).

mod attr;
mod ctx;
mod decls;
mod dur;
mod hint;
mod kernel;
mod names;
mod step;
mod task;
mod tree;
pub(crate) mod values;
pub mod write;

pub use dur::parse_distribution;
pub use values::cgroup_path;
pub use write::{to_toml, without_locations};

use std::path::Path;

use crate::error::WorkloadError;
use crate::model::{Naming, Workload};

use ctx::{get, index, join, Ctx};
use names::Registry;
use tree::Kind;

const TOP_KEYS: &[&str] = &[
    "duration",
    "task",
    "sysctl",
    "cgroup",
    "session",
    "sem",
    "mutex",
    "barrier",
    "cond",
    "timer",
    "launcher",
    "naming",
    "markers",
    "calibration",
    "launcher_output",
];

/// Read and parse a workload file.
pub fn load_toml(path: &Path) -> Result<Workload, WorkloadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        WorkloadError::new(&name, 0, 0, "", format!("cannot read the file: {e}"))
            .with_hint("check the path; workload files are UTF-8 TOML")
    })?;
    parse_toml(&name, &text)
}

/// Parse workload `text`; `source_name` is the file name used in errors and
/// `Workload::source`.
pub fn parse_toml(source_name: &str, text: &str) -> Result<Workload, WorkloadError> {
    let ctx = Ctx {
        file: source_name,
        text,
    };
    let root = tree::parse_document(&ctx)?;
    let top = root.as_table().unwrap_or_default();
    ctx.check_keys(top, "", TOP_KEYS)?;

    let mut w = Workload {
        source: source_name.to_string(),
        launcher_comm: "schedsim".to_string(),
        ..Workload::default()
    };
    if let Some(e) = get(top, "duration") {
        let d = values::nanos_value(&ctx, &e.value, "duration")?;
        if d == 0 {
            return Err(ctx
                .err(
                    e.value.span.start,
                    "duration",
                    "the duration must be above 0",
                )
                .with_hint("leave it out to run until every task has exited"));
        }
        w.duration = Some(d);
    }
    if let Some(e) = get(top, "launcher") {
        let s = ctx.want_str(&e.value, "launcher", "a process name like \"rt-app\"")?;
        if s.is_empty() || s.chars().any(char::is_control) {
            return Err(ctx
                .err(e.value.span.start, "launcher", "the launcher needs a name")
                .with_hint("write launcher = \"rt-app\" (default \"schedsim\")"));
        }
        w.launcher_comm = s.to_string();
    }
    let naming = match get(top, "naming") {
        Some(e) => task::naming(&ctx, &e.value, "naming")?,
        None => Naming::Plain,
    };
    if let Some(e) = get(top, "calibration") {
        const HINT: &str = "write rt-app's ns per loop with its unit, like calibration = \"20ns\"";
        // rt-app writes the calibration as a bare number of ns; ours takes a unit.
        let d = values::nanos_value(&ctx, &e.value, "calibration").map_err(|err| {
            if matches!(e.value.kind, Kind::Int(_) | Kind::Float(_)) {
                err.with_hint(HINT)
            } else {
                err
            }
        })?;
        if d == 0 {
            return Err(ctx
                .err(
                    e.value.span.start,
                    "calibration",
                    "a busy loop cannot take 0 ns",
                )
                .with_hint(HINT));
        }
        w.calibration_ns = Some(d);
    }
    if let Some(e) = get(top, "markers") {
        w.ftrace_markers = decls::markers(&ctx, &e.value, "markers")?;
    }
    if let Some(e) = get(top, "launcher_output") {
        w.launcher_output = decls::launcher_output(&ctx, &e.value, "launcher_output")?;
    }

    // Declarations first, so declared objects come first in the index order.
    let mut reg = Registry::default();
    if let Some(e) = get(top, "sem") {
        decls::sems(&ctx, &mut reg, &e.value, "sem")?;
    }
    if let Some(e) = get(top, "mutex") {
        decls::mutexes(&ctx, &mut reg, &e.value, "mutex")?;
    }
    if let Some(e) = get(top, "barrier") {
        decls::barriers(&ctx, &mut reg, &e.value, "barrier")?;
    }
    if let Some(e) = get(top, "cond") {
        decls::conds(&ctx, &mut reg, &e.value, "cond")?;
    }
    if let Some(e) = get(top, "timer") {
        decls::timers(&ctx, &mut reg, &e.value, "timer")?;
    }
    if let Some(e) = get(top, "session") {
        decls::sessions(&ctx, &mut reg, &e.value, "session")?;
    }

    w.tasks = tasks(&ctx, &mut reg, top, naming)?;
    let counts: Vec<u32> = w.tasks.iter().map(|t| t.count).collect();
    reg.finish(&ctx, &counts)?;

    if let Some(e) = get(top, "sysctl") {
        w.sysctls = kernel::sysctls(&ctx, &e.value, "sysctl")?;
    }
    if let Some(e) = get(top, "cgroup") {
        (w.cgroups, w.cgroup_files) = kernel::cgroups(&ctx, &e.value, "cgroup")?;
    }

    w.sems = reg.sems.decls;
    w.conds = reg.conds.decls;
    w.mutexes = reg.mutexes.decls;
    w.barriers = reg.barriers.decls;
    w.timers = reg.timers.decls;
    w.sessions = reg.sessions.decls;
    Ok(w)
}

/// All `[[task]]` tables: names first (so a program can fork a task defined after it),
/// then each task in full.
fn tasks(
    ctx: &Ctx,
    reg: &mut Registry,
    top: &[tree::Entry],
    naming: Naming,
) -> Result<Vec<crate::model::TaskSpec>, WorkloadError> {
    let no_tasks = || {
        ctx.err(0, "task", "no tasks in this file")
            .with_hint("add a task:\n    [[task]]\n    name = \"hog\"\n    run = \"10ms\"")
    };
    let Some(e) = get(top, "task") else {
        return Err(no_tasks());
    };
    let list = match &e.value.kind {
        Kind::Array(items) => items,
        Kind::Table(_) => {
            return Err(ctx
                .err(e.key_span.start, "task", "`task` is a single table")
                .with_hint("write each task under [[task]] (double brackets)"))
        }
        other => {
            return Err(ctx
                .err(
                    e.value.span.start,
                    "task",
                    format!("expected [[task]] tables, found {}", other.type_name()),
                )
                .with_hint("write each task under [[task]] (double brackets)"))
        }
    };
    if list.is_empty() {
        return Err(no_tasks());
    }

    for (i, node) in list.iter().enumerate() {
        let path = index("task", i);
        let t = task::task_table(ctx, node, &path)?;
        let (name, at) = task::task_name(ctx, node, t, &path)?;
        if reg.tasks.insert(name.to_string(), i).is_some() {
            return Err(ctx
                .err(
                    at,
                    &join(&path, "name"),
                    format!("a task named `{name}` is already defined"),
                )
                .with_hint(
                    "task names must be unique; use `count` for several identical threads",
                ));
        }
    }

    let specs = list
        .iter()
        .enumerate()
        .map(|(i, node)| task::task_spec(ctx, reg, i, node, &index("task", i), naming))
        .collect::<Result<Vec<_>, _>>()?;
    if specs.iter().all(|t| t.count == 0) {
        return Err(ctx
            .err(
                e.key_span.start,
                "task",
                "every task is a template, so nothing would run",
            )
            .with_hint(
                "give at least one task count >= 1 (the default) and no `template = true`",
            ));
    }
    Ok(specs)
}
