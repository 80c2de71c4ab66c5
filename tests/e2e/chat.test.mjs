// The chat page in Chromium through Apache: two users talk, rooms are isolated, history is
// replayed on join and paged in on scroll-back.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../integration/lib/util.mjs';
import {
  chatIds, chatTexts, join, launch, newPage, say, screenshot, seed, skipReason,
  startFrontendStack, waitForMessage, waitStored,
} from './browser.mjs';

const skip = skipReason() ?? false;

describe('chat through Apache in Chromium', { skip }, () => {
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

  test('two users in one room exchange messages; a user in another room sees none of them', { timeout: 90000 }, async () => {
    const ada = await newPage(browser);
    const bob = await newPage(browser);
    const eve = await newPage(browser);
    await join(ada, s.baseUrl, 'Ada', 'lobby');
    await join(bob, s.baseUrl, 'Bob', 'lobby');
    await join(eve, s.baseUrl, 'Eve', 'elsewhere');

    await say(ada, 'lobby', 'hello from Ada');
    await waitForMessage(bob, 'hello from Ada');
    await waitForMessage(ada, 'hello from Ada'); // the sender gets its own copy, once
    await say(bob, 'lobby', 'hi Ada, Bob here');
    await waitForMessage(ada, 'hi Ada, Bob here');
    await waitForMessage(bob, 'hi Ada, Bob here');
    await say(eve, 'elsewhere', 'anyone?');
    await waitForMessage(eve, 'anyone?');

    // nothing pending or failed once acks arrived
    await waitFor(async () => (await ada.locator('[data-kind="outbox"]').count()) === 0, { what: 'Ada outbox empty' });
    assert.deepEqual(await chatTexts(ada), ['hello from Ada', 'hi Ada, Bob here']);
    assert.deepEqual(await chatTexts(bob), ['hello from Ada', 'hi Ada, Bob here']);
    assert.deepEqual(await chatTexts(eve), ['anyone?']);

    // the sender's name is shown on the other side, and the user list has both
    assert.equal(await bob.locator('[data-kind="chat"]', { hasText: 'hello from Ada' }).getByText('Ada', { exact: true }).count(), 1);
    await waitFor(async () => {
      const ids = await bob.$$eval('[data-testid="user-list"] li', (els) => els.map((e) => e.textContent));
      return ids.some((t) => t.includes('Ada')) && ids.some((t) => t.includes('Bob')) && !ids.some((t) => t.includes('Eve'));
    }, { what: 'Bob sees Ada and Bob in the user list, not Eve' });

    await screenshot(ada, 'chat-two-users-ada');
    await screenshot(bob, 'chat-two-users-bob');
    await screenshot(eve, 'chat-other-room-eve');
    for (const p of [ada, bob, eve]) assert.deepEqual(p.errors, []);
    await Promise.all([ada, bob, eve].map((p) => p.context().close()));
  });

  test('a late joiner gets the history replayed; switching rooms needs no reload', { timeout: 90000 }, async () => {
    await seed(s, 'replay', ['first', 'second', 'third']);
    const cat = await newPage(browser);
    await join(cat, s.baseUrl, 'Cat', 'replay');
    await waitForMessage(cat, 'third');
    assert.deepEqual(await chatTexts(cat), ['first', 'second', 'third']);

    // switch to another room from the sidebar form: same document, new room's history
    await seed(s, 'replay-2', ['other room message']);
    await cat.evaluate(() => { window.__sameDocument = true; });
    await cat.getByLabel('Join or create a room').fill('replay-2');
    await cat.getByLabel('Join or create a room').press('Enter');
    await waitForMessage(cat, 'other room message');
    assert.equal(await cat.evaluate(() => window.__sameDocument), true, 'no reload');
    assert.deepEqual(await chatTexts(cat), ['other room message']);
    assert.match(cat.url(), /#\/room\/replay-2$/);
    // and back, through the active-rooms list
    await cat.getByTestId('room-list').locator('button', { has: cat.getByText('replay', { exact: true }) }).click();
    await waitForMessage(cat, 'third');
    assert.deepEqual(await chatTexts(cat), ['first', 'second', 'third']);
    await screenshot(cat, 'chat-history-replay');
    assert.deepEqual(cat.errors, []);
    await cat.context().close();
  });

  test('scrolling to the top loads older messages from /api ?before= and keeps the place', { timeout: 120000 }, async () => {
    const N = 80;
    const texts = Array.from({ length: N }, (_, i) => `old message ${String(i + 1).padStart(3, '0')}`);
    await seed(s, 'archive', texts);
    await waitStored(s.baseUrl, 'archive', N);

    const dan = await newPage(browser);
    const historyRequests = [];
    dan.on('request', (r) => { if (r.url().includes('/api/rooms/archive/messages')) historyRequests.push(r.url()); });
    await join(dan, s.baseUrl, 'Dan', 'archive');
    // the join replay shows the newest messages, stuck to the bottom
    await waitForMessage(dan, texts[N - 1]);
    assert.ok(!(await chatTexts(dan)).includes(texts[0]), 'the oldest message is not part of the join replay');

    // scroll up until the history is exhausted (each top hit loads one older page, and the
    // row being read stays in place, so the user scrolls again for the next page)
    const toTop = () => dan.evaluate(() => {
      const el = document.querySelector('[data-testid="message-list"]');
      el.scrollTop = 0;
      el.dispatchEvent(new Event('scroll'));
    });
    await waitFor(async () => {
      await toTop();
      return (await dan.locator('[data-history="done"]').count()) === 1;
    }, { timeoutMs: 30000, intervalMs: 300, what: 'history paged back to the start' });
    await waitFor(async () => {
      await toTop();
      return (await chatTexts(dan)).includes(texts[0]);
    }, { timeoutMs: 10000, intervalMs: 200, what: 'oldest message at the top' });
    assert.ok(historyRequests.some((u) => /[?&]before=/.test(u)), `a ?before= request was made: ${historyRequests}`);

    // what is rendered at the top is in order and unique
    const shown = await chatTexts(dan);
    const i0 = shown.indexOf(texts[0]);
    assert.deepEqual(shown.slice(i0, i0 + 5), texts.slice(0, 5));
    const ids = await chatIds(dan);
    assert.equal(new Set(ids).size, ids.length, 'no message rendered twice');
    await screenshot(dan, 'chat-scroll-back');

    // scrolled up, new messages do not yank the view: a pill counts them instead
    await seed(s, 'archive', ['new while reading 1', 'new while reading 2']);
    const pill = dan.getByRole('button', { name: '2 new messages' });
    await pill.waitFor({ timeout: 10000 });
    assert.ok((await chatTexts(dan)).includes(texts[0]), 'still reading the top');
    await screenshot(dan, 'chat-new-messages-pill');
    await pill.click();
    await waitForMessage(dan, 'new while reading 2');
    await pill.waitFor({ state: 'detached' });
    assert.deepEqual(dan.errors, []);
    await dan.context().close();
  });
  test('phone width: rooms and users open as drawers, chat works', { timeout: 60000 }, async () => {
    const fay = await newPage(browser, { width: 390, height: 780 });
    await join(fay, s.baseUrl, 'Fay', 'pocket');
    await say(fay, 'pocket', 'typing on a phone');
    await waitForMessage(fay, 'typing on a phone');
    // the sidebars are hidden; their drawers open from the header and close with Escape
    assert.equal(await fay.getByTestId('room-list').isVisible(), false);
    await fay.getByRole('button', { name: /show users/i }).click();
    await fay.getByRole('dialog', { name: 'Users' }).getByText('Fay').waitFor();
    await screenshot(fay, 'chat-phone-users');
    await fay.keyboard.press('Escape');
    await fay.getByRole('dialog').waitFor({ state: 'detached' });
    await fay.getByRole('button', { name: 'Show rooms' }).click();
    const drawer = fay.getByRole('dialog', { name: 'Rooms' });
    await drawer.getByLabel('Join or create a room').fill('pocket-2');
    await drawer.getByLabel('Join or create a room').press('Enter');
    await drawer.waitFor({ state: 'detached' });
    await fay.getByTestId('room-title').getByText('pocket-2').waitFor();
    await say(fay, 'pocket-2', 'second room from the phone');
    await waitForMessage(fay, 'second room from the phone');
    // nothing wider than the screen
    assert.ok(await fay.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
    await screenshot(fay, 'chat-phone');
    assert.deepEqual(fay.errors, []);
    await fay.context().close();
  });
  test('a refused message is shown inline as not sent, with retry', { timeout: 60000 }, async () => {
    // a stack of its own with a tight rate limit: 1 message per second, burst 2
    const tight = await startFrontendStack({ relayEnv: { RATE_LIMIT_PER_SEC: '1', RATE_LIMIT_BURST: '2' } });
    try {
      const gil = await newPage(browser);
      await join(gil, tight.baseUrl, 'Gil', 'strict');
      for (let i = 1; i <= 4; i++) await say(gil, 'strict', `burst ${i}`);
      const failed = gil.locator('[data-kind="outbox"][data-status="failed"]');
      await failed.first().waitFor({ timeout: 10000 });
      assert.match(await failed.first().innerText(), /Not sent: .*rate/i);
      await waitForMessage(gil, 'burst 1');
      await waitForMessage(gil, 'burst 2');
      await screenshot(gil, 'chat-rate-limited');
      // retry (the bucket refills at 1/s) until every message went through; a retry that is
      // refused again shows as failed again and is retried on the next round
      const all = ['burst 1', 'burst 2', 'burst 3', 'burst 4'];
      await waitFor(async () => {
        const shown = await gil.$$eval('[data-kind="chat"] p', (els) => els.map((e) => e.textContent));
        if (all.every((t) => shown.includes(t))) return true;
        if ((await failed.count()) > 0) await failed.first().getByRole('button', { name: 'Retry' }).click();
        return false;
      }, { timeoutMs: 30000, intervalMs: 1500, what: 'every burst message accepted after retries' });
      for (let i = 1; i <= 4; i++) await waitForMessage(gil, `burst ${i}`);
      assert.equal(await gil.locator('[data-kind="outbox"]').count(), 0);
      assert.deepEqual(gil.errors, []);
      await gil.context().close();
    } finally {
      await tight.stop();
    }
  });
});
