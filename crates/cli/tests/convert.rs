//! `schedsim convert`: an rt-app workload converted to our TOML simulates identically. For
//! every oracle workload the simulator runs, and for generated rt-app files, `schedsim run
//! --trace` on the JSON and on the converted TOML give byte-identical traces.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn schedsim(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_schedsim"))
        .args(args)
        .output()
        .unwrap()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("schedsim-convert-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Convert `json`, run both files, compare the traces. `None` if the simulator refuses
/// the original (a feature it does not simulate yet), with its message.
fn same_trace(json: &Path, dir: &Path) -> Result<(), String> {
    let toml = dir.join("converted.toml");
    let out = schedsim(&[Path::new("convert"), json, Path::new("-o"), &toml]);
    assert!(
        out.status.success(),
        "convert {}: {}",
        json.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let (a, b) = (dir.join("json.trace"), dir.join("toml.trace"));
    let run = |input: &Path, trace: &Path| {
        schedsim(&[
            Path::new("run"),
            Path::new("-q"),
            Path::new("--duration"),
            Path::new("1s"),
            Path::new("--trace"),
            trace,
            input,
        ])
    };
    let ra = run(json, &a);
    if !ra.status.success() {
        return Err(String::from_utf8_lossy(&ra.stderr).into_owned());
    }
    let rb = run(&toml, &b);
    assert!(
        rb.status.success(),
        "{} runs but its conversion does not: {}\n{}",
        json.display(),
        String::from_utf8_lossy(&rb.stderr),
        std::fs::read_to_string(&toml).unwrap()
    );
    let (ta, tb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(!ta.is_empty());
    eprintln!("{}: {} trace bytes, identical", json.display(), ta.len());
    assert!(
        ta == tb,
        "{}: the converted workload traces differently\n{}",
        json.display(),
        std::fs::read_to_string(&toml).unwrap()
    );
    Ok(())
}

#[test]
fn oracle_workloads_trace_identically() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/oracle");
    if !dir.is_dir() {
        eprintln!("note: {} is absent; skipping", dir.display());
        return;
    }
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().join("workload.json"))
        .filter(|p| p.is_file())
        .collect();
    scenarios.sort();
    let tmp = tmpdir("oracle");
    let mut same = 0;
    for json in &scenarios {
        match same_trace(json, &tmp) {
            Ok(()) => same += 1,
            Err(e) => eprintln!(
                "note: skipping {}: the simulator refuses it: {}",
                json.display(),
                e.trim()
            ),
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(same >= 10, "only {same} oracle workloads ran");
}

/// xorshift64*: a small deterministic generator for the rt-app files.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A random rt-app file: several tasks of several instances, fair and real-time policies,
/// affinity, delays, loops and phases, every event kind the simulator runs (run, runtime,
/// sleep, shared and unique timers, locks, condition waits, semaphores, yield, fork,
/// suspend/resume), and the ftrace markers.
fn rtapp_json(seed: u64) -> String {
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let ntasks = 2 + r.below(3) as usize;
    let ftrace = ["main,task", "main,task,loop,event", "loop", "none"][r.below(4) as usize];
    let mut s = format!(
        "{{\n  \"global\": {{ \"duration\": 1, \"default_policy\": \"SCHED_OTHER\", \
         \"ftrace\": \"{ftrace}\", \"pi_enabled\": {} }},\n  \"tasks\": {{\n",
        r.chance(50)
    );
    for t in 0..ntasks {
        let _ = write!(s, "    \"t{t}\": {{ \"instance\": {}", 1 + r.below(2));
        match r.below(4) {
            0 => {
                let _ = write!(
                    s,
                    ", \"policy\": \"SCHED_FIFO\", \"priority\": {}",
                    1 + r.below(50)
                );
            }
            1 => {
                let _ = write!(s, ", \"policy\": \"SCHED_RR\"");
            }
            2 => {
                let _ = write!(s, ", \"priority\": {}", r.below(11) as i64 - 5);
            }
            _ => {}
        }
        if r.chance(40) {
            let _ = write!(s, ", \"cpus\": [{}]", r.below(2));
        }
        if r.chance(30) {
            let _ = write!(s, ", \"delay\": {}", 100 * r.below(50));
        }
        let _ = write!(
            s,
            ", \"loop\": {}",
            if r.chance(50) {
                -1
            } else {
                1 + r.below(20) as i64
            }
        );
        s.push_str(", \"phases\": {");
        let nphases = 1 + r.below(3);
        for p in 0..nphases {
            let _ = write!(
                s,
                "{} \"p{p}\": {{ \"loop\": {}",
                if p > 0 { "," } else { "" },
                1 + r.below(3)
            );
            if p > 0 && r.chance(30) {
                let _ = write!(s, ", \"priority\": {}", r.below(5));
            }
            let _ = write!(s, ", \"run0\": {}", 100 + r.below(3000));
            if t == 0 && p == 0 {
                // Every waiter must have a waker: task 0 wakes them all in its first phase.
                s.push_str(
                    ", \"sem_post0\": \"s\", \"resume0\": \"t1\", \"lock0\": \"m\", \
                            \"signal0\": \"c\", \"unlock0\": \"m\", \"sleep0\": 1000",
                );
            }
            for e in 1..1 + r.below(5) {
                let ev = match (t, r.below(10)) {
                    (0, 0) => format!("\"sem_post{e}\": \"s\""),
                    (_, 0) => format!("\"sem_wait{e}\": \"s\""),
                    (0, 1) => {
                        format!("\"lock{e}\": \"m\", \"signal{e}\": \"c\", \"unlock{e}\": \"m\"")
                    }
                    (_, 1) => format!(
                        "\"lock{e}\": \"m\", \"wait{e}\": {{ \"ref\": \"c\", \"mutex\": \"m\" }}, \
                         \"unlock{e}\": \"m\""
                    ),
                    (_, 2) => format!("\"runtime{e}\": {}", 100 + r.below(2000)),
                    (_, 3) => format!("\"sleep{e}\": {}", 100 + r.below(5000)),
                    (_, 4) => format!(
                        "\"timer{e}\": {{ \"ref\": \"{}\", \"period\": {}, \"mode\": \"{}\" }}",
                        if r.chance(50) { "unique" } else { "tick" },
                        5000 * (1 + r.below(4)),
                        if r.chance(50) { "absolute" } else { "relative" }
                    ),
                    (_, 5) => format!("\"yield{e}\": \"\""),
                    (_, 6) if r.chance(30) => format!("\"fork{e}\": \"child\""),
                    (0, 7) => format!("\"resume{e}\": \"t1\""),
                    (1, 7) => format!("\"suspend{e}\": \"t1\""),
                    _ => format!("\"run{e}\": {}", 100 + r.below(3000)),
                };
                let _ = write!(s, ", {ev}");
            }
            s.push_str(" }");
        }
        s.push_str(" } },\n");
    }
    s.push_str(
        "    \"child\": { \"instance\": 0, \"loop\": 2, \"run\": 700, \"sleep\": 300 }\n  }\n}\n",
    );
    s
}

#[test]
fn generated_rtapp_workloads_trace_identically() {
    let tmp = tmpdir("gen");
    let mut ran = 0;
    for seed in 1..=8 {
        let json = tmp.join(format!("gen{seed}.json"));
        std::fs::write(&json, rtapp_json(seed)).unwrap();
        // A generated file the importer refuses is a bug in the generator.
        let check = schedsim(&[Path::new("convert"), &json]);
        assert!(
            check.status.success(),
            "seed {seed}: {}\n{}",
            String::from_utf8_lossy(&check.stderr),
            rtapp_json(seed)
        );
        match same_trace(&json, &tmp) {
            Ok(()) => ran += 1,
            Err(e) => panic!(
                "seed {seed}: the simulator refuses it: {e}\n{}",
                rtapp_json(seed)
            ),
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(ran, 8);
}

#[test]
fn convert_writes_stdout_or_file_and_refuses_what_toml_cannot_say() {
    let tmp = tmpdir("cli");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sync.toml");
    let out = schedsim(&[Path::new("convert"), &example]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("# Converted from sync.toml by `schedsim convert`"));
    let file = tmp.join("sync.toml");
    let out = schedsim(&[Path::new("convert"), &example, Path::new("-o"), &file]);
    assert!(out.status.success() && out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    // Converting the converted file gives it back.
    let again = schedsim(&[Path::new("convert"), &file]);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), text);

    // A forever loop in which no time passes: rt-app runs it, our format refuses it.
    let spin = tmp.join("spin.json");
    std::fs::write(
        &spin,
        r#"{ "global": { "duration": 1 }, "tasks": { "t": { "loop": -1, "yield": "" } } }"#,
    )
    .unwrap();
    let toml = tmp.join("spin.toml");
    let out = schedsim(&[Path::new("convert"), &spin, Path::new("-o"), &toml]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot be written exactly") && err.contains("loops forever"),
        "{err}"
    );
    assert!(!toml.exists(), "nothing is written on failure");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn taskgroups_convert_to_declared_groups() {
    let tmp = tmpdir("groups");
    let json = tmp.join("groups.json");
    std::fs::write(
        &json,
        r#"{ "global": { "duration": 1 }, "tasks": {
            "a": { "taskgroup": "/A", "run": 1000 },
            "b": { "phases": { "p": { "taskgroup": "/B/inner", "run": 1000 } } } } }"#,
    )
    .unwrap();
    let toml = tmp.join("groups.toml");
    let out = schedsim(&[Path::new("convert"), &json, Path::new("-o"), &toml]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&toml).unwrap();
    // rt-app creates its taskgroups: empty tables declare them, with default settings.
    assert!(
        text.contains("\n[cgroup.\"/A\"]\n\n[cgroup.\"/B/inner\"]\n"),
        "{text}"
    );
    let again = schedsim(&[Path::new("convert"), &toml]);
    assert!(again.status.success());
    assert!(String::from_utf8(again.stdout)
        .unwrap()
        .ends_with(&text[text.find('\n').unwrap()..]));
    let _ = std::fs::remove_dir_all(&tmp);
}
