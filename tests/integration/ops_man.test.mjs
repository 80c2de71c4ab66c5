// The man pages match --help (issue 10): every option and signal each program's --help names
// is in its page, every configuration variable is in chat-analytics.conf(5) with the default
// --help shows, and chat-token(1) lists the same exit codes. Pages are rendered with man(1),
// which also has to find no roff errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { binPath, repoDir } from './lib/util.mjs';

function render(page) {
  const r = spawnSync('man', ['--warnings', '-l', path.join(repoDir, 'man', page)],
    { encoding: 'utf8', env: { ...process.env, MANWIDTH: '200', LC_ALL: 'C.UTF-8' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', `${page}: roff warnings`);
  // Plain text: no overstrike, hyphens as typed, one space between words.
  return r.stdout.replace(/.\x08/g, '').replace(/[\u2010\u2212]/g, '-').replace(/\s+/g, ' ');
}

const help = (bin) => execFileSync(binPath(bin), ['--help']).toString();
const options = (text) => [...new Set(text.match(/(?<![\w-])--[a-z][a-z-]+/g))];

for (const [bin, page] of [['relay/chat-relay', 'chat-relay.8'], ['restapi/chat-restapi', 'chat-restapi.8'],
  ['tools/chat-token', 'chat-token.1']]) {
  test(`${page} documents every option and signal of ${path.basename(bin)} --help`, () => {
    const h = help(bin).split(/Environment variables|Configuration \(environment/)[0];
    const man = render(page);
    const opts = options(h);
    assert.ok(opts.length >= 4, opts.join(' '));
    for (const o of opts) assert.ok(man.includes(o), `${page} lacks ${o}`);
    for (const sig of h.match(/SIG[A-Z0-9]+/g) || []) assert.ok(man.includes(sig), `${page} lacks ${sig}`);
  });
}

test('chat-token.1 lists the exit codes of chat-token --help', () => {
  const codes = help('tools/chat-token').split('Exit status:')[1].match(/^\s+(\d+)\s/gm).map((s) => s.trim());
  const man = render('chat-token.1');
  assert.deepEqual(codes, ['0', '1', '2', '3', '64', '70', '78']);
  const section = man.split('EXIT STATUS')[1].split('EXAMPLES')[0];
  for (const c of codes) assert.match(section, new RegExp(`(^| )${c} `), `exit ${c}`);
});

test('chat-analytics.conf.5 documents every variable with the default --help shows', () => {
  const text = help('relay/chat-relay').split('the environment wins):')[1];
  const vars = [];
  for (const line of text.split('\n')) {
    let m;
    if ((m = line.match(/^ {2}([A-Z][A-Z0-9_]+)\s{2,}/))) vars.push({ name: m[1], def: null });
    else if ((m = line.match(/\(default: (.*)\)$/))) vars[vars.length - 1].def = m[1];
  }
  assert.ok(vars.length >= 40, `${vars.length} variables`);
  const man = render('chat-analytics.conf.5').split(' VARIABLES ')[1].split(' FILES ')[0];
  for (const { name, def } of vars) {
    const at = man.indexOf(` ${name} `);
    assert.ok(at >= 0, `${name} missing`);
    const entry = man.slice(at, at + 400);
    if (name === 'DATA_DIR' || name === 'RUN_DIR') continue;   // defaults follow configure
    assert.ok(entry.includes(def === null ? 'Default: empty.' : `Default: ${def}.`), `${name}: default ${def}: ${entry}`);
  }
});
