// With AUTH_SECRET set, the page gets a token from /api/token (Apache authenticates the
// user) before it connects; the relay then takes the user id from the token.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { tmpDir, waitFor } from '../integration/lib/util.mjs';
import { launch, say, screenshot, skipReason, startFrontendStack, waitForMessage, waitOpen } from './browser.mjs';

const skip = skipReason() ?? false;

describe('token auth through Apache in Chromium', { skip }, () => {
  let s;
  let browser;
  before(async () => {
    const dir = tmpDir('chat-e2e-auth-');
    const htpasswd = path.join(dir, 'htpasswd');
    execFileSync('htpasswd', ['-b', '-c', '-B', htpasswd, 'alice', 'wonderland'], { stdio: 'ignore' });
    chmodSync(dir, 0o755); // Apache's workers (www-data when we are root) read it
    chmodSync(htpasswd, 0o644);
    s = await startFrontendStack({
      env: { AUTH_SECRET: `e2e-secret-${process.pid}` },
      apacheConf: `<Location "/api/token">
    AuthType Basic
    AuthName "chat"
    AuthBasicProvider file
    AuthUserFile "${htpasswd}"
    Require valid-user
</Location>
`,
    });
    browser = await launch();
  });
  after(async () => {
    if (browser) await browser.close();
    if (s) await s.stop();
  });

  test('an authenticated user connects with a token and chats as the token user', { timeout: 60000 }, async () => {
    const ctx = await browser.newContext({ httpCredentials: { username: 'alice', password: 'wonderland' } });
    const page = await ctx.newPage();
    const wsUrls = [];
    page.on('websocket', (w) => wsUrls.push(w.url()));
    await page.goto(`${s.baseUrl}/#/room/secure`);
    await page.getByLabel('Display name').fill('Alice');
    await page.getByRole('button', { name: /join room/i }).click();
    await waitOpen(page);
    assert.ok(new URL(wsUrls[0]).searchParams.get('token'), 'the socket carried a token');

    await say(page, 'secure', 'signed in');
    await waitForMessage(page, 'signed in');
    // the relay took the user id from the token; the page knows it is us
    const row = page.locator('[data-kind="chat"]', { hasText: 'signed in' });
    assert.equal(await row.getByText('you', { exact: true }).count(), 1);
    const a = await (await fetch(`${s.baseUrl}/api/analytics`)).json();
    assert.deepEqual(a.activeUserDetails.map((u) => u.userId), ['alice']);
    await screenshot(page, 'auth-token-user');
    await ctx.close();
  });

  test('without credentials there is no token: the relay refuses and the page keeps retrying', { timeout: 60000 }, async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    let attempts = 0;
    page.on('websocket', () => { attempts++; });
    await page.goto(`${s.baseUrl}/#/room/secure`);
    await page.getByLabel('Display name').fill('Mallory');
    await page.getByRole('button', { name: /join room/i }).click();
    await page.getByTestId('reconnect-banner').waitFor({ timeout: 15000 });
    assert.match(await page.getByTestId('reconnect-banner').innerText(), /Cannot reach the chat server/);
    await waitFor(() => attempts >= 2, { what: 'a second attempt after the backoff' });
    await screenshot(page, 'auth-refused');
    await ctx.close();
  });
});
