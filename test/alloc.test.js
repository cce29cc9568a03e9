// node-flags: --expose-gc
// read(into) must allocate nothing: 10^6 calls with no GC and no heap growth.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { Sampler } = require('..');

test('read(into) allocates nothing over 10^6 calls', () => {
  const s = new Sampler().start();
  const snap = s.read();
  const loop = (n) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s.read(snap).gc.count;
    return sum;
  };
  loop(1_000_000); // warm up: the loop and read() get optimised (code and feedback are allocated once)
  global.gc();
  global.gc();
  s.read(snap);
  const gcBefore = snap.gc.count;
  const heapBefore = process.memoryUsage().heapUsed;
  const check = loop(1_000_000);
  const heapAfter = process.memoryUsage().heapUsed;
  s.read(snap);
  const gcs = snap.gc.count - gcBefore;
  const grown = heapAfter - heapBefore;
  // The smallest object is 16 bytes: one a call would be 16 MB and force scavenges. No GC
  // at all is the proof; heap growth is bounded loosely for one-time JIT feedback/code.
  assert.is(gcs, 0, `GCs during the loop: ${gcs}`);
  // Under CPU contention late concurrent compilation can land code and feedback on the
  // heap during the loop: we allow < 4 bytes a call, below the 16-byte smallest object.
  assert.ok(grown < 4e6, `heap grew ${grown} bytes over 10^6 reads`);
  assert.is(check, gcBefore * 1_000_000);
  s.close();
});

test('control: read() without into does allocate, and the check sees it', () => {
  const s = new Sampler().start();
  s.read();
  global.gc();
  const before = s.read().gc.count;
  for (let i = 0; i < 200_000; i++) s.read();
  assert.ok(s.read().gc.count > before, 'fresh snapshots allocate and trigger scavenges');
  s.close();
});

test.run();
