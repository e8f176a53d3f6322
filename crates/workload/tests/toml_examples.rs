//! The shipped examples/*.toml all parse, and say what their comments claim.

use std::path::{Path, PathBuf};

use schedsim_workload::*;

const MS: u64 = 1_000_000;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn example(name: &str) -> Workload {
    let path = examples_dir().join(name);
    load_toml(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn task<'w>(w: &'w Workload, name: &str) -> &'w TaskSpec {
    w.tasks
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no task {name}"))
}

fn forever(body: Vec<Step>) -> Vec<Step> {
    vec![Step::Loop { count: None, body }]
}

#[test]
fn every_example_parses() {
    let mut n = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            load_toml(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 8, "only {n} examples found");
}

#[test]
fn nice_pair() {
    let w = example("nice_pair.toml");
    assert_eq!(w.duration, Some(10_000 * MS));
    let nices: Vec<i32> = w.tasks.iter().map(|t| t.attr.nice).collect();
    assert_eq!(nices, vec![0, 5]);
    for t in &w.tasks {
        assert_eq!(t.affinity, Some(vec![0]));
        assert_eq!(t.program, forever(vec![Step::Run(Dur::Fixed(10 * MS))]));
    }
}

#[test]
fn periodic_vs_hog() {
    let w = example("periodic_vs_hog.toml");
    let p = task(&w, "periodic");
    assert_eq!(p.affinity, Some(vec![0]));
    assert_eq!(
        p.program,
        forever(vec![
            Step::Run(Dur::Fixed(2 * MS)),
            Step::Timer {
                timer: 0,
                period: 10 * MS,
                absolute: true
            },
        ])
    );
    assert_eq!(
        w.timers,
        vec![TimerDecl {
            name: "periodic#1".into(),
            shared: false
        }]
    );
}

#[test]
fn pingpong() {
    let w = example("pingpong.toml");
    assert_eq!(
        w.sems[0],
        SyncDecl {
            name: "ping".into(),
            initial: 1
        }
    );
    let ping = task(&w, "ping");
    let pong = task(&w, "pong");
    let (ping_i, pong_i) = (0, 1);
    assert_eq!(
        ping.program,
        forever(vec![
            Step::SemWait(ping_i),
            Step::Run(Dur::Fixed(50_000)),
            Step::SemPost(pong_i)
        ])
    );
    assert_eq!(
        pong.program,
        forever(vec![
            Step::SemWait(pong_i),
            Step::Run(Dur::Fixed(50_000)),
            Step::SemPost(ping_i)
        ])
    );
    let Step::Loop { count, .. } = &task(&w, "stage3").program[0] else {
        panic!()
    };
    assert_eq!(*count, Some(10));
}

#[test]
fn fork() {
    let w = example("fork.toml");
    let worker = w.tasks.iter().position(|t| t.name == "worker").unwrap();
    assert_eq!(w.tasks[worker].count, 0);
    assert_eq!(
        task(&w, "server").program[0],
        Step::Loop {
            count: None,
            body: vec![
                Step::Fork(worker),
                Step::Run(Dur::Fixed(200_000)),
                Step::Sleep(Dur::Fixed(20 * MS))
            ],
        }
    );
    assert_eq!(w.tasks[worker].program.last(), Some(&Step::Exit));
    assert_eq!(task(&w, "spawner").start_delay, 100 * MS);
}

#[test]
fn mixed() {
    let w = example("mixed.toml");
    assert_eq!(task(&w, "compile").attr.policy, Policy::Batch);
    assert_eq!(task(&w, "background").attr.policy, Policy::Idle);
    let Step::Loop { body, .. } = &task(&w, "polite").program[0] else {
        panic!()
    };
    assert_eq!(body[1], Step::Yield);
    let Step::Loop { body, .. } = &task(&w, "interactive").program[0] else {
        panic!()
    };
    assert_eq!(body[0], Step::Run(Dur::Exponential { mean: 500_000 }));
    assert_eq!(w.sysctls[0].name, "sched/base_slice_ns");
}

#[test]
fn rt() {
    let w = example("rt.toml");
    let hi = task(&w, "fifo-hi");
    assert_eq!((hi.attr.policy, hi.attr.rt_priority), (Policy::Fifo, 50));
    let rr = task(&w, "rr");
    assert_eq!(
        (rr.attr.policy, rr.attr.rt_priority, rr.count),
        (Policy::Rr, 20, 2)
    );
    let dl = task(&w, "dl").attr;
    assert_eq!(
        (dl.runtime, dl.deadline, dl.period),
        (2 * MS, 5 * MS, 10 * MS)
    );
    assert_eq!(w.sysctls.len(), 2);
}

#[test]
fn cgroups() {
    let w = example("cgroups.toml");
    let files: Vec<(&str, &str, &str)> = w
        .cgroup_files
        .iter()
        .map(|c| (c.path.as_str(), c.file.as_str(), c.value.as_str()))
        .collect();
    assert_eq!(
        files,
        vec![
            ("/web", "cpu.weight", "200"),
            ("/batch", "cpu.weight", "100"),
            ("/batch", "cpu.max", "50000 100000"),
        ]
    );
    let groups: Vec<&str> = w.cgroups.iter().map(|g| g.path.as_str()).collect();
    assert_eq!(groups, ["/web", "/batch"]);
    assert_eq!(task(&w, "web").cgroup.as_deref(), Some("/web"));
    assert_eq!(task(&w, "batch").affinity, Some(vec![0, 1]));
}

#[test]
fn sync() {
    let w = example("sync.toml");
    assert_eq!(
        w.mutexes[0],
        MutexDecl {
            name: "shared".into(),
            pi: true
        }
    );
    // Three workers meet at the barrier.
    assert_eq!(
        w.barriers,
        vec![BarrierDecl {
            name: "round".into(),
            parties: 3
        }]
    );
    assert!(w.conds.iter().any(|c| c.name == "items"));
}
