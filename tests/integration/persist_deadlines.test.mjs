// A store that never answers must not hold the relay's start or its shutdown (issue 5: "store
// unreachable at start: the relay still serves"; "SIGTERM drains ... within SHUTDOWN_DRAIN_S").
// The endpoint is a TCP listener that accepts and never replies, the worst case for a client:
// no refusal, no error, only silence until a timeout. The bounds below are the configured
// deadlines (about 2 s for the store calls of the start-up replay, SHUTDOWN_DRAIN_S for the
// drain) plus a generous margin for a loaded machine; without deadlines each phase took the
// DynamoDB client's own 10 s request timeout or more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect, startRelay } from './lib/relay.mjs';
import { waitFor } from './lib/util.mjs';

const MARGIN_MS = 5000;
const RECOVER_MS = 2000;      // relay_persist_recover's bound on one store call
const DRAIN_S = 1;

async function silentEndpoint() {
  const sockets = new Set();
  const hole = net.createServer((s) => {
    sockets.add(s);
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => hole.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${hole.address().port}`,
    connections: () => sockets.size,
    close() { for (const s of sockets) s.destroy(); hole.close(); },
  };
}

test('STORAGE=dynamodb with an endpoint that never answers: the relay serves within the start-up bound, says storage unavailable, and exits within SHUTDOWN_DRAIN_S after SIGTERM', async () => {
  const hole = await silentEndpoint();
  let relay = null;
  try {
    const t0 = Date.now();
    relay = await startRelay({
      env: {
        STORAGE: 'dynamodb', DYNAMODB_ENDPOINT: hole.url, DYNAMODB_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
        SHUTDOWN_DRAIN_S: String(DRAIN_S), PERSIST_FLUSH_MS: '20',
      },
    });
    const startedMs = Date.now() - t0;
    assert.ok(startedMs < RECOVER_MS + MARGIN_MS,
      `/health answered ${startedMs} ms after spawn (bound ${RECOVER_MS + MARGIN_MS} ms)`);
    const h = await relay.health();
    assert.equal(h.storage, 'unavailable', JSON.stringify(h));

    // Work in flight when SIGTERM comes: writes of acknowledged messages and a room warm-up,
    // all waiting on the silent endpoint.
    const c = await connect(relay.wsUrl({ room: 'silent', userId: 'u1', username: 'u1' }),
      { waitHello: false });
    for (let i = 0; i < 5; i++) c.chat(`m${i}`, { nonce: `n${i}` });
    await c.collect((m) => m.type === 'ack', 5, 30000);   // after the warm-up read gives up
    await waitFor(() => hole.connections() >= 2, { what: 'writers waiting on the endpoint' });
    c.ws.terminate();

    const t1 = Date.now();
    const { code } = await relay.stop('SIGTERM', 60000);
    const stopMs = Date.now() - t1;
    assert.equal(code, 0, relay.output());
    assert.ok(stopMs < DRAIN_S * 1000 + MARGIN_MS,
      `exited ${stopMs} ms after SIGTERM (SHUTDOWN_DRAIN_S=${DRAIN_S}, bound ${DRAIN_S * 1000 + MARGIN_MS} ms)`);
    assert.match(relay.output(), /messages left in the journal for the next start/);
    console.log(`# serving after ${startedMs} ms, exited ${stopMs} ms after SIGTERM`);
  } finally {
    if (relay) await relay.stop('SIGKILL');
    hole.close();
  }
});
