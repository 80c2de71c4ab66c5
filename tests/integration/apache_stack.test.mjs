// The whole stack through one user-local Apache (issue 6): WebSocket chat via
// mod_proxy_wstunnel, live analytics in /api/analytics and /metrics matching what the test did
// over /ws, history paging with before, /health and /ready following the relay down and up
// while chat-restapi keeps serving, and ANALYTICS_PUBLIC_USERS=false.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/apache.mjs';
import { parsePrometheus, sampleValue } from './lib/prom.mjs';
import { connect, refusedHandshake } from './lib/relay.mjs';
import { waitFor } from './lib/util.mjs';

const json = async (s, p, init) => {
  const res = await fetch(s.baseUrl + p, init);
  return { status: res.status, body: await res.json(), res };
};
const wsUrl = (s, params) => `${s.wsUrl}?${new URLSearchParams(params)}`;

describe('chat and analytics through Apache (STORAGE=sqlite)', () => {
  let s;
  const clients = [];
  before(async () => { s = await startStack({ storage: 'sqlite' }); });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    if (s) await s.stop();
  });
  const open = async (params) => {
    const c = await connect(wsUrl(s, params), { origin: s.origin });
    clients.push(c);
    return c;
  };

  test('/health and /ready are ok with the relay up', async () => {
    const h = await waitFor(async () => {
      const r = await json(s, '/health');
      return r.body.relay === 'ok' ? r : null;
    }, { what: 'relay ok in /health' });
    assert.deepEqual(h.body, { status: 'ok', clients: 0, storage: 'ok', relay: 'ok' });
    const r = await json(s, '/ready');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ready');
  });

  test('WebSocket chat through Apache reaches everyone in the room', async () => {
    const a = await open({ room: 'apache-chat', userId: 'ann', username: 'Ann' });
    const b = await open({ room: 'apache-chat', userId: 'ben', username: 'Ben' });
    a.chat('hello through apache');
    for (const c of [a, b]) {
      const m = await c.nextMessage((x) => x.type === 'chat' && x.content === 'hello through apache');
      assert.equal(m.userId, 'ann');
      assert.equal(m.username, 'Ann');
      assert.equal(m.roomId, 'apache-chat');
      assert.match(m.messageId, /^[0-9a-f-]{36}$/);
    }
    a.ws.close();
    b.ws.close();
    await waitFor(async () => (await json(s, '/api/analytics')).body.activeConnections === 0,
      { what: 'connections back to 0' });
  });

  test('a foreign Origin is refused by the relay with 403 through Apache, not a 502', async () => {
    const r = await refusedHandshake(wsUrl(s, { room: 'x' }), { origin: 'https://evil.example' });
    assert.equal(r.status, 403);
  });

  test('/api/analytics and /metrics match what was done over /ws', async () => {
    const before0 = (await json(s, '/api/analytics')).body;
    const tab1 = await open({ room: 'stats', userId: 'carol', username: 'Carol' });
    const tab2 = await open({ room: 'stats', userId: 'carol', username: 'Carol' });
    const dave = await open({ room: 'stats', userId: 'dave', username: 'Dave' });
    const sent = 4;
    for (let i = 0; i < sent; i++) tab1.chat(`stat ${i}`);
    await dave.collect((m) => m.type === 'chat' && m.content.startsWith('stat '), sent);

    const a = await waitFor(async () => {
      const b = (await json(s, '/api/analytics')).body;
      return b.totalMessages === before0.totalMessages + sent && b.activeConnections === 3 ? b : null;
    }, { what: 'analytics to catch up' });
    assert.equal(a.activeUsers, 2, 'carol in two tabs counts once');
    assert.ok(a.peakConnections >= 3);
    assert.equal(a.messagesPerMinute.length, 15);
    const windowSum = a.messagesPerMinute.reduce((x, y) => x + y, 0);
    const before0Sum = before0.messagesPerMinute.reduce((x, y) => x + y, 0);
    assert.equal(windowSum - before0Sum, sent, 'the window counted exactly the messages sent');
    assert.equal(a.relay, 'ok');
    assert.ok(a.uptimeSeconds >= 0);
    assert.ok(!Number.isNaN(Date.parse(a.serverStartTime)));
    for (const k of ['latencyP50Ms', 'latencyP95Ms', 'latencyP99Ms']) assert.equal(typeof a[k], 'number');
    const users = a.activeUserDetails.map((u) => u.userId).sort();
    assert.deepEqual(users, ['carol', 'carol', 'dave']);
    for (const u of a.activeUserDetails) {
      assert.match(u.clientId, /^client-/);
      assert.ok(!Number.isNaN(Date.parse(u.joinedAt)));
    }
    const room = a.rooms.find((r) => r.roomId === 'stats');
    assert.equal(room.connections, 3);
    assert.equal(room.users, 2);
    assert.equal(room.messagesTotal, sent);
    for (const g of ['rejections', 'drops', 'persistence']) assert.equal(typeof a[g], 'object');

    const rooms = (await json(s, '/api/rooms')).body;
    assert.equal(rooms.rooms.find((r) => r.roomId === 'stats').connections, 3);

    const fams = parsePrometheus(await (await fetch(`${s.baseUrl}/metrics`)).text());
    assert.equal(sampleValue(fams, 'chat_relay_up'), 1);
    assert.equal(sampleValue(fams, 'chat_connections'), 3);
    assert.equal(sampleValue(fams, 'chat_users'), 2);
    assert.equal(sampleValue(fams, 'chat_messages_total'), a.totalMessages);
    assert.equal(sampleValue(fams, 'chat_room_connections', { room: 'stats' }), 3);
    assert.ok(sampleValue(fams, 'chat_fanout_latency_seconds_count') >= sent);

    tab2.ws.close();
    await waitFor(async () => {
      const b = (await json(s, '/api/analytics')).body;
      return b.activeConnections === 2 && b.activeUsers === 2;
    }, { what: 'one tab closed: 2 connections, still 2 users' });
    tab1.ws.close();
    dave.ws.close();
    await waitFor(async () => {
      const b = (await json(s, '/api/analytics')).body;
      return b.activeConnections === 0 && b.activeUsers === 0;
    }, { what: 'all closed' });
  });

  test('history pages backwards with before and nextBefore', async () => {
    const w = await open({ room: 'paging', userId: 'erin', username: 'Erin' });
    const n = 7;
    for (let i = 0; i < n; i++) w.chat(`page ${i}`);
    await w.collect((m) => m.type === 'chat' && m.content.startsWith('page '), n);
    const all = await waitFor(async () => {
      const r = await json(s, '/api/rooms/paging/messages?limit=200');
      return r.body.messages.filter((m) => m.type === 'chat').length === n ? r.body : null;
    }, { what: 'messages persisted' });
    assert.equal(all.hasMore, false);
    assert.equal(all.nextBefore, null);
    assert.deepEqual(all.messages.filter((m) => m.type === 'chat').map((m) => m.content),
      Array.from({ length: n }, (_, i) => `page ${i}`), 'oldest first');

    const pages = [];
    let next = null;
    for (let guard = 0; guard < 20; guard++) {
      const q = `limit=3${next ? `&before=${next}` : ''}`;
      const r = await json(s, `/api/rooms/paging/messages?${q}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.roomId, 'paging');
      assert.equal(r.body.count, r.body.messages.length);
      assert.ok(r.body.count <= 3);
      pages.unshift(r.body.messages);
      if (r.body.hasMore) {
        assert.equal(r.body.nextBefore, r.body.messages[0].messageId);
      } else {
        assert.equal(r.body.nextBefore, null);
      }
      next = r.body.nextBefore;
      if (!next) break;
    }
    assert.equal(next, null, 'paging ended');
    assert.deepEqual(pages.flat().map((m) => m.messageId), all.messages.map((m) => m.messageId),
      'the pages put together are the whole history, in order, without overlap');

    const user = await json(s, '/api/users/erin/messages?limit=2');
    assert.equal(user.body.userId, 'erin');
    assert.deepEqual(user.body.messages.map((m) => m.content), ['page 5', 'page 6']);
    assert.equal(user.body.hasMore, true);
    w.ws.close();
  });

  test('the relay restarting: chat-restapi keeps serving, /health follows, chat resumes', async () => {
    const restapiPid = s.restapi.pid;
    await s.stopRelay();
    const down = await waitFor(async () => {
      const r = await json(s, '/health');
      return r.body.relay === 'down' ? r : null;
    }, { what: 'relay down in /health', timeoutMs: 15000 });
    assert.equal(down.status, 200);
    assert.equal(down.body.status, 'degraded');
    const ready = await json(s, '/ready');
    assert.equal(ready.status, 503);
    const an = await json(s, '/api/analytics');
    assert.equal(an.status, 200);
    assert.equal(an.body.relay, 'down');
    const hist = await json(s, '/api/rooms/paging/messages');
    assert.equal(hist.status, 200, 'history is served from the store while the relay is down');
    const refused = await refusedHandshake(wsUrl(s, { room: 'x' }), { origin: s.origin });
    assert.equal(refused.status, 503, 'no relay: Apache answers 503 at once');

    await s.startRelay();
    await waitFor(async () => (await json(s, '/health')).body.relay === 'ok', { what: 'relay ok again' });
    assert.equal(s.restapi.pid, restapiPid, 'chat-restapi was not restarted');
    assert.equal(s.restapi.proc.exitCode, null);
    const c = await open({ room: 'after-restart', userId: 'fay', username: 'Fay' });
    c.chat('back again');
    await c.nextMessage((m) => m.type === 'chat' && m.content === 'back again');
    c.ws.close();
  });
});

describe('ANALYTICS_PUBLIC_USERS=false', () => {
  test('hides the active user list from anonymous callers but still counts', async () => {
    const s = await startStack({ storage: 'none', env: { ANALYTICS_PUBLIC_USERS: 'false' } });
    const c = await connect(wsUrl(s, { room: 'quiet', userId: 'gil', username: 'Gil' }), { origin: s.origin });
    try {
      const a = await waitFor(async () => {
        const b = (await json(s, '/api/analytics')).body;
        return b.activeConnections === 1 ? b : null;
      }, { what: 'one connection' });
      assert.equal(a.activeUsers, 1);
      assert.deepEqual(a.activeUserDetails, []);
      assert.equal(a.activeUserDetailsHidden, true);
    } finally {
      c.ws.terminate();
      await s.stop();
    }
  });
});
