// Issue 5, the lossless persistence pipeline with the embedded SQLite store: a relay killed with
// SIGKILL mid-stream loses no acknowledged message (the next start replays its journal), and
// SIGTERM drains everything into the store before exiting.
//
// PERSIST_FLUSH_MS is long on purpose: the one worker then holds its batch in memory for ten
// seconds, so at the kill the messages exist only in the journal. Without the journal they
// would be gone; the check that the store misses them right after the kill proves the test
// exercises that path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startRelay, connect } from './lib/relay.mjs';
import { tmpDir, waitFor } from './lib/util.mjs';

const N = 200;

function relayEnv() {
  return {
    STORAGE: 'sqlite',
    RATE_LIMIT_PER_SEC: '0',
    CLIENT_SEND_QUEUE: '4096',     // the sender's own echoes and acks must not be shed
    PERSIST_WORKERS: '1',
    PERSIST_BATCH_SIZE: '1000',
    PERSIST_FLUSH_MS: '10000',
    SPOOL_FSYNC_MS: '20',
  };
}

function storedIds(dir, db = path.join(dir, 'data', 'chat.db')) {
  if (!existsSync(db)) return [];
  const out = execFileSync('sqlite3', [db, 'SELECT message_id FROM messages;'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

function segments(dir) {
  const j = path.join(dir, 'data', 'journal');
  return existsSync(j) ? readdirSync(j).filter((f) => f.startsWith('seg-')) : [];
}

// Sends n chat messages with nonces and resolves with the acknowledged messageIds.
async function sendAcked(client, n, tag) {
  for (let i = 0; i < n; i++) client.chat(`${tag} ${i} caf\u00e9`, { nonce: `${tag}-${i}` });
  const acks = await client.collect((m) => m.type === 'ack', n, 30000);
  const ids = acks.map((a) => a.messageId);
  assert.equal(new Set(ids).size, n);
  return ids;
}

test('a relay killed mid-stream keeps every message it broadcast: the restart replays the journal', async () => {
  const dir = tmpDir('persist-kill-');
  const relay = await startRelay({ dir, env: relayEnv() });
  const c = await connect(relay.wsUrl({ room: 'kill-room', userId: 'u1', username: 'Killer' }));
  // Send 2N and kill once N are acknowledged, while the rest are still arriving.
  for (let i = 0; i < 2 * N; i++) c.chat(`kill ${i} caf\u00e9`, { nonce: `kill-${i}` });
  await c.collect((m) => m.type === 'ack', N, 30000);
  await relay.kill();
  // Every message the relay broadcast or acknowledged before it died.
  const seen = new Set(c.messages.filter((m) => m.type === 'ack' || m.type === 'chat')
    .map((m) => m.messageId));
  assert.ok(seen.size >= N);

  assert.ok(storedIds(dir).length < seen.size, 'the worker should still have held its batch');
  assert.ok(segments(dir).length >= 1, 'the journal must hold the messages');

  const again = await startRelay({ dir, env: relayEnv() });   // /health answers after recover
  try {
    const stored = storedIds(dir);
    assert.equal(new Set(stored).size, stored.length, 'each message stored once');
    assert.ok(stored.length <= 2 * N);
    const have = new Set(stored);
    for (const id of seen) assert.ok(have.has(id), `broadcast message ${id} missing`);
    assert.deepEqual(segments(dir), [], 'replayed segments are deleted');
    assert.match(again.output(), /journal replayed/);
  } finally {
    await again.stop();
  }
});

test('SIGTERM drains the queue and the journal into the store before the relay exits', async () => {
  const dir = tmpDir('persist-term-');
  const relay = await startRelay({ dir, env: relayEnv() });
  const c = await connect(relay.wsUrl({ room: 'term-room', userId: 'u2', username: 'Drainer' }));
  const acked = await sendAcked(c, N, 'term');
  const exit = await relay.stop('SIGTERM', 30000);
  assert.equal(exit.code, 0, relay.output());

  const stored = storedIds(dir);
  assert.equal(stored.length, N);
  const have = new Set(stored);
  for (const id of acked) assert.ok(have.has(id), `acknowledged message ${id} missing`);
  assert.deepEqual(segments(dir), [], 'a drained journal leaves no segment behind');
  assert.match(relay.output(), /persistence drained/);
});

test('a store unreachable at start: the relay serves, /health says so, and the messages arrive once it is back', async () => {
  const dir = tmpDir('persist-late-');
  const blocker = path.join(dir, 'db');          // a file where the database directory belongs
  const db = path.join(blocker, 'chat.db');
  writeFileSync(blocker, 'not a directory');
  const relay = await startRelay({
    dir,
    env: { ...relayEnv(), PERSIST_FLUSH_MS: '50', PERSIST_QUEUE_SIZE: '8', SQLITE_PATH: db },
  });
  try {
    assert.equal((await relay.health()).storage, 'unavailable');
    const c = await connect(relay.wsUrl({ room: 'late-room', userId: 'u3', username: 'Late' }));
    const acked = await sendAcked(c, 100, 'late');

    rmSync(blocker);
    mkdirSync(blocker);
    await waitFor(() => storedIds(dir, db).length === 100,
      { timeoutMs: 30000, what: 'all 100 messages in the database' });
    const have = new Set(storedIds(dir, db));
    for (const id of acked) assert.ok(have.has(id), `acknowledged message ${id} missing`);
    await waitFor(async () => (await relay.health()).storage === 'ok',
      { timeoutMs: 10000, what: '/health storage ok' });
    const exit = await relay.stop('SIGTERM', 30000);
    assert.equal(exit.code, 0, relay.output());
    assert.deepEqual(segments(dir), []);
    assert.equal(storedIds(dir, db).length, 100, 'nothing stored twice');
  } finally {
    await relay.stop('SIGKILL');
  }
});
