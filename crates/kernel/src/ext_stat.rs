//! Per-policy sched_ext metrics at the end of a run: the policy, its ejection, the depth
//! of every DSQ over the time it was loaded, where its inserts went, and how long ext
//! tasks waited from ops.enqueue to running. Definitions in docs/metrics.md.

use std::fmt::Write;

use serde::Serialize;

use crate::class::ext::dsq::{DepthStat, DsqKey};
use crate::class::ext::metrics::InsertCounts;
use crate::class::ext::ops::ScxExitKind;
use crate::report::Percentiles;
use crate::sim::SimResult;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExtReport {
    /// `ops.name`.
    pub policy: String,
    /// When it was loaded and, if it was, unloaded or ejected (ns).
    pub loaded_at_ns: u64,
    pub unloaded_at_ns: Option<u64>,
    /// Why it left, if it did.
    pub exit: Option<ExtExit>,
    /// Each DSQ: global, each CPU's local DSQ, each user DSQ.
    pub dsqs: Vec<DsqReport>,
    pub dispatch: DispatchReport,
    /// Time from ops.enqueue (or a direct-dispatch verdict) to running, ns.
    pub enqueue_to_run_ns: Percentiles,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExtExit {
    /// `SCX_EXIT_*`.
    pub kind: String,
    /// `scx_exit_reason`.
    pub reason: String,
    pub msg: String,
    pub exit_code: i64,
    pub at_ns: u64,
    /// The task it is about (`comm[pid]`), e.g. the stalled one.
    pub task: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DsqReport {
    /// `global`, `local/N`, or the user DSQ's id (`0x..`).
    pub dsq: String,
    pub mean_depth: f64,
    pub max_depth: u32,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DispatchReport {
    pub inserts_local: u64,
    pub inserts_local_on: u64,
    pub inserts_global: u64,
    pub inserts_user: u64,
    /// Inserts that were select_cpu/enqueue verdicts, and those made by ops.dispatch.
    pub direct: u64,
    pub from_dispatch: u64,
    pub move_to_local: u64,
    pub dsq_move: u64,
    /// `ops.enqueue` calls.
    pub enqueues: u64,
}

fn kind_name(k: ScxExitKind) -> &'static str {
    match k {
        ScxExitKind::Unreg => "SCX_EXIT_UNREG",
        ScxExitKind::UnregBpf => "SCX_EXIT_UNREG_BPF",
        ScxExitKind::Error => "SCX_EXIT_ERROR",
        ScxExitKind::ErrorBpf => "SCX_EXIT_ERROR_BPF",
        ScxExitKind::ErrorStall => "SCX_EXIT_ERROR_STALL",
    }
}

fn dsq_name(k: DsqKey) -> String {
    match k {
        DsqKey::Global => "global".into(),
        DsqKey::Local(c) => format!("local/{c}"),
        DsqKey::User(id) => format!("0x{id:x}"),
    }
}

fn round4(x: f64) -> f64 {
    (x * 10000.0).round() / 10000.0
}

fn dsq_report(k: DsqKey, d: &DepthStat, nr: u32, end: u64) -> DsqReport {
    DsqReport {
        dsq: dsq_name(k),
        mean_depth: round4(d.mean_at(nr, end)),
        max_depth: d.max,
    }
}

/// The report of the policy loaded last, if any was.
pub fn ext_report(r: &SimResult) -> Option<ExtReport> {
    let e = &r.sched.ext;
    let m = &e.metrics;
    let loaded_at = m.loaded_at?;
    let mut dsqs: Vec<DsqReport> = m
        .closed
        .iter()
        .map(|(k, d)| dsq_report(*k, d, 0, d.since))
        .collect();
    if e.enabled {
        let end = r.end;
        dsqs.push(dsq_report(
            DsqKey::Global,
            &e.global.depth,
            e.global.nr(),
            end,
        ));
        for rq in &r.sched.rqs {
            let d = &rq.scx.local;
            dsqs.push(dsq_report(DsqKey::Local(rq.cpu), &d.depth, d.nr(), end));
        }
        for (&id, d) in &e.user {
            dsqs.push(dsq_report(DsqKey::User(id), &d.depth, d.nr(), end));
        }
    }
    let InsertCounts {
        local,
        local_on,
        global,
        user,
    } = m.inserts;
    let hist = m
        .enqueue_to_run
        .clone()
        .unwrap_or_else(crate::stats::new_hist);
    Some(ExtReport {
        policy: e.name.clone(),
        loaded_at_ns: loaded_at,
        unloaded_at_ns: m.unloaded_at,
        exit: e.exit.as_ref().map(|x| ExtExit {
            kind: kind_name(x.kind).into(),
            reason: x.kind.reason().into(),
            msg: x.msg.clone(),
            exit_code: x.exit_code,
            at_ns: x.at,
            task: x.task.clone(),
        }),
        dsqs,
        dispatch: DispatchReport {
            inserts_local: local,
            inserts_local_on: local_on,
            inserts_global: global,
            inserts_user: user,
            direct: m.direct,
            from_dispatch: m.from_dispatch,
            move_to_local: m.move_to_local,
            dsq_move: m.dsq_move,
            enqueues: m.enqueues,
        },
        enqueue_to_run_ns: Percentiles::of(&hist),
    })
}

/// The policy, its exit, its DSQs, its dispatch counts and enqueue-to-run latency.
pub fn summary(ext: Option<&ExtReport>, o: &mut String) {
    let Some(x) = ext else { return };
    let _ = writeln!(
        o,
        "\nsched_ext policy {} loaded at {:.6} s",
        x.policy,
        x.loaded_at_ns as f64 / 1e9
    );
    if let Some(q) = &x.exit {
        let _ = writeln!(
            o,
            "exit {} ({}) at {:.6} s: {}{}",
            q.kind,
            q.reason,
            q.at_ns as f64 / 1e9,
            q.msg,
            q.task
                .as_ref()
                .map(|t| format!(" [task {t}]"))
                .unwrap_or_default()
        );
    }
    let d = &x.dispatch;
    let _ = writeln!(
        o,
        "inserts: local {} local_on {} global {} user {} (direct {}, from dispatch {}); \
         move_to_local {} dsq_move {}; ops.enqueue {}",
        d.inserts_local,
        d.inserts_local_on,
        d.inserts_global,
        d.inserts_user,
        d.direct,
        d.from_dispatch,
        d.move_to_local,
        d.dsq_move,
        d.enqueues
    );
    let w = &x.enqueue_to_run_ns;
    let _ = writeln!(o, "enqueue to run: {} samples, {}", w.count, w.us_summary());
    let _ = writeln!(o, "{:<12} {:>10} {:>8}", "dsq", "mean", "max");
    for q in &x.dsqs {
        let _ = writeln!(o, "{:<12} {:>10.4} {:>8}", q.dsq, q.mean_depth, q.max_depth);
    }
}
