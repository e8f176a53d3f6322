//! What a violation reports: the rule, the CPU, the task and the rq's state. (Every rule
//! is broken on purpose in check_rules.rs.)

mod common;
use common::*;
use schedsim_kernel::check::{self, fair::rule};
use schedsim_kernel::sim::SimResult;
use schedsim_workload::*;

fn busy_run() -> SimResult {
    let w = workload(vec![
        hog("a", 0, Some(vec![0])),
        hog("b", 5, Some(vec![0])),
        hog("c", -3, Some(vec![0])),
        task(
            "s",
            0,
            None,
            forever(vec![
                Step::Run(Dur::Fixed(MS)),
                Step::Sleep(Dur::Fixed(3 * MS)),
            ]),
        ),
    ]);
    let r = run(w, 2, 57 * MS, false);
    check::verify(&r.sched).expect("the uncorrupted state passes");
    r
}

/// CPU 0's queue of the tasks: their session's autogroup (on by default).
fn cpu0_cfs(r: &SimResult) -> usize {
    let g = r.sched.fair.autogroup.expect("autogroup is on by default");
    r.sched.fair.tg(g).cfs_rq[0].0 as usize
}

#[test]
fn bumped_avg_load_is_reported_by_name() {
    let mut r = busy_run();
    let c = cpu0_cfs(&r);
    assert!(!r.sched.fair.cfs_rq[c].timeline.is_empty());
    r.sched.fair.cfs_rq[c].avg_load += 1;
    let v = check::verify(&r.sched).unwrap_err();
    assert_eq!(v.rule, rule::AVG_LOAD, "{v}");
    assert_eq!(v.cpu, Some(0));
    let shown = v.to_string();
    assert!(
        shown.contains("avg_load") && shown.contains("rq[0]"),
        "{shown}"
    );
}

#[test]
fn a_second_on_cpu_task_is_reported() {
    let mut r = busy_run();
    let c = cpu0_cfs(&r);
    let se = r.sched.fair.cfs_rq[c].timeline.root().unwrap();
    let p = r.sched.fair.se[se.0 as usize].task.unwrap();
    r.sched.tasks[p.0 as usize].on_cpu = true;
    let v = check::verify(&r.sched).unwrap_err();
    assert!(v.rule.starts_with("on_cpu only for rq->curr"), "{v}");
    assert!(v.task.is_some());
}
