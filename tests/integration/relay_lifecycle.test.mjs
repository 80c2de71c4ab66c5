// chat-relay lifecycle (issue 3): command line, bad configuration, keep-alive, slow consumers,
// SIGTERM drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { startRelay, connect, RawClient, rssKiB } from './lib/relay.mjs';
import { binPath, sleep, waitFor } from './lib/util.mjs';

test('--help lists options and variables, --version prints the version', () => {
  const help = spawnSync(binPath('relay/chat-relay'), ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--config FILE/);
  assert.match(help.stdout, /RELAY_LISTEN/);
  assert.match(help.stdout, /CLIENT_SEND_QUEUE/);
  const ver = spawnSync(binPath('relay/chat-relay'), ['--version'], { encoding: 'utf8' });
  assert.equal(ver.status, 0);
  assert.match(ver.stdout, /^chat-relay \d+\.\d+/);
});

test('a bad value stops the relay with an error naming the variable', () => {
  const r = spawnSync(binPath('relay/chat-relay'), [], {
    encoding: 'utf8', env: { ...process.env, RATE_LIMIT_PER_SEC: 'abc', STORAGE: 'none' }, timeout: 10000,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /RATE_LIMIT_PER_SEC/);
});

test('a client that does not answer pings is closed after PONG_TIMEOUT', async () => {
  const relay = await startRelay({ env: { PING_INTERVAL: '1', PONG_TIMEOUT: '3' } });
  const silent = await RawClient.connect(relay.port, '/ws?room=ka', { autoPong: false });
  const polite = await RawClient.connect(relay.port, '/ws?room=ka', { autoPong: true });
  const t0 = Date.now();
  await Promise.race([silent.ended, sleep(15000)]);
  const took = Date.now() - t0;
  assert.ok(silent.pings >= 1, 'the relay pinged');
  assert.ok(took >= 2000 && took < 12000, `silent client closed after ${took} ms`);
  // A client answering pings stays: it still gets its own message through.
  polite.sendFrame(0x1, JSON.stringify({ type: 'chat', content: 'still here' }));
  await waitFor(() => polite.texts().some((m) => m.content === 'still here'), { what: 'polite echo' });
  assert.equal(polite.sock.destroyed, false);
  polite.destroy();
  assert.equal((await relay.stop()).code, 0, relay.output());
});

test('a client that never reads loses messages, is disconnected, and memory stays bounded', async () => {
  const relay = await startRelay({
    env: {
      RATE_LIMIT_PER_SEC: '100000', RATE_LIMIT_BURST: '100000',
      CLIENT_SEND_QUEUE: '64', SLOW_CLIENT_TIMEOUT: '2', SEND_TIMEOUT: '2', HISTORY_REPLAY: '0',
      // ASan keeps 256 MiB of freed memory in quarantine by default; RSS would measure that.
      ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : ''}quarantine_size_mb=4`,
    },
  });
  const stuck = await connect(relay.wsUrl({ room: 'slow', userId: 'stuck' }));
  stuck.ws._socket.pause();                          // stop reading: the kernel buffers fill
  const writer = await connect(relay.wsUrl({ room: 'slow', userId: 'writer' }));
  const reader = await connect(relay.wsUrl({ room: 'slow', userId: 'reader' }));
  const rss0 = await rssKiB(relay.pid);
  const content = 'z'.repeat(1000);
  let sent = 0;
  const t0 = Date.now();
  // Write until the relay gives up on the stuck client, paced by the reader so that only the
  // stuck one falls behind (a sanitizer build is several times slower).
  while (!relay.output().includes('slow client disconnected') && Date.now() - t0 < 40000) {
    if (sent - reader.chats().length < 2000) {
      for (let i = 0; i < 200; i++) writer.chat(content);
      sent += 200;
    }
    await sleep(10);
  }
  assert.match(relay.output(), /slow client disconnected/, `after ${sent} messages`);
  // Everyone else got everything, and a probe still arrives promptly.
  await reader.collect((m) => m.type === 'chat', sent, 30000);
  const t1 = Date.now();
  writer.chat('probe');
  await reader.nextMessage((m) => m.content === 'probe', 5000);
  assert.ok(Date.now() - t1 < 2000, `probe took ${Date.now() - t1} ms`);
  const rss1 = await rssKiB(relay.pid);
  assert.ok(rss1 - rss0 < 64 * 1024, `relay RSS grew by ${rss1 - rss0} KiB`);
  stuck.ws._socket.resume();
  const c = await stuck.waitClose(15000);
  assert.ok(c.code === 1013 || c.code === 1006, `close code ${c.code}`);
  await Promise.all([writer.close(), reader.close()]);
  assert.equal((await relay.stop()).code, 0, relay.output());
});

test('a client that falls behind is told how many messages it missed', async () => {
  const relay = await startRelay({
    env: {
      RATE_LIMIT_PER_SEC: '100000', RATE_LIMIT_BURST: '100000',
      CLIENT_SEND_QUEUE: '8', SLOW_CLIENT_TIMEOUT: '30', SEND_TIMEOUT: '30', HISTORY_REPLAY: '0',
    },
  });
  const lag = await connect(relay.wsUrl({ room: 'lag', userId: 'lag' }));
  lag.ws._socket.pause();
  const writer = await connect(relay.wsUrl({ room: 'lag', userId: 'writer' }));
  const big = 'q'.repeat(1000);
  for (let i = 0; i < 20000; i++) writer.chat(big);
  writer.chat('last');
  // The writer's own queue is small too: the newest message always arrives.
  await writer.nextMessage((m) => m.content === 'last', 30000);
  lag.ws._socket.resume();
  await lag.nextMessage((m) => m.content === 'last', 15000);
  const notices = () => lag.messages.filter((m) => m.type === 'system' && /missed/.test(m.content));
  const missed = () => notices().reduce((n, m) => n + Number(/missed (\d+)/.exec(m.content)[1]), 0);
  // The last notice may follow the last message: every message is either received or reported.
  await waitFor(() => lag.chats().length + missed() === 20001,
    { what: `received + missed = 20001 (got ${lag.chats().length} + ${missed()})` });
  assert.ok(notices().length >= 1 && missed() > 0);
  await Promise.all([writer.close(), lag.close()]);
  assert.equal((await relay.stop()).code, 0, relay.output());
});

test('SIGTERM closes every client with 1001 and exits 0', async () => {
  const relay = await startRelay();
  const cs = [await connect(relay.wsUrl({ room: 'bye' })), await connect(relay.wsUrl({ room: 'bye2' }))];
  const exit = relay.stop('SIGTERM');
  const codes = await Promise.all(cs.map((c) => c.waitClose()));
  assert.deepEqual(codes.map((c) => c.code), [1001, 1001]);
  assert.equal((await exit).code, 0, relay.output());
});

test('SIGUSR1 reopens LOG_FILE after it was rotated away (SIGHUP reloads the configuration)', async () => {
  const relay = await startRelay();
  await relay.stop();
  const logFile = path.join(relay.dir, 'relay.log');
  const r = await startRelay({ dir: relay.dir, env: { LOG_FILE: logFile } });
  await waitFor(() => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('relay listening'), { what: 'log file' });
  renameSync(logFile, `${logFile}.1`);
  r.daemon.proc.kill('SIGUSR1');
  await waitFor(() => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('log reopened'), { what: 'reopened log' });
  assert.equal((await r.stop()).code, 0, r.output());
  assert.match(readFileSync(logFile, 'utf8'), /relay stopped/);
});

test('with RELAY_TLS_CERT and RELAY_TLS_KEY the relay serves wss', async () => {
  const dir = (await import('./lib/util.mjs')).tmpDir('relay-tls-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
    '-keyout', key, '-out', cert, '-days', '1'], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  const relay = await startRelay({ env: { RELAY_TLS_CERT: cert, RELAY_TLS_KEY: key } });
  assert.equal((await relay.health()).status, 'ok');
  const c = await connect(relay.wsUrl({ room: 'tls' }), { wsOptions: { rejectUnauthorized: false } });
  c.chat('secure');
  assert.equal((await c.nextMessage((m) => m.type === 'chat')).content, 'secure');
  await c.close();
  assert.equal((await relay.stop()).code, 0, relay.output());
});
