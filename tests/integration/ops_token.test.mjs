// chat-token and the secrets file (issue 10): with AUTH_SECRET kept in secrets.conf (what the
// units load with EnvironmentFile=), chat-token finds it with --secrets; the environment wins
// over the file as it does for the daemons, --secret-file wins over both, the config file is
// the last resort, and a named secrets file that cannot be read or parsed is exit 78.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binPath, tmpDir } from './lib/util.mjs';

function run(args, env = {}) {
  const r = spawnSync(binPath('tools/chat-token'), args,
    { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 20000 });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

// The secret a token was signed with, among candidates.
function signedWith(token, candidates) {
  const [payload, sig] = token.split('.');
  const text = Buffer.from(payload, 'base64url').toString();
  return candidates.find((k) => createHmac('sha256', k).update(text).digest('base64url') === sig);
}

test('the secret comes from --secret-file, else the environment, else --secrets, else --config', () => {
  const dir = tmpDir('ops-token-');
  const conf = path.join(dir, 'chat.conf');
  const secrets = path.join(dir, 'secrets.conf');
  const raw = path.join(dir, 'raw');
  writeFileSync(conf, 'AUTH_SECRET=from-config\nTOKEN_TTL=120\n');
  writeFileSync(secrets, '# root only\nAUTH_SECRET="from-secrets"\nAWS_SECRET_ACCESS_KEY=x\n');
  chmodSync(secrets, 0o600);
  writeFileSync(raw, 'from-raw\n');
  const keys = ['from-config', 'from-secrets', 'from-env', 'from-raw'];
  const base = ['--config', conf, '--secrets', secrets, '--name', 'Ivy', 'ivy'];

  const fromSecrets = run(base);
  assert.equal(fromSecrets.code, 0, fromSecrets.err);
  assert.equal(signedWith(fromSecrets.out, keys), 'from-secrets');
  const expiry = Number(Buffer.from(fromSecrets.out.split('.')[0], 'base64url').toString().split('|')[1]);
  assert.ok(Math.abs(expiry - (Date.now() / 1000 + 120)) < 5, 'TOKEN_TTL still from the config file');
  const verified = run(['--secrets', secrets, '--verify', fromSecrets.out]);
  assert.equal(verified.code, 0, verified.err);
  assert.deepEqual(JSON.parse(verified.out), { userId: 'ivy', expiry, name: 'Ivy' });

  assert.equal(signedWith(run(base, { AUTH_SECRET: 'from-env' }).out, keys), 'from-env');
  assert.equal(signedWith(run(['--secret-file', raw, ...base], { AUTH_SECRET: 'from-env' }).out, keys), 'from-raw');
  writeFileSync(path.join(dir, 'nosecret.conf'), 'TOKEN_TTL=5\n');
  assert.equal(signedWith(run(['--config', conf, '--secrets', path.join(dir, 'nosecret.conf'), 'ivy']).out, keys), 'from-config');
});

test('a named secrets file that is missing or malformed is a configuration error (78)', () => {
  const dir = tmpDir('ops-token-bad-');
  const missing = run(['--secrets', path.join(dir, 'nope.conf'), 'ivy']);
  assert.equal(missing.code, 78);
  assert.match(missing.err, /nope\.conf/);
  const bad = path.join(dir, 'bad.conf');
  writeFileSync(bad, 'AUTH_SECRET="unterminated\n');
  const r = run(['--secrets', bad, 'ivy']);
  assert.equal(r.code, 78);
  assert.match(r.err, /bad\.conf: line 1: unterminated quote/);
});
