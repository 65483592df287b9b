#!/usr/bin/env bash
# Builds a fully static scry (glibc, libelf and zlib linked in; no shared libraries) at
# target/<arch>-unknown-linux-gnu/release/scry. The default build links them dynamically.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --bin scry --target "$(uname -m)-unknown-linux-gnu"
