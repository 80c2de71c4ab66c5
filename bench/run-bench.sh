#!/bin/sh
# run-bench.sh: entry point of `make bench` (issue 8). Checks the tools, then hands over to
# run-bench.mjs, which runs the scenarios and writes results/.
#   BENCH_BUILD_DIR   build tree holding relay/chat-relay and bench/chat-bench (default .)
#   BENCH_SRC_DIR     source tree (default: this script's parent)
#   BENCH_RESULTS     where results go (default $BENCH_SRC_DIR/results)
#   BENCH_QUICK=1     short steps, one repetition
#   BENCH_SCENARIOS   subset, e.g. "S1 S3" (default all)
#   BENCH_REPS        repetitions per step (default 3; 1 when quick)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${BENCH_SRC_DIR:=$(dirname "$here")}"
: "${BENCH_BUILD_DIR:=$(pwd)}"
export BENCH_SRC_DIR BENCH_BUILD_DIR
for tool in node taskset; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run-bench: $tool is required (Debian: apt-get install nodejs util-linux)" >&2
        exit 1
    fi
done
if [ "$(nproc)" -lt 2 ]; then
    echo "run-bench: fewer than 2 CPUs: relay and generator share one core; figures are not comparable" >&2
    BENCH_GEN_CPU=0
    export BENCH_GEN_CPU
fi
exec node "$here/run-bench.mjs"
