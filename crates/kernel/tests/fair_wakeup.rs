//! Wakeup preemption and lag rules of 6.18.44's fair class, which carries the 6.18.y stable
//! backports of the EEVDF fixes (docs/kernel-version.md): a forked child does
//! not preempt its parent, the wakeup test dequeues the delayed entities it picks, and the
//! lag clamp follows the queue's largest slice.

mod common;
use common::*;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::Config;
use schedsim_trace::Event;

/// The time of `comm`'s first switch-in.
fn first_run(r: &SimResult, comm: &str) -> u64 {
    r.sched
        .trace
        .merged()
        .into_iter()
        .find_map(|rec| match &rec.event {
            Event::Switch { next_comm, .. } if next_comm.as_str() == comm => Some(rec.ts),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{comm} never ran"))
}

/// A parent that ran alone for 10 ms (its slice protection long used up) forks a child.
/// The child is placed at V with half a slice to its deadline, earlier than the parent's
/// renewed one, so before 6.18.33 (e837456fdca8) `__pick_eevdf` chose it and it preempted
/// at once. Now `check_preempt_wakeup_fair` returns for WF_FORK: the child waits for the
/// parent's next tick, where `update_curr` finds the parent unprotected and reschedules.
/// A child with a shorter slice still preempts at once (PREEMPT_SHORT comes first).
#[test]
fn a_forked_child_waits_for_the_parents_tick_unless_its_slice_is_shorter() {
    let text = |slice: &str| {
        format!(
            r#"duration = "40ms"
            [[task]]
            name = "parent"
            program = ["run 10ms", "fork child", "run 20ms", "exit"]
            [[task]]
            name = "child"
            template = true
            {slice}
            program = ["run 1ms", "exit"]"#
        )
    };
    let run = |slice: &str| {
        let w = schedsim_workload::parse_toml("fork.toml", &text(slice)).expect("valid");
        simulate_workload(w, Config::parse_machine("cpus=1").unwrap(), 40 * MS)
    };
    let r = run("");
    let (fork, ran) = (10 * MS, first_run(&r, "child-2"));
    assert!(ran > fork, "the child ran at its fork");
    let tick = Config::parse_machine("cpus=1").unwrap().tick_nsec();
    assert_eq!(ran % tick, 0, "child first ran at {ran}, not at a tick");
    assert!(ran - fork <= tick);
    assert_eq!(preempted(&r, Some("parent")), vec![ran]);

    let r = run(r#"slice = "100us""#);
    assert_eq!(
        first_run(&r, "child-2"),
        fork,
        "a shorter slice preempts at once"
    );
}

/// rt-app's three-stage semaphore pipeline beside a hog (the shape of a scenario recorded
/// on the reference VM, where the middle stage was preempted by the stage it woke in 40 to
/// 80 % of the handoffs once the pipeline ran on one CPU). The source spends 5 µs after
/// its post before it sleeps: by then it is past V, so it sleeps ineligible and stays
/// queued, delayed. When the middle stage wakes the sink, the wakeup's pick meets the
/// delayed source, dequeues it and picks again (ac8e69e69363): without the source, the
/// middle stage, 1 ms past V, is not eligible and the sink is picked, so it preempts.
/// Before, the pick returned the delayed source and the wakeup did not preempt.
#[test]
fn the_wakeup_pick_dequeues_a_delayed_entity_and_picks_again() {
    let json = r#"{ "global": {"duration": 3, "default_policy": "SCHED_OTHER", "calibration": 20},
      "tasks": {
        "src": {"loop": -1, "run": 1000, "sem_post": "a", "timer": {"ref": "unique", "period": 3000}},
        "mid": {"loop": -1, "sem_wait": "a", "run": 1000, "sem_post": "b"},
        "snk": {"loop": -1, "sem_wait": "b", "run": 500},
        "hog": {"run": 10000} } }"#;
    let w = schedsim_workload::rtapp::parse_rtapp("pipeline.json", json).expect("valid");
    let cfg = Config::parse_machine("cpus=2,wake_return=5us").unwrap();
    let r = simulate_workload(w, cfg, 3000 * MS);
    let wakes = trace_find(&r, |rec| match &rec.event {
        Event::Wakeup { comm, .. } if comm.as_str() == "snk-2" => Some(rec.ts),
        _ => None,
    });
    let mid = preempted(&r, Some("mid-1"));
    assert!(wakes.len() > 900, "{} handoffs", wakes.len());
    // Each preemption of the middle stage is its wakeup of the sink, at that instant, once
    // the start is over (the first handoff, the threads fresh from rt-app's start barrier,
    // may wait for the tick).
    let steady = |t: &&u64| **t > 20 * MS;
    assert!(mid
        .iter()
        .filter(steady)
        .all(|t| wakes.binary_search(t).is_ok()));
    assert!(
        mid.len() * 10 > wakes.len() * 9,
        "{} of {} handoffs preempted",
        mid.len(),
        wakes.len()
    );
}
