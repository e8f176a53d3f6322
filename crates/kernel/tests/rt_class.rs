//! The RT class end to end: FIFO/RR queueing, wakeup preemption, RR slices, push/pull on
//! SMP and the head/tail rules of `sched_setattr` (core-and-classes.md §2).

use std::collections::{BTreeMap, HashMap};

mod common;

use common::*;
use schedsim_kernel::sim::{self, SimOptions, SimResult};
use schedsim_kernel::Config;
use schedsim_trace::{state, Event};
use schedsim_workload::*;

fn run_ms(ms: u64) -> Step {
    Step::Run(Dur::Fixed(ms * MS))
}

fn sleep_ms(ms: u64) -> Step {
    Step::Sleep(Dur::Fixed(ms * MS))
}

fn exited_at(r: &SimResult, comm: &str) -> u64 {
    let t = task_named(r, comm);
    r.sched.task_stats[t.id.0 as usize]
        .exited_at
        .unwrap_or_else(|| panic!("{comm} did not exit"))
}

/// Per CPU, the run intervals (start, end, pid) from sched_switch.
fn intervals(r: &SimResult) -> Vec<Vec<(u64, u64, i32)>> {
    let mut out = Vec::new();
    for buf in &r.sched.trace.cpus {
        let mut v = Vec::new();
        let mut since = 0;
        for rec in buf {
            if let Event::Switch { prev_pid, .. } = rec.event {
                v.push((since, rec.ts, prev_pid));
                since = rec.ts;
            }
        }
        if let Some(Event::Switch { next_pid, .. }) = buf
            .iter()
            .rev()
            .find(|r| matches!(r.event, Event::Switch { .. }))
            .map(|r| &r.event)
        {
            v.push((since, r.end, *next_pid));
        }
        out.push(v);
    }
    out
}

#[test]
fn fifo_preempts_a_fair_hog_at_once() {
    let hog = spec("hog", SchedAttr::default(), 0, forever(vec![run_ms(10)]));
    let rt = spec("rt", fifo(10), MS, forever(vec![run_ms(5), sleep_ms(37)]));
    let r = simulate(vec![hog, rt], 1, 500 * MS);
    let rt_pid = pid_of(&r, "rt");
    let recs = &r.sched.trace.cpus[0];
    let mut wakeups = 0;
    for (i, rec) in recs.iter().enumerate() {
        if let Event::Wakeup { pid, .. } = rec.event {
            if pid != rt_pid {
                continue;
            }
            wakeups += 1;
            // The next switch on this CPU is to rt, at the same instant.
            let sw = recs[i..]
                .iter()
                .find(|r| matches!(r.event, Event::Switch { .. }))
                .expect("a switch follows");
            match sw.event {
                Event::Switch {
                    next_pid,
                    prev_state,
                    ..
                } => {
                    assert_eq!(next_pid, rt_pid);
                    assert_eq!(sw.ts, rec.ts, "rt runs at its wakeup");
                    assert_eq!(prev_state, state::RUNNING);
                }
                _ => unreachable!(),
            }
        }
    }
    assert!(wakeups >= 10, "{wakeups}");
    // Each 5 ms burst runs uninterrupted.
    for &(a, b, pid) in &intervals(&r)[0] {
        if pid == rt_pid && b < r.end {
            assert_eq!(b - a, 5 * MS);
        }
    }
}

#[test]
fn fifo_runs_in_priority_order() {
    // All three wake at 10 ms on one CPU (lowest first); each runs 20 ms then exits.
    let tasks = vec![
        spec("low", fifo(10), 10 * MS, vec![run_ms(20)]),
        spec("mid", fifo(20), 10 * MS, vec![run_ms(20)]),
        spec("high", fifo(30), 10 * MS, vec![run_ms(20)]),
        spec("hog", SchedAttr::default(), 0, forever(vec![run_ms(10)])),
    ];
    let r = simulate(tasks, 1, 200 * MS);
    assert_eq!(exited_at(&r, "high"), 30 * MS);
    assert_eq!(exited_at(&r, "mid"), 50 * MS);
    assert_eq!(exited_at(&r, "low"), 70 * MS);
    // The prios in the trace are 99 - rt_priority.
    let high = pid_of(&r, "high");
    let prio = r.sched.trace.cpus[0]
        .iter()
        .find_map(|rec| match rec.event {
            Event::Switch {
                next_pid,
                next_prio,
                ..
            } if next_pid == high => Some(next_prio),
            _ => None,
        });
    assert_eq!(prio, Some(69));
}

#[test]
fn fifo_has_no_slice_but_rr_alternates_in_100ms_slices() {
    let tasks = vec![
        spec("a", rr(10), MS, forever(vec![run_ms(10)])),
        spec("b", rr(10), MS, forever(vec![run_ms(10)])),
    ];
    let r = simulate(tasks, 1, 1000 * MS);
    let (a, b) = (pid_of(&r, "a"), pid_of(&r, "b"));
    let iv: Vec<_> = intervals(&r)[0]
        .iter()
        .copied()
        .filter(|&(_, _, p)| p == a || p == b)
        .collect();
    assert!(iv.len() >= 8, "{iv:?}");
    // Strict alternation; every slice after the first and before the end is 100 ms.
    for w in iv.windows(2) {
        assert_ne!(w[0].2, w[1].2, "{iv:?}");
        assert_eq!(w[0].1, w[1].0);
    }
    for &(s, e, _) in &iv[1..iv.len() - 1] {
        assert_eq!(e - s, 100 * MS, "{iv:?}");
    }

    // The same pair as FIFO: the first never lets go.
    let tasks = vec![
        spec("a", fifo(10), MS, forever(vec![run_ms(10)])),
        spec("b", fifo(10), MS, forever(vec![run_ms(10)])),
    ];
    let r = simulate(tasks, 1, 1000 * MS);
    let b = pid_of(&r, "b");
    assert!(intervals(&r)[0].iter().all(|&(_, _, p)| p != b));
}

#[test]
fn rr_slice_is_not_refilled_by_preemption() {
    // a and b are RR at prio 10; a FIFO 20 task preempts every 30 ms for 1 ms. Preemption
    // does not refill the slice, so the pair still alternates; each turn is 25 ticks that
    // hit the RR task itself (a tick taken while hi runs does not count).
    let tasks = vec![
        spec("a", rr(10), MS, forever(vec![run_ms(10)])),
        spec("b", rr(10), MS, forever(vec![run_ms(10)])),
        spec("hi", fifo(20), MS, forever(vec![sleep_ms(29), run_ms(1)])),
    ];
    let r = simulate(tasks, 1, 1000 * MS);
    let (a, b) = (pid_of(&r, "a"), pid_of(&r, "b"));
    // Group consecutive runs of the same RR task (interrupted only by hi).
    let mut turns: Vec<(i32, u64, u64)> = Vec::new();
    for &(s, e, p) in &intervals(&r)[0] {
        if p != a && p != b {
            continue;
        }
        match turns.last_mut() {
            Some(t) if t.0 == p => {
                t.1 += e - s;
                t.2 = e;
            }
            _ => turns.push((p, e - s, e)),
        }
    }
    assert!(turns.len() >= 6, "{turns:?}");
    for t in &turns[1..turns.len() - 1] {
        assert!(
            (96 * MS..=112 * MS).contains(&t.1),
            "turn of {} ran {} ns: {turns:?}",
            t.0,
            t.1
        );
    }
}

/// Replays the trace and checks, at the end of every instant, that the CPUs run the
/// highest-priority runnable RT tasks (as many as there are CPUs).
fn check_top_n_run(r: &SimResult, rt_pids: &HashMap<i32, i32>, ncpus: usize) -> usize {
    let recs = r.sched.trace.merged();
    let mut runnable: BTreeMap<i32, bool> = BTreeMap::new();
    let mut running: Vec<i32> = vec![0; ncpus];
    let mut checks = 0;
    let mut i = 0;
    while i < recs.len() {
        let ts = recs[i].ts;
        while i < recs.len() && recs[i].ts == ts {
            let rec = recs[i];
            match &rec.event {
                // (Every RT task here starts with a delay: wakeup_new is not its start.)
                Event::Wakeup { pid, .. } => {
                    runnable.insert(*pid, true);
                }
                Event::Switch {
                    prev_pid,
                    prev_state,
                    next_pid,
                    ..
                } => {
                    if *prev_state != state::RUNNING && *prev_state != state::PREEMPTED {
                        runnable.insert(*prev_pid, false);
                    }
                    running[rec.cpu as usize] = *next_pid;
                }
                _ => {}
            }
            i += 1;
        }
        // Highest (lowest prio number) runnable RT tasks.
        let mut want: Vec<(i32, i32)> = rt_pids
            .iter()
            .filter(|(p, _)| runnable.get(p).copied().unwrap_or(false))
            .map(|(&p, &prio)| (prio, p))
            .collect();
        want.sort();
        let top: Vec<i32> = want.iter().take(ncpus).map(|&(_, p)| p).collect();
        for p in &top {
            assert!(
                running.contains(p),
                "at {ts}: runnable RT {want:?} but running {running:?}"
            );
        }
        checks += 1;
    }
    checks
}

#[test]
fn two_cpus_run_the_two_highest_fifo_tasks() {
    // Three FIFO tasks of different priorities with different periods, plus fair hogs.
    let tasks = vec![
        spec("r10", fifo(10), MS, forever(vec![run_ms(7), sleep_ms(3)])),
        spec(
            "r20",
            fifo(20),
            3 * MS / 2,
            forever(vec![run_ms(5), sleep_ms(4)]),
        ),
        spec(
            "r30",
            fifo(30),
            2 * MS,
            forever(vec![run_ms(3), sleep_ms(8)]),
        ),
        spec("hog0", SchedAttr::default(), 0, forever(vec![run_ms(10)])),
        spec("hog1", SchedAttr::default(), 0, forever(vec![run_ms(10)])),
    ];
    // (Under 950 ms: the fair servers, which would give the hogs 50 ms, stay deferred.)
    let r = simulate(tasks, 2, 900 * MS);
    let mut rt = HashMap::new();
    for (c, p) in [("r10", 10), ("r20", 20), ("r30", 30)] {
        rt.insert(pid_of(&r, c), 99 - p);
    }
    let checks = check_top_n_run(&r, &rt, 2);
    assert!(checks > 500, "{checks}");
    // Somebody had to move: push/pull migrated RT tasks.
    let migrations = rt_migrations(&r, &rt);
    assert!(migrations > 10, "{migrations}");
}

/// FIFO tasks `r{prio}` running and sleeping at their own rhythm (`(prio, run ms, sleep
/// ms)`, starting 0.3 ms apart from 1 ms), plus `hogs` fair hogs.
fn fifo_set(set: &[(u32, u64, u64)], hogs: u32) -> Vec<TaskSpec> {
    let mut tasks: Vec<TaskSpec> = set
        .iter()
        .enumerate()
        .map(|(i, &(prio, run, sl))| {
            spec(
                &format!("r{prio}"),
                fifo(prio),
                MS + i as u64 * 300_000,
                forever(vec![run_ms(run), sleep_ms(sl)]),
            )
        })
        .collect();
    tasks.extend((0..hogs).map(|h| {
        spec(
            &format!("hog{h}"),
            SchedAttr::default(),
            0,
            forever(vec![run_ms(10)]),
        )
    }));
    tasks
}

/// The RT tasks of a `fifo_set` run: pid → kernel prio.
fn rt_pids(r: &SimResult, set: &[(u32, u64, u64)]) -> HashMap<i32, i32> {
    set.iter()
        .map(|&(prio, _, _)| (pid_of(r, &format!("r{prio}")), 99 - prio as i32))
        .collect()
}

/// How many times the RT tasks moved between CPUs.
fn rt_migrations(r: &SimResult, rt: &HashMap<i32, i32>) -> usize {
    r.sched
        .trace
        .merged()
        .iter()
        .filter(|rec| matches!(rec.event, Event::MigrateTask { pid, .. } if rt.contains_key(&pid)))
        .count()
}

#[test]
fn three_cpus_keep_the_top_three_of_five_fifo_tasks_running() {
    let set = [(5, 4, 3), (15, 6, 2), (25, 2, 5), (35, 3, 3), (45, 9, 1)];
    let r = simulate(fifo_set(&set, 1), 3, 900 * MS);
    assert!(check_top_n_run(&r, &rt_pids(&r, &set), 3) > 300);
}

/// The case: on 4 CPUs, 6 FIFO tasks of distinct priorities, each running and
/// sleeping at its own rhythm beside fair hogs: at every instant of the trace the 4 highest
/// runnable ones run (push at wakeup and preemption, pull when a CPU lowers its priority),
/// and to keep it so the RT tasks move between CPUs.
#[test]
fn four_cpus_keep_the_top_four_of_six_fifo_tasks_running() {
    let set = [
        (5, 4, 3),
        (15, 6, 2),
        (25, 2, 5),
        (35, 3, 3),
        (45, 9, 1),
        (55, 1, 4),
    ];
    let r = simulate(fifo_set(&set, 4), 4, 900 * MS);
    let rt = rt_pids(&r, &set);
    assert!(check_top_n_run(&r, &rt, 4) > 500);
    let migrations = rt_migrations(&r, &rt);
    assert!(migrations > 10, "{migrations}");
}

#[test]
fn lowered_priority_goes_to_the_head() {
    // x (FIFO 60) runs from 1 ms; y (FIFO 50) is queued at 2 ms. At 11 ms x lowers itself
    // to 50: it is enqueued at the head of that level and keeps the CPU.
    let x = spec(
        "x",
        fifo(60),
        MS,
        vec![run_ms(10), Step::SetAttr(fifo(50)), run_ms(10)],
    );
    let y = spec("y", fifo(50), 2 * MS, vec![run_ms(10)]);
    let r = simulate(vec![x, y], 1, 100 * MS);
    assert_eq!(exited_at(&r, "x"), 21 * MS);
    assert_eq!(exited_at(&r, "y"), 31 * MS);

    // Lowered below y (60 -> 40): y preempts at once (prio_changed_rt).
    let x = spec(
        "x",
        fifo(60),
        MS,
        vec![run_ms(10), Step::SetAttr(fifo(40)), run_ms(10)],
    );
    let y = spec("y", fifo(50), 2 * MS, vec![run_ms(10)]);
    let r = simulate(vec![x, y], 1, 100 * MS);
    assert_eq!(exited_at(&r, "y"), 21 * MS);
    assert_eq!(exited_at(&r, "x"), 31 * MS);
}

#[test]
fn setattr_to_and_from_rt_at_run_time() {
    // t becomes FIFO at 5 ms: it keeps the CPU against the fair hog for its 50 ms burst,
    // then goes back to SCHED_OTHER and shares.
    let hog = spec("hog", SchedAttr::default(), 0, forever(vec![run_ms(10)]));
    let t = spec(
        "t",
        SchedAttr::default(),
        5 * MS,
        vec![
            Step::SetAttr(fifo(10)),
            run_ms(50),
            Step::SetAttr(SchedAttr::default()),
            run_ms(50),
        ],
    );
    let r = simulate(vec![hog, t], 1, 400 * MS);
    let tp = pid_of(&r, "t");
    let iv = &intervals(&r)[0];
    // (Back in fair it may keep the CPU a little longer: the fair class decides.)
    let first = iv.iter().find(|&&(_, _, p)| p == tp).unwrap();
    // Its 5 ms start delay is a SCHED_OTHER nanosleep: it ends 50 µs late (timer slack).
    assert_eq!((first.0, first.2), (5 * MS + 50_000, tp));
    assert!(first.1 >= 55 * MS, "{first:?}");
    let ex = exited_at(&r, "t");
    assert!(ex > 140 * MS && ex < 170 * MS, "{ex}");
}

#[test]
fn bad_rt_priorities_are_refused() {
    let s = schedsim_kernel::Sched::new(Config::default(), false);
    assert!(s.check_attr(&fifo(0)).unwrap_err().contains("EINVAL"));
    assert!(s.check_attr(&rr(100)).unwrap_err().contains("EINVAL"));
    assert!(s.check_attr(&fifo(99)).is_ok());
    let bad_fair = SchedAttr {
        rt_priority: 3,
        ..SchedAttr::default()
    };
    assert!(s.check_attr(&bad_fair).unwrap_err().contains("EINVAL"));
}

/// Without the invariant checker: it does not yet know that a throttled rt_rq leaves
/// `nr_running` (RT group throttling).
fn simulate_unchecked(tasks: Vec<TaskSpec>, cfg: Config, duration: u64) -> SimResult {
    let w = Workload {
        source: "rt-test".into(),
        tasks,
        ..Workload::default()
    };
    let opts = SimOptions {
        duration: Some(duration),
        seed: 1,
        trace: true,
        check: false,
    };
    sim::run(w, cfg, &opts, &mut ()).expect("simulation runs")
}

#[test]
fn rt_group_sched_throttles_rt_to_its_runtime_per_period() {
    // With RT group scheduling the root group's 950 ms / 1 s holds a lone FIFO hog back
    // for the rest of each period (the CPU idles): the period timer starts with the first
    // RT enqueue (1 ms), throttling is noticed at the tick.
    let cfg = Config {
        nr_cpus: 1,
        rt_group_sched: true,
        ..Config::default()
    };
    let tasks = vec![spec("rt", fifo(10), MS, forever(vec![run_ms(10)]))];
    let r = simulate_unchecked(tasks, cfg, 3000 * MS);
    let rt = pid_of(&r, "rt");
    let iv: Vec<_> = intervals(&r)[0]
        .iter()
        .copied()
        .filter(|&(a, b, p)| p == rt && b > a)
        .collect();
    assert_eq!(iv.len(), 3, "{iv:?}");
    for (k, &(a, b, _)) in iv.iter().enumerate() {
        assert_eq!(a, MS + k as u64 * 1000 * MS, "{iv:?}");
        assert!((950 * MS..=954 * MS).contains(&(b - a)), "{iv:?}");
    }

    // A fair hog gets the throttled part of each period.
    let cfg = Config {
        nr_cpus: 1,
        rt_group_sched: true,
        ..Config::default()
    };
    let tasks = vec![
        spec("fair", SchedAttr::default(), 0, forever(vec![run_ms(10)])),
        spec("rt", fifo(10), MS, forever(vec![run_ms(10)])),
    ];
    let r = simulate_unchecked(tasks, cfg, 3000 * MS);
    let fair = pid_of(&r, "fair");
    let ran: u64 = intervals(&r)[0]
        .iter()
        .filter(|&&(a, _, p)| p == fair && a > 2 * MS)
        .map(|&(a, b, _)| b - a)
        .sum();
    let share = ran as f64 / r.end as f64;
    assert!((0.045..=0.055).contains(&share), "{share}");

    // Off (the default), or with sched_rt_runtime_us = -1: no throttling.
    let cfg = Config {
        nr_cpus: 1,
        rt_group_sched: true,
        rt_runtime_us: -1,
        ..Config::default()
    };
    let tasks = vec![spec("rt", fifo(10), MS, forever(vec![run_ms(10)]))];
    let r = simulate_unchecked(tasks, cfg, 2000 * MS);
    assert_eq!(intervals(&r)[0].last().unwrap().2, pid_of(&r, "rt"));
    assert_eq!(intervals(&r)[0].last().unwrap().0, MS);
}
