// The installed logrotate snippet (issue 10) rotates the log both daemons share and makes each
// reopen it with SIGUSR1. The snippet is rendered from etc/chat-analytics.logrotate.in the way
// make install renders it, with this test's log and runtime directories (and the owner of the
// new file set to us, since the chat-analytics user need not exist here); the daemons run with
// --daemon --pidfile, which is what the snippet signals without systemd. Without logrotate(8)
// installed, the snippet's postrotate script is run after moving the file, as logrotate would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pidFrom, stopPid } from './lib/ops.mjs';
import { binPath, freePort, repoDir, tmpDir, waitFor } from './lib/util.mjs';

const haveLogrotate = spawnSync('logrotate', ['--version']).status === 0;

test(`logrotate${haveLogrotate ? '' : ' (its postrotate script)'} rotates the shared log and both daemons reopen it on SIGUSR1`, async () => {
  const dir = tmpDir('ops-logrotate-');
  const logDir = path.join(dir, 'log');
  const runDir = path.join(dir, 'run');
  mkdirSync(logDir, { mode: 0o750 });
  mkdirSync(runDir, { mode: 0o750 });
  const log = path.join(logDir, 'chat-analytics.log');
  const user = execFileSync('id', ['-un']).toString().trim();
  const group = execFileSync('id', ['-gn']).toString().trim();
  const snippet = readFileSync(path.join(repoDir, 'etc', 'chat-analytics.logrotate.in'), 'utf8')
    .replaceAll('@chatlogdir@', logDir)
    .replaceAll('@chatrundir@', runDir)
    .replaceAll('@sysconfdir@', '/etc')
    .replace('create 0640 chat-analytics chat-analytics', `create 0640 ${user} ${group}`);
  assert.doesNotMatch(snippet, /@[a-z]+@/);
  const conf = path.join(dir, 'chat-analytics.logrotate');
  writeFileSync(conf, snippet, { mode: 0o644 });

  const port = await freePort();
  const settings = path.join(dir, 'chat.conf');
  writeFileSync(settings, [`RELAY_LISTEN=127.0.0.1:${port}`, 'STORAGE=none', `DATA_DIR=${dir}/data`,
    `RUN_DIR=${runDir}`, `RESTAPI_LISTEN=${runDir}/restapi.sock`, 'RESTAPI_THREADS=2', `LOG_FILE=${log}`, ''].join('\n'));
  const pids = [];
  try {
    for (const [bin, name] of [['relay/chat-relay', 'chat-relay'], ['restapi/chat-restapi', 'chat-restapi']]) {
      const r = spawnSync(binPath(bin), ['--config', settings, '--daemon', '--pidfile', path.join(runDir, `${name}.pid`)],
        { encoding: 'utf8', timeout: 60000 });
      assert.equal(r.status, 0, r.stderr);
      pids.push(await pidFrom(path.join(runDir, `${name}.pid`)));
    }
    const before = readFileSync(log, 'utf8');
    assert.match(before, /relay listening/);
    assert.match(before, /chat-restapi listening/);

    if (haveLogrotate) {
      const r = spawnSync('logrotate', ['-f', '-s', path.join(dir, 'state'), conf], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    } else {
      renameSync(log, `${log}.1`);
      const script = snippet.split('postrotate')[1].split('endscript')[0];
      const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    assert.equal(readFileSync(`${log}.1`, 'utf8').slice(0, before.length), before, 'the old lines moved to .1');
    await waitFor(() => existsSync(log)
      && (readFileSync(log, 'utf8').match(/"msg":"log reopened","signal":"SIGUSR1"/g) || []).length === 2,
    { what: 'both daemons writing the new file' });
    assert.doesNotMatch(readFileSync(log, 'utf8'), /listening/, 'a fresh file, not the old one');
  } finally {
    for (const pid of pids) await stopPid(pid);
  }
  assert.match(readFileSync(log, 'utf8'), /relay stopped/);
  assert.match(readFileSync(log, 'utf8'), /chat-restapi stopped/);
});
