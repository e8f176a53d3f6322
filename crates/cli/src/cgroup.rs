//! cgroups from outside the workload file: `schedsim run --cgroup PATH:FILE=VALUE` and a
//! scenario's setup lines (`mkdir -p /sys/fs/cgroup/cpu/A`, `echo V > .../A/cpu.shares`).
//! Both become the workload's own declarations and cgroup file writes, located at line 0
//! (not in the file); the simulated kernel judges names and values, as for `[cgroup]` tables.

use schedsim_workload::{CgroupSetting, Loc, Workload};

/// One cgroup from the command line or a setup line: the group, and the file written in it.
#[derive(Debug, PartialEq, Eq)]
pub struct CgroupWrite {
    /// Normalised absolute path (`/web`).
    pub path: String,
    /// `(file, value)`, or None when the group is only created.
    pub file: Option<(String, String)>,
}

impl CgroupWrite {
    /// Creates the group in `wl` (unless it exists) and appends the file write.
    pub fn add_to(self, wl: &mut Workload) {
        wl.declare_cgroup(&self.path, Loc::default());
        if let Some((file, value)) = self.file {
            wl.cgroup_files.push(CgroupSetting {
                path: self.path,
                file,
                value,
                loc: Loc::default(),
            });
        }
    }
}

/// A cgroup path as written (`/web`, `/web/`), normalised; the error says what is wrong.
pub fn path(p: &str) -> Result<String, String> {
    schedsim_workload::toml::cgroup_path(p)
}

/// A cgroup file name: one path component, like `cpu.max`.
pub fn file_name(f: &str) -> Result<(), String> {
    if f.is_empty() || f.contains('/') || f.chars().any(char::is_whitespace) {
        return Err(format!("`{f}` is not a cgroup file name (e.g. cpu.max)"));
    }
    Ok(())
}

/// `--cgroup PATH[:FILE=VALUE]`: `/web:cpu.max=50000 100000`, `/q50:cpu.cfs_quota_us=50000`,
/// or `/idle` alone to only create the group. Quotes around the value are dropped, as the
/// shell's `echo` would.
pub fn parse_flag(s: &str) -> Result<CgroupWrite, String> {
    let bad = |why: String| format!("--cgroup {s}: {why} (expected PATH:FILE=VALUE or PATH)");
    let (p, rest) = match s.split_once(':') {
        Some((p, rest)) => (p, Some(rest)),
        None => (s, None),
    };
    let path = path(p.trim()).map_err(bad)?;
    let file = match rest {
        None => None,
        Some(rest) => {
            let (f, v) = rest
                .split_once('=')
                .ok_or_else(|| bad(format!("no `=VALUE` after `{rest}`")))?;
            let f = f.trim();
            file_name(f).map_err(bad)?;
            Some((f.to_string(), unquote(v.trim()).to_string()))
        }
    };
    Ok(CgroupWrite { path, file })
}

/// `"x"` or `'x'` -> `x`.
pub fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// Puts `before`'s groups and file writes ahead of `wl`'s: what a scenario's setup did
/// before the workload started.
pub fn prepend(mut before: Workload, wl: &mut Workload) {
    for g in std::mem::take(&mut wl.cgroups) {
        before.declare_cgroup(&g.path, g.loc);
    }
    wl.cgroups = before.cgroups;
    before.cgroup_files.append(&mut wl.cgroup_files);
    wl.cgroup_files = before.cgroup_files;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(path: &str, file: Option<(&str, &str)>) -> CgroupWrite {
        CgroupWrite {
            path: path.into(),
            file: file.map(|(f, v)| (f.into(), v.into())),
        }
    }

    #[test]
    fn flags() {
        assert_eq!(
            parse_flag("/oracle-q50:cpu.cfs_quota_us=50000"),
            Ok(w("/oracle-q50", Some(("cpu.cfs_quota_us", "50000"))))
        );
        assert_eq!(
            parse_flag("/web/:cpu.max=\"50000 100000\""),
            Ok(w("/web", Some(("cpu.max", "50000 100000"))))
        );
        assert_eq!(parse_flag("/idle"), Ok(w("/idle", None)));
        for bad in [
            "web:cpu.max=1",
            "/web:cpu.max",
            "/web:=1",
            "/a/../b",
            "/w:a/b=1",
        ] {
            let e = parse_flag(bad).unwrap_err();
            assert!(e.starts_with(&format!("--cgroup {bad}: ")), "{e}");
        }
    }

    #[test]
    fn added_groups_are_declared_once_and_setup_comes_first() {
        let mut wl = Workload::default();
        wl.declare_cgroup("/b", Loc { line: 3, col: 1 });
        let mut setup = Workload::default();
        w("/a", Some(("cpu.shares", "1024"))).add_to(&mut setup);
        w("/b", Some(("cpu.shares", "2048"))).add_to(&mut setup);
        w("/", Some(("cpu.weight", "1"))).add_to(&mut setup);
        w("/a", None).add_to(&mut setup);
        prepend(setup, &mut wl);
        let groups: Vec<(&str, u32)> = wl
            .cgroups
            .iter()
            .map(|g| (g.path.as_str(), g.loc.line))
            .collect();
        assert_eq!(groups, [("/a", 0), ("/b", 0)]);
        assert_eq!(wl.cgroup_files.len(), 3);
    }
}
