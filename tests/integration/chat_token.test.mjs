// chat-token, the CLI: mints the Go-format token (the openssl test vector), and
// verifies tokens with a distinct exit status for good, malformed, forged and expired ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { binPath, tmpDir } from './lib/util.mjs';

const bin = binPath('tools/chat-token');

// Runs chat-token with only the variables given (no AUTH_SECRET leaking in from the caller).
function run(args, env = {}, input) {
  const r = spawnSync(bin, args, {
    env: { PATH: process.env.PATH, ...env },
    input,
    encoding: 'utf8',
    timeout: 20000,
  });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// printf 'alice|4102444800' | openssl dgst -sha256 -hmac s3cret -binary | base64url
const VECTOR = 'YWxpY2V8NDEwMjQ0NDgwMA.Tt9fY2mhJ5qLfwDljf12IUL7lVNtHO_BzAZCDW_mKOs';

test('minting with a fixed expiry reproduces the openssl test vector', () => {
  const r = run(['--expiry', '4102444800', 'alice'], { AUTH_SECRET: 's3cret' });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, VECTOR);
  // and independently: the signature half is HMAC-SHA256 of the payload half's bytes
  const [payload, sig] = r.out.split('.');
  assert.equal(Buffer.from(payload, 'base64url').toString(), 'alice|4102444800');
  assert.equal(sig, b64url(createHmac('sha256', 's3cret').update('alice|4102444800').digest()));
});

test('a minted token carries the name and a ttl-based expiry and verifies', () => {
  const before = Math.floor(Date.now() / 1000);
  const mint = run(['--name', 'Alice A.', '--ttl', '120', 'alice'], { AUTH_SECRET: 'k3y' });
  assert.equal(mint.code, 0, mint.err);
  assert.match(mint.out, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  const [user, expiry, name] = Buffer.from(mint.out.split('.')[0], 'base64url').toString().split('|');
  assert.equal(user, 'alice');
  assert.equal(name, 'Alice A.');
  assert.ok(Number(expiry) >= before + 120 && Number(expiry) <= before + 125, expiry);

  const ok = run(['--verify', mint.out], { AUTH_SECRET: 'k3y' });
  assert.equal(ok.code, 0, ok.err);
  assert.deepEqual(JSON.parse(ok.out), { userId: 'alice', expiry: Number(expiry), name: 'Alice A.' });
});

test('verify exits 2 for a forged token, 3 for an expired one, 1 for a malformed one', () => {
  const forgedSig = run(['--verify', VECTOR], { AUTH_SECRET: 'not-s3cret' });
  assert.equal(forgedSig.code, 2);
  assert.match(forgedSig.err, /token_bad_signature/);

  const otherUser = `${b64url('mallory|4102444800')}.${VECTOR.split('.')[1]}`;
  assert.equal(run(['--verify', otherUser], { AUTH_SECRET: 's3cret' }).code, 2);

  const expired = run(['--expiry', '1000', 'bob'], { AUTH_SECRET: 's3cret' });
  assert.equal(expired.code, 0, expired.err);
  const v = run(['--verify', expired.out], { AUTH_SECRET: 's3cret' });
  assert.equal(v.code, 3);
  assert.match(v.err, /token_expired/);

  const bad = run(['--verify', 'not-a-token'], { AUTH_SECRET: 's3cret' });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /token_malformed/);
});

test('the secret comes from --secret-file, else the environment over the --config file', () => {
  const dir = tmpDir('chat-token-');
  const secretFile = path.join(dir, 'secret');
  const conf = path.join(dir, 'chat.conf');
  writeFileSync(secretFile, 's3cret\n');
  writeFileSync(conf, '# systemd EnvironmentFile\nAUTH_SECRET="s3cret"\n');

  assert.equal(run(['-s', secretFile, '-e', '4102444800', 'alice']).out, VECTOR);
  assert.equal(run(['--config', conf, '-e', '4102444800', 'alice']).out, VECTOR);
  const envWins = run(['--config', conf, '-e', '4102444800', 'alice'], { AUTH_SECRET: 'other' });
  assert.equal(envWins.code, 0);
  assert.notEqual(envWins.out, VECTOR);
  // stdin works for verification too
  assert.equal(run(['-s', secretFile, '--verify', '-'], {}, `${VECTOR}\n`).code, 0);
});

test('usage and configuration errors have their own exit codes', () => {
  const noSecret = run(['alice']);
  assert.equal(noSecret.code, 78);
  assert.match(noSecret.err, /AUTH_SECRET/);
  const badConf = run(['alice'], { AUTH_SECRET: 'k', RATE_LIMIT_PER_SEC: 'abc' });
  assert.equal(badConf.code, 78);
  assert.match(badConf.err, /RATE_LIMIT_PER_SEC: not a number: "abc"/);
  assert.equal(run(['a|b'], { AUTH_SECRET: 'k' }).code, 64);
  assert.equal(run(['--ttl', '-5', 'alice'], { AUTH_SECRET: 'k' }).code, 64);
  assert.equal(run(['--bogus'], { AUTH_SECRET: 'k' }).code, 64);
  assert.equal(run([], { AUTH_SECRET: 'k' }).code, 64);

  const help = run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /Exit status:/);
  assert.match(help.out, /\b78\b/);
  const version = run(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.out, /^chat-token \d+\.\d+\.\d+/);
});
