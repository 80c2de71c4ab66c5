// make install, then run what was installed (issues 6 and 10): the installed chat-relay and
// chat-restapi with the installed configuration file, behind a user-local Apache that uses the
// installed Apache include. The install goes into a DESTDIR, so the include's absolute paths
// are re-rooted under it (and the fixed relay port and socket swapped for private ones) before
// Apache reads it; nothing else in the file is changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { installedStackOptions, startStack } from './lib/apache.mjs';
import { connect } from './lib/relay.mjs';
import { buildDir, makeVar, tmpDir } from './lib/util.mjs';

test('the installed daemons, config and Apache include run the stack', async () => {
  const dest = tmpDir('chat-destdir-');
  chmodSync(dest, 0o755);                         // Apache's workers (www-data as root) read the docroot
  execFileSync('make', ['-C', buildDir(), '-s', 'install-sbinPROGRAMS', 'install-data-local',
    `DESTDIR=${dest}`], { stdio: 'ignore', timeout: 300000 });
  const prefix = makeVar('prefix');
  const root = path.join(dest, prefix);
  const sbin = path.join(root, 'sbin');
  const conf = path.join(root, 'etc', 'chat-analytics', 'chat-analytics.conf');
  const include = path.join(root, 'share', 'chat-analytics', 'apache', 'chat-analytics.conf');
  for (const f of [path.join(sbin, 'chat-relay'), path.join(sbin, 'chat-restapi'), conf, include]) {
    assert.ok(existsSync(f), `installed: ${f}`);
  }
  for (const u of ['chat-relay.service', 'chat-restapi.service']) {
    const unit = readFileSync(path.join(root, 'lib', 'systemd', 'system', u), 'utf8');
    assert.match(unit, new RegExp(`ExecStart=${prefix}/sbin/chat-(relay|restapi) --config ${prefix}/etc/chat-analytics/chat-analytics.conf`));
  }
  const installed = readFileSync(include, 'utf8');
  assert.match(installed, /ProxyPass "\/ws" "ws:\/\/127\.0\.0\.1:8081\/ws"/);

  const s = await startStack({
    storage: 'sqlite',
    ...installedStackOptions({ root, prefix, conf, installed }),
  });
  let c;
  try {
    const h = await (await fetch(`${s.baseUrl}/health`)).json();
    assert.equal(h.storage, 'ok');
    c = await connect(`${s.wsUrl}?room=installed&userId=ivy&username=Ivy`, { origin: s.origin });
    c.chat('from the installed relay');
    await c.nextMessage((m) => m.type === 'chat' && m.content === 'from the installed relay');
    const a = await (await fetch(`${s.baseUrl}/api/analytics`)).json();
    assert.equal(a.relay, 'ok');
    assert.equal(a.activeConnections, 1);
    const www = path.join(root, 'share', 'chat-analytics', 'www', 'index.html');
    if (existsSync(www)) {                        // the frontend was built before the install
      const idx = await fetch(`${s.baseUrl}/`);
      assert.equal(await idx.text(), readFileSync(www, 'utf8'));
    }
  } finally {
    if (c) c.ws.terminate();
    await s.stop();
  }
  execFileSync('make', ['-C', buildDir(), '-s', 'uninstall-sbinPROGRAMS', 'uninstall-local',
    `DESTDIR=${dest}`], { stdio: 'ignore' });
  const left = execFileSync('find', [dest, '-type', 'f']).toString().trim();
  assert.equal(left, '', 'uninstall removed every installed file');
});
