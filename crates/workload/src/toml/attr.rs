//! Scheduling attributes: a task's initial ones from its `policy`, `nice`, `priority`,
//! `slice`, `runtime`, `deadline`, `period` and `flags` keys, and `policy` steps.
//!
//! Each key is only accepted with the policies it means something for, so that
//! `policy = "fifo"` with `nice = 5` (a likely mix-up) is an error, not silently ignored.

use std::ops::RangeInclusive;

use crate::model::{Policy, SchedAttr};

use super::ctx::{get, join, Ctx, Res};
use super::dur;
use super::tree::{Entry, Node};
use super::values::{self, dur_error};

pub(crate) const NICE_RANGE: RangeInclusive<i32> = -20..=19;
pub(crate) const PRIO_RANGE: RangeInclusive<u32> = 1..=99;

const FLAGS: &[(&str, u64)] = &[("reset_on_fork", 1), ("reclaim", 2), ("dl_overrun", 4)];

/// The kernel's SCHED_DEADLINE admission rule: 0 < runtime <= deadline <= period.
pub(crate) fn check_deadline(runtime: u64, deadline: u64, period: u64) -> Result<(), String> {
    if runtime == 0 || runtime > deadline || deadline > period {
        return Err("SCHED_DEADLINE needs 0 < runtime <= deadline <= period".into());
    }
    Ok(())
}

/// Build the attributes of task table `t` (key path `path`).
pub(crate) fn task_attr(ctx: &Ctx, t: &[Entry], path: &str) -> Res<SchedAttr> {
    let mut attr = SchedAttr::default();
    let policy_entry = get(t, "policy");
    if let Some(e) = policy_entry {
        let key = join(path, "policy");
        let name = ctx.want_str(&e.value, &key, "a policy name like \"fifo\"")?;
        attr.policy = values::policy(name).map_err(|hint| {
            ctx.err(e.value.span.start, &key, format!("unknown policy `{name}`"))
                .with_hint(hint)
        })?;
    }
    let policy = attr.policy;
    // Where to point when a key the policy needs is missing.
    let policy_at = policy_entry.map_or(0, |e| e.value.span.start);
    let policy_key = join(path, "policy");

    // A key that does not apply to this policy.
    let misplaced = |e: &Entry, applies_to: &str| {
        ctx.err(
            e.key_span.start,
            &join(path, &e.key),
            format!("`{}` does not apply to policy {}", e.key, policy.name()),
        )
        .with_hint(format!("`{}` is for {applies_to}", e.key))
    };

    if let Some(e) = get(t, "nice") {
        if !policy.is_fair() {
            return Err(misplaced(e, "normal, batch, idle and ext tasks"));
        }
        attr.nice = ctx.want_int(&e.value, &join(path, "nice"), -20, 19, "nice")? as i32;
    }

    match (get(t, "priority"), policy.is_rt()) {
        (Some(e), true) => {
            attr.rt_priority = ctx.want_int(
                &e.value,
                &join(path, "priority"),
                1,
                99,
                "a real-time priority",
            )? as u32;
        }
        (Some(e), false) => return Err(misplaced(e, "fifo and rr tasks (rt priority 1..=99)")),
        (None, true) => {
            return Err(ctx
                .err(
                    policy_at,
                    &policy_key,
                    format!("{} needs a priority", policy.name()),
                )
                .with_hint("add priority = 1..=99 (higher runs first)"))
        }
        (None, false) => {}
    }

    // `slice` is the custom EEVDF slice of a fair task, or a deadline task's runtime
    // (both are sched_attr.sched_runtime); `runtime` is accepted for deadline tasks only.
    let slice = get(t, "slice");
    let runtime = get(t, "runtime");
    if let (Some(_), Some(r)) = (slice, runtime) {
        return Err(ctx
            .err(
                r.key_span.start,
                &join(path, "runtime"),
                "both `slice` and `runtime` given",
            )
            .with_hint("they are the same parameter; keep one"));
    }
    if let Some(e) = slice.or(runtime) {
        let key = join(path, &e.key);
        match policy {
            Policy::Fifo | Policy::Rr => {
                return Err(misplaced(
                    e,
                    "fair tasks (custom slice) and deadline tasks (runtime)",
                ))
            }
            Policy::Deadline => {}
            _ if e.key == "runtime" => {
                return Err(misplaced(
                    e,
                    "deadline tasks; a fair task's custom slice is `slice`",
                ))
            }
            _ => {}
        }
        attr.runtime = values::nanos_value(ctx, &e.value, &key)?;
        if attr.runtime == 0 {
            return Err(ctx
                .err(
                    e.value.span.start,
                    &key,
                    format!("`{}` must be above 0", e.key),
                )
                .with_hint("leave it out for the default slice"));
        }
    }

    for k in ["deadline", "period"] {
        if let Some(e) = get(t, k) {
            if policy != Policy::Deadline {
                return Err(misplaced(e, "deadline tasks"));
            }
            let v = values::nanos_value(ctx, &e.value, &join(path, k))?;
            if k == "deadline" {
                attr.deadline = v;
            } else {
                attr.period = v;
            }
        }
    }
    if policy == Policy::Deadline {
        if attr.runtime == 0 || attr.deadline == 0 {
            return Err(ctx
                .err(policy_at, &policy_key, "SCHED_DEADLINE needs a runtime and a deadline")
                .with_hint("add e.g. runtime = \"2ms\", deadline = \"10ms\" (period defaults to the deadline)"));
        }
        if attr.period == 0 {
            // As sched_setattr does: a zero period means "same as the deadline".
            attr.period = attr.deadline;
        }
        check_deadline(attr.runtime, attr.deadline, attr.period).map_err(|m| {
            ctx.err(policy_at, &policy_key, m)
                .with_hint("check the runtime, deadline and period values")
        })?;
    }

    if let Some(e) = get(t, "flags") {
        let key = join(path, "flags");
        let names: Vec<&str> = FLAGS.iter().map(|f| f.0).collect();
        for n in ctx.want_array(&e.value, &key, "an array of flag names")? {
            let s = ctx.want_str(n, &key, "a flag name")?;
            let bit = FLAGS
                .iter()
                .find(|f| f.0 == s)
                .map(|f| f.1)
                .ok_or_else(|| {
                    ctx.err(n.span.start, &key, format!("unknown flag `{s}`"))
                        .with_hint(format!("flags: {}", names.join(", ")))
                })?;
            attr.flags |= bit;
        }
    }
    Ok(attr)
}

/// A `policy NAME [ARGS]` step (`words` are its words with their offsets in `node`):
/// the new attributes replace the policy and its parameters like sched_setscheduler,
/// keeping the nice value (and flags) of `current`.
pub(crate) fn policy_step(
    ctx: &Ctx,
    node: &Node,
    words: &[(usize, &str)],
    path: &str,
    current: SchedAttr,
) -> Res<SchedAttr> {
    let at = |off: usize| ctx.str_pos(node, off);
    let args = &words[1..];
    let Some(&(poff, pname)) = args.first() else {
        return Err(ctx
            .err(at(words[0].0), path, "`policy` needs a policy name")
            .with_hint(
                "write \"policy fifo 10\", \"policy batch\" or \"policy deadline 2ms 10ms 10ms\"",
            ));
    };
    let policy = values::policy(pname).map_err(|h| {
        ctx.err(at(poff), path, format!("unknown policy `{pname}`"))
            .with_hint(h)
    })?;
    let params = &args[1..];
    let usage = match policy {
        Policy::Fifo | Policy::Rr => "policy fifo 10 (priority 1..=99)",
        Policy::Deadline => {
            "policy deadline RUNTIME DEADLINE [PERIOD], e.g. policy deadline 2ms 10ms 10ms"
        }
        _ => "policy normal|batch|idle|ext (use a separate \"nice N\" step for the nice value)",
    };
    let (lo, hi) = match policy {
        Policy::Fifo | Policy::Rr => (1, 1),
        Policy::Deadline => (2, 3),
        _ => (0, 0),
    };
    if !(lo..=hi).contains(&params.len()) {
        return Err(ctx
            .err(
                at(poff),
                path,
                format!("wrong number of parameters for `policy {pname}`"),
            )
            .with_hint(format!("write \"{usage}\"")));
    }
    let mut attr = SchedAttr {
        policy,
        nice: current.nice,
        flags: current.flags,
        ..SchedAttr::default()
    };
    match policy {
        Policy::Fifo | Policy::Rr => {
            let (off, p) = params[0];
            attr.rt_priority = p
                .parse::<u32>()
                .ok()
                .filter(|v| PRIO_RANGE.contains(v))
                .ok_or_else(|| {
                    ctx.err(at(off), path, format!("`{p}` is not a real-time priority"))
                        .with_hint("priorities are integers in 1..=99")
                })?;
        }
        Policy::Deadline => {
            let d: Vec<u64> = params
                .iter()
                .map(|&(off, a)| {
                    dur::parse_nanos(a).map_err(|e| dur_error(ctx, node, off, path, e))
                })
                .collect::<Res<_>>()?;
            attr.runtime = d[0];
            attr.deadline = d[1];
            attr.period = d.get(2).copied().unwrap_or(d[1]);
            check_deadline(attr.runtime, attr.deadline, attr.period)
                .map_err(|m| ctx.err(at(poff), path, m).with_hint(usage))?;
        }
        _ => {}
    }
    Ok(attr)
}

const SETATTR_USAGE: &str = "setattr POLICY [nice=N] [priority=P] [runtime=DUR] [deadline=DUR] \
                             [period=DUR] [flags=reset_on_fork,reclaim,dl_overrun]";

/// A `setattr POLICY key=value...` step: every `sched_attr` field exactly as written, the
/// others 0. Unlike `policy`, nothing is carried over and no combination is refused here:
/// it is the raw system call, and the simulated kernel checks it as `sched_setattr` does.
pub(crate) fn setattr_step(
    ctx: &Ctx,
    node: &Node,
    words: &[(usize, &str)],
    path: &str,
) -> Res<SchedAttr> {
    let at = |off: usize| ctx.str_pos(node, off);
    let usage = || format!("write \"{SETATTR_USAGE}\"");
    let Some(&(poff, pname)) = words.get(1) else {
        return Err(ctx
            .err(at(words[0].0), path, "`setattr` needs a policy name")
            .with_hint(usage()));
    };
    let policy = values::policy(pname).map_err(|h| {
        ctx.err(at(poff), path, format!("unknown policy `{pname}`"))
            .with_hint(h)
    })?;
    let mut attr = SchedAttr {
        policy,
        ..SchedAttr::default()
    };
    let mut seen: Vec<&str> = Vec::new();
    for &(off, word) in &words[2..] {
        let Some((k, v)) = word.split_once('=') else {
            return Err(ctx
                .err(at(off), path, format!("expected key=value, found `{word}`"))
                .with_hint(usage()));
        };
        if seen.contains(&k) {
            return Err(ctx
                .err(at(off), path, format!("`{k}` given twice"))
                .with_hint(usage()));
        }
        seen.push(k);
        let voff = off + k.len() + 1;
        let bad = |what: &str| {
            ctx.err(at(voff), path, format!("`{v}` is not {what}"))
                .with_hint(usage())
        };
        let dur = || dur::parse_nanos(v).map_err(|e| dur_error(ctx, node, voff, path, e));
        match k {
            "nice" => {
                attr.nice = v
                    .parse::<i32>()
                    .ok()
                    .filter(|n| NICE_RANGE.contains(n))
                    .ok_or_else(|| bad("a nice value in -20..=19"))?;
            }
            "priority" => {
                attr.rt_priority = v
                    .parse::<u32>()
                    .ok()
                    .filter(|p| *p <= *PRIO_RANGE.end())
                    .ok_or_else(|| bad("a real-time priority in 0..=99"))?;
            }
            "runtime" => attr.runtime = dur()?,
            "deadline" => attr.deadline = dur()?,
            "period" => attr.period = dur()?,
            "flags" => {
                for f in v.split(',').filter(|f| !f.is_empty()) {
                    attr.flags |= match FLAGS.iter().find(|x| x.0 == f) {
                        Some(x) => x.1,
                        None => f.parse::<u64>().map_err(|_| {
                            let names: Vec<&str> = FLAGS.iter().map(|f| f.0).collect();
                            ctx.err(at(voff), path, format!("unknown flag `{f}`"))
                                .with_hint(format!("flags: {} (or a number)", names.join(", ")))
                        })?,
                    };
                }
            }
            _ => {
                return Err(ctx
                    .err(at(off), path, format!("unknown setattr field `{k}`"))
                    .with_hint(usage()))
            }
        }
    }
    Ok(attr)
}

/// The names of the `sched_attr` flag bits, for writers.
pub(crate) fn flag_names(flags: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = flags;
    for &(name, bit) in FLAGS {
        if flags & bit != 0 {
            out.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        out.push(rest.to_string());
    }
    out
}
