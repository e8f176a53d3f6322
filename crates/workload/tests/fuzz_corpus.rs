//! Replays every stored fuzz corpus file of the parser targets (`fuzz/corpus/toml_parser`,
//! `fuzz/corpus/rtapp_parser`) through the fuzzer's own entry points, so CI exercises the
//! corpora (seeds and past crashers) without nightly or libFuzzer. See docs/fuzzing.md.

#[path = "../../../fuzz/src/parsers.rs"]
mod parsers;

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

/// Runs `f` on every file of the corpus, naming the file a panic came from.
fn replay(target: &str, f: fn(&[u8]) -> bool) -> (usize, usize) {
    let files = corpus(target);
    let mut accepted = 0;
    for p in &files {
        let data = std::fs::read(p).unwrap();
        match std::panic::catch_unwind(|| f(&data)) {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(_) => panic!("{target}: {} panicked (see above)", p.display()),
        }
    }
    (files.len(), accepted)
}

#[test]
fn toml_corpus_replays_without_panic() {
    let (n, ok) = replay("toml_parser", parsers::toml_parser);
    // The seeds (examples/*.toml, the documentation's examples) are valid workloads.
    assert!(ok >= 10, "only {ok} of {n} TOML corpus files parsed");
}

#[test]
fn rtapp_corpus_replays_without_panic() {
    let (n, ok) = replay("rtapp_parser", parsers::rtapp_parser);
    assert!(ok >= 10, "only {ok} of {n} rt-app corpus files parsed");
}
