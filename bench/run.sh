#!/usr/bin/env bash
# Benchmarks scry side by side with bpftrace (Debian's package). Builds release binaries,
# then runs bench/bench.py. `--smoke` runs every measurement once with tiny sizes, only
# to prove the harness works (CI); without it, the full table for the README.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cargo build --release --bin scry --example workload
if [[ "${1:-}" != --smoke ]]; then
    tools/build-static.sh
fi
exec python3 bench/bench.py "$@"
