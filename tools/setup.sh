#!/usr/bin/env bash
# Fresh machine to a real trace: installs system packages, builds scry (release), then
# counts the getpid() calls of a workload that makes exactly 1000 of them.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cargo build --release --bin scry --example workload
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo target/release/scry -e 'tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { @[comm] = count(); }' \
  -c "target/release/examples/workload getpid 1000"
