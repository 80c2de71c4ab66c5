#!/usr/bin/env bash
# run-smoke.sh: runs each libFuzzer harness for a few seconds over its committed seed corpus
# and fails when one finds a crash, a leak, a timeout or a broken property.
#   fuzz/run-smoke.sh BUILD_DIR [SECONDS_EACH]     (default 5 s each, ~35 s for all seven)
# BUILD_DIR is a tree configured with CC=clang --enable-fuzzing and the harnesses built
# (make fuzz-smoke does both steps). New inputs go to a temporary directory, so the committed
# corpus never changes; a crashing input is kept under BUILD_DIR/fuzz/artifacts/.
# Prints "FUZZ PASS: name (...)" or "FUZZ FAIL: name" per harness, then a count line.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run-smoke.sh BUILD_DIR [SECONDS_EACH]}
secs=${2:-5}
harnesses="msg token config dynamo journal rest wsscan"

dict_of() {
    case "$1" in
        msg|dynamo) echo json ;;
        config|rest|token) echo "$1" ;;
        *) echo "" ;;
    esac
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chat-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
artifacts="$build/fuzz/artifacts"
mkdir -p "$artifacts"

passed=0
failed=0
for h in $harnesses; do
    bin="$build/fuzz/fuzz_$h"
    if [ ! -x "$bin" ]; then
        echo "FUZZ FAIL: $h (no $bin: configure CC=clang --enable-fuzzing and make)"
        failed=$((failed + 1))
        continue
    fi
    mkdir -p "$tmp/$h"
    args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix="$artifacts/$h-")
    d=$(dict_of "$h")
    [ -n "$d" ] && args+=(-dict="$here/dicts/$d.dict")
    if "$bin" "${args[@]}" "$tmp/$h" "$here/corpus/$h" >"$tmp/$h.log" 2>&1; then
        runs=$(grep -aE '^stat::number_of_executed_units:' "$tmp/$h.log" | awk '{print $2}')
        cov=$(grep -aE '^#[0-9]+[[:space:]]+DONE' "$tmp/$h.log" | sed -E 's/.*cov: ([0-9]+).*/\1/')
        echo "FUZZ PASS: $h (${secs}s, ${runs:-?} runs, cov ${cov:-?})"
        passed=$((passed + 1))
    else
        echo "FUZZ FAIL: $h"
        grep -aE 'ERROR|property failed|SUMMARY|Test unit written|^    #[0-9]' "$tmp/$h.log" \
            | head -30 | sed 's/^/  /'
        failed=$((failed + 1))
    fi
done
echo "fuzz smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
