#!/usr/bin/env bash
# Runs the whole test suite. Installs, when missing and possible, the tools some tests use
# to check our output with the real readers (trace-cmd, Python's protobuf); tests that need
# a missing tool say so and skip.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && ! command -v trace-cmd >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq trace-cmd >/dev/null) \
    || echo "note: could not install trace-cmd; trace.dat reader tests will skip"
fi
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import google.protobuf' 2>/dev/null; then
  python3 -m pip install -q protobuf perfetto 2>/dev/null \
    || echo "note: could not install protobuf; the Perfetto decode test will skip"
fi

cargo test --workspace --all-targets "$@"
