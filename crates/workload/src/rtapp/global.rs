//! The `global` object: simulation length, default policy, PI mutexes, trace markers, and the
//! host-side settings rt-app needs on a real machine (accepted, type-checked, ignored).

use super::cx::{Cx, Res};
use super::json::{join_path, Json, Kind};
use super::sched::parse_policy;
use crate::model::{Markers, Nanos, Policy};

/// rt-app's `DEFAULT_MEM_BUF_SIZE`.
pub const DEFAULT_MEM_BUFFER_SIZE: u64 = 4 * 1024 * 1024;

/// What the rest of the import needs from `global`.
#[derive(Clone, Debug)]
pub(crate) struct Global {
    pub duration: Option<Nanos>,
    pub default_policy: Policy,
    pub pi_enabled: bool,
    pub markers: Markers,
    /// `cumulative_slack`: the `slack` of an `rtapp_stats` line sums every timer of the
    /// iteration instead of keeping the last one.
    pub cumulative_slack: bool,
    pub io_device: String,
    /// Bytes; `None` if the file set a value <= 0 (only an error if mem/iorun use it).
    pub mem_buffer_size: Option<u64>,
    pub mem_buffer_size_loc: crate::model::Loc,
    /// An integer `calibration` (ns per loop); None for `"CPUn"`.
    pub calibration_ns: Option<u64>,
    /// `lock_pages` (upstream's default true): an RT or DL thread `mlockall`s at its start
    /// (rt-app forces it off for a thread that sets a fair policy).
    pub lock_pages: bool,
    /// An integer `log_size`: rt-app prints "Log buffer size fixed to N MB" as it parses.
    pub log_size_line: bool,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            duration: None,
            default_policy: Policy::Normal,
            pi_enabled: false,
            markers: Markers::default(),
            cumulative_slack: false,
            io_device: "/dev/null".into(),
            mem_buffer_size: Some(DEFAULT_MEM_BUFFER_SIZE),
            mem_buffer_size_loc: Default::default(),
            calibration_ns: None,
            lock_pages: true,
            log_size_line: false,
        }
    }
}

/// Keys older rt-app versions read and current ones ignore; Debian's examples still carry
/// `frag`. Accepted so those files load.
const LEGACY_KEYS: &[&str] = &["frag", "fragment", "spacing"];

pub(crate) fn parse_global(cx: &Cx, obj: &Json, path: &str) -> Res<Global> {
    let obj = cx.object(obj, path)?;
    let mut g = Global::default();
    for e in obj.entries() {
        let p = join_path(path, e.key);
        let v = e.value;
        match e.key {
            "duration" => {
                // Seconds; rt-app only stops on its own when duration > 0 (-1 = until the
                // threads finish their loops).
                let s = cx.int(v, &p)?;
                g.duration = (s > 0).then(|| s as u64 * 1_000_000_000);
            }
            "default_policy" => {
                g.default_policy = parse_policy(cx, v, &p)?;
            }
            "pi_enabled" => g.pi_enabled = cx.bool(v, &p)?,
            "ftrace" => g.markers = parse_ftrace(cx, v, &p)?,
            "calibration" => g.calibration_ns = parse_calibration(cx, v, &p)?,
            "io_device" => g.io_device = cx.str(v, &p)?.to_string(),
            "mem_buffer_size" => {
                let n = cx.int(v, &p)?;
                g.mem_buffer_size = (n > 0).then_some(n as u64);
                g.mem_buffer_size_loc = v.loc;
            }
            "log_size" => match &v.kind {
                // int MB, or "file" / "disable" / "auto" (rt-app ignores other strings).
                Kind::Int(_) => {
                    cx.int(v, &p)?;
                    g.log_size_line = true;
                }
                Kind::Str(_) => {}
                _ => return Err(cx.type_err(v, &p, "an integer (MB) or a string")),
            },
            "logdir" | "log_basename" => {
                cx.opt_str(v, &p)?;
            }
            "cumulative_slack" => g.cumulative_slack = cx.bool(v, &p)?,
            "lock_pages" => g.lock_pages = cx.bool(v, &p)?,
            "gnuplot" => {
                cx.bool(v, &p)?;
            }
            k if LEGACY_KEYS.contains(&k) => {}
            _ => {
                return Err(cx
                    .err(
                        e.key_loc,
                        &p,
                        format!("unknown key `{}` in `global`", e.key),
                    )
                    .with_hint(
                        "known keys: duration, calibration, default_policy, pi_enabled, \
                         lock_pages, logdir, log_basename, log_size, ftrace, gnuplot, io_device, \
                         mem_buffer_size, cumulative_slack (rt-app ignores unknown keys; schedsim \
                         refuses them so that a misspelt key does not silently change the run)",
                    ))
            }
        }
    }
    Ok(g)
}

/// `"CPUn"` (calibrate on CPU n: loops then take their nominal time, None) or an int
/// ns-per-loop, which a `run` divides into its loop count (see docs/rt-app.md; the
/// machine's `rtapp_loop` says what a loop really costs).
fn parse_calibration(cx: &Cx, v: &Json, p: &str) -> Res<Option<u64>> {
    match &v.kind {
        Kind::Int(_) => {
            let n = cx.int(v, p)?;
            if n < 0 {
                return Err(cx.err(v.loc, p, "calibration (ns per loop) must not be negative"));
            }
            // 0: rt-app calibrates at start, as for "CPU0".
            Ok((n > 0).then_some(n as u64))
        }
        Kind::Str(s) => {
            let ok = s.strip_prefix("CPU").is_some_and(|n| {
                n.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
            });
            if ok {
                Ok(None)
            } else {
                Err(cx.err(
                    v.loc,
                    p,
                    format!("invalid calibration \"{s}\": expected \"CPU<n>\" or an integer (rt-app: \"Invalid calibration\")"),
                ))
            }
        }
        _ => Err(cx.type_err(v, p, "\"CPU<n>\" or an integer")),
    }
}

/// `ftrace`: a comma list of categories, or the deprecated boolean (true = all).
fn parse_ftrace(cx: &Cx, v: &Json, p: &str) -> Res<Markers> {
    let all = Markers {
        main: true,
        task: true,
        looping: true,
        event: true,
        stats: true,
    };
    match &v.kind {
        Kind::Bool(true) => Ok(all),
        Kind::Bool(false) | Kind::Null => Ok(Markers::default()),
        Kind::Str(s) => {
            let mut m = Markers::default();
            for cat in s.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                match cat {
                    "main" => m.main = true,
                    "task" => m.task = true,
                    "loop" => m.looping = true,
                    "event" => m.event = true,
                    "stats" => m.stats = true,
                    // Upstream's sched-attribute markers: accepted, not modelled (no field).
                    "attrs" | "none" => {}
                    other => {
                        return Err(cx.err(
                            v.loc,
                            p,
                            format!(
                                "unknown ftrace category `{other}` (rt-app: \"Invalid ftrace categories\"); \
                                 valid: main, task, loop, event, stats, attrs, none"
                            ),
                        ))
                    }
                }
            }
            Ok(m)
        }
        _ => Err(cx.type_err(v, p, "a string of categories or a boolean")),
    }
}
