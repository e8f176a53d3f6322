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
    let r = one_cpu_pi(vec![low, high], 100 * MS);
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

fn dl(runtime: u64, period: u64) -> SchedAttr {
    SchedAttr {
        policy: Policy::Deadline,
        runtime,
        deadline: period,
        period,
        ..SchedAttr::default()
    }
}

/// The (start, end) of every interval `pid` ran on CPU 0, and the prio it was switched in
/// with.
fn runs(r: &SimResult, pid: i32) -> Vec<(u64, u64, i32)> {
    let mut out = Vec::new();
    let mut start = None;
    for rec in &r.sched.trace.cpus[0] {
        if let Event::Switch {
            prev_pid,
            next_pid,
            next_prio,
            ..
        } = rec.event
        {
            if prev_pid == pid {
                if let Some((s, prio)) = start.take() {
                    out.push((s, rec.ts, prio));
                }
            }
            if next_pid == pid {
                start = Some((rec.ts, next_prio));
            }
        }
    }
    out
}

fn one_cpu_pi(tasks: Vec<TaskSpec>, duration: u64) -> SimResult {
    let mut w = workload(tasks);
    w.mutexes.push(MutexDecl {
        name: "m".into(),
        pi: true,
    });
    let cfg = Config {
        nr_cpus: 1,
        ..Config::default()
    };
    simulate_workload(w, cfg, duration)
}

/// A fair owner blocking a SCHED_DEADLINE waiter runs in the deadline class on the
/// waiter's parameters (`pi_se`): prio −1 in `sched_pi_setprio` and `sched_switch`, above
/// an RT hog, and not throttled when the inherited runtime (5 ms) runs out (it is refilled
/// at once, `is_dl_boosted`); the unlock deboosts it to its own class.
#[test]
fn a_deadline_waiter_boosts_a_fair_owner_into_the_deadline_class() {
    let run = |ms| Step::Run(Dur::Fixed(ms * MS));
    let low = spec(
        "low",
        SchedAttr::default(),
        MS,
        vec![Step::Lock(0), run(20), Step::Unlock(0), run(5), Step::Exit],
    );
    let waiter = spec(
        "dlw",
        dl(5 * MS, 100 * MS),
        2 * MS,
        vec![Step::Lock(0), run(1), Step::Unlock(0), Step::Exit],
    );
    let hog = spec("hog", fifo(50), 3 * MS, vec![run(100), Step::Exit]);
    let r = one_cpu_pi(vec![low, waiter, hog], 200 * MS);
    assert_eq!(pi_setprio(&r), vec![(120, -1), (-1, 120)]);
    let low_runs = runs(&r, pid_of(&r, "low"));
    // Before the waiter: 1 ms at 120. Boosted: from the waiter's lock (2 ms) to the
    // unlock, one stretch at −1 through the hog's wakeup and two exhausted budgets.
    let boosted: Vec<_> = low_runs.iter().filter(|x| x.2 == -1).collect();
    assert_eq!(boosted.len(), 1, "{low_runs:?}");
    let (a, b, _) = *boosted[0];
    assert!(a <= 2 * MS + MS / 10 && b >= 20 * MS, "{low_runs:?}");
    // The waiter then runs and exits before the hog ever runs.
    let dlw_exit = exit_time(&r, "dlw");
    assert!(dlw_exit <= b + 2 * MS, "{dlw_exit} {b}");
    let hog_runs = runs(&r, pid_of(&r, "hog"));
    assert!(hog_runs.iter().all(|x| x.0 >= dlw_exit), "{hog_runs:?}");
    let t = r
        .sched
        .tasks
        .iter()
        .find(|t| t.comm.as_str() == "low")
        .unwrap();
    assert_eq!(t.prio, 120);
}

/// A deadline owner (2 ms every 200 ms) takes the PI mutex at 1 ms and holds it for
/// `hold_ms` of work; the waiter asks for it at 2 ms and holds it for 1 ms; one CPU.
fn dl_owner_and_waiter(hold_ms: u64, waiter: (&str, SchedAttr), run_ms: u64) -> SimResult {
    let run = |ms| Step::Run(Dur::Fixed(ms * MS));
    let critical = |ms| vec![Step::Lock(0), run(ms), Step::Unlock(0), Step::Exit];
    let owner = spec("owner", dl(2 * MS, 200 * MS), MS, critical(hold_ms));
    let waiter = spec(waiter.0, waiter.1, 2 * MS, critical(1));
    one_cpu_pi(vec![owner, waiter], run_ms * MS)
}

/// A deadline owner with a later deadline is boosted by a deadline waiter with an earlier
/// one (`dl_entity_preempt(&pi_task->dl, &p->dl)`): it keeps its priority (−1 → −1 in
/// `sched_pi_setprio`, traced at the boost and at the unlock) and now runs on the waiter's
/// parameters: running out of its own 2 ms does not throttle it to its next period 200 ms
/// away; it is refilled with the waiter's runtime and its deadline moves by the waiter's
/// period (`replenish_dl_entity` with `pi_of`).
#[test]
fn a_deadline_owner_inherits_an_earlier_deadline_waiters_parameters() {
    let r = dl_owner_and_waiter(10, ("dlw", dl(5 * MS, 50 * MS)), 300);
    assert_eq!(pi_setprio(&r), vec![(-1, -1), (-1, -1)]);
    // Without the boost the owner would be throttled after 2 ms until 201 ms.
    let owner_exit = exit_time(&r, "owner");
    assert!(owner_exit < 20 * MS, "{owner_exit}");
    assert!(exit_time(&r, "dlw") < 20 * MS);
}

/// Without a deadline donor the same deadline owner is throttled at its own runtime and
/// the waiter waits for its next period (the contrast to the test above).
#[test]
fn a_deadline_owner_without_a_deadline_donor_is_throttled() {
    let r = dl_owner_and_waiter(8, ("rtw", fifo(90)), 2_000);
    assert!(
        exit_time(&r, "owner") > 200 * MS,
        "{}",
        exit_time(&r, "owner")
    );
}
