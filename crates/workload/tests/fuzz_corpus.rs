//! Replays every stored fuzz corpus file of the parser targets (`fuzz/corpus/toml_parser`,
//! `fuzz/corpus/rtapp_parser`) through the fuzzer's own entry points, so CI exercises the
//! corpora (seeds and past crashers) without nightly or libFuzzer. See docs/fuzzing.md.

#[path = "../../../fuzz/src/parsers.rs"]
mod parsers;

#[path = "../../../fuzz/src/corpus.rs"]
mod corpus;

/// Runs `f` on the target's corpus: (files, inputs accepted).
fn replay(target: &str, f: fn(&[u8]) -> bool) -> (usize, usize) {
    let accepted = corpus::replay(target, f);
    let ok = accepted.iter().filter(|&&a| a).count();
    (accepted.len(), ok)
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
