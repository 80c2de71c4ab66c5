// Abuse of the WebSocket handshake (issue 9), directly against chat-relay and through Apache:
// cross-site WebSocket hijacking with foreign and look-alike Origins, missing/forged/expired/
// wrong-secret tokens (and the token never reaching a log), oversized handshakes, connection
// floods from one address with spoofed X-Forwarded-For, and a trickled (slowloris) handshake.
// Every refusal must be a clean HTTP answer (403/401/429/4xx), never a 502 or a hang, and the
// relay must keep serving.
//
// Clients other than the default come from other loopback addresses (127.0.0.2 ...): Apache then
// appends a real, untrusted client address to X-Forwarded-For, as in production.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { startStack } from './lib/apache.mjs';
import { RawWs, OP, closePayload, rawHttp, refused } from './lib/rawws.mjs';
import { sleep } from './lib/util.mjs';

const SECRET = 'abuse-handshake-secret-0123456789abcdef';
const ORIGIN = 'https://example.com';

// The Go token format: base64url(payload) "." base64url(HMAC-SHA256(secret, payload)).
function mint(userId, expiry, name, secret = SECRET) {
  const payload = name === undefined ? `${userId}|${expiry}` : `${userId}|${expiry}|${name}`;
  const mac = crypto.createHmac('sha256', secret).update(payload).digest('base64url');
  return `${Buffer.from(payload).toString('base64url')}.${mac}`;
}
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

let s;
const tokensUsed = [];     // every token string sent: none may appear in a log
before(async () => {
  s = await startStack({
    storage: 'none',
    env: {
      AUTH_SECRET: SECRET,
      ALLOWED_ORIGINS: ORIGIN,
      MAX_CONN_PER_IP: '5',
      HANDSHAKE_TIMEOUT: '2',
    },
    // debug: the most the relay ever logs, so a leak would show
    relayEnv: { LOG_LEVEL: 'debug' },
  });
});
after(async () => { if (s) await s.stop(); });

// The two ways in: straight to the relay's port, and through Apache's /ws.
const targets = () => [['directly', s.relayPort], ['through Apache', s.port]];

function goodToken(user = 'alice') {
  const t = mint(user, inAnHour(), 'Alice');
  tokensUsed.push(t);
  return t;
}

async function relayServes() {
  assert.equal(s.relay.proc.exitCode, null, 'the relay is alive');
  const h = await (await fetch(`http://127.0.0.1:${s.relayPort}/health`)).json();
  assert.equal(h.status, 'ok');
}

async function openOk(port, params, opts = {}) {
  const q = new URLSearchParams(params).toString();
  const c = await RawWs.open(port, `/ws?${q}`, { origin: ORIGIN, ...opts });
  assert.ok(await c.until((x) => x.messages().some((m) => m.type === 'hello'), 5000), 'hello');
  return c;
}

async function closeWs(c) {
  c.send({ opcode: OP.CLOSE, payload: closePayload(1000) });
  await c.closed(5000);
}

describe('cross-site WebSocket hijacking: only the allowlisted Origin gets in', () => {
  const bad = [
    ['a foreign origin', 'https://evil.example'],
    ['null (sandboxed iframe, file:)', 'null'],
    ['missing', undefined],
    ['a suffix look-alike', 'https://example.com.evil.net'],
    ['a prefix look-alike', 'https://evil-example.com'],
    ['a subdomain', 'https://chat.example.com'],
    ['http instead of https', 'http://example.com'],
    ['another port', 'https://example.com:8443'],
    ['a trailing slash', 'https://example.com/'],
    ['with a path', 'https://example.com/ws'],
    ['userinfo trick', 'https://example.com@evil.net'],
  ];
  for (const [where, portOf] of [['directly', () => s.relayPort], ['through Apache', () => s.port]]) {
    for (const [name, origin] of bad) {
      test(`${name} (${origin}) ${where} → 403 forbidden_origin, not a 502`, async () => {
        const r = await refused(portOf(), `/ws?room=cswsh&token=${goodToken()}`, { origin });
        assert.equal(r.status, 403, r.head);
        assert.equal(r.json && r.json.error, 'forbidden_origin', r.body);
      });
    }
    test(`the allowlisted origin ${where} is accepted`, async () => {
      const c = await openOk(portOf(), { room: 'cswsh', token: goodToken() });
      await closeWs(c);
    });
  }
  test('the relay still serves', relayServes);
});

describe('tokens: missing, malformed, forged, expired, wrong secret → 401', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const bad = [
    ['no token', () => null, 'token_missing'],
    ['a malformed token', () => 'not-a-token-at-all', 'token_malformed'],
    ['a token signed with another secret', () => mint('mallory', inAnHour(), 'M', 'wrong-secret'), 'token_bad_signature'],
    ['a token with a swapped payload', () => {
      const t = mint('alice', inAnHour());
      return `${Buffer.from(`admin|${inAnHour()}`).toString('base64url')}.${t.split('.')[1]}`;
    }, 'token_bad_signature'],
    ['a truncated signature', () => mint('alice', inAnHour()).slice(0, -4), null],
    ['an expired token', () => mint('alice', now() - 10), 'token_expired'],
    ['an empty signature', () => `${Buffer.from(`alice|${inAnHour()}`).toString('base64url')}.`, null],
  ];
  for (const [where, portOf] of [['directly', () => s.relayPort], ['through Apache', () => s.port]]) {
    for (const [name, make, code] of bad) {
      for (const how of ['query', 'header', 'subprotocol']) {
        test(`${name} in the ${how} ${where} → 401`, async () => {
          const tok = make();
          if (tok) tokensUsed.push(tok);
          let path = '/ws?room=tok';
          const opts = { origin: ORIGIN };
          if (tok && how === 'query') path += `&token=${encodeURIComponent(tok)}`;
          if (tok && how === 'header') opts.headers = { Authorization: `Bearer ${tok}` };
          if (how === 'subprotocol') opts.protocols = tok ? ['chat', `bearer.${tok}`] : ['chat'];
          const r = await refused(portOf(), path, opts);
          assert.equal(r.status, 401, r.head);
          assert.match(r.json.error, /^token_/);
          if (code) assert.equal(r.json.error, code);
          assert.ok(!r.body.includes(tok || '\u0000'), 'the answer does not echo the token');
        });
      }
    }
  }

  test('a valid token in each place is accepted', async () => {
    for (const port of [s.relayPort, s.port]) {
      const q = await openOk(port, { room: 'tok', token: goodToken('q') });
      const h = await openOk(port, { room: 'tok' }, { headers: { Authorization: `Bearer ${goodToken('h')}` } });
      const p = await openOk(port, { room: 'tok' }, { protocols: ['chat', `bearer.${goodToken('p')}`] });
      assert.deepEqual([q, h, p].map((c) => c.messages()[0].userId), ['q', 'h', 'p']);
      await Promise.all([q, h, p].map(closeWs));
    }
  });

  test('no token string, valid or not, appears in any log (relay, chat-restapi, Apache access and error)', async () => {
    await sleep(300);    // let the daemons flush
    const logs = {
      relay: s.relay.output(),
      restapi: s.restapi.output(),
      'apache access': s.accessLog(),
      'apache error': s.errorLog(),
    };
    assert.match(logs['apache access'], /"GET \/ws HTTP\/1\.1" 401/, 'the refusals were logged');
    assert.ok(logs.relay.length > 0);
    assert.ok(tokensUsed.length >= 20);
    for (const tok of tokensUsed) {
      // The signature part is what makes a token worth stealing; check it alone too.
      const sig = tok.split('.')[1];
      for (const [name, text] of Object.entries(logs)) {
        assert.ok(!text.includes(tok), `a token in the ${name} log`);
        if (sig && sig.length >= 16) assert.ok(!text.includes(sig), `a token signature in the ${name} log`);
      }
    }
    assert.ok(!Object.values(logs).some((t) => t.includes(SECRET)), 'the secret in a log');
  });
});

// The relay gives lws 16 KiB of header space, so a long token, room or Origin reaches its gate
// and gets a 4xx; past that lws drops the connection (a clean close directly). Apache limits a
// line to 8 KiB and answers itself beyond: through Apache there is always an HTTP answer.
describe('oversized and malformed handshakes', () => {
  const req = (path, extra = '') => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n`
    + 'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
    + `Origin: ${ORIGIN}\r\n${extra}\r\n`;
  const cases = [
    ['a 64 KiB URL', () => req(`/ws?room=x&pad=${'a'.repeat(64 * 1024)}`)],
    ['a 16 KiB header', () => req('/ws?room=x', `X-Pad: ${'b'.repeat(16 * 1024)}\r\n`)],
    ['500 headers', () => req('/ws?room=x', Array.from({ length: 500 }, (_, i) => `X-H${i}: v\r\n`).join(''))],
    ['a 4 KiB Origin', () => req('/ws?room=x').replace(`Origin: ${ORIGIN}`, `Origin: https://${'e'.repeat(4096)}.com`)],
    ['a 4 KiB token', () => req(`/ws?room=x&token=${'t'.repeat(4096)}`)],
    ['a 4 KiB room', () => req(`/ws?room=${'r'.repeat(4096)}`)],
    ['binary garbage', () => Buffer.from(crypto.randomBytes(4096))],
    ['an HTTP/0.9 request line', () => 'GET /ws\r\n\r\n'],
  ];
  for (const [where, portOf] of [['directly', () => s.relayPort], ['through Apache', () => s.port]]) {
    for (const [name, make] of cases) {
      test(`${name} ${where} → a 4xx answer or a clean close, within 10 s`, async () => {
        const r = await rawHttp(portOf(), make(), { timeoutMs: 10000 });
        assert.ok(r.ended, 'the server ended the connection');
        // (HTTP/0.9 has no status line to answer with: Apache just closes.)
        if (where === 'through Apache' && !name.includes('0.9')) {
          assert.ok(r.status !== null, 'Apache answered (not a 502 or a drop)');
        }
        if (r.status !== null) assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}: ${r.text.slice(0, 200)}`);
        assert.doesNotMatch(r.text, / 101 /, 'no upgrade');
        await relayServes();
      });
    }
  }
});

describe('connection floods from one address', () => {
  test('MAX_CONN_PER_IP=5 directly: the 6th handshake gets 429, others are unaffected', async () => {
    const open = [];
    for (let i = 0; i < 5; i++) {
      // A spoofed X-Forwarded-For from an untrusted peer (127.0.0.3) must be ignored.
      open.push(await openOk(s.relayPort, { room: 'flood', token: goodToken() },
        { localAddress: '127.0.0.3', headers: { 'X-Forwarded-For': `198.51.100.${i}` } }));
    }
    const r = await refused(s.relayPort, `/ws?room=flood&token=${goodToken()}`,
      { origin: ORIGIN, localAddress: '127.0.0.3', headers: { 'X-Forwarded-For': '198.51.100.77' } });
    assert.equal(r.status, 429);
    assert.equal(r.json.error, 'too_many_connections');
    // Another address still gets in, and a slot freed is a slot usable again.
    const other = await openOk(s.relayPort, { room: 'flood', token: goodToken() }, { localAddress: '127.0.0.4' });
    await closeWs(open.pop());
    const again = await openOk(s.relayPort, { room: 'flood', token: goodToken() }, { localAddress: '127.0.0.3' });
    await Promise.all([...open, other, again].map(closeWs));
  });

  test('through Apache: the client address comes from Apache\'s X-Forwarded-For, a spoofed entry does not help', async () => {
    const open = [];
    for (let i = 0; i < 5; i++) {
      open.push(await openOk(s.port, { room: 'flood-ap', token: goodToken() },
        { localAddress: '127.0.0.5', headers: { 'X-Forwarded-For': `203.0.113.${i}` } }));
    }
    const r = await refused(s.port, `/ws?room=flood-ap&token=${goodToken()}`,
      { origin: ORIGIN, localAddress: '127.0.0.5', headers: { 'X-Forwarded-For': '203.0.113.99' } });
    assert.equal(r.status, 429, 'Apache passes the relay\'s 429, not a 502');
    // Apache itself (peer 127.0.0.1) is not the client: another client through it gets in.
    const other = await openOk(s.port, { room: 'flood-ap', token: goodToken() }, { localAddress: '127.0.0.6' });
    await Promise.all([...open, other].map(closeWs));
  });

  test('a burst of 50 handshakes from one address: 5 succeed, the rest get 429, the relay serves', async () => {
    const tries = await Promise.allSettled(Array.from({ length: 50 }, () =>
      RawWs.open(s.relayPort, `/ws?room=burst&token=${goodToken()}`, { origin: ORIGIN, localAddress: '127.0.0.7' })));
    const ok = tries.filter((t) => t.status === 'fulfilled').map((t) => t.value);
    const statuses = tries.filter((t) => t.status === 'rejected').map((t) => t.reason.status);
    assert.equal(ok.length, 5);
    assert.deepEqual([...new Set(statuses)], [429]);
    await Promise.all(ok.map(closeWs));
    await relayServes();
  });
});

describe('slowloris on the relay handshake (HANDSHAKE_TIMEOUT=2)', () => {
  test('a request trickled a byte every 300 ms is closed after the timeout, not kept alive by the trickle', async () => {
    const sock = net.connect(s.relayPort, '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    const text = `GET /ws?room=slow HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nX-Pad: ${'z'.repeat(200)}`;
    let closedAt = null;
    sock.on('close', () => { closedAt = Date.now(); });
    sock.on('error', () => {});
    const t0 = Date.now();
    for (let i = 0; i < text.length && closedAt === null && Date.now() - t0 < 15000; i++) {
      sock.write(text[i]);
      await sleep(300);
    }
    sock.destroy();
    assert.ok(closedAt !== null, 'the relay closed the trickling connection');
    const took = closedAt - t0;
    assert.ok(took >= 1500 && took < 8000, `closed after ${took} ms`);
    await relayServes();
  });

  test('many idle half-open handshakes are all closed and do not block a real client', async () => {
    const socks = await Promise.all(Array.from({ length: 30 }, () => new Promise((resolve) => {
      const so = net.connect(s.relayPort, '127.0.0.1');
      so.on('error', () => {});
      so.on('connect', () => { so.write('GET /ws HTTP/1.1\r\n'); resolve(so); });
    })));
    const closed = socks.map((so) => new Promise((r) => so.on('close', r)));
    const c = await openOk(s.relayPort, { room: 'slow2', token: goodToken() }, { localAddress: '127.0.0.8' });
    await closeWs(c);
    const all = await Promise.race([Promise.all(closed).then(() => true), sleep(10000).then(() => false)]);
    for (const so of socks) so.destroy();
    assert.ok(all, 'every half-open handshake was closed within 10 s');
    await relayServes();
  });
});
