// The relay restarts mid-chat: the page shows the outage with a countdown and "Reconnect
// now", reconnects by itself with since=<last seq>, sends what was typed meanwhile, and shows
// nothing twice and loses nothing.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../integration/lib/util.mjs';
import {
  chatIds, chatTexts, join, launch, newPage, say, screenshot, seed, skipReason,
  startFrontendStack, waitForMessage, waitOpen,
} from './browser.mjs';

const skip = skipReason() ?? false;

describe('relay restart with the page open', { skip }, () => {
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

  test('the page reconnects, resumes and shows every message exactly once', { timeout: 120000 }, async () => {
    const ada = await newPage(browser);
    const bob = await newPage(browser);
    const sockets = { ada: [], bob: [] };
    ada.on('websocket', (w) => sockets.ada.push(w.url()));
    bob.on('websocket', (w) => sockets.bob.push(w.url()));
    await join(ada, s.baseUrl, 'Ada', 'resume');
    await join(bob, s.baseUrl, 'Bob', 'resume');

    const before = ['one', 'two', 'three', 'four'];
    for (const [i, t] of before.entries()) await say(i % 2 ? bob : ada, 'resume', t);
    for (const p of [ada, bob]) await waitForMessage(p, 'four');

    // the relay goes away (SIGTERM: clients get 1001)
    await s.stopRelay();
    for (const p of [ada, bob]) {
      await p.getByTestId('reconnect-banner').waitFor({ timeout: 15000 });
    }
    assert.match(await ada.getByTestId('reconnect-banner').innerText(), /Retrying in \d+s/);
    assert.match(await ada.getByTestId('conn-status').innerText(), /Reconnecting/);

    // "Reconnect now" starts an attempt at once (it fails: the relay is still down)
    const attemptsBefore = sockets.ada.length;
    await ada.getByRole('button', { name: 'Reconnect now' }).click();
    await waitFor(() => sockets.ada.length > attemptsBefore, { what: 'an immediate reconnect attempt' });

    // typed while offline: shown as pending, sent after the reconnect
    await say(ada, 'resume', 'typed while offline');
    await ada.locator('[data-kind="outbox"][data-status="pending"]').waitFor({ timeout: 5000 });
    await screenshot(ada, 'reconnect-relay-down');

    await s.startRelay();
    // a message posted as soon as the relay is back, maybe before the pages reconnected:
    // they get it either replayed (since=) or live, once
    await seed(s, 'resume', ['right after restart']);
    for (const p of [ada, bob]) await waitOpen(p, 30000);

    // the resume carried the last seq this page had seen
    const resumeUrl = new URL(sockets.bob[sockets.bob.length - 1]);
    assert.ok(Number(resumeUrl.searchParams.get('since')) >= 4, `since= on reconnect: ${resumeUrl}`);

    await say(bob, 'resume', 'after restart');
    const expected = [...before, 'typed while offline', 'right after restart', 'after restart'];
    for (const p of [ada, bob]) {
      for (const t of expected) await waitForMessage(p, t, 20000);
    }
    await waitFor(async () => (await ada.locator('[data-kind="outbox"]').count()) === 0, { what: 'outbox drained' });

    for (const p of [ada, bob]) {
      const texts = await chatTexts(p);
      assert.deepEqual([...texts].sort(), [...expected].sort(), 'every message exactly once');
      assert.deepEqual(texts.slice(0, 4), before, 'history kept in order');
      const ids = await chatIds(p);
      assert.equal(new Set(ids).size, ids.length, 'no messageId twice');
      assert.equal(await p.getByTestId('gap-banner').count(), 0, 'the relay filled the gap');
      assert.equal(await p.getByTestId('reconnect-banner').count(), 0);
    }
    await screenshot(ada, 'reconnect-after-restart-ada');
    await screenshot(bob, 'reconnect-after-restart-bob');
    for (const p of [ada, bob]) assert.deepEqual(p.errors, []);
  });
});

describe('relay restart without storage', { skip }, () => {
  let s;
  let browser;
  before(async () => {
    s = await startFrontendStack({ storage: 'none' });
    browser = await launch();
  });
  after(async () => {
    if (browser) await browser.close();
    if (s) await s.stop();
  });

  test('when the relay cannot replay the gap (recovered:false) the page says so', { timeout: 90000 }, async () => {
    const ida = await newPage(browser);
    await join(ida, s.baseUrl, 'Ida', 'volatile');
    await say(ida, 'volatile', 'before the restart');
    await waitForMessage(ida, 'before the restart');

    await s.stopRelay();
    await ida.getByTestId('reconnect-banner').waitFor({ timeout: 15000 });
    await s.startRelay();
    await waitOpen(ida, 30000);
    const banner = ida.getByTestId('gap-banner');
    await banner.waitFor({ timeout: 15000 });
    assert.match(await banner.innerText(), /Some messages may be missing/);
    // what was shown stays shown, once; the chat goes on
    assert.deepEqual(await chatTexts(ida), ['before the restart']);
    await say(ida, 'volatile', 'after the restart');
    await waitForMessage(ida, 'after the restart');
    await screenshot(ida, 'reconnect-gap-banner');
    // "Reload room" starts the room afresh, without the banner
    await banner.getByRole('button', { name: 'Reload room' }).click();
    await waitOpen(ida);
    await waitForMessage(ida, 'after the restart');
    assert.equal(await ida.getByTestId('gap-banner').count(), 0);
    assert.deepEqual(ida.errors, []);
  });
});
