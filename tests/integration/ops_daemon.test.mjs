// Both daemons without systemd (issue 10): --daemon returns 0 once the daemon serves and
// leaves it running detached with its pid in --pidfile; SIGUSR1 reopens LOG_FILE after a
// rotation; a second instance on the same pidfile is refused; a daemon that cannot start makes
// --daemon fail with its status and its error on the terminal; SIGTERM removes the pidfile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fcgiGet, isRunning, pidFrom, stopPid } from './lib/ops.mjs';
import { binPath, freePort, tmpDir, waitFor } from './lib/util.mjs';

// Runs a --daemon command to its end: the launcher exits once the daemon serves (or failed)
// and the daemon has let go of our stdout/stderr.
function launch(bin, args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 60000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function readLog(file) {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

const daemons = [
  {
    name: 'chat-relay',
    bin: () => binPath('relay/chat-relay'),
    async conf(dir) {
      const port = await freePort();
      return {
        lines: [`RELAY_LISTEN=127.0.0.1:${port}`, 'STORAGE=none', `DATA_DIR=${dir}/data`,
          `RUN_DIR=${dir}/run`, `ANALYTICS_SHM=${dir}/analytics.shm`],
        serving: async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200,
        clash: [`RELAY_LISTEN=127.0.0.1:${port}`, 'STORAGE=none', `DATA_DIR=${dir}/data2`,
          `RUN_DIR=${dir}/run2`, `ANALYTICS_SHM=${dir}/analytics2.shm`],
        failure: /cannot listen|relay failed to start/,
      };
    },
  },
  {
    name: 'chat-restapi',
    bin: () => binPath('restapi/chat-restapi'),
    async conf(dir) {
      const sock = path.join(dir, 'restapi.sock');
      return {
        lines: ['STORAGE=none', `RUN_DIR=${dir}`, `RESTAPI_LISTEN=${sock}`, 'RESTAPI_THREADS=2'],
        serving: async () => (await fcgiGet(sock, { REQUEST_URI: '/health' })).status === 200,
        clash: ['STORAGE=none', `RUN_DIR=${dir}`, `RESTAPI_LISTEN=${sock}`, 'RESTAPI_THREADS=2'],
        failure: /another process is listening on/,
      };
    },
  },
];

for (const d of daemons) {
  test(`${d.name} --daemon --pidfile: detached, serving, SIGUSR1 reopens the log, SIGTERM cleans up`, async () => {
    const dir = tmpDir('ops-daemon-');
    const c = await d.conf(dir);
    const conf = path.join(dir, 'chat.conf');
    const log = path.join(dir, 'daemon.log');
    const pidfile = path.join(dir, `${d.name}.pid`);
    writeFileSync(conf, [...c.lines, `LOG_FILE=${log}`, ''].join('\n'));
    const r = launch(d.bin(), ['--config', conf, '--daemon', '--pidfile', pidfile]);
    assert.equal(r.code, 0, r.out);
    const pid = await pidFrom(pidfile);
    try {
      assert.ok(isRunning(pid), 'the daemon outlives the command');
      assert.ok(await c.serving(), 'serving when --daemon returned');
      assert.equal(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[3], String(pid),
        'it leads its own session');

      // A second instance on the same pidfile is refused and leaves the file alone.
      const second = launch(d.bin(), ['--config', conf, '--daemon', '--pidfile', pidfile]);
      assert.notEqual(second.code, 0);
      assert.match(second.out, new RegExp(`another ${d.name} runs with this pidfile`));
      assert.equal(await pidFrom(pidfile), pid);

      // logrotate: move the file away, SIGUSR1, the daemon writes a new one.
      renameSync(log, `${log}.1`);
      process.kill(pid, 'SIGUSR1');
      await waitFor(() => readLog(log).includes('"msg":"log reopened"'), { what: 'reopened log' });
      assert.ok(isRunning(pid));
    } finally {
      await stopPid(pid);
    }
    assert.ok(!existsSync(pidfile), 'pidfile removed at exit');
    assert.match(readLog(log), /stopped/);
  });

  test(`${d.name} --daemon reports a start-up failure with its status and message`, async () => {
    const dir = tmpDir('ops-daemon-fail-');
    const c = await d.conf(dir);
    const okConf = path.join(dir, 'ok.conf');
    const badConf = path.join(dir, 'bad.conf');
    const pidfile = path.join(dir, 'ok.pid');
    const badPid = path.join(dir, 'bad.pid');
    writeFileSync(okConf, [...c.lines, `LOG_FILE=${dir}/ok.log`, ''].join('\n'));
    writeFileSync(badConf, [...c.clash, ''].join('\n'));   // same address: cannot listen
    assert.equal(launch(d.bin(), ['--config', okConf, '--daemon', '--pidfile', pidfile]).code, 0);
    const pid = await pidFrom(pidfile);
    try {
      const bad = launch(d.bin(), ['--config', badConf, '--daemon', '--pidfile', badPid]);
      assert.notEqual(bad.code, 0, bad.out);
      assert.match(bad.out, c.failure);
      assert.ok(!existsSync(badPid), 'a failed start leaves no pidfile');
      const invalid = launch(d.bin(), ['--daemon'].concat(['--config', path.join(dir, 'missing.conf')]));
      assert.notEqual(invalid.code, 0);
      assert.match(invalid.out, /missing\.conf/);
      assert.ok(await c.serving(), 'the first instance is untouched');
    } finally {
      await stopPid(pid);
    }
  });
}
