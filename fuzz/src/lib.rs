//! Fuzz entry points for schedsim (see docs/fuzzing.md). The functions live in files the
//! workspace's corpus replay tests include directly, so the fuzzer and `cargo test` run
//! the same code.

pub mod parsers;

pub mod kernel;

/// Runs `f` on each file named on the command line, or on every file of each directory
/// named (the harness mode, without libFuzzer). Prints a line per input.
pub fn replay_args(f: fn(&[u8])) {
    let mut n = 0;
    for a in std::env::args().skip(1) {
        let p = std::path::Path::new(&a);
        let mut files = vec![];
        if p.is_dir() {
            for e in std::fs::read_dir(p).expect("read_dir").flatten() {
                files.push(e.path());
            }
            files.sort();
        } else {
            files.push(p.to_path_buf());
        }
        for f_ in files {
            let data = std::fs::read(&f_).expect("read input");
            eprintln!("{}", f_.display());
            f(&data);
            n += 1;
        }
    }
    eprintln!("ran {n} inputs");
}
