// node-flags: --expose-gc --max-semi-space-size=1
// The event ring at its limit: a full ring drops and counts events, never blocks, and the
// native counters and histograms stay exact; only the listeners miss the dropped events.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { Sampler, GC_TYPES } = require('..');

function churn(n) {
  let keep = [];
  for (let i = 0; i < n; i++) {
    keep.push({ i, s: 'item' + i });
    if (keep.length > 2000) keep = [];
  }
  return keep.length;
}

test('overflow: dropped + drained = gc.count, and the ring keeps working afterwards', () => {
  const s = new Sampler({ ringCapacity: 64 }).start();
  const snap = s.read();
  churn(4_000_000); // hundreds of scavenges with a 1 MB semi-space, no drain in between
  s.read(snap);
  assert.ok(snap.gc.count > 64, `GCs: ${snap.gc.count}`);
  assert.ok(snap.sampler.ringDropped > 0, 'some events dropped');
  assert.is(snap.sampler.gcEvents + snap.sampler.ringDropped, snap.gc.count);
  // The pause histograms live in shared memory and are written at each GC: they miss
  // nothing when the ring overflows (only onGC listeners do).
  const h = s.histograms.gcPause.count;
  assert.ok(h >= snap.gc.count && h <= snap.gc.count + 4, `histogram ${h} vs gc.count ${snap.gc.count}`);
  // The full ring's 64 events were kept. A GC that lands inside read() after its drain
  // freed the ring (the young generation is full after the churn: code that read() runs
  // for the first time can allocate) is kept too and drained by read()'s second pass.
  assert.ok(snap.sampler.gcEvents >= 64 && snap.sampler.gcEvents <= 64 + 4, `kept ${snap.sampler.gcEvents} of a 64-event ring`);
  let sum = 0;
  for (const t of GC_TYPES) sum += snap.gc.byType[t].count;
  assert.is(sum, snap.gc.count);
  // After a drain the ring accepts events again: no more drops while reading often.
  const dropped = snap.sampler.ringDropped;
  for (let i = 0; i < 50; i++) {
    churn(20_000);
    s.read(snap);
  }
  assert.is(snap.sampler.ringDropped, dropped);
  assert.is(snap.sampler.gcEvents + snap.sampler.ringDropped, snap.gc.count);
  s.close();
});

test('with frequent drains a small ring loses nothing (counter wraparound is tested in the C++ core)', () => {
  const s = new Sampler({ ringCapacity: 64 }).start();
  const snap = s.read();
  for (let i = 0; i < 400; i++) {
    churn(10_000);
    s.read(snap);
  }
  assert.ok(snap.gc.count > 100);
  assert.is(snap.sampler.ringDropped, 0);
  assert.is(snap.sampler.gcEvents, snap.gc.count);
  s.close();
});

test('a GC between the drain and the copy inside read() is drained too: the snapshot stays consistent', () => {
  // V8 may collect at any stack check, so a GC can land after read()'s drain and before
  // its copy. Force exactly that: a listener, called from the drain, runs a GC.
  const s = new Sampler().start();
  let forced = 0;
  const off = s.onGC(() => {
    if (forced < 3) {
      forced++;
      global.gc();
    }
  });
  global.gc();
  const snap = s.read();
  assert.ok(forced >= 1, 'the listener ran');
  assert.is(snap.sampler.gcEvents + snap.sampler.ringDropped, snap.gc.count);
  off();
  s.close();
});

test.run();
