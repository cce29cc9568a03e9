// The memcheck scenario (scripts/test-sanitizers.mjs runs it under valgrind; run with
// --expose-gc). Every native path once, briefly: a sampler with the stall watchdog (with
// stack capture and stall profiles) and V8's histograms, forced GCs, snapshot reads, refreshes, the loop
// blocked past the watchdog's threshold, a worker thread with its own sampler read here
// through share()/attach() and then terminated while it runs, a published block read
// through its file, the threadpool probe (probes that ran, and a sampler closed with its
// probe queued behind a busy pool), and every sampler stopped and closed. Under valgrind everything is
// ~50x slower, so it waits on events and counts, never on wall-clock bounds. Prints `SMOKE_OK` and exits 0, or exits 1 naming the check.
'use strict';
const { Worker } = require('node:worker_threads');
const { Sampler } = require('../..');

const fail = (what) => {
  console.error(`smoke: ${what}`);
  process.exit(1);
};
const check = (cond, what) => cond || fail(what);
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  check(typeof globalThis.gc === 'function', 'run with --expose-gc');
  const s = new Sampler({ watchdog: { thresholdMs: 200, intervalMs: 20, captureStack: true, profile: true }, refreshIntervalMs: 20, threadpoolProbeMs: 20 }).start();
  const stalls = [];
  s.onStall((e) => stalls.push(e));
  const before = s.read();
  for (let i = 0; i < 3; i++) globalThis.gc();
  // Young-generation garbage, so scavenges go through the GC callbacks too.
  const keep = [];
  for (let i = 0; i < 200_000; i++) keep.push({ i });
  keep.length = 0;
  const mid = s.read();
  check(mid.gc.forcedCount - before.gc.forcedCount === 3, `forced GCs +${mid.gc.forcedCount - before.gc.forcedCount}, want 3`);
  s.refresh();
  s.read(mid);
  check(mid.heap.usedBytes > 0, 'heap.usedBytes is 0 after refresh()');

  // Let the loop complete iterations first (the watchdog judges none until the loop has
  // moved since it started: under valgrind, starting the threadpool probe's pool can take
  // so long that the first timer is overdue, the first iteration never waits, and a block
  // inside it would be that unjudged first iteration), then block the loop past the
  // threshold in JS so the watchdog fires and the stack is captured by the interrupt.
  for (let i = 0; i < 600 && s.read().loop.iterations < 3; i++) await wait(50);
  check(s.read().loop.iterations >= 3, `loop.iterations ${s.read().loop.iterations} before the block`);
  await wait(50);
  // Under valgrind on a loaded machine the watchdog thread can be scheduled late, so spin
  // until it has seen the stall (stall.active, read from here while blocked), then 2 s
  // more for the interrupt to be taken (valgrind runs one thread at a time): at least
  // 1.5 s, at most 60 s.
  const t0 = Date.now();
  let seenAt = 0;
  const probe = s.read();
  for (;;) {
    const now = Date.now();
    if (!seenAt && s.read(probe).stall.active) seenAt = now;
    if (now - t0 >= 1500 && seenAt && now - seenAt >= 2000) break;
    if (now - t0 >= 60_000) break;
  }
  await wait(100);
  for (let i = 0; i < 50 && stalls.length === 0; i++) await wait(50);
  check(stalls.length >= 1, 'no stall event after blocking the loop for 1.5 s');
  // The capture path ran (memcheck's concern here): an event with a stack, or the capture
  // itself when valgrind's thread scheduling let the stall end first.
  check(stalls.some((e) => typeof e.stack === 'string') || s.lastStallStack() !== null, 'no stall stack captured');
  // The stack and the profile's first sample come from the same interrupt.
  for (const e of stalls.filter((x) => typeof x.stack === 'string')) {
    check(e.profile !== undefined && e.profile.samples >= 1, 'a stall with a stack but no profile sample');
    check(e.profile.toCpuProfile().samples.length === e.profile.samples, 'toCpuProfile() lost samples');
  }

  // A worker with its own sampler, read from here, terminated while it allocates.
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const { Sampler } = require(${JSON.stringify(require.resolve('../..'))});
     const s = new Sampler({ watchdog: true, refreshIntervalMs: 20 }).start();
     parentPort.postMessage(s.share());
     let junk = [];
     setInterval(() => { for (let i = 0; i < 5000; i++) junk.push({ i }); if (junk.length > 100000) junk = []; }, 1);`,
    { eval: true },
  );
  const handle = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const view = Sampler.attach(handle);
  let seen = 0;
  for (let i = 0; i < 200 && seen === 0; i++) {
    await wait(20);
    seen = view.read().gc.count;
  }
  check(seen > 0, 'the worker sampler recorded no GC');
  const code = await worker.terminate();
  check(code === 1, `worker.terminate() → exit code ${code}`);
  check(view.detached, 'the view is not detached after the worker ended');
  view.read();

  // A published block: the mapped file, its buffer and a reader's private mapping and
  // alias, all unmapped once nothing holds them.
  const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'rs-smoke-'));
  const pub = new Sampler({ publish: { dir } }).start();
  check(pub.publishedPath !== null, 'the sampler was not published');
  globalThis.gc();
  const reader = Sampler.open(pub.publishedPath);
  check(reader.read().gc.forcedCount >= 1, 'the published block does not show the forced GC');
  reader.recentGCs(5);
  reader.close();
  pub.close();
  check(require('node:fs').readdirSync(dir).length === 0, 'close() left the published file');
  require('node:fs').rmSync(dir, { recursive: true, force: true });

  // The threadpool probe: probes that ran on pool threads, then a sampler closed while its
  // probe waits behind pool jobs (the request cancelled, or its completion awaited).
  for (let i = 0; i < 200 && s.read().threadpool.probes < 3; i++) await wait(20);
  check(s.read().threadpool.probes >= 3, `threadpool.probes ${s.read().threadpool.probes}`);
  check(s.histograms.threadpoolDelay.count === s.read().threadpool.probes, 'threadpool histogram count differs from probes');
  const tp = new Sampler({ threadpoolProbeMs: 10 }).start();
  let jobs = 8;
  for (let i = 0; i < 8; i++) require('node:crypto').pbkdf2('p', 's', 20000, 32, 'sha256', () => jobs--);
  for (let i = 0; i < 500 && tp.read().threadpool.inFlight !== 1; i++) await wait(5);
  tp.close();
  for (let i = 0; i < 2000 && jobs > 0; i++) await wait(10);
  check(jobs === 0, `${jobs} pbkdf2 jobs never finished`);

  const end = s.read();
  check(end.loop.iterations > before.loop.iterations, 'loop.iterations did not advance');
  check(end.stall.count >= 1, `stall.count ${end.stall.count}`);
  s.stop();
  check(!s.read().running, 'still running after stop()');
  s.close();
  globalThis.gc();
  console.log('SMOKE_OK');
}

main().catch((e) => fail(e && e.stack));
