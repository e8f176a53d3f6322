//! Value syntaxes shared by task keys and program steps: durations as TOML values, CPU
//! lists, cgroup paths, policy names, object names.

use crate::model::{Dur, Nanos, Policy};

use super::ctx::{Ctx, Res};
use super::dur::{self, DurErr, UNITS_HINT};
use super::hint::did_you_mean;
use super::tree::{Kind, Node};
use crate::error::WorkloadError;

/// Highest CPU number accepted (the kernel's largest NR_CPUS); whether the simulated
/// machine has it is the simulator's check. The cap keeps "0-4000000000" from allocating.
pub(crate) const MAX_CPU: u32 = 8191;

/// A located error for a duration written inside string `node`, `base` bytes in.
pub(crate) fn dur_error(
    ctx: &Ctx,
    node: &Node,
    base: usize,
    key: &str,
    e: DurErr,
) -> WorkloadError {
    ctx.err(ctx.str_pos(node, base + e.off), key, e.msg)
        .with_hint(e.hint)
}

fn bare_number(ctx: &Ctx, node: &Node, key: &str) -> WorkloadError {
    let n = match node.kind {
        Kind::Int(i) => i.to_string(),
        Kind::Float(f) => f.to_string(),
        _ => "10".into(),
    };
    let found = node.kind.type_name();
    ctx.err(
        node.span.start,
        key,
        format!("expected a duration string, found {found}"),
    )
    .with_hint(format!(
        "durations need a unit and quotes, e.g. \"{n}ms\"; {UNITS_HINT}"
    ))
}

/// A TOML value that must be a (possibly random) duration string.
pub(crate) fn dur_value(ctx: &Ctx, node: &Node, key: &str) -> Res<Dur> {
    match &node.kind {
        Kind::Str(s) => dur::parse_dur(s).map_err(|e| dur_error(ctx, node, 0, key, e)),
        Kind::Int(_) | Kind::Float(_) => Err(bare_number(ctx, node, key)),
        _ => Err(ctx
            .want_str(node, key, "a duration string like \"10ms\"")
            .unwrap_err()),
    }
}

/// A TOML value that must be a fixed duration string.
pub(crate) fn nanos_value(ctx: &Ctx, node: &Node, key: &str) -> Res<Nanos> {
    match &node.kind {
        Kind::Str(s) => dur::parse_nanos(s).map_err(|e| dur_error(ctx, node, 0, key, e)),
        Kind::Int(_) | Kind::Float(_) => Err(bare_number(ctx, node, key)),
        _ => Err(ctx
            .want_str(node, key, "a duration string like \"10ms\"")
            .unwrap_err()),
    }
}

/// A CPU list such as `0-3,5` (the kernel's cpulist syntax), sorted without duplicates.
/// Errors carry the byte offset of the bad part.
pub(crate) fn parse_cpus(s: &str) -> Result<Vec<u32>, (usize, String)> {
    let mut cpus = Vec::new();
    let mut off = 0;
    for part in s.split(',') {
        let at = off + part.len() - part.trim_start().len();
        off += part.len() + 1;
        let part = part.trim();
        let num = |t: &str| -> Result<u32, (usize, String)> {
            match t.trim().parse::<u32>() {
                Ok(n) if n <= MAX_CPU => Ok(n),
                Ok(n) => Err((
                    at,
                    format!("CPU {n} is above the highest supported CPU number {MAX_CPU}"),
                )),
                Err(_) => Err((
                    at,
                    format!("`{part}` is not a CPU number or range like 0-3"),
                )),
            }
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            return Err((at, format!("range `{part}` is backwards")));
        }
        cpus.extend(lo..=hi);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

const CPUS_HINT: &str = "write CPU numbers and ranges, e.g. [0, 1], \"0-3\" or [0, \"2-3\"]";

/// `affinity = 0`, `"0-3,5"` or `[0, "2-3"]`.
pub(crate) fn cpus_value(ctx: &Ctx, node: &Node, key: &str) -> Res<Vec<u32>> {
    let one = |n: &Node, cpus: &mut Vec<u32>| -> Res<()> {
        match &n.kind {
            Kind::Int(_) => {
                cpus.push(ctx.want_int(n, key, 0, MAX_CPU.into(), "a CPU number")? as u32);
                Ok(())
            }
            Kind::Str(s) => {
                let more = parse_cpus(s).map_err(|(off, msg)| {
                    ctx.err(ctx.str_pos(n, off), key, msg).with_hint(CPUS_HINT)
                })?;
                cpus.extend(more);
                Ok(())
            }
            other => Err(ctx
                .err(
                    n.span.start,
                    key,
                    format!(
                        "expected a CPU number or range, found {}",
                        other.type_name()
                    ),
                )
                .with_hint(CPUS_HINT)),
        }
    };
    let mut cpus = Vec::new();
    match &node.kind {
        Kind::Array(items) => {
            for n in items {
                one(n, &mut cpus)?;
            }
        }
        _ => one(node, &mut cpus)?,
    }
    if cpus.is_empty() {
        return Err(ctx
            .err(node.span.start, key, "empty CPU list")
            .with_hint("leave `affinity` out to allow every CPU"));
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

pub(crate) const CGROUP_HINT: &str = "cgroup paths are absolute, like \"/web\" or \"/web/child\"";
pub(crate) const NAME_HINT: &str = "names are one word, like `ping` or `worker-1`";

/// A cgroup path: absolute, no empty, `.` or `..` components; a trailing `/` is dropped.
/// The error says what is wrong with `s`.
pub fn cgroup_path(s: &str) -> Result<String, String> {
    if !s.starts_with('/') {
        return Err(format!("cgroup path `{s}` must start with `/`"));
    }
    let trimmed = if s.len() > 1 {
        s.trim_end_matches('/')
    } else {
        s
    };
    let bad = trimmed.split('/').skip(1).any(|c| {
        c.is_empty() && trimmed != "/"
            || c == "."
            || c == ".."
            || c.chars().any(char::is_whitespace)
    });
    if bad {
        return Err(format!("`{s}` is not a valid cgroup path"));
    }
    Ok(trimmed.to_string())
}

const POLICIES: &[&str] = &[
    "normal", "other", "batch", "idle", "fifo", "rr", "deadline", "ext",
];

/// A policy by name: `fifo`, `SCHED_FIFO`, `Fifo` all work.
pub(crate) fn policy(name: &str) -> Result<Policy, String> {
    let lower = name.to_ascii_lowercase();
    let bare = lower.strip_prefix("sched_").unwrap_or(&lower);
    Ok(match bare {
        "normal" | "other" => Policy::Normal,
        "batch" => Policy::Batch,
        "idle" => Policy::Idle,
        "fifo" => Policy::Fifo,
        "rr" => Policy::Rr,
        "deadline" => Policy::Deadline,
        "ext" => Policy::Ext,
        _ => {
            return Err(match did_you_mean(bare, POLICIES) {
                Some(p) => format!("did you mean `{p}`?"),
                None => format!("policies: {}", POLICIES.join(", ")),
            })
        }
    })
}

/// Names of tasks and sync objects: one word, so that a step string like `fork worker`
/// is unambiguous, and never containing `#`, which we use in generated timer names.
pub(crate) fn check_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("names cannot be empty".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == '#')
    {
        return Err(format!(
            "`{s}` contains {c:?}; names are one word without `#`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpulists() {
        assert_eq!(parse_cpus("0-3,5").unwrap(), vec![0, 1, 2, 3, 5]);
        assert_eq!(parse_cpus(" 3, 1 ,1").unwrap(), vec![1, 3]);
        assert_eq!(parse_cpus("0,x").unwrap_err().0, 2);
        assert!(parse_cpus("3-1").is_err());
        assert!(parse_cpus("0-9999999").is_err());
    }

    #[test]
    fn cgroups() {
        assert_eq!(cgroup_path("/web/").unwrap(), "/web");
        assert_eq!(cgroup_path("/").unwrap(), "/");
        assert!(cgroup_path("web").is_err());
        assert!(cgroup_path("/a//b").is_err());
        assert!(cgroup_path("/a/../b").is_err());
    }

    #[test]
    fn policies() {
        assert_eq!(policy("SCHED_FIFO"), Ok(Policy::Fifo));
        assert_eq!(policy("other"), Ok(Policy::Normal));
        assert_eq!(policy("fifp").unwrap_err(), "did you mean `fifo`?");
    }
}
