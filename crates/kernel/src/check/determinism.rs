//! The determinism check: the same workload, machine and seed run twice must give the same
//! trace, record for record, and the same report.

use schedsim_workload::Workload;

use crate::config::Config;
use crate::report::Report;
use crate::sim::{self, SimError, SimOptions, SimResult};

/// Compares two finished runs: the trace records (merged in `trace` file order), the end
/// instant and the report. Returns a description of the first difference.
pub fn compare(a: &SimResult, b: &SimResult) -> Result<(), String> {
    let (ra, rb) = (a.sched.trace.merged(), b.sched.trace.merged());
    for (i, (x, y)) in ra.iter().zip(rb.iter()).enumerate() {
        if x != y {
            return Err(format!(
                "trace record {i} differs:\n  run 1: {x:?}\n  run 2: {y:?}"
            ));
        }
    }
    if ra.len() != rb.len() {
        let i = ra.len().min(rb.len());
        let extra = ra.get(i).or(rb.get(i));
        return Err(format!(
            "run 1 has {} trace records, run 2 has {}; first unmatched (record {i}): {extra:?}",
            ra.len(),
            rb.len()
        ));
    }
    if a.end != b.end {
        return Err(format!(
            "run 1 ended at {} ns, run 2 at {} ns",
            a.end, b.end
        ));
    }
    let (pa, pb) = (Report::from_result(a), Report::from_result(b));
    if pa != pb {
        let (da, db) = (format!("{pa:#?}"), format!("{pb:#?}"));
        let line = da
            .lines()
            .zip(db.lines())
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .map(|(i, (x, y))| {
                format!(
                    "report line {}: run 1 `{}`, run 2 `{}`",
                    i + 1,
                    x.trim(),
                    y.trim()
                )
            })
            .unwrap_or_else(|| "reports differ in length".into());
        return Err(format!("the reports differ: {line}"));
    }
    Ok(())
}

/// Why a determinism check failed.
#[derive(Debug)]
pub enum DeterminismError {
    /// A run itself failed (a user-space error or, with `check`, a violation).
    Run(SimError),
    /// The two runs differ.
    Differs(String),
}

impl std::fmt::Display for DeterminismError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeterminismError::Run(e) => write!(f, "{e}"),
            DeterminismError::Differs(d) => write!(f, "the run is not deterministic: {d}"),
        }
    }
}

/// Runs the workload twice with tracing on and compares the runs; returns the first run.
pub fn run_twice(
    workload: Workload,
    cfg: Config,
    opts: &SimOptions,
    progress: &mut dyn sim::Progress,
) -> Result<SimResult, DeterminismError> {
    let opts = SimOptions {
        trace: true,
        ..opts.clone()
    };
    let a = sim::try_run(workload.clone(), cfg.clone(), &opts, progress)
        .map_err(DeterminismError::Run)?;
    let b = sim::try_run(workload, cfg, &opts, &mut ()).map_err(DeterminismError::Run)?;
    compare(&a, &b).map_err(DeterminismError::Differs)?;
    Ok(a)
}
