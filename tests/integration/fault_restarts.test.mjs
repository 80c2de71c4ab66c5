// Process faults under load (issue 9), through the whole stack:
//  - chat-relay SIGKILLed while clients chat through Apache, then started again: chat-restapi
//    keeps answering (its /health shows the relay down, then ok, with the same PID), the
//    clients reconnect by themselves, and no message that was broadcast or acknowledged before
//    the kill is missing from the store (the journal is replayed at start), none stored twice.
//  - Apache gracefully restarted (SIGUSR1 to the parent, what `apachectl -k graceful` sends)
//    while clients are connected: the relay and chat-restapi are untouched (same PIDs, /health
//    ok), and every client chats again afterwards, on its old tunnel or a new one.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { startStack } from './lib/apache.mjs';
import { Client } from './lib/relay.mjs';
import { sleep, waitFor } from './lib/util.mjs';

const json = async (s, p) => {
  const res = await fetch(s.baseUrl + p);
  return { status: res.status, body: await res.json() };
};
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

// A chat client that reconnects whenever its connection drops (every 200 ms, bounded by the
// test's lifetime) and, while running, sends a message with a nonce every periodMs. It keeps
// every messageId acknowledged to it and every chat message it received, across connections.
class Chatter {
  constructor(s, room, user, periodMs) {
    Object.assign(this, { s, room, user, periodMs });
    this.acked = new Map();        // nonce -> messageId
    this.seen = new Set();         // messageIds of chat messages received
    this.connects = 0;
    this.n = 0;
    this.running = true;
    this.sending = false;
    this.client = null;
    this.loop = this.run();
  }

  async run() {
    while (this.running) {
      const c = await this.open().catch(() => null);
      if (!c) { await sleep(200); continue; }
      this.client = c;
      this.connects++;
      while (this.running && !c.closed) {
        if (this.sending) {
          const nonce = `${this.user}-${this.n++}`;
          c.chat(`${nonce} says hi`, { nonce });
        }
        this.collect(c);
        await sleep(this.periodMs);
      }
      this.collect(c);
      this.client = null;
    }
  }

  open() {
    return new Promise((resolve, reject) => {
      const url = `${this.s.wsUrl}?room=${this.room}&userId=${this.user}&username=${this.user}`;
      const ws = new WebSocket(url, { origin: this.s.origin });
      const c = new Client(ws);
      const t = setTimeout(() => { ws.terminate(); reject(new Error('open timed out')); }, 5000);
      ws.once('open', () => { clearTimeout(t); resolve(c); });
      ws.once('error', (e) => { clearTimeout(t); reject(e); });
      ws.once('unexpected-response', () => { clearTimeout(t); ws.terminate(); reject(new Error('refused')); });
    });
  }

  collect(c) {
    for (const m of c.messages) {
      if (m.type === 'ack') this.acked.set(m.nonce, m.messageId);
      if (m.type === 'chat') this.seen.add(m.messageId);
    }
  }

  isOpen() { return this.client !== null && !this.client.closed; }

  // Sends one message now and resolves once it was acknowledged (on the current connection).
  async roundTrip(tag) {
    await waitFor(() => this.isOpen(), { timeoutMs: 15000, what: `${this.user} connected` });
    const c = this.client;
    const nonce = `${this.user}-${tag}`;
    c.chat(`${tag}`, { nonce });
    await c.nextMessage((m) => m.type === 'ack' && m.nonce === nonce, 10000);
    this.collect(c);
  }

  async stop() {
    this.running = false;
    if (this.client) this.client.ws.close();
    await this.loop;
  }
}

function storedIds(s) {
  return execFileSync('sqlite3', [s.env.SQLITE_PATH, 'SELECT message_id FROM messages;'],
    { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('chat-relay SIGKILLed mid-load and restarted', () => {
  test('chat-restapi keeps answering, clients reconnect, no broadcast message is missing from the store', async () => {
    const s = await startStack({
      storage: 'sqlite',
      relayEnv: {
        RATE_LIMIT_PER_SEC: '1000',
        RATE_LIMIT_BURST: '1000',
        CLIENT_SEND_QUEUE: '4096',
        // A long flush: at the kill most accepted messages exist only in the journal.
        PERSIST_FLUSH_MS: '3000',
        PERSIST_BATCH_SIZE: '1000',
      },
    });
    const chatters = ['ann', 'bob', 'cat'].map((u) => new Chatter(s, 'kill-load', u, 20));
    try {
      await waitFor(() => chatters.every((c) => c.isOpen()), { what: 'all connected' });
      chatters.forEach((c) => { c.sending = true; });
      await waitFor(() => chatters.every((c) => c.acked.size >= 30), { what: 'load running' });
      const restapiPid = s.restapi.pid;

      await s.stopRelay('SIGKILL');
      const down = await waitFor(async () => {
        const h = await json(s, '/health');
        return h.body.relay === 'down' ? h : null;
      }, { timeoutMs: 15000, intervalMs: 100, what: '/health relay down' });
      assert.equal(down.status, 200, 'chat-restapi answers while the relay is down');
      assert.equal(down.body.status, 'degraded');
      assert.equal((await json(s, '/api/rooms/kill-load/messages?limit=5')).status, 200, 'history still served');
      assert.equal((await json(s, '/api/analytics')).status, 200);
      assert.equal((await json(s, '/ready')).status, 503);
      assert.ok(chatters.every((c) => !c.isOpen()), 'the clients saw the relay go');

      await sleep(1000);        // the clients keep trying meanwhile (Apache answers 503)
      await s.startRelay();
      await waitFor(async () => (await json(s, '/health')).body.relay === 'ok',
        { timeoutMs: 20000, what: '/health relay ok again' });
      assert.equal(s.restapi.pid, restapiPid, 'chat-restapi was not restarted');
      assert.ok(alive(restapiPid));

      await waitFor(() => chatters.every((c) => c.isOpen()), { timeoutMs: 20000, what: 'all reconnected' });
      for (const c of chatters) {
        assert.ok(c.connects >= 2, `${c.user} reconnected`);
        await c.roundTrip('after-restart');
      }
      await sleep(500);
      await Promise.all(chatters.map((c) => c.stop()));

      const expected = new Set();
      for (const c of chatters) {
        for (const id of c.acked.values()) expected.add(id);
        for (const id of c.seen) expected.add(id);
      }
      assert.ok(expected.size >= 100, `${expected.size} messages broadcast or acknowledged`);
      let ids = [];
      await waitFor(() => {
        ids = storedIds(s);
        return [...expected].every((id) => ids.includes(id));
      }, { timeoutMs: 30000, intervalMs: 250, what: 'every broadcast message in the store' });
      assert.equal(new Set(ids).size, ids.length, 'no message stored twice');
      assert.match(s.relay.output(), /journal replayed/, 'the restart replayed the journal');
    } finally {
      await Promise.all(chatters.map((c) => c.stop()));
      await s.stop();
    }
  });
});

describe('Apache graceful restart with clients connected', () => {
  test('the relay and chat-restapi are unaffected and every client chats again', async () => {
    const s = await startStack({ storage: 'sqlite', relayEnv: { RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000' } });
    const chatters = ['dan', 'eve', 'fay', 'gus', 'hal'].map((u) => new Chatter(s, 'graceful', u, 100));
    try {
      await waitFor(() => chatters.every((c) => c.isOpen()), { what: 'all connected' });
      for (const c of chatters) await c.roundTrip('before');
      const relayPid = s.relay.pid;
      const restapiPid = s.restapi.pid;
      const apachePid = s.apache.pid;

      for (let round = 1; round <= 2; round++) {
        const marks = (s.errorLog().match(/resuming normal operations/g) || []).length;
        process.kill(apachePid, 'SIGUSR1');
        await waitFor(() => (s.errorLog().match(/resuming normal operations/g) || []).length > marks,
          { timeoutMs: 15000, what: `graceful restart ${round} done` });
        assert.ok(alive(apachePid), 'the Apache parent stays');
        assert.equal(s.relay.pid, relayPid);
        assert.ok(alive(relayPid), 'the relay was not touched');
        assert.equal(s.restapi.pid, restapiPid);
        assert.ok(alive(restapiPid), 'chat-restapi was not touched');
        const h = await waitFor(async () => {
          const r = await json(s, '/health');
          return r.status === 200 && r.body.relay === 'ok' ? r : null;
        }, { what: '/health ok after the restart' });
        assert.equal(h.body.status, 'ok');
        // Every client gets a message through, on its old tunnel or after reconnecting.
        for (const c of chatters) await c.roundTrip(`after-${round}`);
        const others = chatters.filter((c) => c.user !== 'dan');
        const probe = chatters[0];
        const nonce = `${probe.user}-broadcast-${round}`;
        await waitFor(() => probe.isOpen(), { what: 'probe open' });
        probe.client.chat(`broadcast ${round}`, { nonce });
        for (const c of others) {
          await waitFor(() => c.client && c.client.messages.some((m) => m.type === 'chat' && m.content === `broadcast ${round}`),
            { timeoutMs: 10000, what: `${c.user} receives broadcast ${round}` });
        }
      }
      const fresh = new Chatter(s, 'graceful', 'ivy', 100);
      await fresh.roundTrip('new');
      await fresh.stop();
      assert.doesNotMatch(s.errorLog(), /AH\d+: .*(segfault|exit signal)/i);
    } finally {
      await Promise.all(chatters.map((c) => c.stop()));
      await s.stop();
    }
  });
});
