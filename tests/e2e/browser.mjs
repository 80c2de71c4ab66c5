// browser.mjs: helpers for the browser end-to-end tests: Debian's Chromium driven by
// playwright-core (never a downloaded browser), the built frontend served by the real stack
// (Apache + chat-relay + chat-restapi + SQLite), screenshots under tests/artifacts/e2e/.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { startStack } from '../integration/lib/apache.mjs';
import { artifactsDir, repoDir, waitFor } from '../integration/lib/util.mjs';

export const distDir = process.env.CHAT_FRONTEND_DIST || path.join(repoDir, 'frontend', 'dist');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const shotDir = path.join(artifactsDir, 'e2e');

/** Why the e2e tests cannot run here, or null when they can. */
export function skipReason() {
  if (!existsSync(path.join(distDir, 'index.html'))) return `no built frontend at ${distDir} (npm run build in frontend/)`;
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  return null;
}

/** The whole stack serving the built frontend. Rate limits are raised so tests can post
 *  quickly; everything else is the production default. */
export function startFrontendStack(opts = {}) {
  return startStack({
    storage: 'sqlite',
    docroot: distDir,
    ...opts,
    relayEnv: { RATE_LIMIT_PER_SEC: '200', RATE_LIMIT_BURST: '400', ...(opts.relayEnv || {}) },
  });
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser profile (its own localStorage, so its own user id). Page errors fail loudly
 *  in the test output. */
export async function newPage(browser, { width = 1280, height = 800 } = {}) {
  const ctx = await browser.newContext({ viewport: { width, height } });
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

/** Opens the page, fills the join form and waits until the relay connection is open. */
export async function join(page, baseUrl, name, room) {
  await page.goto(`${baseUrl}/#/room/${encodeURIComponent(room)}`);
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Room').fill(room);
  await page.getByRole('button', { name: /join room/i }).click();
  await waitOpen(page);
}

export async function waitOpen(page, timeout = 20000) {
  await page.locator('[data-testid="conn-status"][data-status="open"]').waitFor({ timeout });
}

/** Types a message and sends it with Enter, the way a user does. */
export async function say(page, room, text) {
  const box = page.getByLabel(`Message #${room}`);
  await box.fill(text);
  await box.press('Enter');
}

/** Contents of the chat rows currently rendered (the list is virtualized: keep the counts
 *  small enough to fit the viewport when asserting on all of them). */
export async function chatTexts(page) {
  return page.$$eval('[data-kind="chat"] p, [data-kind="outbox"] p', (els) => els.map((e) => e.textContent));
}

/** messageIds of the confirmed chat rows currently rendered. */
export async function chatIds(page) {
  return page.$$eval('[data-kind="chat"][data-message-id]', (els) => els.map((e) => e.getAttribute('data-message-id')));
}

/** Waits until `text` is shown exactly once as a confirmed message (not pending). */
export async function waitForMessage(page, text, timeout = 15000) {
  try {
    await waitFor(async () => {
      const n = await page.$$eval('[data-kind="chat"] p', (els, t) => els.filter((e) => e.textContent === t).length, text);
      return n === 1;
    }, { timeoutMs: timeout, what: `message "${text}" shown once` });
  } catch (e) {
    await screenshot(page, `FAILED-waiting-for-${text.slice(0, 40)}`).catch(() => {});
    throw e;
  }
}

export async function screenshot(page, name) {
  mkdirSync(shotDir, { recursive: true });
  const file = path.join(shotDir, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
  // let finite CSS animations (fade-ins) end so the picture shows the settled page
  await page.evaluate(() => Promise.all(document.getAnimations()
    .filter((a) => a.effect?.getTiming().iterations !== Infinity)
    .map((a) => a.finished.catch(() => {}))));
  await page.screenshot({ path: file });
  return file;
}

/** Posts messages straight over the relay protocol (a second, non-browser client), each
 *  acknowledged before the next: seeds history fast. Returns the acks. */
export async function seed(stack, room, contents, { userId = 'seeder', username = 'Seeder' } = {}) {
  const q = new URLSearchParams({ userId, username, room });
  const ws = new WebSocket(`${stack.wsUrl}?${q}`, { origin: stack.origin });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const acks = [];
  let waiting = null;
  ws.on('message', (data) => {
    for (const line of data.toString().split('\n')) {
      if (!line.trim()) continue;
      const o = JSON.parse(line);
      if (o.type === 'ack' && waiting && o.nonce === waiting.nonce) { acks.push(o); waiting.resolve(); }
      if (o.type === 'error' && waiting && o.nonce === waiting.nonce) waiting.reject(new Error(o.message));
    }
  });
  for (let i = 0; i < contents.length; i++) {
    const nonce = `seed-${i}-${Date.now()}`;
    await new Promise((resolve, reject) => {
      waiting = { nonce, resolve, reject };
      ws.send(JSON.stringify({ type: 'chat', content: contents[i], nonce }));
    });
  }
  ws.close();
  return acks;
}

/** Waits until the store holds at least n messages of room (persistence is asynchronous). */
export async function waitStored(baseUrl, room, n) {
  await waitFor(async () => {
    const r = await fetch(`${baseUrl}/api/rooms/${encodeURIComponent(room)}/messages?limit=200`);
    if (!r.ok) return false;
    const j = await r.json();
    return j.count >= n;
  }, { timeoutMs: 20000, what: `${n} messages of ${room} in storage` });
}
