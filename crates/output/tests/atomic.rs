//! write_atomically: the target appears whole or not at all.

mod common;

use std::io;

use common::*;
use schedsim_output::{write_atomically, write_ftrace_text, write_perfetto, write_trace_dat};

#[test]
fn success_replaces_failure_leaves_old_file_and_no_temp() {
    let dir = scratch("atomic");
    let path = dir.join("out.txt");
    write_atomically(&path, |w| w.write_all(b"first\n")).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"first\n");

    let err = write_atomically(&path, |w| {
        w.write_all(b"half a fi")?;
        Err(io::Error::other("boom"))
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "boom");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"first\n",
        "old file untouched"
    );
    assert_eq!(entries(&dir), ["out.txt"], "no temp file left");

    let fresh = dir.join("never.dat");
    let b = analyze_scenario();
    // Records on CPU1 but nr_cpus 1: the writer fails, nothing appears.
    assert!(write_atomically(&fresh, |w| write_trace_dat(w, &b.bufs, 1)).is_err());
    assert!(write_atomically(&fresh, |w| write_perfetto(w, &b.bufs, 1)).is_err());
    assert!(!fresh.exists());
    assert_eq!(entries(&dir), ["out.txt"]);

    // A panicking writer leaves nothing either.
    let r = std::panic::catch_unwind(|| {
        let _ = write_atomically(dir.join("panic.txt"), |w| {
            w.write_all(b"x")?;
            panic!("writer panicked")
        });
    });
    assert!(r.is_err());
    assert_eq!(entries(&dir), ["out.txt"]);

    write_atomically(&path, |w| write_ftrace_text(w, &b.bufs, 2)).unwrap();
    let mut direct = Vec::new();
    write_ftrace_text(&mut direct, &b.bufs, 2).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), direct);
    cleanup(dir);
}

#[test]
fn bad_paths_are_errors() {
    assert!(write_atomically("/", |w| w.write_all(b"x")).is_err());
    let dir = scratch("atomic-missing");
    assert!(write_atomically(dir.join("no/such/dir/f"), |w| w.write_all(b"x")).is_err());
    cleanup(dir);
}
