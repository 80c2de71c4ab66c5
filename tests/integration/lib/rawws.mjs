// rawws.mjs: a WebSocket client over a bare TCP socket for the conformance and abuse tests.
// Unlike `ws` (and lib/relay.mjs's RawClient, which always masks and sets FIN/opcode sanely)
// it builds every header bit by hand: reserved bits, any opcode, unmasked frames, oversized
// control frames, arbitrary bytes. It also sends raw HTTP for handshakes that should fail.
//
//   const c = await RawWs.open(port, '/ws?room=x', { origin });   // throws unless 101
//   c.send({ opcode: 0x1, payload: 'hi', rsv: 0b100, mask: false, fin: true });
//   RawWs.open(port, path, { early: encodeFrame(...) })  // frames in the handshake's own write
//   const end = await c.closed(5000);  // { code, reason, ended, closeFrame } once the TCP ends
//
// Every wait is bounded; a hang is reported as ended: false, never waited on forever.
import crypto from 'node:crypto';
import net from 'node:net';

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xA };

// Encodes one frame. payload: Buffer | string; rsv: 3-bit value put in bits 6..4 of byte 0;
// len: a length to claim instead of the payload's (for lying headers).
export function encodeFrame({ opcode, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true,
  len } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const n = len === undefined ? data.length : len;
  const b0 = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  const m = mask ? 0x80 : 0;
  let header;
  if (n < 126) {
    header = Buffer.from([b0, m | n]);
  } else if (n < 65536) {
    header = Buffer.alloc(4);
    header[0] = b0; header[1] = m | 126; header.writeUInt16BE(n, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = b0; header[1] = m | 127; header.writeBigUInt64BE(BigInt(n), 2);
  }
  if (!mask) return Buffer.concat([header, data]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([header, key, masked]);
}

// A close frame's payload: code (uint16) then reason bytes.
export function closePayload(code, reason = Buffer.alloc(0)) {
  const r = Buffer.isBuffer(reason) ? reason : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

// Sends raw bytes to host:port and collects everything until the server closes or timeoutMs.
// Resolves { text, status, ended } (status: the HTTP status of the first line, or null).
export function rawHttp(port, bytes, { timeoutMs = 10000, host = '127.0.0.1' } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    const chunks = [];
    let done = false;
    const finish = (ended) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : null, ended });
    };
    const t = setTimeout(() => finish(false), timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    sock.on('connect', () => {
      // A server may answer and close before we finished writing a huge request.
      sock.write(bytes, () => {});
    });
  });
}

// Reads the body of a refused handshake (Content-Length, chunked, or until close; bounded to
// 3 s) and builds the error RawWs.open rejects with: status, head, body.
function refusal(sock, status, head, first) {
  return new Promise((resolve) => {
    let body = Buffer.from(first);
    const lenM = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    const complete = () => (lenM ? body.length >= Number(lenM[1])
      : chunked ? body.includes('0\r\n\r\n') : false);
    const done = () => {
      clearTimeout(t);
      sock.destroy();
      let text = body.toString();
      if (chunked) {
        let out = '';
        let rest = text;
        for (let i = 0; i < 1000; i++) {
          const nl = rest.indexOf('\r\n');
          const n = parseInt(rest.slice(0, nl), 16);
          if (!(n > 0)) break;
          out += rest.slice(nl + 2, nl + 2 + n);
          rest = rest.slice(nl + 2 + n + 2);
        }
        text = out;
      }
      const e = new Error(`handshake answered ${status}: ${head.split('\r\n')[0]}`);
      e.status = status;
      e.head = head;
      e.body = text;
      resolve(e);
    };
    const t = setTimeout(done, 3000);
    if (complete()) { done(); return; }
    sock.on('data', (d) => { body = Buffer.concat([body, d]); if (complete()) done(); });
    sock.on('close', done);
  });
}

// Attempts a handshake that should be refused: resolves { status, head, body, json } (json:
// the parsed body or undefined); rejects if it was accepted.
export async function refused(port, pathAndQuery, opts) {
  try {
    const c = await RawWs.open(port, pathAndQuery, opts);
    c.destroy();
  } catch (e) {
    if (!e.status) throw e;
    let json;
    try { json = JSON.parse(e.body); } catch { json = undefined; }
    return { status: e.status, head: e.head, body: e.body, json };
  }
  throw new Error(`handshake to ${pathAndQuery} was accepted`);
}

export class RawWs {
  // Opens a WebSocket. headers: extra request headers (object). Rejects with
  // err.status / err.head when the answer is not 101.
  // localAddress: connect from another loopback address (127.0.0.2 ...), as another client.
  static open(port, pathAndQuery = '/ws', { origin, headers = {}, host = '127.0.0.1',
    timeoutMs = 10000, localAddress, protocols, early } = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host, localAddress });
      const key = crypto.randomBytes(16).toString('base64');
      let head = Buffer.alloc(0);
      const t = setTimeout(() => { sock.destroy(); reject(new Error('handshake timed out')); }, timeoutMs);
      const onData = (d) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(t);
        sock.off('data', onData);
        const text = head.subarray(0, end).toString('latin1');
        const status = Number((/^HTTP\/1\.[01] (\d{3})/.exec(text) || [])[1]);
        if (status !== 101) {
          refusal(sock, status, text, head.subarray(end + 4)).then(reject);
          return;
        }
        const expect = crypto.createHash('sha1')
          .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (!text.toLowerCase().includes(`sec-websocket-accept: ${expect.toLowerCase()}`)) {
          sock.destroy();
          reject(new Error(`bad Sec-WebSocket-Accept in ${text}`));
          return;
        }
        const c = new RawWs(sock);
        c.head = text;
        const rest = head.subarray(end + 4);
        if (rest.length) c.onData(rest);
        resolve(c);
      };
      sock.on('data', onData);
      sock.on('error', (e) => { clearTimeout(t); reject(e); });
      sock.on('connect', () => {
        let req = `GET ${pathAndQuery} HTTP/1.1\r\nHost: ${host}:${port}\r\n`
          + 'Upgrade: websocket\r\nConnection: Upgrade\r\n'
          + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
        if (origin) req += `Origin: ${origin}\r\n`;
        if (protocols) req += `Sec-WebSocket-Protocol: ${protocols.join(', ')}\r\n`;
        for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
        // early: frames sent in the same write as the request, before any answer.
        sock.write(early ? Buffer.concat([Buffer.from(`${req}\r\n`), early]) : `${req}\r\n`);
      });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.frames = [];        // { fin, opcode, payload }
    this.protocolError = null;
    this.error = null;       // a socket error (ECONNRESET: the server reset the connection)
    this.ended = false;
    this.endedP = new Promise((resolve) => {
      sock.on('close', () => { this.ended = true; resolve(); });
    });
    sock.on('data', (d) => this.onData(d));
    sock.on('error', (e) => { this.error = this.error || e; });
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const fin = (this.buf[0] & 0x80) !== 0;
      const opcode = this.buf[0] & 0x0f;
      if (this.buf[1] & 0x80) this.protocolError = 'the server masked a frame';
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2); off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2)); off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = Buffer.from(this.buf.subarray(off, off + len));
      this.buf = this.buf.subarray(off + len);
      this.frames.push({ fin, opcode, payload });
    }
  }

  send(frame) { this.sock.write(encodeFrame(frame)); }

  sendRaw(bytes) { this.sock.write(bytes); }

  // Text payloads of data frames, split on '\n' and parsed (the relay batches messages).
  messages() {
    return this.frames.filter((f) => f.opcode === OP.TEXT)
      .flatMap((f) => f.payload.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
  }

  // Waits (bounded) until pred(this) holds; resolves true, or false at the deadline.
  async until(pred, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pred(this)) return true;
      if (this.ended) return pred(this);
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  closeFrame() { return this.frames.find((f) => f.opcode === OP.CLOSE) || null; }

  // Waits for the TCP connection to end (bounded). Answers a server close frame the way a
  // client must (echo it) so the server can finish its side of the handshake.
  async closed(timeoutMs = 10000) {
    let echoed = false;
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) {
      const cf = this.closeFrame();
      if (cf && !echoed) {
        echoed = true;
        try { this.send({ opcode: OP.CLOSE, payload: cf.payload.subarray(0, 2) }); } catch { /* gone */ }
      }
      await Promise.race([this.endedP, new Promise((r) => setTimeout(r, 20))]);
    }
    const cf = this.closeFrame();
    const ended = this.ended;
    if (!ended) this.sock.destroy();
    return {
      ended,
      closeFrame: cf,
      code: cf && cf.payload.length >= 2 ? cf.payload.readUInt16BE(0) : null,
      reason: cf && cf.payload.length > 2 ? cf.payload.subarray(2).toString() : '',
    };
  }

  destroy() { this.sock.destroy(); }
}
