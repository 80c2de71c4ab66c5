// Observing chat-analytics (issue 10): the strict Prometheus parser refuses each kind of bad
// exposition; /metrics of a relay with more rooms than the cap passes it, with per-room series
// for the busiest rooms only; /ready answers in each state (no segment, ready, stale heartbeat,
// storage unreachable, storage disabled, relay stopped); /api/status?auto follows the relay.
// chat-restapi is spoken to over FastCGI directly, next to a real relay on the same segment.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { connect } from './lib/relay.mjs';
import { fcgiGet } from './lib/ops.mjs';
import { parsePrometheus, sampleValue } from './lib/prom.mjs';
import { binPath, freePort, spawnDaemon, tmpDir, waitFor } from './lib/util.mjs';

const GOOD = `# HELP chat_x_total Things.
# TYPE chat_x_total counter
chat_x_total 3
# HELP chat_lat_seconds Latency.
# TYPE chat_lat_seconds histogram
chat_lat_seconds_bucket{le="0.1"} 1
chat_lat_seconds_bucket{le="+Inf"} 2
chat_lat_seconds_sum 0.3
chat_lat_seconds_count 2
# HELP chat_room_users Users with a \\\\ and a \\n.
# TYPE chat_room_users gauge
chat_room_users{room="a \\"q\\" \\\\ \\n"} 1
chat_room_users{room="b}"} 2 1700000000000
`;

// Each row: what to break, and the error it must raise.
const BAD = [
  ['no final newline', GOOD.slice(0, -1), /end with a newline/],
  ['sample before HELP/TYPE', 'chat_a 1\n# HELP chat_a A.\n# TYPE chat_a gauge\n', /before its HELP\/TYPE/],
  ['TYPE without HELP', '# TYPE chat_a gauge\nchat_a 1\n', /lacks HELP or TYPE/],
  ['HELP without TYPE', '# HELP chat_a A.\nchat_a 1\n', /before its HELP\/TYPE|lacks HELP or TYPE/],
  ['TYPE twice', '# HELP chat_a A.\n# TYPE chat_a gauge\n# TYPE chat_a gauge\nchat_a 1\n', /TYPE twice/],
  ['empty HELP', '# HELP chat_a \n# TYPE chat_a gauge\nchat_a 1\n', /empty HELP|malformed/],
  ['bad HELP escape', '# HELP chat_a A \\t.\n# TYPE chat_a gauge\nchat_a 1\n', /bad escape in HELP/],
  ['unknown type', '# HELP chat_a A.\n# TYPE chat_a meter\nchat_a 1\n', /bad type/],
  ['bad metric name', '# HELP 1chat A.\n# TYPE 1chat gauge\n1chat 1\n', /bad metric name/],
  ['dash in name', '# HELP chat-a A.\n# TYPE chat-a gauge\nchat-a 1\n', /bad metric name/],
  ['bad label name', '# HELP chat_a A.\n# TYPE chat_a gauge\nchat_a{1x="v"} 1\n', /bad label name/],
  ['reserved label', '# HELP chat_a A.\n# TYPE chat_a gauge\nchat_a{__name__="v"} 1\n', /bad label name/],
  ['unquoted label', '# HELP chat_a A.\n# TYPE chat_a gauge\nchat_a{r=v} 1\n', /unquoted label value/],
  ['bad label escape', '# HELP chat_a A.\n# TYPE chat_a gauge\nchat_a{r="\\t"} 1\n', /bad escape in label value/],
  ['duplicate label', '# HELP chat_a A.\n# TYPE chat_a gauge\nchat_a{r="1",r="2"} 1\n', /duplicate label/],
  ['duplicate series', '# HELP chat_a A.\n# TYPE chat_a gauge\nchat_a{r="1"} 1\nchat_a{r="1"} 2\n', /duplicate series/],
  ['bad value', '# HELP chat_a A.\n# TYPE chat_a gauge\nchat_a one\n', /bad value/],
  ['carriage return', '# HELP chat_a A.\r\n# TYPE chat_a gauge\nchat_a 1\n', /carriage return/],
  ['interleaved families', '# HELP chat_a A.\n# TYPE chat_a gauge\nchat_a{r="1"} 1\n# HELP chat_b B.\n# TYPE chat_b gauge\nchat_b 1\nchat_a{r="2"} 1\n', /not contiguous/],
  ['counter without _total', '# HELP chat_a A.\n# TYPE chat_a counter\nchat_a 1\n', /must end in _total/],
  ['gauge with _total', '# HELP chat_a_total A.\n# TYPE chat_a_total gauge\nchat_a_total 1\n', /must not end in _total/],
  ['negative counter', '# HELP chat_a_total A.\n# TYPE chat_a_total counter\nchat_a_total -1\n', /counter below 0/],
  ['milliseconds', '# HELP chat_lat_milliseconds A.\n# TYPE chat_lat_milliseconds gauge\nchat_lat_milliseconds 1\n', /base units/],
  ['bucket without le', '# HELP chat_h_seconds H.\n# TYPE chat_h_seconds histogram\nchat_h_seconds_bucket 1\nchat_h_seconds_sum 1\nchat_h_seconds_count 1\n', /without le/],
  ['no +Inf bucket', '# HELP chat_h_seconds H.\n# TYPE chat_h_seconds histogram\nchat_h_seconds_bucket{le="1"} 1\nchat_h_seconds_sum 1\nchat_h_seconds_count 1\n', /\+Inf/],
  ['not cumulative', '# HELP chat_h_seconds H.\n# TYPE chat_h_seconds histogram\nchat_h_seconds_bucket{le="1"} 2\nchat_h_seconds_bucket{le="+Inf"} 1\nchat_h_seconds_sum 1\nchat_h_seconds_count 1\n', /not cumulative/],
  ['le not increasing', '# HELP chat_h_seconds H.\n# TYPE chat_h_seconds histogram\nchat_h_seconds_bucket{le="2"} 1\nchat_h_seconds_bucket{le="1"} 1\nchat_h_seconds_bucket{le="+Inf"} 1\nchat_h_seconds_sum 1\nchat_h_seconds_count 1\n', /le not increasing/],
  ['+Inf != _count', '# HELP chat_h_seconds H.\n# TYPE chat_h_seconds histogram\nchat_h_seconds_bucket{le="+Inf"} 2\nchat_h_seconds_sum 1\nchat_h_seconds_count 3\n', /!= _count/],
  ['no _count', '# HELP chat_h_seconds H.\n# TYPE chat_h_seconds histogram\nchat_h_seconds_bucket{le="+Inf"} 2\nchat_h_seconds_sum 1\n', /needs _bucket, _sum, _count/],
  ['_sum with le', '# HELP chat_h_seconds H.\n# TYPE chat_h_seconds histogram\nchat_h_seconds_bucket{le="+Inf"} 1\nchat_h_seconds_sum{le="1"} 1\nchat_h_seconds_count 1\n', /must not have an le/],
  ['_bucket of a gauge', '# HELP chat_g G.\n# TYPE chat_g gauge\nchat_g_bucket{le="1"} 1\n', /before its HELP\/TYPE/],
];

describe('the strict Prometheus parser', () => {
  test('accepts a well-formed exposition, escapes and timestamps included', () => {
    const f = parsePrometheus(GOOD);
    assert.equal(sampleValue(f, 'chat_room_users', { room: 'a "q" \\ \n' }), 1);
    assert.equal(sampleValue(f, 'chat_room_users', { room: 'b}' }), 2);
    assert.equal(f.get('chat_room_users').help, 'Users with a \\\\ and a \\n.');
    assert.equal(sampleValue(f, 'chat_lat_seconds_bucket', { le: '+Inf' }), 2);
  });
  for (const [what, text, want] of BAD) {
    test(`refuses: ${what}`, () => assert.throws(() => parsePrometheus(text), want));
  }
});

// chat-restapi on a FastCGI socket, reading ANALYTICS_SHM; env decides storage.
async function startRest(dir, shm, env = {}) {
  const sock = path.join(dir, `rest-${Date.now()}.sock`);
  const d = spawnDaemon(binPath('restapi/chat-restapi'), [], {
    env: { STORAGE: 'none', RUN_DIR: dir, RESTAPI_LISTEN: sock, RESTAPI_THREADS: '2', ANALYTICS_SHM: shm, ...env },
  });
  await waitFor(() => d.output().includes('chat-restapi listening'), { what: 'chat-restapi' });
  return { d, get: (uri) => fcgiGet(sock, { REQUEST_URI: uri }) };
}

async function startRelayOn(dir, shm, port) {
  const d = spawnDaemon(binPath('relay/chat-relay'), [], {
    env: { RELAY_LISTEN: `127.0.0.1:${port}`, STORAGE: 'none', DATA_DIR: path.join(dir, 'data'),
      RUN_DIR: dir, ANALYTICS_SHM: shm, LOG_LEVEL: 'warn' },
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, { what: 'relay' });
  return d;
}

describe('/ready, /metrics and /api/status?auto next to a real relay', () => {
  let dir, shm, port, rest, sqliteRest;
  before(async () => {
    dir = tmpDir('ops-monitor-');
    shm = path.join(dir, 'analytics.shm');
    port = await freePort();
    rest = await startRest(dir, shm);
    sqliteRest = await startRest(dir, shm, { STORAGE: 'sqlite', DATA_DIR: path.join(dir, 'db'), SQLITE_PATH: path.join(dir, 'chat.db') });
  });
  after(async () => {
    await rest?.d.stop();
    await sqliteRest?.d.stop();
  });

  test('each readiness state: no segment, ready, stale heartbeat, storage unreachable, relay stopped', async () => {
    // 1. No relay has ever run: no segment.
    let r = await rest.get('/ready');
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '5');
    assert.deepEqual(r.json, { status: 'not ready', error: 'analytics segment missing or stale: relay down', relay: 'down', storage: 'disabled' });
    assert.equal((await rest.get('/health')).status, 200, '/health stays the liveness view');

    // 2. The relay runs: ready, with storage disabled or ok.
    const relay = await startRelayOn(dir, shm, port);
    try {
      r = await waitFor(async () => { const x = await rest.get('/ready'); return x.status === 200 && x; }, { what: 'ready' });
      assert.deepEqual(r.json, { status: 'ready', relay: 'ok', storage: 'disabled' });
      const s = await waitFor(async () => { const x = await sqliteRest.get('/ready'); return x.status === 200 && x; }, { what: 'ready (sqlite)' });
      assert.deepEqual(s.json, { status: 'ready', relay: 'ok', storage: 'ok' });

      // 3. Storage unreachable while the relay is up.
      const dyn = await startRest(dir, shm, { STORAGE: 'dynamodb', DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
        AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' });
      try {
        r = await dyn.get('/ready');
        assert.equal(r.status, 503);
        assert.deepEqual(r.json, { status: 'not ready', error: 'storage unavailable', relay: 'ok', storage: 'unavailable' });
      } finally { await dyn.d.stop(); }

      // 4. The relay hangs (SIGSTOP): the heartbeat goes stale within seconds; SIGCONT: ready.
      relay.proc.kill('SIGSTOP');
      try {
        r = await waitFor(async () => { const x = await rest.get('/ready'); return x.status === 503 && x; },
          { what: 'stale heartbeat', timeoutMs: 15000, intervalMs: 250 });
        assert.equal(r.json.relay, 'down');
        assert.match(r.json.error, /stale/);
      } finally { relay.proc.kill('SIGCONT'); }
      await waitFor(async () => (await rest.get('/ready')).status === 200, { what: 'ready again' });
    } finally {
      assert.equal((await relay.stop()).code, 0);
    }
    // 5. The relay stopped.
    r = await waitFor(async () => { const x = await rest.get('/ready'); return x.status === 503 && x; }, { what: 'not ready after stop' });
    assert.equal(r.json.relay, 'down');
  });

  test('/metrics passes the strict parser with 25 rooms and exports only the 20 busiest; /api/status?auto agrees', async () => {
    const relay = await startRelayOn(dir, shm, port);
    const clients = [];
    try {
      for (let i = 0; i < 24; i++) {
        clients.push(await connect(`ws://127.0.0.1:${port}/ws?room=quiet${i}&userId=u${i}`));
      }
      for (let i = 0; i < 3; i++) {
        clients.push(await connect(`ws://127.0.0.1:${port}/ws?room=busy&userId=b${i}`));
      }
      clients[24].chat('hello busy room');
      await clients[25].nextMessage((m) => m.type === 'chat' && m.content === 'hello busy room');
      const fams = await waitFor(async () => {
        const r = await rest.get('/metrics');
        assert.equal(r.status, 200);
        assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
        const f = parsePrometheus(r.body);
        return sampleValue(f, 'chat_rooms') === 25 && sampleValue(f, 'chat_connections') === 27 && f;
      }, { what: '25 rooms in /metrics' });
      for (const [name, f] of fams) {
        assert.match(name, /^chat_[a-z0-9_]+$/, name);
        assert.ok(f.help.length > 3, name);
      }
      assert.equal(sampleValue(fams, 'chat_relay_up'), 1);
      for (const fam of ['chat_room_connections', 'chat_room_users', 'chat_room_messages_last_minute', 'chat_room_messages_total']) {
        const rooms = fams.get(fam).samples.map((s) => s.labels.room);
        assert.equal(rooms.length, 20, `${fam}: capped at the 20 busiest rooms`);
        assert.ok(rooms.includes('busy'), `${fam}: the busiest room is exported`);
      }
      assert.equal(sampleValue(fams, 'chat_room_connections', { room: 'busy' }), 3);
      assert.ok(sampleValue(fams, 'chat_room_messages_total', { room: 'busy' }) >= 1);
      assert.equal(fams.get('chat_fanout_latency_seconds').type, 'histogram');

      const st = await rest.get('/api/status?auto');
      assert.equal(st.status, 200);
      assert.match(st.headers['content-type'], /^text\/plain/);
      const kv = Object.fromEntries(st.body.trimEnd().split('\n').map((l) => {
        assert.match(l, /^[A-Za-z][A-Za-z0-9]*: \S+$/, l);
        return l.split(': ');
      }));
      assert.equal(kv.RelayUp, '1');
      assert.equal(kv.RelayPid, String(relay.pid));
      assert.equal(kv.Rooms, '25');
      assert.equal(kv.Storage, 'disabled');
      assert.equal(kv.ActiveConnections, '27');
    } finally {
      for (const c of clients) c.ws.terminate();
      await relay.stop();
    }
  });
});
