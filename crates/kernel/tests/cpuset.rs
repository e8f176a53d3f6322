//! The cpuset controller's `cpuset.cpus` (cgroup v2): a group's tasks run on its
//! effective CPUs, the ones it asks for within its parent's (or the parent's when those
//! do not meet); a task's own affinity applies within them (core/cpuset.rs).

mod common;

use common::*;
use schedsim_kernel::report::Report;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::Config;

fn run_toml(text: &str, cpus: u32, duration: u64) -> Result<SimResult, String> {
    let w = schedsim_workload::parse_toml("cpuset.toml", text).expect("valid workload");
    let cfg = Config {
        nr_cpus: cpus,
        ..Config::default()
    };
    let opts = schedsim_kernel::sim::SimOptions {
        duration: Some(duration),
        seed: 1,
        trace: true,
        check: true,
    };
    schedsim_kernel::sim::run(w, cfg, &opts, &mut ())
        .map_err(|e| format!("{}: {}", e.task, e.message))
}

/// The CPUs each task of `comm`'s prefix ran on.
fn cpus_of(r: &SimResult, prefix: &str) -> Vec<u32> {
    let mut v: Vec<u32> = r
        .sched
        .trace
        .merged()
        .into_iter()
        .filter_map(|rec| match &rec.event {
            schedsim_trace::Event::Switch { next_comm, .. }
                if next_comm.as_str().starts_with(prefix) =>
            {
                Some(rec.cpu)
            }
            _ => None,
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A group confined to CPU 1.
const ON_CPU1: &str = r#"
[cgroup."/one"]
"cpuset.cpus" = "1"
"#;

fn share(r: &Report, comm: &str) -> f64 {
    r.tasks.iter().find(|t| t.comm == comm).expect(comm).share
}

/// Two hogs of a group confined to CPU 1 share it; a hog of the root group has CPU 0 to
/// itself, though balancing would otherwise spread the three.
#[test]
fn a_cpuset_confines_its_tasks() {
    let tasks = r#"
[[task]]
name = "g"
count = 2
cgroup = "/one"
run = "10ms"

[[task]]
name = "r"
run = "10ms"
"#;
    let r = run_toml(&format!("{ON_CPU1}{tasks}"), 2, 2000 * MS).expect("runs");
    assert_eq!(cpus_of(&r, "g"), vec![1]);
    let rep = Report::from_result(&r);
    assert!(share(&rep, "r") > 0.97, "{}", share(&rep, "r"));
    for g in ["g-0", "g-1"] {
        assert!(
            (share(&rep, g) - 0.5).abs() < 0.03,
            "{g}: {}",
            share(&rep, g)
        );
    }
}

/// Effective CPUs: a child asking for CPUs partly outside its parent's gets the overlap;
/// one asking for none of them gets its parent's; a task's own affinity applies inside
/// its cpuset, and where the two do not meet the cpuset's CPUs win.
#[test]
fn effective_cpus_follow_the_parent_and_the_tasks_own_affinity() {
    let text = r#"
[cgroup."/p"]
"cpuset.cpus" = "0-1"
[cgroup."/p/over"]
"cpuset.cpus" = "1-3"
[cgroup."/p/off"]
"cpuset.cpus" = "2-3"

[[task]]
name = "over"
cgroup = "/p/over"
run = "10ms"

[[task]]
name = "off"
cgroup = "/p/off"
run = "10ms"

[[task]]
name = "pin"
cgroup = "/p"
affinity = [1, 3]
run = "10ms"

[[task]]
name = "away"
cgroup = "/p"
affinity = 3
run = "10ms"
"#;
    let r = run_toml(text, 4, 500 * MS).expect("runs");
    assert_eq!(cpus_of(&r, "over"), vec![1]);
    assert!(cpus_of(&r, "off").iter().all(|&c| c <= 1));
    assert_eq!(cpus_of(&r, "pin"), vec![1]);
    assert!(cpus_of(&r, "away").iter().all(|&c| c <= 1));
}

/// A running task that moves into a cpuset away from its CPU is moved by its CPU's
/// stopper, an affinity migration; a later sched_setaffinity outside the cpuset fails with
/// EINVAL, which stops the run naming the task.
#[test]
fn moving_into_a_cpuset_migrates_and_setaffinity_stays_inside() {
    let text = format!(
        "{ON_CPU1}{}",
        r#"
[[task]]
name = "m"
affinity = 0
program = ["run 5ms", "cgroup /one", "run 5ms", "affinity all", "run 5ms", "affinity 0"]
"#
    );
    let Err(err) = run_toml(&text, 2, 100 * MS) else {
        panic!("accepted")
    };
    assert!(
        err.starts_with("m") && err.contains("sched_setaffinity refused") && err.contains("cpuset"),
        "{err}"
    );
    let ok = text.replace(", \"affinity 0\"", "");
    let r = run_toml(&ok, 2, 100 * MS).expect("runs");
    assert_eq!(cpus_of(&r, "m"), vec![0, 1]);
    let rep = Report::from_result(&r);
    let m = rep.tasks.iter().find(|t| t.comm == "m").expect("m");
    assert_eq!(m.migrations_by_cause.affinity, 1, "{m:?}");
    // `affinity all` inside the cpuset leaves it on CPU 1.
    assert_eq!(m.nr_migrations, 1);
}
