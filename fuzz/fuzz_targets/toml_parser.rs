//! cargo-fuzz target `toml_parser` (see docs/fuzzing.md). Without the `libfuzzer` feature it is a
//! plain binary replaying the files or directories named on its command line.
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = schedsim_fuzz::parsers::toml_parser(data);
});

#[cfg(not(feature = "libfuzzer"))]
fn main() {
    schedsim_fuzz::replay_args(|data| {
        let _ = schedsim_fuzz::parsers::toml_parser(data);
    });
}
