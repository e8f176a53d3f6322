//! rt-app's shutdown (rt-app.c `__shutdown`, user/shutdown.rs): at the end of the duration
//! the main thread writes `rtapp_main: event=shutdown`, wakes the threads waiting on
//! semaphores, conditions and barriers, and joins the threads; each finishes the event it
//! is in, skips the rest (but lock and unlock while it holds a mutex), writes
//! `rtapp_task: event=end` and exits; then the main thread writes `rtapp_main: event=end`
//! and the run ends.

use schedsim_kernel::sim::{self, SimOptions, SimResult};
use schedsim_kernel::Config;
use schedsim_trace::Event;
use schedsim_workload::rtapp::parse_rtapp;

const MS: u64 = 1_000_000;

/// Runs to rt-app's own end (no `--duration`), with the invariant checker.
fn run(json: &str) -> SimResult {
    let w = parse_rtapp("t.json", json).expect("imports");
    let opts = SimOptions {
        duration: None,
        seed: 1,
        trace: true,
        check: true,
    };
    sim::run(w, Config::parse_machine("cpus=2").unwrap(), &opts, &mut ())
        .unwrap_or_else(|e| panic!("{}", e.message))
}

/// (time, comm) of every marker with this text.
fn marks(r: &SimResult, text: &str) -> Vec<(u64, String)> {
    r.sched
        .trace
        .merged()
        .into_iter()
        .filter_map(|rec| match &rec.event {
            Event::Print { text: t } if t.starts_with(text) => {
                Some((rec.ts, rec.comm.as_str().to_string()))
            }
            _ => None,
        })
        .collect()
}

fn exits(r: &SimResult) -> Vec<(u64, String)> {
    r.sched
        .trace
        .merged()
        .into_iter()
        .filter_map(|rec| match &rec.event {
            Event::ProcessExit { comm, .. } => Some((rec.ts, comm.as_str().to_string())),
            _ => None,
        })
        .collect()
}

#[test]
fn threads_finish_their_event_then_exit_and_the_main_thread_ends_the_run() {
    // At the shutdown (1 s) the hog is 10 ms into a 30 ms run (its runs start every 30 ms),
    // the sleeper 37.5 ms into a 40 ms sleep (its loops start every 40.1 ms), the waiter on
    // a semaphore posted after 1.5 s, the poster in that 1.5 s sleep.
    let r = run(
        r#"{ "global": { "duration": 1, "ftrace": "main,task" }, "tasks": {
        "hog": { "cpus": [0], "run": 30000 },
        "sleeper": { "cpus": [1], "run": 100, "sleep": 40000 },
        "waiter": { "cpus": [1], "sem_wait": "late", "run": 1000 },
        "poster": { "cpus": [1], "sleep": 1500000, "sem_post": "late" } } }"#,
    );
    let shutdown = marks(&r, "rtapp_main: event=shutdown")[0].0;
    assert_eq!(shutdown, 1000 * MS);
    let ends: Vec<(u64, String)> = marks(&r, "rtapp_task: event=end");
    let end_of = |c: &str| ends.iter().find(|(_, n)| n.starts_with(c)).map(|e| e.0);
    // The hog's run ends at 1020 ms; the sleeper's sleep at 1003.75 ms (its loops take
    // 40.15 ms with the sleep's 50 µs timer slack).
    assert_eq!(end_of("hog"), Some(1020 * MS), "{ends:?}");
    assert_eq!(end_of("sleeper"), Some(1003 * MS + 3 * MS / 4), "{ends:?}");
    // The waiter is released by the shutdown's posts and skips its run.
    assert_eq!(end_of("waiter"), Some(shutdown), "{ends:?}");
    // Each writes its end and exits; the main thread ends the run after the last, which
    // is the poster at the end of its 1.5 s sleep (its slack ends at the tick there).
    assert_eq!(end_of("poster"), Some(1500 * MS), "{ends:?}");
    assert_eq!(exits(&r).len(), 4);
    let main_end = marks(&r, "rtapp_main: event=end");
    assert_eq!(main_end.len(), 1);
    assert_eq!(main_end[0].0, 1500 * MS);
    assert_eq!(r.end, main_end[0].0);
    assert!(r.ended_early.is_none());
}

#[test]
fn a_thread_holding_a_mutex_runs_only_its_unlock_before_it_leaves() {
    // The holder takes the mutex, runs 30 ms, sleeps 5 ms and unlocks; the shutdown comes
    // during its run: it finishes the run, skips the sleep, unlocks, and only then leaves.
    // The other thread waits for the mutex meanwhile and gets it at that unlock.
    let r = run(
        r#"{ "global": { "duration": 1, "ftrace": "main,task" }, "tasks": {
        "holder": { "cpus": [0], "lock": "m", "run": 30000, "sleep": 5000, "unlock": "m",
                    "sleep2": 1000 },
        "other": { "cpus": [1], "lock": "m", "run": 100, "unlock": "m" } } }"#,
    );
    let ends = marks(&r, "rtapp_task: event=end");
    let holder_end = ends
        .iter()
        .find(|(_, n)| n.starts_with("holder"))
        .unwrap()
        .0;
    // It was in its run or its 5 ms sleep at 1 s: it ends within one of its loops.
    assert!(holder_end > 1000 * MS && holder_end < 1036 * MS, "{ends:?}");
    // The other thread was in the mutex's queue: it locks, then leaves (its run skipped)
    // and unlocks on its way out.
    assert_eq!(exits(&r).len(), 2);
    assert!(r.blocked_forever.is_empty(), "{:?}", r.blocked_forever);
}

#[test]
fn a_thread_still_busy_a_second_after_the_duration_is_cut_off() {
    // The run ends at the latest one second after the duration (sim.rs), as for a starved
    // launcher: here a thread sleeping 5 s when the shutdown comes.
    let r = run(
        r#"{ "global": { "duration": 1, "ftrace": "main,task" }, "tasks": {
        "sleeper": { "sleep": 5000000, "run": 100 } } }"#,
    );
    assert_eq!(r.end, 2000 * MS);
    assert!(marks(&r, "rtapp_main: event=end").is_empty());
    assert!(exits(&r).is_empty());
}

#[test]
fn the_iteration_cut_short_still_writes_its_loop_end_and_statistics() {
    // Each loop runs 30 ms then sleeps 10 ms (40.05 ms with the sleep's slack); the
    // shutdown (1 s) comes during the sleep of the iteration that started at 961.2 ms: the
    // thread finishes that sleep, writes the iteration's end lines and its own end.
    let r = run(
        r#"{ "global": { "duration": 1, "ftrace": "main,task,loop,stats" }, "tasks": {
        "t": { "run": 30000, "sleep": 10000 } } }"#,
    );
    // 961.2 ms + 30 ms: the run is over before the shutdown.
    let at = |text: &str| marks(&r, text).last().map(|m| m.0);
    let end = 1001 * MS + MS / 4;
    assert_eq!(at("rtapp_loop: event=end"), Some(end));
    assert_eq!(at("rtapp_stats:"), Some(end));
    assert_eq!(at("rtapp_task: event=end"), Some(end));
    assert_eq!(marks(&r, "rtapp_loop: event=start").len(), 25);
    assert_eq!(marks(&r, "rtapp_loop: event=end").len(), 25);
}
