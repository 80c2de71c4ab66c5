// ops.mjs: helpers for the operations tests (issue 10): a FastCGI client to talk to
// chat-restapi without Apache, an sd_notify listener standing in for systemd, and process
// checks for daemons that detached (--daemon), which util.spawnDaemon does not track.
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { spawnDaemon, waitFor } from './util.mjs';

// A minimal FastCGI client: one responder request with exactly params and an empty body;
// resolves with the application's raw stdout. where: a unix socket path or { host, port }.
export function fcgiRequest(where, params) {
  const rec = (type, body) => {
    const h = Buffer.alloc(8);
    h[0] = 1; h[1] = type; h.writeUInt16BE(1, 2); h.writeUInt16BE(body.length, 4);
    return Buffer.concat([h, body]);
  };
  const len = (n) => (n < 128 ? Buffer.from([n])
    : Buffer.from([(n >>> 24) | 0x80, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]));
  const pairs = Buffer.concat(Object.entries(params).flatMap(([k, v]) => {
    const kb = Buffer.from(k); const vb = Buffer.from(String(v));
    return [len(kb.length), len(vb.length), kb, vb];
  }));
  const begin = Buffer.from([0, 1, 0, 0, 0, 0, 0, 0]);
  return new Promise((resolve, reject) => {
    const c = typeof where === 'string' ? net.connect(where) : net.connect(where.port, where.host);
    let buf = Buffer.alloc(0);
    let out = '';
    c.setTimeout(5000, () => { c.destroy(); reject(new Error('fastcgi timeout')); });
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8) {
        const clen = buf.readUInt16BE(4);
        const total = 8 + clen + buf[6];
        if (buf.length < total) break;
        if (buf[1] === 6) out += buf.subarray(8, 8 + clen).toString();
        if (buf[1] === 3) { c.end(); resolve(out); }
        buf = buf.subarray(total);
      }
    });
    c.on('error', reject);
    c.write(Buffer.concat([rec(1, begin), rec(4, pairs), rec(4, Buffer.alloc(0)), rec(5, Buffer.alloc(0))]));
  });
}

// A GET through fcgiRequest (params over GET defaults), its stdout split into
// { status, headers, body, json }.
export async function fcgiGet(where, params) {
  return splitCgi(await fcgiRequest(where,
    { REQUEST_METHOD: 'GET', SERVER_PROTOCOL: 'HTTP/1.1', QUERY_STRING: '', ...params }));
}

function splitCgi(text) {
  const end = text.indexOf('\r\n\r\n');
  const headers = {};
  for (const line of text.slice(0, end).split('\r\n')) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  const body = text.slice(end + 4);
  let json;
  try { json = JSON.parse(body); } catch { json = undefined; }
  return { status: Number((headers.status || '200').split(' ')[0]), headers, body, json };
}

// A unix datagram socket at path collecting what daemons send to $NOTIFY_SOCKET, the way
// systemd receives sd_notify. Node has no unix datagram sockets, so python3 listens and prints
// each datagram as one JSON string per line. states() returns the datagrams so far.
export async function notifyListener(path) {
  const py = 'import json,socket,sys\n'
    + 's=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])\n'
    + 'print("bound", flush=True)\n'
    + 'while True:\n    print(json.dumps(s.recv(4096).decode()), flush=True)\n';
  const d = spawnDaemon('python3', ['-c', py, path], { name: 'notify-listener' });
  await waitFor(() => d.output().startsWith('bound'), { what: 'notify listener' });
  return {
    path,
    states: () => d.output().split('\n').slice(1).filter(Boolean).map((l) => JSON.parse(l)),
    stop: () => d.stop('SIGKILL'),
  };
}

// 1 while pid runs (a zombie counts as gone: nobody may reap a detached daemon here).
export function isRunning(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

// The pid a --pidfile names, once the file exists.
export async function pidFrom(file) {
  await waitFor(() => existsSync(file), { what: file });
  const text = readFileSync(file, 'utf8');
  if (!/^\d+\n$/.test(text)) throw new Error(`pidfile ${file}: ${JSON.stringify(text)}`);
  return Number(text);
}

// Sends sig to a detached daemon we started and waits until it is gone.
export async function stopPid(pid, sig = 'SIGTERM', timeoutMs = 20000) {
  try { process.kill(pid, sig); } catch { return; }
  await waitFor(() => !isRunning(pid), { what: `pid ${pid} to exit`, timeoutMs });
}

// Counts the lines of a JSON log (text) whose msg is msg.
export function logCount(text, msg) {
  return text.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;
}
