// Abuse of the HTTP side through Apache (issue 9): SQL / DynamoDB-expression / path injection in
// the history API's room and user ids and query parameters (clean 4xx, the stored data intact),
// path traversal against the static files (nothing outside the docroot, no symlink escape),
// security headers on every kind of answer including error pages and proxied relay refusals,
// no server version anywhere, TRACE refused everywhere, the CORS allowlist never pairing `*`
// with credentials, and ANALYTICS_PUBLIC_USERS=false not unlockable by a forged header.
// rest_api.test.mjs checks the basic cases of each; these are the hostile variants.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startStack } from './lib/apache.mjs';
import { connect } from './lib/relay.mjs';
import { rawHttp } from './lib/rawws.mjs';
import { waitFor } from './lib/util.mjs';

const get = async (s, p, init) => {
  const res = await fetch(s.baseUrl + p, init);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, text, json, h: (n) => res.headers.get(n) };
};
const raw = (s, line, extra = '') => rawHttp(s.port,
  `${line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`, { timeoutMs: 10000 });

function rows(s) {
  return execFileSync('sqlite3', [s.env.SQLITE_PATH,
    'SELECT room_id, user_id, content FROM messages ORDER BY 1, 3;'], { encoding: 'utf8' });
}

describe('the history API and static files under attack (STORAGE=sqlite)', () => {
  let s;
  let stored;
  const MARKER = `outside-the-docroot-${Date.now()}`;
  before(async () => {
    s = await startStack({ storage: 'sqlite' });
    const c = await connect(`${s.wsUrl}?room=lobby&userId=alice&username=Alice`, { origin: s.origin });
    for (let i = 0; i < 3; i++) c.chat(`kept ${i}`);
    await c.collect((m) => m.type === 'chat', 3);
    c.ws.close();
    await waitFor(async () => (await get(s, '/api/rooms/lobby/messages')).json?.count === 3,
      { what: 'three messages stored' });
    stored = rows(s);
    // Something worth stealing next to the docroot, and a symlink out of it.
    writeFileSync(path.join(s.dir, 'outside.txt'), `${MARKER}\n`);
    symlinkSync(path.join(s.dir, 'outside.txt'), path.join(s.dir, 'www', 'escape.txt'));
    symlinkSync('/etc', path.join(s.dir, 'www', 'etc'));
  });
  after(async () => { if (s) await s.stop(); });

  // Room ids are [A-Za-z0-9._:-]{1,64}: anything else is a 400. User ids are free text (the Go
  // system's), 1-128 bytes without '/', '|' or control characters: an injection-looking one that
  // fits is a valid id, and must be taken literally: an empty page, never someone else's rows.
  const ids = [
    "lobby'; DROP TABLE messages; --",
    "' OR '1'='1",
    'lobby" OR 1=1 --',
    'lobby;DELETE FROM messages',
    '{"$ne":1}',
    '{"S":"lobby"}',
    'lobby) OR attribute_exists(RoomID',
    'alice OR 1=1',
    '#RoomID',
    '*',
    '%',
    '_',
    '<script>alert(1)</script>',
    '../../etc/passwd',
    '..',
    '%00',
    'lobby\u0000',
    'alice\r\nSet-Cookie: x=1',
    'alice|9999999999',
    'x'.repeat(129),
    'y'.repeat(5000),
  ];
  const validUser = (id) => id.length <= 128 && !/[|/\u0000-\u001f\u007f]/.test(id)
    && !['.', '..'].includes(id);
  const validRoom = (id) => /^[A-Za-z0-9._:-]{1,64}$/.test(id) && !['.', '..'].includes(id);
  for (const kind of ['rooms', 'users']) {
    for (const id of ids) {
      const valid = kind === 'rooms' ? validRoom(id) : validUser(id);
      test(`${kind} id ${JSON.stringify(id.slice(0, 40))} → ${valid ? 'taken literally: no rows' : 'a clean 4xx'}`, async () => {
        const r = await get(s, `/api/${kind}/${encodeURIComponent(id)}/messages`);
        assert.equal(r.h('set-cookie'), null, 'no header injection');
        assert.doesNotMatch(r.text, /<script>/, 'the id is not reflected as markup');
        assert.doesNotMatch(r.text, /root:x:0:0/);
        if (valid) {
          assert.equal(r.status, 200, r.text.slice(0, 200));
          assert.equal(r.json[kind === 'rooms' ? 'roomId' : 'userId'], id);
          assert.equal(r.json.count, 0, 'nobody else\'s messages');
          return;
        }
        // Apache answers 404 for an encoded NUL or slash (and for /./ and /../ segments) before
        // the app sees it; 414 is Apache's for a URL over its limit. Otherwise the app's 400.
        assert.ok([400, 404, 414].includes(r.status), `${r.status}: ${r.text.slice(0, 200)}`);
        if (r.status === 400) assert.equal(typeof r.json.error, 'string');
      });
    }
  }
  test('the user id that owns the messages still finds them', async () => {
    const r = await get(s, '/api/users/alice/messages');
    assert.equal(r.json.count, 3);
  });

  const params = [
    'limit=1;DROP TABLE messages', "limit=1' OR '1'='1", 'limit=-1', 'limit=0', 'limit=1e9',
    'limit=0x10', 'limit= 5', "before=' OR 1=1 --", 'before={"$gt":""}', 'before=../../x',
    `before=${'z'.repeat(3000)}`,
  ];
  for (const q of params) {
    test(`query ${JSON.stringify(q.slice(0, 40))} → 400`, async () => {
      const r = await get(s, `/api/rooms/lobby/messages?${q.split('=')[0]}=${encodeURIComponent(q.slice(q.indexOf('=') + 1))}`);
      assert.equal(r.status, 400, r.text);
    });
  }

  test('after all of the above the data is intact: same rows, same history', async () => {
    assert.equal(rows(s), stored);
    const r = await get(s, '/api/rooms/lobby/messages');
    assert.deepEqual(r.json.messages.map((m) => m.content), ['kept 0', 'kept 1', 'kept 2']);
    const tables = execFileSync('sqlite3', [s.env.SQLITE_PATH, '.tables'], { encoding: 'utf8' });
    assert.match(tables, /messages/);
  });

  const traversals = [
    'GET /../outside.txt HTTP/1.1',
    'GET /../../../../etc/passwd HTTP/1.1',
    'GET /%2e%2e/outside.txt HTTP/1.1',
    'GET /%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1',
    'GET /..%2foutside.txt HTTP/1.1',
    'GET /..%2f..%2f..%2fetc%2fpasswd HTTP/1.1',
    'GET /assets/..%2f..%2foutside.txt HTTP/1.1',
    'GET /assets/../../outside.txt HTTP/1.1',
    'GET /.%2e/outside.txt HTTP/1.1',
    'GET /%252e%252e/outside.txt HTTP/1.1',
    'GET /..\\outside.txt HTTP/1.1',
    'GET /..%5coutside.txt HTTP/1.1',
    'GET /%c0%ae%c0%ae/outside.txt HTTP/1.1',
    'GET /index.html/../../outside.txt HTTP/1.1',
    'GET /escape.txt HTTP/1.1',
    'GET /etc/passwd HTTP/1.1',
    'GET //etc/passwd HTTP/1.1',
    'GET /api/../../outside.txt HTTP/1.1',
    'GET /ws/../../outside.txt HTTP/1.1',
    'GET http://127.0.0.1/../outside.txt HTTP/1.1',
  ];
  for (const line of traversals) {
    test(`${line.split(' ')[1]} serves nothing from outside the docroot`, async () => {
      const r = await raw(s, line);
      assert.ok(r.ended);
      assert.ok(r.status !== null, r.text.slice(0, 200));
      assert.ok(!r.text.includes(MARKER), `outside file served: ${r.text.slice(0, 300)}`);
      assert.doesNotMatch(r.text, /root:x:0:0/);
      // Either refused, or the SPA's index.html (FallbackResource) from inside the docroot.
      if (r.status === 200) assert.match(r.text, /<div id="root">/);
      else assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
    });
  }

  test('security headers and no version on every kind of answer', async () => {
    const answers = [
      await raw(s, 'GET / HTTP/1.1'),
      await raw(s, 'GET /assets/app-3f2a1b.js HTTP/1.1'),
      await raw(s, 'GET /api/analytics HTTP/1.1'),
      await raw(s, 'GET /api/nope HTTP/1.1'),                                  // app 404
      await raw(s, 'GET /api/rooms/bad%20room/messages HTTP/1.1'),            // app 400
      await raw(s, 'DELETE /api/analytics HTTP/1.1'),                         // app 405
      await raw(s, 'GET /escape.txt HTTP/1.1'),                               // Apache 403
      await raw(s, 'GET /a%2fb HTTP/1.1'),                                    // Apache 404
      await raw(s, `GET /${'l'.repeat(9000)} HTTP/1.1`),                      // Apache 414
      await raw(s, 'GET /ws?room=x HTTP/1.1', 'Upgrade: websocket\r\nConnection: Upgrade\r\n'
        + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
        + 'Origin: https://evil.example\r\n'),                               // relay 403 via Apache
      await raw(s, 'TRACE / HTTP/1.1'),                                       // Apache 405
    ];
    const seen = new Set();
    for (const r of answers) {
      const head = r.text.slice(0, r.text.indexOf('\r\n\r\n')).toLowerCase();
      seen.add(r.status);
      assert.match(head, /\r\nserver: apache\r\n/, `Server on ${r.status}: ${head}`);
      assert.doesNotMatch(r.text, /Apache\/\d|Debian|Ubuntu|OpenSSL|PHP|mod_|libwebsockets|lws/i, `version on ${r.status}`);
      assert.match(head, /\r\nx-content-type-options: nosniff\r\n/, `nosniff on ${r.status}`);
      assert.match(head, /\r\nx-frame-options: deny\r\n/, `XFO on ${r.status}`);
      assert.match(head, /\r\ncontent-security-policy: [^\r]*default-src 'self'/, `CSP on ${r.status}`);
      assert.match(head, /\r\nreferrer-policy: no-referrer\r\n/, `Referrer-Policy on ${r.status}`);
    }
    for (const st of [200, 400, 403, 404, 405, 414]) assert.ok(seen.has(st), `covered ${st}: ${[...seen]}`);
  });

  test('TRACE and TRACK are refused on every path', async () => {
    for (const p of ['/', '/index.html', '/assets/app-3f2a1b.js', '/api/analytics', '/health', '/metrics', '/ws', '/nope']) {
      for (const m of ['TRACE', 'TRACK']) {
        const r = await raw(s, `${m} ${p} HTTP/1.1`, 'X-Echo-Me: secret-cookie-value\r\n');
        assert.ok([403, 405, 501].includes(r.status), `${m} ${p}: ${r.status}`);
        assert.ok(!r.text.includes('secret-cookie-value'), `${m} ${p} echoed the request`);
      }
    }
  });
});

describe('CORS with ALLOWED_ORIGINS=* and ANALYTICS_PUBLIC_USERS=false', () => {
  let s;
  let c;
  before(async () => {
    s = await startStack({ storage: 'none', env: { ALLOWED_ORIGINS: '*', ANALYTICS_PUBLIC_USERS: 'false' } });
    c = await connect(`${s.wsUrl}?room=hidden&userId=secret-user-42&username=Secret`, { origin: 'https://anything.example' });
    await waitFor(async () => (await get(s, '/api/analytics')).json.activeConnections === 1, { what: 'one connection' });
  });
  after(async () => {
    if (c) c.ws.terminate();
    if (s) await s.stop();
  });

  test('* is never paired with Access-Control-Allow-Credentials, on any route or preflight', async () => {
    const origins = ['https://evil.example', 'null', s.origin];
    const paths = ['/api/analytics', '/api/rooms', '/api/rooms/hidden/messages', '/health', '/metrics', '/api/nope'];
    for (const origin of origins) {
      for (const p of paths) {
        for (const init of [
          { headers: { Origin: origin, Cookie: 'session=1' } },
          { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' } },
        ]) {
          const r = await get(s, p, init);
          const acao = r.h('access-control-allow-origin');
          const acac = r.h('access-control-allow-credentials');
          assert.ok(!(acao === '*' && acac !== null), `${origin} ${p}: ${acao} with credentials ${acac}`);
          assert.equal(acac, null, `${p}: credentials never granted`);
          if (acao !== null) assert.equal(acao, '*', `${p}: no origin reflection under *`);
        }
      }
    }
  });

  test('the active user list stays hidden from anonymous callers, forged auth headers included', async () => {
    for (const headers of [{}, { 'Remote-User': 'admin' }, { 'X-Remote-User': 'admin' },
      { Authorization: 'Basic YWRtaW46YWRtaW4=' }, { 'X-Forwarded-User': 'admin' }]) {
      const r = await get(s, '/api/analytics', { headers });
      assert.equal(r.status, 200);
      assert.equal(r.json.activeUsers, 1);
      assert.deepEqual(r.json.activeUserDetails, [], JSON.stringify(headers));
      assert.ok(!r.text.includes('secret-user-42'), `user id leaked with ${JSON.stringify(headers)}`);
    }
    for (const p of ['/api/rooms', '/metrics', '/health', '/api/status?auto']) {
      const r = await get(s, p, { headers: { 'Remote-User': 'admin' } });
      assert.ok(!r.text.includes('secret-user-42'), `user id leaked in ${p}`);
    }
  });
});

describe('CORS with an allowlist', () => {
  test('a foreign, null or look-alike origin is never reflected, credentials never granted', async () => {
    const s = await startStack({ storage: 'none', relay: false });
    try {
      for (const origin of ['https://evil.example', 'null', `${s.origin}.evil.net`, s.origin.replace('http:', 'https:'),
        `${s.origin}/`, s.origin.toUpperCase()]) {
        for (const init of [
          { headers: { Origin: origin } },
          { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'GET' } },
        ]) {
          const r = await get(s, '/api/analytics', init);
          const acao = r.h('access-control-allow-origin');
          assert.ok(acao === null || acao.toLowerCase() === s.origin.toLowerCase(), `${origin}: ${acao}`);
          assert.notEqual(acao, '*');
          assert.equal(r.h('access-control-allow-credentials'), null);
          assert.match(r.h('vary') || '', /Origin/, 'caches keep per-origin answers');
        }
      }
    } finally {
      await s.stop();
    }
  });
});
