// node-flags: --expose-gc
// Worker churn: 1,000 workers, each with a started sampler (some with the watchdog),
// ending every way a worker can — closing its sampler and returning, returning with the
// sampler open (environment teardown closes it), process.exit() mid-work, and
// terminate() from outside while it collects garbage. No crash, no handle left behind,
// and the process's memory settles: RSS at the end within 10% of RSS after the first 100.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { Worker } = require('node:worker_threads');
const path = require('node:path');
const { Sampler } = require('..');
const { native } = require('../dist/cjs/binding.js');

const root = path.join(__dirname, '..');
const WORKERS = 1000;
const CONCURRENT = 4;

const CODE = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { Sampler } = require(workerData.root);
  const s = new Sampler(workerData.watchdog ? { watchdog: { thresholdMs: 20, intervalMs: 2, captureStack: true } } : {}).start();
  const view = workerData.viewOfParent ? Sampler.attach(workerData.viewOfParent) : null;
  let keep = [];
  const churn = (n) => { for (let i = 0; i < n; i++) { keep.push({ i, a: [i, i] }); if (keep.length > 4000) keep = []; } };
  parentPort.postMessage('started');
  if (workerData.mode === 'terminate') {
    for (;;) churn(10000); // killed from outside, most likely inside a GC
  }
  churn(20000 + (workerData.index % 7) * 5000);
  if (view) view.read();
  if (workerData.mode === 'exit') process.exit(0);
  if (workerData.mode === 'close') s.close();
  // 'return': the sampler stays open; the environment's teardown closes it.
`;

const MODES = ['close', 'return', 'terminate', 'exit'];

function runOne(index, parentHandle) {
  return new Promise((resolve, reject) => {
    const mode = MODES[index % MODES.length];
    const w = new Worker(CODE, {
      eval: true,
      workerData: { root, index, mode, watchdog: index % 3 === 0, viewOfParent: index % 5 === 0 ? parentHandle : null },
    });
    w.once('error', reject);
    w.once('message', () => {
      if (mode === 'terminate') setTimeout(() => void w.terminate(), 2 + (index % 9) * 3);
    });
    w.once('exit', (code) => resolve({ mode, code }));
  });
}

// What the process holds: after full GCs, and with the C allocator's free memory handed
// back (glibc keeps freed memory of exited threads' arenas for reuse; plain workers
// without any sampler show ±10% RSS swings from that alone on Node 24).
function rss() {
  globalThis.gc();
  globalThis.gc();
  native.trimMemory();
  return process.memoryUsage().rss;
}

test(`${WORKERS} worker start/stop cycles with a sampler in each: no crash, no leak`, async () => {
  const main = new Sampler().start();
  const handle = main.share();
  const resourcesBefore = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
  let done = 0;
  let rssAfter100 = 0;
  const codes = {};
  let next = 0;
  const lane = async () => {
    while (next < WORKERS) {
      const i = next++;
      const r = await runOne(i, handle);
      codes[r.mode] = (codes[r.mode] ?? 0) + 1;
      if (r.mode !== 'terminate') assert.is(r.code, 0, `worker ${i} (${r.mode}) exited with ${r.code}`);
      done++;
      if (done === 100) rssAfter100 = rss();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT }, lane));
  await new Promise((r) => setTimeout(r, 100));
  const rssEnd = rss();
  assert.is(done, WORKERS);
  assert.equal(Object.values(codes).reduce((a, b) => a + b, 0), WORKERS);
  // Nothing of the workers is left in this loop.
  const resourcesAfter = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
  assert.ok(resourcesAfter <= resourcesBefore, `active resources ${resourcesBefore} → ${resourcesAfter}: ${process.getActiveResourcesInfo()}`);
  const growth = (rssEnd - rssAfter100) / rssAfter100;
  assert.ok(growth < 0.1, `RSS ${(rssAfter100 / 2 ** 20).toFixed(1)} MiB after 100 workers, ${(rssEnd / 2 ** 20).toFixed(1)} MiB after ${WORKERS} (+${(growth * 100).toFixed(1)}%)`);
  console.log(`  RSS after 100: ${(rssAfter100 / 2 ** 20).toFixed(1)} MiB, after ${WORKERS}: ${(rssEnd / 2 ** 20).toFixed(1)} MiB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%)`);
  // The main thread's sampler kept working through it all.
  const snap = main.read();
  assert.ok(snap.loop.iterations > WORKERS);
  main.close();
});

test.run();
