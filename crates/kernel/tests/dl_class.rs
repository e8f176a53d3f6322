//! The deadline class and the fair server end to end: CBS throttling and replenishment at
//! the period, EDF order, DL above RT, admission control with the fair servers' 5 %, and
//! the fair server rescuing a fair task from an RT hog (core-and-classes.md §3).

mod common;

use common::*;
use schedsim_kernel::report::Report;
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

// ---------------------------------------------------------------------------------------
// Deadline misses, lateness and throttled time (report `tasks[].deadline`).

fn dl_report(r: &SimResult, comm: &str) -> schedsim_kernel::class::dl::DlReport {
    let rep = Report::from_result(r);
    rep.tasks
        .iter()
        .find(|t| t.comm == comm)
        .unwrap_or_else(|| panic!("no task {comm}"))
        .deadline
        .clone()
        .unwrap_or_else(|| panic!("{comm} has no deadline figures"))
}

#[test]
fn a_task_within_its_budget_never_misses() {
    // 8 ms of work every 100 ms on a 10 ms / 100 ms reservation, above an RT hog (forked
    // second: it would starve the launcher): every job finishes 92 ms before its deadline
    // and the task is never throttled.
    let tasks = vec![
        spec(
            "dl",
            dl(10 * MS, 100 * MS, 100 * MS),
            0,
            vec![Step::Loop {
                count: None,
                body: vec![
                    Step::Run(Dur::Fixed(8 * MS)),
                    Step::Sleep(Dur::Fixed(92 * MS)),
                ],
            }],
        ),
        spec("rt", fifo(99), 0, hog_program()),
    ];
    let r = simulate(tasks, 1, 1000 * MS);
    let d = dl_report(&r, "dl");
    assert_eq!((d.jobs, d.misses, d.misses_kernel), (10, 0, 0), "{d:?}");
    assert_eq!((d.throttled_ns, d.nr_throttled), (0, 0), "{d:?}");
    let l = &d.lateness_ns;
    assert_eq!(l.count, 10);
    // −92 ms, quantised to HdrHistogram's 3 significant digits.
    for v in [l.min, l.p50, l.max] {
        assert!((-92_100_000..=-91_900_000).contains(&v), "{l:?}");
    }
    let text = Report::from_result(&r).summary();
    assert!(
        text.contains("deadline task") && text.contains("throttled ms"),
        "{text}"
    );
    // Tasks that never were SCHED_DEADLINE carry no deadline figures.
    let rep = Report::from_result(&r);
    assert!(rep
        .tasks
        .iter()
        .find(|t| t.comm == "rt")
        .unwrap()
        .deadline
        .is_none());
}

#[test]
fn an_overrunning_task_misses_and_is_throttled() {
    // Jobs of 30 ms on a 10 ms / 100 ms reservation, 50 ms of sleep between jobs; 1 CPU,
    // HZ=250 (ticks every 4 ms: the depletion is noticed at the next tick).
    //   job 0: released at 0 (deadline 100). Runs 0–10, the tick at 12 throttles it
    //     (runtime −2 ms) until its next period, 100 (88 ms). Replenished to 8 ms: runs
    //     100–108, throttled at that tick until 200 (92 ms). Runs 200–210 and finishes:
    //     lateness +110 ms; the dequeue finds the runtime at 0 and throttles it until 300
    //     (90 ms).
    //   job 1: wakes at 260 while throttled (deadline 360); replenished at 300, the same
    //     pattern shifted by 300 ms: finishes at 510, lateness +150 ms.
    //   job 2: 560 → 810, +150 ms. job 3: released at 860 (deadline 960), still running at
    //     the end (950): neither finished nor past its deadline.
    // Throttled: 88 + 92 + 90 per 300 ms, three times, plus 912–950 open at the end.
    let tasks = vec![spec(
        "dl",
        SchedAttr {
            flags: 0x04, // SCHED_FLAG_DL_OVERRUN
            ..dl(10 * MS, 100 * MS, 100 * MS)
        },
        0,
        vec![Step::Loop {
            count: None,
            body: vec![
                Step::Run(Dur::Fixed(30 * MS)),
                Step::Sleep(Dur::Fixed(50 * MS)),
            ],
        }],
    )];
    let r = simulate(tasks, 1, 950 * MS);
    let d = dl_report(&r, "dl");
    assert_eq!((d.jobs, d.misses), (3, 3), "{d:?}");
    assert_eq!(d.nr_throttled, 10, "{d:?}");
    assert_eq!(d.throttled_ns, (3 * (88 + 92 + 90) + 38) * MS, "{d:?}");
    let l = &d.lateness_ns;
    assert_eq!(l.count, 3);
    assert!((109_900_000..=110_100_000).contains(&l.min), "{l:?}");
    assert!((149_900_000..=150_100_000).contains(&l.max), "{l:?}");
    // The kernel's own view: each job ends after the deadline as postponed by the
    // replenishments (300, 600, 900)? No: 210 < 300 — it sees no miss at all.
    assert_eq!(d.misses_kernel, 0, "{d:?}");
}

// ---------------------------------------------------------------------------------------
// Random task sets: admission, zero misses on one CPU, global EDF on four.

use schedsim_kernel::class::dl::{to_ratio, FAIR_SERVER_PERIOD, FAIR_SERVER_RUNTIME};
use schedsim_kernel::user::rng::Rng;

/// `dl_b->bw · cap >> 10` minus the fair servers' bandwidth: what admission leaves for
/// tasks on `cpus` CPUs with the default sched_rt_runtime_us = 950000 / 1000000.
fn task_bw_available(cpus: u64) -> u64 {
    let limit = (to_ratio(1_000_000, 950_000) * (1024 * cpus)) >> 10;
    limit - cpus * to_ratio(FAIR_SERVER_PERIOD, FAIR_SERVER_RUNTIME)
}

/// Deadline tasks as (runtime, deadline, period).
type TaskSet = Vec<(u64, u64, u64)>;

/// A random set of periodic deadline tasks (runtime, deadline, period) whose bandwidth
/// admission accepts on `cpus` CPUs; constrained sets also keep their density (Σ Q/D)
/// within `max_density`, the EDF test for constrained deadlines that admission, which only
/// sums Q/P, does not make.
fn random_set(rng: &mut Rng, cpus: u64, constrained: bool, max_density: f64) -> TaskSet {
    let avail = task_bw_available(cpus);
    loop {
        let max_n = if cpus == 1 { 5 } else { 3 * cpus };
        let n = 1 + rng.next_u64() % max_n;
        // UUniFast for the total utilisation, each share at most one CPU.
        let total = (0.05 + rng.unit() * 0.95) * avail as f64 / (1u64 << 20) as f64;
        let mut left = total;
        let mut us = Vec::new();
        for i in 1..n {
            let next = left * rng.unit().powf(1.0 / (n - i) as f64);
            us.push(left - next);
            left = next;
        }
        us.push(left);
        if us.iter().any(|&u| u > 1.0) {
            continue;
        }
        let set: Vec<_> = us
            .iter()
            .map(|&u| {
                let period = (5 + rng.next_u64() % 195) * MS + rng.next_u64() % 1000 * 1000;
                let runtime = ((u * period as f64) as u64).max(100_000).min(period);
                let deadline = if constrained {
                    runtime + (rng.unit() * (period - runtime) as f64) as u64
                } else {
                    period
                };
                (runtime, deadline, period)
            })
            .collect();
        let bw: u64 = set.iter().map(|&(q, _, p)| to_ratio(p, q)).sum();
        let density: f64 = set.iter().map(|&(q, d, _)| q as f64 / d as f64).sum();
        if bw <= avail && density <= max_density {
            return set;
        }
    }
}

/// The workload of a set: each task sleeps to its next period on an absolute per-thread
/// timer (all released together at the first timer use) and runs a job of at most its
/// runtime. Jobs stop 2 µs short of the runtime: a job using all of it, woken exactly at
/// its deadline, keeps that deadline with no runtime left (`dl_entity_overflow` is false
/// at 0) and runs at it until the next tick — the kernel's behaviour, but an overrun.
fn set_workload(set: &[(u64, u64, u64)], fair_hog: bool) -> Workload {
    let mut tasks: Vec<TaskSpec> = set
        .iter()
        .enumerate()
        .map(|(i, &(q, d, p))| {
            let body = vec![
                Step::Timer {
                    timer: 0,
                    period: p,
                    absolute: true,
                },
                Step::Run(Dur::Uniform {
                    lo: q / 4,
                    hi: q - 2048,
                }),
            ];
            spec(
                &format!("d{i}"),
                dl(q, d, p),
                0,
                vec![Step::Loop { count: None, body }],
            )
        })
        .collect();
    if fair_hog {
        tasks.push(spec("fair", SchedAttr::default(), 0, hog_program()));
    }
    Workload {
        source: "dl-random".into(),
        tasks,
        timers: vec![TimerDecl {
            name: "period".into(),
            shared: false,
        }],
        ..Workload::default()
    }
}

fn machine(cpus: u32) -> Config {
    Config {
        nr_cpus: cpus,
        ..Config::default()
    }
}

/// Simulated seconds per uniprocessor set (see the test's comment on wall time).
const RANDOM_SET_SECS: u64 = 10;
const RANDOM_SETS: usize = 1000;

#[test]
fn a_thousand_admitted_uniprocessor_sets_never_miss() {
    // 1,000 sets of 1–5 tasks, alternately implicit and constrained, every other pair with
    // a fair hog (then the fair server's 5 % competes in EDF too, so constrained sets keep
    // Σ Q/D ≤ 0.95), 10 s each. Admission accepts each (the run would fail with EBUSY
    // otherwise) and EDF meets every deadline. Generated in order from one seed, run on
    // two threads (about 30 s in a debug build).
    let mut rng = Rng::new(0x005e_edd1, 0);
    let sets: Vec<_> = (0..RANDOM_SETS)
        .map(|k| {
            let fair = k % 4 >= 2;
            (
                k,
                fair,
                random_set(&mut rng, 1, k % 2 == 1, if fair { 0.95 } else { 1.0 }),
            )
        })
        .collect();
    let run_chunk = |chunk: &[(usize, bool, TaskSet)]| -> u64 {
        let mut jobs = 0;
        for (k, fair, set) in chunk {
            let r = run(
                set_workload(set, *fair),
                1,
                RANDOM_SET_SECS * 1000 * MS,
                false,
            );
            let rep = Report::from_result(&r);
            for t in rep.tasks.iter().filter(|t| t.comm.starts_with('d')) {
                let d = t.deadline.as_ref().unwrap();
                assert_eq!(d.misses, 0, "set {k} {set:?}: {} {d:?}", t.comm);
                assert!(d.jobs > 0, "set {k} {set:?}: {}", t.comm);
                jobs += d.jobs;
            }
        }
        jobs
    };
    let (a, b) = sets.split_at(sets.len() / 2);
    let jobs: u64 = std::thread::scope(|sc| {
        let h = sc.spawn(|| run_chunk(a));
        run_chunk(b) + h.join().unwrap()
    });
    assert!(jobs > 100 * RANDOM_SETS as u64, "{jobs}");
}

#[test]
fn admission_refuses_one_ns_above_the_limit() {
    // 1 CPU: dl_b->bw = to_ratio(1 s, 950 ms) = 996147, cap 1024, the fair server holds
    // to_ratio(1 s, 50 ms) = 52428: 943719 are left. With a period of 2^20 ns the task's
    // bandwidth is its runtime in ns.
    assert_eq!(task_bw_available(1), 943_719);
    let p = 1 << 20;
    let mut s = Sched::new(
        Config {
            nr_cpus: 1,
            ..Config::default()
        },
        false,
    );
    let a = new_task(&mut s, "a");
    let e = s.apply_attr_new(a, &dl(943_720, p, p)).unwrap_err();
    assert!(e.contains("EBUSY"), "{e}");
    s.apply_attr_new(a, &dl(943_719, p, p)).unwrap();
    // Full: the smallest bandwidth there is (1024 ns every 2^30 ns = 1) no longer fits.
    let b = new_task(&mut s, "b");
    assert!(s
        .apply_attr_new(b, &dl(1024, 1 << 30, 1 << 30))
        .unwrap_err()
        .contains("EBUSY"));

    // 4 CPUs: 4 × 943719 = 3774876 for tasks; three full-size tasks and one of 943719.
    assert_eq!(task_bw_available(4), 3_774_876);
    let mut s = Sched::new(
        Config {
            nr_cpus: 4,
            ..Config::default()
        },
        false,
    );
    for i in 0..3 {
        let t = new_task(&mut s, &format!("f{i}"));
        s.apply_attr_new(t, &dl(p, p, p)).unwrap();
    }
    let t = new_task(&mut s, "last");
    assert!(s
        .apply_attr_new(t, &dl(3_774_876 - 3 * p + 1, p, p))
        .unwrap_err()
        .contains("EBUSY"));
    s.apply_attr_new(t, &dl(3_774_876 - 3 * p, p, p)).unwrap();
}

/// Intervals (start, end) where `cpu` ran its idle task.
fn idle_intervals(r: &SimResult, cpu: usize) -> Vec<(u64, u64)> {
    runs(r, cpu, 0)
}

/// Intervals where deadline task `pid` was queued but not running: from `sched_wakeup`
/// (or `_new`) or a switch-out still runnable, to its next switch-in. The buffers are per
/// CPU: at one instant a wakeup (traced where it was issued) or a switch-out (a push
/// from a lower-numbered CPU) comes before the switch-in elsewhere.
fn waiting_intervals(r: &SimResult, pid: i32) -> Vec<(u64, u64)> {
    let mut recs: Vec<_> = r.sched.trace.cpus.iter().flatten().collect();
    recs.sort_by_key(|rec| {
        (
            rec.ts,
            matches!(rec.event, Event::Switch { next_pid, .. } if next_pid == pid),
        )
    });
    let mut out = Vec::new();
    let mut since = None;
    for rec in recs {
        match &rec.event {
            Event::Wakeup { pid: p, .. } | Event::WakeupNew { pid: p, .. } if *p == pid => {
                since.get_or_insert(rec.ts);
            }
            Event::Switch {
                prev_pid,
                prev_state,
                next_pid,
                ..
            } => {
                if *next_pid == pid {
                    if let Some(s) = since.take() {
                        out.push((s, rec.ts));
                    }
                }
                if *prev_pid == pid && prev_state & 0xff == 0 {
                    since = Some(rec.ts);
                }
            }
            _ => {}
        }
    }
    if let Some(s) = since {
        out.push((s, r.end));
    }
    out
}

#[test]
fn global_edf_never_idles_a_cpu_while_a_deadline_task_waits() {
    // Random admitted sets on 4 CPUs (implicit and constrained, with and without a fair
    // hog), jobs within their runtime so no task is ever throttled: at no instant of
    // positive length is a CPU idle while a deadline task is queued and not running.
    let mut rng = Rng::new(0x6ed5, 4);
    for k in 0..12 {
        let set = random_set(&mut rng, 4, k % 2 == 1, f64::INFINITY);
        let r = simulate_workload(set_workload(&set, k % 3 == 0), machine(4), 2000 * MS);
        // The active bandwidth followed every migration: each rq's this_bw adds up to the
        // root domain's total (no task left the class), running_bw within it.
        let rqs: Vec<_> = (0..4).map(|c| &r.sched.rq(c).dl).collect();
        let this: u64 = rqs.iter().map(|dl| dl.this_bw).sum();
        assert_eq!(
            this,
            schedsim_kernel::class::dl::total_bw(&r.sched),
            "set {k}"
        );
        assert!(rqs.iter().all(|dl| dl.running_bw <= dl.this_bw), "set {k}");
        let rep = Report::from_result(&r);
        let idle: Vec<_> = (0..4).map(|c| idle_intervals(&r, c)).collect();
        for t in rep.tasks.iter().filter(|t| t.comm.starts_with('d')) {
            let d = t.deadline.as_ref().unwrap();
            assert_eq!(d.throttled_ns, 0, "set {k}: {} {d:?}", t.comm);
            for (a, b) in waiting_intervals(&r, t.pid) {
                for (c, ii) in idle.iter().enumerate() {
                    for &(x, y) in ii {
                        assert!(
                            a.max(x) >= b.min(y),
                            "set {k} {set:?}: {} waits {a}–{b} while CPU {c} idles {x}–{y}",
                            t.comm
                        );
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// GRUB (SCHED_FLAG_RECLAIM) and the active bandwidth.

const RECLAIM: u64 = 0x02;

/// 10 ms / 100 ms, jobs of `work` released every 100 ms on an absolute timer.
fn periodic(flags: u64, work: u64) -> Workload {
    let attr = SchedAttr {
        flags,
        ..dl(10 * MS, 100 * MS, 100 * MS)
    };
    let body = vec![
        Step::Timer {
            timer: 0,
            period: 100 * MS,
            absolute: true,
        },
        Step::Run(Dur::Fixed(work)),
    ];
    Workload {
        source: "grub".into(),
        tasks: vec![spec("dl", attr, 0, vec![Step::Loop { count: None, body }])],
        timers: vec![TimerDecl {
            name: "period".into(),
            shared: false,
        }],
        ..Workload::default()
    }
}

#[test]
fn grub_lets_a_task_reclaim_idle_bandwidth() {
    // Alone on the CPU, a reclaiming task is charged max(u, max_bw − u_inact − extra_bw)
    // / max_bw of what it runs: u_inact is the idle fair server's 0.05, extra_bw the
    // unreserved 0.95 − 0.05 − 0.1, so 0.1 / 0.95 — its 10 ms last 95 ms of running.
    // Jobs of 30 ms fit in every period: no throttling, no miss.
    let r = simulate_workload(periodic(RECLAIM, 30 * MS), machine(1), 1000 * MS);
    let d = dl_report(&r, "dl");
    assert_eq!((d.jobs, d.misses, d.nr_throttled), (10, 0, 0), "{d:?}");
    let share = cpu_time(&r, "dl") as f64 / r.end as f64;
    assert!((0.26..=0.31).contains(&share), "{share}");

    // Without SCHED_FLAG_RECLAIM the same jobs get 10 ms per period (and the tick's
    // overrun): throttled every period. The first job (released at 100 ms) never ends:
    // by the time 30 ms are done the absolute timer is behind, so the task never blocks
    // again; it counts as one (open) miss after the empty job at fork.
    let r = simulate_workload(periodic(0, 30 * MS), machine(1), 1000 * MS);
    let d = dl_report(&r, "dl");
    assert!(d.nr_throttled >= 9 && d.throttled_ns > 800 * MS, "{d:?}");
    assert_eq!((d.jobs, d.misses), (2, 1), "{d:?}");
    let share = cpu_time(&r, "dl") as f64 / r.end as f64;
    assert!((0.09..=0.13).contains(&share), "{share}");

    // A reclaiming hog gets up to max_bw of the CPU. While the fair server counts as
    // active, u_inact is 0 and the task is charged (max_bw − extra_bw) / max_bw = 0.15 /
    // 0.95 of what it runs: its 10 ms last 63.5 ms, the tick at 64 ms throttles it. The
    // launcher's fair enqueue at boot started the server; the idle time before 100 ms
    // used up its period (idle-wait: deadline 1100 ms, timer at 1050 ms, which stops it);
    // its 0-lag time is then its deadline, 1100 ms. From there u_act = u = 0.1: 95.2 ms
    // per period, throttled at the tick at 96 ms. Give or take a tick: the overrun past
    // the depletion is carried to the next period.
    let r = simulate_workload(periodic(RECLAIM, 10_000 * MS), machine(1), 2000 * MS);
    let rr = runs(&r, 0, pid_of(&r, "dl"));
    for &(a, b) in rr.iter().filter(|&&(a, _)| a < 1900 * MS) {
        assert_eq!(a % (100 * MS), 0, "{rr:?}");
        let want = if a < 1100 * MS { 60..=64 } else { 92..=96 };
        assert!(want.contains(&((b - a) / MS)), "{rr:?}");
    }
    assert_eq!(
        rr.iter().filter(|&&(a, _)| a < 1900 * MS).count(),
        18,
        "{rr:?}"
    );
}

#[test]
fn a_blocked_task_stays_active_until_its_zero_lag_time() {
    // 10 ms / 100 ms, runs 2 ms then sleeps: 8 ms left with the deadline at 100 ms, its
    // 0-lag time is 100 − 8 · 100/10 = 20 ms. Until then its bandwidth stays in
    // running_bw (the inactive timer); after it, it is gone; this_bw keeps it throughout.
    let task = |end| {
        let t = spec(
            "dl",
            dl(10 * MS, 100 * MS, 100 * MS),
            0,
            vec![
                Step::Run(Dur::Fixed(2 * MS)),
                Step::Sleep(Dur::Fixed(10_000 * MS)),
            ],
        );
        let r = run(workload(vec![t]), 1, end, false);
        let dl = &r.sched.rq(0).dl;
        (dl.running_bw, dl.this_bw)
    };
    let bw = to_ratio(100 * MS, 10 * MS);
    let server = to_ratio(FAIR_SERVER_PERIOD, FAIR_SERVER_RUNTIME);
    let (run_before, this_before) = task(19 * MS);
    let (run_after, this_after) = task(21 * MS);
    assert_eq!(run_before - run_after, bw);
    assert_eq!((this_before, this_after), (server + bw, server + bw));
}

#[test]
fn reclaim_is_accepted_by_setattr() {
    let s = Sched::new(Config::default(), false);
    let a = SchedAttr {
        flags: RECLAIM,
        ..dl(MS, 10 * MS, 10 * MS)
    };
    assert!(s.check_attr(&a).is_ok());
}

/// A deadline task (80 ms every 100 ms) runs 40 ms of its first job, then switches itself
/// to SCHED_OTHER; a fair task then asks for 20 ms every 100 ms at `b_start`. 1 CPU: 0.95
/// of it for deadline bandwidth, the fair server's 0.05 included.
fn leave_then_admit(b_start: u64) -> Result<SimResult, String> {
    let a = spec(
        "a",
        dl(80 * MS, 100 * MS, 100 * MS),
        MS,
        vec![
            Step::Run(Dur::Fixed(40 * MS)),
            Step::SetAttr(SchedAttr::default()),
            Step::Run(Dur::Fixed(30 * MS)),
            Step::Exit,
        ],
    );
    let b = spec(
        "b",
        SchedAttr::default(),
        b_start,
        vec![
            Step::SetAttr(dl(20 * MS, 100 * MS, 100 * MS)),
            Step::Run(Dur::Fixed(5 * MS)),
            Step::Exit,
        ],
    );
    let w = Workload {
        source: "dl-test".into(),
        tasks: vec![a, b],
        ..Workload::default()
    };
    let cfg = Config {
        nr_cpus: 1,
        ..Config::default()
    };
    let opts = SimOptions {
        duration: Some(200 * MS),
        seed: 1,
        trace: true,
        check: true,
    };
    sim::run(w, cfg, &opts, &mut ()).map_err(|e| e.message)
}

/// `switched_from_dl` + `inactive_task_timer`: a task leaving SCHED_DEADLINE with runtime
/// left is non contending; its bandwidth stays in the root domain's `total_bw` until its
/// 0-lag time, here 1 ms + 100 ms − 40 ms · 100/80 = 51 ms. A new reservation that needs
/// it is refused before (EBUSY: 0.05 + 0.8 + 0.2 > 0.95) and admitted after.
#[test]
fn a_task_leaving_deadline_keeps_its_bandwidth_until_its_zero_lag_time() {
    let e = leave_then_admit(43 * MS)
        .err()
        .expect("refused before the 0-lag time");
    assert!(e.contains("EBUSY"), "{e}");
    let r = leave_then_admit(55 * MS).expect("admitted after the 0-lag time");
    // Both reservations left: only the fair server's is held at the end.
    assert_eq!(
        schedsim_kernel::class::dl::total_bw(&r.sched),
        r.sched.rq(0).dl.server.dl_bw
    );
}

/// A task that leaves SCHED_DEADLINE with an overrun (its `sched_setattr` charge throttles
/// it) keeps its replenishment timer; when the timer fires while it is out of the class it
/// is refilled, so coming back at its deadline (before its 0-lag time) it is not queued on
/// the overrun (found by the random workloads: −504 µs in the dl_rq tree).
#[test]
fn a_task_back_in_deadline_after_its_timer_runs_on_a_refilled_budget() {
    let us = 1_000;
    let body = vec![
        Step::Sleep(Dur::Fixed(429 * us)),
        Step::SetAttr(dl(1480 * us, 17_760 * us, 17_760 * us)),
        Step::Run(Dur::Fixed(992 * us)),
        Step::SetAttr(SchedAttr::default()),
        Step::Run(Dur::Fixed(352 * us)),
    ];
    let t = spec(
        "t0",
        SchedAttr::default(),
        0,
        vec![Step::Loop { count: None, body }],
    );
    let w = Workload {
        source: "dl-test".into(),
        tasks: vec![t],
        ..Workload::default()
    };
    let cfg = Config::parse_machine(
        "cpus=2,hz=250,preempt=none,nohz=0,ipi_latency=11us,resched_latency=6us,idle_wake_latency=3us",
    )
    .unwrap();
    let opts = SimOptions {
        duration: Some(60 * MS),
        seed: 0,
        trace: false,
        check: true,
    };
    if let Err(e) = sim::run(w, cfg, &opts, &mut ()) {
        panic!("{}", e.message);
    }
}

/// A task that becomes SCHED_DEADLINE with a constrained deadline some time after the
/// start (as rt-app's threads do, by sched_setattr at their start): its zeroed entity's
/// deadline is the boot, far in the past, so `dl_check_constrained_dl` does not throttle
/// its first activation until `dl_period − dl_deadline`; every job runs at its wakeup.
#[test]
fn a_constrained_task_set_up_after_the_start_runs_at_once() {
    let body = vec![
        Step::SetAttr(dl(MS, 8 * MS, 10 * MS)),
        Step::Loop {
            count: None,
            body: vec![
                Step::Run(Dur::Fixed(500 * US)),
                Step::Sleep(Dur::Fixed(9500 * US)),
            ],
        },
    ];
    let r = simulate(
        vec![spec("c", SchedAttr::default(), 9 * US, body)],
        1,
        100 * MS,
    );
    let pid = pid_of(&r, "c");
    let first = runs(&r, 0, pid)[0];
    // The start delay is a fair task's sleep: it ends with its 50 us timer slack.
    assert_eq!(first, (59 * US, 559 * US), "runs at once, for its 500 us");
    let d = dl_report(&r, "c");
    assert_eq!((d.nr_throttled, d.misses), (0, 0), "{d:?}");
}
