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
