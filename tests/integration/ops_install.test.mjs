// `make install DESTDIR=...` and `make uninstall` (issue 10): the layout and modes, the
// configuration and secrets files installed only when absent and kept at uninstall once
// changed, the logrotate snippet, man pages that render, the steps printed at the end; then
// the installed daemons started the way the units start them (--config the installed file,
// the installed secrets file in the environment) behind a user-local Apache that uses the
// installed include, with a token minted by the installed chat-token; uninstall leaves no file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { installedStackOptions, startStack } from './lib/apache.mjs';
import { connect } from './lib/relay.mjs';
import { buildDir, makeVar, tmpDir } from './lib/util.mjs';

function make(target, dest) {
  const r = spawnSync('make', ['-C', buildDir(), '-s', target, `DESTDIR=${dest}`],
    { encoding: 'utf8', timeout: 600000 });
  assert.equal(r.status, 0, `make ${target}: ${r.stdout}${r.stderr}`.slice(-3000));
  return r.stdout;
}

const mode = (f) => (statSync(f).mode & 0o777).toString(8);

// KEY=value lines of an EnvironmentFile (the simple form the example uses), as systemd's
// EnvironmentFile= would hand them to the daemon.
function envFile(file) {
  const env = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = line.match(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

test('make install lays out a Debian-style tree, the installed stack runs, make uninstall removes it', async () => {
  const dest = tmpDir('ops-install-');
  chmodSync(dest, 0o755);                        // Apache's workers (www-data as root) read the docroot
  const out = make('install', dest);
  const prefix = makeVar('prefix');
  const sysconfdir = makeVar('sysconfdir').replace('${prefix}', prefix);
  const localstatedir = makeVar('localstatedir').replace('${prefix}', prefix);
  const root = path.join(dest, prefix);
  const etc = path.join(dest, sysconfdir, 'chat-analytics');
  const conf = path.join(etc, 'chat-analytics.conf');
  const secrets = path.join(etc, 'secrets.conf');

  // Layout and modes.
  for (const f of ['sbin/chat-relay', 'sbin/chat-restapi', 'bin/chat-token']) {
    assert.equal(mode(path.join(root, f)), '755', f);
  }
  assert.equal(mode(conf), '644');
  assert.equal(mode(secrets), '600', 'secrets are for root only');
  assert.equal(readFileSync(conf, 'utf8'), readFileSync(`${conf}.example`, 'utf8'));
  assert.doesNotMatch(readFileSync(conf, 'utf8'), /^AUTH_SECRET=/m);
  for (const d of ['lib/chat-analytics', 'log/chat-analytics']) {
    assert.equal(mode(path.join(dest, localstatedir, d)), '750', d);
  }
  const rotate = readFileSync(path.join(dest, sysconfdir, 'logrotate.d', 'chat-analytics'), 'utf8');
  assert.match(rotate, new RegExp(`^${localstatedir}/log/chat-analytics/\\*\\.log \\{`, 'm'));
  assert.match(rotate, /--signal=SIGUSR1 chat-relay\.service chat-restapi\.service/);
  assert.match(rotate, /kill -USR1/);
  assert.doesNotMatch(rotate, /kill -HUP|signal=SIGHUP|systemctl reload/, 'SIGHUP reloads the configuration, it does not reopen logs');
  for (const u of ['chat-relay', 'chat-restapi']) {
    const unit = readFileSync(path.join(root, 'lib', 'systemd', 'system', `${u}.service`), 'utf8');
    assert.match(unit, new RegExp(`^EnvironmentFile=-${sysconfdir}/chat-analytics/secrets\\.conf$`, 'm'));
    assert.match(unit, /^Type=notify$/m);
  }
  for (const [sec, page] of [['1', 'chat-token.1'], ['5', 'chat-analytics.conf.5'], ['8', 'chat-relay.8'], ['8', 'chat-restapi.8']]) {
    const f = path.join(root, 'share', 'man', `man${sec}`, page);
    const r = spawnSync('man', ['--warnings', '-l', f], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80' } });
    assert.equal(r.status, 0, page);
    assert.equal(r.stderr, '', `${page} renders without warnings`);
    assert.match(r.stdout, /NAME/);
  }
  assert.ok(existsSync(path.join(root, 'share', 'doc', 'chat-analytics', 'OPERATIONS.md')));
  assert.ok(existsSync(path.join(root, 'share', 'chat-analytics', 'examples', 'chat-analytics-alerts.yml')));
  assert.match(out, /a2enmod proxy proxy_http proxy_wstunnel proxy_fcgi/);
  assert.match(out, /a2enconf chat-analytics|Include .*chat-analytics\.conf/);
  assert.match(out, /adduser --system --group/);

  // An admin's files survive a second install; the example is refreshed.
  const secret = `installed-secret-${process.pid}`;
  appendFileSync(conf, 'LOG_LEVEL=debug\n');
  appendFileSync(secrets, `AUTH_SECRET=${secret}\n`);
  writeFileSync(`${conf}.example`, 'stale example\n');
  make('install', dest);
  assert.match(readFileSync(conf, 'utf8'), /^LOG_LEVEL=debug$/m);
  assert.match(readFileSync(secrets, 'utf8'), new RegExp(`^AUTH_SECRET=${secret}$`, 'm'));
  assert.equal(mode(secrets), '600');
  assert.notEqual(readFileSync(`${conf}.example`, 'utf8'), 'stale example\n');

  // The installed stack: daemons as the units run them, the installed Apache include, a token
  // from the installed chat-token.
  const includeDir = existsSync(path.join(dest, sysconfdir, 'apache2', 'conf-available'))
    ? path.join(dest, sysconfdir, 'apache2', 'conf-available')
    : path.join(root, 'share', 'chat-analytics', 'apache');
  const installed = readFileSync(path.join(includeDir, 'chat-analytics.conf'), 'utf8');
  const token = execFileSync(path.join(root, 'bin', 'chat-token'),
    ['--config', conf, '--secrets', secrets, '--name', 'Ivy I.', '--ttl', '600', 'ivy'],
    { env: { PATH: process.env.PATH } }).toString().trim();
  const s = await startStack({
    storage: 'sqlite',
    env: envFile(secrets),
    ...installedStackOptions({ root, prefix, conf, installed }),
  });
  let c;
  try {
    const ready = await fetch(`${s.baseUrl}/ready`);
    assert.equal(ready.status, 200, await ready.text());
    c = await connect(`${s.wsUrl}?room=installed&token=${encodeURIComponent(token)}`, { origin: s.origin });
    c.chat('through the installed stack');
    const m = await c.nextMessage((x) => x.type === 'chat' && x.content === 'through the installed stack');
    assert.equal(m.userId, 'ivy');
    assert.equal(m.username, 'Ivy I.');
    const bad = await fetch(`${s.baseUrl}/api/rooms/installed/messages`);
    assert.equal(bad.status, 200);
  } finally {
    if (c) c.ws.terminate();
    await s.stop();
  }

  // Uninstall: the admin's changed files stay, nothing else does.
  make('uninstall', dest);
  const left = execFileSync('find', [dest, '-type', 'f']).toString().trim().split('\n').filter(Boolean).sort();
  assert.deepEqual(left, [conf, secrets].sort());
  rmSync(conf);
  rmSync(secrets);
  make('install', dest);
  make('uninstall', dest);
  assert.equal(execFileSync('find', [dest, '-type', 'f']).toString().trim(), '', 'untouched files are removed too');
});
