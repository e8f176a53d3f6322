//! The report's `ext` section (docs/metrics.md): DSQ depths over the time the policy was
//! loaded, insert and move counts, enqueue-to-run latency, the ejection.

mod common;

use common::*;
use schedsim_kernel::class::ext::ops::ExtOps;
use schedsim_kernel::class::ext::ScxSpec;
use schedsim_kernel::ext_stat::{DsqReport, ExtReport};
use schedsim_kernel::report::Report;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::Config;
use schedsim_workload::*;

fn run_scx(tasks: Vec<TaskSpec>, cpus: u32, duration: u64, name: &str) -> (SimResult, Report) {
    let cfg = Config {
        nr_cpus: cpus,
        scx: Some(ScxSpec::builtin(name).unwrap()),
        ..Config::default()
    };
    let r = simulate_cfg(tasks, cfg, duration);
    let rep = Report::from_result(&r);
    (r, rep)
}

fn dsq<'a>(x: &'a ExtReport, name: &str) -> &'a DsqReport {
    x.dsqs
        .iter()
        .find(|d| d.dsq == name)
        .unwrap_or_else(|| panic!("no DSQ {name} in {:?}", x.dsqs))
}

fn hogs(n: usize) -> Vec<TaskSpec> {
    (0..n).map(|i| hog(&format!("h{i}"), 0, None)).collect()
}

#[test]
fn no_policy_no_ext_section() {
    let r = simulate(hogs(1), 1, 10 * MS);
    let rep = Report::from_result(&r);
    assert!(rep.ext.is_none());
    assert!(!rep.summary().contains("sched_ext"));
}

#[test]
fn simple_fifo_three_hogs_on_one_cpu() {
    let (r, rep) = run_scx(hogs(3), 1, 3000 * MS, "simple");
    let x = rep.ext.as_ref().expect("ext section");
    println!("{}", rep.summary());
    assert_eq!(x.policy, "simple");
    assert!(x.exit.is_none());
    assert_eq!(x.unloaded_at_ns, None);
    // One hog runs, the two others wait in the shared DSQ 0: mean depth 2 over the 3 s
    // but for the start, where the launcher forks the three hogs (all three wait in DSQ 0
    // while it runs: the max is 3) for a few µs, < 0.001 of the run.
    let shared = dsq(x, "0x0");
    assert!((shared.mean_depth - 2.0).abs() < 0.001, "{shared:?}");
    assert_eq!(shared.max_depth, 3);
    // Nothing waits on the global DSQ; the local DSQ holds one task between the move
    // and the pick, which takes no simulated time.
    assert_eq!(dsq(x, "global").max_depth, 0);
    let local = dsq(x, "local/0");
    assert_eq!(local.max_depth, 1);
    assert_eq!(local.mean_depth, 0.0);
    let d = &x.dispatch;
    // Every ext activation of a hog is one of: a direct insert into the local DSQ (an
    // idle CPU found by select_cpu), or ops.enqueue inserting into DSQ 0, later moved
    // to the local DSQ by ops.dispatch.
    assert_eq!(d.inserts_user, d.enqueues);
    assert_eq!(d.direct, d.inserts_local + d.inserts_user);
    assert_eq!(d.from_dispatch, 0);
    assert_eq!(
        (d.inserts_global, d.inserts_local_on, d.dsq_move),
        (0, 0, 0)
    );
    let running: u64 = r.sched.ext.stats.nr_running_events.iter().sum();
    assert_eq!(running, d.inserts_local + d.move_to_local);
    // Every ops.enqueue (3 at fork, then one per 20 ms slice end) is followed by a run,
    // but for the two hogs still waiting at the end.
    assert_eq!(d.enqueues, running + 2, "{d:?}");
    assert!((150..=153).contains(&running), "{d:?}");
    // A hog waits two slices in DSQ 0 (40 ms) between runs.
    let w = &x.enqueue_to_run_ns;
    assert_eq!(w.count, running);
    assert!(w.p50.abs_diff(40 * MS) <= 40 * MS / 1000, "{w:?}");
    assert!(w.max <= 41 * MS, "{w:?}");
    assert!(rep.summary().contains("sched_ext policy simple"));
}

/// Only the defaults: ops.enqueue inserts into the global DSQ.
struct Dfl;

impl ExtOps for Dfl {
    fn name(&self) -> &str {
        "dfl"
    }
}

#[test]
fn default_enqueue_three_hogs_wait_on_the_global_dsq() {
    let cfg = Config {
        nr_cpus: 1,
        scx: Some(ScxSpec::custom("dfl", || Box::new(Dfl))),
        ..Config::default()
    };
    let r = simulate_cfg(hogs(3), cfg, 3000 * MS);
    let rep = Report::from_result(&r);
    let x = rep.ext.as_ref().expect("ext section");
    assert_eq!(x.policy, "dfl");
    // As with simple's DSQ 0: two hogs always wait, three at fork.
    let g = dsq(x, "global");
    assert!((g.mean_depth - 2.0).abs() < 0.001, "{g:?}");
    assert_eq!(g.max_depth, 3);
    let d = &x.dispatch;
    assert_eq!(d.inserts_global, d.enqueues);
    // The balance consumes the global DSQ itself: no ops.dispatch move.
    assert_eq!(d.move_to_local, 0);
    let running: u64 = r.sched.ext.stats.nr_running_events.iter().sum();
    assert_eq!(d.enqueues, running + 2);
}

#[test]
fn central_dispatches_with_local_on() {
    let (r, rep) = run_scx(hogs(4), 2, 1000 * MS, "central");
    let x = rep.ext.as_ref().expect("ext section");
    println!("{}", rep.summary());
    assert_eq!(x.policy, "central");
    assert!(x.exit.is_none());
    let d = &x.dispatch;
    // Central keeps every task in its own BPF queue and hands them out from ops.dispatch
    // with SCX_DSQ_LOCAL_ON: no direct dispatch, no DSQ but the locals is used.
    assert_eq!(d.direct, 0, "{d:?}");
    assert_eq!(
        d.from_dispatch,
        d.inserts_local_on + d.inserts_user,
        "{d:?}"
    );
    // Each ops.enqueue is handed out once, but for the 2 tasks still queued at the end
    // (4 hogs, 2 CPUs).
    assert_eq!(d.enqueues, d.inserts_local_on + 2, "{d:?}");
    assert_eq!(dsq(x, "global").max_depth, 0);
    let running: u64 = r.sched.ext.stats.nr_running_events.iter().sum();
    assert_eq!(x.enqueue_to_run_ns.count, running);
    assert!(x.dsqs.iter().any(|q| q.dsq == "local/1"));
}

#[test]
fn ejection_closes_the_window() {
    // A stall: an RT hog takes the only CPU from an ext hog; the watchdog (1 s here)
    // ejects the policy.
    let mut rt = hog("rt", 0, None);
    rt.attr = fifo(50);
    rt.start_delay = 10 * MS;
    let cfg = Config {
        nr_cpus: 1,
        scx: Some(ScxSpec::builtin("simple").unwrap().timeout_ms(Some(1000))),
        ..Config::default()
    };
    let r = simulate_cfg(vec![hog("e", 0, None), rt], cfg, 3000 * MS);
    let rep = Report::from_result(&r);
    let x = rep.ext.as_ref().expect("ext section");
    let ex = x.exit.as_ref().expect("ejected");
    assert_eq!(ex.kind, "SCX_EXIT_ERROR_STALL");
    assert_eq!(ex.reason, "runnable task stall");
    assert!(
        ex.task.as_deref().is_some_and(|t| t.starts_with("e[")),
        "{ex:?}"
    );
    assert_eq!(x.unloaded_at_ns, Some(ex.at_ns));
    // The preempted hog went back to the head of the local DSQ (slice left, no
    // ops.enqueue) and sat there from 10 ms until the ejection.
    let shared = dsq(x, "local/0");
    let expect = (ex.at_ns - 10 * MS) as f64 / ex.at_ns as f64;
    assert!(
        (shared.mean_depth - expect).abs() < 0.01,
        "{shared:?} vs {expect}"
    );
    assert!(rep.summary().contains("SCX_EXIT_ERROR_STALL"));
}
