// History through Apache when the store is DynamoDB (issues 5 and 6): chat-restapi reads what
// the relay wrote to dynalite, pages it backwards with before/nextBefore, serves a user's
// messages, and answers bad input with the same clear 400s as with SQLite.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/apache.mjs';
import { dynamoEnv, scanIds, startDynalite } from './lib/dynalite.mjs';
import { connect } from './lib/relay.mjs';
import { waitFor } from './lib/util.mjs';

const TABLE = 'chat-messages';
const N = 25;

async function get(s, p) {
  const res = await fetch(s.baseUrl + p);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text };
}

describe('history from DynamoDB (dynalite) through Apache', () => {
  let db;
  let s;
  const sent = [];            // { messageId, seq, content } in the order sent

  before(async () => {
    db = await startDynalite();
    s = await startStack({
      storage: 'dynamodb',
      env: dynamoEnv(db, TABLE),
      relayEnv: { RATE_LIMIT_PER_SEC: '0', HISTORY_REPLAY: '0' },
    });
    const c = await connect(`${s.wsUrl}?room=dyn-hist&userId=dyn-user&username=Dyn`, { origin: s.origin });
    for (let i = 0; i < N; i++) c.chat(`m${i}`, { nonce: `n${i}` });
    const acks = await c.collect((m) => m.type === 'ack', N, 15000);
    for (let i = 0; i < N; i++) sent.push({ messageId: acks[i].messageId, seq: acks[i].seq, content: `m${i}` });
    await c.close();
    await waitFor(async () => (await scanIds(db.direct, TABLE)).length >= N,
      { timeoutMs: 30000, what: `${N} messages in the table` });
  });
  after(async () => {
    if (s) await s.stop();
    if (db) await db.stop();
  });

  test('/health reports the store ok', async () => {
    const h = await get(s, '/health');
    assert.equal(h.json.storage, 'ok');
  });

  test('a room pages backwards with before and nextBefore, oldest first in each page', async () => {
    const seen = [];
    let beforeId = null;
    for (let page = 0; page < 10; page++) {
      const q = `limit=10${beforeId ? `&before=${encodeURIComponent(beforeId)}` : ''}`;
      const r = await get(s, `/api/rooms/dyn-hist/messages?${q}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.roomId, 'dyn-hist');
      assert.equal(r.json.count, r.json.messages.length);
      seen.unshift(...r.json.messages.map((m) => m.content));
      beforeId = r.json.nextBefore;
      if (beforeId === null) break;
    }
    assert.deepEqual(seen, sent.map((m) => m.content), 'every message once, in order');
  });

  test('the newest page carries the stored fields', async () => {
    const r = await get(s, '/api/rooms/dyn-hist/messages?limit=1');
    assert.equal(r.status, 200);
    const [m] = r.json.messages;
    assert.equal(m.messageId, sent[N - 1].messageId);
    assert.equal(m.roomId, 'dyn-hist');
    assert.equal(m.userId, 'dyn-user');
    assert.equal(m.username, 'Dyn');
    assert.equal(m.type, 'chat');
    assert.equal(m.content, `m${N - 1}`);
    assert.match(m.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(m.seq, sent[N - 1].seq, 'the seq the relay acknowledged');
  });

  test("a user's messages come from the user index", async () => {
    const r = await get(s, '/api/users/dyn-user/messages?limit=200');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.userId, 'dyn-user');
    assert.deepEqual(r.json.messages.map((m) => m.messageId), sent.map((m) => m.messageId));
  });

  test('a malformed before id and a bad limit are clear 400s, an unknown room is empty', async () => {
    const b = await get(s, '/api/rooms/dyn-hist/messages?before=not-an-id');
    assert.equal(b.status, 400, b.text);
    assert.match(b.json.error, /before/);
    const l = await get(s, '/api/rooms/dyn-hist/messages?limit=0');
    assert.equal(l.status, 400);
    const e = await get(s, '/api/rooms/nobody-here/messages');
    assert.equal(e.status, 200);
    assert.equal(e.json.count, 0);
    assert.equal(e.json.nextBefore, null);
  });
});
