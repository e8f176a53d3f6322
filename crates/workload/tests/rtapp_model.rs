//! rt-app JSON -> Workload, checked against the exact expected model.

mod common;

use schedsim_workload::rtapp::{cost, end, origin, output, parse_rtapp, start, stats};
use schedsim_workload::*;

fn load(text: &str) -> Workload {
    parse_rtapp("t.json", text).unwrap_or_else(|e| panic!("{e}"))
}

/// The task's program: `common::thread_body` (where the lines rt-app prints are, and its
/// end: `printed_lines_are_where_rt_app_prints_them`, `the_end_follows_the_loops_even_forever_ones`).
fn prog(w: &Workload, task: &str) -> Vec<Step> {
    let t = w.tasks.iter().find(|t| t.name == task);
    common::thread_body(&t.unwrap_or_else(|| panic!("no task {task}")).program)
}

fn us(n: u64) -> Dur {
    Dur::Fixed(n * 1000)
}

fn lp(count: Option<u64>, body: Vec<Step>) -> Step {
    Step::Loop { count, body }
}

fn other(nice: i32) -> SchedAttr {
    SchedAttr {
        nice,
        ..SchedAttr::default()
    }
}

fn fifo(prio: u32) -> SchedAttr {
    SchedAttr {
        policy: Policy::Fifo,
        rt_priority: prio,
        ..SchedAttr::default()
    }
}

#[test]
fn events_are_matched_by_prefix_in_rt_app_order() {
    let w = load(
        r#"{ "tasks": { "t": { "loop": 1,
            "run0": 10, "runtime_a": 20, "run_b": 30, "sleep_x": 40, "yield2": "",
            "memrun1": {"size": 6400, "stride": 64}, "mem2": 100, "iorun3": 1000,
            "lock_a": "m", "unlock_a": "m", "sem_post1": "s", "sem_wait1": "s",
            "signal9": "c", "broadcast": "c", "sync_z": {"ref": "c", "mutex": "m"},
            "barrier_1": "b", "timer_1": {"ref": "tick", "period": 1000}
        } } }"#,
    );
    let p = prog(&w, "t");
    let expected = vec![
        Step::Run(us(10)),
        Step::RunWall(us(20)),
        Step::Run(us(30)),
        Step::Sleep(us(40)),
        Step::Yield,
        Step::Run(Dur::Fixed(cost::memrun_ns(
            6400,
            1,
            64,
            cost::Access::Sequential,
        ))),
        Step::Run(Dur::Fixed(cost::mem_ns(100))),
        Step::Run(Dur::Fixed(cost::iorun_ns(1000, 4 << 20, "/dev/null"))),
        Step::Lock(0),
        Step::Unlock(0),
        Step::SemPost(0),
        Step::SemWait(0),
        Step::CondSignal(0),
        Step::CondBroadcast(0),
        Step::CondSync {
            cond: 0,
            mutex: Some(0),
        },
        Step::Barrier(0),
        Step::Timer {
            timer: 0,
            period: 1_000_000,
            absolute: false,
        },
        Step::Exit,
    ];
    assert_eq!(p, expected.as_slice());
    assert_eq!(
        w.mutexes,
        [MutexDecl {
            name: "m".into(),
            pi: false
        }]
    );
    assert_eq!(
        w.sems,
        [SyncDecl {
            name: "s".into(),
            initial: 0
        }]
    );
    assert_eq!(
        w.conds,
        [SyncDecl {
            name: "c".into(),
            initial: 0
        }]
    );
    assert_eq!(
        w.barriers,
        [BarrierDecl {
            name: "b".into(),
            parties: 1
        }]
    );
    assert_eq!(
        w.timers,
        [TimerDecl {
            name: "tick".into(),
            shared: true
        }]
    );
}

#[test]
fn comments_trailing_commas_and_duplicate_keys() {
    // json-c collapses repeated keys: the first position, the last value.
    let w = load(
        r#"/* a comment */ {
            "tasks": {
                "t": {  // one phase, directly in the thread
                    "run": 100, "sleep": 200, "run": 300,
                    "loop": 2,
                },
            },
        }"#,
    );
    assert_eq!(
        prog(&w, "t"),
        [
            lp(Some(2), vec![Step::Run(us(300)), Step::Sleep(us(200))]),
            Step::Exit
        ]
    );
}

#[test]
fn loop_semantics_with_and_without_phases() {
    let w = load(
        r#"{ "tasks": {
            "forever": { "run": 1 },
            "five": { "loop": 5, "run": 1 },
            "neg": { "loop": -1, "run": 1 },
            "zero": { "loop": 0, "run": 1 },
            "phased": { "loop": 3, "phases": {
                "a": { "loop": 2, "run": 1 },
                "b": { "run": 2 }
            } },
            "phased_forever": { "phases": { "a": { "run": 1 } } },
            "never": { "loop": 0, "policy": "SCHED_FIFO", "phases": { "a": { "run": 1 } } },
            "stuck": { "loop": 2, "phases": { "a": { "loop": 0, "run": 1 }, "b": { "run": 2 } } }
        } }"#,
    );
    // No `loop`, no phases: forever.
    assert_eq!(prog(&w, "forever"), [lp(None, vec![Step::Run(us(1))])]);
    // Without phases `loop` counts iterations of the single phase, then the thread exits.
    assert_eq!(
        prog(&w, "five"),
        [lp(Some(5), vec![Step::Run(us(1))]), Step::Exit]
    );
    // A phase whose counter never equals its loop value never ends (-1 and 0 alike).
    assert_eq!(prog(&w, "neg"), [lp(None, vec![Step::Run(us(1))])]);
    assert_eq!(prog(&w, "zero"), [lp(None, vec![Step::Run(us(1))])]);
    // With phases `loop` counts passes over the phase list; a phase loops on its own `loop`.
    assert_eq!(
        prog(&w, "phased"),
        [
            lp(
                Some(3),
                vec![lp(Some(2), vec![Step::Run(us(1))]), Step::Run(us(2))]
            ),
            Step::Exit
        ]
    );
    assert_eq!(
        prog(&w, "phased_forever"),
        [lp(None, vec![Step::Run(us(1))])]
    );
    // `loop: 0` with phases: the list never runs, but the thread still sets its policy first
    // and resets it before exiting.
    assert_eq!(
        prog(&w, "never"),
        [
            Step::SetAttr(fifo(10)),
            Step::Mlockall,
            Step::SetAttr(other(0)),
            Step::Exit
        ]
    );
    // A phase that loops forever: later phases and the end are reached at the shutdown only.
    assert_eq!(
        prog(&w, "stuck"),
        [
            lp(
                Some(2),
                vec![lp(None, vec![Step::Run(us(1))]), Step::Run(us(2))]
            ),
            Step::Exit
        ]
    );
}

#[test]
fn instances_naming_and_fork_templates() {
    let w = load(
        r#"{ "tasks": {
            "hog": { "instance": 3, "run": 10 },
            "tmpl": { "instance": 0, "loop": 1, "run": 5 },
            "parent": { "loop": 1, "fork": "tmpl", "fork2": "hog" }
        } }"#,
    );
    let names: Vec<_> = w
        .tasks
        .iter()
        .map(|t| (t.name.as_str(), t.count, t.naming))
        .collect();
    assert_eq!(
        names,
        [
            ("hog", 3, Naming::RtApp),
            ("tmpl", 0, Naming::RtApp),
            ("parent", 1, Naming::RtApp)
        ]
    );
    assert_eq!(
        prog(&w, "parent"),
        [Step::Fork(1), Step::Fork(0), Step::Exit]
    );
    assert_eq!(w.launcher_comm, "rt-app");
    assert_eq!(w.source, "t.json");
    // Task specs keep the key's position.
    assert_eq!(w.tasks[0].loc, Loc { line: 2, col: 13 });
    for t in &w.tasks {
        // rt-app creates threads SCHED_OTHER, nice 0, unpinned, in its own cgroup.
        assert_eq!(
            (t.attr, &t.affinity, &t.cgroup, t.start_delay),
            (SchedAttr::default(), &None, &None, 0)
        );
    }
}

#[test]
fn start_up_sequence_and_thread_end() {
    let w = load(
        r#"{ "global": { "ftrace": "task" },
             "tasks": { "t": {
                "delay": 1500, "policy": "SCHED_FIFO", "priority": 42, "cpus": [1, 0, 1],
                "loop": 2, "run": 100
        } } }"#,
    );
    assert_eq!(
        prog(&w, "t"),
        [
            Step::Marker("rtapp_task: event=start".into()),
            Step::Sleep(us(1500)),
            Step::SetAttr(fifo(42)),
            Step::Mlockall,
            Step::SetAffinity(Some(vec![0, 1])),
            lp(Some(2), vec![Step::Run(us(100))]),
            Step::SetAttr(other(0)),
            Step::Marker("rtapp_task: event=end".into()),
            Step::Exit,
        ]
    );
}

#[test]
fn default_thread_gets_no_setattr_and_default_policy_applies() {
    let w = load(
        r#"{ "global": { "default_policy": "SCHED_RR" },
             "tasks": { "rr": { "run": 1 }, "o": { "policy": "SCHED_OTHER", "run": 1 } } }"#,
    );
    let rr = SchedAttr {
        policy: Policy::Rr,
        rt_priority: 10,
        ..SchedAttr::default()
    };
    assert_eq!(
        prog(&w, "rr"),
        [
            Step::SetAttr(rr),
            Step::Mlockall,
            lp(None, vec![Step::Run(us(1))])
        ]
    );
    assert_eq!(prog(&w, "o"), [lp(None, vec![Step::Run(us(1))])]);
}

/// `lock_pages` (true unless the file says otherwise): a thread that sets an RT or DL
/// policy `mlockall`s before its first loop; rt-app forces it off for a fair thread.
#[test]
fn lock_pages_makes_rt_and_dl_threads_mlockall() {
    let tasks = r#""tasks": { "f": { "policy": "SCHED_FIFO", "run": 1 },
                              "b": { "policy": "SCHED_BATCH", "run": 1 } }"#;
    let w = load(&format!("{{ {tasks} }}"));
    assert_eq!(prog(&w, "f")[1], Step::Mlockall);
    assert!(!prog(&w, "b").contains(&Step::Mlockall));
    let w = load(&format!(
        r#"{{ "global": {{ "lock_pages": false }}, {tasks} }}"#
    ));
    assert!(!prog(&w, "f").contains(&Step::Mlockall));
}

#[test]
fn per_phase_affinity_policy_and_taskgroup() {
    let w = load(
        r#"{ "tasks": { "t": {
            "cpus": [2], "priority": 5, "taskgroup": "/g0", "loop": 2,
            "phases": {
                "p0": { "cpus": [0], "run": 1 },
                "p1": { "priority": -3, "taskgroup": "/g1", "run": 2 },
                "p2": { "policy": "SCHED_IDLE", "cpus": [2], "run": 3 },
                "p3": { "policy": "SCHED_OTHER", "run": 4 }
            }
        } } }"#,
    );
    let idle = SchedAttr {
        policy: Policy::Idle,
        nice: -3,
        ..SchedAttr::default()
    };
    assert_eq!(
        prog(&w, "t"),
        [
            Step::SetAttr(other(5)),
            Step::SetCgroup("/g0".into()),
            lp(
                Some(2),
                vec![
                    // p0 pins to CPU0 (from the task's CPU2 in the second pass, from all CPUs
                    // in the first).
                    Step::SetAffinity(Some(vec![0])),
                    Step::Run(us(1)),
                    // p1: back to the task's cpus; priority only: stays SCHED_OTHER.
                    Step::SetAffinity(Some(vec![2])),
                    Step::SetAttr(other(-3)),
                    Step::SetCgroup("/g1".into()),
                    Step::Run(us(2)),
                    // p2: same cpus as p1, so no call; SCHED_IDLE keeps the nice value.
                    Step::SetAttr(idle),
                    Step::Run(us(3)),
                    // p3: explicit policy, priority defaults to 0.
                    Step::SetAttr(other(0)),
                    Step::Run(us(4)),
                ]
            ),
            // The policy is already SCHED_OTHER nice 0; every thread goes back to `/` because
            // the workload uses taskgroups.
            Step::SetCgroup("/".into()),
            Step::Exit,
        ]
    );
    // rt-app creates each taskgroup it meets (task-level, then phase-level), once.
    let groups: Vec<(&str, u32)> = w
        .cgroups
        .iter()
        .map(|g| (g.path.as_str(), g.loc.line))
        .collect();
    assert_eq!(groups, [("/g0", 2), ("/g1", 5)]);
}

#[test]
fn first_pass_only_changes_go_before_the_loop() {
    // Phase 0 needs a policy change only the first time (the last phase leaves it set).
    let w = load(
        r#"{ "tasks": { "t": { "phases": {
            "a": { "policy": "SCHED_FIFO", "priority": 7, "run": 1 },
            "b": { "run": 2 }
        } } } }"#,
    );
    assert_eq!(
        prog(&w, "t"),
        [
            Step::SetAttr(fifo(7)),
            lp(None, vec![Step::Run(us(1)), Step::Run(us(2))])
        ]
    );
}

#[test]
fn deadline_custom_slice_and_legacy_aliases() {
    let w = load(
        r#"{ "tasks": {
            "dl": { "policy": "SCHED_DEADLINE", "dl-runtime": 2000, "dl-period": 10000, "run": 1 },
            "dl_chain": { "policy": "SCHED_DEADLINE", "dl-runtime": 3000, "run": 1 },
            "legacy": { "policy": "SCHED_DEADLINE", "runtime": 1000, "period": 5000, "deadline": 4000 },
            "slice": { "dl-runtime": 10000, "priority": 2, "run": 1 },
            "idle": { "policy": "SCHED_IDLE", "priority": 7, "run": 1 }
        } }"#,
    );
    let dl = |rt: u64, dl: u64, per: u64| SchedAttr {
        policy: Policy::Deadline,
        runtime: rt * 1000,
        deadline: dl * 1000,
        period: per * 1000,
        ..SchedAttr::default()
    };
    assert_eq!(prog(&w, "dl")[0], Step::SetAttr(dl(2000, 10000, 10000)));
    // dl-period defaults to dl-runtime, dl-deadline to dl-period.
    assert_eq!(prog(&w, "dl_chain")[0], Step::SetAttr(dl(3000, 3000, 3000)));
    // Legacy aliases at thread level; `runtime` is also the thread's (only) event.
    assert_eq!(
        prog(&w, "legacy"),
        [
            Step::SetAttr(dl(1000, 4000, 5000)),
            Step::Mlockall,
            lp(None, vec![Step::RunWall(us(1000))])
        ]
    );
    // dl-runtime on SCHED_OTHER: the requested EEVDF slice.
    assert_eq!(
        prog(&w, "slice")[0],
        Step::SetAttr(SchedAttr {
            nice: 2,
            runtime: 10_000_000,
            ..SchedAttr::default()
        })
    );
    // SCHED_IDLE ignores priority.
    assert_eq!(
        prog(&w, "idle")[0],
        Step::SetAttr(SchedAttr {
            policy: Policy::Idle,
            ..SchedAttr::default()
        })
    );
}

#[test]
fn global_section() {
    let w = load(
        r#"{ "global": {
                "duration": 7, "calibration": "CPU1", "default_policy": "SCHED_OTHER",
                "pi_enabled": true, "lock_pages": true, "logdir": "./", "log_basename": "x",
                "log_size": "file", "ftrace": "main,loop,stats", "gnuplot": false,
                "io_device": "/tmp/f", "mem_buffer_size": 1000, "cumulative_slack": true, "frag": 1
             },
             "tasks": { "t": { "lock": "m", "iorun": 2500, "unlock": "m" } } }"#,
    );
    assert_eq!(w.duration, Some(7_000_000_000));
    assert_eq!(
        w.mutexes,
        [MutexDecl {
            name: "m".into(),
            pi: true
        }]
    );
    assert_eq!(
        w.ftrace_markers,
        Markers {
            main: true,
            looping: true,
            stats: true,
            ..Markers::default()
        }
    );
    // 3 writes of at most 1000 bytes to a regular file. "stats": the measurement starts
    // after the loop start marker (cumulative_slack), the iorun work is not a `run`, and the
    // line follows the loop end marker.
    assert_eq!(
        prog(&w, "t")[0],
        lp(
            None,
            vec![
                Step::Marker(
                    "rtapp_loop: event=start thread_loop={loop0} phase=0 phase_loop=0".into()
                ),
                Step::Marker(stats::BEGIN_CUMULATIVE.into()),
                Step::Lock(0),
                Step::Marker(stats::NOT_RUN.into()),
                Step::Run(Dur::Fixed(3 * cost::FILE_WRITE_NS + 1250)),
                Step::Unlock(0),
                Step::Marker(
                    "rtapp_loop: event=end thread_loop={loop0} phase=0 phase_loop=0".into()
                ),
                Step::Marker(
                    "rtapp_stats: period={stats.period} run={stats.run} wu_lat={stats.wu_lat} \
                     slack={stats.slack} c_period=0 c_run=0"
                        .into()
                ),
            ]
        )
    );

    let w =
        load(r#"{ "global": { "duration": -1, "ftrace": true }, "tasks": { "t": { "run": 1 } } }"#);
    assert_eq!(w.duration, None);
    assert_eq!(
        w.ftrace_markers,
        Markers {
            main: true,
            task: true,
            looping: true,
            event: true,
            stats: true
        }
    );
    // No global at all: defaults.
    let w = load(r#"{ "tasks": { "t": { "run": 1 } } }"#);
    assert_eq!((w.duration, w.ftrace_markers), (None, Markers::default()));
}

#[test]
fn loop_and_event_markers() {
    let w = load(
        r#"{ "global": { "ftrace": "loop,event" },
             "tasks": { "t": { "loop": 4, "phases": {
                "a": { "loop": 3, "run": 10, "timer": { "ref": "unique", "period": 100 } },
                "b": { "lock": "m", "wait": { "ref": "c", "mutex": "m" }, "unlock": "m" }
             } },
             "s": { "loop": 1, "signal": "c" } } }"#,
    );
    let m = |s: &str| Step::Marker(s.to_string());
    assert_eq!(
        prog(&w, "t"),
        [
            lp(
                Some(4),
                vec![
                    lp(
                        Some(3),
                        vec![
                            m("rtapp_loop: event=start thread_loop={loop0} phase=0 phase_loop={loop1}"),
                            m("rtapp_event: id=0 type=6 desc=run"),
                            Step::Run(us(10)),
                            m("rtapp_event: id=1 type=10 desc=timer:unique"),
                            Step::Timer { timer: 0, period: 100_000, absolute: false },
                            m("rtapp_loop: event=end thread_loop={loop0} phase=0 phase_loop={loop1}"),
                        ]
                    ),
                    m("rtapp_loop: event=start thread_loop={loop0} phase=1 phase_loop=0"),
                    m("rtapp_event: id=0 type=8 desc=lock:m"),
                    Step::Lock(0),
                    m("rtapp_event: id=1 type=2 desc=wait:c:m"),
                    Step::CondWait { cond: 0, mutex: Some(0) },
                    m("rtapp_event: id=2 type=9 desc=unlock:m"),
                    Step::Unlock(0),
                    m("rtapp_loop: event=end thread_loop={loop0} phase=1 phase_loop=0"),
                ]
            ),
            Step::Exit,
        ]
    );
}

#[test]
fn timers_shared_unique_and_absolute() {
    let w = load(
        r#"{ "tasks": {
            "a": { "instance": 2, "phases": {
                "p": { "timer": { "ref": "unique", "period": 1000 } },
                "q": { "timer": { "ref": "uniqueB", "period": 2000, "mode": "absolute" } },
                "r": { "timer": { "ref": "tick", "period": 3000 } }
            } },
            "b": { "timer": { "ref": "tick", "period": 4000, "mode": "absolute" },
                   "timer2": { "ref": "unique", "period": 5000 } }
        } }"#,
    );
    assert_eq!(
        w.timers,
        [
            TimerDecl {
                name: "a:unique".into(),
                shared: false
            },
            TimerDecl {
                name: "a:uniqueB".into(),
                shared: false
            },
            TimerDecl {
                name: "tick".into(),
                shared: true
            },
            TimerDecl {
                name: "b:unique".into(),
                shared: false
            },
        ]
    );
    let t = |timer: usize, period: u64, absolute: bool| Step::Timer {
        timer,
        period: period * 1000,
        absolute,
    };
    // The mode belongs to the timer: b's absolute reference makes a's use of `tick` absolute.
    assert_eq!(
        prog(&w, "a"),
        [lp(
            None,
            vec![t(0, 1000, false), t(1, 2000, true), t(2, 3000, true)]
        )]
    );
    assert_eq!(
        prog(&w, "b"),
        [lp(None, vec![t(2, 4000, true), t(3, 5000, false)])]
    );
}

#[test]
fn barrier_parties_count_instances_per_reference() {
    let w = load(
        r#"{ "tasks": {
            "a": { "instance": 3, "run": 1, "barrier": "B" },
            "b": { "run": 2, "barrier": "B", "barrier2": "C" },
            "c": { "instance": 2, "phases": { "x": { "barrier": "C" }, "y": { "barrier": "C" } } }
        } }"#,
    );
    // rt-app adds the task's instance count for each barrier event naming the barrier.
    assert_eq!(
        w.barriers,
        [
            BarrierDecl {
                name: "B".into(),
                parties: 4
            },
            BarrierDecl {
                name: "C".into(),
                parties: 5
            }
        ]
    );
}

#[test]
fn suspend_resume_by_task_name_or_as_condition() {
    let w = load(
        r#"{ "tasks": {
            "a": { "run": 1, "resume": "b", "suspend": "a" },
            "b": { "run": 1, "resume": "a", "suspend": "" },
            "w1": { "suspend": "gate", "run": 1 },
            "w2": { "suspend": "gate", "run": 1 },
            "k": { "run": 1, "resume": "gate" }
        } }"#,
    );
    // Own-name suspends: Step::Suspend / Step::Resume(task). `""` means the own name.
    assert_eq!(
        prog(&w, "a"),
        [lp(
            None,
            vec![Step::Run(us(1)), Step::Resume(1), Step::Suspend]
        )]
    );
    assert_eq!(
        prog(&w, "b"),
        [lp(
            None,
            vec![Step::Run(us(1)), Step::Resume(0), Step::Suspend]
        )]
    );
    // Any other name: rt-app's condition variable and mutex of that name.
    assert_eq!(
        prog(&w, "w1"),
        [lp(
            None,
            vec![
                Step::Lock(0),
                Step::CondWait {
                    cond: 0,
                    mutex: Some(0)
                },
                Step::Unlock(0),
                Step::Run(us(1))
            ]
        )]
    );
    assert_eq!(
        prog(&w, "k"),
        [lp(
            None,
            vec![
                Step::Run(us(1)),
                Step::Lock(0),
                Step::CondBroadcast(0),
                Step::Unlock(0)
            ]
        )]
    );
    assert_eq!(
        w.conds,
        [SyncDecl {
            name: "gate".into(),
            initial: 0
        }]
    );
    assert_eq!(
        w.mutexes,
        [MutexDecl {
            name: "gate".into(),
            pi: false
        }]
    );
}

#[test]
fn wait_without_mutex_and_memrun_models() {
    let w = load(
        r#"{ "tasks": {
            "w": { "wait": { "ref": "c" }, "memrun": { "type": "chase", "size": 65536, "count": 2 } },
            "s": { "broad": "c", "memrun": { "size": 1048576, "pattern": "random", "stride": 128 } }
        } }"#,
    );
    assert_eq!(
        prog(&w, "w"),
        [lp(
            None,
            vec![
                Step::CondWait {
                    cond: 0,
                    mutex: None
                },
                Step::Run(Dur::Fixed(2 * 1024 * 4))
            ]
        )]
    );
    assert_eq!(
        prog(&w, "s"),
        [lp(
            None,
            vec![Step::CondBroadcast(0), Step::Run(Dur::Fixed(8192 * 4))]
        )]
    );
}

#[test]
fn key_paths_quote_dotted_names() {
    let e = parse_rtapp(
        "x.json",
        r#"{ "tasks": { "mp3.decoder": { "run": "x" } } }"#,
    )
    .unwrap_err();
    assert_eq!(e.key, r#"tasks."mp3.decoder".run"#);
}

#[test]
fn shared_suspend_on_a_task_name_is_a_condition() {
    // A task name another task also suspends on is a shared condition, not "resume task".
    let w = load(
        r#"{ "tasks": {
            "x": { "suspend": "x", "run": 1 },
            "y": { "suspend": "x", "run": 2 },
            "z": { "run": 3, "resume": "x" }
        } }"#,
    );
    let wait = vec![
        Step::Lock(0),
        Step::CondWait {
            cond: 0,
            mutex: Some(0),
        },
        Step::Unlock(0),
    ];
    assert_eq!(
        prog(&w, "x"),
        [lp(None, [wait.clone(), vec![Step::Run(us(1))]].concat())]
    );
    assert_eq!(
        prog(&w, "y"),
        [lp(None, [wait, vec![Step::Run(us(2))]].concat())]
    );
    assert_eq!(
        prog(&w, "z"),
        [lp(
            None,
            vec![
                Step::Run(us(3)),
                Step::Lock(0),
                Step::CondBroadcast(0),
                Step::Unlock(0)
            ]
        )]
    );
    // Also when the name is used as a plain mutex elsewhere (rt-app shares the name space).
    let w = load(
        r#"{ "tasks": {
            "x": { "suspend": "x", "run": 1 },
            "z": { "lock": "x", "resume": "x", "unlock": "x" }
        } }"#,
    );
    assert_eq!(
        prog(&w, "z"),
        [lp(
            None,
            vec![
                Step::Lock(0),
                Step::Lock(0),
                Step::CondBroadcast(0),
                Step::Unlock(0),
                Step::Unlock(0)
            ]
        )]
    );
}

#[test]
fn stats_line_carries_the_configured_sums() {
    // c_period: the phase's timer periods; c_run: its run and runtime durations (rt-app's
    // run_event adds them up as it goes).
    let w = load(
        r#"{ "global": { "ftrace": "stats" },
             "tasks": { "t": { "loop": 2, "phases": { "p": {
                 "run": 100, "runtime": 50, "sleep": 7,
                 "timer": { "ref": "a", "period": 1000 },
                 "timer1": { "ref": "b", "period": 3000 } } } } } }"#,
    );
    let body = match &prog(&w, "t")[0] {
        Step::Loop { body, .. } => body.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(body[0], Step::Marker(stats::BEGIN.into()));
    assert_eq!(
        body.last().unwrap(),
        &Step::Marker(
            "rtapp_stats: period={stats.period} run={stats.run} wu_lat={stats.wu_lat} \
             slack={stats.slack} c_period=4000 c_run=150"
                .into()
        )
    );
    assert!(!body.contains(&Step::Marker(stats::NOT_RUN.into())));
}

#[test]
fn a_delayed_thread_with_a_timer_marks_its_timer_origin() {
    // rt-app's t_first = t_zero + delay is the origin of the timers the thread uses first.
    let w = load(
        r#"{ "tasks": { "t": { "delay": 250, "loop": 1, "run": 1,
                               "timer": { "ref": "a", "period": 1000 } } } }"#,
    );
    let p = prog(&w, "t");
    assert_eq!(p[0], Step::Marker(origin::marker(250_000)));
    assert_eq!(p[1], Step::Sleep(us(250)));
}

/// rt-app's `log_notice` lines (the writes a reader of its output sees): the main thread's
/// `pLoad` and one name per thread it creates; a thread's "starting thread" after the
/// barrier, "Starting with <policy>" before its policy, "Locking pages" before
/// `mlockall`, and "Exiting" last.
#[test]
fn printed_lines_are_where_rt_app_prints_them() {
    let w = load(
        r#"{ "global": { "ftrace": "none", "lock_pages": true },
        "tasks": { "d": { "policy": "SCHED_DEADLINE", "dl-runtime": 1000, "dl-period": 10000,
                          "delay": 500, "loop": 1, "run": 1000 } } }"#,
    );
    assert_eq!(
        w.launcher_output,
        LauncherOutput {
            before_start: 0,
            after_start: 1,
            per_thread: 1
        }
    );
    let line = || Step::Marker(output::MARKER.into());
    let p = &w.tasks[0].program;
    let dl = match &p[4] {
        Step::SetAttr(a) if a.policy == Policy::Deadline => p[4].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        p[..7],
        [
            Step::Marker(start::MARKER.into()),
            line(),
            Step::Sleep(us(500)),
            line(),
            dl,
            line(),
            Step::Mlockall,
        ]
    );
    assert_eq!(p[p.len() - 2..], [line(), Step::Exit]);
    let lines = p.iter().filter(|s| **s == line()).count();
    assert_eq!(lines, 4);
}

#[test]
fn the_end_follows_the_loops_even_forever_ones() {
    let w = load(
        r#"{ "global": { "ftrace": "main,task" }, "tasks": {
            "forever": { "policy": "SCHED_FIFO", "priority": 5, "run": 1 },
            "twice": { "loop": 2, "run": 1 }
        } }"#,
    );
    let tail = |task: &str| {
        let p = &w.tasks.iter().find(|t| t.name == task).unwrap().program;
        let at = p
            .iter()
            .position(|s| *s == Step::Marker(end::MARKER.into()))
            .unwrap();
        (p[at - 1].clone(), p[at + 1..].to_vec())
    };
    // After a forever loop: where rt-app's shutdown sends the thread, back to SCHED_OTHER.
    let (before, end) = tail("forever");
    assert!(
        matches!(before, Step::Loop { count: None, .. }),
        "{before:?}"
    );
    assert_eq!(
        end,
        [
            Step::SetAttr(SchedAttr::default()),
            Step::Marker("rtapp_task: event=end".into()),
            Step::Marker(output::MARKER.into()),
            Step::Exit
        ]
    );
    // After a finite one: where its loops end too.
    let (before, end) = tail("twice");
    assert!(
        matches!(before, Step::Loop { count: Some(2), .. }),
        "{before:?}"
    );
    assert_eq!(
        end,
        [
            Step::Marker("rtapp_task: event=end".into()),
            Step::Marker(output::MARKER.into()),
            Step::Exit
        ]
    );
}
