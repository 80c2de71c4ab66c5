// dynalite.mjs: a local DynamoDB (dynalite from tests/node_modules) behind a small
// fault-injecting HTTP proxy, for the store's C tests, run-with-dynalite.sh and Node tests.
//
// As a module:
//   const db = await startDynalite({ path, port });   // path: LevelDB dir (omitted: in memory);
//                                                     // port: the proxy's (omitted: a free one)
//   db.endpoint        -> the proxy (use this as DYNAMODB_ENDPOINT; passes through by default)
//   db.direct          -> dynalite itself, never faulted
//   await db.inject([{ op: 'BatchWriteItem', kind: 'unprocessed' }, { kind: 'drop' }]);
//   await db.stats()   -> { requests: { BatchWriteItem: 3, ... }, injected: 1, pending: 1 }
//   await db.stop();
//
// Restarting on the same port with the same path (stop(), then startDynalite({ path, port }))
// brings the "store" back with its data, for store-down-and-back tests; a sticky fault
// ({ kind: 'drop', times: 0 }) until clearFaults() does the same without a restart.
//
// As a program (what the C tests and run-with-dynalite.sh start):
//   node dynalite.mjs [--path DIR] [--port N] [--create-table-ms MS] [--verify-sigv4 SECRET]
//                     [--exit-on-stdin-close]
// --verify-sigv4 makes the proxy check each request's SigV4 signature against SECRET, as AWS
// does (dynalite only checks the header's shape): a mismatch answers InvalidSignatureException.
// prints one JSON line {"endpoint","direct","pid"} once both ports answer, and runs until
// SIGTERM/SIGINT (or, with --exit-on-stdin-close, until its parent closes stdin).
//
// Control (on the proxy's own port, so one endpoint is enough):
//   POST   /__faults  {"faults":[{op?, kind, times?, ...}]}  queue faults; each hits the next
//                     `times` requests (default 1; 0 = every one until DELETE) whose operation
//                     matches op (any when absent), in queue order
//   DELETE /__faults                                 drop queued faults
//   GET    /__stats                                  counters above
// Fault kinds:
//   unprocessed  BatchWriteItem only: forward the first `keep` put/delete requests (default: half,
//                rounded down) and answer dynalite's reply with the rest as UnprocessedItems,
//                exactly as DynamoDB does under pressure (the rest are NOT written)
//   throttle     400 with __type `type` (default ProvisionedThroughputExceededException)
//   500          500 InternalServerError
//   drop         close the connection without answering
//   garbage      200 with a body that is not JSON
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const testsDir = path.resolve(path.dirname(here), '../..');
const PREFIX = 'com.amazonaws.dynamodb.v20120810#';
const MAX_BODY = 16 * 1024 * 1024;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function forward(req, body, target) {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: `${target.host}:${target.port}` };
    headers['content-length'] = String(body.length);
    const up = http.request({ ...target, method: req.method, path: req.url, headers }, (res) => {
      readBody(res).then((b) => resolve({ status: res.statusCode, headers: res.headers, body: b }),
        reject);
    });
    up.on('error', reject);
    up.end(body);
  });
}

function reply(res, status, obj) {
  const body = typeof obj === 'string' ? obj : JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(body) });
  res.end(body);
}

// Splits a BatchWriteItem body: the first `keep` requests go on, the rest come back unprocessed.
function splitBatch(body, keep) {
  const req = JSON.parse(body.toString());
  const sent = {};
  const unprocessed = {};
  let total = 0;
  for (const reqs of Object.values(req.RequestItems || {})) total += reqs.length;
  let left = keep === undefined ? Math.floor(total / 2) : keep;
  for (const [table, reqs] of Object.entries(req.RequestItems || {})) {
    for (const r of reqs) {
      const into = left > 0 ? sent : unprocessed;
      if (left > 0) left -= 1;
      (into[table] = into[table] || []).push(r);
    }
  }
  return { sent: { ...req, RequestItems: sent }, unprocessed };
}

const hmac = (key, s) => crypto.createHmac('sha256', key).update(s).digest();
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

// Checks an AWS Signature Version 4 header the way DynamoDB does (dynalite itself only checks
// its shape), so a signing mistake fails the tests instead of production. Returns an error
// text or null.
function sigv4Error(req, body, secret) {
  const auth = String(req.headers.authorization || '');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return `malformed Authorization: ${auth}`;
  const [, , day, region, service, signed, signature] = m;
  const amzDate = String(req.headers['x-amz-date'] || '');
  if (!amzDate.startsWith(day)) return 'x-amz-date does not match the credential scope';
  const names = signed.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return 'host and x-amz-date must be signed';
  for (const n of names) {
    if (req.headers[n] === undefined) return `signed header ${n} was not sent`;
  }
  const canonicalHeaders = names
    .map((n) => `${n}:${String(req.headers[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, req.url.split('?')[0], req.url.split('?')[1] || '',
    canonicalHeaders, signed, sha256(body)].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
  const want = crypto.createHmac('sha256', key).update(toSign).digest('hex');
  return want === signature ? null : 'signature does not match';
}

function createProxy(target, verifySecret) {
  const faults = [];
  const stats = { requests: {}, injected: 0, badSignatures: 0 };

  async function onDynamo(req, res, body) {
    const op = String(req.headers['x-amz-target'] || '').split('.').pop();
    stats.requests[op] = (stats.requests[op] || 0) + 1;
    const sigErr = verifySecret !== undefined ? sigv4Error(req, body, verifySecret) : null;
    if (sigErr) {
      stats.badSignatures += 1;
      return reply(res, 400, { __type: 'com.amazon.coral.service#InvalidSignatureException',
        message: sigErr });
    }
    const i = faults.findIndex((f) => !f.op || f.op === op);
    const fault = i >= 0 ? faults[i] : null;
    if (fault) {
      fault.used = (fault.used || 0) + 1;
      if (fault.times === undefined || (fault.times > 0 && fault.used >= fault.times)) {
        faults.splice(i, 1);
      }
    }
    if (fault) stats.injected += 1;
    switch (fault && fault.kind) {
      case 'throttle':
        return reply(res, 400, { __type: PREFIX + (fault.type || 'ProvisionedThroughputExceededException'),
          message: 'injected by the test proxy' });
      case '500':
        return reply(res, 500, { __type: PREFIX + 'InternalServerError', message: 'injected' });
      case 'drop':
        req.socket.destroy();
        return undefined;
      case 'garbage':
        return reply(res, 200, '<html>not json');
      case 'unprocessed': {
        const { sent, unprocessed } = splitBatch(body, fault.keep);
        let up = { status: 200, body: Buffer.from('{"UnprocessedItems":{}}') };
        if (Object.keys(sent.RequestItems).length > 0) {
          up = await forward(req, Buffer.from(JSON.stringify(sent)), target);
        }
        if (up.status !== 200) return reply(res, up.status, up.body.toString());
        const out = JSON.parse(up.body.toString());
        out.UnprocessedItems = { ...(out.UnprocessedItems || {}), ...unprocessed };
        return reply(res, 200, out);
      }
      default: {
        const up = await forward(req, body, target);
        return reply(res, up.status, up.body.toString());
      }
    }
  }

  async function onControl(req, res, body) {
    if (req.method === 'POST') {
      const { faults: add = [] } = JSON.parse(body.toString() || '{}');
      faults.push(...add);
      return reply(res, 200, { pending: faults.length });
    }
    if (req.method === 'DELETE') {
      faults.length = 0;
      return reply(res, 200, { pending: 0 });
    }
    return reply(res, 200, { ...stats, pending: faults.length });
  }

  return http.createServer((req, res) => {
    readBody(req)
      .then((body) => (req.url.startsWith('/__')
        ? onControl(req, res, body) : onDynamo(req, res, body)))
      .catch((e) => {
        if (!res.headersSent) reply(res, 502, { __type: PREFIX + 'ProxyError', message: e.message });
      });
  });
}

function listen(server, port = 0) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

// Runs dynalite and the proxy in this process; used by the program mode below.
export async function serveDynalite({ path: dbPath, port = 0, createTableMs = 200,
  verifySecret } = {}) {
  // CHAT_NODE_MODULES names tests/node_modules when this file runs from another tree
  // (make distcheck's unpacked copy has none of its own).
  const base = process.env.CHAT_NODE_MODULES
    ? path.dirname(process.env.CHAT_NODE_MODULES) : testsDir;
  const require = createRequire(path.join(base, 'package.json'));
  const dynalite = require('dynalite');
  const db = dynalite({ path: dbPath, createTableMs, deleteTableMs: 50, updateTableMs: 50 });
  const dbPort = await listen(db);
  const proxy = createProxy({ host: '127.0.0.1', port: dbPort }, verifySecret);
  const proxyPort = await listen(proxy, port);
  return {
    endpoint: `http://127.0.0.1:${proxyPort}`,
    direct: `http://127.0.0.1:${dbPort}`,
    close: () => Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => db.close(r))]),
  };
}

// Starts dynalite + proxy as a child process (so a busy test process cannot stall it).
export function startDynalite({ path: dbPath, port, createTableMs, verifySecret } = {}) {
  const args = [here, '--exit-on-stdin-close'];
  if (verifySecret !== undefined) args.push('--verify-sigv4', verifySecret);
  if (dbPath) args.push('--path', dbPath);
  if (port) args.push('--port', String(port));
  if (createTableMs !== undefined) args.push('--create-table-ms', String(createTableMs));
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('dynalite did not start within 15 s'));
    }, 15000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dynalite exited early (code ${code})`));
    });
    rl.once('line', (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line);
      const control = async (method, body) => {
        const r = await fetch(`${info.endpoint}/__faults`, { method,
          body: body && JSON.stringify(body) });
        return r.json();
      };
      resolve({
        ...info,
        inject: (faults) => control('POST', { faults }),
        clearFaults: () => control('DELETE'),
        stats: async () => (await fetch(`${info.endpoint}/__stats`)).json(),
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(t);
          }
        },
      });
    });
  });
}

async function main(argv) {
  const opt = {};
  let stdinLifetime = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--path') opt.path = argv[++i];
    else if (argv[i] === '--port') opt.port = Number(argv[++i]);
    else if (argv[i] === '--verify-sigv4') opt.verifySecret = argv[++i];
    else if (argv[i] === '--create-table-ms') opt.createTableMs = Number(argv[++i]);
    else if (argv[i] === '--exit-on-stdin-close') stdinLifetime = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  const srv = await serveDynalite(opt);
  const stop = () => {
    srv.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (stdinLifetime) {
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
  process.stdout.write(`${JSON.stringify({ endpoint: srv.endpoint, direct: srv.direct,
    pid: process.pid })}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === here) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`dynalite.mjs: ${e.message}\n`);
    process.exit(1);
  });
}

// What the daemons need to use db (a startDynalite() result) as their store: the proxy's
// endpoint, a region, the table and the credentials dynalite accepts (it checks only their form).
export function dynamoEnv(db, table = 'chat-messages') {
  return {
    DYNAMODB_ENDPOINT: db.endpoint,
    DYNAMODB_REGION: 'us-east-1',
    DYNAMODB_TABLE: table,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
}

// Every MessageID in a table (Scan, paged), straight from dynalite, which checks only the form
// of the signature. Tests use it to prove each message is stored exactly once.
export async function scanIds(endpoint, table = 'chat-messages') {
  const ids = [];
  let start;
  for (let page = 0; page < 200; page++) {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'X-Amz-Target': 'DynamoDB_20120810.Scan',
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Date': '20260101T000000Z',
        Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, '
          + 'SignedHeaders=host;x-amz-date, Signature=00',
      },
      body: JSON.stringify({ TableName: table, ExclusiveStartKey: start }),
    });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`Scan: ${res.status} ${JSON.stringify(body)}`);
    for (const item of body.Items) ids.push(item.MessageID.S);
    if (!body.LastEvaluatedKey) return ids;
    start = body.LastEvaluatedKey;
  }
  throw new Error('too many pages');
}
