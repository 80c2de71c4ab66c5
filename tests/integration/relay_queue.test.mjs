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
