//! Priority inheritance: the classic inversion (low holds a lock, high waits, medium hogs)
//! is bounded with a PI mutex and unbounded without (core-and-classes.md §1.10), and the
//! boost shows in the trace as `sched_pi_setprio`.

mod common;

use common::*;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::Config;
use schedsim_trace::Event;
use schedsim_workload::*;

fn inversion(pi: bool) -> SimResult {
    let run = |ms| Step::Run(Dur::Fixed(ms * MS));
    // Every thread starts after a delay, so the launcher creates all three at t=0.
    let mut low = spec(
        "low",
        fifo(10),
        MS,
        vec![Step::Lock(0), run(50), Step::Unlock(0), Step::Exit],
    );
    let mut high = spec(
        "high",
        fifo(90),
        5 * MS,
        vec![Step::Lock(0), run(1), Step::Unlock(0), Step::Exit],
    );
    let mut medium = spec("medium", fifo(50), 10 * MS, vec![run(300), Step::Exit]);
    for t in [&mut low, &mut high, &mut medium] {
        t.affinity = Some(vec![0]);
    }
    let mut w = workload(vec![low, high, medium]);
    w.mutexes.push(MutexDecl {
        name: "m".into(),
        pi,
    });
    let cfg = Config {
        nr_cpus: 2,
        ..Config::default()
    };
    simulate_workload(w, cfg, 1_000 * MS)
}

/// The (oldprio, newprio) of every `sched_pi_setprio` on CPU 0.
fn pi_setprio(r: &SimResult) -> Vec<(i32, i32)> {
    r.sched.trace.cpus[0]
        .iter()
        .filter_map(|rec| match rec.event {
            Event::PiSetprio {
                oldprio, newprio, ..
            } => Some((oldprio, newprio)),
            _ => None,
        })
        .collect()
}

fn exit_time(r: &SimResult, comm: &str) -> u64 {
    let i = r
        .sched
        .tasks
        .iter()
        .position(|t| t.comm.as_str() == comm)
        .unwrap();
    r.sched.task_stats[i].exited_at.expect("task exited")
}

#[test]
fn pi_bounds_the_inversion() {
    let r = inversion(true);
    // low runs its 50 ms at high's priority, then high runs its 1 ms: done by ~52 ms.
    assert!(
        exit_time(&r, "high") <= 52 * MS,
        "{}",
        exit_time(&r, "high")
    );
    assert!(exit_time(&r, "high") < exit_time(&r, "medium"));
    let boosts = pi_setprio(&r);
    // low (prio 89) boosted to high's 9, then back.
    assert_eq!(boosts, vec![(89, 9), (9, 89)]);
}

#[test]
fn without_pi_the_inversion_is_unbounded() {
    let r = inversion(false);
    // medium's 300 ms hog runs before low can release the lock.
    assert!(
        exit_time(&r, "high") > 300 * MS,
        "{}",
        exit_time(&r, "high")
    );
    assert!(exit_time(&r, "medium") < exit_time(&r, "high"));
}

/// `sched_setattr` on a boosted task (`rt_effective_prio`): the new nice is stored, the
/// boost stays until the unlock, and the deboost lands on the new normal priority.
#[test]
fn setattr_on_a_boosted_task_keeps_the_boost_until_the_unlock() {
    let run = |ms| Step::Run(Dur::Fixed(ms * MS));
    let nice5 = Step::SetAttr(SchedAttr {
        nice: 5,
        ..SchedAttr::default()
    });
    let mut low = spec(
        "low",
        SchedAttr::default(),
        MS,
        vec![
            Step::Lock(0),
            run(10),
            nice5,
            run(10),
            Step::Unlock(0),
            run(5),
            Step::Exit,
        ],
    );
    let mut high = spec(
        "high",
        fifo(90),
        5 * MS,
        vec![Step::Lock(0), run(1), Step::Unlock(0), Step::Exit],
    );
    for t in [&mut low, &mut high] {
        t.affinity = Some(vec![0]);
    }
    let mut w = workload(vec![low, high]);
    w.mutexes.push(MutexDecl {
        name: "m".into(),
        pi: true,
    });
    let cfg = Config {
        nr_cpus: 1,
        ..Config::default()
    };
    let r = simulate_workload(w, cfg, 100 * MS);
    let boosts = pi_setprio(&r);
    // Boosted from nice 0 (120) to high's 9; the setattr to nice 5 while boosted changes
    // nothing visible; the deboost goes straight to nice 5 (125).
    assert_eq!(boosts, vec![(120, 9), (9, 125)]);
    let low = r
        .sched
        .tasks
        .iter()
        .find(|t| t.comm.as_str() == "low")
        .unwrap();
    assert_eq!(low.static_prio, 125);
}
