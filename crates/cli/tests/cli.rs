//! The command line: bad input gets a clear error naming the place; outputs are
//! byte-identical for the same inputs and seed.

use std::path::Path;
use std::process::Command;

fn schedsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_schedsim"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap()
}

fn tmp(name: &str, text: &str) -> String {
    let p = std::env::temp_dir().join(format!("schedsim-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn affinity_beyond_the_machine_names_the_task_and_file() {
    let f = tmp(
        "aff.toml",
        "duration = \"1s\"\n\n[[task]]\nname = \"far\"\naffinity = [5]\nrun = \"1ms\"\n",
    );
    let out = schedsim(&["run", &f, "--machine", "cpus=2"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("aff.toml") && err.contains("far") && err.contains("CPU 5"),
        "{err}"
    );
    assert!(err.contains("aff.toml:3:"), "names the task's line: {err}");
}

#[test]
fn unknown_machine_key_and_bad_sysctl_are_refused() {
    let out = schedsim(&["run", "examples/nice_pair.toml", "--machine", "gpus=2"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown machine key `gpus`"));
    let out = schedsim(&[
        "run",
        "examples/nice_pair.toml",
        "--sysctl",
        "kernel.nope=1",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown sysctl `kernel.nope`"));
}

#[test]
fn cgroup_flag_is_checked_and_reaches_the_kernel() {
    for (flag, why) in [
        ("web:cpu.max=1", "must start with `/`"),
        ("/web:cpu.max", "no `=VALUE`"),
        ("/web:a/b=1", "not a cgroup file name"),
    ] {
        let out = schedsim(&["run", "examples/nice_pair.toml", "-q", "--cgroup", flag]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            err.contains(&format!("--cgroup {flag}: ")) && err.contains(why),
            "{err}"
        );
    }
    // A well-formed flag is the workload's own cgroup write: the kernel judges it (0 is
    // below cpu.weight's range, and before group scheduling every write was refused).
    let out = schedsim(&[
        "run",
        "examples/nice_pair.toml",
        "-q",
        "--cgroup",
        "/x:cpu.weight=0",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cpu.weight"), "{err}");
}

#[test]
fn unknown_workload_key_names_file_line_and_key() {
    let f = tmp(
        "key.toml",
        "duration = \"1s\"\n[[task]]\nname = \"a\"\nnicee = 3\nrun = \"1ms\"\n",
    );
    let out = schedsim(&["run", &f]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("key.toml:4:") && err.contains("nicee"),
        "{err}"
    );
}

#[test]
fn blocked_forever_ends_cleanly_with_a_message() {
    let f = tmp(
        "block.toml",
        "duration = \"1s\"\n[sem]\ngo = 0\n[[task]]\nname = \"w\"\nprogram = [\"wait go\", \"exit\"]\n[[task]]\nname = \"p\"\nprogram = [\"run 1ms\", \"sleep 10s\", \"post go\", \"exit\"]\n",
    );
    let out = schedsim(&["run", &f]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // p would post at 10 s: w is still waiting at the end, not blocked forever.
    assert!(
        text.contains("note: w[1001] blocked on semaphore `go` at the end"),
        "{text}"
    );
    assert!(!text.contains("forever"), "{text}");
    // w waits twice, p posts once and exits: nothing can signal the second wait.
    let f = tmp(
        "block-forever.toml",
        "duration = \"1s\"\n[sem]\ngo = 0\n[[task]]\nname = \"w\"\nprogram = [\"wait go\", \"wait go\", \"exit\"]\n[[task]]\nname = \"p\"\nprogram = [\"run 1ms\", \"post go\", \"exit\"]\n",
    );
    let out = schedsim(&["run", &f]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("warning: w[1001] blocked on semaphore `go` forever"),
        "{text}"
    );
}

#[test]
fn same_seed_gives_byte_identical_outputs() {
    let run = |tag: &str| {
        let t = std::env::temp_dir().join(format!("schedsim-det-{}-{tag}", std::process::id()));
        let r = t.with_extension("json");
        let out = schedsim(&[
            "run",
            "examples/mixed.toml",
            "--duration",
            "500ms",
            "--seed",
            "7",
            "-q",
            "--trace",
            t.to_str().unwrap(),
            "--report",
            r.to_str().unwrap(),
            "--schedstat",
            t.with_extension("schedstat").to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read = |p: &Path| std::fs::read(p).unwrap();
        (read(&t), read(&r), read(&t.with_extension("schedstat")))
    };
    let a = run("a");
    assert_eq!(a, run("b"));
    // /proc/schedstat's layout: the version, the jiffies, a line per CPU and per domain.
    let text = String::from_utf8(a.2).unwrap();
    assert!(
        text.starts_with("version 17\ntimestamp 125\ncpu0 "),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("domain0 ")), "{text}");
}

#[test]
fn more_tasks_than_pid_max_fail_like_fork_does() {
    let f = tmp(
        "many.toml",
        "duration = \"10ms\"\n[[task]]\nname = \"many\"\ncount = 40000\nprogram = [\"sleep 1s\"]\n",
    );
    // No path costs: every fork is at t = 0, so all 40000 would be alive at once.
    let out = schedsim(&["run", &f, "-q", "--machine", "cpus=2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("EAGAIN") && err.contains("pid_max is 32768"),
        "{err}"
    );
}

#[test]
fn cgroup_example_runs_with_its_groups_in_the_report() {
    let dir = std::env::temp_dir().join(format!("schedsim-cg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("r.json");
    let out = schedsim(&[
        "run",
        "examples/cgroups.toml",
        "-q",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let groups = r["cgroups"].as_array().unwrap();
    let batch = groups.iter().find(|g| g["path"] == "/batch").unwrap();
    // cpu.max 50 ms per 100 ms over 5 s: about 2.5 s, and throttled in every period (four
    // CPU hogs want far more). It can run over: each CPU's last slice overruns until its
    // next update_curr (up to a tick), and 6.18's throttling takes effect at a task's return
    // to user space, so the mover, which joins /batch every 20 ms, may run on a little after
    // the quota is spent.
    let usage = batch["usage_usec"].as_u64().unwrap();
    assert!((2_400_000..=2_550_000).contains(&usage), "{usage}");
    assert_eq!(batch["nr_periods"], 50);
    assert_eq!(batch["nr_throttled"], 50);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A machine file's bad key or value is named with its file, line and column; a good file
/// runs.
#[test]
fn machine_file_errors_name_the_line() {
    let bad = tmp(
        "bad-machine.toml",
        "# the reference VM, almost\n[machine]\ncpus = 2\nvcpu_pack = 16\n",
    );
    let out = schedsim(&["run", "examples/nice_pair.toml", "-q", "--machine", &bad]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{bad}:4:1:")) && err.contains("vcpu_pack=16"),
        "{err}"
    );
    let unknown = tmp("unknown-machine.toml", "cpus = 2\nbogus = 1\n");
    let out = schedsim(&[
        "run",
        "examples/nice_pair.toml",
        "-q",
        "--machine",
        &unknown,
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{unknown}:2:1:")) && err.contains("`bogus`"),
        "{err}"
    );
    // A rule between keys, checked once all are read, is placed at the key it names.
    let cross = tmp(
        "cross-machine.toml",
        "[machine]\ncpus = 2\nlauncher_cpu = 4\n",
    );
    let out = schedsim(&["run", "examples/nice_pair.toml", "-q", "--machine", &cross]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{cross}:3:1:")) && err.contains("CPUs 0 to 1"),
        "{err}"
    );
    let good = tmp("good-machine.toml", "[machine]\ncpus = 2\nvcpu_pack = 15\n");
    let out = schedsim(&["run", "examples/nice_pair.toml", "-q", "--machine", &good]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
