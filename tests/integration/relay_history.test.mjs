// chat-relay history (issue 3): join-time replay, resume with since/epoch from the ring and from
// storage, recovered:false, seq continuity across a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, connect } from './lib/relay.mjs';
import net from 'node:net';
import { tmpDir } from './lib/util.mjs';

const fast = { RATE_LIMIT_PER_SEC: '10000', RATE_LIMIT_BURST: '10000' };

async function sendAll(c, prefix, n) {
  for (let i = 0; i < n; i++) c.chat(`${prefix}${i}`);
  return c.collect((m) => m.type === 'chat' && m.content.startsWith(prefix), n, 10000);
}

test('a joiner gets the newest HISTORY_REPLAY messages oldest first, then live, without gap or duplicate', async () => {
  const relay = await startRelay({ env: { ...fast, HISTORY_REPLAY: '50' } });
  const writer = await connect(relay.wsUrl({ room: 'replay', userId: 'w' }));
  await sendAll(writer, 'old', 80);
  // Keep writing while several clients join: each must see a contiguous seq run.
  let stop = false;
  let n = 0;
  const pump = (async () => {
    while (!stop && n < 2000) {
      writer.chat(`live${n++}`);
      await new Promise((r) => setImmediate(r));
    }
  })();
  const joiners = [];
  for (let i = 0; i < 5; i++) joiners.push(await connect(relay.wsUrl({ room: 'replay', userId: `j${i}` })));
  await new Promise((r) => setTimeout(r, 200));
  stop = true;
  await pump;
  writer.chat('end');
  for (const j of joiners) {
    await j.nextMessage((m) => m.content === 'end', 10000);
    const hello = j.messages[0];
    assert.equal(hello.type, 'hello');
    const seqs = j.chats().map((m) => m.seq);
    assert.ok(seqs.length >= 50, `got ${seqs.length}`);
    for (let k = 1; k < seqs.length; k++) assert.equal(seqs[k], seqs[k - 1] + 1, `gap/dup at ${k}: ${seqs.slice(k - 2, k + 2)}`);
    assert.equal(seqs[0], hello.seq - 49, 'replay is the newest 50 before the hello seq');
    assert.equal(seqs.at(-1), 80 + n + 1);
  }
  // The first joiner's replay is exactly old30..old79.
  const first = joiners[0].chats().slice(0, 50).map((m) => m.content);
  if (joiners[0].messages[0].seq === 80) {
    assert.deepEqual(first, Array.from({ length: 50 }, (_, i) => `old${30 + i}`));
  }
  await Promise.all([writer, ...joiners].map((c) => c.close()));
  assert.equal((await relay.stop()).code, 0, relay.output());
});

test('resume with since gets exactly the missed messages from the ring, then resumed:true', async () => {
  const relay = await startRelay({ env: fast });
  const w = await connect(relay.wsUrl({ room: 'res' }));
  await sendAll(w, 'a', 10);
  const r1 = await connect(relay.wsUrl({ room: 'res' }));
  const hello = r1.messages[0];
  await r1.close();
  await sendAll(w, 'b', 5);
  const r2 = await connect(relay.wsUrl({ room: 'res', since: String(hello.seq), epoch: String(hello.epoch) }));
  const resumed = await r2.nextMessage((m) => m.type === 'resumed');
  assert.equal(resumed.recovered, true);
  assert.deepEqual(r2.chats().map((m) => m.content), ['b0', 'b1', 'b2', 'b3', 'b4']);
  assert.deepEqual(r2.chats().map((m) => m.seq), [11, 12, 13, 14, 15]);
  w.chat('live');
  await r2.nextMessage((m) => m.content === 'live');
  // A resume with nothing missed: only resumed.
  const r3 = await connect(relay.wsUrl({ room: 'res', since: '16', epoch: String(hello.epoch) }));
  assert.equal((await r3.nextMessage((m) => m.type === 'resumed')).recovered, true);
  assert.equal(r3.chats().length, 0);
  await Promise.all([w.close(), r2.close(), r3.close()]);
  assert.equal((await relay.stop()).code, 0, relay.output());
});

test('resume says recovered:false when the gap is gone from the ring and there is no storage', async () => {
  const relay = await startRelay({ env: { ...fast, ROOM_RING_SIZE: '20', HISTORY_REPLAY: '5' } });
  const w = await connect(relay.wsUrl({ room: 'gone' }));
  await sendAll(w, 'x', 50);
  const r = await connect(relay.wsUrl({ room: 'gone', since: '3', epoch: String(w.messages[0].epoch) }));
  const resumed = await r.nextMessage((m) => m.type === 'resumed');
  assert.equal(resumed.recovered, false);
  assert.deepEqual(r.chats().map((m) => m.seq), [46, 47, 48, 49, 50], 'falls back to the newest history');
  // Another epoch: the seq means nothing here.
  const r2 = await connect(relay.wsUrl({ room: 'gone', since: '45', epoch: '12345' }));
  assert.equal((await r2.nextMessage((m) => m.type === 'resumed')).recovered, false);
  await Promise.all([w.close(), r.close(), r2.close()]);
  assert.equal((await relay.stop()).code, 0, relay.output());
});

test('with storage, seq continues across a relay restart, and resume reads what the ring lacks', async () => {
  const dir = tmpDir('relay-store-');
  const env = { ...fast, STORAGE: 'sqlite', ROOM_RING_SIZE: '10', HISTORY_REPLAY: '5' };
  let relay = await startRelay({ env, dir });
  let w = await connect(relay.wsUrl({ room: 'durable' }));
  assert.equal(w.messages[0].epoch, 0, 'a durable sequence has epoch 0');
  await sendAll(w, 'p', 30);
  await w.close();
  assert.equal((await relay.stop()).code, 0, relay.output());

  relay = await startRelay({ env, dir });
  w = await connect(relay.wsUrl({ room: 'durable' }));
  const hello = w.messages[0];
  assert.equal(hello.seq, 30, 'the warm-up recovered the highest seq');
  assert.equal(hello.epoch, 0);
  assert.deepEqual(w.chats().map((m) => m.seq), [26, 27, 28, 29, 30], 'replay comes from storage');
  w.chat('next');
  const next = await w.nextMessage((m) => m.content === 'next');
  assert.equal(next.seq, 31);
  // since=5: seq 6..21 are only in storage (ring holds 22..31 at most).
  const r = await connect(relay.wsUrl({ room: 'durable', since: '5', epoch: '0' }));
  const resumed = await r.nextMessage((m) => m.type === 'resumed', 10000);
  assert.equal(resumed.recovered, true, JSON.stringify(r.messages.slice(-3)));
  assert.deepEqual(r.chats().map((m) => m.seq), Array.from({ length: 26 }, (_, i) => 6 + i));
  assert.equal(r.chats().at(-1).content, 'next');
  await Promise.all([w.close(), r.close()]);
  assert.equal((await relay.stop()).code, 0, relay.output());
});

test('messages sent while the room warms up are held, then sequenced in order under a new epoch when storage cannot answer', async () => {
  // A store endpoint that accepts connections and never answers: the warm-up read hangs.
  const hole = net.createServer((s) => { s.on('data', () => {}); s.on('error', () => {}); });
  await new Promise((r) => hole.listen(0, '127.0.0.1', r));
  const relay = await startRelay({
    env: {
      STORAGE: 'dynamodb', DYNAMODB_ENDPOINT: `http://127.0.0.1:${hole.address().port}`,
      AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', SHUTDOWN_DRAIN_S: '1',
    },
  });
  try {
    const c = await connect(relay.wsUrl({ room: 'hold' }), { waitHello: false });
    for (let i = 0; i < 3; i++) c.chat(`h${i}`, { nonce: `n${i}` });
    const hello = await c.nextMessage((m) => m.type === 'hello', 20000);
    assert.notEqual(hello.epoch, 0, 'not a durable sequence');
    assert.equal(hello.seq, 0);
    await c.collect((m) => m.type === 'ack', 3, 5000);
    assert.deepEqual(c.chats().map((m) => [m.content, m.seq]), [['h0', 1], ['h1', 2], ['h2', 3]]);
    assert.deepEqual(c.messages.filter((m) => m.type === 'ack').map((m) => [m.nonce, m.seq]), [['n0', 1], ['n1', 2], ['n2', 3]]);
    c.ws.terminate();
  } finally {
    assert.equal((await relay.stop('SIGTERM', 60000)).code, 0, relay.output());
    hole.close();
  }
});

test('rooms dropped for others keep their sequence while storage lags, the memo forgetting the oldest first', async () => {
  // MAX_ROOMS=1: each new room drops the previous one, whose next seq goes to the memo (at most
  // 4 x MAX_ROOMS = 4 rooms). The writer holds its batch for up to a minute, so the store answers
  // the warm-up with nothing: only the memo knows where a room was.
  const env = {
    ...fast, STORAGE: 'sqlite', MAX_ROOMS: '1', PERSIST_BATCH_SIZE: '1000', PERSIST_FLUSH_MS: '60000',
  };
  const relay = await startRelay({ env, dir: tmpDir('relay-memo-') });
  try {
    const rooms = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'];
    for (const room of rooms) {
      const c = await connect(relay.wsUrl({ room }));
      assert.equal(c.messages[0].seq, 0, `${room} starts empty`);
      assert.deepEqual((await sendAll(c, `${room}-`, 2)).map((m) => m.seq), [1, 2]);
      await c.close();
    }
    // m5 is open; m1..m4 are remembered, m0 was forgotten (the oldest, when m4 went in). Going
    // back to m4 drops m5 and forgets m1; m3 and m2 then follow. The memo used to be emptied
    // whole when full, which kept only m4.
    for (const room of ['m4', 'm3', 'm2']) {
      const c = await connect(relay.wsUrl({ room }));
      assert.equal(c.messages[0].seq, 2, `${room} continues its sequence`);
      c.chat('after');
      assert.equal((await c.nextMessage((m) => m.type === 'chat' && m.content === 'after')).seq, 3, room);
      await c.close();
    }
  } finally {
    assert.equal((await relay.stop()).code, 0, relay.output());
  }
});
