// apache.mjs: the whole stack for integration tests, the way users run it: chat-relay,
// chat-restapi on a unix socket, and a user-local Apache on a free loopback port built from
// httpd-conf/httpd.conf.in + chat-analytics.conf.in (the same site file system installs use).
//
//   const s = await startStack({ storage: 'sqlite', env: { AUTH_SECRET: 'x' } });
//   s.baseUrl  -> http://127.0.0.1:PORT       s.wsUrl -> ws://127.0.0.1:PORT/ws
//   s.relay / s.restapi / s.apache            daemons from util.spawnDaemon (null when absent)
//   await s.stopRelay(); await s.startRelay();  relay down / up (same port, same segment)
//   s.accessLog(), s.errorLog()               Apache's logs as text
//   await s.stop();
//
// Options: storage ('sqlite' | 'none' | 'dynamodb'), env (both daemons), relayEnv, restapiEnv,
// relay (false: do not start one), relayBin / restapiBin / daemonArgs (run other binaries, e.g.
// installed ones with --config), siteConf(vars) (returns the site file's text instead of
// rendering httpd-conf/chat-analytics.conf.in), docroot (default: a tiny fake SPA), apacheConf (extra
// text written to conf.d/ before Apache starts), sizing { children (active Apache children,
// default 1), threadsPerChild (32), wsPerChild (threadsPerChild - 8) }.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { binPath, buildDir, freePort, repoDir, spawnDaemon, tmpDir, waitFor } from './util.mjs';

// startStack options that run what `make install DESTDIR=...` put under root (DESTDIR/prefix):
// the installed daemons with --config conf, and the installed Apache include (its text:
// installed) with its absolute paths re-rooted under root and the fixed relay port and socket
// swapped for the stack's private ones; nothing else in the include is changed.
export function installedStackOptions({ root, prefix, conf, installed }) {
  const defaultSocket = installed.match(/unix:([^|"]+)\|fcgi/)[1];
  return {
    relayBin: path.join(root, 'sbin', 'chat-relay'),
    restapiBin: path.join(root, 'sbin', 'chat-restapi'),
    daemonArgs: ['--config', conf],
    siteConf: (v) => installed
      .replaceAll(defaultSocket, v.RESTAPI_SOCKET)
      .replaceAll('127.0.0.1:8081', v.RELAY_ADDR)
      .replaceAll(`"${prefix}/`, `"${root}/`),
  };
}

// The module dir configure found (APACHE_MODULES in the build's Makefile), else Debian's.
export function apacheModulesDir() {
  if (process.env.APACHE_MODULES) return process.env.APACHE_MODULES;
  try {
    const mk = readFileSync(path.join(buildDir(), 'Makefile'), 'utf8');
    const m = mk.match(/^APACHE_MODULES = (.+)$/m);
    if (m && m[1].trim()) return m[1].trim();
  } catch { /* no build dir Makefile */ }
  return '/usr/lib/apache2/modules';
}

export function apacheBin() {
  if (process.env.APACHE_BIN) return process.env.APACHE_BIN;
  try {
    const mk = readFileSync(path.join(buildDir(), 'Makefile'), 'utf8');
    const m = mk.match(/^APACHE_BIN = (.+)$/m);
    if (m && m[1].trim()) return m[1].trim();
  } catch { /* no build dir Makefile */ }
  return '/usr/sbin/apache2';
}

// Replaces every @NAME@ of vars; an unknown placeholder left over is an error.
export function renderTemplate(text, vars) {
  const out = text.replace(/@([A-Z_]+)@/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const left = out.match(/@[A-Z_]+@/);
  if (left) throw new Error(`template placeholder without a value: ${left[0]}`);
  return out;
}

const FAKE_INDEX = '<!doctype html><html><head><title>chat-analytics</title>'
  + '<script type="module" src="/assets/app-3f2a1b.js"></script></head>'
  + '<body><div id="root"></div></body></html>\n';

function fakeDocroot(dir) {
  const d = path.join(dir, 'www');
  mkdirSync(path.join(d, 'assets'), { recursive: true });
  writeFileSync(path.join(d, 'index.html'), FAKE_INDEX);
  writeFileSync(path.join(d, 'assets', 'app-3f2a1b.js'), 'console.log("chat");\n');
  return d;
}

function tcpOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

function groupId(name) {
  try { return Number(execFileSync('id', ['-g', name]).toString().trim()); } catch { return null; }
}

export async function startStack(opts = {}) {
  const storage = opts.storage || 'sqlite';
  const dir = tmpDir('chat-stack-');
  const runDir = path.join(dir, 'run');
  const dataDir = path.join(dir, 'data');
  const logDir = path.join(dir, 'logs');
  for (const d of [runDir, dataDir, logDir, path.join(dir, 'conf.d')]) mkdirSync(d, { recursive: true });
  // Apache's workers drop to www-data when we are root: let them reach the docroot.
  chmodSync(dir, 0o755);
  chmodSync(runDir, 0o755);

  const port = await freePort();
  const relayPort = await freePort();
  const socket = path.join(runDir, 'restapi.sock');
  const origin = `http://127.0.0.1:${port}`;
  const env = {
    LOG_LEVEL: 'info',
    RUN_DIR: runDir,
    DATA_DIR: dataDir,
    ANALYTICS_SHM: path.join(runDir, 'analytics.shm'),
    STORAGE: storage,
    SQLITE_PATH: path.join(dataDir, 'chat.db'),
    JOURNAL_DIR: path.join(dataDir, 'journal'),
    RELAY_LISTEN: `127.0.0.1:${relayPort}`,
    RESTAPI_LISTEN: socket,
    RESTAPI_THREADS: '4',
    ALLOWED_ORIGINS: `${origin},http://localhost:${port}`,
    ...(opts.env || {}),
  };

  const s = {
    dir, port, relayPort, socket, env, origin,
    baseUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    relayUrl: `ws://127.0.0.1:${relayPort}/ws`,
    relay: null, restapi: null, apache: null,
    accessLog: () => readOr(path.join(logDir, 'access.log')),
    errorLog: () => readOr(path.join(logDir, 'error.log')),
  };

  s.startRelay = async () => {
    const bin = opts.relayBin || binPath('relay/chat-relay');
    if (!existsSync(bin)) throw new Error(`no relay binary at ${bin}`);
    s.relay = spawnDaemon(bin, opts.daemonArgs || [], {
      env: { ...env, ...(opts.relayEnv || {}) }, name: 'chat-relay',
      logFile: path.join(logDir, 'relay.log'),
    });
    const relay = s.relay;
    await waitFor(async () => {
      if (relay.proc.exitCode !== null) throw new Error(`chat-relay exited: ${relay.output()}`);
      return tcpOpen(relayPort);
    }, { what: 'chat-relay port' });
    return relay;
  };
  s.stopRelay = async (sig = 'SIGTERM') => {
    if (s.relay) await s.relay.stop(sig);
    s.relay = null;
  };
  s.startRestapi = async () => {
    s.restapi = spawnDaemon(opts.restapiBin || binPath('restapi/chat-restapi'), opts.daemonArgs || [], {
      env: { ...env, ...(opts.restapiEnv || {}) }, name: 'chat-restapi',
      logFile: path.join(logDir, 'restapi.log'),
    });
    const r = s.restapi;
    await waitFor(() => {
      if (r.proc.exitCode !== null) throw new Error(`chat-restapi exited: ${r.output()}`);
      return existsSync(socket);
    }, { what: 'chat-restapi socket' });
    if (process.getuid && process.getuid() === 0) {
      const gid = groupId(opts.runGroup || 'www-data');
      if (gid !== null) chownSync(socket, 0, gid);   // 0660 stays: only Apache's group
    }
    return r;
  };
  s.stop = async () => {
    if (s.apache) await s.apache.stop('SIGTERM');
    if (s.restapi) await s.restapi.stop('SIGTERM');
    await s.stopRelay();
  };

  try {
    if (opts.relay !== false) await s.startRelay();
    await s.startRestapi();

    const docroot = opts.docroot || fakeDocroot(dir);
    const children = opts.sizing?.children ?? 1;
    const threadsPerChild = opts.sizing?.threadsPerChild ?? 32;
    const wsPerChild = opts.sizing?.wsPerChild ?? threadsPerChild - 8;
    const siteConf = path.join(dir, 'chat-analytics.conf');
    const tmplDir = path.join(repoDir, 'httpd-conf');
    const siteVars = {
      DOCROOT: docroot,
      RELAY_ADDR: `127.0.0.1:${relayPort}`,
      RESTAPI_SOCKET: socket,
      WS_PER_CHILD: wsPerChild,
    };
    writeFileSync(siteConf, opts.siteConf ? opts.siteConf(siteVars)
      : renderTemplate(readFileSync(path.join(tmplDir, 'chat-analytics.conf.in'), 'utf8'), siteVars));
    const httpdConf = path.join(dir, 'httpd.conf');
    writeFileSync(httpdConf, renderTemplate(readFileSync(path.join(tmplDir, 'httpd.conf.in'), 'utf8'), {
      SERVER_ROOT: dir,
      LISTEN_ADDR: '127.0.0.1',
      PORT: port,
      LOG_DIR: logDir,
      RUN_USER: opts.runUser || 'www-data',
      RUN_GROUP: opts.runGroup || 'www-data',
      APACHE_MODULES: apacheModulesDir(),
      CHILDREN: children,
      SERVER_LIMIT: 2 * children,
      THREADS_PER_CHILD: threadsPerChild,
      MAX_WORKERS: children * threadsPerChild,
      API_RESERVE: threadsPerChild - wsPerChild,
      SITE_CONF: siteConf,
    }));
    if (opts.apacheConf) writeFileSync(path.join(dir, 'conf.d', 'test.conf'), opts.apacheConf);
    s.httpdConf = httpdConf;

    s.apache = spawnDaemon(apacheBin(), ['-f', httpdConf, '-DFOREGROUND'], {
      name: 'apache', logFile: path.join(logDir, 'apache.out'),
    });
    const ap = s.apache;
    await waitFor(async () => {
      if (ap.proc.exitCode !== null) {
        throw new Error(`apache exited: ${ap.output()} ${s.errorLog()}`);
      }
      try {
        const res = await fetch(`${s.baseUrl}/health`);
        return res.status === 200;
      } catch { return false; }
    }, { what: 'apache /health', timeoutMs: 20000 });
  } catch (e) {
    await s.stop();
    throw e;
  }
  return s;
}

function readOr(file) {
  try { return readFileSync(file, 'utf8'); } catch { return ''; }
}
