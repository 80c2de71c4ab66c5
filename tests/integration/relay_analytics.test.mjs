// chat-relay's analytics hooks (issues 3 and 4): what the relay writes into the shared segment,
// read back through chat-restapi's /api/analytics (FastCGI, no Apache needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startRelay, connect, refusedHandshake } from './lib/relay.mjs';
import { fcgiGet } from './lib/ops.mjs';
import { binPath, spawnDaemon, waitFor } from './lib/util.mjs';

const origin = 'https://chat.example';

test('connections, users, messages, rejections by reason and fan-out latency reach the segment', async () => {
  const relay = await startRelay({
    env: { RATE_LIMIT_PER_SEC: '1', RATE_LIMIT_BURST: '10', ALLOWED_ORIGINS: origin },
  });
  const sock = path.join(relay.dir, 'rest.sock');
  const rest = spawnDaemon(binPath('restapi/chat-restapi'), [], {
    env: { STORAGE: 'none', RUN_DIR: relay.dir, RESTAPI_LISTEN: sock, ANALYTICS_SHM: relay.env.ANALYTICS_SHM },
  });
  try {
    await waitFor(() => existsSync(sock), { what: 'chat-restapi socket' });
    const a1 = await connect(relay.wsUrl({ room: 'an-a', userId: 'u1', username: 'One' }), { origin });
    const a2 = await connect(relay.wsUrl({ room: 'an-a', userId: 'u1', username: 'One' }), { origin });
    const b = await connect(relay.wsUrl({ room: 'an-b', userId: 'u2' }), { origin });
    for (let i = 0; i < 12; i++) a1.chat(`m${i}`);                // burst of 10, then refused
    b.chat('b');
    a2.send({ type: 'chat', content: '' });
    a2.send('not json');
    await a2.collect((m) => m.type === 'system', 2);
    await b.nextMessage((m) => m.content === 'b');
    await a2.nextMessage((m) => m.content === 'm9');
    const big = await connect(relay.wsUrl({ room: 'an-c' }), { origin });
    big.chat('x'.repeat(9000));
    assert.equal((await big.waitClose()).code, 1009);
    assert.equal((await refusedHandshake(relay.wsUrl({ room: 'an-a' }), { origin: 'https://evil.example' })).status, 403);
    assert.equal((await refusedHandshake(relay.wsUrl({ room: 'bad room' }), { origin })).status, 400);
    const s = await waitFor(async () => {
      const r = await fcgiGet(sock, { REQUEST_URI: '/api/analytics' });
      return r.status === 200 && r.json.relay === 'ok' && r.json.activeConnections === 3 ? r.json : null;
    }, { what: '/api/analytics with three connections' });
    assert.equal(s.relay, 'ok');
    const accepted = a1.chats().filter((m) => m.userId === 'u1').length;
    assert.ok(accepted >= 10 && accepted <= 11, `accepted ${accepted}`);
    assert.equal(s.totalMessages, accepted + 1);
    assert.equal(s.rejectedRateLimited, 12 - accepted);
    assert.equal(s.rejectedInvalid, 2);
    assert.equal(s.rejectedTooLarge, 1);
    assert.equal(s.rejectedOrigin, 1);
    assert.equal(s.rejectedBadRequest, 1);
    assert.equal(s.activeConnections, 3);
    assert.equal(s.activeUsers, 2, 'a user with two tabs counts once');
    assert.equal(s.peakConnections, 4);
    assert.equal(s.connectionsTotal, 4);
    assert.ok(s.deliveriesTotal >= 2 * accepted + 1, `deliveries ${s.deliveriesTotal}`);
    assert.ok(s.latencyP50Ms > 0 && s.latencyP99Ms >= s.latencyP50Ms, JSON.stringify(s));
    assert.ok(s.relayRssBytes > 1024 * 1024);
    const roomA = s.rooms.find((x) => x.roomId === 'an-a');
    assert.equal(roomA.connections, 2);
    assert.equal(roomA.users, 1);
    assert.equal(roomA.messagesTotal, accepted);
    assert.deepEqual(s.activeUserDetails.map((u) => u.userId).sort(), ['u1', 'u1', 'u2']);
    await Promise.all([a1.close(), a2.close(), b.close()]);
  } finally {
    await rest.stop();
    assert.equal((await relay.stop()).code, 0, relay.output());
  }
});
