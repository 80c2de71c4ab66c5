// chat-relay protocol (issue 3): rooms, server-authoritative fields, validation, frame limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, connect, RawClient } from './lib/relay.mjs';
import { waitFor } from './lib/util.mjs';

let relay;
before(async () => {
  relay = await startRelay({ env: { RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000' } });
});
after(async () => {
  const r = await relay.stop();
  assert.equal(r.code, 0, relay.output());
});

test('GET /health reports ok and the number of clients', async () => {
  const c = await connect(relay.wsUrl({ room: 'health' }));
  const h = await relay.health();
  assert.equal(h.status, 'ok');
  assert.equal(h.clients, 1);
  await c.close();
});

test('the sender receives its own message and other rooms do not', async () => {
  const a = await connect(relay.wsUrl({ room: 'iso-a', userId: 'alice', username: 'Alice' }));
  const a2 = await connect(relay.wsUrl({ room: 'iso-a', userId: 'bob', username: 'Bob' }));
  const b = await connect(relay.wsUrl({ room: 'iso-b', userId: 'carol', username: 'Carol' }));
  a.chat('hello room a');
  const own = await a.nextMessage((m) => m.type === 'chat');
  const other = await a2.nextMessage((m) => m.type === 'chat');
  assert.equal(own.content, 'hello room a');
  assert.equal(other.messageId, own.messageId);
  b.chat('hello room b');
  await b.nextMessage((m) => m.type === 'chat' && m.content === 'hello room b');
  a.chat('second');
  await a2.nextMessage((m) => m.content === 'second');
  assert.deepEqual(a2.chats().map((m) => m.content), ['hello room a', 'second']);
  assert.deepEqual(b.chats().map((m) => m.content), ['hello room b']);
  await Promise.all([a.close(), a2.close(), b.close()]);
});

test('the server sets messageId, roomId, userId, username, timestamp and seq itself', async () => {
  const a = await connect(relay.wsUrl({ room: 'auth-fields', userId: 'u1', username: 'Real Name' }));
  a.send({ type: 'chat', content: 'x', userId: 'evil', username: 'Evil', messageId: 'm', roomId: 'other', timestamp: '2000-01-01T00:00:00.000Z', seq: 99 });
  const m = await a.nextMessage((x) => x.type === 'chat');
  assert.equal(m.userId, 'u1');
  assert.equal(m.username, 'Real Name');
  assert.equal(m.roomId, 'auth-fields');
  assert.match(m.messageId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.ok(Math.abs(Date.parse(m.timestamp) - Date.now()) < 60000, m.timestamp);
  assert.equal(m.seq, 1);
  await a.close();
});

const invalid = [
  ['empty content', { type: 'chat', content: '' }, 'empty_content'],
  ['1001 characters', { type: 'chat', content: 'é'.repeat(1001) }, 'content_too_long'],
  ['bad type', { type: 'shout', content: 'hi' }, 'bad_type'],
  ['not JSON', 'this is not json', 'invalid_json'],
  ['deep nesting', '{"type":"chat","content":"x","a":{"b":{"c":{"d":{"e":1}}}}}', 'too_deep'],
];

for (const [name, frame, code] of invalid) {
  test(`an invalid message (${name}) is refused to the sender alone and the connection stays open`, async () => {
    const room = `inv-${code}`;
    const a = await connect(relay.wsUrl({ room, userId: 'a' }));
    const b = await connect(relay.wsUrl({ room, userId: 'b' }));
    // With a nonce: an error frame naming the code.
    if (typeof frame === 'object') {
      a.send({ ...frame, nonce: 'n-1' });
      const err = await a.nextMessage((m) => m.type === 'error');
      assert.equal(err.nonce, 'n-1');
      assert.equal(err.code, code);
      assert.equal(typeof err.message, 'string');
    }
    // Without: a system message.
    a.send(frame);
    const sys = await a.nextMessage((m) => m.type === 'system');
    assert.equal(sys.username, 'System');
    assert.ok(sys.content.length > 0);
    a.chat('still open');
    await b.nextMessage((m) => m.content === 'still open');
    assert.deepEqual(b.messages.filter((m) => m.type === 'chat').map((m) => m.content), ['still open']);
    assert.equal(b.messages.filter((m) => m.type === 'system' || m.type === 'error').length, 0);
    await Promise.all([a.close(), b.close()]);
  });
}

test('a text frame with invalid UTF-8 closes the connection with 1007', async () => {
  const raw = await RawClient.connect(relay.port, '/ws?room=utf8');
  raw.sendFrame(0x1, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
  assert.equal(await raw.closeCode(), 1007);
});

test('a message over 8 KiB closes the connection with 1009', async () => {
  const a = await connect(relay.wsUrl({ room: 'big' }));
  a.send(JSON.stringify({ type: 'chat', content: 'x'.repeat(9 * 1024) }));
  const c = await a.waitClose();
  assert.equal(c.code, 1009);
});

test('fragments are reassembled, and fragments adding up to over 8 KiB close with 1009', async () => {
  const raw = await RawClient.connect(relay.port, '/ws?room=frag');
  raw.sendFrame(0x1, '{"type":"chat",', { fin: false });
  raw.sendFrame(0x0, '"content":"joined up"}');
  await waitFor(() => raw.texts().some((m) => m.type === 'chat' && m.content === 'joined up'),
    { what: 'the reassembled message' });
  raw.sendFrame(0x1, 'x'.repeat(5000), { fin: false });
  raw.sendFrame(0x0, 'x'.repeat(5000));
  assert.equal(await raw.closeCode(), 1009);
});

test('a binary frame closes the connection with 1003', async () => {
  const a = await connect(relay.wsUrl({ room: 'bin' }));
  a.ws.send(Buffer.from('{"type":"chat","content":"x"}'), { binary: true });
  const c = await a.waitClose();
  assert.equal(c.code, 1003);
});

test('queued messages may share one frame, separated by newlines', async () => {
  const a = await connect(relay.wsUrl({ room: 'batch' }));
  const b = await connect(relay.wsUrl({ room: 'batch' }));
  for (let i = 0; i < 200; i++) a.chat(`m${i}`);
  const got = await b.collect((m) => m.type === 'chat', 200);
  assert.deepEqual(got.map((m) => m.content), Array.from({ length: 200 }, (_, i) => `m${i}`));
  assert.deepEqual(got.map((m) => m.seq), Array.from({ length: 200 }, (_, i) => i + 1));
  assert.ok(b.frames < 1 + 200, `frames ${b.frames}`);
  await Promise.all([a.close(), b.close()]);
});
