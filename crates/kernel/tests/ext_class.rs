//! sched_ext end to end (core-and-classes.md §1.2, §5): the example policies, partial and
//! full mode, the watchdog, policy errors and their fallback to fair.

mod common;

use common::*;
use schedsim_kernel::class::ext::dsq::SCX_DSQ_LOCAL_ON;
use schedsim_kernel::class::ext::kfuncs::ScxCtx;
use schedsim_kernel::class::ext::ops::{ExtOps, ScxExitKind, SCX_SLICE_DFL};
use schedsim_kernel::class::ext::ScxSpec;
use schedsim_kernel::class::ClassId;
use schedsim_kernel::sim::{self, SimOptions, SimResult};
use schedsim_kernel::task::TaskId;
use schedsim_kernel::Config;
use schedsim_workload::*;

fn simulate_scx(tasks: Vec<TaskSpec>, cpus: u32, duration: u64, scx: Option<ScxSpec>) -> SimResult {
    let cfg = Config {
        nr_cpus: cpus,
        scx,
        ..Config::default()
    };
    simulate_cfg(tasks, cfg, duration)
}

fn builtin(name: &str) -> Option<ScxSpec> {
    Some(ScxSpec::builtin(name).unwrap())
}

fn id(r: &SimResult, comm: &str) -> TaskId {
    r.sched
        .tasks
        .iter()
        .find(|t| t.comm.to_string() == comm)
        .unwrap_or_else(|| panic!("no task {comm}"))
        .id
}

/// CPU time up to the end of the run (the report adds the current run).
fn cpu_time(r: &SimResult, comm: &str) -> u64 {
    let rep = schedsim_kernel::report::Report::from_result(r);
    rep.tasks
        .iter()
        .find(|t| t.comm == comm)
        .unwrap_or_else(|| panic!("no task {comm}"))
        .cpu_time_ns
}

fn ext_hog(name: &str) -> TaskSpec {
    let mut t = hog(name, 0, None);
    t.attr.policy = Policy::Ext;
    t
}

#[test]
fn simple_fifo_gives_equal_hogs_equal_shares_in_20ms_slices() {
    let tasks = vec![hog("a", 0, None), hog("b", 0, None), hog("c", 0, None)];
    let r = simulate_scx(tasks, 1, 3000 * MS, builtin("simple"));
    assert!(r.sched.ext.exit.is_none(), "{:?}", r.sched.ext.exit);
    for n in ["a", "b", "c"] {
        let p = id(&r, n);
        assert_eq!(r.sched.task(p).class, ClassId::Ext, "{n} runs under ext");
        let t = cpu_time(&r, n) as f64 / (3000 * MS) as f64;
        assert!((t - 1.0 / 3.0).abs() < 0.02, "{n} share {t}");
        let st = &r.sched.task_stats[p.0 as usize];
        // Every completed run is one 20 ms slice (five 4 ms ticks at HZ=250).
        let (lo, hi) = (st.slices.min(), st.slices.max());
        assert!(
            lo >= 19_900_000 && hi <= 20_100_000,
            "{n}: slices {lo}..{hi}"
        );
        assert!(st.nivcsw >= 45, "{n}: {} preemptions", st.nivcsw);
    }
}

#[test]
fn simple_fifo_on_two_cpus_shares_four_hogs() {
    let tasks = (0..4).map(|i| hog(&format!("h{i}"), 0, None)).collect();
    let r = simulate_scx(tasks, 2, 2000 * MS, builtin("simple"));
    assert!(r.sched.ext.exit.is_none());
    for i in 0..4 {
        let t = cpu_time(&r, &format!("h{i}")) as f64 / (2000 * MS) as f64;
        assert!((t - 0.5).abs() < 0.05, "h{i} share {t}");
    }
}

#[test]
fn simple_vtime_weights_shares_by_nice() {
    // Two waiting tasks at every dispatch (with two, the dispatch before prev is put back
    // always finds just the other one and they alternate, as in the kernel).
    let tasks = vec![hog("n0", 0, None), hog("m0", 0, None), hog("n5", 5, None)];
    let r = simulate_scx(tasks, 1, 6000 * MS, builtin("simple-vtime"));
    assert!(r.sched.ext.exit.is_none());
    // scx weights 100 and 33: a 3:1 split.
    let (a, b) = (cpu_time(&r, "n0") as f64, cpu_time(&r, "n5") as f64);
    let ratio = a / b;
    assert!((2.5..3.6).contains(&ratio), "ratio {ratio}");
}

#[test]
fn partial_mode_a_fair_hog_starves_an_ext_task() {
    let tasks = vec![hog("fairhog", 0, None), ext_hog("exthog")];
    let spec = ScxSpec::builtin("simple").unwrap().partial(true);
    let r = simulate_scx(tasks, 1, 2000 * MS, Some(spec));
    assert!(r.sched.ext.exit.is_none());
    assert_eq!(r.sched.task(id(&r, "fairhog")).class, ClassId::Fair);
    assert_eq!(r.sched.task(id(&r, "exthog")).class, ClassId::Ext);
    assert_eq!(cpu_time(&r, "exthog"), 0, "fair beats every ext task");
    assert!(cpu_time(&r, "fairhog") > 1990 * MS);
}

#[test]
fn partial_mode_ext_task_runs_when_fair_sleeps() {
    let sleeper = task(
        "sleeper",
        0,
        None,
        forever(vec![
            Step::Run(Dur::Fixed(10 * MS)),
            Step::Sleep(Dur::Fixed(30 * MS)),
        ]),
    );
    let tasks = vec![sleeper, ext_hog("exthog")];
    let spec = ScxSpec::builtin("simple").unwrap().partial(true);
    let r = simulate_scx(tasks, 1, 2000 * MS, Some(spec));
    let (f, e) = (cpu_time(&r, "sleeper"), cpu_time(&r, "exthog"));
    // The fair task preempts the ext one on every wakeup and runs its 10 ms each 40 ms.
    assert!(
        (f as f64 / (2000 * MS) as f64 - 0.25).abs() < 0.03,
        "sleeper {f}"
    );
    assert!(e > 1400 * MS, "exthog {e}");
}

#[test]
fn full_mode_runs_fair_policy_tasks_under_ext_and_sched_ext_without_policy_in_fair() {
    let tasks = vec![hog("normal", 0, None), {
        let mut t = hog("batch", 0, None);
        t.attr.policy = Policy::Batch;
        t
    }];
    let r = simulate_scx(tasks.clone(), 1, 1000 * MS, builtin("simple"));
    for n in ["normal", "batch"] {
        assert_eq!(r.sched.task(id(&r, n)).class, ClassId::Ext);
        assert!(cpu_time(&r, n) > 400 * MS, "{n}");
    }
    // The launcher was switched too when the policy loaded.
    assert_eq!(r.sched.task(id(&r, "schedsim")).class, ClassId::Ext);
    // No policy: SCHED_EXT is accepted and runs in fair.
    let r = simulate_scx(vec![ext_hog("x")], 1, 100 * MS, None);
    assert_eq!(r.sched.task(id(&r, "x")).class, ClassId::Fair);
    assert!(cpu_time(&r, "x") > 90 * MS);
}

/// Takes every task it is given and never dispatches one.
struct NeverDispatch;

impl ExtOps for NeverDispatch {
    fn name(&self) -> &str {
        "never"
    }
    fn select_cpu(&mut self, _cx: &mut ScxCtx, _p: TaskId, prev: u32, _wf: u64) -> i32 {
        prev as i32
    }
    fn enqueue(&mut self, _cx: &mut ScxCtx, _p: TaskId, _flags: u64) {}
}

#[test]
fn watchdog_ejects_a_policy_that_never_dispatches_and_tasks_fall_back_to_fair() {
    let spec = ScxSpec::custom("never", || Box::new(NeverDispatch)).partial(true);
    let r = simulate_scx(vec![ext_hog("victim")], 1, 60_000 * MS, Some(spec));
    let e = r.sched.ext.exit.clone().expect("the policy was ejected");
    assert_eq!(e.kind, ScxExitKind::ErrorStall);
    assert_eq!(e.policy, "never");
    let pid = r.sched.task(id(&r, "victim")).pid;
    assert_eq!(e.task.as_deref(), Some(format!("victim[{pid}]").as_str()));
    // Checked every 15 s: at 30 s the task has waited exactly the timeout, at 45 s more.
    assert_eq!(e.at, 45_000 * MS);
    assert_eq!(e.msg, format!("victim[{pid}] failed to run for 45.000s"));
    let text = e.to_string();
    assert!(
        text.contains("\"never\"") && text.contains("runnable task stall"),
        "{text}"
    );
    // Back in fair (its policy kept): it runs for the rest of the run.
    let v = id(&r, "victim");
    assert_eq!(r.sched.task(v).class, ClassId::Fair);
    assert_eq!(r.sched.task(v).policy, Policy::Ext);
    assert!(!r.sched.ext.enabled);
    let t = cpu_time(&r, "victim");
    assert!(t > 14_900 * MS && t <= 15_000 * MS, "ran {t}");
}

#[test]
fn watchdog_timeout_is_configurable() {
    let spec = ScxSpec::custom("never", || Box::new(NeverDispatch))
        .partial(true)
        .timeout_ms(Some(2000));
    let r = simulate_scx(vec![ext_hog("victim")], 1, 5000 * MS, Some(spec));
    let e = r.sched.ext.exit.clone().expect("ejected");
    assert_eq!(e.at, 3000 * MS);
    assert!(e.msg.ends_with("failed to run for 3.000s"), "{}", e.msg);
    // Full mode: the launcher itself stalls; after ejection it forks its tasks in fair.
    let spec = ScxSpec::custom("never", || Box::new(NeverDispatch)).timeout_ms(Some(1000));
    let r = simulate_scx(vec![hog("late", 0, None)], 1, 3000 * MS, Some(spec));
    let e = r.sched.ext.exit.clone().expect("ejected");
    assert!(e.task.as_deref().unwrap().starts_with("schedsim["), "{e}");
    assert_eq!(r.sched.task(id(&r, "late")).class, ClassId::Fair);
    assert!(cpu_time(&r, "late") > 1400 * MS);
}

/// Sends every task to CPU 1's local DSQ.
struct AllToCpu1;

impl ExtOps for AllToCpu1 {
    fn name(&self) -> &str {
        "cpu1"
    }
    fn select_cpu(&mut self, _cx: &mut ScxCtx, _p: TaskId, prev: u32, _wf: u64) -> i32 {
        prev as i32
    }
    fn enqueue(&mut self, cx: &mut ScxCtx, p: TaskId, flags: u64) {
        cx.dsq_insert(p, SCX_DSQ_LOCAL_ON | 1, SCX_SLICE_DFL, flags);
    }
}

#[test]
fn local_on_a_disallowed_cpu_is_a_policy_error() {
    let spec = ScxSpec::custom("cpu1", || Box::new(AllToCpu1));
    let tasks = vec![hog("pinned", 0, Some(vec![0]))];
    let r = simulate_scx(tasks, 2, 500 * MS, Some(spec));
    let e = r.sched.ext.exit.clone().expect("ejected");
    assert_eq!(e.kind, ScxExitKind::Error);
    let pid = r.sched.task(id(&r, "pinned")).pid;
    assert_eq!(
        e.msg,
        format!("SCX_DSQ_LOCAL[_ON] target CPU 1 not allowed for pinned[{pid}]")
    );
    assert_eq!(e.task, Some(format!("pinned[{pid}]")));
    assert_eq!(e.at, 0);
    let p = id(&r, "pinned");
    assert_eq!(r.sched.task(p).class, ClassId::Fair);
    assert!(cpu_time(&r, "pinned") > 490 * MS);
    assert_eq!(r.sched.task(p).cpu, 0);
}

/// Creates a DSQ from ops.enqueue, which only ops.init may do.
struct BadKfunc;

impl ExtOps for BadKfunc {
    fn name(&self) -> &str {
        "badkf"
    }
    fn enqueue(&mut self, cx: &mut ScxCtx, p: TaskId, flags: u64) {
        let _ = cx.create_dsq(7);
        cx.dsq_insert(
            p,
            schedsim_kernel::class::ext::dsq::SCX_DSQ_GLOBAL,
            0,
            flags,
        );
    }
}

#[test]
fn a_kfunc_from_the_wrong_callback_is_a_policy_error() {
    let spec = ScxSpec::custom("badkf", || Box::new(BadKfunc));
    let r = simulate_scx(vec![hog("h", 0, None)], 1, 100 * MS, Some(spec));
    let e = r.sched.ext.exit.clone().expect("ejected");
    assert_eq!(e.kind, ScxExitKind::Error);
    assert!(e.msg.contains("scx_bpf_create_dsq"), "{}", e.msg);
    assert!(cpu_time(&r, "h") > 90 * MS);
}

#[test]
fn default_ops_use_the_global_dsq() {
    struct Minimal;
    impl ExtOps for Minimal {
        fn name(&self) -> &str {
            "minimal"
        }
    }
    let spec = ScxSpec::custom("minimal", || Box::new(Minimal));
    let tasks = (0..3).map(|i| hog(&format!("m{i}"), 0, None)).collect();
    let r = simulate_scx(tasks, 2, 1200 * MS, Some(spec));
    assert!(r.sched.ext.exit.is_none());
    let total: u64 = (0..3).map(|i| cpu_time(&r, &format!("m{i}"))).sum();
    assert!(total > 2350 * MS, "both CPUs busy: {total}");
    for i in 0..3 {
        let t = cpu_time(&r, &format!("m{i}")) as f64 / (1200 * MS) as f64;
        assert!((t - 2.0 / 3.0).abs() < 0.08, "m{i} share {t}");
    }
}

#[test]
fn central_dispatches_from_cpu_0() {
    let tasks = (0..8).map(|i| hog(&format!("c{i}"), 0, None)).collect();
    let r = simulate_scx(tasks, 4, 2000 * MS, builtin("central"));
    assert!(r.sched.ext.exit.is_none(), "{:?}", r.sched.ext.exit);
    let st = &r.sched.ext.stats;
    assert!(st.dispatch_inserts[0] > 0);
    assert_eq!(&st.dispatch_inserts[1..], &[0, 0, 0], "only CPU 0 inserts");
    for cpu in 1..4 {
        assert!(st.remote_local_moves[cpu] > 0, "CPU {cpu} was fed by CPU 0");
    }
    for i in 0..8 {
        let t = cpu_time(&r, &format!("c{i}"));
        assert!(t > 500 * MS, "c{i} ran {t}");
    }
    let busy: u64 = (0..8).map(|i| cpu_time(&r, &format!("c{i}"))).sum();
    assert!(busy > 4 * 1900 * MS, "all CPUs busy: {busy}");
}

/// Parks every task in a user DSQ nobody consumes, then keeps "dispatching" them again
/// (stale inserts that land nowhere): every round counts as progress, so balance runs its
/// 32 rounds, kicks the CPU, and starts over.
#[derive(Default)]
struct Spinner {
    seen: Vec<TaskId>,
}

impl ExtOps for Spinner {
    fn name(&self) -> &str {
        "spinner"
    }
    fn init(&mut self, cx: &mut ScxCtx) -> Result<(), i32> {
        cx.create_dsq(5)
    }
    fn enqueue(&mut self, _cx: &mut ScxCtx, p: TaskId, _flags: u64) {
        self.seen.push(p);
    }
    fn dispatch(&mut self, cx: &mut ScxCtx, _cpu: u32, _prev: Option<TaskId>) {
        for &p in &self.seen {
            cx.dsq_insert(p, 5, 0, 0);
        }
    }
}

#[test]
fn a_dispatch_livelock_is_ejected_instead_of_hanging() {
    let spec = ScxSpec::custom("spinner", || Box::<Spinner>::default());
    let r = simulate_scx(vec![hog("h", 0, None)], 1, 100 * MS, Some(spec));
    let e = r.sched.ext.exit.clone().expect("ejected");
    assert_eq!(e.kind, ScxExitKind::ErrorStall);
    assert!(e.msg.contains("dispatch livelock"), "{}", e.msg);
    assert!(r.sched.ext.stats.dispatch_calls[0] >= 32);
    assert!(cpu_time(&r, "h") > 90 * MS);
}

#[test]
fn a_run_without_duration_ends_when_every_thread_exited_under_central() {
    let t = task("once", 0, None, vec![Step::Run(Dur::Fixed(30 * MS))]);
    let cfg = Config {
        nr_cpus: 2,
        scx: builtin("central"),
        ..Config::default()
    };
    let opts = SimOptions {
        duration: None,
        seed: 1,
        trace: false,
        check: true,
    };
    let r = sim::run(workload(vec![t]), cfg, &opts, &mut ()).unwrap();
    assert_eq!(r.ended_early.as_deref(), Some("every thread exited"));
    // Not held until the watchdog's 15 s check or by the 1 ms central timer (the run ends
    // when the other classes' own timers, e.g. the fair server's, are done).
    assert!(r.end < 2000 * MS, "ended at {}", r.end);
    assert!(r.sched.ext.exit.is_none());
}

#[test]
fn runs_with_a_policy_are_deterministic() {
    let tasks: Vec<TaskSpec> = (0..5).map(|i| hog(&format!("d{i}"), i, None)).collect();
    let cfg = Config {
        nr_cpus: 3,
        scx: builtin("central"),
        ..Config::default()
    };
    let opts = SimOptions {
        duration: Some(300 * MS),
        seed: 3,
        trace: true,
        check: false,
    };
    schedsim_kernel::check::determinism::run_twice(workload(tasks), cfg, &opts, &mut ())
        .unwrap_or_else(|e| panic!("{e}"));
}
