// measure-ws-capacity.mjs: how many WebSockets the user-local Apache configuration holds.
// Starts the stack (relay, chat-restapi, Apache) with the `make run` sizing, opens WebSockets
// through Apache in batches until handshakes are refused or the bound is reached, then checks
// that /health still answers and reports RSS and latency. Bounded in count and time.
//
//   CHAT_BUILD_DIR=_build/run node httpd-conf/measure-ws-capacity.mjs [children threadsPerChild wsPerChild]
import { readFileSync, readdirSync } from 'node:fs';
import { startStack } from '../tests/integration/lib/apache.mjs';
import { connect } from '../tests/integration/lib/relay.mjs';

const [children = 1, threadsPerChild = 1024, wsPerChild = 960] = process.argv.slice(2).map(Number);
const bound = children * wsPerChild + 100;
const deadline = Date.now() + 180000;

function rssOf(pids) {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
  }
  return Math.round(kb / 1024);
}
function apachePids(parent) {
  const out = [parent];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === parent) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}
async function timed(url) {
  const t0 = performance.now();
  const r = await fetch(url);
  await r.text();
  return { status: r.status, ms: performance.now() - t0 };
}

const s = await startStack({
  storage: 'none',
  env: { MAX_CONN_PER_IP: '0', LOG_LEVEL: 'warn' },
  sizing: { children, threadsPerChild, wsPerChild },
});
const clients = [];
let refused = 0;
let firstRefusal = null;
try {
  const idle = rssOf(apachePids(s.apache.pid));
  while (clients.length + refused < bound && Date.now() < deadline && refused < 50) {
    const batch = [];
    for (let i = 0; i < 25 && clients.length + refused + batch.length < bound; i++) {
      const n = clients.length + batch.length;
      batch.push(connect(`${s.wsUrl}?room=cap&userId=u${n}&username=U${n}`,
        { origin: s.origin }).then((c) => clients.push(c), (e) => {
        refused++;
        if (!firstRefusal) firstRefusal = { at: clients.length, why: e.message };
      }));
    }
    await Promise.all(batch);
  }
  const health = [];
  for (let i = 0; i < 20; i++) health.push(await timed(`${s.baseUrl}/health`));
  const an = await (await fetch(`${s.baseUrl}/api/analytics`)).json();
  const ms = health.map((h) => h.ms).sort((a, b) => a - b);
  console.log(JSON.stringify({
    sizing: { children, threadsPerChild, wsPerChild, maxRequestWorkers: children * threadsPerChild },
    open: clients.length,
    relayCounted: an.activeConnections,
    refused,
    firstRefusal,
    healthStatuses: [...new Set(health.map((h) => h.status))],
    healthMsP50: Math.round(ms[10] * 10) / 10,
    healthMsMax: Math.round(ms[ms.length - 1] * 10) / 10,
    apacheRssMbIdle: idle,
    apacheRssMbLoaded: rssOf(apachePids(s.apache.pid)),
  }, null, 1));
} finally {
  for (const c of clients) c.ws.terminate();
  await s.stop();
}
