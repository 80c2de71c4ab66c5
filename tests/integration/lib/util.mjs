// Shared helpers for the integration tests: free ports, temp dirs, daemons, waiting.
// Every daemon a test starts is tracked and stopped by PID when the test process exits.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, createWriteStream } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// Where the binaries were built (scripts/test.sh sets CHAT_BUILD_DIR; default _build/san).
export function buildDir() {
  return process.env.CHAT_BUILD_DIR || path.join(repoDir, '_build', 'san');
}

// A variable of the build's Makefile (prefix, sysconfdir, ...) as make wrote it, or ''.
export function makeVar(name) {
  const m = readFileSync(path.join(buildDir(), 'Makefile'), 'utf8').match(new RegExp(`^${name} = (.*)$`, 'm'));
  return m ? m[1].trim() : '';
}

export function binPath(rel) {   // binPath('relay/chat-relay')
  return path.join(buildDir(), rel);
}

// Artifacts (logs, screenshots) go under tests/artifacts/, which CI keeps.
export const artifactsDir = process.env.CHAT_ARTIFACTS_DIR || path.join(repoDir, 'tests', 'artifacts');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const tmpDirs = [];
export function tmpDir(prefix = 'chat-test-') {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

// Polls fn until it returns a truthy value or timeoutMs passes; returns that value.
export async function waitFor(fn, { timeoutMs = 15000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${lastErr.message}` : ''}`);
}

export async function waitForHttp(url, opts = {}) {
  return waitFor(async () => {
    const res = await fetch(url);
    return res.status < 500 ? res : null;
  }, { what: url, ...opts });
}

const daemons = new Set();

// Starts a daemon. Its stdout+stderr are kept in memory (output()) and written to logFile when
// given. stop(sig) sends sig (default SIGTERM) and resolves with the exit code/signal.
export function spawnDaemon(bin, args = [], { env = {}, name = path.basename(bin), logFile } = {}) {
  const child = spawn(bin, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
  const onData = (d) => {
    out += d.toString();
    if (out.length > 4 * 1024 * 1024) out = out.slice(-2 * 1024 * 1024);
    if (log) log.write(d);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      daemons.delete(d);
      if (log) log.end();
      resolve({ code, signal });
    });
  });
  const d = {
    name,
    proc: child,
    pid: child.pid,
    exited,
    output: () => out,
    async stop(sig = 'SIGTERM', timeoutMs = 20000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(sig);
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
  daemons.add(d);
  return d;
}

function cleanup() {
  for (const d of daemons) {
    try { d.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
  if (!process.env.CHAT_KEEP_TMP) {
    for (const t of tmpDirs) {
      try { rmSync(t, { recursive: true, force: true }); } catch { /* best effort */ }
    }
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { cleanup(); process.exit(130); });
}
