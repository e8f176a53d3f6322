//! Replays every stored fuzz corpus file of the kernel targets (`fuzz/corpus/machine_spec`,
//! `fuzz/corpus/sim_check`) through the fuzzer's own entry points, so CI exercises the
//! corpora (seeds and past crashers) without nightly or libFuzzer. See docs/fuzzing.md.

#[allow(dead_code)]
#[path = "../../../fuzz/src/kernel.rs"]
mod kernel;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    files
}

fn replay(target: &str, f: &dyn Fn(&[u8])) {
    for p in corpus(target) {
        let data = std::fs::read(&p).unwrap();
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&data))).is_err() {
            panic!("{target}: {} panicked (see above)", p.display());
        }
    }
}

#[test]
fn machine_spec_corpus_replays_without_panic() {
    replay("machine_spec", &|d| {
        kernel::machine_spec(d);
    });
}

#[test]
fn sim_check_corpus_passes_the_checker() {
    replay("sim_check", &kernel::sim_check);
}
