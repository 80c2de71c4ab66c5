// chat-relay message handling (issue 3): rate limit, acknowledgements and nonce de-duplication,
// presence.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, connect } from './lib/relay.mjs';
import { waitFor } from './lib/util.mjs';

let relay;
before(async () => {
  relay = await startRelay({ env: { RATE_LIMIT_PER_SEC: '5', RATE_LIMIT_BURST: '10', PRESENCE_EVENTS_MAX_ROOM: '3' } });
});
after(async () => {
  const r = await relay.stop();
  assert.equal(r.code, 0, relay.output());
});

test('a burst passes, the excess is refused with a notice, others in the room are unaffected', async () => {
  const spam = await connect(relay.wsUrl({ room: 'rate', userId: 'spammer' }));
  const calm = await connect(relay.wsUrl({ room: 'rate', userId: 'calm' }));
  const watch = await connect(relay.wsUrl({ room: 'rate', userId: 'watch' }));
  for (let i = 0; i < 15; i++) spam.chat(`s${i}`);
  spam.chat('with nonce', { nonce: 'rl-1' });
  const notice = await spam.nextMessage((m) => m.type === 'system' && /rate limited/.test(m.content));
  assert.match(notice.content, /at most 5 messages per second/);
  const err = await spam.nextMessage((m) => m.type === 'error');
  assert.equal(err.code, 'rate_limited');
  assert.equal(err.nonce, 'rl-1');
  assert.ok(err.retryAfterMs > 0 && err.retryAfterMs <= 1000, `retryAfterMs ${err.retryAfterMs}`);
  calm.chat('unaffected');
  await watch.nextMessage((m) => m.content === 'unaffected');
  const notices = spam.messages.filter((m) => m.type === 'system' && /rate limited/.test(m.content));
  assert.ok(notices.length <= 2, `one notice a second, not one per message: ${notices.length}`);
  const fromSpammer = watch.chats().filter((m) => m.userId === 'spammer');
  assert.ok(fromSpammer.length >= 10 && fromSpammer.length <= 12, `got ${fromSpammer.length}`);
  assert.deepEqual(fromSpammer.slice(0, 10).map((m) => m.content), Array.from({ length: 10 }, (_, i) => `s${i}`));
  assert.equal(watch.messages.filter((m) => m.type === 'system' || m.type === 'error').length, 0);
  await Promise.all([spam.close(), calm.close(), watch.close()]);
});

test('a fractional rate limit is written as a number in the notice', async () => {
  const slow = await startRelay({ env: { RATE_LIMIT_PER_SEC: '0.5', RATE_LIMIT_BURST: '1' } });
  try {
    const c = await connect(slow.wsUrl({ room: 'slow-rate', userId: 'u' }));
    c.chat('first');
    c.chat('second', { nonce: 'frac-1' });
    const err = await c.nextMessage((m) => m.type === 'error');
    assert.equal(err.code, 'rate_limited');
    assert.match(err.message, /at most 0\.5 messages per second/);
    await c.close();
  } finally {
    await slow.stop();
  }
});

test('a nonce is acknowledged with messageId and seq; a resend is acked again, not broadcast', async () => {
  const a = await connect(relay.wsUrl({ room: 'acks', userId: 'acker' }));
  const b = await connect(relay.wsUrl({ room: 'acks', userId: 'watcher' }));
  a.chat('once', { nonce: 'n-42' });
  const ack = await a.nextMessage((m) => m.type === 'ack');
  const msg = await b.nextMessage((m) => m.type === 'chat');
  assert.equal(ack.nonce, 'n-42');
  assert.equal(ack.messageId, msg.messageId);
  assert.equal(ack.seq, msg.seq);
  a.chat('once', { nonce: 'n-42' });
  const acks = await a.collect((m) => m.type === 'ack', 2);
  assert.deepEqual(acks[1], acks[0]);
  // A later message proves the resend was not broadcast in between.
  a.chat('after', { nonce: 'n-43' });
  await b.nextMessage((m) => m.content === 'after');
  assert.deepEqual(b.chats().map((m) => m.content), ['once', 'after']);
  // The same nonce from a reconnected connection of the same user is still recognised.
  await a.close();
  const a2 = await connect(relay.wsUrl({ room: 'acks', userId: 'acker' }));
  a2.chat('once', { nonce: 'n-42' });
  const ack3 = await a2.nextMessage((m) => m.type === 'ack');
  assert.equal(ack3.messageId, msg.messageId);
  a2.chat('marker', { nonce: 'n-44' });
  await b.nextMessage((m) => m.content === 'marker');
  assert.deepEqual(b.chats().map((m) => m.content), ['once', 'after', 'marker']);
  await Promise.all([a2.close(), b.close()]);
});

test('join and leave are broadcast on a user\'s first connection and last close', async () => {
  const a = await connect(relay.wsUrl({ room: 'pres', userId: 'pa', username: 'Pat' }));
  const b = await connect(relay.wsUrl({ room: 'pres', userId: 'pb', username: 'Bea' }));
  const join = await a.nextMessage((m) => m.type === 'join' && m.userId === 'pb');
  assert.equal(join.username, 'Bea');
  assert.equal(join.roomId, 'pres');
  // A second tab of the same user announces nothing.
  const b2 = await connect(relay.wsUrl({ room: 'pres', userId: 'pb', username: 'Bea' }));
  await b2.close();
  await waitFor(async () => (await relay.health()).clients === 2, { what: 'the second tab gone' });
  assert.equal(a.messages.filter((m) => m.type === 'join' && m.userId === 'pb').length, 1);
  assert.equal(a.messages.filter((m) => m.type === 'leave').length, 0);
  await b.close();
  const leave = await a.nextMessage((m) => m.type === 'leave');
  assert.equal(leave.userId, 'pb');
  await a.close();
});

test('rooms at PRESENCE_EVENTS_MAX_ROOM members skip presence', async () => {
  const cs = [];
  for (let i = 0; i < 3; i++) cs.push(await connect(relay.wsUrl({ room: 'crowd', userId: `c${i}` })));
  const late = await connect(relay.wsUrl({ room: 'crowd', userId: 'late' }));
  cs[0].chat('marker');
  await cs[0].nextMessage((m) => m.content === 'marker');
  assert.equal(cs[0].messages.filter((m) => m.type === 'join' && m.userId === 'late').length, 0);
  assert.ok(cs[0].messages.some((m) => m.type === 'join' && m.userId === 'c1'));
  await Promise.all([...cs, late].map((c) => c.close()));
});
