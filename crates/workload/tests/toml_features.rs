//! Each feature of the TOML format, parsed into the exact model we expect.

use schedsim_workload::*;

const MS: u64 = 1_000_000;
const US: u64 = 1_000;

fn parse(text: &str) -> Workload {
    parse_toml("t.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

/// A default task spec, as `[[task]] name = ..` gives it, with `program`.
fn task(name: &str, program: Vec<Step>, line: u32) -> TaskSpec {
    TaskSpec {
        name: name.into(),
        count: 1,
        attr: SchedAttr::default(),
        affinity: None,
        cgroup: None,
        session: None,
        start_delay: 0,
        program,
        naming: Naming::Plain,
        loc: Loc { line, col: 1 },
    }
}

fn forever(body: Vec<Step>) -> Vec<Step> {
    vec![Step::Loop { count: None, body }]
}

fn run(ns: u64) -> Step {
    Step::Run(Dur::Fixed(ns))
}

#[test]
fn two_line_hog() {
    let w = parse("[[task]]\nname = \"hog\"\nrun = \"10ms\"\n");
    assert_eq!(
        w,
        Workload {
            source: "t.toml".into(),
            tasks: vec![task("hog", forever(vec![run(10 * MS)]), 1)],
            launcher_comm: "schedsim".into(),
            ..Workload::default()
        }
    );
}

#[test]
fn duration_nice_count_affinity_cgroup_delay() {
    let w = parse(
        r#"
duration = "1.5s"

[[task]]
name = "w"
count = 3
nice = -5
affinity = [0, "2-3", 3]
cgroup = "/web/"
delay = "500us"
run = "uniform(1ms, 3ms)"
"#,
    );
    assert_eq!(w.duration, Some(1_500 * MS));
    let mut want = task(
        "w",
        forever(vec![Step::Run(Dur::Uniform { lo: MS, hi: 3 * MS })]),
        4,
    );
    want.count = 3;
    want.attr.nice = -5;
    want.affinity = Some(vec![0, 2, 3]);
    want.cgroup = Some("/web".into());
    want.start_delay = 500 * US;
    assert_eq!(w.tasks, vec![want]);
}

#[test]
fn affinity_forms() {
    let w = parse(
        r#"
[[task]]
name = "a"
affinity = 2
run = "1ms"
[[task]]
name = "b"
affinity = "0-1,4"
run = "1ms"
"#,
    );
    assert_eq!(w.tasks[0].affinity, Some(vec![2]));
    assert_eq!(w.tasks[1].affinity, Some(vec![0, 1, 4]));
}

#[test]
fn policies_and_their_parameters() {
    let w = parse(
        r#"
[[task]]
name = "b"
policy = "batch"
nice = 19
slice = "3ms"
run = "1ms"

[[task]]
name = "i"
policy = "SCHED_IDLE"
run = "1ms"

[[task]]
name = "f"
policy = "fifo"
priority = 99
run = "1ms"

[[task]]
name = "r"
policy = "rr"
priority = 1
flags = ["reset_on_fork"]
run = "1ms"

[[task]]
name = "d"
policy = "deadline"
runtime = "2ms"
deadline = "8ms"
flags = ["reclaim", "dl_overrun"]
program = ["run 2ms", "sleep 8ms"]

[[task]]
name = "d2"
policy = "deadline"
slice = "1ms"
deadline = "5ms"
period = "10ms"
run = "1ms"

[[task]]
name = "e"
policy = "ext"
run = "1ms"

[[task]]
name = "o"
policy = "other"
run = "1ms"
"#,
    );
    let attrs: Vec<SchedAttr> = w.tasks.iter().map(|t| t.attr).collect();
    let a = SchedAttr::default;
    assert_eq!(
        attrs,
        vec![
            SchedAttr {
                policy: Policy::Batch,
                nice: 19,
                runtime: 3 * MS,
                ..a()
            },
            SchedAttr {
                policy: Policy::Idle,
                ..a()
            },
            SchedAttr {
                policy: Policy::Fifo,
                rt_priority: 99,
                ..a()
            },
            SchedAttr {
                policy: Policy::Rr,
                rt_priority: 1,
                flags: 1,
                ..a()
            },
            // The period defaults to the deadline, as sched_setattr does.
            SchedAttr {
                policy: Policy::Deadline,
                runtime: 2 * MS,
                deadline: 8 * MS,
                period: 8 * MS,
                flags: 6,
                ..a()
            },
            SchedAttr {
                policy: Policy::Deadline,
                runtime: MS,
                deadline: 5 * MS,
                period: 10 * MS,
                ..a()
            },
            SchedAttr {
                policy: Policy::Ext,
                ..a()
            },
            SchedAttr {
                policy: Policy::Normal,
                ..a()
            },
        ]
    );
}

#[test]
fn timers_private_shared_relative() {
    let w = parse(
        r#"
[[task]]
name = "per"
count = 2
program = ["run 2ms", "timer 10ms", "run 1ms", "timer 5ms tick", "timer 20ms relative", "timer 1ms tick absolute"]
"#,
    );
    assert_eq!(
        w.timers,
        vec![
            TimerDecl {
                name: "per#1".into(),
                shared: false
            },
            TimerDecl {
                name: "tick".into(),
                shared: true
            },
            TimerDecl {
                name: "per#2".into(),
                shared: false
            },
        ]
    );
    assert_eq!(
        w.tasks[0].program,
        forever(vec![
            run(2 * MS),
            Step::Timer {
                timer: 0,
                period: 10 * MS,
                absolute: true
            },
            run(MS),
            Step::Timer {
                timer: 1,
                period: 5 * MS,
                absolute: true
            },
            Step::Timer {
                timer: 2,
                period: 20 * MS,
                absolute: false
            },
            Step::Timer {
                timer: 1,
                period: MS,
                absolute: true
            },
        ])
    );
}

#[test]
fn random_durations() {
    let w = parse(
        r#"
[[task]]
name = "r"
program = ["run exp(2ms)", "runwall normal(5ms, 1ms)", "sleep lognormal(5ms, 1ms)", "sleep fixed(100ns)", "run 1.5us"]
"#,
    );
    assert_eq!(
        w.tasks[0].program,
        forever(vec![
            Step::Run(Dur::Exponential { mean: 2 * MS }),
            Step::RunWall(Dur::Normal {
                mean: 5 * MS,
                stddev: MS
            }),
            Step::Sleep(Dur::LogNormal {
                mean: 5 * MS,
                stddev: MS
            }),
            Step::Sleep(Dur::Fixed(100)),
            run(1_500),
        ])
    );
}

#[test]
fn semaphores_pingpong_with_initial_count() {
    let w = parse(
        r#"
[sem]
ping = 1

[[task]]
name = "ping"
program = ["wait ping", "run 1ms", "post pong"]

[[task]]
name = "pong"
program = ["sem_wait pong", "run 1ms", "sem_post ping"]
"#,
    );
    assert_eq!(
        w.sems,
        vec![
            SyncDecl {
                name: "ping".into(),
                initial: 1
            },
            SyncDecl {
                name: "pong".into(),
                initial: 0
            },
        ]
    );
    assert_eq!(
        w.tasks[0].program,
        forever(vec![Step::SemWait(0), run(MS), Step::SemPost(1)])
    );
    assert_eq!(
        w.tasks[1].program,
        forever(vec![Step::SemWait(1), run(MS), Step::SemPost(0)])
    );
}

#[test]
fn semaphore_declared_as_table() {
    let w = parse(
        "[sem.go]\ninitial = 2\n[[task]]\nname = \"a\"\nprogram = [\"wait go\", \"run 1ms\"]\n",
    );
    assert_eq!(
        w.sems,
        vec![SyncDecl {
            name: "go".into(),
            initial: 2
        }]
    );
}

#[test]
fn conditions_mutexes_and_sync() {
    let w = parse(
        r#"
[mutex.m]
pi = true

[[task]]
name = "waiter"
program = ["lock m", "cond_wait c m", "unlock m", "cond_wait c"]

[[task]]
name = "signaller"
program = ["run 1ms", "lock plain", "signal c", "unlock plain", "broadcast c", "cond_signal c", "cond_broadcast c"]

[[task]]
name = "syncer"
program = ["run 1ms", "sync s", "sync s m"]
"#,
    );
    assert_eq!(
        w.mutexes,
        vec![
            MutexDecl {
                name: "m".into(),
                pi: true
            },
            MutexDecl {
                name: "plain".into(),
                pi: false
            },
        ]
    );
    assert_eq!(
        w.conds,
        vec![
            SyncDecl {
                name: "c".into(),
                initial: 0
            },
            SyncDecl {
                name: "s".into(),
                initial: 0
            },
        ]
    );
    assert_eq!(
        w.tasks[0].program,
        forever(vec![
            Step::Lock(0),
            Step::CondWait {
                cond: 0,
                mutex: Some(0)
            },
            Step::Unlock(0),
            Step::CondWait {
                cond: 0,
                mutex: None
            },
        ])
    );
    assert_eq!(
        w.tasks[1].program,
        forever(vec![
            run(MS),
            Step::Lock(1),
            Step::CondSignal(0),
            Step::Unlock(1),
            Step::CondBroadcast(0),
            Step::CondSignal(0),
            Step::CondBroadcast(0),
        ])
    );
    assert_eq!(
        w.tasks[2].program,
        forever(vec![
            run(MS),
            Step::CondSync {
                cond: 1,
                mutex: None
            },
            Step::CondSync {
                cond: 1,
                mutex: Some(0)
            },
        ])
    );
}

#[test]
fn barrier_parties_count_instances() {
    let w = parse(
        r#"
[barrier]
spawned = 2

[[task]]
name = "a"
count = 3
program = ["run 1ms", "barrier b", "barrier b"]

[[task]]
name = "c"
program = ["run 2ms", "barrier b"]

[[task]]
name = "child"
template = true
program = ["barrier spawned", "exit"]

[[task]]
name = "parent"
program = ["fork child", "fork child", "sleep 10ms"]
"#,
    );
    assert_eq!(
        w.barriers,
        vec![
            BarrierDecl {
                name: "spawned".into(),
                parties: 2
            },
            BarrierDecl {
                name: "b".into(),
                parties: 4
            },
        ]
    );
}

#[test]
fn fork_templates_suspend_resume_exit() {
    let w = parse(
        r#"
[[task]]
name = "parent"
program = ["fork worker", "fork helper", "sleep 10ms", "resume sleeper"]

[[task]]
name = "worker"
template = true
program = ["run 5ms", "exit"]

[[task]]
name = "helper"
count = 0
loop = 2
program = "run 1ms"

[[task]]
name = "sleeper"
program = ["suspend", "run 1ms"]
"#,
    );
    assert_eq!(
        w.tasks[0].program,
        forever(vec![
            Step::Fork(1),
            Step::Fork(2),
            Step::Sleep(Dur::Fixed(10 * MS)),
            Step::Resume(3)
        ])
    );
    let worker = &w.tasks[1];
    assert_eq!(worker.count, 0);
    // Ends in `exit`: no implicit loop.
    assert_eq!(worker.program, vec![run(5 * MS), Step::Exit]);
    let helper = &w.tasks[2];
    assert_eq!(helper.count, 0);
    assert_eq!(
        helper.program,
        vec![Step::Loop {
            count: Some(2),
            body: vec![run(MS)]
        }]
    );
}

#[test]
fn loops_nested_counted_forever() {
    let w = parse(
        r#"
[[task]]
name = "l"
loop = "forever"
program = [
  { loop = 3, do = ["run 1ms", { loop = 2, do = "yield" }, "sleep 1ms"] },
  { loop = "forever", do = ["run 1ms", "sleep 1ms"] },
]
"#,
    );
    assert_eq!(
        w.tasks[0].program,
        forever(vec![
            Step::Loop {
                count: Some(3),
                body: vec![
                    run(MS),
                    Step::Loop {
                        count: Some(2),
                        body: vec![Step::Yield]
                    },
                    Step::Sleep(Dur::Fixed(MS)),
                ],
            },
            Step::Loop {
                count: None,
                body: vec![run(MS), Step::Sleep(Dur::Fixed(MS))]
            },
        ])
    );
}

#[test]
fn attribute_steps_track_the_current_policy() {
    let w = parse(
        r#"
[[task]]
name = "x"
policy = "batch"
nice = 3
program = [
  "run 1ms", "nice 5", "slice 2ms", "policy fifo 10", "nice -2", "policy normal",
  "policy deadline 1ms 5ms", "policy rr 3", "policy deadline 1ms 5ms 10ms", "policy idle",
  "policy SCHED_EXT",
]
"#,
    );
    let a = SchedAttr::default;
    let set = |attr| Step::SetAttr(attr);
    assert_eq!(
        w.tasks[0].program,
        forever(vec![
            run(MS),
            set(SchedAttr {
                policy: Policy::Batch,
                nice: 5,
                ..a()
            }),
            set(SchedAttr {
                policy: Policy::Batch,
                nice: 5,
                runtime: 2 * MS,
                ..a()
            }),
            // Like sched_setscheduler: the nice value stays, the custom slice goes.
            set(SchedAttr {
                policy: Policy::Fifo,
                nice: 5,
                rt_priority: 10,
                ..a()
            }),
            set(SchedAttr {
                policy: Policy::Fifo,
                nice: -2,
                rt_priority: 10,
                ..a()
            }),
            set(SchedAttr {
                policy: Policy::Normal,
                nice: -2,
                ..a()
            }),
            set(SchedAttr {
                policy: Policy::Deadline,
                nice: -2,
                runtime: MS,
                deadline: 5 * MS,
                period: 5 * MS,
                ..a()
            }),
            set(SchedAttr {
                policy: Policy::Rr,
                nice: -2,
                rt_priority: 3,
                ..a()
            }),
            set(SchedAttr {
                policy: Policy::Deadline,
                nice: -2,
                runtime: MS,
                deadline: 5 * MS,
                period: 10 * MS,
                ..a()
            }),
            set(SchedAttr {
                policy: Policy::Idle,
                nice: -2,
                ..a()
            }),
            set(SchedAttr {
                policy: Policy::Ext,
                nice: -2,
                ..a()
            }),
        ])
    );
}

#[test]
fn affinity_cgroup_and_marker_steps() {
    let w = parse(
        r#"
[[task]]
name = "m"
program = ["affinity 0-1, 3", "run 1ms", "affinity all", "cgroup /web/a", "marker phase two", "run 1ms"]
"#,
    );
    assert_eq!(
        w.tasks[0].program,
        forever(vec![
            Step::SetAffinity(Some(vec![0, 1, 3])),
            run(MS),
            Step::SetAffinity(None),
            Step::SetCgroup("/web/a".into()),
            Step::Marker("phase two".into()),
            run(MS),
        ])
    );
}

#[test]
fn sysctls_and_cgroup_files_keep_order_and_location() {
    let w = parse(
        r#"[[task]]
name = "a"
run = "1ms"

[sysctl]
"kernel.sched_rt_runtime_us" = 950000
"sched/base_slice_ns" = 3000000
kernel.sched_child_runs_first = true
"sched/features" = "NO_PLACE_LAG"

[cgroup."/web"]
"cpu.max" = "50000 100000"
"cpu.weight" = 200

[cgroup."/batch"]
cpu.weight = 50

[cgroup."/idle"]

[cgroup."/"]
"cpu.weight" = 10
"#,
    );
    let s = |name: &str, value: &str, line, col| Setting {
        name: name.into(),
        value: value.into(),
        loc: Loc { line, col },
    };
    assert_eq!(
        w.sysctls,
        vec![
            s("kernel.sched_rt_runtime_us", "950000", 6, 1),
            s("sched/base_slice_ns", "3000000", 7, 1),
            s("kernel.sched_child_runs_first", "1", 8, 8),
            s("sched/features", "NO_PLACE_LAG", 9, 1),
        ]
    );
    let c = |path: &str, file: &str, value: &str, line, col| CgroupSetting {
        path: path.into(),
        file: file.into(),
        value: value.into(),
        loc: Loc { line, col },
    };
    assert_eq!(
        w.cgroup_files,
        vec![
            c("/web", "cpu.max", "50000 100000", 12, 1),
            c("/web", "cpu.weight", "200", 13, 1),
            c("/batch", "cpu.weight", "50", 16, 5),
            c("/", "cpu.weight", "10", 21, 1),
        ]
    );
    // Every table declares its group, the empty one too; the root is never declared.
    let d = |path: &str, line, col| CgroupDecl {
        path: path.into(),
        loc: Loc { line, col },
    };
    assert_eq!(
        w.cgroups,
        vec![d("/web", 11, 9), d("/batch", 15, 9), d("/idle", 18, 9)]
    );
}

#[test]
fn inline_task_array_and_single_string_program() {
    let w = parse(r#"task = [{ name = "a", program = "sleep 1ms" }, { name = "b", run = "2ms" }]"#);
    assert_eq!(w.tasks.len(), 2);
    assert_eq!(
        w.tasks[0].program,
        forever(vec![Step::Sleep(Dur::Fixed(MS))])
    );
    assert_eq!(w.tasks[1].program, forever(vec![run(2 * MS)]));
}

#[test]
fn load_toml_reads_files() {
    let dir = std::env::temp_dir().join(format!("schedsim-toml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("w.toml");
    std::fs::write(&path, "[[task]]\nname = \"hog\"\nrun = \"10ms\"\n").unwrap();
    let w = load_toml(&path).unwrap();
    assert_eq!(w.source, path.display().to_string());
    assert_eq!(w.tasks[0].name, "hog");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sessions_by_use_or_declared_with_a_nice_value() {
    let w = parse(
        r#"
[[task]]
name = "a"
session = "web"
program = ["run 1ms", "setsid", "run 1ms"]

[[task]]
name = "b"
session = "build"
run = "1ms"

[session.build]
nice = 5
"#,
    );
    // Declared sessions come first in index order, then those met by use.
    assert_eq!(
        w.sessions,
        vec![
            SessionDecl {
                name: "build".into(),
                nice: 5
            },
            SessionDecl {
                name: "web".into(),
                nice: 0
            },
        ]
    );
    assert_eq!((w.tasks[0].session, w.tasks[1].session), (Some(1), Some(0)));
    assert_eq!(
        w.tasks[0].program,
        forever(vec![run(MS), Step::Setsid, run(MS)])
    );
}
