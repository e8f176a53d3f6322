//! Debian's rt-app examples (copied into tests/data/rtapp-examples): each one loads, or is
//! refused with the rule that makes rt-app (with its json-c parser) fail on it.

use std::path::{Path, PathBuf};

use schedsim_workload::rtapp::load_rtapp;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rtapp-examples")
}

/// What importing a file must give: `Ok(threads)` (total threads created at start), or the
/// error position and a piece of its text.
type Expect = Result<u32, (u32, u32, &'static str)>;

const EXPECTED: &[(&str, Expect)] = &[
    // These run forever or for `duration`; events with repeated keys collapse like json-c.
    ("mp3-long.json", Ok(5)),
    ("mp3-short.json", Ok(5)),
    ("spreading-tasks.json", Ok(2)),
    ("template.json", Ok(1)),
    ("tutorial/example1.json", Ok(1)),
    ("tutorial/example2.json", Ok(1)),
    ("tutorial/example3.json", Ok(12)),
    ("tutorial/example4.json", Ok(2)),
    ("tutorial/example5.json", Ok(2)),
    ("tutorial/example6.json", Ok(1)),
    ("tutorial/example7.json", Ok(2)),
    ("tutorial/example8.json", Ok(1)),
    ("cpufreq_governor_efficiency/calibration.json", Ok(1)),
    ("cpufreq_governor_efficiency/dvfs.json", Ok(1)),
    // Written for workgen, which renames repeated keys: under json-c the only `resume` of
    // BrowserNext is overwritten by a later `resume`, so BrowserMain would block forever.
    (
        "browser-long.json",
        Err((
            41,
            6,
            "`suspend` on condition `BrowserNext` that no task wakes",
        )),
    ),
    (
        "browser-short.json",
        Err((
            41,
            6,
            "`suspend` on condition `BrowserNext` that no task wakes",
        )),
    ),
    // Workgen shorthand `"suspend",` (a key without a value): not JSON, json-c refuses it.
    (
        "video-long.json",
        Err((6, 13, "expected `:` after key \"suspend\"")),
    ),
    (
        "video-short.json",
        Err((6, 13, "expected `:` after key \"suspend\"")),
    ),
    // Pre-1.0 grammar: `lock_order` matches the `lock` prefix and is not a string.
    (
        "taskset.json",
        Err((8, 22, "Unknown or mismatch lock_order event type")),
    ),
    (
        "merge/thread0.json",
        Err((7, 25, "Unknown or mismatch lock_order event type")),
    ),
    (
        "merge/thread1.json",
        Err((7, 25, "Unknown or mismatch lock_order event type")),
    ),
    (
        "merge/thread2.json",
        Err((7, 25, "Unknown or mismatch lock_order event type")),
    ),
    (
        "merge/thread3.json",
        Err((7, 25, "Unknown or mismatch lock_order event type")),
    ),
    // Fragments for merge.py, not workloads.
    ("merge/global.json", Err((1, 1, "no `tasks` object"))),
    ("merge/resources.json", Err((1, 1, "no `tasks` object"))),
];

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

#[test]
fn every_example_loads_or_is_refused_with_its_rule() {
    let dir = data_dir();
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    files.sort();
    assert_eq!(
        files.len(),
        EXPECTED.len(),
        "a file is missing from EXPECTED or from {}",
        dir.display()
    );
    for path in files {
        let rel = path
            .strip_prefix(&dir)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let expect = EXPECTED
            .iter()
            .find(|(f, _)| *f == rel)
            .unwrap_or_else(|| panic!("{rel} not in EXPECTED"))
            .1;
        match (load_rtapp(&path), expect) {
            (Ok(w), Ok(threads)) => {
                assert_eq!(
                    w.tasks.iter().map(|t| t.count).sum::<u32>(),
                    threads,
                    "{rel}"
                );
            }
            (Err(e), Err((line, col, text))) => {
                let shown = e.to_string();
                assert_eq!((e.line, e.col), (line, col), "{shown}");
                assert!(shown.contains(text), "{shown}");
                assert!(e.file.ends_with(&rel), "{shown}");
            }
            (Ok(_), Err(_)) => panic!("{rel}: accepted, expected an error"),
            (Err(e), Ok(_)) => panic!("{rel}: {e}"),
        }
    }
}

/// If Debian's package is installed, the copies must match it (plain or gzipped files).
#[test]
fn copies_match_the_installed_package() {
    let pkg = Path::new("/usr/share/doc/rt-app/examples");
    if !pkg.is_dir() {
        eprintln!("note: rt-app is not installed; skipping the comparison with its examples");
        return;
    }
    let mut files = Vec::new();
    json_files(pkg, &mut files);
    for p in files {
        let rel = p.strip_prefix(pkg).unwrap();
        let copy = data_dir().join(rel);
        assert_eq!(
            std::fs::read(&p).unwrap(),
            std::fs::read(&copy).unwrap_or_default(),
            "{}",
            rel.display()
        );
    }
    // Compressed examples (other package versions) must have been copied uncompressed.
    for e in walk(pkg) {
        if let Some(name) = e.to_str().and_then(|s| s.strip_suffix(".json.gz")) {
            let rel = Path::new(name)
                .strip_prefix(pkg)
                .unwrap()
                .with_extension("json");
            assert!(
                data_dir().join(rel).is_file(),
                "{} has no uncompressed copy",
                e.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
