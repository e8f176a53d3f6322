//! Random valid workload models — tasks with random attributes and nested programs of every
//! step kind, declarations in any order, used or not — round-trip through `to_toml` and
//! `parse_toml` to an equal model.

use proptest::prelude::*;
use schedsim_workload::toml::{to_toml, without_locations};
use schedsim_workload::*;

/// Objects of each kind (indices 0..N are valid in steps).
const N: usize = 3;
/// Random tasks; one more, the poster, posts every semaphore and broadcasts every condition
/// so that no wait is unsatisfiable (the parser refuses those).
const TASKS: usize = 3;

fn nanos() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => (0u64..50).prop_map(|n| n * 1_000_000),
        2 => (0u64..5000).prop_map(|n| n * 1_000),
        2 => 0u64..2_000_000_000_000,
        1 => Just(u64::MAX),
    ]
}

fn pos_nanos() -> impl Strategy<Value = u64> {
    nanos().prop_map(|n| n.max(1))
}

fn dur() -> impl Strategy<Value = Dur> {
    prop_oneof![
        3 => nanos().prop_map(Dur::Fixed),
        1 => (nanos(), nanos()).prop_map(|(a, b)| Dur::Uniform { lo: a.min(b), hi: a.max(b) }),
        1 => pos_nanos().prop_map(|mean| Dur::Exponential { mean }),
        1 => (nanos(), nanos()).prop_map(|(mean, stddev)| Dur::Normal { mean, stddev }),
        1 => (nanos(), nanos()).prop_map(|(mean, stddev)| Dur::LogNormal { mean, stddev }),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    prop::sample::select(vec![
        Policy::Normal,
        Policy::Batch,
        Policy::Idle,
        Policy::Fifo,
        Policy::Rr,
        Policy::Deadline,
        Policy::Ext,
    ])
}

/// Any `sched_attr` a `SetAttr` step may carry (the kernel judges it at run time).
fn any_attr() -> impl Strategy<Value = SchedAttr> {
    (
        policy(),
        -20i32..20,
        0u32..100,
        prop::option::of(nanos()),
        prop::option::of(nanos()),
        prop::option::of(nanos()),
        0u64..8,
    )
        .prop_map(|(policy, nice, rt_priority, r, d, p, flags)| SchedAttr {
            policy,
            nice,
            rt_priority,
            runtime: r.unwrap_or(0),
            deadline: d.unwrap_or(0),
            period: p.unwrap_or(0),
            flags,
        })
}

/// A task's initial attributes, as the task keys can say them (valid for the policy).
fn task_attr() -> impl Strategy<Value = SchedAttr> {
    (
        policy(),
        -20i32..20,
        1u32..100,
        prop::option::of(pos_nanos()),
        pos_nanos(),
        pos_nanos(),
        pos_nanos(),
        0u64..8,
    )
        .prop_map(|(policy, nice, prio, slice, a, b, c, flags)| {
            let mut attr = SchedAttr {
                policy,
                flags,
                ..SchedAttr::default()
            };
            match policy {
                Policy::Fifo | Policy::Rr => attr.rt_priority = prio,
                Policy::Deadline => {
                    let mut v = [a, b, c];
                    v.sort_unstable();
                    (attr.runtime, attr.deadline, attr.period) = (v[0], v[1], v[2]);
                }
                _ => {
                    attr.nice = nice;
                    attr.runtime = slice.unwrap_or(0);
                }
            }
            attr
        })
}

fn cpus() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::btree_set(prop_oneof![4 => 0u32..16, 1 => 0u32..8192], 1..6)
        .prop_map(|s| s.into_iter().collect())
}

fn cgroup() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["/", "/web", "/a/b-c.d"]).prop_map(String::from)
}

fn marker_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z =:{}0-9]{0,20}[a-z]",
        "\\PC{0,12}",
        "[ \t\"'\\\\#\n\u{7f}é]{0,6}",
    ]
}

fn leaf() -> impl Strategy<Value = Step> {
    let i = 0..N;
    prop_oneof![
        dur().prop_map(Step::Run),
        dur().prop_map(Step::RunWall),
        dur().prop_map(Step::Sleep),
        (i.clone(), pos_nanos(), any::<bool>()).prop_map(|(timer, period, absolute)| {
            Step::Timer {
                timer,
                period,
                absolute,
            }
        }),
        i.clone().prop_map(Step::SemPost),
        i.clone().prop_map(Step::SemWait),
        i.clone().prop_map(Step::CondSignal),
        i.clone().prop_map(Step::CondBroadcast),
        (i.clone(), prop::option::of(i.clone()))
            .prop_map(|(cond, mutex)| Step::CondWait { cond, mutex }),
        (i.clone(), prop::option::of(i.clone()))
            .prop_map(|(cond, mutex)| Step::CondSync { cond, mutex }),
        i.clone().prop_map(Step::Lock),
        i.clone().prop_map(Step::Unlock),
        i.prop_map(Step::Barrier),
        Just(Step::Suspend),
        (0..TASKS + 1).prop_map(Step::Resume),
        Just(Step::Yield),
        (0..TASKS + 1).prop_map(Step::Fork),
        Just(Step::Exit),
        any_attr().prop_map(Step::SetAttr),
        prop::option::of(cpus()).prop_map(Step::SetAffinity),
        cgroup().prop_map(Step::SetCgroup),
        Just(Step::Setsid),
        marker_text().prop_map(Step::Marker),
    ]
}

/// A forever loop must let time pass (the parser refuses one that spins at an instant).
fn work() -> Step {
    Step::Run(Dur::Fixed(1_000_000))
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = leaf().prop_recursive(3, 24, 4, |inner| {
        (
            prop::option::of(1u64..6),
            prop::collection::vec(inner, 1..4),
        )
            .prop_map(|(count, mut body)| {
                if count.is_none() {
                    body.insert(0, work());
                }
                Step::Loop { count, body }
            })
    });
    prop::collection::vec(step, 1..7)
}

/// The shapes a task's program takes: repeated forever, N times, ending in exit, or as is.
fn program() -> impl Strategy<Value = Vec<Step>> {
    (0u8..4, steps(), 1u64..4).prop_map(|(shape, mut body, n)| match shape {
        0 => {
            body.insert(0, work());
            vec![Step::Loop { count: None, body }]
        }
        1 => vec![Step::Loop {
            count: Some(n),
            body,
        }],
        2 => {
            body.push(Step::Exit);
            body
        }
        _ => body,
    })
}

fn task(i: usize) -> impl Strategy<Value = TaskSpec> {
    (
        if i == 0 { 1u32..4 } else { 0u32..4 },
        task_attr(),
        prop::option::of(cpus()),
        (prop::option::of(cgroup()), prop::option::of(0..N)),
        prop_oneof![2 => Just(0u64), 1 => nanos()],
        program(),
        any::<bool>(),
    )
        .prop_map(
            move |(count, attr, affinity, (cgroup, session), start_delay, program, rtapp)| {
                TaskSpec {
                    name: format!("task{i}"),
                    count,
                    attr,
                    affinity,
                    cgroup,
                    session,
                    start_delay,
                    program,
                    naming: if rtapp { Naming::RtApp } else { Naming::Plain },
                    loc: Loc::default(),
                }
            },
        )
}

fn poster() -> TaskSpec {
    let mut body = vec![Step::Sleep(Dur::Fixed(1_000_000))];
    body.extend((0..N).map(Step::SemPost));
    body.extend((0..N).map(Step::CondBroadcast));
    TaskSpec {
        name: "poster".into(),
        count: 1,
        attr: SchedAttr::default(),
        affinity: None,
        cgroup: None,
        session: None,
        start_delay: 0,
        program: vec![Step::Loop { count: None, body }],
        naming: Naming::Plain,
        loc: Loc::default(),
    }
}

/// Sysctls, and cgroup tables in any order: declared groups with 0 or more files, the root's
/// files (the root is never declared).
fn settings() -> impl Strategy<Value = (Vec<Setting>, Vec<CgroupDecl>, Vec<CgroupSetting>)> {
    let value = prop_oneof!["-?[0-9]{1,6}", "[A-Za-z_ 0-9\"\\\\]{0,12}", "0[0-9]"];
    (
        prop::collection::btree_map("[a-z_./]{1,12}", value.clone(), 0..4),
        prop::collection::btree_map(
            cgroup(),
            prop::collection::btree_map("[a-z]{1,4}\\.[a-z_]{1,6}", value, 0..3),
            0..3,
        )
        .prop_map(|m| m.into_iter().collect::<Vec<_>>())
        .prop_shuffle(),
    )
        .prop_map(|(sys, groups)| {
            let sysctls = sys
                .into_iter()
                .map(|(name, value)| Setting {
                    name,
                    value,
                    loc: Loc::default(),
                })
                .collect();
            let decls = groups
                .iter()
                .filter(|(path, _)| path != "/")
                .map(|(path, _)| CgroupDecl {
                    path: path.clone(),
                    loc: Loc::default(),
                })
                .collect();
            let cgs = groups
                .into_iter()
                .flat_map(|(path, files)| {
                    files.into_iter().map(move |(file, value)| CgroupSetting {
                        path: path.clone(),
                        file,
                        value,
                        loc: Loc::default(),
                    })
                })
                .collect();
            (sysctls, decls, cgs)
        })
}

fn workload() -> impl Strategy<Value = Workload> {
    let decls = (
        prop::collection::vec(0u32..3, N),
        prop::collection::vec(any::<bool>(), N),
        prop::collection::vec(1u32..6, N),
        prop::collection::vec(any::<bool>(), N),
        prop::collection::vec(prop_oneof![Just(0i32), -20i32..20], N),
    );
    let top = (
        prop::option::of(pos_nanos()),
        prop::sample::select(vec!["schedsim", "rt-app", "my launcher"]),
        prop::collection::vec(any::<bool>(), 5),
        prop::option::of(1u64..100),
        (0u32..3, 0u32..3, 0u32..3),
    );
    ((task(0), task(1), task(2)), decls, top, settings()).prop_map(
        |(
            (t0, t1, t2),
            (initial, pi, parties, shared, nices),
            (duration, launcher, m, calibration_ns, (before_start, after_start, per_thread)),
            (sysctls, cgroups, cgroup_files),
        )| {
            Workload {
                source: "gen".into(),
                duration,
                tasks: vec![t0, t1, t2, poster()],
                sems: initial
                    .iter()
                    .enumerate()
                    .map(|(i, &initial)| SyncDecl {
                        name: format!("s{i}"),
                        initial,
                    })
                    .collect(),
                conds: (0..N)
                    .map(|i| SyncDecl {
                        name: format!("c{i}"),
                        initial: 0,
                    })
                    .collect(),
                mutexes: pi
                    .iter()
                    .enumerate()
                    .map(|(i, &pi)| MutexDecl {
                        name: format!("m{i}"),
                        pi,
                    })
                    .collect(),
                barriers: parties
                    .iter()
                    .enumerate()
                    .map(|(i, &parties)| BarrierDecl {
                        name: format!("b.{i}"),
                        parties,
                    })
                    .collect(),
                timers: shared
                    .iter()
                    .enumerate()
                    .map(|(i, &shared)| TimerDecl {
                        name: format!("t:{i}"),
                        shared,
                    })
                    .collect(),
                sysctls,
                cgroups,
                cgroup_files,
                sessions: nices
                    .iter()
                    .enumerate()
                    .map(|(i, &nice)| SessionDecl {
                        name: format!("sess-{i}"),
                        nice,
                    })
                    .collect(),
                launcher_comm: launcher.into(),
                ftrace_markers: Markers {
                    main: m[0],
                    task: m[1],
                    looping: m[2],
                    event: m[3],
                    stats: m[4],
                },
                calibration_ns,
                launcher_output: LauncherOutput {
                    before_start,
                    after_start,
                    per_thread,
                },
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_models_round_trip(w in workload()) {
        let text = to_toml(&w);
        let back = parse_toml("written.toml", &text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(without_locations(&back), without_locations(&w), "{}", text);
    }
}
