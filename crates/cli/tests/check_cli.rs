//! `schedsim run --check` and `--determinism-check` on the examples.

use std::path::Path;
use std::process::Command;

fn schedsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_schedsim"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap()
}

#[test]
fn check_and_determinism_check_pass_on_examples() {
    for ex in [
        "examples/nice_pair.toml",
        "examples/fork.toml",
        "examples/sync.toml",
    ] {
        let out = schedsim(&[
            "run",
            ex,
            "--machine",
            "cpus=2,hz=1000,preempt=lazy",
            "--duration",
            "500ms",
            "--check",
            "--determinism-check",
            "-q",
        ]);
        assert!(
            out.status.success(),
            "{ex}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
