//! A scenario's `setup` lines (shell commands run as root before the real recording),
//! translated one to one into schedsim settings: sysctl writes become `--sysctl`, cgroup
//! file writes become `--cgroup` settings. `mkdir` of a cgroup is implied by its files.

use schedsim_kernel::Config;

/// Applies the setup lines to the machine configuration.
pub fn apply(cfg: &mut Config, lines: &[&str]) -> Result<(), String> {
    for line in lines {
        let l = line.trim();
        if l.is_empty() || l.starts_with("mkdir") || l.starts_with('#') {
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
        let (value, path) = (value.trim().trim_matches('"'), path.trim());
        if let Some(name) = path.strip_prefix("/proc/sys/") {
            let name = name.replace('/', ".");
            cfg.apply_sysctl(&name, value)
                .map_err(|e| format!("setup `{l}`: {e}"))?;
        } else if path.starts_with("/sys/fs/cgroup/") {
            return Err(format!(
                "setup `{l}`: group scheduling (cgroups) is not simulated yet"
            ));
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
    fn sysctl_lines_apply_and_cgroup_lines_are_refused_clearly() {
        let mut c = Config::default();
        apply(
            &mut c,
            &[
                "echo 10 > /proc/sys/kernel/sched_rr_timeslice_ms",
                "sysctl -w kernel.sched_rt_runtime_us=-1",
            ],
        )
        .unwrap();
        assert_eq!((c.rr_timeslice_ms, c.rt_runtime_us), (10, -1));
        let e = apply(
            &mut c,
            &["echo 50000 > /sys/fs/cgroup/cpu/q/cpu.cfs_quota_us"],
        )
        .unwrap_err();
        assert!(e.contains("cgroups"));
        assert!(apply(&mut c, &["rm -rf /"]).is_err());
    }
}
