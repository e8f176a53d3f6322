//! cargo-fuzz target `rtapp_sim` (see docs/fuzzing.md). Without the `libfuzzer` feature it is a
//! plain binary replaying the files or directories named on its command line.
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    schedsim_fuzz::kernel::rtapp_sim(data);
});

#[cfg(not(feature = "libfuzzer"))]
fn main() {
    schedsim_fuzz::replay_args(|data| schedsim_fuzz::kernel::rtapp_sim(data));
}
