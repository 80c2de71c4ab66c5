// Helpers for tests of chat-relay: start a real relay on a free loopback port, WebSocket clients
// that split frames on '\n' and collect parsed messages, and a raw-frame client for what the
// `ws` package will not send (invalid UTF-8, unanswered pings).
import crypto from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { binPath, freePort, spawnDaemon, tmpDir, waitFor, sleep } from './util.mjs';

// Starts chat-relay with STORAGE=none and private DATA_DIR/RUN_DIR/ANALYTICS_SHM unless env
// overrides them; resolves once GET /health answers 200.
export async function startRelay({ env = {}, args = [], port, dir } = {}) {
  const p = port || await freePort();
  const d = dir || tmpDir('relay-');
  const fullEnv = {
    RELAY_LISTEN: `127.0.0.1:${p}`,
    STORAGE: 'none',
    DATA_DIR: path.join(d, 'data'),
    RUN_DIR: path.join(d, 'run'),
    ANALYTICS_SHM: path.join(d, 'analytics.shm'),
    LOG_LEVEL: 'info',
    ...env,
  };
  const daemon = spawnDaemon(binPath('relay/chat-relay'), args, { env: fullEnv, name: 'chat-relay' });
  const tls = Boolean(fullEnv.RELAY_TLS_CERT);
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${p}`;
  const health = async () => {
    if (!tls) {
      const res = await fetch(`${url}/health`);
      return { status: res.status, body: await res.json() };
    }
    return new Promise((resolve, reject) => {
      https.get(`${url}/health`, { rejectUnauthorized: false }, (res) => {
        let b = '';
        res.on('data', (d) => { b += d; });
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(b) }));
      }).on('error', reject);
    });
  };
  await waitFor(async () => {
    if (daemon.proc.exitCode !== null) throw new Error(`relay exited: ${daemon.output()}`);
    return (await health()).status === 200;
  }, { what: 'relay /health', timeoutMs: 20000 });
  return {
    port: p,
    url,
    dir: d,
    env: fullEnv,
    daemon,
    pid: daemon.pid,
    wsUrl(params = {}) {
      const q = new URLSearchParams(params).toString();
      return `${tls ? 'wss' : 'ws'}://127.0.0.1:${p}/ws${q ? `?${q}` : ''}`;
    },
    output: () => daemon.output(),
    stop: (sig = 'SIGTERM', timeoutMs) => daemon.stop(sig, timeoutMs),
    kill: () => daemon.stop('SIGKILL'),
    async health() {
      return (await health()).body;
    },
  };
}

// A WebSocket client collecting every message (frames split on '\n', each parsed as JSON).
export class Client {
  constructor(ws) {
    this.ws = ws;
    this.messages = [];
    this.frames = 0;
    this.frameOf = [];     // per message: the number of the frame it came in (1, 2, ...)
    this.waiters = [];
    this.closed = null;
    this.closeWaiters = [];
    ws.on('message', (data, isBinary) => {
      this.frames++;
      for (const line of data.toString().split('\n')) {
        if (!line) continue;
        this.messages.push(JSON.parse(line));
        this.frameOf.push(this.frames);
      }
      this.waiters = this.waiters.filter((w) => !w.check());
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closed);
      this.closeWaiters = [];
      this.waiters = this.waiters.filter((w) => !w.check());
    });
    ws.on('error', () => { /* surfaced through close */ });
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  chat(content, extra = {}) {
    this.send({ type: 'chat', content, ...extra });
  }

  // Resolves with the first collected message at index >= from matching pred.
  nextMessage(pred = () => true, timeoutMs = 5000, from = 0) {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          for (let i = from; i < this.messages.length; i++) {
            if (pred(this.messages[i])) {
              clearTimeout(w.timer);
              resolve(this.messages[i]);
              return true;
            }
          }
          if (this.closed) {
            clearTimeout(w.timer);
            reject(new Error(`closed (${this.closed.code}) before a matching message; got ${JSON.stringify(this.messages).slice(0, 2000)}`));
            return true;
          }
          return false;
        },
      };
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(0, 2000)}`));
      }, timeoutMs);
      if (!w.check()) this.waiters.push(w);
    });
  }

  // Waits until n messages matching pred were collected; returns them.
  async collect(pred, n, timeoutMs = 5000) {
    await waitFor(() => this.messages.filter(pred).length >= n,
      { timeoutMs, intervalMs: 10, what: `${n} messages` });
    return this.messages.filter(pred);
  }

  chats() {
    return this.messages.filter((m) => m.type === 'chat');
  }

  waitClose(timeoutMs = 10000) {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('connection did not close')), timeoutMs);
      this.closeWaiters.push((c) => { clearTimeout(t); resolve(c); });
    });
  }

  close() {
    this.ws.close();
    return this.waitClose();
  }
}

// Connects; resolves with a Client after the hello frame arrived (the relay sends it first).
export function connect(url, { protocols, headers, origin, waitHello = true, wsOptions = {} } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers, origin, ...wsOptions });
    const c = new Client(ws);
    ws.once('unexpected-response', (req, res) => {
      reject(new Error(`unexpected HTTP ${res.statusCode}`));
    });
    ws.once('open', () => {
      if (!waitHello) return resolve(c);
      c.nextMessage((m) => m.type === 'hello', 5000).then(() => resolve(c), reject);
    });
    ws.once('error', reject);
  });
}

// Attempts a handshake expected to be refused; resolves with {status, body}.
export function refusedHandshake(url, { protocols, headers, origin } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers, origin });
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { resolve({ status: res.statusCode, body, headers: res.headers }); });
      res.on('error', reject);
    });
    ws.once('open', () => { ws.close(); reject(new Error('handshake unexpectedly accepted')); });
    ws.once('error', (e) => { if (!e.message.includes('Unexpected server response')) reject(e); });
  });
}

// A raw WebSocket client over net.Socket: sends arbitrary (masked) frames, parses server
// frames, and answers pings only when autoPong is true.
export class RawClient {
  static connect(port, pathAndQuery = '/ws', { autoPong = true } = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      const key = crypto.randomBytes(16).toString('base64');
      const rc = new RawClient(sock, autoPong);
      let head = Buffer.alloc(0);
      const onData = (d) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        sock.off('data', onData);
        const status = head.subarray(0, end).toString().split('\r\n')[0];
        if (!status.includes(' 101 ')) return reject(new Error(`handshake failed: ${status}`));
        sock.on('data', (x) => rc.onData(x));
        const rest = head.subarray(end + 4);
        if (rest.length) rc.onData(rest);
        resolve(rc);
      };
      sock.on('data', onData);
      sock.on('error', reject);
      sock.on('connect', () => {
        sock.write(`GET ${pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`
          + 'Upgrade: websocket\r\nConnection: Upgrade\r\n'
          + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
    });
  }

  constructor(sock, autoPong) {
    this.sock = sock;
    this.autoPong = autoPong;
    this.buf = Buffer.alloc(0);
    this.frames = [];      // {opcode, payload}
    this.pings = 0;
    this.ended = new Promise((resolve) => { sock.on('close', () => resolve()); });
    sock.on('error', () => {});
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (this.buf.length < 4) return; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) return; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      this.frames.push({ opcode, payload });
      if (opcode === 0x9) {
        this.pings++;
        if (this.autoPong) this.sendFrame(0xA, payload);
      }
    }
  }

  // Sends one masked frame; fin=false for a fragment.
  sendFrame(opcode, payload, { fin = true } = {}) {
    const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const mask = crypto.randomBytes(4);
    let header;
    if (data.length < 126) {
      header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | data.length]);
    } else if (data.length < 65536) {
      header = Buffer.alloc(4);
      header[0] = (fin ? 0x80 : 0) | opcode; header[1] = 0x80 | 126; header.writeUInt16BE(data.length, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = (fin ? 0x80 : 0) | opcode; header[1] = 0x80 | 127; header.writeBigUInt64BE(BigInt(data.length), 2);
    }
    const masked = Buffer.alloc(data.length);
    for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ mask[i & 3];
    this.sock.write(Buffer.concat([header, mask, masked]));
  }

  // The close frame's code, once one arrived (or null when the socket ended without one).
  async closeCode(timeoutMs = 10000) {
    await Promise.race([this.ended, sleep(timeoutMs)]);
    const f = this.frames.find((x) => x.opcode === 0x8);
    return f && f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
  }

  texts() {
    return this.frames.filter((f) => f.opcode === 0x1)
      .flatMap((f) => f.payload.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
  }

  destroy() { this.sock.destroy(); }
}

// Resident set size of a process in KiB (from /proc/<pid>/status).
export async function rssKiB(pid) {
  const { readFileSync } = await import('node:fs');
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}
