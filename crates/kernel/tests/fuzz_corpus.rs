//! Replays every stored fuzz corpus file of the kernel targets (`fuzz/corpus/machine_spec`,
//! `fuzz/corpus/sim_check`, `fuzz/corpus/rtapp_sim`) through the fuzzer's own entry points, so CI exercises the
//! corpora (seeds and past crashers) without nightly or libFuzzer. See docs/fuzzing.md.

#[allow(dead_code)]
#[path = "../../../fuzz/src/kernel.rs"]
mod kernel;

#[path = "../../../fuzz/src/corpus.rs"]
mod corpus;

use corpus::replay;

#[test]
fn machine_spec_corpus_replays_without_panic() {
    replay("machine_spec", kernel::machine_spec);
}

#[test]
fn sim_check_corpus_passes_the_checker() {
    replay("sim_check", kernel::sim_check);
}

#[test]
fn rtapp_sim_corpus_passes_the_checker() {
    replay("rtapp_sim", kernel::rtapp_sim);
}
