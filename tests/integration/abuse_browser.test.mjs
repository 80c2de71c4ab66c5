// Stored XSS through chat (issue 9): script payloads sent as chat content and as a display name
// by a hostile client must render as text in a real browser (Debian's Chromium through
// playwright-core, the built frontend served by Apache with its CSP), run nothing, add no
// elements, and make the CSP report no violation (a violation would mean the page tried to run
// or load something the policy blocks: the CSP would then be the only thing standing).
// Skipped (with the reason) when frontend/dist is not built or Chromium is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from './lib/relay.mjs';
import { waitFor } from './lib/util.mjs';
import { chatTexts, join, launch, newPage, skipReason, startFrontendStack } from '../e2e/browser.mjs';

const skip = skipReason() || false;   // node 20 takes skip: null as a skip

const payloads = [
  '<script>window.__pwned = "script"</script>',
  '<img src=x onerror="window.__pwned = \'img\'">',
  '"><svg onload="window.__pwned = \'svg\'">',
  '<iframe src="javascript:window.parent.__pwned = \'iframe\'"></iframe>',
  '<a href="javascript:window.__pwned = \'link\'">click</a>',
  '{{constructor.constructor("window.__pwned = \'template\'")()}}',
  '<style>body{display:none}</style>',
];
const NAME = '<img src=x onerror="window.__pwned=\'name\'">';

let s;
let browser;
before(async () => {
  if (skip) return;
  s = await startFrontendStack();
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
  if (s) await s.stop();
});

test('script payloads in chat content and names render as text, run nothing, and violate no CSP', { skip }, async () => {
  const page = await newPage(browser);
  const violations = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(`console: ${m.text()}`);
  });
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const resp = await page.goto(`${s.baseUrl}/`);
  assert.match(resp.headers()['content-security-policy'] || '', /script-src 'self'/);
  await join(page, s.baseUrl, 'Victim', 'xss');

  // The attacker is a plain WebSocket client with a hostile display name.
  const evil = await connect(`${s.wsUrl}?room=xss&userId=mallory&username=${encodeURIComponent(NAME)}`,
    { origin: s.origin });
  for (const p of payloads) evil.chat(p);
  await evil.collect((m) => m.type === 'chat', payloads.length);

  await waitFor(async () => (await chatTexts(page)).length >= payloads.length,
    { timeoutMs: 15000, what: 'the payloads on the page' });
  const texts = await chatTexts(page);
  for (const p of payloads) assert.ok(texts.includes(p), `shown verbatim as text: ${p}`);
  const body = await page.textContent('body');
  assert.ok(body.includes(NAME), 'the hostile name is shown as text');

  // Let any handler that could fire (image errors, svg onload) have its chance.
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no payload ran');
  const injected = await page.evaluate(() => ({
    scripts: [...document.querySelectorAll('script')].filter((e) => !e.src).length,
    imgs: [...document.querySelectorAll('img[onerror], img[src="x"]')].length,
    svgs: [...document.querySelectorAll('svg[onload]')].length,
    iframes: document.querySelectorAll('iframe').length,
    jsLinks: [...document.querySelectorAll('a[href^="javascript:"]')].length,
    styles: [...document.querySelectorAll('style')].filter((e) => e.textContent.includes('display:none')).length,
  }));
  assert.deepEqual(injected, { scripts: 0, imgs: 0, svgs: 0, iframes: 0, jsLinks: 0, styles: 0 });
  assert.ok(await page.isVisible('body'), 'the page was not blanked by the style payload');
  const csp = await page.evaluate(() => window.__csp);
  assert.deepEqual([...csp, ...violations], [], 'no CSP violation');
  assert.deepEqual(page.errors, [], 'no page errors');
  evil.ws.close();
});
