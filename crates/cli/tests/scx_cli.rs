//! `schedsim run --scx`: loading the example sched_ext policies and the exit report.

use std::path::{Path, PathBuf};
use std::process::Command;

fn schedsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_schedsim"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap()
}

fn workload(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("schedsim-scx-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn every_example_policy_runs_the_examples_under_the_checker() {
    for policy in [
        "simple",
        "simple-vtime",
        "simple:vtime",
        "central",
        "flatcg",
    ] {
        for ex in ["examples/mixed.toml", "examples/sync.toml"] {
            let out = schedsim(&[
                "run",
                ex,
                "--machine",
                "cpus=4",
                "--duration",
                "500ms",
                "--scx",
                policy,
                "--check",
                "-q",
            ]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{policy} {ex}: {err}");
            assert!(
                !err.contains("disabled"),
                "{policy} {ex} was ejected: {err}"
            );
        }
    }
}

#[test]
fn a_starved_partial_mode_task_trips_the_watchdog_and_the_cli_reports_it() {
    let w = workload(
        "starved.toml",
        "[[task]]\nname = \"fairhog\"\nrun = \"10ms\"\n\n\
         [[task]]\nname = \"exthog\"\npolicy = \"ext\"\nrun = \"10ms\"\n",
    );
    let out = schedsim(&[
        "run",
        w.to_str().unwrap(),
        "--machine",
        "cpus=1",
        "--duration",
        "3s",
        "--scx",
        "simple",
        "--scx-partial",
        "--scx-timeout",
        "1s",
        "-q",
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "sched_ext: BPF scheduler \"simple\" disabled (runnable task stall) at 1.500000s"
        ),
        "{err}"
    );
    assert!(
        err.contains("exthog[1002] failed to run for 1.500s"),
        "{err}"
    );
}

#[test]
fn bad_scx_arguments_are_rejected() {
    let out = schedsim(&["run", "examples/nice_pair.toml", "--scx", "nope", "-q"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown sched_ext policy"));
    let out = schedsim(&[
        "run",
        "examples/nice_pair.toml",
        "--scx",
        "simple",
        "--scx-timeout",
        "40s",
        "-q",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("between 1ms and 30s"));
    // NAME:ARGS through `--ext`: an unknown argument names the policy and what it takes.
    let out = schedsim(&[
        "run",
        "examples/nice_pair.toml",
        "--ext",
        "simple:lifo",
        "-q",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`simple`") && err.contains("`lifo`") && err.contains("fifo or vtime"),
        "{err}"
    );
}
