// Storage outages under load (issue 9), through the whole stack (Apache, chat-relay,
// chat-restapi): while clients chat through Apache /ws at a steady rate, the store goes away for
// OUTAGE_S seconds (default 30, the figure) and comes back. Chat must go on throughout
// (every message acknowledged and delivered to the other client), /health must say the store is
// unavailable while it is, and after recovery every acknowledged message must be in the store
// exactly once.
//
// Two outages, run at the same time to keep the suite short (each scenario has its own stack):
//  - DynamoDB: dynalite is stopped (its port then refuses connections, as an unreachable
//    endpoint does) and started again on the same port and data directory.
//  - SQLite: another process holds the database with BEGIN EXCLUSIVE, so every write of the
//    relay fails with SQLITE_BUSY: the database is unwritable while files and handles stay as
//    they are (as root, chmod would not stop anyone). In WAL mode readers are not blocked, so
//    chat-restapi's own probe (a read) still succeeds; its /health must say "unavailable" all
//    the same, because it also takes the relay's view (the storageUp gauge of the writers).
//    The relay's saves fail within seconds (a short busy wait for writes) and a write that
//    hangs longer than PERSIST_STALL_MS counts as down too.
// CHAT_FAULT_OUTAGE_S shortens the outage for quick local runs.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { startStack } from './lib/apache.mjs';
import { dynamoEnv, scanIds, startDynalite } from './lib/dynalite.mjs';
import { connect } from './lib/relay.mjs';
import { sleep, tmpDir, waitFor } from './lib/util.mjs';

const OUTAGE_S = Number(process.env.CHAT_FAULT_OUTAGE_S || 30);
const RATE_MS = 100;            // one message every 100 ms from each writer
const TABLE = 'chat-messages';

const relayEnv = {
  RATE_LIMIT_PER_SEC: '1000',
  RATE_LIMIT_BURST: '1000',
  CLIENT_SEND_QUEUE: '4096',
  PERSIST_FLUSH_MS: '50',
  PERSIST_QUEUE_SIZE: '64',
};

// A writer and a reader through Apache. send() chats with a nonce; acked() are the messageIds
// acknowledged so far; delivered() the ones the reader got.
async function chatters(s, room) {
  const url = (u) => `${s.wsUrl}?room=${room}&userId=${u}&username=${u}`;
  const w = await connect(url('writer'), { origin: s.origin });
  const r = await connect(url('reader'), { origin: s.origin });
  let n = 0;
  let timer = null;
  return {
    start() {
      timer = setInterval(() => { w.chat(`m ${n}`, { nonce: `n-${n}` }); n++; }, RATE_MS);
    },
    stop() { clearInterval(timer); },
    kill() { clearInterval(timer); w.ws.terminate(); r.ws.terminate(); },
    sent: () => n,
    acked: () => w.messages.filter((m) => m.type === 'ack'),
    errors: () => w.messages.filter((m) => m.type === 'error'),
    delivered: () => r.chats().filter((m) => m.userId === 'writer'),
    async finish() {
      await waitFor(() => w.messages.filter((m) => m.type === 'ack' || m.type === 'error').length >= n,
        { timeoutMs: 20000, what: `answers to all ${n} messages` });
      await waitFor(() => r.chats().filter((m) => m.userId === 'writer').length >= n,
        { timeoutMs: 20000, what: `the reader to get all ${n}` });
      w.ws.close();
      r.ws.close();
    },
  };
}

const relayHealth = async (s) => (await fetch(`http://127.0.0.1:${s.relayPort}/health`)).json();
const apacheHealth = async (s) => (await fetch(`${s.baseUrl}/health`)).json();

// Runs the load around an outage. outage.down()/up() break and repair the store; stored()
// lists the messageIds in it; apacheSeesIt: whether chat-restapi's /health must also say so.
async function scenario(name, s, outage, stored, opts) {
  const c = await chatters(s, `outage-${name}`);
  try {
    return await underLoad(name, s, c, outage, stored, opts);
  } finally {
    c.kill();      // a failure must not leave the writer's timer running
  }
}

async function underLoad(name, s, c, outage, stored, { apacheSeesIt }) {
  c.start();
  await sleep(3000);
  const before = c.acked().length;
  assert.ok(before >= 20, `${name}: chat runs before the outage (${before} acks)`);

  await outage.down();
  const downAt = Date.now();
  const sentAtDown = c.sent();
  // A write first waits out the store's own timeouts before the relay calls the store
  // unreachable (curl's connect timeout, SQLite's short busy wait for writes, at most
  // PERSIST_STALL_MS for a call that hangs): seconds, not instantly.
  // The first time the relay's /health says so is recorded; the caller asserts on it.
  let seenAfter = null;
  await waitFor(async () => (await relayHealth(s)).storage === 'unavailable',
    { timeoutMs: OUTAGE_S * 1000, intervalMs: 200, what: `${name}: relay /health storage unavailable` })
    .then(() => { seenAfter = Date.now() - downAt; }, () => {});
  if (apacheSeesIt) {
    await waitFor(async () => {
      const h = await apacheHealth(s);
      return h.storage === 'unavailable' && h.status !== 'ok';
    }, { timeoutMs: OUTAGE_S * 1000, intervalMs: 200, what: `${name}: /health through Apache storage unavailable` });
    // the monitoring page tells the same story as /health
    const status = await (await fetch(`${s.baseUrl}/api/status?auto`)).text();
    assert.match(status, /^Storage: unavailable$/m, `${name}: /api/status?auto during the outage`);
  }
  const left = OUTAGE_S * 1000 - (Date.now() - downAt);
  if (left > 0) await sleep(left);
  // Chat went on during the outage: acknowledged and delivered, not merely queued.
  const ackedDuring = c.acked().filter((a) => Number(a.nonce.slice(2)) >= sentAtDown).length;
  assert.ok(ackedDuring >= (OUTAGE_S * 1000 / RATE_MS) * 0.5,
    `${name}: ${ackedDuring} messages acknowledged during a ${OUTAGE_S} s outage`);
  const stillDown = (await relayHealth(s)).storage === 'unavailable';
  console.log(`# ${name}: /health unavailable after ${seenAfter} ms of ${OUTAGE_S} s; ${ackedDuring} acked during the outage`);

  await outage.up();
  await waitFor(async () => (await relayHealth(s)).storage === 'ok',
    { timeoutMs: 60000, intervalMs: 200, what: `${name}: relay /health storage ok again` });
  await sleep(2000);
  c.stop();
  await c.finish();

  assert.deepEqual(c.errors(), [], `${name}: no message was refused`);
  const acked = c.acked().map((a) => a.messageId);
  assert.equal(new Set(acked).size, c.sent(), `${name}: every message acknowledged once`);
  assert.deepEqual(c.delivered().map((m) => m.messageId).sort(), [...acked].sort(),
    `${name}: the reader got every acknowledged message`);
  let ids = [];
  await waitFor(async () => { ids = await stored(); return ids.length >= acked.length; },
    { timeoutMs: 60000, intervalMs: 250, what: `${name}: all ${acked.length} messages stored` });
  assert.equal(ids.length, acked.length, `${name}: no message stored twice`);
  assert.equal(new Set(ids).size, ids.length);
  const have = new Set(ids);
  for (const id of acked) assert.ok(have.has(id), `${name}: acknowledged message ${id} missing`);
  const h = await apacheHealth(s);
  assert.equal(h.storage, 'ok');
  return { messages: acked.length, healthSaidUnavailable: seenAfter !== null && stillDown };
}


async function dynamoOutage() {
  const dbDir = `${tmpDir('fault-dyn-')}/db`;
  let db = await startDynalite({ path: dbDir });
  const port = Number(new URL(db.endpoint).port);
  const s = await startStack({
    storage: 'dynamodb',
    env: dynamoEnv(db, TABLE),
    relayEnv,
  });
  try {
    await waitFor(async () => (await relayHealth(s)).storage === 'ok', { what: 'dynamo up' });
    return await scenario('dynamodb', s, {
      down: () => db.stop(),
      up: async () => { db = await startDynalite({ path: dbDir, port }); },
    }, () => scanIds(db.direct), { apacheSeesIt: true });
  } finally {
    await s.stop();
    await db.stop();
  }
}

async function sqliteOutage() {
  const s = await startStack({ storage: 'sqlite', relayEnv });
  let locker = null;
  try {
    await waitFor(async () => (await relayHealth(s)).storage === 'ok', { what: 'sqlite up' });
    return await scenario('sqlite', s, {
      async down() {
        // -bail: if BEGIN fails, sqlite3 exits instead of going on to print 'locked'; the busy
        // timeout lets it wait out a save of the relay's that holds the write lock right now.
        locker = spawn('sqlite3', ['-bail', s.env.SQLITE_PATH], { stdio: ['pipe', 'pipe', 'inherit'] });
        locker.stdin.write('.timeout 20000\nBEGIN EXCLUSIVE;\nSELECT \'locked\';\n');
        await new Promise((resolve, reject) => {
          locker.stdout.on('data', (d) => { if (d.toString().includes('locked')) resolve(); });
          locker.on('exit', () => reject(new Error('sqlite3 exited before locking')));
        });
      },
      async up() {
        const exited = new Promise((r) => locker.on('exit', r));
        locker.stdin.end('COMMIT;\n.quit\n');
        await exited;
        locker = null;
      },
    }, async () => execFileSync('sqlite3', [s.env.SQLITE_PATH,
      "SELECT message_id FROM messages WHERE room_id = 'outage-sqlite';"], { encoding: 'utf8' })
      .split('\n').filter(Boolean), { apacheSeesIt: true });
  } finally {
    if (locker) locker.kill('SIGKILL');
    await s.stop();
  }
}

// Both outages run once, at the same time, in before(); the tests below judge their results.
const results = {};
before(async () => {
  const [dyn, sq] = await Promise.allSettled([dynamoOutage(), sqliteOutage()]);
  results.dynamodb = dyn;
  results.sqlite = sq;
});
const outcome = (name) => {
  const r = results[name];
  if (!r) throw new Error('the scenario did not run');
  if (r.status === 'rejected') throw r.reason;
  return r.value;
};

test(`DynamoDB stopped for ${OUTAGE_S} s under load: chat goes on, /health (relay and Apache) says so, every message stored once`, () => {
  const r = outcome('dynamodb');
  assert.ok(r.messages > OUTAGE_S * 5, `${r.messages} messages`);
  assert.ok(r.healthSaidUnavailable, 'the relay\'s /health said unavailable during the outage');
});

test(`SQLite locked for ${OUTAGE_S} s under load: chat goes on, every message stored once after recovery`, () => {
  const r = outcome('sqlite');
  assert.ok(r.messages > OUTAGE_S * 5, `${r.messages} messages`);
});

test(`SQLite locked for ${OUTAGE_S} s: /health (relay and Apache) says storage unavailable`, () => {
  // Before the fast-failing writes and the stall watchdog, a write into a locked database
  // waited about 50 s (busy_timeout 1 s x the apr_dbd driver's 16 tries x 3 attempts) and
  // /health stayed "ok" through a 100 s lock.
  assert.ok(outcome('sqlite').healthSaidUnavailable, 'the relay\'s /health said unavailable during the outage');
});
