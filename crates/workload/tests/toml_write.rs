//! `to_toml` round-trips: every workload we can read — the oracle's rt-app files, the
//! Debian rt-app examples, our TOML examples — written as TOML and parsed again is the same
//! model (everything but the source name and line:column locations).

use std::path::{Path, PathBuf};

use schedsim_workload::rtapp::load_rtapp;
use schedsim_workload::toml::{to_toml, without_locations};
use schedsim_workload::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Write `w`, parse it back, and require the same model; returns the text.
fn round_trip(w: &Workload, what: &str) -> String {
    let text = to_toml(w);
    let back = parse_toml("written.toml", &text)
        .unwrap_or_else(|e| panic!("{what}: the written TOML does not parse: {e}\n{text}"));
    assert_eq!(
        without_locations(&back),
        without_locations(w),
        "{what}: the model changed through TOML:\n{text}"
    );
    // Writing is a fixed point: the re-read model writes the same text.
    assert_eq!(to_toml(&back), text, "{what}");
    text
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
        .collect();
    v.sort();
    v
}

#[test]
fn oracle_workloads_round_trip() {
    let dir = root().join("../shared/oracle");
    if !dir.is_dir() {
        eprintln!(
            "note: {} is absent; skipping the oracle workloads",
            dir.display()
        );
        return;
    }
    let mut n = 0;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for d in dirs {
        let path = d.join("workload.json");
        if !path.is_file() {
            continue;
        }
        let w = load_rtapp(&path).unwrap_or_else(|e| panic!("{e}"));
        round_trip(&w, &path.display().to_string());
        n += 1;
    }
    assert!(n >= 14, "only {n} oracle workloads");
}

#[test]
fn rtapp_examples_round_trip() {
    let dir = root().join("crates/workload/tests/data/rtapp-examples");
    let mut stack = vec![dir];
    let (mut ok, mut refused) = (0, 0);
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().and_then(|e| e.to_str()) == Some("json") {
                match load_rtapp(&p) {
                    Ok(w) => {
                        round_trip(&w, &p.display().to_string());
                        ok += 1;
                    }
                    // Files the importer refuses (as rt-app does) have no model to write.
                    Err(_) => refused += 1,
                }
            }
        }
    }
    eprintln!("{ok} rt-app examples round-trip, {refused} are refused by the importer");
    assert!(ok >= 8, "only {ok} examples import");
}

#[test]
fn toml_examples_round_trip() {
    let mut paths = files(&root().join("examples"), "toml");
    paths.extend(files(&root().join("examples/oracle"), "toml"));
    assert!(paths.len() >= 8);
    for p in paths {
        let w = load_toml(&p).unwrap_or_else(|e| panic!("{e}"));
        round_trip(&w, &p.display().to_string());
    }
}

#[test]
fn short_forms_stay_short() {
    let src = "[[task]]\nname = \"hog\"\nrun = \"10ms\"\n";
    let w = parse_toml("a.toml", src).unwrap();
    assert_eq!(round_trip(&w, "hog"), src);

    let src = r#"duration = "1s"

[[task]]
name = "per"
count = 2
policy = "fifo"
priority = 10
affinity = [0, 2]
program = ["run 2ms", "timer 10ms", "policy rr 5", "nice 3", "policy deadline 1ms 5ms"]
"#;
    let w = parse_toml("a.toml", src).unwrap();
    assert_eq!(round_trip(&w, "per"), src);
}

#[test]
fn exact_forms() {
    // A model no short form gives: the writer must use setattr, { marker }, loop = "once",
    // private named timers and declarations.
    let attr = SchedAttr {
        policy: Policy::Fifo,
        nice: 5,
        rt_priority: 0,
        runtime: 7,
        deadline: 0,
        period: 3,
        flags: 5,
    };
    let w = Workload {
        duration: Some(1_500_000_001),
        launcher_comm: "rt-app".into(),
        ftrace_markers: Markers {
            main: true,
            looping: true,
            stats: true,
            ..Markers::default()
        },
        tasks: vec![TaskSpec {
            name: "t".into(),
            count: 3,
            attr: SchedAttr::default(),
            affinity: Some(vec![0, 1, 2, 3, 9]),
            cgroup: Some("/a/b".into()),
            session: None,
            start_delay: 1,
            program: vec![
                Step::Marker(" lead and trail \"q\" \\ ".into()),
                Step::Marker(String::new()),
                Step::SetAttr(attr),
                Step::Timer {
                    timer: 1,
                    period: 10,
                    absolute: false,
                },
                Step::Timer {
                    timer: 1,
                    period: 10,
                    absolute: true,
                },
                Step::Timer {
                    timer: 0,
                    period: 10,
                    absolute: true,
                },
                Step::CondSync {
                    cond: 1,
                    mutex: Some(0),
                },
                Step::CondWait {
                    cond: 1,
                    mutex: None,
                },
                Step::Loop {
                    count: None,
                    body: vec![Step::Run(Dur::Normal { mean: 3, stddev: 1 })],
                },
            ],
            naming: Naming::RtApp,
            loc: Loc::default(),
        }],
        sems: vec![SyncDecl {
            name: "s".into(),
            initial: 2,
        }],
        conds: vec![
            SyncDecl {
                name: "unused".into(),
                initial: 0,
            },
            SyncDecl {
                name: "c".into(),
                initial: 0,
            },
        ],
        mutexes: vec![MutexDecl {
            name: "m".into(),
            pi: true,
        }],
        barriers: vec![BarrierDecl {
            name: "b".into(),
            parties: 7,
        }],
        timers: vec![
            TimerDecl {
                name: "shared".into(),
                shared: true,
            },
            TimerDecl {
                name: "t:unique".into(),
                shared: false,
            },
        ],
        sysctls: vec![Setting {
            name: "sched/features".into(),
            value: "NO_PLACE_LAG".into(),
            loc: Loc::default(),
        }],
        cgroups: vec![CgroupDecl {
            path: "/a/b".into(),
            loc: Loc::default(),
        }],
        cgroup_files: vec![CgroupSetting {
            path: "/a/b".into(),
            file: "cpu.max".into(),
            value: "50000 100000".into(),
            loc: Loc::default(),
        }],
        ..Workload::default()
    };
    let text = round_trip(&w, "exact");
    for needle in [
        "launcher = \"rt-app\"",
        "naming = \"rt-app\"",
        "markers = [\"main\", \"loop\", \"stats\"]",
        "cond = [\"unused\"]",
        "loop = \"once\"",
        "setattr fifo nice=5 runtime=7ns period=3ns flags=reset_on_fork,dl_overrun",
        "timer 10ns t:unique relative private",
        "{ marker = \"\" }",
        "[timer]",
    ] {
        assert!(text.contains(needle), "no `{needle}` in:\n{text}");
    }
}

#[test]
fn declared_cgroups_round_trip() {
    let decl = |path: &str| CgroupDecl {
        path: path.into(),
        loc: Loc::default(),
    };
    let file = |path: &str, file: &str, value: &str| CgroupSetting {
        path: path.into(),
        file: file.into(),
        value: value.into(),
        loc: Loc::default(),
    };
    let mut w = parse_toml("t.toml", "[[task]]\nname = \"t\"\nrun = \"1ms\"\n").unwrap();
    // Declared without files, before and after groups with files, and the root's files
    // (never declared) between them.
    w.cgroups = vec![decl("/empty"), decl("/web"), decl("/web/child"), decl("/q")];
    w.cgroup_files = vec![
        file("/web", "cpu.weight", "200"),
        file("/", "cpu.weight", "50"),
        file("/q", "cpu.cfs_quota_us", "50000"),
    ];
    let text = round_trip(&w, "declared groups");
    let tables: Vec<&str> = text.lines().filter(|l| l.starts_with("[cgroup.")).collect();
    assert_eq!(
        tables,
        [
            "[cgroup.\"/empty\"]",
            "[cgroup.\"/web\"]",
            "[cgroup.\"/web/child\"]",
            "[cgroup.\"/\"]",
            "[cgroup.\"/q\"]"
        ],
        "{text}"
    );
}

fn task_with(program: &str) -> String {
    format!("[[task]]\nname = \"t\"\nprogram = {program}\n")
}

fn error(text: &str) -> WorkloadError {
    match parse_toml("e.toml", text) {
        Ok(w) => panic!("accepted:\n{text}\n{w:?}"),
        Err(e) => e,
    }
}

#[test]
fn rtapp_keys_and_exact_steps_parse() {
    let w = parse_toml(
        "a.toml",
        r#"launcher = "rt-app"
naming = "rt-app"
markers = ["task", "event"]
cond = ["later", "go"]

[[task]]
name = "t"
naming = "plain"
loop = "once"
program = [
  { marker = "  spaced " },
  "setattr batch nice=3 runtime=2ms flags=reclaim",
  "nice 4",
  "timer 10ms own private",
  "timer 10ms own relative private",
  "signal go",
  "run 1ms",
]

[timer]
early = "shared"
"#,
    )
    .unwrap();
    assert_eq!(w.launcher_comm, "rt-app");
    assert_eq!(w.tasks[0].naming, Naming::Plain);
    assert!(w.ftrace_markers.task && w.ftrace_markers.event && !w.ftrace_markers.main);
    assert_eq!(
        w.conds.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["later", "go"]
    );
    assert_eq!(
        w.timers,
        [
            TimerDecl {
                name: "early".into(),
                shared: true
            },
            TimerDecl {
                name: "own".into(),
                shared: false
            }
        ]
    );
    let p = &w.tasks[0].program;
    assert_eq!(p.len(), 7, "loop = \"once\" adds no loop: {p:?}");
    assert_eq!(p[0], Step::Marker("  spaced ".into()));
    let set = SchedAttr {
        policy: Policy::Batch,
        nice: 3,
        runtime: 2_000_000,
        flags: 2,
        ..SchedAttr::default()
    };
    assert_eq!(p[1], Step::SetAttr(set));
    // `nice` builds on what setattr set.
    assert_eq!(p[2], Step::SetAttr(SchedAttr { nice: 4, ..set }));
    assert!(matches!(
        p[3],
        Step::Timer {
            timer: 1,
            absolute: true,
            ..
        }
    ));
    assert!(matches!(
        p[4],
        Step::Timer {
            timer: 1,
            absolute: false,
            ..
        }
    ));
}

#[test]
fn rtapp_keys_and_exact_steps_errors() {
    let cases: &[(&str, &str)] = &[
        (
            &task_with(r#"["timer 10ms private"]"#),
            "`private` needs a timer name",
        ),
        (
            &task_with(r#"["timer 10ms a", "timer 10ms a private"]"#),
            "timer `a` is shared elsewhere, private here",
        ),
        (
            &task_with(r#"["setattr fifo prio=3", "run 1ms"]"#),
            "unknown setattr field `prio`",
        ),
        (
            &task_with(r#"["setattr normal nice=30", "run 1ms"]"#),
            "`30` is not a nice value",
        ),
        (
            &task_with(r#"["setattr normal nice", "run 1ms"]"#),
            "expected key=value",
        ),
        (
            &task_with(r#"["setattr", "run 1ms"]"#),
            "`setattr` needs a policy name",
        ),
        (
            &task_with(r#"["setattr normal flags=fast", "run 1ms"]"#),
            "unknown flag `fast`",
        ),
        (
            &task_with(r#"[{ marker = "x", loop = 2 }]"#),
            "unknown key `loop`",
        ),
        (
            &task_with(r#"[{ marker = 3 }]"#),
            "expected the marker text",
        ),
        (
            &format!("naming = \"kernel\"\n{}", task_with("\"run 1ms\"")),
            "unknown naming `kernel`",
        ),
        (
            &format!("markers = [\"all\"]\n{}", task_with("\"run 1ms\"")),
            "unknown marker category `all`",
        ),
        (
            &format!("launcher = \"\"\n{}", task_with("\"run 1ms\"")),
            "the launcher needs a name",
        ),
        (
            &format!("cond = [\"a b\"]\n{}", task_with("\"run 1ms\"")),
            "names are one word",
        ),
        (
            &format!("{}[timer]\nx = \"mine\"\n", task_with("\"run 1ms\"")),
            "unknown timer kind `mine`",
        ),
    ];
    for (text, msg) in cases {
        let e = error(text);
        assert!(e.message.contains(msg), "{e}\nwanted: {msg}\nin:\n{text}");
        assert!(e.hint.is_some(), "no hint: {e}");
    }
    let e = error("[[task]]\nname = \"t\"\nrun = \"1ms\"\nloop = true\n");
    assert!(e.hint.unwrap().contains("\"once\""));
}

#[test]
fn sessions_round_trip_declared_only_when_needed() {
    // Sessions met in index order with nice 0 need no table; a nice value does.
    let src = "[[task]]\nname = \"a\"\nsession = \"web\"\nprogram = [\"run 1ms\", \"setsid\"]\n\n\
               [[task]]\nname = \"b\"\nsession = \"build\"\nrun = \"1ms\"\n";
    let w = parse_toml("a.toml", src).unwrap();
    assert_eq!(round_trip(&w, "plain sessions"), src);
    let mut niced = w.clone();
    niced.sessions[1].nice = -3;
    let text = round_trip(&niced, "a niced session");
    assert!(
        text.contains("[session.web]\nnice = 0\n\n[session.build]\nnice = -3\n"),
        "{text}"
    );
}
