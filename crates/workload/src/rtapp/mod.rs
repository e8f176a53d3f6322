//! rt-app JSON import: an rt-app workload file becomes a [`Workload`], with rt-app's own
//! semantics (start-up sequence, prefix-matched events, loops, resources) and rt-app's
//! refusals. The grammar we follow is `shared/oracle/rt-app-grammar.md`; what is modelled and
//! how is in `docs/rt-app.md`.
//!
//! Passes: [`json`] reads the text (json-c non-strict syntax, positions kept); `global` and
//! `parse` read the sections into names-and-microseconds form; `link` checks what needs the
//! whole file (forks, barriers, blocking waits, taskgroups); `program` emits the steps.

pub mod cost;
mod cx;
pub mod end;
mod global;
pub mod json;
mod link;
pub mod origin;
pub mod output;
mod parse;
mod program;
mod sched;
pub mod start;
pub mod stats;

use std::path::Path;

use crate::error::WorkloadError;
use crate::model::Workload;
use cx::Cx;

/// Import an rt-app workload from its text. `source_name` names the file in messages and in
/// `Workload::source`.
pub fn parse_rtapp(source_name: &str, text: &str) -> Result<Workload, WorkloadError> {
    let cx = Cx { file: source_name };
    let root = json::parse(text).map_err(|e| {
        WorkloadError::new(
            source_name,
            e.loc.line,
            e.loc.col,
            &e.path,
            format!("JSON syntax error: {}", e.message),
        )
    })?;
    if root.as_object().is_none() {
        return Err(cx.err(
            root.loc,
            "",
            format!(
                "an rt-app file must be one JSON object, found {}",
                root.type_name()
            ),
        ));
    }

    let mut global = global::Global::default();
    let mut tasks = None;
    for e in root.entries() {
        match e.key {
            "global" => global = global::parse_global(&cx, e.value, "global")?,
            "tasks" => tasks = Some(e.value),
            // The pre-1.0 resource table: rt-app creates the resources it declares, which
            // events then find by name; creating them on first use is equivalent.
            "resources" => {}
            k => {
                return Err(cx
                    .err(
                        e.key_loc,
                        &json::quote_key(k),
                        format!("unknown top-level key `{k}`"),
                    )
                    .with_hint("an rt-app file has `global`, `tasks` and (legacy) `resources`"))
            }
        }
    }
    let tasks = tasks.ok_or_else(|| {
        cx.err(
            root.loc,
            "tasks",
            "no `tasks` object (rt-app: \"Error while parsing config\", the key is mandatory)",
        )
    })?;
    let tasks = parse::parse_tasks(&cx, tasks, "tasks")?;
    let facts = link::link(&cx, &tasks, global.default_policy)?;
    program::Builder::new(cx, &global, &tasks, &facts).finish()
}

/// Read and import an rt-app workload file.
pub fn load_rtapp(path: &Path) -> Result<Workload, WorkloadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| WorkloadError::new(&name, 0, 0, "", format!("cannot read the file: {e}")))?;
    parse_rtapp(&name, &text)
}
