#!/bin/sh
# run-with-dynalite.sh: runs "$@" with a private dynalite on a free loopback port.
#
# Starts tests/integration/lib/dynalite.mjs (dynalite from tests/node_modules behind a
# pass-through fault-injecting proxy) with its own temporary data directory, exports
#   DYNAMODB_ENDPOINT          the proxy (faults only when a test asks for them; see dynalite.mjs)
#   DYNAMODB_DIRECT_ENDPOINT   dynalite itself
#   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / DYNAMODB_REGION  dummies, unless already set
# runs the command, stops dynalite by its PID, removes the directory and exits with the
# command's status. A missing node or dynalite is a hard error (exit 99), never a skip.
set -u

here=$(cd "$(dirname "$0")" && pwd)
fail() {
    echo "run-with-dynalite.sh: $*" >&2
    exit 99
}

command -v node >/dev/null 2>&1 || fail "node not found (Debian: apt-get install nodejs)"
[ -f "$here/node_modules/dynalite/index.js" ] ||
    fail "dynalite missing: run (cd tests && npm ci) or scripts/setup-deps.sh"
[ $# -gt 0 ] || fail "usage: run-with-dynalite.sh COMMAND [ARGS...]"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chat-dynalite.XXXXXX") || fail "mktemp failed"
node "$here/integration/lib/dynalite.mjs" --path "$tmp/db" >"$tmp/info" 2>"$tmp/log" &
pid=$!

cleanup() {
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# dynalite.mjs prints its endpoints once both ports answer; wait for that line (15 s at most).
tries=0
while ! grep -q '"endpoint"' "$tmp/info" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
        cat "$tmp/log" >&2
        fail "dynalite exited before listening"
    fi
    tries=$((tries + 1))
    [ "$tries" -le 300 ] || fail "dynalite did not start within 15 s"
    sleep 0.05
done

DYNAMODB_ENDPOINT=$(sed -n 's/.*"endpoint":"\([^"]*\)".*/\1/p' "$tmp/info")
DYNAMODB_DIRECT_ENDPOINT=$(sed -n 's/.*"direct":"\([^"]*\)".*/\1/p' "$tmp/info")
export DYNAMODB_ENDPOINT DYNAMODB_DIRECT_ENDPOINT
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export DYNAMODB_REGION="${DYNAMODB_REGION:-us-east-1}"

"$@"
status=$?
exit "$status"
