//! `can_migrate_task`'s 6.14+ eligibility rule on a state taken from a whole simulation.

use super::*;
use crate::config::Config;
use crate::sim::{self, SimOptions};
use crate::task::OnRq;
use schedsim_workload::{Dur, Loc, Naming, SchedAttr, Step, TaskSpec, Workload};

fn hog(name: &str, cpus: Option<Vec<u32>>) -> TaskSpec {
    TaskSpec {
        name: name.into(),
        count: 1,
        attr: SchedAttr::default(),
        affinity: cpus,
        cgroup: None,
        session: None,
        start_delay: 0,
        program: vec![Step::Loop {
            count: None,
            body: vec![Step::Run(Dur::Fixed(10_000_000))],
        }],
        naming: Naming::Plain,
        loc: Loc::default(),
    }
}

/// Two hogs on CPU 0 (a third pinned to CPU 1 keeps its queue busy), migration cost 0 so
/// no task is cache hot: the queued hog on CPU 0, switched out at a tick past its slice,
/// is ineligible. A first balancing pass (`nr_balance_failed` 0) leaves it; once a pass
/// has failed, it may go.
#[test]
fn an_ineligible_task_moves_only_after_a_failed_pass() {
    let w = Workload {
        tasks: vec![
            hog("a", Some(vec![0])),
            hog("b", Some(vec![0])),
            hog("x", Some(vec![1])),
        ],
        ..Workload::default()
    };
    let cfg = Config {
        migration_cost_ns: 0,
        ..Config::default()
    };
    let opts = SimOptions {
        duration: Some(101_000_000),
        seed: 1,
        trace: false,
        check: false,
    };
    let mut s = sim::run(w, cfg, &opts, &mut ()).expect("runs").sched;
    let queued = (0..s.tasks.len() as u32)
        .map(TaskId)
        .find(|&p| {
            let t = s.task(p);
            t.cpu == 0 && t.on_rq == OnRq::Queued && !t.on_cpu && t.pid >= 1000
        })
        .expect("a hog waits on CPU 0");
    let se = s.task(queued).se;
    assert!(!s.fair.entity_eligible(s.fair.cfs_rq_of(se), se));
    // Let it run anywhere, as an unpinned task would.
    s.task_mut(queued).cpus_allowed = CpuMask::full(2);
    let mut env = Env::new(1, 0, 0, Idle::NotIdle, CpuMask::full(2));
    env.migration_type = MigrationType::Task;
    sd_mut(&mut s, 1, 0).nr_balance_failed = 0;
    assert!(!can_migrate_task(&s, &mut env, queued));
    sd_mut(&mut s, 1, 0).nr_balance_failed = 1;
    assert!(can_migrate_task(&s, &mut env, queued));
}

#[test]
fn newidle_statistics_halve_every_1024_passes() {
    let s = Sched::new(Config::default(), false);
    let mut d = s.topo.sd[0][0].clone();
    assert_eq!(
        (d.newidle_call, d.newidle_success, d.newidle_ratio),
        (512, 256, 512)
    );
    // 511 more passes, 100 of them successful with weight 2.
    for i in 0..511 {
        update_newidle_stats(&mut d, if i < 100 { 2 } else { 0 });
    }
    assert_eq!(
        (d.newidle_call, d.newidle_success, d.newidle_ratio),
        (1023, 456, 512)
    );
    update_newidle_stats(&mut d, 0);
    assert_eq!(
        (d.newidle_call, d.newidle_success, d.newidle_ratio),
        (512, 228, 456)
    );
}
