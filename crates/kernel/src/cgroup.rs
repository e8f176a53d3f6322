//! The cpu controller as a workload sets it up: the cgroup tree (`mkdir`), and writes to
//! its files in their cgroup v2 and v1 names (kernel/sched/core.c `cpu_files`,
//! `cpu_legacy_files`), each checked by the rule the kernel applies to the write; and the
//! cpuset controller's `cpuset.cpus` (core/cpuset.rs).

use schedsim_workload::{CgroupSetting, Loc, Step, Workload};

use crate::class::fair::bandwidth::set_bandwidth;
use crate::class::fair::group::{set_shares, TgId, ROOT_TG};
use crate::prio::{scale_load, PRIO_TO_WEIGHT, WEIGHT_IDLEPRIO};
use crate::sched::Sched;
use crate::user::UserError;

/// `min_cfs_quota_period` and `max_cfs_quota_period`.
const MIN_PERIOD_US: u64 = 1_000;
const MAX_PERIOD_US: u64 = 1_000_000;
/// `max_cfs_runtime`: MAX_BW (2^44 − 1) microseconds.
const MAX_CFS_RUNTIME_US: u64 = (1u64 << 44) - 1;
/// The default period (`default_bw_period_us`).
const DEFAULT_PERIOD_US: u64 = 100_000;

/// One group's `cpu.max` as the writes leave it.
#[derive(Clone, Copy)]
struct Bw {
    quota_us: Option<u64>,
    period_us: u64,
    burst_us: u64,
    /// Set through a v1 file (children may not exceed their parent there).
    v1: bool,
}

impl Default for Bw {
    fn default() -> Bw {
        Bw {
            quota_us: None,
            period_us: DEFAULT_PERIOD_US,
            burst_us: 0,
            v1: false,
        }
    }
}

/// Creates the workload's groups and applies its cgroup file writes in order.
pub fn setup(s: &mut Sched, w: &Workload) -> Result<(), UserError> {
    for d in &w.cgroups {
        mkdir_p(s, &d.path).map_err(|m| UserError {
            task: "(setup)".into(),
            message: format!("{}:{}: {m}", w.source, loc_text(d.loc)),
        })?;
    }
    let mut bw: Vec<Bw> = vec![Bw::default(); s.fair.tg.len()];
    for c in &w.cgroup_files {
        let err = |rule: String| UserError {
            task: "(setup)".into(),
            message: format!(
                "{}:{}: cgroup {} {} = {}: {rule}",
                w.source,
                loc_text(c.loc),
                c.path,
                c.file,
                c.value
            ),
        };
        let g = s
            .fair
            .group_by_path(&c.path)
            .ok_or_else(|| err(format!("no cgroup `{}` (declare it first)", c.path)))?;
        if g == ROOT_TG {
            return Err(err("the root group's cpu files cannot be written".into()));
        }
        write_file(s, g, c, &mut bw[g.0 as usize]).map_err(err)?;
        check_hierarchy(s, &bw).map_err(err)?;
        // sched_ext: tg_set_bandwidth → scx_group_set_bandwidth after a successful write
        // (a no-op unless the bandwidth changed).
        let b = bw[g.0 as usize];
        let quota_us = b.quota_us.unwrap_or(crate::class::ext::cgroup::RUNTIME_INF);
        crate::class::ext::cgroup::scx_group_set_bandwidth(s, g, b.period_us, quota_us, b.burst_us);
    }
    for (i, b) in bw.iter().enumerate().skip(1) {
        if b.quota_us.is_some() {
            set_bandwidth(
                s,
                TgId(i as u32),
                b.quota_us.map(|q| q * 1000),
                b.period_us * 1000,
                b.burst_us * 1000,
            );
        }
    }
    check_group_refs(s, w)
}

fn loc_text(l: Loc) -> String {
    if l.line == 0 {
        "--cgroup".into()
    } else {
        l.to_string()
    }
}

/// `mkdir -p`: the group and any missing parents.
fn mkdir_p(s: &mut Sched, path: &str) -> Result<TgId, String> {
    if let Some(g) = s.fair.group_by_path(path) {
        return Ok(g);
    }
    let parent_path = match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    };
    let parent = mkdir_p(s, parent_path)?;
    let g = crate::class::fair::group::sched_create_group(s, path, parent);
    // sched_ext: cpu_cgroup_css_online → scx_tg_online: ops.cgroup_init while a policy is
    // loaded, whose error fails the mkdir.
    crate::class::ext::cgroup::scx_tg_online(s, g).map_err(|e| {
        format!(
            "mkdir {path}: sched_ext policy \"{}\" refused the cgroup \
             (ops.cgroup_init() returned {e})",
            s.ext.name
        )
    })?;
    Ok(g)
}

fn int(v: &str) -> Result<i64, String> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| format!("`{v}` is not an integer (the write fails with EINVAL)"))
}

/// One file write, with the kernel's rule for it.
fn write_file(s: &mut Sched, g: TgId, c: &CgroupSetting, bw: &mut Bw) -> Result<(), String> {
    let v = c.value.as_str();
    let idle = s.fair.tg(g).idle;
    let shares_write = |s: &mut Sched, shares: u64| {
        // sched_group_set_shares: refused while the group is idle.
        if idle {
            return Err(
                "the group is idle (cpu.idle = 1): its weight cannot be set (EINVAL)".into(),
            );
        }
        set_shares(s, g, shares);
        // sched_ext: scx_group_set_weight with the cgroup v2 weight,
        // sched_weight_to_cgroup(shares) (a cpu.weight write round-trips exactly).
        let weight = crate::class::ext::scx_weight(s.fair.tg(g).shares);
        crate::class::ext::cgroup::scx_group_set_weight(s, g, weight);
        Ok(())
    };
    match c.file.as_str() {
        "cpu.weight" => {
            let w = int(v)?;
            if !(1..=10_000).contains(&w) {
                return Err(
                    "cpu.weight must be 1 to 10000 (CGROUP_WEIGHT_MIN..MAX; ERANGE)".into(),
                );
            }
            // sched_weight_from_cgroup: DIV_ROUND_CLOSEST(weight * 1024, 100).
            shares_write(s, scale_load((w as u64 * 1024 + 50) / 100))
        }
        "cpu.weight.nice" => {
            let n = int(v)?;
            if !(-20..=19).contains(&n) {
                return Err("cpu.weight.nice must be -20 to 19 (ERANGE)".into());
            }
            shares_write(s, scale_load(PRIO_TO_WEIGHT[(n + 20) as usize]))
        }
        "cpu.shares" => {
            let w = int(v)?;
            if w < 0 {
                return Err("cpu.shares is unsigned (EINVAL)".into());
            }
            // Clamped to [MIN_SHARES, MAX_SHARES] without an error, as the kernel does.
            shares_write(s, scale_load(w as u64))
        }
        "cpu.idle" => {
            let i = int(v)?;
            if !(0..=1).contains(&i) {
                return Err("cpu.idle must be 0 or 1 (EINVAL)".into());
            }
            // sched_group_set_idle: the group entity weighs WEIGHT_IDLEPRIO while idle.
            s.fair.tg_mut(g).idle = i == 1;
            set_shares(
                s,
                g,
                scale_load(if i == 1 { WEIGHT_IDLEPRIO } else { 1024 }),
            );
            Ok(())
        }
        "cpu.max" => {
            let mut it = v.split_whitespace();
            let q = it
                .next()
                .ok_or("cpu.max is \"QUOTA PERIOD\" or \"max PERIOD\"")?;
            let period = match it.next() {
                Some(p) => positive(p)?,
                None => bw.period_us,
            };
            if it.next().is_some() {
                return Err("cpu.max takes at most two fields: \"QUOTA PERIOD\"".into());
            }
            let quota = if q == "max" { None } else { Some(positive(q)?) };
            set_cfs_bandwidth(bw, quota, period, bw.burst_us, false)
        }
        "cpu.cfs_quota_us" => {
            let q = int(v)?;
            let quota = if q < 0 { None } else { Some(q as u64) };
            set_cfs_bandwidth(bw, quota, bw.period_us, bw.burst_us, true)
        }
        "cpu.cfs_period_us" => {
            let p = positive(v)?;
            set_cfs_bandwidth(bw, bw.quota_us, p, bw.burst_us, true)
        }
        "cpu.max.burst" | "cpu.cfs_burst_us" => {
            let b = int(v)?;
            if b < 0 {
                return Err("the burst is unsigned (EINVAL)".into());
            }
            let v1 = c.file == "cpu.cfs_burst_us";
            set_cfs_bandwidth(bw, bw.quota_us, bw.period_us, b as u64, v1)
        }
        "cpuset.cpus" => {
            let cpus = schedsim_workload::parse_cpulist(v).map_err(|e| format!("{e} (EINVAL)"))?;
            s.cpuset_write(g, &cpus)
        }
        "cpuset.cpus.effective" => {
            Err("cpuset.cpus.effective is read-only: write cpuset.cpus (EACCES)".into())
        }
        f => Err(format!(
            "`{f}` is not a cpu or cpuset controller file schedsim knows (known: \
             cpu.weight, cpu.weight.nice, cpu.idle, cpu.max, cpu.max.burst, cpuset.cpus, \
             and the v1 names cpu.shares, cpu.cfs_quota_us, cpu.cfs_period_us, \
             cpu.cfs_burst_us)"
        )),
    }
}

fn positive(v: &str) -> Result<u64, String> {
    let n = int(v)?;
    if n <= 0 {
        return Err(format!(
            "`{v}` must be a positive number of microseconds (EINVAL)"
        ));
    }
    Ok(n as u64)
}

/// `tg_set_cfs_bandwidth`'s checks.
fn set_cfs_bandwidth(
    bw: &mut Bw,
    quota: Option<u64>,
    period: u64,
    burst: u64,
    v1: bool,
) -> Result<(), String> {
    if period < MIN_PERIOD_US {
        return Err("the period must be at least 1 ms (1000 us) (EINVAL)".into());
    }
    if period > MAX_PERIOD_US {
        return Err("the period must be at most 1 s (1000000 us) (EINVAL)".into());
    }
    if let Some(q) = quota {
        if q < MIN_PERIOD_US {
            return Err("the quota must be at least 1 ms (1000 us) (EINVAL)".into());
        }
        if q > MAX_CFS_RUNTIME_US {
            return Err("the quota is larger than the kernel's max_cfs_runtime (EINVAL)".into());
        }
        if burst > q || burst + q > MAX_CFS_RUNTIME_US {
            return Err("the burst may not exceed the quota (EINVAL)".into());
        }
    }
    *bw = Bw {
        quota_us: quota,
        period_us: period,
        burst_us: burst,
        v1: bw.v1 || v1,
    };
    Ok(())
}

/// `__cfs_schedulable` → `tg_cfs_schedulable_down`: with the v1 files a child's quota per
/// period may not exceed its parent's (cgroup v2 takes the smaller instead).
fn check_hierarchy(s: &Sched, bw: &[Bw]) -> Result<(), String> {
    // to_ratio(period, quota) with BW_SHIFT 20; RUNTIME_INF is no limit.
    let ratio = |b: &Bw| b.quota_us.map(|q| (q << 20) / b.period_us);
    let mut hier: Vec<Option<u64>> = vec![None; bw.len()];
    for i in 1..bw.len() {
        let parent = s.fair.tg(TgId(i as u32)).parent.expect("not the root").0 as usize;
        let pq = hier[parent];
        let q = ratio(&bw[i]);
        hier[i] = match (q, pq) {
            (None, _) => pq,
            (Some(q), None) => Some(q),
            (Some(q), Some(p)) if bw[i].v1 && q > p => {
                return Err(format!(
                    "the quota of {} exceeds its parent's (cgroup v1: a child may not \
                     exceed its parent's cpu.cfs_quota_us/cpu.cfs_period_us; EINVAL)",
                    s.fair.tg(TgId(i as u32)).path
                ))
            }
            (Some(q), Some(p)) => Some(q.min(p)),
        };
    }
    Ok(())
}

/// Every group a task starts in or moves to must exist.
fn check_group_refs(s: &Sched, w: &Workload) -> Result<(), UserError> {
    fn steps<'a>(v: &'a [Step], out: &mut Vec<&'a str>) {
        for st in v {
            match st {
                Step::SetCgroup(g) => out.push(g),
                Step::Loop { body, .. } => steps(body, out),
                _ => {}
            }
        }
    }
    for t in &w.tasks {
        let mut refs: Vec<&str> = t.cgroup.iter().map(|g| g.as_str()).collect();
        steps(&t.program, &mut refs);
        if let Some(g) = refs.into_iter().find(|g| s.fair.group_by_path(g).is_none()) {
            return Err(UserError {
                task: t.name.clone(),
                message: format!(
                    "{}:{}: task {} uses cgroup `{g}`, which the workload does not create \
                     (declare it with a [cgroup.\"{g}\"] table or --cgroup {g})",
                    w.source, t.loc, t.name
                ),
            });
        }
    }
    Ok(())
}
