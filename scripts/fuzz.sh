#!/usr/bin/env bash
# Long fuzzing campaigns: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Targets: toml_parser rtapp_parser machine_spec sim_check rtapp_sim (all by default), 300 s each by
# default. Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Each
# target's libFuzzer corpus grows in fuzz/corpus-work/<target> (not committed), seeded from
# the stored corpus fuzz/corpus/<target>; crashes land in fuzz/artifacts/<target>/. A crash
# input worth keeping as a regression goes into fuzz/corpus/<target>/ once fixed, where
# `cargo test` replays it (crates/{workload,kernel}/tests/fuzz_corpus.rs).
#
# Environment: CARGO_TARGET_DIR (build directory), JOBS (parallel libFuzzer jobs per
# target, default 1), SANITIZER (default none: the code is safe Rust; `address` to check).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(toml_parser rtapp_parser machine_spec sim_check rtapp_sim)
san=${SANITIZER:-none}
jobs=${JOBS:-1}
tdir=(); [ -n "${CARGO_TARGET_DIR:-}" ] && tdir=(--target-dir "$CARGO_TARGET_DIR")

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz.sh: needs a nightly toolchain (rustup toolchain install nightly)" >&2; exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: needs cargo-fuzz (cargo install cargo-fuzz)" >&2; exit 1
fi

# -a: debug assertions and overflow checks on, so integer overflow in the parsers or the
# kernel's time arithmetic is a finding too.
cargo +nightly fuzz build -s "$san" -a "${tdir[@]}"

for t in "${targets[@]}"; do
  case $t in
    sim_check) extra=(-max_len=256 -timeout=20) ;;
    machine_spec) extra=(-max_len=512 -timeout=10) ;;
    *) extra=(-max_len=16384 -timeout=10) ;;
  esac
  par=(); [ "$jobs" -gt 1 ] && par=(-fork="$jobs")
  mkdir -p "corpus-work/$t" "artifacts/$t"
  echo "== $t: ${secs}s"
  start=$(date +%s)
  rc=0
  cargo +nightly fuzz run -s "$san" -a "${tdir[@]}" "$t" "corpus-work/$t" "corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=1 "${par[@]}" "${extra[@]}" 2>&1 | tee "corpus-work/$t.log" | grep -E '^#|ERROR|panicked|SUMMARY|stat::' | tail -40 || rc=$?
  echo "== $t: ran $(( $(date +%s) - start ))s; corpus-work/$t: $(ls "corpus-work/$t" | wc -l) inputs; log corpus-work/$t.log"
  if ls "artifacts/$t" | grep -q .; then
    echo "== $t: CRASHES in fuzz/artifacts/$t:"; ls "artifacts/$t"
  fi
done
