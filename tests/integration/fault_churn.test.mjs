// Connection churn (issue 9): rounds of 5,000 WebSocket connections opened and closed, 100 at
// a time, for CHURN_S seconds (default 60, the issue's minute; CHAT_FAULT_CHURN_S shortens it for
// quick local runs). Half of the connections close cleanly with a close frame,
// half vanish with a TCP reset, some before the handshake finished. Afterwards the relay must
// hold the same number of file descriptors (/proc/<pid>/fd) and about the same memory (VmRSS) as
// after the warm-up round, and the analytics counters (activeConnections, activeUsers, rooms)
// read through Apache must be back to zero.
//
// Clients go straight to the relay's port (Apache's worker threads would bound the rate); the
// analytics come through Apache from chat-restapi, which reads the relay's shared segment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { startStack } from './lib/apache.mjs';
import { sleep, waitFor } from './lib/util.mjs';

const CHURN_S = Number(process.env.CHAT_FAULT_CHURN_S || 60);
const ROUND = 5000;
const PARALLEL = 100;
const USERS = 50;
const ROOMS = 20;

const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length;
const rss = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

// One connection: handshake, wait for the 101 (and the hello), then leave in one of three ways.
function churnOne(port, origin, i) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    const how = i % 10 === 0 ? 'early' : i % 2 ? 'reset' : 'close';
    let got = '';
    let done = false;
    // Completed: the early leaver connected; the others got their 101 and hello.
    const finish = (early) => {
      if (done) return;
      const ok = early === true || got.includes('"type":"hello"');
      done = true;
      clearTimeout(t);
      if (how === 'reset' || !ok) sock.resetAndDestroy ? sock.resetAndDestroy() : sock.destroy();
      else sock.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => finish(false), 10000);
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(false));
    sock.on('connect', () => {
      sock.write(`GET /ws?room=churn${i % ROOMS}&userId=u${i % USERS} HTTP/1.1\r\nHost: x\r\n`
        + `Origin: ${origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n`
        + 'Sec-WebSocket-Version: 13\r\n\r\n');
      if (how === 'early') finish(true);               // gone before the answer
    });
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (!got.includes('"type":"hello"')) return;
      if (how === 'reset') { finish(false); return; }
      // A masked close frame (code 1000); the relay answers and ends the connection.
      const mask = crypto.randomBytes(4);
      const payload = Buffer.from([0x03, 0xe8]);
      for (let k = 0; k < 2; k++) payload[k] ^= mask[k];
      sock.write(Buffer.concat([Buffer.from([0x88, 0x82]), mask, payload]));
    });
  });
}

async function round(port, origin, n) {
  let next = 0;
  let ok = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      if (await churnOne(port, origin, i)) ok++;
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return ok;
}

async function analytics(s) {
  return (await fetch(`${s.baseUrl}/api/analytics`)).json();
}

async function settled(s, what) {
  return waitFor(async () => {
    const a = await analytics(s);
    const rooms = (a.rooms || []).reduce((n, r) => n + r.connections, 0);
    return a.activeConnections === 0 && a.activeUsers === 0 && rooms === 0 ? a : null;
  }, { timeoutMs: 30000, intervalMs: 200, what });
}

test(`${ROUND}-connection rounds for ${CHURN_S} s: no fd or memory growth, counters back to zero`, async () => {
  const s = await startStack({
    storage: 'none',
    relayEnv: {
      MAX_CONN_PER_IP: '0',
      HISTORY_REPLAY: '0',
      ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : ''}quarantine_size_mb=4`,
    },
  });
  try {
    const pid = s.relay.pid;
    // Warm-up: the first round brings pools, rooms, user rows and allocator caches to size.
    const warm = await round(s.relayPort, s.origin, ROUND);
    assert.ok(warm >= ROUND * 0.99, `${warm} of ${ROUND} warm-up connections completed`);
    await settled(s, 'counters zero after the warm-up');
    await sleep(500);
    const fd0 = fds(pid);
    const rss0 = rss(pid);
    const peak0 = (await analytics(s)).peakConnections;

    const t0 = Date.now();
    let total = 0;
    let rounds = 0;
    while (Date.now() - t0 < CHURN_S * 1000) {
      total += await round(s.relayPort, s.origin, ROUND);
      rounds++;
    }
    assert.ok(total >= rounds * ROUND * 0.99, `${total} of ${rounds * ROUND} connections completed`);
    const a = await settled(s, 'counters back to zero after the churn');
    await sleep(500);
    const fd1 = fds(pid);
    const rss1 = rss(pid);
    console.log(`# ${rounds} rounds, ${total} connections in ${((Date.now() - t0) / 1000).toFixed(1)} s; `
      + `fds ${fd0} -> ${fd1}; RSS ${rss0} -> ${rss1} KiB; peak connections ${a.peakConnections}`);
    assert.ok(rounds >= 1);
    assert.ok(fd1 <= fd0, `file descriptors grew from ${fd0} to ${fd1}`);
    // Leaking even 1 KiB per connection would add tens of MiB here.
    assert.ok(rss1 - rss0 < 16 * 1024, `relay RSS grew by ${rss1 - rss0} KiB`);
    assert.equal(a.activeConnections, 0);
    assert.equal(a.activeUsers, 0);
    assert.deepEqual(a.activeUserDetails, []);
    // At most PARALLEL in flight from here; the relay may still hold a few it has not yet seen
    // close while new ones open. A leaked count would push the peak up round after round.
    assert.ok(a.peakConnections >= peak0 && a.peakConnections <= 2 * PARALLEL, `peak ${a.peakConnections}`);
    const h = await (await fetch(`http://127.0.0.1:${s.relayPort}/health`)).json();
    assert.equal(h.clients, 0);
    assert.equal(s.relay.proc.exitCode, null);
  } finally {
    await s.stop();
  }
});
