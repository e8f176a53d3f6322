//! `schedsim topology`: the machine spec is parsed (keys and presets) and the domains
//! are printed; bad specs are refused with the key named.

use std::process::Command;

fn schedsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_schedsim"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn prints_the_domains_of_a_preset_and_of_a_spec() {
    let out = schedsim(&["topology", "--machine", "server2s"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("machine: 64 CPUs"), "{text}");
    assert!(text.contains("level 0 SMT  span 0,32 (weight 2)"), "{text}");
    assert!(
        text.contains("level 2 NUMA span 0-63 (weight 64) distance 20"),
        "{text}"
    );
    let out = schedsim(&["topology", "--machine", "cpus=2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("level 0 MC   span 0-1 (weight 2)"), "{text}");
    assert!(!text.contains("PKG"), "{text}");
}

#[test]
fn inconsistent_layout_is_refused() {
    let out = schedsim(&["topology", "--machine", "cpus=6,smt=4"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("smt=4"), "{err}");
}

/// A reader that stops early (`schedsim topology | head -1`) ends the output quietly:
/// no panic, success.
#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_schedsim"))
        .args(["topology", "--machine", "smt=2,cores=64,packages=4,numa=4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("machine:"), "{first}");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("panicked"), "{err}");
}
