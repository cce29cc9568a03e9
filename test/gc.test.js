// node-flags: --expose-gc
// GC accounting against V8's own reports: PerformanceObserver('gc') in the same process,
// and --trace-gc in a child.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { PerformanceObserver, performance, constants } = require('node:perf_hooks');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { Sampler, GC_TYPES } = require('..');

const KIND_TO_TYPE = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markSweepCompact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incrementalMarking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'processWeakCallbacks',
  2: 'minorMarkSweep',
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function churn(n) {
  let keep = [];
  for (let i = 0; i < n; i++) {
    keep.push({ i, s: 'item' + i, a: [i, i + 1] });
    if (keep.length > 5000) keep = [];
  }
  return keep.length;
}

async function observeWindow(fn) {
  const entries = [];
  const obs = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  await sleep(20);
  const t0 = performance.now();
  const result = fn();
  const t1 = performance.now();
  await sleep(100); // gc entries are delivered asynchronously
  obs.disconnect();
  const inWindow = entries.filter((e) => e.startTime >= t0 && e.startTime <= t1);
  return { result, entries: inWindow };
}

test('gc() raises markSweepCompact and gc.count by what PerformanceObserver reports', async () => {
  const s = new Sampler().start();
  const { result, entries } = await observeWindow(() => {
    const before = s.read();
    global.gc();
    global.gc();
    global.gc();
    const after = s.read();
    return { before, after };
  });
  const { before, after } = result;
  const observed = {};
  for (const e of entries) {
    const t = KIND_TO_TYPE[e.detail ? e.detail.kind : e.kind];
    observed[t] = (observed[t] || 0) + 1;
  }
  const msc = after.gc.byType.markSweepCompact.count - before.gc.byType.markSweepCompact.count;
  assert.ok(msc >= 3, `at least the 3 forced full GCs, got ${msc}`);
  assert.is(msc, observed.markSweepCompact || 0);
  assert.is(after.gc.count - before.gc.count, entries.length);
  for (const t of GC_TYPES) {
    assert.is(after.gc.byType[t].count - before.gc.byType[t].count, observed[t] || 0, t);
  }
  assert.ok(after.gc.forcedCount - before.gc.forcedCount >= 3);
  s.close();
});

test('allocation churn: scavenges with pause > 0, per-type counts sum to gc.count', async () => {
  const s = new Sampler().start();
  const { result, entries } = await observeWindow(() => {
    const before = s.read();
    churn(2_000_000);
    return { before, after: s.read() };
  });
  const { before, after } = result;
  const scav = after.gc.byType.scavenge.count - before.gc.byType.scavenge.count;
  assert.ok(scav >= 5, `expected scavenges, got ${scav}`);
  assert.ok(after.gc.byType.scavenge.pauseNs > before.gc.byType.scavenge.pauseNs);
  assert.ok(after.gc.byType.scavenge.maxPauseNs > 0);
  let sum = 0;
  let pause = 0;
  for (const t of GC_TYPES) {
    sum += after.gc.byType[t].count;
    pause += after.gc.byType[t].pauseNs;
  }
  assert.is(sum, after.gc.count);
  assert.is(pause, after.gc.pauseNs);
  assert.is(after.gc.count - before.gc.count, entries.length, 'same count as PerformanceObserver');
  s.close();
});

test('histograms hold every GC: counts and pause sums equal the counters', () => {
  const s = new Sampler().start();
  churn(1_000_000);
  global.gc();
  const snap = s.read();
  const h = s.histograms;
  assert.is(snap.sampler.ringDropped, 0);
  assert.is(h.gcPause.count, snap.gc.count);
  assert.is(h.gcPause.sum, snap.gc.pauseNs);
  assert.is(h.gcPause.max, snap.gc.maxPauseNs);
  for (const t of GC_TYPES) {
    assert.is(h.gcPauseByType[t].count, snap.gc.byType[t].count, t);
    assert.is(h.gcPauseByType[t].sum, snap.gc.byType[t].pauseNs, t);
  }
  assert.is(snap.sampler.gcEvents, snap.gc.count);
  s.close();
});

test('onGC delivers one event per GC with consistent fields; removal stops delivery', () => {
  const s = new Sampler().start();
  const events = [];
  const off = s.onGC((e) => events.push(e));
  const before = s.read();
  churn(500_000);
  global.gc();
  const after = s.read();
  assert.is(events.length, after.gc.count - before.gc.count);
  let pause = 0;
  for (const e of events) {
    assert.ok(GC_TYPES.includes(e.type));
    assert.ok(e.pauseNs > 0 && e.durationNs >= e.pauseNs);
    assert.ok(e.startNs >= before.startNs);
    assert.ok(e.usedBeforeBytes > 0 && e.usedAfterBytes > 0);
    assert.is(e.reclaimedBytes, Math.max(0, e.usedBeforeBytes - e.usedAfterBytes));
    assert.equal(Object.keys(e.spacesUsedAfterBytes), [...s.heapSpaceNames]);
    pause += e.pauseNs;
  }
  assert.is(pause, after.gc.pauseNs - before.gc.pauseNs);
  const forced = events.filter((e) => e.forced);
  assert.ok(forced.length >= 1 && forced.some((e) => e.type === 'markSweepCompact'));
  assert.ok(events.filter((e) => e.type === 'markSweepCompact' && e.forced)
    .every((e) => e.usedAfterBytes <= e.usedBeforeBytes));
  off();
  const n = events.length;
  global.gc();
  s.read();
  assert.is(events.length, n);
  s.close();
});

test('allocated - reclaimed equals the change in heap used', () => {
  const s = new Sampler().start();
  const first = s.read();
  churn(1_500_000);
  const keep = new Array(200000).fill(0).map((_, i) => ({ i }));
  s.refresh();
  const last = s.read();
  const net = last.gc.allocatedBytes - last.gc.reclaimedBytes - (first.gc.allocatedBytes - first.gc.reclaimedBytes);
  assert.is(net, last.heap.usedBytes - first.heap.usedBytes);
  assert.ok(last.gc.allocatedBytes - first.gc.allocatedBytes > 50e6, 'churn allocated > 50 MB');
  assert.ok(last.gc.reclaimedBytes > 0);
  assert.ok(keep.length === 200000);
  s.close();
});

test('counts match --trace-gc exactly in a child process', () => {
  const child = `
    const { Sampler } = require(${JSON.stringify(path.join(__dirname, '..'))});
    const s = new Sampler().start();
    // --trace-gc writes to stdout: the marks bound the GCs counted (loading the module
    // and creating the sampler can take GCs). A full GC first empties the young
    // generation, so no GC falls between the first read and its mark.
    gc();
    const a = s.read();
    process.stdout.write('MARK START\\n');
    let keep = [];
    for (let i = 0; i < 3_000_000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 20000) keep = []; }
    gc(); gc();
    const snap = s.read();
    process.stdout.write('MARK END\\n');
    s.close();
    process.stderr.write('COUNTS ' + JSON.stringify({
      scavenge: snap.gc.byType.scavenge.count - a.gc.byType.scavenge.count,
      msc: snap.gc.byType.markSweepCompact.count - a.gc.byType.markSweepCompact.count,
      minor: snap.gc.byType.minorMarkSweep.count - a.gc.byType.minorMarkSweep.count,
      incremental: snap.gc.byType.incrementalMarking.count - a.gc.byType.incrementalMarking.count,
      weak: snap.gc.byType.processWeakCallbacks.count - a.gc.byType.processWeakCallbacks.count,
      all: snap.gc.count - a.gc.count,
      pauseNs: snap.gc.pauseNs - a.gc.pauseNs,
    }) + '\\n');
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--trace-gc', '-e', child], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const counts = JSON.parse(/COUNTS (.*)/.exec(r.stderr)[1]);
  const window = r.stdout.slice(r.stdout.indexOf('MARK START'), r.stdout.indexOf('MARK END'));
  const lines = window.split('\n').filter((l) => /\d+ ms: /.test(l));
  const scav = lines.filter((l) => / ms: Scavenge/.test(l)).length;
  // V8's wording varies by version: "Mark-sweep" (Node 18), "Mark-Compact", and
  // "Incremental Mark-Compact" for a cycle finished from incremental marking (Node 24+).
  const msc = lines.filter((l) => / ms: (Incremental )?Mark-(Compact|sweep)\b/.test(l)).length;
  const minor = lines.filter((l) => / ms: Minor Mark-(Sweep|Compact)/.test(l)).length;
  assert.ok(scav > 10, `trace-gc saw ${scav} scavenges`);
  assert.is(counts.scavenge, scav, 'scavenges');
  assert.is(counts.msc, msc, 'mark-compacts');
  assert.is(counts.minor, minor, 'minor mark-sweeps');
  // What docs/api.md says gc.count is: every trace line is one of those three types, and
  // gc.count adds the incremental-marking starts and weak-callback passes, which have none.
  assert.is(lines.length, scav + msc + minor, `unclassified trace lines: ${lines.join('\n')}`);
  assert.is(counts.all, lines.length + counts.incremental + counts.weak, JSON.stringify(counts));
  // --trace-gc prints V8's own time for each GC (ms, two decimals); ours runs from our
  // prologue to our epilogue callback and so also holds the embedder callbacks. On a quiet
  // machine the totals differ by ~3% (bench); this is not a timing test, so the bound is
  // loose enough for a loaded CI machine and still catches a unit or accounting error.
  const traced = lines.reduce((acc, l) => acc + Number(/MB, ([\d.]+) \//.exec(l)?.[1] ?? 0), 0) * 1e6;
  assert.ok(traced > 0);
  assert.ok(Math.abs(counts.pauseNs - traced) / traced < 0.3, `pause ${counts.pauseNs} vs trace-gc ${traced}`);
});

test.run();
