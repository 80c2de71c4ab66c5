#!/bin/sh
# step.sh BUILD_DIR "VAR=value ..." CHAT-BENCH-ARGS...: one benchmark step by hand, for A/B
# runs: a fresh relay on core 0 with the benchmark settings of make bench (STORAGE=none, no
# rate or per-IP limits) plus the given variables (e.g. "RELAY_EVENT_LOOP=libev"), chat-bench
# on core 1 with the given arguments, and one summary line from chat-bench's JSON. Run it under
# flock /tmp/bench.lock, alternating the variants you compare.
#   bench/step.sh /tmp/build "RELAY_EVENT_LOOP=libev" --rooms 100 --subs 0 --pubs 10 --rate 5 \
#       --duration 5 --warmup 1 --drain 2 --threads 2
# STEP_PERF=FILE also records the relay with perf (call graphs) while chat-bench runs.
set -eu
B=$1 VARS=$2
shift 2
D=$(mktemp -d /tmp/bench-step.XXXXXX)
PORT=$((20000 + $$ % 20000))
( ulimit -n "$(ulimit -Hn)"; env RELAY_LISTEN=127.0.0.1:$PORT STORAGE=none RATE_LIMIT_PER_SEC=0 \
  RATE_LIMIT_BURST=0 MAX_CONN_PER_IP=0 LOG_LEVEL=warn DATA_DIR=$D RUN_DIR=$D \
  ANALYTICS_SHM=$D/a.shm $VARS taskset -c 0 "$B/relay/chat-relay" ) >"$D/relay.log" 2>&1 &
RP=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
RPID=$(pgrep -P $RP -x chat-relay || pgrep -P $RP || echo $RP)
ulimit -n "$(ulimit -Hn)"
PP=
if [ -n "${STEP_PERF:-}" ]; then
    perf record -q -g -o "$STEP_PERF" -p "$RPID" 2>/dev/null &
    PP=$!
fi
taskset -c 1 "$B/bench/chat-bench" --url "127.0.0.1:$PORT/ws" --server-pid "$RPID" --json "$@" \
    >"$D/out.json" 2>&1 || true
if [ -n "$PP" ]; then kill -INT "$PP"; wait "$PP" || true; fi
kill "$RPID" 2>/dev/null || true
wait $RP || true
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
const j = JSON.parse(lines[lines.length - 1]);
const s = j.server || {}, l = j.latency_ms || {}, g = j.generator || {};
console.log(JSON.stringify({ vars: process.argv[2], conns: j.connections.established,
  deliveries_s: j.deliveries_per_s, loss: j.loss, p50: l.p50, p99: l.p99, max: l.max,
  relay_cpu: s.cpu_pct, us_per_delivery: s.us_per_delivery, rss_per_conn: s.rss_per_conn_bytes,
  gen_cpu: g.cpu_pct, limited: g.limited }));' "$D/out.json" "$VARS" || tail -3 "$D/out.json"
rm -rf "$D"
