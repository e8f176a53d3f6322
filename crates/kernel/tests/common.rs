//! Helpers to build workloads programmatically for the kernel tests.
#![allow(dead_code)]

use schedsim_kernel::report::Report;
use schedsim_kernel::sim::{self, SimOptions, SimResult};
use schedsim_kernel::Config;
use schedsim_workload::*;

pub const MS: u64 = 1_000_000;
pub const US: u64 = 1_000;

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
        session: None,
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

/// Runs a workload with tracing and the invariant checker on.
pub fn simulate_workload(w: Workload, cfg: Config, duration: u64) -> SimResult {
    let opts = SimOptions {
        duration: Some(duration),
        seed: 1,
        trace: true,
        check: true,
    };
    sim::run(w, cfg, &opts, &mut ()).unwrap_or_else(|e| panic!("{}", e.message))
}

/// Runs `tasks` on a machine with tracing and the invariant checker on.
pub fn simulate_cfg(tasks: Vec<TaskSpec>, cfg: Config, duration: u64) -> SimResult {
    simulate_workload(workload(tasks), cfg, duration)
}

/// `simulate_cfg` on `cpus` CPUs of the default machine.
pub fn simulate(tasks: Vec<TaskSpec>, cpus: u32, duration: u64) -> SimResult {
    let cfg = Config {
        nr_cpus: cpus,
        ..Config::default()
    };
    simulate_cfg(tasks, cfg, duration)
}

/// A task spec with explicit attributes and start delay.
pub fn spec(name: &str, attr: SchedAttr, start_delay: u64, program: Vec<Step>) -> TaskSpec {
    TaskSpec {
        attr,
        start_delay,
        ..task(name, 0, None, program)
    }
}

pub fn fifo(prio: u32) -> SchedAttr {
    SchedAttr {
        policy: Policy::Fifo,
        rt_priority: prio,
        ..SchedAttr::default()
    }
}

pub fn rr(prio: u32) -> SchedAttr {
    SchedAttr {
        policy: Policy::Rr,
        rt_priority: prio,
        ..SchedAttr::default()
    }
}

/// The task named `comm`.
pub fn task_named<'a>(r: &'a SimResult, comm: &str) -> &'a schedsim_kernel::task::Task {
    r.sched
        .tasks
        .iter()
        .find(|t| t.comm.as_str() == comm)
        .unwrap_or_else(|| panic!("no task {comm}"))
}

pub fn pid_of(r: &SimResult, comm: &str) -> i32 {
    task_named(r, comm).pid
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

/// What `f` picks out of each trace record, in trace order.
pub fn trace_find<T>(r: &SimResult, f: impl FnMut(&schedsim_trace::Record) -> Option<T>) -> Vec<T> {
    r.sched.trace.merged().into_iter().filter_map(f).collect()
}

/// The times of every switch away from a still runnable task (`prev_state=R`: a preemption)
/// whose comm is `comm`, or of any task but the idle one.
pub fn preempted(r: &SimResult, comm: Option<&str>) -> Vec<u64> {
    use schedsim_trace::{state, Event};
    trace_find(r, |rec| match &rec.event {
        Event::Switch {
            prev_state,
            prev_pid,
            prev_comm,
            ..
        } if *prev_state == state::RUNNING
            && *prev_pid != 0
            && comm.is_none_or(|c| prev_comm.as_str() == c) =>
        {
            Some(rec.ts)
        }
        _ => None,
    })
}
