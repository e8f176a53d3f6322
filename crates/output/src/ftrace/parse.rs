//! Reading `trace` file lines back into records: the inverse of `format_record`.

use schedsim_trace::{Comm, Event, IrqVector, RecFlags, Record};

use super::PREV_STATE_FLAGS;

/// Parses one line of the `trace` file (as written by [`format_record`](super::format_record)
/// or the kernel) back into a record: timestamp in ns (µs × 1000), common pid/comm/flags, event. `None` for
/// header lines and events this crate does not model. The flag characters map back onto
/// [`RecFlags`] (`N`/`n` → need_resched, `B`/`b` → need_resched + lazy, `L`/`l` → lazy).
pub fn parse_line(line: &str) -> Option<Record> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    if line.starts_with('#') {
        return None;
    }
    // Find "-<pid> +[<cpu>] ": the comm itself may contain '-' and digits.
    let (dash, lb) = find_pid_cpu(line)?;
    let comm = line[..dash].trim_start();
    let pid: i32 = line[dash + 1..lb].trim_end().parse().ok()?;
    let rb = lb + line[lb..].find(']')?;
    let cpu: u32 = line[lb + 1..rb].parse().ok()?;
    let rest = line.get(rb + 2..)?;
    let flags = parse_flags(rest.get(..5)?)?;
    let rest = rest.get(5..)?.trim_start();
    let colon = rest.find(": ")?;
    let (secs, usecs) = rest[..colon].split_once('.')?;
    let ts = (secs.parse::<u64>().ok()? * 1_000_000 + usecs.parse::<u64>().ok()?) * 1000;
    let rest = &rest[colon + 2..];
    let (name, args) = rest
        .split_once(": ")
        .unwrap_or((rest.trim_end_matches(':'), ""));
    let event = parse_event(name, args)?;
    Some(Record {
        ts,
        cpu,
        pid,
        comm: Comm::new(comm),
        flags,
        event,
    })
}

fn find_pid_cpu(line: &str) -> Option<(usize, usize)> {
    let b = line.as_bytes();
    for (lb, _) in line.match_indices('[') {
        let mut i = lb;
        while i > 0 && b[i - 1] == b' ' {
            i -= 1;
        }
        let end = i;
        while i > 0 && b[i - 1].is_ascii_digit() {
            i -= 1;
        }
        if i < end && i > 0 && b[i - 1] == b'-' && lb > end {
            return Some((i - 1, lb));
        }
    }
    None
}

fn parse_flags(s: &str) -> Option<RecFlags> {
    let c: Vec<char> = s.chars().collect();
    if c.len() != 5 {
        return None;
    }
    let nib = |ch: char| {
        if ch == '.' {
            Some(0)
        } else {
            ch.to_digit(16).map(|d| d as u8)
        }
    };
    Some(RecFlags {
        irqs_off: matches!(c[0], 'd' | 'D'),
        need_resched: matches!(c[1], 'N' | 'n' | 'B' | 'b'),
        need_resched_lazy: matches!(c[1], 'B' | 'b' | 'L' | 'l'),
        hardirq: matches!(c[2], 'h' | 'H' | 'Z'),
        softirq: matches!(c[2], 's' | 'H'),
        preempt_count: nib(c[3])? | nib(c[4])? << 4,
    })
}

/// Splits `k0=v0 k1=v1 …` by the known keys in order (values may hold spaces, e.g. comms).
fn kv<'a, const N: usize>(s: &'a str, keys: [&str; N]) -> Option<[&'a str; N]> {
    let mut out = [""; N];
    let mut rest = s.strip_prefix(keys[0])?.strip_prefix('=')?;
    for i in 0..N {
        if i + 1 < N {
            let pat = format!(" {}=", keys[i + 1]);
            let at = rest.find(&pat)?;
            out[i] = &rest[..at];
            rest = &rest[at + pat.len()..];
        } else {
            out[i] = rest;
        }
    }
    Some(out)
}

pub(super) fn parse_prev_state(s: &str) -> Option<u64> {
    let (body, plus) = match s.strip_suffix('+') {
        Some(b) => (b, 0x100),
        None => (s, 0),
    };
    let mut v = 0u64;
    if body != "R" {
        for part in body.split('|') {
            v |= PREV_STATE_FLAGS.iter().find(|(_, n)| *n == part)?.0;
        }
    }
    Some(v | plus)
}

fn parse_event(name: &str, args: &str) -> Option<Event> {
    let n = |s: &str| s.parse::<i32>().ok();
    let u = |s: &str| s.parse::<u32>().ok();
    Some(match name {
        "sched_switch" => {
            let (prev, next) = args.split_once(" ==> ")?;
            let [pc, pp, ppr, ps] = kv(prev, ["prev_comm", "prev_pid", "prev_prio", "prev_state"])?;
            let [nc, np, npr] = kv(next, ["next_comm", "next_pid", "next_prio"])?;
            Event::Switch {
                prev_comm: Comm::new(pc),
                prev_pid: n(pp)?,
                prev_prio: n(ppr)?,
                prev_state: parse_prev_state(ps)?,
                next_comm: Comm::new(nc),
                next_pid: n(np)?,
                next_prio: n(npr)?,
            }
        }
        "sched_waking" | "sched_wakeup" | "sched_wakeup_new" => {
            let [c, p, pr, t] = kv(args, ["comm", "pid", "prio", "target_cpu"])?;
            let (comm, pid, prio, target_cpu) = (Comm::new(c), n(p)?, n(pr)?, u(t)?);
            match name {
                "sched_waking" => Event::Waking {
                    comm,
                    pid,
                    prio,
                    target_cpu,
                },
                "sched_wakeup" => Event::Wakeup {
                    comm,
                    pid,
                    prio,
                    target_cpu,
                },
                _ => Event::WakeupNew {
                    comm,
                    pid,
                    prio,
                    target_cpu,
                },
            }
        }
        "sched_migrate_task" => {
            let [c, p, pr, o, d] = kv(args, ["comm", "pid", "prio", "orig_cpu", "dest_cpu"])?;
            Event::MigrateTask {
                comm: Comm::new(c),
                pid: n(p)?,
                prio: n(pr)?,
                orig_cpu: u(o)?,
                dest_cpu: u(d)?,
            }
        }
        "sched_process_fork" => {
            let [pc, pp, cc, cp] = kv(args, ["comm", "pid", "child_comm", "child_pid"])?;
            Event::ProcessFork {
                parent_comm: Comm::new(pc),
                parent_pid: n(pp)?,
                child_comm: Comm::new(cc),
                child_pid: n(cp)?,
            }
        }
        "sched_process_exit" => {
            let [c, p, pr, g] = kv(args, ["comm", "pid", "prio", "group_dead"])?;
            Event::ProcessExit {
                comm: Comm::new(c),
                pid: n(p)?,
                prio: n(pr)?,
                group_dead: match g {
                    "true" => true,
                    "false" => false,
                    _ => return None,
                },
            }
        }
        "sched_process_free" => {
            let [c, p, pr] = kv(args, ["comm", "pid", "prio"])?;
            Event::ProcessFree {
                comm: Comm::new(c),
                pid: n(p)?,
                prio: n(pr)?,
            }
        }
        "sched_pi_setprio" => {
            let [c, p, o, nw] = kv(args, ["comm", "pid", "oldprio", "newprio"])?;
            Event::PiSetprio {
                comm: Comm::new(c),
                pid: n(p)?,
                oldprio: n(o)?,
                newprio: n(nw)?,
            }
        }
        "tracing_mark_write" => Event::Print {
            text: args.to_string(),
        },
        other => {
            let v = IrqVector::ALL
                .into_iter()
                .find(|v| v.entry_name() == other)?;
            let [vector] = kv(args, ["vector"])?;
            if u(vector)? != v.vector() {
                return None;
            }
            Event::IrqEntry(v)
        }
    })
}
