//! rt-app's start-up (rt-app.c `main`, `create_thread`, `thread_body`): the main thread
//! creates the threads one after another (`rtapp_create` of CPU time before each clone but
//! the first, which is t = 0), each thread names itself and sets itself up (`rtapp_setup`), thread 0 takes `t_zero` (the `clock_ref` marker), and the
//! threads created at start wait on `threads_barrier` until the last one is there; a thread
//! created by `fork` sets itself up but does not wait.

mod common;

use schedsim_kernel::sim::SimResult;
use schedsim_kernel::Config;
use schedsim_trace::Event;
use schedsim_workload::rtapp::parse_rtapp;

const US: u64 = 1_000;

fn run(json: &str, machine: &str) -> SimResult {
    let w = parse_rtapp("t.json", json).expect("imports");
    let cfg = Config::parse_machine(machine).expect("machine");
    common::simulate_workload(w, cfg, 20_000 * US)
}

/// (time, comm) of every marker with this text.
fn marks(r: &SimResult, text: &str) -> Vec<(u64, String)> {
    common::trace_find(r, |rec| match &rec.event {
        Event::Print { text: t } if t.starts_with(text) => {
            Some((rec.ts, rec.comm.as_str().to_string()))
        }
        _ => None,
    })
}

fn forks(r: &SimResult) -> Vec<u64> {
    common::trace_find(r, |rec| {
        matches!(rec.event, Event::ProcessFork { .. }).then_some(rec.ts)
    })
}

/// A thread that forks one `w` (rt-app's `fork` event), then sleeps.
const SPAWNER: &str = r#"{ "global": { "ftrace": "main,task" },
    "tasks": {
      "spawner": { "loop": 1, "fork": "w", "sleep": 5000 },
      "w": { "instance": 0, "loop": 1, "run": 1000 } } }"#;

const THREE: &str = r#"{ "global": { "ftrace": "main,task" },
    "tasks": { "t": { "instance": 3, "loop": 1, "run": 1000 } } }"#;

#[test]
fn threads_created_at_start_leave_the_barrier_together() {
    let r = run(THREE, "cpus=4,rtapp_create=80us,rtapp_setup=50us");
    // The main thread spends 80 µs on each thread it creates.
    assert_eq!(forks(&r), vec![0, 80 * US, 160 * US]);
    // Thread 0 takes t_zero once set up (it runs at once on an idle CPU).
    let clock = marks(&r, "rtapp_main: event=clock_ref");
    assert_eq!(clock.len(), 1);
    assert_eq!(clock[0].0, 50 * US);
    // No thread starts before the last one is set up (created at 160 µs, 50 µs of set-up).
    let starts = marks(&r, "rtapp_task: event=start");
    assert_eq!(starts.len(), 3);
    assert!(starts.iter().all(|&(t, _)| t >= 210 * US), "{starts:?}");
    // The last to arrive goes on at once; the others are woken.
    assert!(starts.iter().any(|&(t, _)| t == 210 * US), "{starts:?}");
}

#[test]
fn a_forked_thread_does_not_wait_on_the_barrier() {
    let r = run(SPAWNER, "cpus=3,rtapp_create=80us,rtapp_setup=50us");
    // The launcher creates the spawner; the spawner creates w, paying the same cost.
    let f = forks(&r);
    assert_eq!(f.len(), 2);
    let starts = marks(&r, "rtapp_task: event=start");
    let w_start = starts
        .iter()
        .find(|(_, c)| c.starts_with("w-"))
        .expect("w starts")
        .0;
    // w is set up and starts on its own: the start barrier had one party, the spawner.
    assert_eq!(w_start, f[1] + 50 * US, "{starts:?} {f:?}");
}

#[test]
fn with_no_costs_the_barrier_still_orders_the_start() {
    let r = run(THREE, "cpus=1");
    assert_eq!(forks(&r), vec![0, 0, 0]);
    let starts = marks(&r, "rtapp_task: event=start");
    assert_eq!(starts.len(), 3);
    // The third thread releases the barrier: it writes its start first.
    assert_eq!(starts[0].1, "t-2", "{starts:?}");
}

#[test]
fn a_thread_that_forks_pays_the_creation_before_the_clone_and_its_return_after() {
    let r = run(
        SPAWNER,
        "cpus=1,rtapp_create=80us,rtapp_setup=50us,wake_return=5us",
    );
    let spawner_start = marks(&r, "rtapp_task: event=start")[0].0;
    // create_thread's work (data, log file, stack) comes before the clone...
    let f = forks(&r);
    assert_eq!(f[1], spawner_start + 80 * US, "{f:?}");
    // ...and the clone's return to user space after it, then the spawner's sleep.
    let spawner_sleeps = common::trace_find(&r, |rec| match &rec.event {
        Event::Switch { prev_comm, .. } if prev_comm.as_str() == "spawner-0" => Some(rec.ts),
        _ => None,
    });
    assert!(
        spawner_sleeps.contains(&(f[1] + 5 * US)),
        "{spawner_sleeps:?}"
    );
}

#[test]
fn a_new_thread_has_its_creators_comm_until_it_names_itself() {
    let r = run(THREE, "cpus=1,rtapp_create=80us,rtapp_setup=50us");
    // copy_process copies the comm: the fork and the wakeup show the creator's name.
    let children = common::trace_find(&r, |rec| match &rec.event {
        Event::ProcessFork { child_comm, .. } => Some(child_comm.as_str().to_string()),
        _ => None,
    });
    assert_eq!(children, vec!["rt-app"; 3]);
    // It first runs under that name, and names itself (pthread_setname_np) at once: its
    // first switch out, and all that follows, carry its own name.
    let first_in = common::trace_find(&r, |rec| match &rec.event {
        Event::Switch {
            next_pid,
            next_comm,
            ..
        } if *next_pid == 1001 => Some(next_comm.as_str().to_string()),
        _ => None,
    });
    assert_eq!(first_in[0], "rt-app");
    assert!(first_in[1..].iter().all(|c| c == "t-0"), "{first_in:?}");
}

#[test]
fn a_thread_created_at_start_takes_its_way_into_the_barrier_after_t_zero() {
    // Thread 0 takes t_zero once set up (50 µs) and then spends 30 µs on its way into the
    // barrier; the last thread (created at 160 µs) arrives at 160 + 50 + 30 µs.
    let r = run(
        THREE,
        "cpus=4,rtapp_create=80us,rtapp_setup=50us,rtapp_barrier=30us",
    );
    assert_eq!(marks(&r, "rtapp_main: event=clock_ref")[0].0, 50 * US);
    let starts = marks(&r, "rtapp_task: event=start");
    assert!(starts.iter().any(|&(t, _)| t == 240 * US), "{starts:?}");
    assert!(starts.iter().all(|&(t, _)| t >= 240 * US), "{starts:?}");
    // A forked thread has no barrier to enter: set-up only.
    let r = run(
        SPAWNER,
        "cpus=3,rtapp_create=80us,rtapp_setup=50us,rtapp_barrier=30us",
    );
    let f = forks(&r);
    let w_start = marks(&r, "rtapp_task: event=start")
        .into_iter()
        .find(|(_, c)| c.starts_with("w-"))
        .expect("w starts")
        .0;
    assert_eq!(w_start, f[1] + 50 * US);
}
