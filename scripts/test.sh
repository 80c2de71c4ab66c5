#!/usr/bin/env bash
# Sets everything up on Debian 12 and runs every test of chat-analytics:
#   1. Check unit tests + layering check (make check, built with ASan+UBSan)
#   2. frontend: lint, Vitest, type-checked build (first, so the browser checks have a page)
#   3. integration tests: the real relay, chat-restapi, Apache, SQLite and dynalite (node:test)
#   4. browser end-to-end tests: Debian's Chromium through Apache (playwright-core)
#   5. hardening: each libFuzzer harness for 5 s (clang tree in _build/fuzz) and valgrind
#      memcheck over every Check program (make check-valgrind in _build/plain)
#   6. make distcheck (plain build, install/uninstall into a staging DESTDIR)
# It ends with one line "N passed, N failed" summing the checks of every stage.
# Options: --quick skips distcheck; CHAT_TEST_STAGES="unit integration" runs only those stages.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

quick=no
for arg in "$@"; do
    case "$arg" in
        --quick) quick=yes ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
    esac
done
stages=${CHAT_TEST_STAGES:-"unit frontend integration e2e hardening distcheck"}
[ "$quick" = yes ] && stages=${stages//distcheck/}
jobs=$(nproc 2>/dev/null || echo 2)

passed=0
failed=0
report=()
logdir="$top/tests/artifacts/logs"
mkdir -p "$logdir"

# stage NAME PASSED FAILED STATUS: records a stage's counts; a failing command that reported
# no failed check still counts as one failure, so nothing red hides behind a zero.
record() {
    local name=$1 p=$2 f=$3 rc=$4
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p))
    failed=$((failed + f))
    report+=("$(printf '%-12s %5d passed, %3d failed%s' "$name" "$p" "$f" \
        "$([ "$rc" -ne 0 ] && echo "  (exit $rc)")")")
}

# Sums node:test's "# pass N" / "# fail N" (tap) or "ℹ pass N" (spec) lines of a log.
node_counts() {
    local p f
    p=$(grep -aE '^(# |ℹ )pass [0-9]+' "$1" | awk '{s+=$3} END {print s+0}')
    f=$(grep -aE '^(# |ℹ )fail [0-9]+' "$1" | awk '{s+=$3} END {print s+0}')
    echo "$p $f"
}

echo "== setup"
if ! scripts/setup-deps.sh --with-browser; then
    echo "setup failed"; echo "0 passed, 1 failed"; exit 1
fi
export CHAT_NODE_MODULES="$top/tests/node_modules"
export CHAT_ARTIFACTS_DIR="$top/tests/artifacts"

build="$top/_build/san"
echo "== build (ASan+UBSan) in ${build#"$top"/}"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then ./autogen.sh >/dev/null; fi
mkdir -p "$build"
if [ ! -f "$build/Makefile" ] || [ "$build/config.status" -ot configure ]; then
    (cd "$build" && "$top/configure" -q --enable-sanitizers) || { echo "configure failed"; echo "0 passed, 1 failed"; exit 1; }
fi
if ! make -C "$build" -j"$jobs" >"$logdir/build.log" 2>&1; then
    tail -40 "$logdir/build.log"; echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi
export CHAT_BUILD_DIR="$build"
# ASan: fail on leaks too; UBSan: stop on the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for stage in $stages; do
    case "$stage" in
    unit)
        echo "== unit tests and layering (make check)"
        make -C "$build" -j"$jobs" check >"$logdir/unit.log" 2>&1; rc=$?
        p=0; f=0
        for l in "$build"/tests/unit/*.log; do
            [ -f "$l" ] || continue
            line=$(grep -aE '^[0-9]+%: Checks: [0-9]+' "$l" | tail -1)
            [ -n "$line" ] || { f=$((f + 1)); continue; }
            echo "  $(basename "$l" .log): $line"
            n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
            fl=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2/' <<<"$line")
            bad=$(( $(cut -d' ' -f1 <<<"$fl") + $(cut -d' ' -f2 <<<"$fl") ))
            p=$((p + n - bad)); f=$((f + bad))
        done
        grep -aE '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$logdir/unit.log" | sed 's/^/  /'
        # the shell tests (layering) count one each
        p=$((p + $(grep -acE '^PASS: .*\.sh' "$logdir/unit.log")))
        f=$((f + $(grep -acE '^(FAIL|ERROR): .*\.sh' "$logdir/unit.log")))
        [ $rc -ne 0 ] && tail -60 "$logdir/unit.log"
        record unit "$p" "$f" "$rc"
        ;;
    integration)
        echo "== integration tests (real relay, chat-restapi, Apache, SQLite, dynalite)"
        (cd tests && node --test --test-concurrency=1 --test-reporter=spec integration/) \
            >"$logdir/integration.log" 2>&1; rc=$?
        read -r p f < <(node_counts "$logdir/integration.log")
        grep -aE '^(✔|✖|▶|ℹ)' "$logdir/integration.log" | grep -av '^ℹ \(duration\|todo\|cancelled\|suites\)' | tail -200 | sed 's/^/  /'
        [ $rc -ne 0 ] && grep -aB2 -A25 '^✖' "$logdir/integration.log" | head -200
        record integration "$p" "$f" "$rc"
        ;;
    frontend)
        if [ -f frontend/package.json ]; then
            echo "== frontend: lint, unit tests, build"
            (cd frontend && export NO_COLOR=1 && npm run --silent lint && npx vitest run && npm run --silent build) \
                >"$logdir/frontend.log" 2>&1; rc=$?
            p=$(grep -aE '^ +Tests +[0-9]+ passed' "$logdir/frontend.log" | tail -1 | sed -E 's/.*Tests +([0-9]+) passed.*/\1/')
            f=$(grep -aE '^ +Tests +.*[0-9]+ failed' "$logdir/frontend.log" | tail -1 | sed -E 's/.* ([0-9]+) failed.*/\1/')
            grep -aE 'Test Files|Tests |error|✓ built' "$logdir/frontend.log" | sed 's/^/  /' | tail -20
            [ $rc -ne 0 ] && tail -60 "$logdir/frontend.log"
            record frontend "${p:-0}" "${f:-0}" "$rc"
        fi
        ;;
    e2e)
        if [ -d tests/e2e ] && [ -f frontend/dist/index.html ]; then
            echo "== browser end-to-end tests (Chromium through Apache)"
            (cd tests && node --test --test-concurrency=1 --test-reporter=spec e2e/) \
                >"$logdir/e2e.log" 2>&1; rc=$?
            read -r p f < <(node_counts "$logdir/e2e.log")
            grep -aE '^(✔|✖)' "$logdir/e2e.log" | sed 's/^/  /'
            [ $rc -ne 0 ] && grep -aB2 -A25 '^✖' "$logdir/e2e.log" | head -150
            record e2e "$p" "$f" "$rc"
        fi
        ;;
    hardening)
        echo "== hardening: fuzz smoke (clang, libFuzzer) and valgrind memcheck of the unit tests"
        log="$logdir/hardening.log"
        : >"$log"
        rc=0
        for tree in fuzz plain; do
            dir="$top/_build/$tree"
            mkdir -p "$dir"
            if [ ! -f "$dir/Makefile" ] || [ "$dir/config.status" -ot configure ]; then
                if [ "$tree" = fuzz ]; then
                    (cd "$dir" && "$top/configure" -q CC=clang --enable-fuzzing) >>"$log" 2>&1 || rc=1
                else
                    (cd "$dir" && "$top/configure" -q) >>"$log" 2>&1 || rc=1
                fi
            fi
        done
        if [ $rc -eq 0 ]; then
            make -C "$top/_build/fuzz" -j"$jobs" fuzz-smoke FUZZ_SECONDS=5 >>"$log" 2>&1 || rc=1
            make -C "$top/_build/plain" -j"$jobs" check-valgrind >>"$log" 2>&1 || rc=1
        fi
        p=$(grep -acE '^(FUZZ|VALGRIND) PASS:' "$log")
        f=$(grep -acE '^(FUZZ|VALGRIND) FAIL:' "$log")
        grep -aE '^(FUZZ|VALGRIND) (PASS|FAIL)' "$log" | sed 's/^/  /'
        [ $rc -ne 0 ] && tail -40 "$log"
        record hardening "$p" "$f" "$rc"
        ;;
    distcheck)
        echo "== make distcheck (plain build, staged install and uninstall)"
        plain="$top/_build/plain"
        mkdir -p "$plain"
        if [ ! -f "$plain/Makefile" ] || [ "$plain/config.status" -ot configure ]; then
            (cd "$plain" && "$top/configure" -q) >"$logdir/distcheck.log" 2>&1
        fi
        make -C "$plain" -j"$jobs" distcheck >>"$logdir/distcheck.log" 2>&1; rc=$?
        grep -aE 'archives ready for distribution|^(FAIL|ERROR):' "$logdir/distcheck.log" | sed 's/^/  /'
        [ $rc -ne 0 ] && tail -40 "$logdir/distcheck.log"
        record distcheck "$((rc == 0 ? 1 : 0))" 0 "$rc"
        ;;
    esac
done

echo
echo "== summary (logs in ${logdir#"$top"/})"
printf '  %s\n' "${report[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
