//! The deadline class and the fair server end to end: CBS throttling and replenishment at
//! the period, EDF order, DL above RT, admission control with the fair servers' 5 %, and
//! the fair server rescuing a fair task from an RT hog (core-and-classes.md §3).

mod common;

use common::*;
use schedsim_kernel::sim::{self, SimOptions, SimResult};
use schedsim_kernel::{Config, Sched};
use schedsim_trace::{Comm, Event};
use schedsim_workload::*;

fn dl(runtime: u64, deadline: u64, period: u64) -> SchedAttr {
    SchedAttr {
        policy: Policy::Deadline,
        runtime,
        deadline,
        period,
        ..SchedAttr::default()
    }
}

fn hog_program() -> Vec<Step> {
    vec![Step::Loop {
        count: None,
        body: vec![Step::Run(Dur::Fixed(MS))],
    }]
}

/// The run intervals (start, end) of `pid` on CPU `cpu`, from sched_switch.
fn runs(r: &SimResult, cpu: usize, pid: i32) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut start = None;
    for rec in &r.sched.trace.cpus[cpu] {
        if let Event::Switch {
            prev_pid, next_pid, ..
        } = rec.event
        {
            if prev_pid == pid {
                if let Some(s) = start.take() {
                    if rec.ts > s {
                        out.push((s, rec.ts));
                    }
                }
            }
            if next_pid == pid {
                start = Some(rec.ts);
            }
        }
    }
    if let Some(s) = start {
        out.push((s, r.end));
    }
    out
}

fn cpu_time(r: &SimResult, comm: &str) -> u64 {
    let pid = pid_of(r, comm);
    (0..r.sched.nr_cpus() as usize)
        .flat_map(|c| runs(r, c, pid))
        .map(|(a, b)| b - a)
        .sum()
}

#[test]
fn cbs_gives_runtime_per_period_above_an_rt_hog() {
    // 10 ms every 100 ms against a FIFO 99 hog: deadline beats RT; the task is throttled
    // at the tick that finds its runtime gone and replenished at its next period.
    let tasks = vec![
        spec("rt", fifo(99), MS, hog_program()),
        spec("dl", dl(10 * MS, 100 * MS, 100 * MS), 2 * MS, hog_program()),
    ];
    let r = simulate(tasks, 1, 900 * MS);
    let dl_pid = pid_of(&r, "dl");
    let rr = runs(&r, 0, dl_pid);
    assert!(rr.len() >= 8, "{rr:?}");
    for (i, &(a, b)) in rr.iter().enumerate() {
        // Each period's run starts at the period boundary (2 ms + k·100 ms) and lasts the
        // runtime, give or take the tick (HZ=250: 4 ms) and the carried overrun.
        assert_eq!(a, 2 * MS + i as u64 * 100 * MS, "{rr:?}");
        assert!((6 * MS..=14 * MS).contains(&(b - a)), "{rr:?}");
    }
    let total: u64 = rr.iter().map(|(a, b)| b - a).sum();
    let per_period = total as f64 / rr.len() as f64;
    assert!((9.0e6..=11.0e6).contains(&per_period), "{per_period}");
}

#[test]
fn edf_runs_the_earlier_deadline_first() {
    // Same period, a's deadline is 50 ms, b's 100 ms: a runs first in every period.
    let tasks = vec![
        spec("b", dl(20 * MS, 100 * MS, 100 * MS), MS, hog_program()),
        spec("a", dl(20 * MS, 50 * MS, 100 * MS), MS, hog_program()),
    ];
    let r = simulate(tasks, 1, 800 * MS);
    let (a, b) = (pid_of(&r, "a"), pid_of(&r, "b"));
    let ra = runs(&r, 0, a);
    let rb = runs(&r, 0, b);
    assert!(ra.len() >= 6 && rb.len() >= 6, "{ra:?} {rb:?}");
    // a's periods are anchored at its creation (0): its first wakeup at 1 ms keeps that
    // deadline with the revised runtime (constrained task), then it runs at 100 ms, 200 ms…
    for k in 0..6 {
        let start = if k == 0 { MS } else { k as u64 * 100 * MS };
        assert_eq!(ra[k].0, start, "{ra:?}");
        assert_eq!(rb[k].0, ra[k].1, "b follows a: {ra:?} {rb:?}");
    }
    // Trace prio of a deadline task is -1.
    let prio = r.sched.trace.cpus[0]
        .iter()
        .find_map(|rec| match rec.event {
            Event::Switch {
                next_pid,
                next_prio,
                ..
            } if next_pid == a => Some(next_prio),
            _ => None,
        });
    assert_eq!(prio, Some(-1));
}

#[test]
fn fair_server_gives_a_starved_fair_task_50ms_per_second() {
    // A FIFO hog would starve the fair task; the fair server (50 ms / 1 s, deferred to its
    // zero-laxity instant) runs it once per second for its runtime.
    let tasks = vec![
        spec("fair", SchedAttr::default(), 0, hog_program()),
        spec("rt", fifo(50), MS, hog_program()),
    ];
    let r = simulate(tasks, 1, 5000 * MS);
    let fair = pid_of(&r, "fair");
    let rr: Vec<_> = runs(&r, 0, fair)
        .into_iter()
        .filter(|&(a, _)| a > 2 * MS)
        .collect();
    assert_eq!(rr.len(), 5, "{rr:?}");
    for (k, &(a, b)) in rr.iter().enumerate() {
        let at = a as f64 / 1e9;
        assert!(
            (at - (0.95 + k as f64)).abs() < 0.005,
            "run {k} starts at {at}: {rr:?}"
        );
        assert!((48 * MS..=54 * MS).contains(&(b - a)), "{rr:?}");
    }
    let share = cpu_time(&r, "fair") as f64 / r.end as f64;
    assert!((0.045..=0.055).contains(&share), "{share}");
}

#[test]
fn fair_server_stays_deferred_while_fair_tasks_get_their_share() {
    // Fair tasks alone: the server is charged by their running and never runs.
    let tasks = vec![
        spec("f1", SchedAttr::default(), 0, hog_program()),
        spec("f2", SchedAttr::default(), 0, hog_program()),
    ];
    let r = simulate(tasks, 1, 3000 * MS);
    let a = cpu_time(&r, "f1") as f64 / r.end as f64;
    let b = cpu_time(&r, "f2") as f64 / r.end as f64;
    assert!((a - b).abs() < 0.02 && a + b > 0.99, "{a} {b}");
    let srv = &r.sched.rq(0).dl.server;
    assert!(srv.dl_defer_armed && srv.dl_throttled && srv.dl_server_active);
}

fn new_task(s: &mut Sched, name: &str) -> schedsim_kernel::task::TaskId {
    s.new_task(Comm::new(name), 0)
}

#[test]
fn admission_counts_the_fair_servers() {
    // 2 CPUs: the limit is 0.95 × 2 = 1.9 CPUs, of which the two fair servers take 0.1.
    let mut s = Sched::new(Config::default(), false);
    let half = dl(500 * MS, 1000 * MS, 1000 * MS);
    for i in 0..3 {
        let p = new_task(&mut s, &format!("d{i}"));
        s.apply_attr_new(p, &half).unwrap();
    }
    let p = new_task(&mut s, "d3");
    let e = s.apply_attr_new(p, &half).unwrap_err();
    assert!(e.contains("EBUSY"), "{e}");
    // 0.3 still fits exactly (1.5 + 0.1 + 0.3 = 1.9).
    s.apply_attr_new(p, &dl(300 * MS, 1000 * MS, 1000 * MS))
        .unwrap();
    let q = new_task(&mut s, "d4");
    assert!(s
        .apply_attr_new(q, &dl(2 * MS, 1000 * MS, 1000 * MS))
        .unwrap_err()
        .contains("EBUSY"));

    // sched_rt_runtime_us = -1 turns admission control off.
    let cfg = Config {
        rt_runtime_us: -1,
        ..Config::default()
    };
    let mut s = Sched::new(cfg, false);
    for i in 0..4 {
        let p = new_task(&mut s, &format!("d{i}"));
        s.apply_attr_new(p, &half).unwrap();
    }
}

#[test]
fn deadline_parameters_follow_checkparam_dl() {
    let s = Sched::new(Config::default(), false);
    let bad = [
        dl(10 * MS, 0, 0),               // no deadline
        dl(1000, 10 * MS, 10 * MS),      // runtime < 1024 ns
        dl(20 * MS, 10 * MS, 10 * MS),   // runtime > deadline
        dl(5 * MS, 20 * MS, 10 * MS),    // deadline > period
        dl(10_000, 50_000, 50_000),      // period < 100 µs
        dl(MS, 10 * MS, 5_000_000 * MS), // period > 2^22 µs
        dl(MS, 1 << 63, 0),              // top bit
    ];
    for a in bad {
        let e = s.check_attr(&a).unwrap_err();
        assert!(e.contains("EINVAL"), "{a:?}: {e}");
    }
    assert!(s.check_attr(&dl(MS, 10 * MS, 0)).is_ok());
    assert!(s.check_attr(&dl(MS, 5 * MS, 10 * MS)).is_ok());

    // The affinity must cover the root domain.
    let mut s = Sched::new(Config::default(), false);
    let p = new_task(&mut s, "pinned");
    let t = s.task_mut(p);
    t.cpus_allowed = schedsim_kernel::cpumask::CpuMask::from_list(2, &[0]);
    t.nr_cpus_allowed = 1;
    let e = s.apply_attr_new(p, &dl(MS, 10 * MS, 10 * MS)).unwrap_err();
    assert!(e.contains("EPERM"), "{e}");
}

#[test]
fn setattr_into_deadline_at_run_time() {
    // A fair task turns itself into a 20 ms / 100 ms deadline task next to a FIFO hog.
    let tasks = vec![
        spec("rt", fifo(10), MS, hog_program()),
        spec(
            "t",
            SchedAttr::default(),
            0,
            vec![
                Step::SetAttr(dl(20 * MS, 100 * MS, 100 * MS)),
                Step::Loop {
                    count: None,
                    body: vec![Step::Run(Dur::Fixed(MS))],
                },
            ],
        ),
    ];
    let r = simulate(tasks, 1, 900 * MS);
    let share = cpu_time(&r, "t") as f64 / r.end as f64;
    assert!((0.18..=0.23).contains(&share), "{share}");
}

#[test]
fn two_cpus_spread_deadline_tasks() {
    // Three 40 ms / 100 ms tasks on two CPUs: global EDF places them so each gets its
    // runtime every period.
    let tasks = vec![
        spec("d0", dl(40 * MS, 100 * MS, 100 * MS), MS, hog_program()),
        spec("d1", dl(40 * MS, 100 * MS, 100 * MS), MS, hog_program()),
        spec("d2", dl(40 * MS, 100 * MS, 100 * MS), MS, hog_program()),
        spec("rt", fifo(10), MS, hog_program()),
    ];
    let r = simulate(tasks, 2, 900 * MS);
    for d in ["d0", "d1", "d2"] {
        let share = cpu_time(&r, d) as f64 / r.end as f64;
        assert!((0.36..=0.44).contains(&share), "{d}: {share}");
    }
}

#[test]
fn a_deadline_task_cannot_be_pinned() {
    // __sched_setaffinity: the mask of a SCHED_DEADLINE task must cover the root domain.
    let t = spec(
        "d",
        dl(MS, 10 * MS, 10 * MS),
        0,
        vec![Step::SetAffinity(Some(vec![0])), Step::Run(Dur::Fixed(MS))],
    );
    let w = Workload {
        source: "dl-test".into(),
        tasks: vec![t],
        ..Workload::default()
    };
    let opts = SimOptions {
        duration: Some(100 * MS),
        seed: 1,
        trace: false,
        check: true,
    };
    let e = sim::run(w, Config::default(), &opts, &mut ())
        .err()
        .expect("refused");
    assert!(e.message.contains("EBUSY"), "{}", e.message);
}
