// Smoke test of chat-bench (issue 8) against a real chat-relay, so the benchmark tool cannot rot:
// a few seconds of publishing into two rooms, then the final JSON line must show every
// connection established and every expected delivery made, once, in the right room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { binPath, freePort, spawnDaemon, tmpDir, waitForHttp } from './lib/util.mjs';

// Runs chat-bench to completion (bounded) and returns { code, json, out }.
function runBench(args, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const child = spawn(binPath('bench/chat-bench'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() || '';
      let json = null;
      try { json = JSON.parse(last); } catch { /* asserted by the caller */ }
      resolve({ code, json, out, err });
    });
  });
}

async function startRelay() {
  const port = await freePort();
  const dir = tmpDir('chat-bench-smoke-');
  const relay = spawnDaemon(binPath('relay/chat-relay'), [], {
    env: {
      RELAY_LISTEN: `127.0.0.1:${port}`,
      STORAGE: 'none',
      RATE_LIMIT_PER_SEC: '0',       // publishers send faster than the default 5/s
      RATE_LIMIT_BURST: '0',
      MAX_CONN_PER_IP: '0',
      LOG_LEVEL: 'warn',
      DATA_DIR: dir,
      RUN_DIR: dir,
      ANALYTICS_SHM: path.join(dir, 'analytics.shm'),
    },
  });
  await waitForHttp(`http://127.0.0.1:${port}/health`);
  return { relay, port };
}

test('chat-bench delivers every message of two rooms exactly once through a real relay', async () => {
  const { relay, port } = await startRelay();
  try {
    const { code, json, out, err } = await runBench([
      '--url', `127.0.0.1:${port}/ws`, '--rooms', '2', '--subs', '20', '--pubs', '2',
      '--rate', '20', '--duration', '3', '--warmup', '1', '--drain', '5', '--threads', '2',
      '--server-pid', String(relay.pid),
    ]);
    assert.equal(code, 0, `chat-bench failed:\n${out}\n${err}`);
    assert.ok(json, `no JSON line:\n${out}`);
    assert.equal(json.connections.target, 44);
    assert.equal(json.connections.established, 44);
    assert.equal(json.connections.failed, 0);
    assert.equal(json.connections.dropped, 0);
    // 4 publishers x 20 msg/s x 3 s = 240; a stalled generator (loaded machine, sanitizers)
    // skips what it could not send in time, but never sends more.
    assert.ok(json.sent >= 120 && json.sent <= 248, `sent ${json.sent}`);
    assert.equal(json.expected, json.sent * 22, 'every member of the room, publishers included');
    assert.equal(json.delivered, json.expected);
    assert.equal(json.loss, 0);
    assert.equal(json.duplicates, 0);
    assert.equal(json.misrouted, 0);
    assert.equal(json.latency_ms.count, json.delivered);
    assert.ok(json.latency_ms.p50 > 0 && json.latency_ms.p50 <= json.latency_ms.p99);
    assert.ok(json.latency_ms.p99 <= json.latency_ms.max);
    assert.ok(json.server.rss_kb > 0, 'server RSS read from /proc');
    assert.ok(json.server.cpu_s >= 0, 'server CPU read from /proc');
  } finally {
    await relay.stop();
  }
});

test('chat-bench keeps every one of 200 publishers on schedule with a 100 us timer', async () => {
  const { relay, port } = await startRelay();
  try {
    const { code, json, out, err } = await runBench([
      '--url', `127.0.0.1:${port}/ws`, '--rooms', '50', '--subs', '0', '--pubs', '4',
      '--rate', '10', '--duration', '2', '--warmup', '1', '--drain', '3', '--tick-us', '100',
      '--server-pid', String(relay.pid),
    ]);
    assert.equal(code, 0, `chat-bench failed:\n${out}\n${err}`);
    assert.equal(json.connections.established, 200);
    // 200 publishers x 10 msg/s x 2 s = 4000, each publisher due at its own time: a timer
    // that skipped publishers, or sent some of them twice per interval, shows here.
    assert.ok(json.sent >= 2000 && json.sent <= 4200, `sent ${json.sent}`);
    assert.equal(json.expected, json.sent * 4);
    assert.equal(json.delivered, json.expected);
    assert.equal(json.loss, 0);
    assert.equal(json.duplicates, 0);
    assert.equal(json.out_of_order, 0);
  } finally {
    await relay.stop();
  }
});

test('chat-bench counts idle connections held and reports the relay RSS per connection', async () => {
  const { relay, port } = await startRelay();
  try {
    const { code, json } = await runBench([
      '--url', `127.0.0.1:${port}/ws`, '--idle', '--rooms', '3', '--subs', '100',
      '--duration', '1', '--server-pid', String(relay.pid),
    ]);
    assert.equal(code, 0);
    assert.equal(json.idle, true);
    assert.equal(json.connections.established, 300);
    assert.equal(json.sent, 0);
    assert.ok(json.server.rss_per_conn_bytes > 0, `rss per connection ${json.server.rss_per_conn_bytes}`);
  } finally {
    await relay.stop();
  }
});

test('chat-bench reports failed connections when nothing listens', async () => {
  const port = await freePort();
  const { code, json } = await runBench([
    '--url', `127.0.0.1:${port}/ws`, '--rooms', '1', '--subs', '5', '--pubs', '0',
    '--duration', '1', '--warmup', '0', '--drain', '0', '--connect-timeout', '10',
  ]);
  assert.equal(code, 1, 'exit 1: no connection established');
  assert.equal(json.connections.established, 0);
  assert.equal(json.connections.failed, 5);
});

test('chat-bench refuses out-of-range options with exit code 2', async () => {
  for (const args of [['--rooms', '0'], ['--duration', '601'], ['--rooms', '1000', '--subs', '1000'],
    ['--url', 'nohostport'], ['--size', '1001'], ['--threads', '65'], ['--tick-us', '20'],
    ['--tick-us', '2000']]) {
    const { code, json } = await runBench(args, 10000);
    assert.equal(code, 2, `exit code for ${args.join(' ')}`);
    assert.equal(json, null);
  }
});
