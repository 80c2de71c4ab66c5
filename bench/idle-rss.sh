#!/bin/sh
# idle-rss.sh BUILD_DIR [N]: S3 by hand: a relay on core 0, N idle connections (1000 per room)
# from chat-bench on core 1, and chat-bench's final JSON line (server.rss_per_conn_bytes is the
# RSS growth divided by the connections). Quicker than make bench for before/after checks.
set -eu
B=$1 N=${2:-10000}
D=$(mktemp -d /tmp/idle-rss.XXXXXX)
PORT=$((20000 + $$ % 20000))
( ulimit -n "$(ulimit -Hn)"; RELAY_LISTEN=127.0.0.1:$PORT STORAGE=none RATE_LIMIT_PER_SEC=0 \
  RATE_LIMIT_BURST=0 MAX_CONN_PER_IP=0 LOG_LEVEL=warn DATA_DIR=$D RUN_DIR=$D \
  ANALYTICS_SHM=$D/a.shm exec taskset -c 0 "$B/relay/chat-relay" ) >"$D/relay.log" 2>&1 &
RP=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
ulimit -n "$(ulimit -Hn)"
taskset -c 1 "$B/bench/chat-bench" --url "127.0.0.1:$PORT/ws" --idle --rooms $((N / 1000)) \
    --subs 1000 --duration 5 --threads 1 --connect-rate 10000 --connect-timeout 120 \
    --server-pid $RP --json 2>&1 | tail -1
kill $RP
wait $RP || true
rm -rf "$D"
