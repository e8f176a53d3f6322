//! Scheduling keys (`policy`, `priority`, `dl-*`, legacy `runtime`/`period`/`deadline`,
//! `util_*`) and how rt-app turns them into the `sched_setattr` a thread ends up with.
//!
//! rt-app (`parse_sched_data` + `set_thread_param`):
//! * thread level: the policy defaults to `global.default_policy`, the priority to 0 (fair,
//!   deadline) or 10 (FIFO/RR), `dl-period` to `dl-runtime`, `dl-deadline` to `dl-period`;
//!   the legacy keys fill whatever `dl-*` left at 0. It is always applied, after `delay`.
//! * phase level: nothing happens unless the phase sets one of the keys. Without `policy`
//!   the current policy is kept ("same"), and only the given values change.
//! * For fair policies `priority` is the nice value (ignored for SCHED_IDLE) and
//!   `dl-runtime` the requested EEVDF slice (`sched_runtime`); for FIFO/RR `priority` is the
//!   rt priority. The kernel keeps the nice value across policy changes
//!   (`sched_setscheduler` passes the current one), so we carry it.

use super::cx::{Cx, Res};
use super::json::{join_path, Json};
use crate::model::{Loc, Policy, SchedAttr};

/// rt-app's `DEFAULT_THREAD_PRIORITY` for FIFO/RR.
const DEFAULT_RT_PRIORITY: i64 = 10;
/// The kernel refuses a SCHED_DEADLINE runtime below 2^DL_SCALE ns.
const DL_MIN_RUNTIME_NS: u64 = 1 << 10;

#[derive(Clone, Copy, Debug)]
pub(crate) struct At<T> {
    pub v: T,
    pub loc: Loc,
}

/// The scheduling keys of one thread or phase object, as written.
#[derive(Clone, Debug, Default)]
pub(crate) struct SchedSpec {
    pub policy: Option<At<Policy>>,
    pub priority: Option<At<i64>>,
    /// Microseconds.
    pub dl_runtime: Option<At<u64>>,
    pub dl_period: Option<At<u64>>,
    pub dl_deadline: Option<At<u64>>,
    /// Thread-level legacy aliases (`runtime` is also an event key).
    pub legacy_runtime: Option<At<u64>>,
    pub legacy_period: Option<At<u64>>,
    pub legacy_deadline: Option<At<u64>>,
    /// The first `util_min`/`util_max` that asks for a clamp (key and value location).
    pub util: Option<At<&'static str>>,
    /// The object (for messages that concern no single key) and its path.
    pub loc: Loc,
    pub path: String,
}

/// Parse a policy name as rt-app's `string_to_policy` (plus upstream's BATCH/IDLE).
pub(crate) fn parse_policy(cx: &Cx, v: &Json, path: &str) -> Res<Policy> {
    let s = cx.str(v, path)?;
    Ok(match s {
        "SCHED_OTHER" => Policy::Normal,
        "SCHED_BATCH" => Policy::Batch,
        "SCHED_IDLE" => Policy::Idle,
        "SCHED_FIFO" => Policy::Fifo,
        "SCHED_RR" => Policy::Rr,
        "SCHED_DEADLINE" => Policy::Deadline,
        _ => return Err(cx
            .err(
                v.loc,
                path,
                format!("invalid policy \"{s}\" (rt-app: \"Invalid policy {s}\")"),
            )
            .with_hint(
                "valid: SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR, SCHED_DEADLINE",
            )),
    })
}

impl SchedSpec {
    pub fn new(loc: Loc, path: &str) -> Self {
        SchedSpec {
            loc,
            path: path.to_string(),
            ..Default::default()
        }
    }

    /// Take `key` if it is a scheduling key; `thread_level` enables the legacy aliases
    /// (`runtime` is handled by the caller, since it is an event key too).
    pub fn take(
        &mut self,
        cx: &Cx,
        key: &str,
        v: &Json,
        obj_path: &str,
        thread_level: bool,
    ) -> Res<bool> {
        let p = join_path(obj_path, key);
        let us = |what| -> Res<At<u64>> {
            Ok(At {
                v: cx.uint(v, &p, what)?,
                loc: v.loc,
            })
        };
        match key {
            "policy" => {
                self.policy = Some(At {
                    v: parse_policy(cx, v, &p)?,
                    loc: v.loc,
                })
            }
            "priority" => {
                self.priority = Some(At {
                    v: cx.int(v, &p)?,
                    loc: v.loc,
                })
            }
            "dl-runtime" => self.dl_runtime = Some(us("dl-runtime")?),
            "dl-period" => self.dl_period = Some(us("dl-period")?),
            "dl-deadline" => self.dl_deadline = Some(us("dl-deadline")?),
            "period" if thread_level => self.legacy_period = Some(us("period")?),
            "deadline" if thread_level => self.legacy_deadline = Some(us("deadline")?),
            "util_min" | "util_max" => {
                // rt-app's own check first; whether the clamp is refused depends on the
                // policy it applies to (`uclamp_refused`).
                let n = cx.int(v, &p)?;
                if n > 1024 {
                    return Err(cx.err(
                        v.loc,
                        &p,
                        format!("Invalid {key} {n} (>1024) (rt-app's rule)"),
                    ));
                }
                // -1 is rt-app's "no change" (`parse_sched_data`): no sched_setattr call.
                if n != -1 && self.util.is_none() {
                    let key = if key == "util_min" {
                        "util_min"
                    } else {
                        "util_max"
                    };
                    self.util = Some(At { v: key, loc: v.loc });
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The legacy thread-level `runtime` (a thread without `phases` also runs it as an event,
    /// exactly as rt-app does).
    pub fn set_legacy_runtime(&mut self, cx: &Cx, v: &Json, path: &str) -> Res<()> {
        self.legacy_runtime = Some(At {
            v: cx.uint(v, path, "runtime")?,
            loc: v.loc,
        });
        Ok(())
    }

    fn sets_anything(&self) -> bool {
        self.policy.is_some()
            || self.priority.is_some()
            || self.dl_runtime.is_some()
            || self.dl_period.is_some()
            || self.dl_deadline.is_some()
            || self.util.is_some()
    }

    /// rt-app's dl chain: period defaults to runtime, deadline to period (µs).
    fn dl_chain(&self) -> (u64, u64, u64) {
        let rt = self.dl_runtime.map_or(0, |a| a.v);
        let per = self.dl_period.map_or(rt, |a| a.v);
        let dl = self.dl_deadline.map_or(per, |a| a.v);
        (rt, per, dl)
    }

    fn key_loc(&self, a: Option<Loc>) -> Loc {
        a.unwrap_or(self.loc)
    }
}

/// The attributes a thread gets right after its `delay` (always applied by rt-app).
pub(crate) fn thread_attr(cx: &Cx, s: &SchedSpec, default_policy: Policy) -> Res<SchedAttr> {
    let policy = s.policy.map_or(default_policy, |a| a.v);
    let prio = s.priority.map_or(default_priority(policy), |a| a.v);
    let (mut rt, mut per, mut dl) = s.dl_chain();
    // Legacy aliases fill what dl-* left at zero, in rt-app's order.
    if rt == 0 {
        rt = s.legacy_runtime.map_or(0, |a| a.v);
    }
    if per == 0 {
        per = s.legacy_period.map_or(rt, |a| a.v);
    }
    if dl == 0 {
        dl = s.legacy_deadline.map_or(per, |a| a.v);
    }
    make_attr(
        cx,
        s,
        policy,
        Some(prio),
        Some((rt, per, dl)),
        &SchedAttr::default(),
    )
}

/// The attributes a phase switches to, or `None` if it sets no scheduling key.
pub(crate) fn phase_attr(cx: &Cx, s: &SchedSpec, current: &SchedAttr) -> Res<Option<SchedAttr>> {
    if !s.sets_anything() {
        return Ok(None);
    }
    let attr = match s.policy {
        Some(p) => {
            let prio = s.priority.map_or(default_priority(p.v), |a| a.v);
            make_attr(cx, s, p.v, Some(prio), Some(s.dl_chain()), current)?
        }
        None => {
            let dl = (s.dl_runtime.is_some() || s.dl_period.is_some() || s.dl_deadline.is_some())
                .then(|| s.dl_chain());
            make_attr(cx, s, current.policy, s.priority.map(|a| a.v), dl, current)?
        }
    };
    Ok(Some(attr))
}

/// `util_min`/`util_max` on a thread or phase that applies `policy`. rt-app's
/// `set_thread_param` calls `_set_thread_uclamp` for SCHED_OTHER/BATCH/IDLE/FIFO/RR (not for
/// SCHED_DEADLINE, where the keys are ignored): a `sched_setattr` with
/// SCHED_FLAG_UTIL_CLAMP_MIN/MAX, which a kernel without CONFIG_UCLAMP_TASK — the reference
/// kernel — refuses with EOPNOTSUPP, and rt-app exits. schedsim models that kernel.
pub(crate) fn uclamp_refused(cx: &Cx, s: &SchedSpec, policy: Policy) -> Res<()> {
    let Some(u) = s.util else { return Ok(()) };
    if policy == Policy::Deadline {
        return Ok(());
    }
    Err(cx
        .err(
            u.loc,
            &join_path(&s.path, u.v),
            format!(
                "`{}` asks for uclamp: sched_setattr with SCHED_FLAG_UTIL_CLAMP fails with \
                 EOPNOTSUPP on a kernel without CONFIG_UCLAMP_TASK (the reference kernel), and \
                 rt-app exits (\"sched_setattr: failed to set uclamp value(s)\"); schedsim does \
                 not model uclamp",
                u.v
            ),
        )
        .with_hint(format!(
            "remove `{}` (rt-app ignores util_min/util_max only on SCHED_DEADLINE threads; -1 \
             means no change)",
            u.v
        )))
}

fn default_priority(p: Policy) -> i64 {
    if p.is_rt() {
        DEFAULT_RT_PRIORITY
    } else {
        0
    }
}

/// Build the attribute for `policy`; `prio`/`dl` = None keep `base`'s values.
fn make_attr(
    cx: &Cx,
    s: &SchedSpec,
    policy: Policy,
    prio: Option<i64>,
    dl: Option<(u64, u64, u64)>,
    base: &SchedAttr,
) -> Res<SchedAttr> {
    let prio_loc = s.key_loc(s.priority.map(|a| a.loc));
    let prio_path = join_path(&s.path, "priority");
    let same_policy = base.policy == policy;
    let mut a = SchedAttr {
        policy,
        nice: base.nice,
        ..SchedAttr::default()
    };
    match policy {
        Policy::Normal | Policy::Batch | Policy::Ext => {
            if let Some(n) = prio {
                if !(-20..=19).contains(&n) {
                    return Err(cx.err(
                        prio_loc,
                        &prio_path,
                        format!(
                            "nice {n} is out of range for {} (rt-app: \"setpriority {n} nice invalid. Valid between -20 and 19\")",
                            policy.name()
                        ),
                    ));
                }
                a.nice = n as i32;
            }
            // dl-runtime on a fair policy is the requested EEVDF slice (0 = default).
            a.runtime = match dl {
                Some((rt, _, _)) => rt * 1000,
                None if same_policy => base.runtime,
                None => 0,
            };
        }
        Policy::Idle => {
            // SCHED_IDLE ignores priority (rt-app calls setpriority only for SCHED_OTHER).
        }
        Policy::Fifo | Policy::Rr => {
            let p = match prio {
                Some(p) => p,
                None if base.policy.is_rt() => base.rt_priority as i64,
                None => DEFAULT_RT_PRIORITY,
            };
            if !(1..=99).contains(&p) {
                return Err(cx.err(
                    prio_loc,
                    &prio_path,
                    format!(
                        "priority {p} is out of {}'s range 1..99 (pthread_setschedparam fails with EINVAL and rt-app exits)",
                        policy.name()
                    ),
                ));
            }
            a.rt_priority = p as u32;
        }
        Policy::Deadline => {
            let (rt, per, dln) = match dl {
                Some((rt, per, dl)) => (rt * 1000, per * 1000, dl * 1000),
                None if same_policy => (base.runtime, base.period, base.deadline),
                None => (0, 0, 0),
            };
            check_deadline(cx, s, rt, per, dln)?;
            a.runtime = rt;
            a.period = per;
            a.deadline = dln;
        }
    }
    Ok(a)
}

/// The kernel's `__checkparam_dl` rules that rt-app runs into (it exits when
/// `sched_setattr` fails). Period limits and admission control are left to the simulator.
fn check_deadline(cx: &Cx, s: &SchedSpec, rt: u64, per: u64, dl: u64) -> Res<()> {
    let loc = s.key_loc(
        s.dl_runtime
            .map(|a| a.loc)
            .or(s.legacy_runtime.map(|a| a.loc)),
    );
    let path = join_path(&s.path, "dl-runtime");
    if rt == 0 {
        return Err(cx
            .err(loc, &path, "SCHED_DEADLINE without runtime: `dl-runtime` is 0 or missing (sched_setattr fails with EINVAL and rt-app exits)")
            .with_hint("set \"dl-runtime\" (and \"dl-period\", \"dl-deadline\") in microseconds"));
    }
    if rt < DL_MIN_RUNTIME_NS {
        return Err(cx.err(
            loc,
            &path,
            format!("SCHED_DEADLINE runtime {rt} ns is below the kernel minimum of {DL_MIN_RUNTIME_NS} ns (EINVAL)"),
        ));
    }
    if rt > dl {
        return Err(cx.err(
            loc,
            &path,
            format!("SCHED_DEADLINE runtime ({} us) exceeds the deadline ({} us): the kernel refuses it (EINVAL)", rt / 1000, dl / 1000),
        ));
    }
    if dl > per {
        let loc = s.key_loc(s.dl_deadline.map(|a| a.loc));
        return Err(cx.err(
            loc,
            &join_path(&s.path, "dl-deadline"),
            format!("SCHED_DEADLINE deadline ({} us) exceeds the period ({} us): the kernel refuses it (EINVAL)", dl / 1000, per / 1000),
        ));
    }
    Ok(())
}
