//! `schedsim convert IN [-o OUT.toml]`: any workload the importers read (rt-app JSON, our
//! TOML) written in our TOML format. The result is checked before it is written: parsed
//! again it must give the same model, so running either file simulates the same thing.

use std::path::PathBuf;

use clap::Args;
use schedsim_output::write_atomically;
use schedsim_workload::toml::{to_toml, without_locations};
use schedsim_workload::Workload;

use crate::load;

#[derive(Args)]
pub struct ConvertArgs {
    /// Workload to convert (rt-app .json, or .toml).
    pub input: PathBuf,
    /// Write the TOML here (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn convert(a: ConvertArgs) -> Result<(), String> {
    let w = load::workload(&a.input)?;
    let name = a.input.file_name().map_or_else(
        || a.input.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let text = format!(
        "# Converted from {name} by `schedsim convert`; see docs/workload-format.md.\n{}",
        to_toml(&w)
    );
    check(&w, &text).map_err(|e| {
        format!(
            "{}: cannot be written exactly in schedsim's TOML format: {e}",
            a.input.display()
        )
    })?;
    match &a.output {
        Some(out) => write_atomically(out, |f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("{}: cannot write: {e}", out.display())),
        None => crate::print_out(&text),
    }
}

/// The written text must parse back to the same model.
fn check(w: &Workload, text: &str) -> Result<(), String> {
    let back = schedsim_workload::parse_toml("(converted)", text)
        .map_err(|e| format!("the written TOML does not parse back: {e}"))?;
    let (a, b) = (without_locations(w), without_locations(&back));
    if a == b {
        return Ok(());
    }
    Err(first_difference(&a, &b))
}

/// Where two models differ, for the error message.
fn first_difference(a: &Workload, b: &Workload) -> String {
    macro_rules! field {
        ($f:ident) => {
            if a.$f != b.$f {
                return format!("`{}` changes from {:?} to {:?}", stringify!($f), a.$f, b.$f);
            }
        };
    }
    field!(duration);
    field!(launcher_comm);
    field!(ftrace_markers);
    if a.tasks.len() != b.tasks.len() {
        return format!("{} tasks become {}", a.tasks.len(), b.tasks.len());
    }
    for (x, y) in a.tasks.iter().zip(&b.tasks) {
        if x != y {
            let what = if x.program != y.program {
                "program"
            } else {
                "attributes"
            };
            return format!(
                "the {what} of task `{}` changes:\n  {x:?}\nbecomes\n  {y:?}",
                x.name
            );
        }
    }
    field!(sems);
    field!(conds);
    field!(mutexes);
    field!(barriers);
    field!(timers);
    field!(sysctls);
    field!(cgroups);
    field!(cgroup_files);
    "the models differ".into()
}
