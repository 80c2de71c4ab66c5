// chat-relay on libev (RELAY_EVENT_LOOP=libev, issue 8): the relay hands lws a libev loop of its
// own and runs it one iteration at a time, so everything its poll() loop did must still happen:
// chat, lws's timers (pings, PONG_TIMEOUT), the relay's one-second tick (a client that accepts
// nothing is closed after SEND_TIMEOUT), SIGHUP reloads, and the SIGTERM drain. The whole relay
// suite can also run on libev: RELAY_EVENT_LOOP=libev in the environment reaches every relay the
// tests start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { logCount } from './lib/ops.mjs';
import { connect, RawClient } from './lib/relay.mjs';
import { binPath, freePort, sleep, spawnDaemon, tmpDir, waitFor } from './lib/util.mjs';

delete process.env.RELAY_EVENT_LOOP;         // this file chooses the loop in its config file

function writeConf(file, lines) {
  writeFileSync(file, `${lines.join('\n')}\n`);
}

test('on libev: chat, pings, the tick, SIGHUP and the SIGTERM drain work as on poll', async () => {
  const dir = tmpDir('relay-libev-');
  const port = await freePort();
  const conf = path.join(dir, 'chat.conf');
  const base = [`RELAY_LISTEN=127.0.0.1:${port}`, 'STORAGE=none', `DATA_DIR=${dir}/data`,
    `RUN_DIR=${dir}/run`, `ANALYTICS_SHM=${dir}/analytics.shm`, 'LOG_LEVEL=info',
    'PING_INTERVAL=1', 'PONG_TIMEOUT=3', 'SEND_TIMEOUT=1', 'CLIENT_SEND_QUEUE=4096'];
  writeConf(conf, [...base, 'RELAY_EVENT_LOOP=libev', 'RATE_LIMIT_PER_SEC=100000',
    'RATE_LIMIT_BURST=100000']);
  const relay = spawnDaemon(binPath('relay/chat-relay'), ['--config', conf]);
  const url = (q) => `ws://127.0.0.1:${port}/ws?${new URLSearchParams(q)}`;
  try {
    await waitFor(async () => {
      if (relay.proc.exitCode !== null) throw new Error(`relay exited: ${relay.output()}`);
      return (await fetch(`http://127.0.0.1:${port}/health`)).status === 200;
    }, { what: 'relay /health' });
    assert.match(relay.output(), /"msg":"relay listening".*"loop":"epoll"/);

    // Chat between two clients.
    const a = await connect(url({ room: 'ev', userId: 'a' }));
    const b = await connect(url({ room: 'ev', userId: 'b' }));
    a.chat('over epoll');
    const got = await b.nextMessage((m) => m.type === 'chat' && m.content === 'over epoll');
    assert.equal(got.userId, 'a');

    // lws's timers run on the loop: a client that never answers pings is dropped.
    const silent = await RawClient.connect(port, '/ws?room=ev2', { autoPong: false });
    const t0 = Date.now();
    await Promise.race([silent.ended, sleep(15000)]);
    assert.ok(silent.pings >= 1, 'pinged');
    assert.ok(Date.now() - t0 < 12000, 'closed after PONG_TIMEOUT');

    // The relay's one-second tick runs too: a client that stops reading while a flood is
    // pending is closed with 1013 once nothing was accepted for SEND_TIMEOUT.
    const stuck = await connect(url({ room: 'flood', userId: 'stuck' }));
    stuck.ws._socket.pause();
    const writer = await connect(url({ room: 'flood', userId: 'writer' }));
    const content = 'z'.repeat(1000);
    let sent = 0;
    const t1 = Date.now();
    while (!relay.output().includes('slow client disconnected') && Date.now() - t1 < 40000) {
      if (sent - writer.chats().length < 2000) {   // paced by the writer's own copies
        for (let i = 0; i < 200; i++) writer.chat(content);
        sent += 200;
      }
      await sleep(10);
    }
    assert.match(relay.output(), /slow client disconnected/, `after ${sent} messages`);
    stuck.ws._socket.resume();
    const sc = await stuck.waitClose(15000);
    assert.ok(sc.code === 1013 || sc.code === 1006, `close code ${sc.code}`);

    // SIGHUP: the new file is read on the loop; the loop itself waits for a restart.
    writeConf(conf, [...base, 'RELAY_EVENT_LOOP=poll', 'RATE_LIMIT_PER_SEC=2',
      'RATE_LIMIT_BURST=1']);
    relay.proc.kill('SIGHUP');
    await waitFor(() => logCount(relay.output(), 'configuration reloaded') === 1, { what: 'reload' });
    assert.match(relay.output(),
      /"msg":"changed settings wait for a restart","keys":"RELAY_EVENT_LOOP"/);
    const c = await connect(url({ room: 'ev', userId: 'c' }));
    c.chat('one');
    c.chat('two');
    const err = await c.nextMessage((m) => m.type === 'system' && /rate limited/.test(m.content));
    assert.match(err.content, /at most 2 messages per second/);

    // SIGTERM: every client gets 1001 and the relay exits 0.
    const exit = relay.stop('SIGTERM');
    const codes = await Promise.all([a, b, c, writer].map((x) => x.waitClose()));
    assert.deepEqual(codes.map((x) => x.code), [1001, 1001, 1001, 1001]);
    assert.equal((await exit).code, 0, relay.output());
  } finally {
    if (relay.proc.exitCode === null) await relay.stop('SIGKILL');
  }
});

test('an unknown RELAY_EVENT_LOOP stops the relay with exit 2 naming the variable', async () => {
  const r = spawnDaemon(binPath('relay/chat-relay'), [],
    { env: { RELAY_EVENT_LOOP: 'epoll', STORAGE: 'none' } });
  assert.equal((await r.exited).code, 2);
  await waitFor(() => /RELAY_EVENT_LOOP: must be poll or libev: "epoll"/.test(r.output()),
    { what: 'the error on stderr' });
});
