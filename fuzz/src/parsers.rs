//! The parser fuzz entry points, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/`)
//! and the corpus replay tests (`crates/workload/tests/fuzz_corpus.rs` includes this file
//! with `#[path]`), so CI runs every stored corpus file through exactly what the fuzzer
//! ran. Depends on `schedsim_workload` only.
//!
//! Each function returns whether the input was accepted; it panics (the fuzzer's failure)
//! if the parser panics or accepts a workload the simulator could not index safely.

use schedsim_workload::{Step, Workload};

/// `schedsim_workload::parse_toml` on arbitrary UTF-8 (non-UTF-8 inputs are skipped: the
/// CLI reads files with `read_to_string`, which refuses them).
pub fn toml_parser(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    accepted(schedsim_workload::parse_toml("fuzz.toml", text))
}

/// `schedsim_workload::rtapp::parse_rtapp` on arbitrary UTF-8.
pub fn rtapp_parser(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    accepted(schedsim_workload::rtapp::parse_rtapp("fuzz.json", text))
}

fn accepted(r: Result<Workload, schedsim_workload::WorkloadError>) -> bool {
    match r {
        Ok(w) => {
            check_model(&w);
            true
        }
        Err(e) => {
            // Formatting the message must not panic either.
            let _ = e.to_string();
            false
        }
    }
}

/// What the simulator assumes of a parsed workload: every object a step names by index
/// exists, so the kernel never indexes out of bounds.
pub fn check_model(w: &Workload) {
    assert!(!w.tasks.is_empty(), "a parsed workload has no task");
    for t in &w.tasks {
        check_steps(w, &t.name, &t.program);
    }
}

fn check_steps(w: &Workload, task: &str, steps: &[Step]) {
    let ok = |what: &str, i: usize, n: usize| {
        assert!(
            i < n,
            "task {task}: {what} index {i} out of range ({n} declared)"
        );
    };
    for s in steps {
        match s {
            Step::SemPost(i) | Step::SemWait(i) => ok("semaphore", *i, w.sems.len()),
            Step::CondSignal(i) | Step::CondBroadcast(i) => ok("cond", *i, w.conds.len()),
            Step::CondWait { cond, mutex } | Step::CondSync { cond, mutex } => {
                ok("cond", *cond, w.conds.len());
                if let Some(m) = mutex {
                    ok("mutex", *m, w.mutexes.len());
                }
            }
            Step::Lock(i) | Step::Unlock(i) => ok("mutex", *i, w.mutexes.len()),
            Step::Barrier(i) => ok("barrier", *i, w.barriers.len()),
            Step::Timer { timer, .. } => ok("timer", *timer, w.timers.len()),
            Step::Resume(i) | Step::Fork(i) => ok("task", *i, w.tasks.len()),
            Step::Loop { body, .. } => check_steps(w, task, body),
            _ => {}
        }
    }
}
