#!/bin/bash
# callgrind-s1.sh BUILD_DIR RATE OUT: instructions the relay spends per write in S1 (1 room x
# 1000 subscribers + 1 publisher at RATE msg/s), the steady figure on a shared, noisy machine.
# The relay runs under callgrind with instrumentation off, on core 0; chat-bench (from the same
# build dir) on core 1; instrumentation is on for 8 s inside the measured window. Prints the
# total instructions, the lws_write calls and their ratio. Keep RATE low (20): under valgrind
# the relay is ~50x slower, and a relay that falls behind coalesces and changes the profile.
set -eu
B=$1 RATE=$2 OUT=$3
D=$(mktemp -d /tmp/callgrind-s1.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
RELAY_LISTEN=127.0.0.1:$PORT STORAGE=none RATE_LIMIT_PER_SEC=0 RATE_LIMIT_BURST=0 \
    MAX_CONN_PER_IP=0 LOG_LEVEL=warn DATA_DIR=$D RUN_DIR=$D ANALYTICS_SHM=$D/a.shm \
    taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT" \
    "$B/relay/chat-relay" >"$D/relay.log" 2>&1 &
RP=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
taskset -c 1 "$B/bench/chat-bench" --url "127.0.0.1:$PORT/ws" --rooms 1 --subs 1000 \
    --rate "$RATE" --warmup 20 --duration 15 --drain 3 --connect-rate 2000 --json >"$D/bench.json" 2>&1 &
BP=$!
for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$PORT/health" | grep -q '"clients":1001' && break
    sleep 0.2
done
sleep 22                                 # past the generator's warm-up
callgrind_control -i on $RP >/dev/null
sleep 8
callgrind_control -i off $RP >/dev/null
wait $BP
kill $RP
wait $RP || true
python3 - "$OUT" <<'PY'
import re, sys
names, calls, cur, total = {}, 0, None, 0
for line in open(sys.argv[1]):
    m = re.match(r'(c?fn)=\((\d+)\)(?: (.*))?', line)
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3).strip()
        if m.group(1) == 'cfn':
            cur = names.get(m.group(2))
    elif line.startswith('calls=') and cur == 'lws_write':
        calls += int(line.split('=')[1].split()[0])
    elif line.startswith('summary:') or line.startswith('totals:'):
        total = int(line.split()[1])
print(f"instructions {total}  lws_write calls {calls}  per write {total / max(calls, 1):.0f}")
PY
rm -rf "$D"
