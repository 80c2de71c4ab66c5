// chat-relay handshake checks (issue 3): auth, origin, room names, per-IP limit — all answered
// with an HTTP status before the upgrade.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startRelay, connect, refusedHandshake } from './lib/relay.mjs';

const SECRET = 'relay-test-secret';

// The Go token format: base64url(payload) "." base64url(HMAC-SHA256(secret, payload)).
function mint(userId, expiry, name, secret = SECRET) {
  const payload = name === undefined ? `${userId}|${expiry}` : `${userId}|${expiry}|${name}`;
  const mac = crypto.createHmac('sha256', secret).update(payload).digest('base64url');
  return `${Buffer.from(payload).toString('base64url')}.${mac}`;
}
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

let relay;
before(async () => {
  relay = await startRelay({
    env: {
      AUTH_SECRET: SECRET,
      ALLOWED_ORIGINS: 'https://chat.example',
      MAX_CONN_PER_IP: '3',
    },
  });
});
after(async () => {
  const r = await relay.stop();
  assert.equal(r.code, 0, relay.output());
});

const origin = 'https://chat.example';

test('without a token the handshake gets 401', async () => {
  const r = await refusedHandshake(relay.wsUrl({ room: 'a' }), { origin });
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.body).error, 'token_missing');
});

test('a forged token gets 401', async () => {
  const r = await refusedHandshake(relay.wsUrl({ room: 'a', token: mint('mallory', inAnHour(), undefined, 'other') }), { origin });
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.body).error, 'token_bad_signature');
});

test('an expired token gets 401', async () => {
  const r = await refusedHandshake(relay.wsUrl({ room: 'a', token: mint('alice', Math.floor(Date.now() / 1000) - 5) }), { origin });
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.body).error, 'token_expired');
});

test('a malformed token gets 401', async () => {
  const r = await refusedHandshake(relay.wsUrl({ room: 'a', token: 'not-a-token' }), { origin });
  assert.equal(r.status, 401);
});

test('a valid token sets the user id (userId is ignored) and its name overrides username', async () => {
  const c = await connect(relay.wsUrl({ room: 'tok', userId: 'spoof', username: 'Spoof', token: mint('alice', inAnHour(), 'Alice A.') }), { origin });
  c.chat('hi');
  const m = await c.nextMessage((x) => x.type === 'chat');
  assert.equal(m.userId, 'alice');
  assert.equal(m.username, 'Alice A.');
  await c.close();
});

test('without a name in the token the username parameter is kept', async () => {
  const c = await connect(relay.wsUrl({ room: 'tok2', userId: 'spoof', username: 'Bobby', token: mint('bob', inAnHour()) }), { origin });
  c.chat('hi');
  const m = await c.nextMessage((x) => x.type === 'chat');
  assert.equal(m.userId, 'bob');
  assert.equal(m.username, 'Bobby');
  await c.close();
});

test('the token may come in an Authorization: Bearer header', async () => {
  const c = await connect(relay.wsUrl({ room: 'hdr' }), { origin, headers: { Authorization: `Bearer ${mint('carol', inAnHour())}` } });
  c.chat('hi');
  assert.equal((await c.nextMessage((x) => x.type === 'chat')).userId, 'carol');
  await c.close();
});

test('the token may come as a Sec-WebSocket-Protocol entry and "chat" is echoed', async () => {
  const c = await connect(relay.wsUrl({ room: 'proto' }), { origin, protocols: ['chat', `bearer.${mint('dave', inAnHour())}`] });
  assert.equal(c.ws.protocol, 'chat');
  c.chat('hi');
  assert.equal((await c.nextMessage((x) => x.type === 'chat')).userId, 'dave');
  await c.close();
});

test('a long bearer entry offered before "chat" gets 400, not a dropped connection', async () => {
  const token = mint('a-rather-long-user-identifier', inAnHour(), 'Somebody');
  const r = await refusedHandshake(relay.wsUrl({ room: 'proto' }), { origin, protocols: [`bearer.${token}`, 'chat'] });
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body).message, /before/);
});

test('a Sec-WebSocket-Protocol offer without "chat" gets 400', async () => {
  const r = await refusedHandshake(relay.wsUrl({ room: 'proto' }), { origin, protocols: [`bearer.${mint('dave', inAnHour())}`] });
  assert.equal(r.status, 400);
});

test('a forbidden Origin gets 403', async () => {
  const r = await refusedHandshake(relay.wsUrl({ room: 'a', token: mint('alice', inAnHour()) }), { origin: 'https://evil.example' });
  assert.equal(r.status, 403);
});

for (const room of ['bad room', 'x'.repeat(65), 'semi;colon', 'slash/room']) {
  test(`room name ${JSON.stringify(room.slice(0, 20))} gets 400`, async () => {
    const r = await refusedHandshake(relay.wsUrl({ room, token: mint('alice', inAnHour()) }), { origin });
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).error, 'bad_room');
  });
}

test('a 4 KiB room, token or Origin gets a 4xx answer, not a dropped connection', async () => {
  const room = await refusedHandshake(relay.wsUrl({ room: 'r'.repeat(4096) }), { origin });
  assert.equal(room.status, 400);
  const token = await refusedHandshake(relay.wsUrl({ room: 'a' }), { origin, headers: { Authorization: `Bearer ${'t'.repeat(4096)}` } });
  assert.equal(token.status, 401);
  const o = await refusedHandshake(relay.wsUrl({ room: 'a', token: mint('alice', inAnHour()) }), { origin: `https://${'e'.repeat(4096)}.com` });
  assert.equal(o.status, 403);
});

test('the reserved name System is refused for everyone', async () => {
  const r = await refusedHandshake(relay.wsUrl({ room: 'a', username: 'sYsTeM', token: mint('eve', inAnHour()) }), { origin });
  assert.equal(r.status, 400);
});

test('more than MAX_CONN_PER_IP connections from one address get 429', async () => {
  const url = relay.wsUrl({ room: 'ip', token: mint('frank', inAnHour()) });
  const open = [await connect(url, { origin }), await connect(url, { origin }), await connect(url, { origin })];
  const r = await refusedHandshake(url, { origin });
  assert.equal(r.status, 429);
  await open[0].close();
  const again = await connect(url, { origin });
  await Promise.all([again.close(), open[1].close(), open[2].close()]);
});

test('a handshake that never completes is closed after HANDSHAKE_TIMEOUT', async () => {
  const slow = await startRelay({ env: { HANDSHAKE_TIMEOUT: '2' } });
  const net = await import('node:net');
  const sock = net.connect(slow.port, '127.0.0.1');
  await new Promise((r) => sock.on('connect', r));
  sock.write('GET /ws HTTP/1.1\r\nHost: x\r\n');       // and nothing more
  const t0 = Date.now();
  await new Promise((r) => sock.on('close', r));
  const took = Date.now() - t0;
  assert.ok(took < 9000, `closed after ${took} ms`);
  assert.equal((await slow.stop()).code, 0);
});

test('X-Forwarded-For decides the client address only when the peer is a trusted proxy', async () => {
  const viaProxy = await startRelay({ env: { MAX_CONN_PER_IP: '1' } });    // trusts 127.0.0.1
  const url = viaProxy.wsUrl({ room: 'xff' });
  const a = await connect(url, { headers: { 'X-Forwarded-For': '203.0.113.9, 10.0.0.1' } });
  const b = await connect(url, { headers: { 'X-Forwarded-For': '10.0.0.2' } });
  const r = await refusedHandshake(url, { headers: { 'X-Forwarded-For': '198.51.100.7, 10.0.0.1' } });
  assert.equal(r.status, 429, 'the rightmost untrusted hop counts');
  await Promise.all([a.close(), b.close()]);
  assert.equal((await viaProxy.stop()).code, 0);

  const direct = await startRelay({ env: { MAX_CONN_PER_IP: '1', TRUSTED_PROXIES: '192.0.2.1' } });
  const durl = direct.wsUrl({ room: 'xff' });
  const c = await connect(durl, { headers: { 'X-Forwarded-For': '10.0.0.1' } });
  const r2 = await refusedHandshake(durl, { headers: { 'X-Forwarded-For': '10.0.0.2' } });
  assert.equal(r2.status, 429, 'an untrusted peer cannot claim another address');
  await c.close();
  assert.equal((await direct.stop()).code, 0);
});

test('at MAX_ROOMS an idle empty room makes way; with none idle a new room gets 503', async () => {
  const small = await startRelay({ env: { MAX_ROOMS: '2' } });
  const a = await connect(small.wsUrl({ room: 'r1' }));
  a.chat('one');
  a.chat('two');
  await a.collect((m) => m.type === 'chat', 2);
  const epoch = a.messages[0].epoch;
  await a.close();
  const b = await connect(small.wsUrl({ room: 'r2' }));
  const c = await connect(small.wsUrl({ room: 'r3' }));         // evicts the empty r1
  const r = await refusedHandshake(small.wsUrl({ room: 'r4' }));
  assert.equal(r.status, 503);
  const d = await connect(small.wsUrl({ room: 'r2' }));         // existing rooms still admit
  await c.close();
  // r1 comes back (evicting the empty r3): its sequence and epoch continue.
  const a2 = await connect(small.wsUrl({ room: 'r1' }));
  assert.equal(a2.messages[0].seq, 2);
  assert.equal(a2.messages[0].epoch, epoch);
  a2.chat('three');
  assert.equal((await a2.nextMessage((m) => m.type === 'chat')).seq, 3);
  await Promise.all([b.close(), d.close(), a2.close()]);
  assert.equal((await small.stop()).code, 0, small.output());
});
