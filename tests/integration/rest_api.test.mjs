// chat-restapi through a real user-local Apache (issue 6): routes, errors, CORS, limits, ids,
// /metrics, /api/token behind Apache basic auth, storage states in /health and /ready,
// security headers, TRACE, and query strings kept out of the logs. The relay is not needed
// here (tests that need one live in apache_stack.test.mjs).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startStack } from './lib/apache.mjs';
import { fcgiRequest } from './lib/ops.mjs';
import { parsePrometheus, sampleValue } from './lib/prom.mjs';
import { binPath, freePort, repoDir, spawnDaemon, tmpDir, waitFor } from './lib/util.mjs';

async function get(s, p, init) {
  const res = await fetch(s.baseUrl + p, init);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { res, status: res.status, text, json, h: (n) => res.headers.get(n) };
}

describe('chat-restapi behind Apache, STORAGE=sqlite, no relay', () => {
  let s;
  before(async () => { s = await startStack({ storage: 'sqlite', relay: false }); });
  after(async () => { if (s) await s.stop(); });

  test('/health is degraded with the relay down and storage ok', async () => {
    const r = await get(s, '/health');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'degraded', clients: 0, storage: 'ok', relay: 'down' });
    assert.equal(r.h('cache-control'), 'no-store');
    assert.match(r.h('content-type'), /^application\/json/);
  });

  test('/ready is 503 with the reason while the relay is down', async () => {
    const r = await get(s, '/ready');
    assert.equal(r.status, 503);
    assert.equal(r.json.relay, 'down');
    assert.match(r.json.error, /relay down/);
  });

  test('an unknown API route is a JSON 404', async () => {
    const r = await get(s, '/api/nope');
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, { error: 'not found' });
  });

  test('a wrong method is 405 with Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await get(s, '/api/analytics', { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.h('allow'), 'GET, HEAD, OPTIONS');
      assert.equal(r.json.error, 'method not allowed');
    }
  });

  test('history limit: default, clamped above 200, 400 when not a number or below 1', async () => {
    const ok = await get(s, '/api/rooms/lobby/messages');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { roomId: 'lobby', count: 0, messages: [], hasMore: false, nextBefore: null });
    assert.equal((await get(s, '/api/rooms/lobby/messages?limit=500')).status, 200);
    assert.equal((await get(s, '/api/rooms/lobby/messages?limit=200')).status, 200);
    for (const bad of ['0', '-1', 'abc', '', '1.5', '10x']) {
      const r = await get(s, `/api/rooms/lobby/messages?limit=${encodeURIComponent(bad)}`);
      assert.equal(r.status, 400, `limit=${bad}`);
      assert.match(r.json.error, /limit/);
    }
    const b = await get(s, '/api/rooms/lobby/messages?before=not-an-id');
    assert.equal(b.status, 400);
    assert.match(b.json.error, /before/);
  });

  test('ids are percent-decoded and validated: injection-looking ids get a clear 400', async () => {
    const good = await get(s, '/api/users/alice%40example.org/messages');
    assert.equal(good.status, 200);
    assert.equal(good.json.userId, 'alice@example.org');
    const roomSpace = await get(s, '/api/rooms/my%20room/messages');
    assert.equal(roomSpace.status, 400);
    assert.match(roomSpace.json.error, /room/);
    for (const id of ["x'%20OR%201=1--", 'lobby%3B%20DROP%20TABLE%20messages', '%3Cscript%3E',
      'a%2Fb', 'a%00b', 'a%zz']) {
      const r = await get(s, `/api/rooms/${id}/messages`);
      // Apache itself refuses an encoded slash or NUL (404) before we see it; we refuse the rest.
      const apacheRefuses = id === 'a%2Fb' || id === 'a%00b';
      assert.ok(r.status === 400 || (apacheRefuses && r.status === 404), `${id}: ${r.status}`);
    }
    const pipe = await get(s, '/api/users/a%7Cb/messages');
    assert.equal(pipe.status, 400);
    assert.match(pipe.json.error, /user id/);
  });

  test('/metrics parses as strict Prometheus text with chat_ names, typed and documented', async () => {
    const r = await get(s, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.h('content-type'), /^text\/plain; version=0\.0\.4/);
    const fams = parsePrometheus(r.text);
    for (const [name, f] of fams) {
      assert.match(name, /^chat_/, name);
      if (f.type === 'counter') assert.match(name, /_total$/, name);
    }
    assert.equal(fams.get('chat_fanout_latency_seconds').type, 'histogram');
    assert.equal(sampleValue(fams, 'chat_relay_up'), 0);
    assert.equal(fams.get('chat_messages_total').type, 'counter');
    assert.equal(fams.get('chat_connections').type, 'gauge');
  });

  test('the example alert rules and Grafana dashboard only use metrics /metrics exports', async () => {
    const names = new Set();
    for (const [fam, f] of parsePrometheus(await (await fetch(`${s.baseUrl}/metrics`)).text())) {
      names.add(fam);                       // per-room families have no samples without rooms
      for (const x of f.samples) names.add(x.name);
    }
    for (const file of ['chat-analytics-alerts.yml', 'chat-analytics-grafana.json']) {
      const text = readFileSync(path.join(repoDir, 'etc', file), 'utf8');
      if (file.endsWith('.json')) JSON.parse(text);
      const used = [...new Set(text.match(/\bchat_[a-z0-9_]+/g))].filter((n) => n !== 'chat_analytics');
      assert.ok(used.length >= 5, `${file} names metrics`);
      for (const n of used) assert.ok(names.has(n), `${file}: ${n} is not exported`);
    }
  });

  test('/api/status?auto is plaintext Key: value lines', async () => {
    const r = await get(s, '/api/status?auto');
    assert.equal(r.status, 200);
    assert.match(r.h('content-type'), /^text\/plain/);
    const lines = r.text.trimEnd().split('\n');
    for (const l of lines) assert.match(l, /^[A-Za-z][A-Za-z0-9]*: \S+$/, l);
    assert.ok(lines.includes('RelayUp: 0'));
    assert.ok(lines.includes('Storage: ok'));
    assert.ok(lines.some((l) => l.startsWith('TotalMessages: ')));
  });

  test('CORS: preflight from an allowed origin is 204, a foreign origin gets no grant', async () => {
    const pre = await get(s, '/api/analytics', {
      method: 'OPTIONS',
      headers: { Origin: s.origin, 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.h('access-control-allow-origin'), s.origin);
    assert.match(pre.h('access-control-allow-methods'), /GET/);
    assert.ok(pre.h('access-control-allow-headers'));
    assert.match(pre.h('vary'), /Origin/);
    assert.equal(pre.h('access-control-allow-credentials'), null);

    const evilPre = await get(s, '/api/analytics', {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(evilPre.status, 403);
    assert.equal(evilPre.h('access-control-allow-origin'), null);

    const evilGet = await get(s, '/api/analytics', { headers: { Origin: 'https://evil.example' } });
    assert.equal(evilGet.status, 200);
    assert.equal(evilGet.h('access-control-allow-origin'), null);
    const okGet = await get(s, '/api/analytics', { headers: { Origin: s.origin } });
    assert.equal(okGet.h('access-control-allow-origin'), s.origin);
  });

  test('security headers, no version leaked, TRACE refused', async () => {
    for (const p of ['/', '/api/analytics', '/health', '/assets/app-3f2a1b.js']) {
      const r = await get(s, p);
      assert.equal(r.h('server'), 'Apache', p);
      assert.equal(r.h('x-content-type-options'), 'nosniff', p);
      assert.equal(r.h('referrer-policy'), 'no-referrer', p);
      assert.equal(r.h('x-frame-options'), 'DENY', p);
      const csp = r.h('content-security-policy');
      assert.match(csp, /default-src 'self'/, p);
      assert.match(csp, /connect-src 'self' ws: wss:/, p);
      assert.match(csp, /frame-ancestors 'none'/, p);
    }
    for (const p of ['/', '/api/analytics', '/health']) {
      const r = await get(s, p, { method: 'TRACE' }).catch((e) => ({ status: `fetch refused: ${e.message}` }));
      // fetch forbids TRACE itself; use a raw request below when that happens.
      if (typeof r.status === 'number') assert.equal(r.status, 405, p);
    }
    const raw = await rawRequest(s.port, 'TRACE /api/analytics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 405 /);
    assert.doesNotMatch(raw, /Apache\/\d/);
    const nf = await get(s, '/definitely/missing.png');
    assert.doesNotMatch(nf.text, /Apache\/\d|Debian/);
  });

  test('static frontend: SPA fallback, no-cache index, long-lived hashed assets', async () => {
    const idx = await get(s, '/');
    assert.equal(idx.status, 200);
    assert.match(idx.text, /<div id="root">/);
    assert.equal(idx.h('cache-control'), 'no-cache');
    const deep = await get(s, '/room/lobby');
    assert.equal(deep.status, 200);
    assert.match(deep.text, /<div id="root">/);
    const asset = await get(s, '/assets/app-3f2a1b.js');
    assert.equal(asset.status, 200);
    assert.match(asset.h('cache-control'), /max-age=31536000/);
    assert.match(asset.h('content-type'), /javascript/);
    const trav = await rawRequest(s.port, 'GET /assets/../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.doesNotMatch(trav, /root:x:0:0/);
  });

  test('query strings (tokens) never reach the access or error log', async () => {
    const secret = 'SeCrEtToKeN' + Date.now();
    await get(s, `/api/analytics?token=${secret}`);
    await get(s, `/api/rooms/lobby/messages?token=${secret}&limit=abc`);
    await get(s, `/nope.js?token=${secret}`);
    await get(s, `/ws?token=${secret}`);          // relay is down: Apache logs a proxy error
    const log = s.accessLog();
    assert.match(log, /"GET \/api\/analytics HTTP\/1\.1" 200/);
    assert.ok(!log.includes(secret), 'token in access log');
    assert.ok(!s.errorLog().includes(secret), 'token in error log');
  });
});

describe('storage states in /health and /ready', () => {
  test('STORAGE=none reports disabled and history answers 503', async () => {
    const s = await startStack({ storage: 'none', relay: false });
    try {
      const h = await get(s, '/health');
      assert.deepEqual(h.json, { status: 'degraded', clients: 0, storage: 'disabled', relay: 'down' });
      const m = await get(s, '/api/rooms/lobby/messages');
      assert.equal(m.status, 503);
      assert.equal(m.json.error, 'storage is disabled');
      const u = await get(s, '/api/users/bob/messages');
      assert.equal(u.status, 503);
    } finally { await s.stop(); }
  });

  test('an unreachable store reports unavailable, /ready says so, history answers 503', async () => {
    const s = await startStack({
      storage: 'dynamodb', relay: false,
      env: {
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:9', DYNAMODB_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
      },
    });
    try {
      const h = await get(s, '/health');
      assert.equal(h.status, 200);
      assert.equal(h.json.storage, 'unavailable');
      assert.equal(h.json.status, 'degraded');
      const m = await get(s, '/api/rooms/lobby/messages');
      assert.equal(m.status, 503);
      assert.equal(m.json.error, 'storage is unavailable');
      const r = await get(s, '/ready');
      assert.equal(r.status, 503);
      assert.equal(r.json.storage, 'unavailable');
    } finally { await s.stop(); }
  });
});

describe('/api/token behind Apache basic auth', () => {
  const secret = 'integration-secret-' + process.pid;
  let s;
  before(async () => {
    const dir = tmpDir('chat-auth-');
    const htpasswd = path.join(dir, 'htpasswd');
    execFileSync('htpasswd', ['-b', '-c', '-B', htpasswd, 'alice', 'wonderland'], { stdio: 'ignore' });
    chmodSync(dir, 0o755);            // Apache's workers (www-data when we are root) read it
    chmodSync(htpasswd, 0o644);
    s = await startStack({
      storage: 'none', relay: false,
      env: { AUTH_SECRET: secret, TOKEN_TTL: '600' },
      apacheConf: `<Location "/api/token">
    AuthType Basic
    AuthName "chat"
    AuthBasicProvider file
    AuthUserFile "${htpasswd}"
    Require valid-user
</Location>
`,
    });
  });
  after(async () => { if (s) await s.stop(); });

  test('without credentials Apache refuses with 401', async () => {
    const r = await get(s, '/api/token');
    assert.equal(r.status, 401);
    assert.match(r.h('www-authenticate'), /Basic realm="chat"/);
  });

  test('with wrong credentials Apache refuses with 401', async () => {
    const r = await get(s, '/api/token', {
      headers: { Authorization: 'Basic ' + Buffer.from('alice:nope').toString('base64') },
    });
    assert.equal(r.status, 401);
  });

  test('with credentials the app signs a token for REMOTE_USER', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const r = await get(s, '/api/token', {
      headers: { Authorization: 'Basic ' + Buffer.from('alice:wonderland').toString('base64') },
    });
    assert.equal(r.status, 200);
    assert.equal(r.h('cache-control'), 'no-store');
    assert.equal(r.json.userId, 'alice');
    const [payloadB64, sigB64] = r.json.token.split('.');
    const payload = Buffer.from(payloadB64, 'base64url').toString();
    const [user, expiry] = payload.split('|');
    assert.equal(user, 'alice');
    assert.ok(Number(expiry) >= t0 + 600 && Number(expiry) <= t0 + 602, payload);
    assert.equal(new Date(r.json.expiresAt).getTime() / 1000, Number(expiry));
    const want = createHmac('sha256', secret).update(payload).digest('base64url');
    assert.equal(sigB64, want);
    assert.ok(!s.accessLog().includes(r.json.token));
  });
});

describe('/api/token without protection or without a secret', () => {
  test('AUTH_SECRET set but no REMOTE_USER: JSON 401; no AUTH_SECRET: 404', async () => {
    const s = await startStack({ storage: 'none', relay: false, env: { AUTH_SECRET: 'x' } });
    try {
      const r = await get(s, '/api/token');
      assert.equal(r.status, 401);
      assert.match(r.json.error, /not authenticated/);
    } finally { await s.stop(); }
    const s2 = await startStack({ storage: 'none', relay: false });
    try {
      const r = await get(s2, '/api/token');
      assert.equal(r.status, 404);
      assert.match(r.json.error, /disabled/);
    } finally { await s2.stop(); }
  });
});

describe('chat-restapi as a process', () => {
  test('--version, --help, and a bad value named on stderr', async () => {
    const bin = binPath('restapi/chat-restapi');
    assert.match(execFileSync(bin, ['--version']).toString(), /^chat-restapi \d+\.\d+/);
    const help = execFileSync(bin, ['--help']).toString();
    assert.match(help, /RESTAPI_THREADS/);
    assert.match(help, /--config FILE/);
    const d = spawnDaemon(bin, [], { env: { RESTAPI_THREADS: 'many', STORAGE: 'none' } });
    const { code } = await d.exited;
    assert.notEqual(code, 0);
    assert.match(d.output(), /RESTAPI_THREADS/);
  });

  test('--config FILE is read and the environment overrides it', async () => {
    const dir = tmpDir('chat-cfg-');
    const conf = path.join(dir, 'chat.conf');
    writeFileSync(conf, 'STORAGE=none\nRESTAPI_THREADS=zero\n');
    const d = spawnDaemon(binPath('restapi/chat-restapi'), ['--config', conf], {
      env: { RESTAPI_LISTEN: path.join(dir, 'r.sock') },
    });
    const { code } = await d.exited;
    assert.notEqual(code, 0);
    assert.match(d.output(), /RESTAPI_THREADS/);
  });

  test('SIGTERM stops it cleanly (exit 0) and removes its socket', async () => {
    const s = await startStack({ storage: 'none', relay: false });
    const r = await get(s, '/health');
    assert.equal(r.status, 200);
    const { code, signal } = await s.restapi.stop('SIGTERM', 10000);
    assert.equal(signal, null);
    assert.equal(code, 0);
    s.restapi = null;
    const gone = await get(s, '/health');
    assert.equal(gone.status, 503);               // Apache: backend unavailable
    await s.stop();
  });
});

describe('chat-restapi spawned the mod_fcgid way', () => {
  test('serves FastCGI on a listening socket handed over as stdin, and stops on SIGTERM', async () => {
    const dir = tmpDir('chat-fcgid-');
    const sock = path.join(dir, 'fcgid.sock');
    const bin = binPath('restapi/chat-restapi');
    // What mod_fcgid does: bind a listening socket, make it fd 0, exec the application.
    const py = 'import os,socket,sys\n'
      + 's=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)\n'
      + 'os.dup2(s.fileno(), 0); os.execv(sys.argv[2], [sys.argv[2]])\n';
    const d = spawnDaemon('python3', ['-c', py, sock, bin], {
      env: { STORAGE: 'none', RUN_DIR: dir, RESTAPI_LISTEN: '', RESTAPI_THREADS: '2' },
      name: 'chat-restapi-fcgid',
    });
    await waitFor(() => d.output().includes('chat-restapi listening'), { what: 'restapi on stdin' });
    assert.match(d.output(), /stdin \(mod_fcgid\)/);
    const out = await fcgiRequest(sock, {
      REQUEST_METHOD: 'GET', REQUEST_URI: '/api/rooms/a%20b/messages?limit=2', QUERY_STRING: 'limit=2',
      SCRIPT_NAME: '/api/rooms/a b/messages', SERVER_PROTOCOL: 'HTTP/1.1',
    });
    assert.match(out, /^Status: 400 Bad Request\r\n/);
    assert.match(out, /\{"error":"invalid room id/);
    const health = await fcgiRequest(sock, { REQUEST_METHOD: 'GET', REQUEST_URI: '/health' });
    assert.match(health, /"storage":"disabled"/);
    const { code } = await d.stop('SIGTERM', 10000);
    assert.equal(code, 0);
  });
});

describe('chat-restapi on a TCP listener', () => {
  test('RESTAPI_LISTEN=host:port serves FastCGI over TCP', async () => {
    const port = await freePort();
    const d = spawnDaemon(binPath('restapi/chat-restapi'), [], {
      env: { STORAGE: 'none', RUN_DIR: tmpDir('chat-tcp-'), RESTAPI_LISTEN: `127.0.0.1:${port}`, RESTAPI_THREADS: '2' },
    });
    await waitFor(() => d.output().includes('chat-restapi listening'), { what: 'restapi on tcp' });
    const out = await fcgiRequest({ port, host: '127.0.0.1' },
      { REQUEST_METHOD: 'DELETE', REQUEST_URI: '/api/rooms' });
    assert.match(out, /^Status: 405 Method Not Allowed\r\n/);
    assert.match(out, /\r\nAllow: GET, HEAD, OPTIONS\r\n/);
    assert.equal((await d.stop('SIGTERM', 10000)).code, 0);
  });
});

function rawRequest(port, text) {
  return new Promise((resolve, reject) => {
    import('node:net').then(({ default: net }) => {
      const sock = net.connect(port, '127.0.0.1');
      let out = '';
      sock.setTimeout(5000, () => { sock.destroy(); reject(new Error('raw request timed out')); });
      sock.on('data', (d) => { out += d.toString(); });
      sock.on('end', () => resolve(out));
      sock.on('error', reject);
      sock.write(text);
    });
  });
}
