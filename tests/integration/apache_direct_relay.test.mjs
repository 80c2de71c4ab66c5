// Deployments beyond what Apache's threads hold (issue 6): clients talk wss:// straight to the
// relay's own TLS listener while Apache keeps the frontend and the API. The analytics Apache
// serves must see those connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startStack } from './lib/apache.mjs';
import { Client } from './lib/relay.mjs';
import { tmpDir, waitFor } from './lib/util.mjs';

test('wss straight to the relay, API through Apache', async () => {
  const dir = tmpDir('chat-tls-');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
    '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const s = await startStack({
    storage: 'none',
    relayEnv: { RELAY_TLS_CERT: cert, RELAY_TLS_KEY: key },
  });
  let ws;
  try {
    ws = new WebSocket(`wss://127.0.0.1:${s.relayPort}/ws?room=direct&userId=hal&username=Hal`,
      { ca: readFileSync(cert), origin: s.origin });
    const c = new Client(ws);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    c.chat('over tls');
    const m = await c.nextMessage((x) => x.type === 'chat' && x.content === 'over tls');
    assert.equal(m.userId, 'hal');

    const plain = new WebSocket(`ws://127.0.0.1:${s.relayPort}/ws?room=direct`);
    const plainFailed = await new Promise((resolve) => {
      plain.once('open', () => { plain.terminate(); resolve(false); });
      plain.once('error', () => resolve(true));
      plain.once('unexpected-response', () => resolve(true));
    });
    assert.ok(plainFailed, 'the TLS listener does not speak plain ws');

    const a = await waitFor(async () => {
      const b = await (await fetch(`${s.baseUrl}/api/analytics`)).json();
      return b.activeConnections === 1 ? b : null;
    }, { what: 'the direct connection in analytics' });
    assert.equal(a.rooms.find((r) => r.roomId === 'direct').connections, 1);
    assert.equal(a.totalMessages, 1);
  } finally {
    if (ws) ws.terminate();
    await s.stop();
  }
});
