// Issue 5, the lossless persistence pipeline with the DynamoDB store: dynalite is stopped in the
// middle of a stream and started again (same data directory); every acknowledged message
// reaches the table exactly once, and the relay kept serving meanwhile.
//
// Dynalite comes back on new ports, so the relay talks to it through a small TCP forwarder on a
// fixed port that this test owns: while dynalite is down the forwarder refuses (closes) every
// connection, as a stopped DynamoDB endpoint would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startRelay, connect } from './lib/relay.mjs';
import { scanIds, startDynalite } from './lib/dynalite.mjs';
import { tmpDir, waitFor } from './lib/util.mjs';

const TABLE = 'chat-messages';

function forwarder() {
  let target = null;               // { host, port } or null: refuse
  const socks = new Set();
  const server = net.createServer((client) => {
    socks.add(client);
    client.on('close', () => socks.delete(client));
    client.on('error', () => {});
    if (!target) {
      client.destroy();
      return;
    }
    const up = net.connect(target.port, target.host);
    socks.add(up);
    up.on('close', () => { socks.delete(up); client.destroy(); });
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
    client.pipe(up);
    up.pipe(client);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      point(url) {
        const u = url ? new URL(url) : null;
        target = u ? { host: u.hostname, port: Number(u.port) } : null;
        for (const s of socks) s.destroy();          // no connection survives a switch
      },
      close: () => new Promise((r) => { for (const s of socks) s.destroy(); server.close(r); }),
    }));
  });
}


async function sendAcked(client, n, tag) {
  const before = client.messages.filter((m) => m.type === 'ack').length;
  for (let i = 0; i < n; i++) client.chat(`${tag} ${i}`, { nonce: `${tag}-${i}` });
  const acks = await client.collect((m) => m.type === 'ack', before + n, 30000);
  return acks.slice(before).map((a) => a.messageId);
}

test('dynalite stopped mid-stream and restarted: every acknowledged message arrives exactly once', async () => {
  const dynDir = tmpDir('persist-dyn-');
  const fwd = await forwarder();
  let db = await startDynalite({ path: `${dynDir}/db` });
  fwd.point(db.direct);
  const relay = await startRelay({
    dir: tmpDir('persist-dyn-relay-'),
    env: {
      STORAGE: 'dynamodb',
      DYNAMODB_ENDPOINT: `http://127.0.0.1:${fwd.port}`,
      DYNAMODB_REGION: 'us-east-1',
      DYNAMODB_TABLE: TABLE,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      RATE_LIMIT_PER_SEC: '0',
      CLIENT_SEND_QUEUE: '4096',   // the sender's own echoes and acks must not be shed
      PERSIST_WORKERS: '2',
      PERSIST_FLUSH_MS: '50',
      PERSIST_QUEUE_SIZE: '16',
    },
  });
  try {
    const c = await connect(relay.wsUrl({ room: 'dyn-room', userId: 'u1', username: 'Dyn' }));
    const first = await sendAcked(c, 40, 'before');
    await waitFor(async () => (await scanIds(db.direct)).length === 40,
      { timeoutMs: 30000, what: 'the first 40 in the table' });

    await db.stop();
    fwd.point(null);
    const during = await sendAcked(c, 120, 'during');   // the relay keeps serving
    await waitFor(async () => (await relay.health()).storage === 'unavailable',
      { timeoutMs: 30000, what: '/health to report the store unavailable' });

    db = await startDynalite({ path: `${dynDir}/db` });
    fwd.point(db.direct);
    const after = await sendAcked(c, 40, 'after');
    const all = [...first, ...during, ...after];
    let ids = [];
    await waitFor(async () => { ids = await scanIds(db.direct); return ids.length >= all.length; },
      { timeoutMs: 60000, what: `all ${all.length} messages in the table` });
    assert.equal(ids.length, all.length, 'no message stored twice');
    assert.equal(new Set(ids).size, ids.length);
    const have = new Set(ids);
    for (const id of all) assert.ok(have.has(id), `acknowledged message ${id} missing`);
    assert.equal((await relay.health()).storage, 'ok');
    const exit = await relay.stop('SIGTERM', 30000);
    assert.equal(exit.code, 0, relay.output());
    assert.match(relay.output(), /persistence drained/);
  } finally {
    await relay.stop('SIGKILL');
    await db.stop();
    await fwd.close();
  }
});
