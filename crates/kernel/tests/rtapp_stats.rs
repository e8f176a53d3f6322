//! rt-app's `rtapp_stats` lines (`global.ftrace` "stats"): one per phase iteration, after
//! `rtapp_loop: event=end`, with the values rt-app.c measures.

mod common;

use schedsim_kernel::Config;
use schedsim_trace::Event;
use schedsim_workload::rtapp::parse_rtapp;

/// The trace_marker lines of thread `comm` in a run (at most 1 s) of rt-app `json` on `cpus`
/// CPUs, with their timestamps.
fn markers(json: &str, cpus: u32, comm: &str) -> Vec<(u64, String)> {
    let w = parse_rtapp("t.json", json).expect("imports");
    let cfg = Config {
        nr_cpus: cpus,
        ..Config::default()
    };
    let res = common::simulate_workload(w, cfg, 1_000_000_000);
    res.sched
        .trace
        .merged()
        .into_iter()
        .filter_map(|r| match &r.event {
            Event::Print { text } if r.comm.as_str() == comm => Some((r.ts, text.clone())),
            _ => None,
        })
        .collect()
}

fn stats(m: &[(u64, String)]) -> Vec<&str> {
    m.iter()
        .map(|(_, t)| t.as_str())
        .filter(|t| t.starts_with("rtapp_stats:"))
        .collect()
}

#[test]
fn periodic_task_alone() {
    let m = markers(
        r#"{ "global": { "ftrace": "loop,stats" },
             "tasks": { "p": { "loop": 3, "run": 2000, "timer": { "ref": "t", "period": 10000 } } } }"#,
        1,
        "p-0",
    );
    // Nothing competes: the run takes its nominal time and the thread runs as soon as its
    // timer fires, which for a SCHED_OTHER thread is its 50 µs timer slack after the
    // expiry (wu_lat=50, as rt-app logs 59 µs on the reference VM, oracle 04): so every
    // iteration but the first starts 50 µs late, and sleeps 50 µs less.
    assert_eq!(
        stats(&m),
        vec![
            "rtapp_stats: period=10050 run=2000 wu_lat=50 slack=8000 c_period=10000 c_run=2000",
            "rtapp_stats: period=10000 run=2000 wu_lat=50 slack=7950 c_period=10000 c_run=2000",
            "rtapp_stats: period=10000 run=2000 wu_lat=50 slack=7950 c_period=10000 c_run=2000",
        ]
    );
    // After the loop end marker, at the same instant; control markers write nothing.
    let texts: Vec<&str> = m.iter().map(|(_, t)| t.as_str()).collect();
    let end = texts
        .iter()
        .position(|t| t.starts_with("rtapp_loop: event=end"))
        .unwrap();
    assert!(texts[end + 1].starts_with("rtapp_stats:"));
    assert_eq!(m[end].0, m[end + 1].0);
    assert!(texts.iter().all(|t| !t.contains('{')), "{texts:?}");
}

#[test]
fn wakeup_latency_against_a_hog() {
    // A nice 0 periodic task against a nice -5 hog on one CPU: its timer wakeups wait for
    // the hog's tick.
    let m = markers(
        r#"{ "global": { "ftrace": "stats", "duration": 1 },
             "tasks": {
               "p": { "loop": 20, "run": 2000, "timer": { "ref": "t", "period": 20000 } },
               "h": { "loop": -1, "priority": -5, "run": 10000 } } }"#,
        1,
        "p-0",
    );
    let lines = stats(&m);
    assert_eq!(lines.len(), 20);
    let field = |l: &str, k: &str| -> i64 {
        l.split(' ')
            .find_map(|f| f.strip_prefix(&format!("{k}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    // Iteration i starts when the previous timer's wakeup reaches user space (expiry +
    // its wu_lat); its timer expires one period after the previous one. So (each value
    // rounded to the µs on its own): slack = period - previous wu_lat - run, and
    // period = timer period + wu_lat - previous wu_lat.
    // The first iteration starts when the thread leaves rt-app's start barrier, which on
    // this one CPU is at the hog's first tick, 4 ms after t_zero: it counts as the wakeup
    // latency of the iteration before.
    let mut prev_wu = 4000;
    for l in &lines {
        let (period, run, wu, slack) = (
            field(l, "period"),
            field(l, "run"),
            field(l, "wu_lat"),
            field(l, "slack"),
        );
        assert!(run >= 2000, "{l}");
        assert!((slack - (20000 - prev_wu - run)).abs() <= 2, "{l}");
        assert!((period - (20000 + wu - prev_wu)).abs() <= 2, "{l}");
        assert_eq!((field(l, "c_period"), field(l, "c_run")), (20000, 2000));
        prev_wu = wu;
    }
    // The hog (weight 3121 against 1024) keeps the CPU until its tick: each wakeup waits.
    assert!(lines.iter().all(|l| field(l, "wu_lat") > 0), "{lines:#?}");
}

#[test]
fn late_timer_mem_and_cumulative_slack() {
    // The run outlasts the period: the timer is late, rt-app does not sleep, the slack is
    // negative and wu_lat 0; a relative timer then restarts from now. `mem` is CPU work but
    // not `run`; with cumulative_slack the two timers' slacks add up.
    let m = markers(
        r#"{ "global": { "ftrace": "stats", "cumulative_slack": true, "mem_buffer_size": 1024 },
             "tasks": { "p": { "loop": 2, "run": 15000, "timer": { "ref": "a", "period": 10000 },
                               "mem": 1000000, "timer1": { "ref": "b", "period": 50000 } } } }"#,
        1,
        "p-0",
    );
    // mem of 1 MB: 100 µs (docs/rt-app.md cost model). Iteration 0: run ends at 15000,
    // timer a (expiry 10000) is late by 5000 and restarts at 15000; mem to 15100; timer b
    // expires at 50000: slack 34900 (sum 29900), sleeps until 50000. Iteration 1 starts at
    // 50050 (the 50 µs timer slack of a SCHED_OTHER sleep: wu_lat=50): run to 65050, a's
    // expiry 25000 (late: -40050), mem to 65150, b's expiry 100000 (34850): sum -5200.
    assert_eq!(
        stats(&m),
        vec![
            "rtapp_stats: period=50050 run=15000 wu_lat=50 slack=29900 c_period=60000 c_run=15000",
            "rtapp_stats: period=50000 run=15000 wu_lat=50 slack=-5200 c_period=60000 c_run=15000",
        ]
    );
}

#[test]
fn a_delayed_thread_times_from_its_own_start() {
    // rt-app: t_first = t_zero + delay, and a timer's first expiry is t_first + period: the
    // 3 ms delay shifts the whole timer grid (slack 9000, not 6000, less the 50 µs timer
    // slack by which the delay's own sleep ends late).
    let m = markers(
        r#"{ "global": { "ftrace": "stats" },
             "tasks": { "p": { "loop": 2, "delay": 3000, "run": 1000,
                               "timer": { "ref": "t", "period": 10000 } } } }"#,
        1,
        "p-0",
    );
    assert_eq!(
        stats(&m),
        vec![
            "rtapp_stats: period=10000 run=1000 wu_lat=50 slack=8950 c_period=10000 c_run=1000";
            2
        ]
    );
}
