// Apache's WebSocket cap (issue 6): every proxied WebSocket holds an MPM worker thread, so the
// /ws ProxyPass has max= below ThreadsPerChild with a short acquire=. With the cap reached,
// further handshakes must fail fast with 503 while /api keeps answering from the reserved
// threads. A small MPM (1 child x 24 threads, 16 WebSockets) keeps the test light; the same
// rule sizes the real configuration (docs/APACHE.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/apache.mjs';
import { connect, refusedHandshake } from './lib/relay.mjs';
import { waitFor } from './lib/util.mjs';

test('WebSockets beyond max= get a fast 503 and /api still answers', async () => {
  const cap = 16;
  const s = await startStack({
    storage: 'none',
    env: { MAX_CONN_PER_IP: '0' },
    sizing: { children: 1, threadsPerChild: 24, wsPerChild: cap },
  });
  const clients = [];
  try {
    for (let i = 0; i < cap; i++) {
      clients.push(await connect(`${s.wsUrl}?room=cap&userId=u${i}&username=U${i}`, { origin: s.origin }));
    }
    await waitFor(async () => {
      const b = await (await fetch(`${s.baseUrl}/api/analytics`)).json();
      return b.activeConnections === cap;
    }, { what: `${cap} connections in analytics` });

    const t0 = Date.now();
    const over = await refusedHandshake(`${s.wsUrl}?room=cap&userId=over`, { origin: s.origin });
    const waited = Date.now() - t0;
    assert.equal(over.status, 503, 'the handshake over the cap is refused');
    assert.ok(waited < 3000, `refused fast (acquire=200ms), took ${waited} ms`);

    for (let i = 0; i < 5; i++) {
      const h = await fetch(`${s.baseUrl}/health`);
      assert.equal(h.status, 200, '/health answers with the WebSockets at their cap');
      const a = await fetch(`${s.baseUrl}/api/analytics`);
      assert.equal(a.status, 200);
      assert.equal((await a.json()).activeConnections, cap);
    }

    // A freed slot is usable again.
    clients.pop().ws.close();
    const again = await waitFor(async () => {
      try {
        return await connect(`${s.wsUrl}?room=cap&userId=again`, { origin: s.origin });
      } catch { return null; }
    }, { what: 'a WebSocket after one closed', timeoutMs: 10000 });
    clients.push(again);
  } finally {
    for (const c of clients) c.ws.terminate();
    await s.stop();
  }
});
