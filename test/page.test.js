// node-flags: --expose-gc
// tier: extra — drives a real Chromium
/* global document -- the callbacks given to page.waitForFunction run in the page */
// The live page in a real browser: headless Chromium (Debian's, driven by playwright-core).
// The page loads with no external resources, draws, and its numbers change after forced
// GCs; a screenshot is saved as a test artifact (test/artifacts/live-page.png).
const { test } = require('uvu');
const assert = require('uvu/assert');
const { testUnless } = require('./helpers/skip');
const { existsSync, mkdirSync, statSync } = require('node:fs');
const path = require('node:path');
const { Sampler, startMonitorThread } = require('..');

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const ARTIFACTS = path.join(__dirname, 'artifacts');

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const NAME = 'the page loads, draws its charts, and its GC numbers change after forced GCs; screenshot saved';
if (NODE_MAJOR < 20) {
  // playwright-core needs Node 20+; the page is the same under every Node (test:versions
  // runs this file under 20, 22, 24 and 26).
  testUnless(test, `playwright-core needs Node 20+, this is ${process.version}`, NAME, () => {}, { expected: true });
} else if (!CHROMIUM) {
  testUnless(test, 'Chromium is not installed (Debian package chromium)', NAME, () => {});
} else {
  test('the page loads, draws its charts, and its GC numbers change after forced GCs; screenshot saved', async () => {
    assert.ok(CHROMIUM, 'Chromium is required in CI (apt-get install chromium)');
    const { chromium } = require('playwright-core');
    const sampler = new Sampler({ watchdog: true }).start();
    const monitor = await startMonitorThread({ sampler, port: 0, windowMs: 2000 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
      const external = [];
      page.on('request', (r) => { if (!r.url().startsWith(monitor.url)) external.push(r.url()); });
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(monitor.url + '/');
      await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 2, null, { timeout: 15000 });
      const gcTile = () => page.textContent('[data-tile="GC collections"]');
      const before = Number(await gcTile());
      for (let i = 0; i < 5; i++) globalThis.gc();
      await page.waitForFunction((n) => Number(document.querySelector('[data-tile="GC collections"]').textContent) >= n, before + 5, { timeout: 15000 });
      const after = Number(await gcTile());
      assert.ok(after >= before + 5, `GC collections ${before} → ${after}`);
      // Charts are drawn: heap lines per space, and GC pause bars.
      assert.ok(await page.locator('#heap polyline').count() >= 3);
      assert.ok(await page.locator('#gc rect').count() >= 1);
      assert.match(await page.textContent('#status'), /ready/);
      assert.is(await page.textContent('[data-tile="Alerts"]'), 'none');
      assert.equal(errors, [], 'no script errors');
      assert.equal(external, [], 'no external requests');
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = path.join(ARTIFACTS, 'live-page.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10000);
    } finally {
      await browser.close();
      await monitor.close();
      sampler.close();
    }
  });
}

test.run();
