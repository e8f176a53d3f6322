//! The stored corpora (`fuzz/corpus/<target>`), replayed by the workspace's tests, which
//! include this file with `#[path]` next to the entry points they replay.

use std::path::{Path, PathBuf};

/// Every file of the target's stored corpus, sorted; a missing or empty corpus fails.
pub fn corpus(target: &str) -> Vec<PathBuf> {
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

/// Runs `f` on every file of the target's corpus, naming the file a panic came from.
pub fn replay<R>(target: &str, f: impl Fn(&[u8]) -> R) -> Vec<R> {
    corpus(target)
        .iter()
        .map(|p| {
            let data = std::fs::read(p).unwrap();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&data)))
                .unwrap_or_else(|_| panic!("{target}: {} panicked (see above)", p.display()))
        })
        .collect()
}
