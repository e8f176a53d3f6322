//! The determinism check: the same run twice is identical record for record; two runs that
//! differ are reported at their first differing trace record.

use schedsim_kernel::check::determinism::{compare, run_twice};
use schedsim_kernel::sim::{self, SimOptions};
use schedsim_kernel::Config;
use schedsim_workload::*;

const MS: u64 = 1_000_000;

fn wl() -> Workload {
    let t = |name: &str, nice, program| TaskSpec {
        name: name.into(),
        count: 2,
        attr: SchedAttr {
            nice,
            ..SchedAttr::default()
        },
        affinity: None,
        cgroup: None,
        session: None,
        start_delay: 0,
        program,
        naming: Naming::Plain,
        loc: Loc::default(),
    };
    let body = |a, b| {
        vec![Step::Loop {
            count: None,
            body: vec![
                Step::Run(Dur::Uniform { lo: a, hi: b }),
                Step::Sleep(Dur::Exponential { mean: 2 * MS }),
                Step::SemPost(0),
                Step::SemWait(0),
            ],
        }]
    };
    Workload {
        source: "determinism".into(),
        tasks: vec![
            t("a", 0, body(MS / 10, 3 * MS)),
            t("b", 4, body(MS, 5 * MS)),
        ],
        sems: vec![SyncDecl {
            name: "s".into(),
            initial: 2,
        }],
        ..Workload::default()
    }
}

fn opts(seed: u64) -> SimOptions {
    SimOptions {
        duration: Some(300 * MS),
        seed,
        trace: true,
        check: true,
    }
}

fn cfg() -> Config {
    Config::parse_machine("cpus=3,hz=1000,preempt=lazy,ipi_latency=2us").unwrap()
}

#[test]
fn the_same_run_twice_is_identical() {
    let r = run_twice(wl(), cfg(), &opts(7), &mut ()).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.sched.trace.len() > 1000);
}

#[test]
fn different_runs_are_reported_at_the_first_differing_record() {
    let a = sim::try_run(wl(), cfg(), &opts(1), &mut ()).unwrap();
    let b = sim::try_run(wl(), cfg(), &opts(2), &mut ()).unwrap();
    let e = compare(&a, &b).unwrap_err();
    assert!(e.starts_with("trace record "), "{e}");
    assert!(e.contains("run 1:") && e.contains("run 2:"), "{e}");
}
