// chat-relay outbound queue (issues 3 and 8): the slow-consumer policy drops the oldest
// broadcasts of a full queue, never the replies to the client itself (ack, error).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, connect } from './lib/relay.mjs';

let relay;
before(async () => {
  relay = await startRelay({ env: { CLIENT_SEND_QUEUE: '8', RATE_LIMIT_PER_SEC: '0', RATE_LIMIT_BURST: '0' } });
});
after(async () => {
  const r = await relay.stop();
  assert.equal(r.code, 0, relay.output());
});

test('issue-8: a fast sender with a small queue gets an ack or error for every nonce', async () => {
  const a = await connect(relay.wsUrl({ room: 'acks-kept', userId: 'fast' }));
  const n = 200;
  // Sent in one go: the relay reads many frames per pass, so each pass queues more broadcasts
  // and acks than the 8-message queue holds before the client's socket is written.
  for (let i = 0; i < n; i++) a.chat(`m${i} ${'x'.repeat(40)}`, { nonce: `q-${i}` });
  const replies = await a.collect((m) => m.type === 'ack' || m.type === 'error', n, 15000);
  const nonces = replies.map((m) => m.nonce);
  assert.equal(new Set(nonces).size, n, 'each nonce answered once');
  assert.deepEqual(nonces, Array.from({ length: n }, (_, i) => `q-${i}`), 'in the order sent');
  const acked = replies.filter((m) => m.type === 'ack');
  assert.equal(acked.length, n, `errors: ${JSON.stringify(replies.filter((m) => m.type === 'error').slice(0, 3))}`);
  const seqs = acked.map((m) => m.seq);
  assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => seqs[0] + i), 'consecutive seq');
  // Broadcasts (its own copies) may have been dropped: then it was told how many.
  const chats = a.chats().length;
  if (chats < n) {
    const missed = a.messages.filter((m) => m.type === 'system' && /you missed \d+ messages/.test(m.content))
      .reduce((s, m) => s + Number(/you missed (\d+)/.exec(m.content)[1]), 0);
    assert.equal(chats + missed, n, `${chats} delivered + ${missed} reported missed`);
  }
  assert.equal(a.closed, null, 'still connected');
  await a.close();
});

// Write pacing (issue 8): above RELAY_PACE_RATE deliveries/s a client written less than 15 ms
// ago waits for the rest of those 15 ms, so one frame carries several messages; below it, or
// with RELAY_PACE_RATE=0, each message is written at once. The same steady stream (a message
// every 2 ms into a room of 10 listeners: ~5,500 deliveries/s) is sent to a relay that paces
// from 1,000 deliveries/s and to one that never paces. The sender keeps time by spinning, not
// with timers, which run late on a busy machine: messages further apart than 7.5 ms are never
// held, since waiting would gather nothing.
async function framesPerMessage(paceRate) {
  const r = await startRelay({ env: { RELAY_PACE_RATE: String(paceRate), RATE_LIMIT_PER_SEC: '0', RATE_LIMIT_BURST: '0' } });
  try {
    const subs = [];
    for (let i = 0; i < 10; i++) subs.push(await connect(r.wsUrl({ room: 'paced', userId: `l${i}` })));
    const pub = await connect(r.wsUrl({ room: 'paced', userId: 'pub' }));
    await Promise.all(subs.map((s) => s.nextMessage((m) => m.type === 'join' && m.userId === 'pub')));
    // 200 messages (0.4 s) for the relay to measure the rate (200 ms windows) and the gaps,
    // then 300 counted.
    const warm = 200;
    const n = 300;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < warm + n; i++) {
      pub.chat(i < warm ? `w${i}` : `p${i - warm}`);       // written to the socket at once
      const due = t0 + BigInt(i + 1) * 2000000n;
      while (process.hrtime.bigint() < due) { /* 2 ms apart; 1 s in all */ }
    }
    const ratios = [];
    for (const s of subs) {
      await s.collect((m) => m.type === 'chat' && m.userId === 'pub', warm + n, 15000);
      const idx = s.messages.flatMap((m, i) => (m.type === 'chat' && /^p\d+$/.test(m.content) ? [i] : []));
      const got = idx.map((i) => s.messages[i]);
      assert.deepEqual(got.map((m) => m.content), Array.from({ length: n }, (_, i) => `p${i}`), 'all, in order');
      assert.deepEqual(got.map((m) => m.seq), Array.from({ length: n }, (_, i) => got[0].seq + i), 'consecutive seq');
      ratios.push(n / new Set(idx.map((i) => s.frameOf[i])).size);   // messages per frame
    }
    await Promise.all([...subs, pub].map((c) => c.close()));
    return ratios;
  } finally {
    assert.equal((await r.stop()).code, 0, r.output());
  }
}

test('issue-8: above RELAY_PACE_RATE messages share frames, in order; RELAY_PACE_RATE=0 writes each at once', async () => {
  const paced = await framesPerMessage(1000);
  const unpaced = await framesPerMessage(0);
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  // Paced: a write every 15 ms carries the ~7 messages sent in between. Unpaced, a frame holds
  // more than one only when the relay fell behind.
  assert.ok(mean(paced) >= 3, `paced: ${mean(paced).toFixed(2)} messages per frame`);
  assert.ok(mean(unpaced) <= mean(paced) / 2,
    `unpaced: ${mean(unpaced).toFixed(2)} messages per frame, paced ${mean(paced).toFixed(2)}`);
});
