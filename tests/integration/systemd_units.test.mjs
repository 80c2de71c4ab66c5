// The systemd units make install ships (issues 6, 9, 10): they pass `systemd-analyze verify`
// and score 2.0 or better ("OK") in `systemd-analyze security`. The units are rendered from
// systemd/*.service.in the way the build does, pointing at the built binaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binPath, repoDir, tmpDir } from './lib/util.mjs';

const have = spawnSync('systemd-analyze', ['--version']).status === 0;

function render(dir) {
  const sbin = path.join(dir, 'sbin');
  mkdirSync(sbin);
  symlinkSync(binPath('relay/chat-relay'), path.join(sbin, 'chat-relay'));
  symlinkSync(binPath('restapi/chat-restapi'), path.join(sbin, 'chat-restapi'));
  const units = [];
  for (const u of ['chat-relay', 'chat-restapi']) {
    const text = readFileSync(path.join(repoDir, 'systemd', `${u}.service.in`), 'utf8')
      .replaceAll('@sbindir@', sbin)
      .replaceAll('@chatconfdir@', path.join(dir, 'etc'))
      .replaceAll('@chatstatedir@', '/var/lib/chat-analytics')
      .replaceAll('@docdir@', '/usr/share/doc/chat-analytics');
    assert.doesNotMatch(text, /@[a-z]+@/, `${u}: unfilled placeholder`);
    const file = path.join(dir, `${u}.service`);
    writeFileSync(file, text);
    units.push(file);
  }
  return units;
}

test('units pass systemd-analyze verify and score OK in security', { skip: !have && 'no systemd-analyze' }, () => {
  const dir = tmpDir('chat-units-');
  const units = render(dir);
  // verify runs `man` for Documentation=man:...: give it the pages make install ships.
  const man8 = path.join(dir, 'man', 'man8');
  mkdirSync(man8, { recursive: true });
  for (const p of ['chat-relay.8', 'chat-restapi.8']) symlinkSync(path.join(repoDir, 'man', p), path.join(man8, p));
  const v = spawnSync('systemd-analyze', ['verify', ...units],
    { cwd: dir, encoding: 'utf8', env: { ...process.env, MANPATH: path.join(dir, 'man') } });
  assert.equal(v.status, 0, v.stderr + v.stdout);
  for (const u of units) {
    const out = execFileSync('systemd-analyze', ['security', '--offline=yes', u], { cwd: dir }).toString();
    const m = out.match(/Overall exposure level for \S+: (\d+\.\d+)/);
    assert.ok(m, out.slice(-400));
    assert.ok(Number(m[1]) <= 2.0, `${path.basename(u)} exposure ${m[1]} > 2.0`);
  }
});

test('units run the daemons with the installed config and share one runtime directory', () => {
  for (const u of ['chat-relay', 'chat-restapi']) {
    const text = readFileSync(path.join(repoDir, 'systemd', `${u}.service.in`), 'utf8');
    assert.match(text, new RegExp(`^ExecStart=@sbindir@/${u} --config @chatconfdir@/chat-analytics.conf$`, 'm'));
    assert.match(text, /^RuntimeDirectory=chat-analytics$/m);
    assert.match(text, /^RuntimeDirectoryPreserve=yes$/m, 'stopping one unit must not delete the other\'s socket');
    assert.match(text, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.match(text, /^Type=notify$/m, 'READY=1 once listening, RELOADING=1, STOPPING=1');
    assert.match(text, /^NotifyAccess=main$/m);
    assert.match(text, /^EnvironmentFile=-@chatconfdir@\/secrets\.conf$/m, 'secrets from their own 0600 file');
    assert.match(text, /^StateDirectory=chat-analytics$/m);
    assert.match(text, /^LogsDirectory=chat-analytics$/m, 'LOG_FILE under /var/log despite ProtectSystem=strict');
    assert.match(text, /^User=chat-analytics$/m);
    assert.match(text, /^NoNewPrivileges=yes$/m);
    assert.match(text, /^ProtectSystem=strict$/m);
  }
});
