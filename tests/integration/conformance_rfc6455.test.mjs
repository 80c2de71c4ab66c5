// RFC 6455 conformance of /ws (issue 9), with hand-built frames over raw sockets (lib/rawws.mjs),
// against chat-relay directly and through Apache's mod_proxy_wstunnel. Each case opens its own
// connection, sends its frames and expects the RFC's close code (1002 protocol error, 1007
// invalid payload) or, for a valid close, the code echoed back; in every case the TCP connection
// must end within a bound, and the relay must still be alive and answering /health afterwards.
//
// mod_proxy_wstunnel passes bytes both ways without looking at frames, so the relay's close
// frame reaches the client through Apache as well: the same table runs in both places.
//
// libwebsockets 4.1.6, which parses the frames for the relay, accepts unmasked client frames,
// drops the TCP connection without a close frame on control frames over 125 bytes and does not
// check close reasons; the relay checks those rules on the raw bytes before lws sees them
// (relay/relay_wscheck.c), so those rows hold too.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay } from './lib/relay.mjs';
import { startStack } from './lib/apache.mjs';
import { RawWs, OP, closePayload, encodeFrame } from './lib/rawws.mjs';

const CHAT = '{"type":"chat","content":"conformance"}';
const PROTO = 1002;
const BAD_DATA = 1007;

// name, frames to send, expected close code ('echo': the code we sent comes back).
const cases = [
  ['RSV1 set', [{ opcode: OP.TEXT, payload: CHAT, rsv: 0b100 }], PROTO],
  ['RSV2 set', [{ opcode: OP.TEXT, payload: CHAT, rsv: 0b010 }], PROTO],
  ['RSV3 set', [{ opcode: OP.TEXT, payload: CHAT, rsv: 0b001 }], PROTO],
  ['RSV bits on a ping', [{ opcode: OP.PING, payload: 'p', rsv: 0b111 }], PROTO],
  ...[3, 4, 5, 6, 7].map((op) => [`reserved data opcode ${op}`, [{ opcode: op, payload: 'x' }], PROTO]),
  ...[11, 12, 13, 14, 15].map((op) => [`reserved control opcode ${op}`, [{ opcode: op, payload: '' }], PROTO]),
  ['an unmasked client frame', [{ opcode: OP.TEXT, payload: CHAT, mask: false }], PROTO],
  ['an unmasked ping', [{ opcode: OP.PING, payload: 'p', mask: false }], PROTO],
  ['a ping with 126 bytes of payload', [{ opcode: OP.PING, payload: 'x'.repeat(126) }], PROTO],
  ['a close with 126 bytes of payload', [{ opcode: OP.CLOSE, payload: closePayload(1000, 'r'.repeat(124)) }], PROTO],
  ['a fragmented ping', [{ opcode: OP.PING, payload: 'p', fin: false }], PROTO],
  ['a fragmented close', [{ opcode: OP.CLOSE, payload: closePayload(1000), fin: false }], PROTO],
  ['a continuation without a start', [{ opcode: OP.CONT, payload: 'x' }], PROTO],
  ['a new text frame while a message is fragmented',
    [{ opcode: OP.TEXT, payload: '{"type":', fin: false }, { opcode: OP.TEXT, payload: '"chat"}' }], PROTO],
  ['invalid UTF-8 in a text frame', [{ opcode: OP.TEXT, payload: Buffer.from([0x22, 0xc3, 0x28, 0x22]) }], BAD_DATA],
  ['an overlong UTF-8 encoding', [{ opcode: OP.TEXT, payload: Buffer.from([0x22, 0xc0, 0xaf, 0x22]) }], BAD_DATA],
  ['a UTF-16 surrogate in UTF-8', [{ opcode: OP.TEXT, payload: Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]) }], BAD_DATA],
  ['invalid UTF-8 split across fragments',
    [{ opcode: OP.TEXT, payload: Buffer.from([0x22, 0xe2, 0x82]), fin: false },
      { opcode: OP.CONT, payload: Buffer.from([0x28, 0x22]) }], BAD_DATA],
  ['invalid UTF-8 in a close reason', [{ opcode: OP.CLOSE, payload: closePayload(1000, Buffer.from([0xff, 0xfe])) }], BAD_DATA],
  ['a truncated UTF-8 sequence ending a close reason', [{ opcode: OP.CLOSE, payload: closePayload(1000, Buffer.from([0x6f, 0x6b, 0xe2, 0x82])) }], BAD_DATA],
  ['a one-byte close payload', [{ opcode: OP.CLOSE, payload: Buffer.from([0x03]) }], PROTO],
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999].map((code) =>
    [`close code ${code}`, [{ opcode: OP.CLOSE, payload: closePayload(code) }], PROTO]),
  ...[5000, 65535].map((code) => [`close code ${code}`, [{ opcode: OP.CLOSE, payload: closePayload(code) }], PROTO]),
  ...[1000, 1001, 1003, 1007, 1008, 1011, 3000, 4000, 4999].map((code) =>
    [`a valid close ${code}`, [{ opcode: OP.CLOSE, payload: closePayload(code, 'bye') }], 'echo']),
];

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function suite(where, setup) {
  describe(where, () => {
    let t;                      // { port, origin, relayPid, health() , stop() }
    before(async () => { t = await setup(); });
    after(async () => { if (t) await t.stop(); });

    // Opens a connection and waits for the relay's hello, so the frames reach an established
    // WebSocket (through Apache too).
    async function open(room) {
      const c = await RawWs.open(t.port, `/ws?room=${room}`, { origin: t.origin });
      assert.ok(await c.until((x) => x.messages().some((m) => m.type === 'hello'), 5000), 'hello');
      return c;
    }

    async function relayAnswers() {
      assert.ok(alive(t.relayPid()), 'the relay process is alive');
      const h = await t.health();
      assert.equal(h.status, 'ok', JSON.stringify(h));
    }

    let i = 0;
    for (const [name, frames, want] of cases) {
      const room = `rfc-${i++}`;
      test(`${name} → ${want === 'echo' ? 'the close is echoed' : want}, the connection ends, the relay lives`,
        async () => {
          const c = await open(room);
          for (const f of frames) c.send(f);
          const end = await c.closed(10000);
          try {
            assert.ok(end.ended, 'the server ended the TCP connection');
            if (want === 'echo') {
              const sent = frames[0].payload.readUInt16BE(0);
              assert.equal(end.code, sent, 'the close code is echoed');
            } else {
              assert.equal(end.code, want, `close frame: ${end.closeFrame && end.closeFrame.payload.toString('hex')}`);
            }
            assert.equal(c.protocolError, null);
          } finally {
            await relayAnswers();
          }
        });
    }

    test('an unmasked frame sent in the handshake\'s own write → 1002, and nothing of it is broadcast', async () => {
      const watcher = await open('rfc-early-bad');
      const early = encodeFrame({ opcode: OP.TEXT, payload: '{"type":"chat","content":"early"}', mask: false });
      const c = await RawWs.open(t.port, '/ws?room=rfc-early-bad', { origin: t.origin, early });
      const end = await c.closed(10000);
      assert.ok(end.ended);
      assert.equal(end.code, PROTO);
      // A barrier: the room broadcasts in order, so the watcher's own message comes after
      // anything the refused connection could have got published.
      watcher.send({ opcode: OP.TEXT, payload: '{"type":"chat","content":"barrier"}' });
      assert.ok(await watcher.until((x) => x.messages().some((m) => m.content === 'barrier'), 5000));
      assert.deepEqual(watcher.messages().filter((m) => m.type === 'chat').map((m) => m.content), ['barrier']);
      await relayAnswers();
    });

    test('a valid message sent in the handshake\'s own write is delivered', async () => {
      const early = encodeFrame({ opcode: OP.TEXT, payload: '{"type":"chat","content":"right away"}' });
      const c = await RawWs.open(t.port, '/ws?room=rfc-early-ok', { origin: t.origin, early });
      assert.ok(await c.until((x) => x.messages().some((m) => m.type === 'chat' && m.content === 'right away'), 5000),
        'the message came back to its sender');
      c.send({ opcode: OP.CLOSE, payload: closePayload(1000) });
      const end = await c.closed(10000);
      assert.equal(end.code, 1000);
      await relayAnswers();
    });

    test('a ping between the fragments of a message is answered and the message assembled', async () => {
      const c = await open('rfc-interleave');
      c.send({ opcode: OP.TEXT, payload: '{"type":"chat",', fin: false });
      c.send({ opcode: OP.PING, payload: 'in-between' });
      c.send({ opcode: OP.CONT, payload: '"content":', fin: false });
      c.send({ opcode: OP.PONG, payload: 'unsolicited' });     // allowed, ignored
      c.send({ opcode: OP.CONT, payload: '"interleaved"}' });
      assert.ok(await c.until((x) => x.messages().some((m) => m.type === 'chat'), 5000),
        'the reassembled message was broadcast');
      const chat = c.messages().find((m) => m.type === 'chat');
      assert.equal(chat.content, 'interleaved');
      const pong = c.frames.find((f) => f.opcode === OP.PONG);
      assert.ok(pong, 'a pong came back');
      assert.equal(pong.payload.toString(), 'in-between', 'the pong carries the ping payload');
      c.send({ opcode: OP.CLOSE, payload: closePayload(1000) });
      const end = await c.closed(10000);
      assert.ok(end.ended);
      assert.equal(end.code, 1000);
      await relayAnswers();
    });

    test('the close handshake: the server answers a close, then ends the TCP connection itself', async () => {
      const c = await open('rfc-close');
      c.send({ opcode: OP.CLOSE, payload: closePayload(1000, 'done') });
      // We do not close our side: the server must end the TCP connection (RFC 6455 7.1.1).
      assert.ok(await c.until((x) => x.ended, 10000), 'the server closed the TCP connection');
      const cf = c.closeFrame();
      assert.ok(cf, 'a close frame came first');
      assert.equal(cf.payload.readUInt16BE(0), 1000);
      assert.equal(c.frames.indexOf(cf), c.frames.length - 1, 'nothing after the close frame');
      await relayAnswers();
    });

    test('an empty close is answered with an empty close', async () => {
      const c = await open('rfc-close-empty');
      c.send({ opcode: OP.CLOSE, payload: Buffer.alloc(0) });
      const end = await c.closed(10000);
      assert.ok(end.ended);
      assert.ok(end.closeFrame, 'a close frame came back');
      assert.equal(end.closeFrame.payload.length, 0);
      await relayAnswers();
    });

    test('a close frame sent in the middle of a fragmented message is answered', async () => {
      const c = await open('rfc-close-mid');
      c.send({ opcode: OP.TEXT, payload: '{"type":"chat",', fin: false });
      c.send({ opcode: OP.CLOSE, payload: closePayload(1000) });
      const end = await c.closed(10000);
      assert.ok(end.ended);
      assert.equal(end.code, 1000);
      assert.equal(c.messages().filter((m) => m.type === 'chat').length, 0, 'no half message was broadcast');
      await relayAnswers();
    });

    test('after all of the above the relay still chats', async () => {
      const a = await open('rfc-after');
      a.send({ opcode: OP.TEXT, payload: CHAT });
      assert.ok(await a.until((x) => x.messages().some((m) => m.type === 'chat' && m.content === 'conformance'), 5000));
      a.send({ opcode: OP.CLOSE, payload: closePayload(1000) });
      assert.ok((await a.closed(10000)).ended);
      await relayAnswers();
    });
  });
}

suite('RFC 6455 directly against chat-relay', async () => {
  const relay = await startRelay({ env: { RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000' } });
  return {
    port: relay.port,
    origin: undefined,
    relayPid: () => relay.pid,
    health: () => relay.health(),
    async stop() {
      const r = await relay.stop();
      assert.equal(r.code, 0, relay.output().slice(-2000));
    },
  };
});

suite('RFC 6455 through Apache /ws (mod_proxy_wstunnel)', async () => {
  const s = await startStack({ storage: 'none', env: { RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000' } });
  const relayHealth = `http://127.0.0.1:${s.relayPort}/health`;
  return {
    port: s.port,
    origin: s.origin,
    relayPid: () => s.relay.pid,
    // The relay's own /health (Apache's /health is chat-restapi's view, a second later).
    health: async () => (await fetch(relayHealth)).json(),
    async stop() {
      const relay = s.relay;
      await s.stop();
      assert.ok(relay.proc.exitCode === 0, `relay exit ${relay.proc.exitCode}: ${relay.output().slice(-2000)}`);
    },
  };
});
