//! EEVDF on one CPU: CPU shares follow the weight table, SCHED_IDLE yields to normal
//! tasks, and a periodic task gets its demand (issue: the simulated kernel, "what it must
//! show").

mod common;
use common::*;
use schedsim_workload::*;

fn within(x: f64, want: f64, rel: f64) -> bool {
    (x - want).abs() <= want * rel
}

#[test]
fn nice0_vs_nice5_share_1024_to_335() {
    let r = report(
        workload(vec![
            hog("n0", 0, Some(vec![0])),
            hog("n5", 5, Some(vec![0])),
        ]),
        2,
        10_000 * MS,
    );
    let (a, b) = (share(&r, "n0"), share(&r, "n5"));
    assert!(within(a, 1024.0 / 1359.0, 0.005), "n0 {a}");
    assert!(within(b, 335.0 / 1359.0, 0.005), "n5 {b}");
}

#[test]
fn three_nice_levels_follow_the_weight_table() {
    let r = report(
        workload(vec![
            hog("n0", 0, Some(vec![0])),
            hog("n5", 5, Some(vec![0])),
            hog("n10", 10, Some(vec![0])),
        ]),
        2,
        10_000 * MS,
    );
    let total = 1024.0 + 335.0 + 110.0;
    assert!(within(share(&r, "n0"), 1024.0 / total, 0.005));
    assert!(within(share(&r, "n5"), 335.0 / total, 0.005));
    assert!(within(share(&r, "n10"), 110.0 / total, 0.05));
}

#[test]
fn sched_idle_hog_gets_almost_nothing() {
    let mut idle = hog("idle", 0, Some(vec![0]));
    idle.attr.policy = Policy::Idle;
    let r = report(
        workload(vec![hog("normal", 0, Some(vec![0])), idle]),
        2,
        10_000 * MS,
    );
    // Weight 3 against 1024.
    assert!(share(&r, "idle") < 0.01, "{}", share(&r, "idle"));
    assert!(share(&r, "normal") > 0.99);
}

/// A hog and a task running `run` every 10 ms (a relative timer), both on CPU 0.
fn periodic_beside_hog(run: u64) -> Workload {
    let mut w = workload(vec![
        hog("hog", 0, Some(vec![0])),
        task(
            "per",
            0,
            Some(vec![0]),
            forever(vec![
                Step::Run(Dur::Fixed(run)),
                Step::Timer {
                    timer: 0,
                    period: 10 * MS,
                    absolute: false,
                },
            ]),
        ),
    ]);
    w.timers.push(TimerDecl {
        name: "t".into(),
        shared: false,
    });
    w
}

#[test]
fn periodic_task_gets_its_demand_beside_a_hog() {
    let w = periodic_beside_hog(2 * MS);
    let r = report(w, 2, 10_000 * MS);
    assert!(within(share(&r, "per"), 0.2, 0.01), "{}", share(&r, "per"));
    let per = r.tasks.iter().find(|t| t.comm == "per").unwrap();
    // Each timer activation either preempts the hog at once or waits for the next tick
    // (the first sample is the fork, which waits for the hog's first slice).
    assert!(
        per.wakeup_latency_ns.p999 <= 4 * MS,
        "{:?}",
        per.wakeup_latency_ns
    );
}

#[test]
fn equal_hogs_alternate_in_tick_sized_slices() {
    let r = report(
        workload(vec![hog("a", 0, Some(vec![0])), hog("b", 0, Some(vec![0]))]),
        2,
        2_000 * MS,
    );
    let a = r.tasks.iter().find(|t| t.comm == "a").unwrap();
    // HZ=250 and a 1.4 ms base slice: every slice ends at the next tick (oracle 21).
    assert!(
        (3_990_000..=4_010_000).contains(&a.slice_ns.p50),
        "{}",
        a.slice_ns.p50
    );
    assert!(within(share(&r, "a"), 0.5, 0.01));
}

#[test]
fn same_inputs_give_identical_traces() {
    let mk = || {
        workload(vec![
            hog("a", 0, None),
            hog("b", 3, None),
            task(
                "s",
                0,
                None,
                forever(vec![
                    Step::Run(Dur::Exponential { mean: MS }),
                    Step::Sleep(Dur::Uniform { lo: MS, hi: 3 * MS }),
                ]),
            ),
        ])
    };
    let r1 = run(mk(), 2, 500 * MS, true);
    let r2 = run(mk(), 2, 500 * MS, true);
    assert_eq!(r1.sched.trace.cpus, r2.sched.trace.cpus);
    assert!(r1.sched.trace.len() > 100);
}

/// Wakeup preemption follows the woken task's lag: a periodic task that takes well under
/// its fair share wakes with the lag it is owed (`place_entity`), eligible with the
/// earlier deadline, and preempts the hog at once (`pick_eevdf` picks it); one that runs
/// close to its share (4.9 ms of every 10 ms beside a hog) is owed little, and when it is
/// not picked over the hog at its wakeup it waits for the hog's next tick, where
/// `update_curr` ends the hog's slice. Both behaviours show in the real kernel's traces
/// (../shared/oracle/04).
#[test]
fn periodic_wakeup_preempts_at_once_or_at_the_tick_by_its_lag() {
    use schedsim_trace::Event;
    let waits = |run: u64| -> (usize, Vec<(u64, u64)>) {
        let r = simulate_workload(
            periodic_beside_hog(run),
            schedsim_kernel::Config::parse_machine("cpus=2").unwrap(),
            3000 * MS,
        );
        let (mut pending, mut n, mut late) = (None, 0, Vec::new());
        for rec in r.sched.trace.merged() {
            match &rec.event {
                Event::Waking { comm, .. } if comm.as_str() == "per" => pending = Some(rec.ts),
                Event::Switch { next_comm, .. } if next_comm.as_str() == "per" => {
                    if let Some(t) = pending.take() {
                        n += 1;
                        if rec.ts > t {
                            late.push((t, rec.ts));
                        }
                    }
                }
                _ => {}
            }
        }
        (n, late)
    };
    let (n, late) = waits(2 * MS);
    assert!(n > 250 && late.is_empty(), "{n} wakeups, late: {late:?}");
    let (n, late) = waits(4_900_000);
    // Some activations find the task still running (it is behind its timer): fewer wakeups.
    assert!(n > 150, "{n} wakeups");
    assert!(
        !late.is_empty() && late.len() < n,
        "{} of {n} late",
        late.len()
    );
    let tick = 4 * MS;
    for (woken, ran) in late {
        assert_eq!(
            ran % tick,
            0,
            "woken at {woken}, ran at {ran}: not at a tick"
        );
        assert!(ran - woken <= tick);
    }
}
