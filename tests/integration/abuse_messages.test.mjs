// Abuse over an open WebSocket (issue 9), directly against chat-relay and through Apache /ws:
// oversized frames and fragments adding up past the 8 KiB limit (1009), a frame header claiming
// a gigabyte, deep JSON nesting, control characters and broken encodings in content (a notice,
// the connection stays), and a flood from one client (rate-limited at the relay's defaults while
// the other clients' messages are all delivered). relay_protocol.test.mjs covers the basic
// direct cases; this file runs the hostile variants in both places.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/apache.mjs';
import { connect } from './lib/relay.mjs';
import { RawWs, OP, encodeFrame } from './lib/rawws.mjs';
import { sleep, waitFor } from './lib/util.mjs';

let s;
before(async () => {
  // The relay's default rate limit (5/s, burst 10) on purpose.
  s = await startStack({ storage: 'none', env: { HISTORY_REPLAY: '0' } });
});
after(async () => { if (s) await s.stop(); });

async function relayServes() {
  assert.equal(s.relay.proc.exitCode, null, 'the relay is alive');
  const h = await (await fetch(`http://127.0.0.1:${s.relayPort}/health`)).json();
  assert.equal(h.status, 'ok');
}

for (const [where, wsBase] of [['directly', () => s.relayUrl], ['through Apache', () => s.wsUrl]]) {
  const portOf = () => (where === 'directly' ? s.relayPort : s.port);
  const tag = where === 'directly' ? 'd' : 'a';
  const open = (room, user) => connect(`${wsBase()}?room=${room}&userId=${user}&username=${user}`,
    { origin: s.origin });
  const openRaw = async (room) => {
    const c = await RawWs.open(portOf(), `/ws?room=${room}&userId=raw`, { origin: s.origin });
    assert.ok(await c.until((x) => x.messages().some((m) => m.type === 'hello'), 5000));
    return c;
  };

  describe(`frames and content ${where}`, () => {
    test('a 64 KiB frame closes with 1009 and the room goes on', async () => {
      const room = `big-${tag}`;
      const bystander = await open(room, 'by');
      const a = await open(room, 'big');
      a.send(JSON.stringify({ type: 'chat', content: 'x'.repeat(64 * 1024) }));
      assert.equal((await a.waitClose()).code, 1009);
      const b = await open(room, 'b2');
      b.chat('after the big one');
      await bystander.nextMessage((m) => m.content === 'after the big one');
      assert.equal(bystander.chats().length, 1, 'nothing of the big frame was broadcast');
      await Promise.all([bystander.close(), b.close()]);
    });

    test('an oversized frame arriving in two parts is read to its end, then 1009 without a reset', async () => {
      const c = await openRaw(`slow-${tag}`);
      const payload = Buffer.from(`{"type":"chat","content":"${'s'.repeat(20000)}"}`);
      const frame = encodeFrame({ opcode: OP.TEXT, payload });
      c.sendRaw(frame.subarray(0, 10000));
      await sleep(300);
      assert.equal(c.closeFrame(), null, 'no close while the message is still arriving');
      c.sendRaw(frame.subarray(10000));
      const end = await c.closed(10000);
      assert.ok(end.ended);
      assert.equal(end.code, 1009);
      assert.equal(c.error, null, 'the relay read what the client sent before closing');
      await relayServes();
    });

    test('fragments of 3 KiB adding up past 8 KiB close with 1009', async () => {
      const c = await openRaw(`frag-${tag}`);
      c.send({ opcode: OP.TEXT, payload: `{"type":"chat","content":"${'y'.repeat(3000)}`, fin: false });
      c.send({ opcode: OP.CONT, payload: 'y'.repeat(3000), fin: false });
      c.send({ opcode: OP.CONT, payload: 'y'.repeat(3000), fin: false });
      c.send({ opcode: OP.CONT, payload: '"}' });
      const end = await c.closed(10000);
      assert.ok(end.ended);
      assert.equal(end.code, 1009);
      assert.equal(c.messages().filter((m) => m.type === 'chat').length, 0);
    });

    test('many tiny fragments adding up past 8 KiB close with 1009', async () => {
      const c = await openRaw(`tiny-${tag}`);
      const parts = [];
      parts.push(encodeFrame({ opcode: OP.TEXT, payload: '{"type":"chat","content":"', fin: false }));
      for (let i = 0; i < 1100; i++) parts.push(encodeFrame({ opcode: OP.CONT, payload: 'zzzzzzzz', fin: false }));
      parts.push(encodeFrame({ opcode: OP.CONT, payload: '"}' }));
      c.sendRaw(Buffer.concat(parts));
      const end = await c.closed(10000);
      assert.ok(end.ended);
      assert.equal(end.code, 1009);
    });

    test('a frame header claiming 1 GiB closes with 1009 without waiting for the payload', async () => {
      const c = await openRaw(`claim-${tag}`);
      const frame = encodeFrame({ opcode: OP.TEXT, payload: '{"type":"chat","content":"', len: 1024 ** 3 });
      c.sendRaw(frame);
      const end = await c.closed(10000);
      assert.ok(end.ended, 'the connection ended without the rest of the gigabyte');
      assert.equal(end.code, 1009);
      await relayServes();
    });

    const notices = [
      ['JSON nested 4000 deep in an array', `{"type":"chat","content":"x","a":${'['.repeat(4000)}${']'.repeat(4000)}}`, 'too_deep'],
      ['JSON objects nested 1300 deep', `${'{"a":'.repeat(1300)}1${'}'.repeat(1300)}`, 'too_deep'],
      ['a NUL escape in content', '{"type":"chat","content":"a\\u0000b"}', 'control_character'],
      ['a raw BEL in content', JSON.stringify({ type: 'chat', content: 'ring\u0007' }), 'control_character'],
      ['an ANSI escape sequence', JSON.stringify({ type: 'chat', content: '\u001b[2J\u001b[31mred' }), 'control_character'],
      ['a carriage return', JSON.stringify({ type: 'chat', content: 'line\roverwrite' }), 'control_character'],
      ['DEL', JSON.stringify({ type: 'chat', content: 'a\u007fb' }), 'control_character'],
      ['content that is an object', '{"type":"chat","content":{"$ne":1}}', 'bad_field'],
      ['a JSON array', '[{"type":"chat","content":"x"}]', 'invalid_json'],
      ['two objects in one frame', '{"type":"chat","content":"x"}{"type":"chat","content":"y"}', 'invalid_json'],
      ['trailing garbage', '{"type":"chat","content":"x"} ;DROP', 'invalid_json'],
      ['type null', '{"type":null,"content":"x"}', 'bad_type'],
    ];
    for (const [name, frame, code] of notices) {
      test(`${name} → ${code} to the sender alone, the connection stays`, async () => {
        const room = `n-${tag}-${code}-${name.length}`;
        const a = await open(room, 'sender');
        const b = await open(room, 'watcher');
        // With a nonce an error frame names the code (when the frame parsed far enough for
        // the nonce to be read: not for broken or too deep JSON).
        if (frame.startsWith('{"type"') && code !== 'invalid_json' && code !== 'too_deep') {
          a.send(`${frame.slice(0, -1)},"nonce":"n1"}`);
          const e = await a.nextMessage((m) => m.type === 'error' && m.nonce === 'n1');
          assert.equal(e.code, code);
        }
        a.send(frame);
        const sys = await a.nextMessage((m) => m.type === 'system');
        assert.ok(sys.content.length > 0);
        a.chat('still here');
        await b.nextMessage((m) => m.content === 'still here');
        assert.deepEqual(b.chats().map((m) => m.content), ['still here'], 'nothing invalid was broadcast');
        assert.equal(a.closed, null);
        await Promise.all([a.close(), b.close()]);
      });
    }

    test('invalid UTF-8 at the end of a fragmented text message closes with 1007', async () => {
      const c = await openRaw(`utf-${tag}`);
      c.send({ opcode: OP.TEXT, payload: '{"type":"chat","content":"caf', fin: false });
      c.send({ opcode: OP.CONT, payload: Buffer.from([0xc3]), fin: false });   // half a é
      c.send({ opcode: OP.CONT, payload: '"}' });
      const end = await c.closed(10000);
      assert.equal(end.code, 1007);
    });

    test('a lone surrogate escape is not passed on as broken UTF-8', async () => {
      const a = await open(`sur-${tag}`, 'sur');
      a.send('{"type":"chat","content":"a\\ud800b","nonce":"s1"}');
      const m = await a.nextMessage((x) => x.type === 'chat' || x.type === 'error');
      if (m.type === 'chat') {
        assert.ok(Buffer.from(m.content, 'utf8').toString('utf8') === m.content);
        assert.doesNotMatch(m.content, /[\ud800-\udfff]/, 'no surrogate half in the broadcast');
      } else {
        assert.equal(m.code, 'invalid_utf8');
      }
      await a.close();
    });

    test('C1 control characters (U+0080..U+009F) in content are refused', async () => {
        const a = await open(`c1-${tag}`, 'c1');
        a.send(JSON.stringify({ type: 'chat', content: 'a\u009b2Jb', nonce: 'c1' }));
        const m = await a.nextMessage((x) => x.type === 'chat' || x.type === 'error');
        assert.equal(m.type, 'error');
        assert.equal(m.code, 'control_character');
        await a.close();
      });
  });

  describe(`a flood from one client ${where}`, () => {
    test('is rate-limited with notices while the others\' messages are all delivered', async () => {
      const room = `flood-${tag}`;
      const spam = await open(room, 'spammer');
      const alice = await open(room, 'alice');
      const bob = await open(room, 'bob');
      const t0 = Date.now();
      const N = 300;
      for (let i = 0; i < N; i++) spam.send({ type: 'chat', content: `spam ${i}`, nonce: `s${i}` });
      // Meanwhile the others talk at a polite 4/s, below the 5/s limit.
      for (let i = 0; i < 8; i++) {
        alice.chat(`alice ${i}`);
        bob.chat(`bob ${i}`);
        await sleep(250);
      }
      const answered = await waitFor(() => {
        const n = spam.messages.filter((m) => m.type === 'ack' || m.type === 'error').length;
        return n >= N ? n : null;
      }, { timeoutMs: 15000, what: 'every spam message answered' });
      assert.equal(answered, N);
      const elapsed = (Date.now() - t0) / 1000;
      const acked = spam.messages.filter((m) => m.type === 'ack').length;
      const limited = spam.messages.filter((m) => m.type === 'error' && m.code === 'rate_limited');
      assert.ok(acked >= 10, `the burst passes (${acked})`);
      assert.ok(acked <= 10 + Math.ceil(5 * elapsed) + 1, `${acked} accepted in ${elapsed}s`);
      assert.equal(acked + limited.length, N);
      assert.ok(limited.every((e) => e.retryAfterMs > 0), 'refusals say when to retry');
      for (const c of [alice, bob]) {
        for (const who of ['alice', 'bob']) {
          const got = await c.collect((m) => m.type === 'chat' && m.userId === who, 8, 10000);
          assert.deepEqual(got.map((m) => m.content), Array.from({ length: 8 }, (_, i) => `${who} ${i}`));
        }
        const spamSeen = c.chats().filter((m) => m.userId === 'spammer').length;
        assert.equal(spamSeen, acked, 'only accepted spam is broadcast');
        assert.equal(c.messages.filter((m) => m.type === 'error' || m.type === 'system').length, 0,
          'the others get no notices');
      }
      await Promise.all([spam.close(), alice.close(), bob.close()]);
      await relayServes();
    });
  });
}
