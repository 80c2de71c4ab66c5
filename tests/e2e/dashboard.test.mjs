// The live dashboard in Chromium through Apache shows what the test did over /ws.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../integration/lib/util.mjs';
import { join, launch, newPage, say, screenshot, skipReason, startFrontendStack, waitForMessage } from './browser.mjs';

const skip = skipReason() ?? false;

const text = (page, id) => page.getByTestId(id).innerText();

describe('dashboard through Apache in Chromium', { skip }, () => {
  let s;
  let browser;
  before(async () => {
    s = await startFrontendStack();
    browser = await launch();
  });
  after(async () => {
    if (browser) await browser.close();
    if (s) await s.stop();
  });

  test('shows the connections, users, messages, rooms and users the test created', { timeout: 90000 }, async () => {
    // Ada with two tabs in "stage" (one user, two connections), Bob in "backstage"
    const ada = await newPage(browser);
    await join(ada, s.baseUrl, 'Ada', 'stage');
    const adaTab2 = await ada.context().newPage();
    await adaTab2.goto(`${s.baseUrl}/#/room/stage`);
    await adaTab2.locator('[data-testid="conn-status"][data-status="open"]').waitFor({ timeout: 20000 });
    const bob = await newPage(browser);
    await join(bob, s.baseUrl, 'Bob', 'backstage');

    for (let i = 1; i <= 3; i++) await say(ada, 'stage', `stage message ${i}`);
    for (let i = 1; i <= 2; i++) await say(bob, 'backstage', `backstage message ${i}`);
    await waitForMessage(ada, 'stage message 3');
    await waitForMessage(bob, 'backstage message 2');

    const dash = await newPage(browser, { width: 1440, height: 1300 });
    await dash.goto(`${s.baseUrl}/#/dashboard`);
    // the fastest refresh, chosen the way a user does
    await dash.getByLabel('Refresh').selectOption('1000');

    await waitFor(async () => (await text(dash, 'stat-total-messages')) === '5', { what: 'total messages 5' });
    await waitFor(async () => (await text(dash, 'stat-connections')) === '3', { what: 'connections 3' });
    assert.equal(await text(dash, 'stat-users'), '2');
    assert.equal(await text(dash, 'stat-peak'), '3');
    assert.match(await text(dash, 'stat-uptime'), /^\d+(s|m \d\ds)$/);

    // per-room table
    const row = (room) => dash.locator(`[data-testid="rooms-table"] tr[data-room="${room}"] td`);
    await waitFor(async () => (await row('stage').count()) === 4 && (await row('backstage').count()) === 4, { what: 'room rows' });
    assert.deepEqual(await row('stage').allInnerTexts(), ['#stage', '1', '2', '3']);
    assert.deepEqual(await row('backstage').allInnerTexts(), ['#backstage', '1', '1', '2']);

    // active users table: Ada twice (two tabs), Bob once
    const users = await dash.$$eval('[data-testid="users-table"] tbody tr[data-user-id]', (rs) => rs.map((r) => r.innerText));
    assert.equal(users.length, 3);
    assert.equal(users.filter((u) => u.includes('Ada') && u.includes('#stage')).length, 2);
    assert.equal(users.filter((u) => u.includes('Bob') && u.includes('#backstage')).length, 1);

    // persistence health: everything written to SQLite, nothing left in the journal
    await waitFor(async () => (await dash.getByTestId('storage-status').innerText()).includes('Storage OK'), { what: 'storage ok' });

    // one closed tab is seen live
    await adaTab2.close();
    await waitFor(async () => (await text(dash, 'stat-connections')) === '2', { what: 'connections back to 2' });
    assert.equal(await text(dash, 'stat-users'), '2');
    assert.equal(await text(dash, 'stat-peak'), '3');

    await screenshot(dash, 'dashboard');
    // and on a phone-width screen
    await dash.setViewportSize({ width: 390, height: 1400 });
    await screenshot(dash, 'dashboard-phone');
    for (const p of [ada, bob, dash]) assert.deepEqual(p.errors, []);
  });

  test('polling pauses while the tab is hidden', { timeout: 60000 }, async () => {
    const dash = await newPage(browser);
    let polls = 0;
    dash.on('request', (r) => { if (r.url().endsWith('/api/analytics')) polls++; });
    await dash.goto(`${s.baseUrl}/#/dashboard`);
    await dash.getByLabel('Refresh').selectOption('1000');
    await waitFor(() => polls >= 2, { what: 'polling while visible' });
    // pretend the tab went to the background
    await dash.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await dash.getByText('Paused (tab hidden)').waitFor({ timeout: 5000 });
    const frozen = polls;
    await new Promise((r) => setTimeout(r, 2500)); // > 2 intervals: no poll may happen
    assert.equal(polls, frozen);
    await dash.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await waitFor(() => polls > frozen, { what: 'polling again once visible' });
    await screenshot(dash, 'dashboard-resumed');
  });
});
