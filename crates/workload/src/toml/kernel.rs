//! `[sysctl]` and `[cgroup."/path"]` tables: kernel settings carried as text with their
//! location; the simulator knows which names and values are valid.

use crate::model::{CgroupDecl, CgroupSetting, Setting};

use super::ctx::{join, Ctx, Res};
use super::tree::{Entry, Kind, Node};
use super::values;

/// Leaf settings of a table, with nested tables joined by `.`: an unquoted dotted key
/// (`kernel.sched_rt_runtime_us = 950000`) is a nested table in TOML, but the user meant
/// the same thing as the quoted `"kernel.sched_rt_runtime_us"`.
fn leaves<'n>(entries: &'n [Entry], prefix: &str, out: &mut Vec<(String, &'n Entry)>) {
    for e in entries {
        let name = if prefix.is_empty() {
            e.key.clone()
        } else {
            format!("{prefix}.{}", e.key)
        };
        match &e.value.kind {
            Kind::Table(inner) => leaves(inner, &name, out),
            _ => out.push((name, e)),
        }
    }
}

/// A setting's value as the text written to the file: strings as is, integers in
/// decimal, booleans as 1/0 (what the kernel's boolean knobs read).
fn value_text(ctx: &Ctx, node: &Node, key: &str) -> Res<String> {
    match &node.kind {
        Kind::Str(s) => Ok(s.clone()),
        Kind::Int(i) => Ok(i.to_string()),
        Kind::Bool(b) => Ok(if *b { "1" } else { "0" }.to_string()),
        other => Err(ctx
            .err(
                node.span.start,
                key,
                format!(
                    "expected a string or an integer, found {}",
                    other.type_name()
                ),
            )
            .with_hint(
                "write the value as the kernel file takes it, e.g. 950000 or \"50000 100000\"",
            )),
    }
}

/// `[sysctl]`: `"kernel.sched_rt_runtime_us" = 950000`, `"sched/base_slice_ns" = 3000000`.
pub(crate) fn sysctls(ctx: &Ctx, node: &Node, path: &str) -> Res<Vec<Setting>> {
    let t = ctx.want_table(node, path, "a table of settings, e.g. [sysctl]")?;
    let mut flat = Vec::new();
    leaves(t, "", &mut flat);
    flat.into_iter()
        .map(|(name, e)| {
            let key = join(path, &name);
            if name.is_empty() {
                return Err(ctx
                    .err(e.key_span.start, &key, "empty setting name")
                    .with_hint("name the knob, e.g. \"kernel.sched_rt_runtime_us\" = 950000"));
            }
            Ok(Setting {
                value: value_text(ctx, &e.value, &key)?,
                name,
                loc: ctx.loc(e.key_span.start),
            })
        })
        .collect()
}

/// `[cgroup."/web"]` tables of cgroup files: `"cpu.max" = "50000 100000"`. Every table
/// declares its group, an empty one too (a group with default settings); `/` is the root,
/// which always exists, so only its files are kept.
pub(crate) fn cgroups(
    ctx: &Ctx,
    node: &Node,
    path: &str,
) -> Res<(Vec<CgroupDecl>, Vec<CgroupSetting>)> {
    let groups = ctx.want_table(node, path, "cgroup tables, e.g. [cgroup.\"/web\"]")?;
    let mut decls: Vec<CgroupDecl> = Vec::new();
    let mut out = Vec::new();
    for g in groups {
        let gkey = join(path, &g.key);
        let cg = values::cgroup_path(&g.key).map_err(|m| {
            ctx.err(g.key_span.start, &gkey, m).with_hint(format!(
                "quote the path in the header: [cgroup.\"/{}\"]",
                g.key.trim_start_matches('/')
            ))
        })?;
        let files = ctx.want_table(
            &g.value,
            &gkey,
            "a table of cgroup files, e.g. \"cpu.weight\" = 200",
        )?;
        // `"/web"` and `"/web/"` are different TOML keys for the same group.
        if cg != "/" && !decls.iter().any(|d| d.path == cg) {
            decls.push(CgroupDecl {
                path: cg.clone(),
                loc: ctx.loc(g.key_span.start),
            });
        }
        let mut flat = Vec::new();
        leaves(files, "", &mut flat);
        for (file, e) in flat {
            let key = join(&gkey, &file);
            if file.is_empty() || file.contains('/') {
                return Err(ctx
                    .err(
                        e.key_span.start,
                        &key,
                        format!("`{file}` is not a cgroup file name"),
                    )
                    .with_hint("nested groups get their own table: [cgroup.\"/web/child\"]"));
            }
            out.push(CgroupSetting {
                path: cg.clone(),
                value: value_text(ctx, &e.value, &key)?,
                file,
                loc: ctx.loc(e.key_span.start),
            });
        }
    }
    Ok((decls, out))
}
