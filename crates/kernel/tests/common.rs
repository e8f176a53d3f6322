//! Helpers to build workloads programmatically for the kernel tests.
#![allow(dead_code)]

use schedsim_kernel::report::Report;
use schedsim_kernel::sim::{self, SimOptions, SimResult};
use schedsim_kernel::Config;
use schedsim_workload::*;

pub const MS: u64 = 1_000_000;

pub fn task(name: &str, nice: i32, cpus: Option<Vec<u32>>, program: Vec<Step>) -> TaskSpec {
    TaskSpec {
        name: name.into(),
        count: 1,
        attr: SchedAttr {
            nice,
            ..SchedAttr::default()
        },
        affinity: cpus,
        cgroup: None,
        start_delay: 0,
        program,
        naming: Naming::Plain,
        loc: Loc::default(),
    }
}

pub fn forever(body: Vec<Step>) -> Vec<Step> {
    vec![Step::Loop { count: None, body }]
}

pub fn hog(name: &str, nice: i32, cpus: Option<Vec<u32>>) -> TaskSpec {
    task(
        name,
        nice,
        cpus,
        forever(vec![Step::Run(Dur::Fixed(10 * MS))]),
    )
}

pub fn workload(tasks: Vec<TaskSpec>) -> Workload {
    Workload {
        source: "test".into(),
        tasks,
        ..Workload::default()
    }
}

pub fn run(w: Workload, cpus: u32, duration: u64, trace: bool) -> SimResult {
    let cfg = Config {
        nr_cpus: cpus,
        ..Config::default()
    };
    let opts = SimOptions {
        duration: Some(duration),
        seed: 1,
        trace,
        check: false,
    };
    sim::run(w, cfg, &opts, &mut ()).expect("simulation runs")
}

pub fn report(w: Workload, cpus: u32, duration: u64) -> Report {
    Report::from_result(&run(w, cpus, duration, false))
}

pub fn share(r: &Report, comm: &str) -> f64 {
    r.tasks
        .iter()
        .find(|t| t.comm == comm)
        .unwrap_or_else(|| panic!("no task {comm}"))
        .cpu_time_ns as f64
        / r.duration_ns as f64
}
