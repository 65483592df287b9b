#!/usr/bin/env bash
# Benchmarks scry side by side with bpftrace (Debian's package). Builds release binaries,
# then runs bench/bench.py with the same arguments (see `bench/bench.py --help`):
#   --smoke            every measurement once with tiny sizes, only to prove the harness
#                      works (the test suite runs this)
#   --only SECTIONS    comma-separated: startup,attach,overhead,printf,stacks,size,xlated
#   --reps N           repetitions per timed figure (default 15)
#   --out FILE         also write the table, under a header about the run, to FILE
#   --title TEXT       that header's title
#   --patience S       wait up to S seconds (default 120) for other tracers to finish
#                      before a run; runs that overlap one are repeated
# Without --smoke, the static build (tools/build-static.sh) is made too when the size
# section runs.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cargo build --release --bin scry --example workload
static=yes
prev=""
for arg in "$@"; do
    case "$arg" in
        --smoke) static=no ;;
        --only=*) [[ ",${arg#--only=}," == *,size,* ]] || static=no ;;
    esac
    if [[ "$prev" == --only && ",$arg," != *,size,* ]]; then
        static=no
    fi
    prev="$arg"
done
if [[ "$static" == yes ]]; then
    tools/build-static.sh
fi
exec python3 bench/bench.py "$@"
