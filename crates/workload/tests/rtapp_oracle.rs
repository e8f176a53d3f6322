//! Every workload of the real-kernel reference (`shared/oracle/*/workload.json`) imports, and
//! the ones whose mapping matters most give exactly the expected programs.

use std::path::PathBuf;

mod common;

use schedsim_workload::rtapp::{self, load_rtapp};
use schedsim_workload::*;

/// Task `i`'s program (`common::thread_body`).
fn body(w: &Workload, i: usize) -> Vec<Step> {
    common::thread_body(&w.tasks[i].program)
}

fn oracle_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/oracle");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "note: {} is absent; skipping the oracle workloads",
            dir.display()
        );
        None
    }
}

fn load(scenario: &str) -> Option<Workload> {
    let path = oracle_dir()?.join(scenario).join("workload.json");
    Some(load_rtapp(&path).unwrap_or_else(|e| panic!("{e}")))
}

fn forever(body: Vec<Step>) -> Step {
    Step::Loop { count: None, body }
}

fn run_ms(ms: u64) -> Step {
    Step::Run(Dur::Fixed(ms * 1_000_000))
}

const START: &str = "rtapp_task: event=start";

#[test]
fn every_oracle_workload_loads() {
    let Some(dir) = oracle_dir() else { return };
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for d in entries {
        let path = d.join("workload.json");
        if !path.is_file() {
            continue;
        }
        let w = load_rtapp(&path).unwrap_or_else(|e| panic!("{e}"));
        // All of them: 3 s, "main,task" markers, started by rt-app.
        assert_eq!(w.duration, Some(3_000_000_000), "{}", path.display());
        assert_eq!(
            w.ftrace_markers,
            Markers {
                main: true,
                task: true,
                ..Markers::default()
            }
        );
        assert_eq!(w.launcher_comm, "rt-app");
        for t in &w.tasks {
            assert_eq!(t.naming, Naming::RtApp);
            assert_eq!(
                t.program[..3],
                [
                    Step::Marker(rtapp::start::MARKER.into()),
                    Step::Marker(rtapp::output::MARKER.into()),
                    Step::Marker(START.into())
                ],
                "{}",
                path.display()
            );
        }
        n += 1;
    }
    assert!(n >= 14, "only {n} scenarios found in {}", dir.display());
}

#[test]
fn nice_pair_pinned() {
    let Some(w) = load("01_nice_pair_pinned") else {
        return;
    };
    let pinned = |nice: i32| {
        let mut p = vec![Step::Marker(START.into())];
        if nice != 0 {
            p.push(Step::SetAttr(SchedAttr {
                nice,
                ..SchedAttr::default()
            }));
        }
        p.push(Step::SetAffinity(Some(vec![0])));
        p.push(forever(vec![run_ms(10)]));
        p
    };
    assert_eq!(body(&w, 0), pinned(0));
    assert_eq!(body(&w, 1), pinned(5));
}

#[test]
fn periodic_vs_hog_uses_a_per_thread_timer() {
    let Some(w) = load("04_periodic_vs_hog") else {
        return;
    };
    assert_eq!(
        body(&w, 0),
        [
            Step::Marker(START.into()),
            Step::SetAffinity(Some(vec![0])),
            forever(vec![
                run_ms(2),
                Step::Timer {
                    timer: 0,
                    period: 10_000_000,
                    absolute: false
                }
            ]),
        ]
    );
    assert_eq!(
        w.timers,
        [TimerDecl {
            name: "per:unique".into(),
            shared: false
        }]
    );
}

#[test]
fn fifo_and_rr_threads_switch_policy_after_start() {
    let Some(w) = load("07_fifo_vs_cfs") else {
        return;
    };
    let fifo50 = SchedAttr {
        policy: Policy::Fifo,
        rt_priority: 50,
        ..SchedAttr::default()
    };
    assert_eq!(w.tasks[0].attr, SchedAttr::default());
    assert_eq!(body(&w, 0)[1], Step::SetAttr(fifo50));
    let Some(w) = load("12_rr_pair") else { return };
    assert_eq!(w.tasks[0].count, 2);
    let rr10 = SchedAttr {
        policy: Policy::Rr,
        rt_priority: 10,
        ..SchedAttr::default()
    };
    assert_eq!(body(&w, 0)[1], Step::SetAttr(rr10));
}

#[test]
fn deadline_task_is_not_pinned() {
    let Some(w) = load("14_dl_overrun") else {
        return;
    };
    let dl = SchedAttr {
        policy: Policy::Deadline,
        runtime: 2_000_000,
        deadline: 10_000_000,
        period: 10_000_000,
        ..SchedAttr::default()
    };
    assert_eq!(
        body(&w, 0),
        [
            Step::Marker(START.into()),
            Step::SetAttr(dl),
            // The oracle's lock_pages: true.
            Step::Mlockall,
            forever(vec![run_ms(10)])
        ]
    );
    assert_eq!(w.tasks[1].count, 2);
}

#[test]
fn cgroup_scenarios_move_threads_into_their_taskgroup() {
    let Some(w) = load("15_cgroup_quota") else {
        return;
    };
    assert_eq!(
        body(&w, 0),
        [
            Step::Marker(START.into()),
            Step::SetCgroup("/oracle-q50".into()),
            forever(vec![run_ms(10)])
        ]
    );
    let groups = |w: &Workload| -> Vec<(String, u32)> {
        w.cgroups
            .iter()
            .map(|g| (g.path.clone(), g.loc.line))
            .collect()
    };
    assert_eq!(groups(&w), [("/oracle-q50".to_string(), 16)]);
    let Some(w) = load("16_cgroup_shares") else {
        return;
    };
    assert_eq!(w.tasks[1].count, 3);
    assert_eq!(
        body(&w, 1),
        [
            Step::Marker(START.into()),
            Step::SetCgroup("/oracle-B".into()),
            Step::SetAffinity(Some(vec![0])),
            forever(vec![run_ms(10)]),
        ]
    );
    assert_eq!(
        groups(&w),
        [("/oracle-A".to_string(), 18), ("/oracle-B".to_string(), 26)]
    );
}

#[test]
fn pingpong_uses_semaphores() {
    let Some(w) = load("19_pingpong_2cpu") else {
        return;
    };
    let half = Step::Run(Dur::Fixed(500_000));
    assert_eq!(
        body(&w, 0)[1],
        forever(vec![half.clone(), Step::SemPost(0), Step::SemWait(1)])
    );
    assert_eq!(
        body(&w, 1)[1],
        forever(vec![Step::SemWait(0), half, Step::SemPost(1)])
    );
    assert_eq!(
        w.sems,
        [
            SyncDecl {
                name: "to_pong".into(),
                initial: 0
            },
            SyncDecl {
                name: "to_ping".into(),
                initial: 0
            }
        ]
    );
}

#[test]
fn custom_slice_is_sched_runtime_on_sched_other() {
    let Some(w) = load("21_eevdf_custom_slice") else {
        return;
    };
    assert_eq!(
        body(&w, 0)[1],
        Step::SetAttr(SchedAttr {
            runtime: 10_000_000,
            ..SchedAttr::default()
        })
    );
    assert_eq!(body(&w, 1)[1], Step::SetAffinity(Some(vec![0])));
}
