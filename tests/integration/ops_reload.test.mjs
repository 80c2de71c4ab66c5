// SIGHUP reloads the configuration file (issue 10), with clients connected: new connections
// get the new origin allowlist and rate limits while the open ones keep theirs and stay; an
// invalid file is logged and the running configuration stays; settings that need a restart
// are named and keep their running value. Under a stand-in for systemd the daemons report
// READY=1, RELOADING=1 (with MONOTONIC_USEC) and STOPPING=1 over $NOTIFY_SOCKET.
// Every setting lives in the --config file here: the environment would win over it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, refusedHandshake } from './lib/relay.mjs';
import { fcgiGet, logCount, notifyListener } from './lib/ops.mjs';
import { binPath, freePort, spawnDaemon, tmpDir, waitFor } from './lib/util.mjs';

const OLD = 'http://old.example';
const NEW = 'http://new.example';

function writeConf(file, lines) {
  writeFileSync(file, `${lines.join('\n')}\n`);
}

async function reloaded(d, msg, n) {
  await waitFor(() => logCount(d.output(), msg) >= n, { what: `${n} x "${msg}"` });
}

test('chat-relay: SIGHUP applies new origins and rate limits to new connections only; a bad file changes nothing', async () => {
  const dir = tmpDir('ops-reload-relay-');
  const port = await freePort();
  const other = await freePort();
  const conf = path.join(dir, 'chat.conf');
  const base = [`RELAY_LISTEN=127.0.0.1:${port}`, 'STORAGE=none', `DATA_DIR=${dir}/data`,
    `RUN_DIR=${dir}/run`, `ANALYTICS_SHM=${dir}/analytics.shm`];
  writeConf(conf, [...base, `ALLOWED_ORIGINS=${OLD}`, 'RATE_LIMIT_PER_SEC=100',
    'RATE_LIMIT_BURST=100', 'LOG_LEVEL=info']);
  const notify = await notifyListener(path.join(dir, 'notify'));
  const relay = spawnDaemon(binPath('relay/chat-relay'), ['--config', conf],
    { env: { NOTIFY_SOCKET: notify.path } });
  const url = (q) => `ws://127.0.0.1:${port}/ws?${new URLSearchParams(q)}`;
  try {
    await waitFor(() => notify.states().includes('READY=1'), { what: 'READY=1' });
    const before = await connect(url({ room: 'r', userId: 'before' }), { origin: OLD });
    assert.equal((await refusedHandshake(url({ room: 'r', userId: 'x' }), { origin: NEW })).status, 403);

    // A good file: new origin, strict rate limit, debug logging, and a listener change that
    // has to wait for a restart.
    writeConf(conf, [...base.map((l) => l.replace(`:${port}`, `:${other}`)),
      `ALLOWED_ORIGINS=${NEW}`, 'RATE_LIMIT_PER_SEC=0.01', 'RATE_LIMIT_BURST=2', 'LOG_LEVEL=debug']);
    relay.proc.kill('SIGHUP');
    await reloaded(relay, 'configuration reloaded', 1);
    await reloaded(relay, 'changed settings wait for a restart', 1);
    assert.match(relay.output(), /"msg":"changed settings wait for a restart","keys":"RELAY_LISTEN"/);
    const st = await waitFor(() => {
      const x = notify.states();
      return x.filter((s) => s === 'READY=1').length === 2 && x;
    }, { what: 'READY=1 after the reload' });
    const i = st.findIndex((s) => s.startsWith('RELOADING=1\nMONOTONIC_USEC='));
    assert.ok(i > 0, JSON.stringify(st));
    assert.equal(st[i + 1], 'READY=1');

    // New connections: the new allowlist (still on the old port) and the new bucket.
    assert.equal((await refusedHandshake(url({ room: 'r', userId: 'x' }), { origin: OLD })).status, 403);
    const after = await connect(url({ room: 'r', userId: 'after' }), { origin: NEW });
    for (let k = 0; k < 5; k++) after.chat(`after ${k}`, { nonce: `a${k}` });
    const limited = await after.nextMessage((m) => m.type === 'error' && m.code === 'rate_limited');
    assert.equal(limited.nonce, 'a2');                 // burst of 2, then refused
    // The connection from before stays open and keeps its burst of 100.
    assert.equal(before.closed, null);
    for (let k = 0; k < 5; k++) before.chat(`before ${k}`, { nonce: `b${k}` });
    const acks = await before.collect((m) => m.type === 'ack', 5);
    assert.deepEqual(acks.map((m) => m.nonce), ['b0', 'b1', 'b2', 'b3', 'b4']);
    assert.equal(before.messages.filter((m) => m.type === 'error').length, 0);

    // A bad file: logged with the reason, nothing changes, the relay keeps serving.
    writeConf(conf, [...base, `ALLOWED_ORIGINS=${OLD}`, 'RATE_LIMIT_PER_SEC=lots']);
    relay.proc.kill('SIGHUP');
    await reloaded(relay, 'configuration reload failed; the running configuration stays', 1);
    assert.match(relay.output(), /"err":"RATE_LIMIT_PER_SEC: not a number: \\"lots\\""/);
    assert.equal(logCount(relay.output(), 'configuration reloaded'), 1);
    assert.equal((await refusedHandshake(url({ room: 'r', userId: 'y' }), { origin: OLD })).status, 403);
    const third = await connect(url({ room: 'r', userId: 'third' }), { origin: NEW });
    before.chat('still here', { nonce: 'b-last' });
    await third.nextMessage((m) => m.type === 'chat' && m.content === 'still here');
    assert.equal(before.closed, null);
    assert.equal(after.closed, null);
    await Promise.all([before.close(), after.close(), third.close()]);
  } finally {
    const r = await relay.stop('SIGTERM');
    assert.equal(r.code, 0, relay.output().slice(-2000));
  }
  await waitFor(() => notify.states().includes('STOPPING=1'), { what: 'STOPPING=1' });
  notify.stop();
});

test('chat-restapi: SIGHUP applies new CORS origins and TOKEN_TTL; a bad file changes nothing', async () => {
  const dir = tmpDir('ops-reload-rest-');
  const sock = path.join(dir, 'restapi.sock');
  const conf = path.join(dir, 'chat.conf');
  const base = ['STORAGE=none', `RUN_DIR=${dir}`, `RESTAPI_LISTEN=${sock}`, 'AUTH_SECRET=reload-test'];
  writeConf(conf, [...base, `ALLOWED_ORIGINS=${OLD}`, 'TOKEN_TTL=600', 'RESTAPI_THREADS=2']);
  const notify = await notifyListener(path.join(dir, 'notify'));
  const rest = spawnDaemon(binPath('restapi/chat-restapi'), ['--config', conf],
    { env: { NOTIFY_SOCKET: notify.path } });
  const token = async () => {
    const r = await fcgiGet(sock, { REQUEST_URI: '/api/token', REMOTE_USER: 'alice' });
    assert.equal(r.status, 200, r.body);
    return r.json.expiresAt ? new Date(r.json.expiresAt).getTime() / 1000 - Date.now() / 1000 : NaN;
  };
  const acao = async (origin) => (await fcgiGet(sock, { REQUEST_URI: '/api/rooms', HTTP_ORIGIN: origin }))
    .headers['access-control-allow-origin'];
  try {
    await waitFor(() => notify.states().includes('READY=1'), { what: 'READY=1' });
    assert.equal(await acao(OLD), OLD);
    assert.equal(await acao(NEW), undefined);
    const ttl1 = await token();
    assert.ok(ttl1 > 590 && ttl1 <= 601, `ttl ${ttl1}`);

    assert.equal(logCount(rest.output(), 'request'), 0, 'request lines are debug');
    writeConf(conf, [...base, `ALLOWED_ORIGINS=${NEW}`, 'TOKEN_TTL=60', 'RESTAPI_THREADS=3', 'LOG_LEVEL=debug']);
    rest.proc.kill('SIGHUP');
    await reloaded(rest, 'configuration reloaded', 1);
    await reloaded(rest, 'changed settings wait for a restart', 1);
    assert.match(rest.output(), /"msg":"changed settings wait for a restart","keys":"RESTAPI_THREADS"/);
    assert.equal(await acao(NEW), NEW);
    assert.equal(await acao(OLD), undefined);
    const ttl2 = await token();
    assert.ok(ttl2 > 50 && ttl2 <= 61, `ttl ${ttl2}`);
    await waitFor(() => logCount(rest.output(), 'request') >= 3, { what: 'debug request lines: LOG_LEVEL=debug applies at once' });

    writeConf(conf, [...base, `ALLOWED_ORIGINS=${OLD}`, 'TOKEN_TTL=0']);
    rest.proc.kill('SIGHUP');
    await reloaded(rest, 'configuration reload failed; the running configuration stays', 1);
    assert.match(rest.output(), /"err":"TOKEN_TTL: must be between 1 and/);
    assert.equal(await acao(NEW), NEW);
    const ttl3 = await token();
    assert.ok(ttl3 > 50 && ttl3 <= 61, `ttl ${ttl3}`);
    const st = await waitFor(() => {
      const x = notify.states();
      return x.filter((s) => s === 'READY=1').length >= 3 && x;
    }, { what: 'READY=1 after each reload' });
    assert.equal(st.filter((s) => s.startsWith('RELOADING=1\nMONOTONIC_USEC=')).length, 2, JSON.stringify(st));
    assert.equal(st.filter((s) => s === 'READY=1').length, 3, JSON.stringify(st));
  } finally {
    const r = await rest.stop('SIGTERM');
    assert.equal(r.code, 0, rest.output().slice(-2000));
  }
  await waitFor(() => notify.states().includes('STOPPING=1'), { what: 'STOPPING=1' });
  notify.stop();
});
