#!/usr/bin/env bash
# The whole test suite: system packages, formatting, lints, then every test (unit,
# snapshot, real-kernel load and end-to-end runs; needs root for BPF), then a smoke run
# of the benchmark harness.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo build --example workload
cargo test --all-targets
# The benchmark harness, once with tiny sizes: proves it works, measures nothing.
bench/run.sh --smoke
