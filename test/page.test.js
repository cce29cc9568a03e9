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

const { v2Fixture, writeTree, removeFixture } = require('./helpers/cgroup');

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const liveJson = async (monitor) => (await fetch(`${monitor.url}/live.json`)).json();

test('/live.json: container values from a fixture cgroup, the throttled share over the window, the threadpool probe', async () => {
  // memory.high "max": no threshold; the others as the fixture's defaults.
  const dir = v2Fixture();
  const sampler = new Sampler({ cgroupRoot: dir, threadpoolProbeMs: 10 }).start();
  const monitor = await startMonitorThread({ sampler, port: 0, windowMs: 60_000 });
  try {
    // 20 more periods, 5 of them throttled, 0.5 s more throttled time, since the window began.
    writeTree(dir, { 'cpu.stat': 'nr_periods 70\nnr_throttled 45\nthrottled_usec 3000000\n' });
    sampler.refresh();
    const deadline = Date.now() + 5000;
    let d = await liveJson(monitor);
    while ((d.threadpool === null || d.threadpool.delayMs.p99 === null || d.container.throttledShare === null) && Date.now() < deadline) {
      await sleep(50);
      d = await liveJson(monitor);
    }
    assert.equal({ ...d.container, throttledPerSecond: typeof d.container.throttledPerSecond }, {
      cgroupVersion: 2,
      memoryUsageBytes: 104857600,
      memoryWorkingSetBytes: 100000000, // usage − memory.stat inactive_file
      memoryLimitBytes: 209715200,
      memoryHighBytes: 'unlimited',
      memoryUsedShare: 100000000 / 209715200,
      cpuQuotaCores: 0.2,
      throttledShare: 0.25,
      throttledPerSecond: 'number',
      oomKills: 1,
    });
    assert.ok(d.container.throttledPerSecond > 0, String(d.container.throttledPerSecond));
    const t = d.threadpool;
    assert.is(t.size, sampler.read().threadpool.size);
    assert.ok(t.probes >= 1 && t.inFlight >= 0 && t.inFlight <= 1, JSON.stringify(t));
    assert.ok(t.delayMs.p50 > 0 && t.delayMs.p50 <= t.delayMs.p99 && t.delayMs.p99 <= t.delayMs.max, JSON.stringify(t.delayMs));
    assert.ok(t.delayMs.max <= t.maxMs * 1.011, JSON.stringify(t));
  } finally {
    await monitor.close();
    sampler.close();
    removeFixture(dir);
  }
});

test('/live.json: no cgroup and no probe — container and threadpool are null', async () => {
  const sampler = new Sampler({ cgroupRoot: false, threadpoolProbeMs: 0 }).start();
  const monitor = await startMonitorThread({ sampler, port: 0, windowMs: 2000 });
  try {
    await sleep(1100); // past the default probe period: a probe that were on would have run
    const d = await liveJson(monitor);
    assert.is(d.container, null);
    assert.is(d.threadpool, null);
  } finally {
    await monitor.close();
    sampler.close();
  }
});
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

  test('container tiles and the threadpool chart: shown with a cgroup and the probe, absent without', async () => {
    const { chromium } = require('playwright-core');
    const dir = v2Fixture();
    const withBoth = new Sampler({ cgroupRoot: dir, threadpoolProbeMs: 10 }).start();
    const without = new Sampler({ cgroupRoot: false, threadpoolProbeMs: 0 }).start();
    const monitors = [await startMonitorThread({ sampler: withBoth, port: 0, windowMs: 60_000 }), await startMonitorThread({ sampler: without, port: 0, windowMs: 2000 })];
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      writeTree(dir, { 'cpu.stat': 'nr_periods 70\nnr_throttled 45\nthrottled_usec 3000000\n' });
      withBoth.refresh();
      const page = await browser.newPage({ viewport: { width: 1366, height: 1000 } });
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(monitors[0].url + '/');
      await page.waitForFunction(() => document.querySelectorAll('#threadpool polyline').length >= 3, null, { timeout: 15000 });
      assert.is(await page.textContent('[data-tile="Container memory / limit"]'), '95 / 200 MB (48 %)');
      assert.is(await page.textContent('[data-tile="Container CPU quota"]'), '0.20 CPUs');
      assert.is(await page.textContent('[data-tile="CPU throttled"]'), '25.0 % of periods');
      assert.match(await page.textContent('[data-tile="Threadpool delay p99"]'), /^\d+\.\d\d ms$/);
      assert.is(await page.isVisible('#threadpool-chart'), true);
      assert.match(await page.textContent('#threadpool-legend'), /p99.*waiting now/);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'live-page-container.png'), fullPage: true });

      await page.goto(monitors[1].url + '/');
      await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 2, null, { timeout: 15000 });
      assert.is(await page.locator('[data-tile="Container memory / limit"]').count(), 0);
      assert.is(await page.locator('[data-tile="Threadpool delay p99"]').count(), 0);
      assert.is(await page.isVisible('#threadpool-chart'), false);
      assert.equal(errors, [], 'no script errors');
    } finally {
      await browser.close();
      for (const m of monitors) await m.close();
      withBoth.close();
      without.close();
      removeFixture(dir);
    }
  });
}

test.run();
