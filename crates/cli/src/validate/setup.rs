//! A scenario's `setup` lines (shell commands run as root before the real recording),
//! translated one to one into schedsim settings: sysctl writes become `--sysctl`, cgroup
//! `mkdir`s and file writes become `--cgroup` declarations and settings. `rmdir` (the
//! teardown's) is ignored.

use schedsim_kernel::Config;
use schedsim_workload::Workload;

use crate::cgroup::{self, CgroupWrite};

/// Where the cgroup hierarchy is mounted: v1's cpu controller, or v2's unified root.
const CGROUP_ROOTS: &[&str] = &[
    "/sys/fs/cgroup/cpu,cpuacct",
    "/sys/fs/cgroup/cpuacct,cpu",
    "/sys/fs/cgroup/cpu",
    "/sys/fs/cgroup",
];

/// `/sys/fs/cgroup/cpu/A/B` -> `/A/B` (the mount point itself is `/`); None outside the
/// cgroup filesystem.
fn cgroup_dir(dir: &str) -> Option<&str> {
    CGROUP_ROOTS
        .iter()
        .find_map(|root| match dir.strip_prefix(root)? {
            "" => Some("/"),
            rest => rest.starts_with('/').then_some(rest),
        })
}

/// Applies the setup lines to the machine configuration, and the cgroups they create and
/// write to `groups` (a workload of only those, to go ahead of the scenario's own).
pub fn apply(cfg: &mut Config, groups: &mut Workload, lines: &[&str]) -> Result<(), String> {
    for line in lines {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with("rmdir ") {
            continue;
        }
        if let Some(args) = l.strip_prefix("mkdir ") {
            for dir in args.split_whitespace().filter(|a| !a.starts_with('-')) {
                if let Some(p) = cgroup_dir(dir) {
                    let path = cgroup::path(p).map_err(|e| format!("setup `{l}`: {e}"))?;
                    CgroupWrite { path, file: None }.add_to(groups);
                }
            }
            continue;
        }
        if let Some(rest) = l
            .strip_prefix("sysctl -w ")
            .or_else(|| l.strip_prefix("sysctl "))
        {
            let (n, v) = rest
                .split_once('=')
                .ok_or_else(|| format!("setup `{l}`: expected sysctl NAME=VALUE"))?;
            cfg.apply_sysctl(n.trim(), v.trim())
                .map_err(|e| format!("setup `{l}`: {e}"))?;
            continue;
        }
        let Some((value, path)) = l.strip_prefix("echo ").and_then(|r| r.split_once('>')) else {
            return Err(format!(
                "setup `{l}`: not a sysctl or cgroup write schedsim knows"
            ));
        };
        let (value, path) = (cgroup::unquote(value.trim()), path.trim());
        if let Some(name) = path.strip_prefix("/proc/sys/") {
            let name = name.replace('/', ".");
            cfg.apply_sysctl(&name, value)
                .map_err(|e| format!("setup `{l}`: {e}"))?;
        } else if let Some(rel) = cgroup_dir(path) {
            let bad = |e: String| format!("setup `{l}`: {e}");
            let (dir, file) = rel.rsplit_once('/').unwrap_or(("", rel));
            let path = cgroup::path(if dir.is_empty() { "/" } else { dir }).map_err(bad)?;
            cgroup::file_name(file).map_err(bad)?;
            CgroupWrite {
                path,
                file: Some((file.to_string(), value.to_string())),
            }
            .add_to(groups);
        } else {
            return Err(format!("setup `{l}`: unknown target {path}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_lines_apply() {
        let mut c = Config::default();
        let mut g = Workload::default();
        apply(
            &mut c,
            &mut g,
            &[
                "echo 10 > /proc/sys/kernel/sched_rr_timeslice_ms",
                "sysctl -w kernel.sched_rt_runtime_us=-1",
            ],
        )
        .unwrap();
        assert_eq!((c.rr_timeslice_ms, c.rt_runtime_us), (10, -1));
        assert!(apply(&mut c, &mut g, &["rm -rf /"]).is_err());
        assert_eq!(g, Workload::default());
    }

    #[test]
    fn cgroup_lines_declare_and_write_groups() {
        let mut c = Config::default();
        let mut g = Workload::default();
        apply(
            &mut c,
            &mut g,
            &[
                // 16_cgroup_shares and 15_cgroup_quota (v1), then v2 forms.
                "mkdir -p /sys/fs/cgroup/cpu/oracle-A /sys/fs/cgroup/cpu/oracle-B",
                "echo 1024 > /sys/fs/cgroup/cpu/oracle-A/cpu.shares",
                "echo 50000 > /sys/fs/cgroup/cpu,cpuacct/oracle-q50/cpu.cfs_quota_us",
                "mkdir /sys/fs/cgroup/web",
                "echo \"50000 100000\" > /sys/fs/cgroup/web/cpu.max",
                "echo +cpu > /sys/fs/cgroup/cgroup.subtree_control",
                "mkdir -p /tmp/not-a-cgroup",
                "rmdir /sys/fs/cgroup/cpu/oracle-A /sys/fs/cgroup/cpu/oracle-B",
            ],
        )
        .unwrap();
        let groups: Vec<&str> = g.cgroups.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(groups, ["/oracle-A", "/oracle-B", "/oracle-q50", "/web"]);
        let files: Vec<(&str, &str, &str)> = g
            .cgroup_files
            .iter()
            .map(|s| (s.path.as_str(), s.file.as_str(), s.value.as_str()))
            .collect();
        assert_eq!(
            files,
            [
                ("/oracle-A", "cpu.shares", "1024"),
                ("/oracle-q50", "cpu.cfs_quota_us", "50000"),
                ("/web", "cpu.max", "50000 100000"),
                ("/", "cgroup.subtree_control", "+cpu"),
            ]
        );
        let e = apply(&mut c, &mut g, &["mkdir -p /sys/fs/cgroup/cpu/a/../b"]).unwrap_err();
        assert!(e.starts_with("setup `mkdir"), "{e}");
    }
}
