// Heap and process values against Node's own APIs, taken right after a refresh.
const { test } = require('uvu');
const assert = require('uvu/assert');
const v8 = require('node:v8');
const fs = require('node:fs');
const { Sampler } = require('..');

const close = (a, b, rel, abs = 0) => Math.abs(a - b) <= Math.max(abs, Math.abs(b) * rel);

test('heap fields agree with v8.getHeapStatistics() right after a refresh', () => {
  const s = new Sampler().start();
  const snap = s.read();
  s.refresh();
  s.read(snap);
  const h = v8.getHeapStatistics();
  const MB = 1 << 20;
  assert.is(snap.heap.limitBytes, h.heap_size_limit);
  assert.is(snap.heap.nativeContexts, h.number_of_native_contexts);
  assert.is(snap.heap.detachedContexts, h.number_of_detached_contexts);
  assert.ok(close(snap.heap.usedBytes, h.used_heap_size, 0.02, MB), `used ${snap.heap.usedBytes} vs ${h.used_heap_size}`);
  assert.ok(close(snap.heap.totalBytes, h.total_heap_size, 0.02, MB));
  assert.ok(close(snap.heap.physicalBytes, h.total_physical_size, 0.02, MB));
  assert.ok(close(snap.heap.availableBytes, h.total_available_size, 0.02, MB));
  assert.ok(close(snap.heap.externalBytes, h.external_memory, 0.05, MB));
  assert.ok(close(snap.heap.mallocedBytes, h.malloced_memory, 0.5, MB));
  // V8's own figure: on Node 26 (V8 14) it can be below malloced_memory, so compare, not order.
  assert.ok(close(snap.heap.peakMallocedBytes, h.peak_malloced_memory, 0.5, MB));
  assert.ok(close(snap.heap.executableBytes, h.total_heap_size_executable, 0.05, MB));
  assert.ok(close(snap.heap.globalHandlesBytes, h.total_global_handles_size, 0.05, 64 * 1024));
  assert.ok(snap.heap.updatedNs >= snap.startNs);
  s.close();
});

test('heap spaces: the same names, sizes and use as v8.getHeapSpaceStatistics()', () => {
  const s = new Sampler().start();
  s.refresh();
  const snap = s.read();
  const spaces = v8.getHeapSpaceStatistics();
  assert.equal(Object.keys(snap.heap.spaces), spaces.map((x) => x.space_name));
  assert.equal([...s.heapSpaceNames], spaces.map((x) => x.space_name));
  const MB = 1 << 20;
  let used = 0;
  for (const sp of spaces) {
    const ours = snap.heap.spaces[sp.space_name];
    assert.ok(close(ours.sizeBytes, sp.space_size, 0.05, MB), sp.space_name);
    assert.ok(close(ours.usedBytes, sp.space_used_size, 0.05, MB), sp.space_name);
    assert.ok(close(ours.availableBytes, sp.space_available_size, 0.05, MB), sp.space_name);
    assert.ok(close(ours.physicalBytes, sp.physical_space_size, 0.05, MB), sp.space_name);
    used += ours.usedBytes;
  }
  assert.ok(snap.heap.spaces.old_space.usedBytes > 0);
  assert.ok(close(used, snap.heap.usedBytes, 0.01, 64 * 1024), 'spaces add up to the total');
  s.close();
});

test('process vitals agree with process.memoryUsage(), cpuUsage() and /proc/self/fd', () => {
  const s = new Sampler().start();
  s.refresh();
  const snap = s.read();
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  assert.ok(close(snap.process.rssBytes, mem.rss, 0.1), `rss ${snap.process.rssBytes} vs ${mem.rss}`);
  assert.ok(snap.process.cpuUserUs <= cpu.user && cpu.user - snap.process.cpuUserUs < 100e3);
  assert.ok(snap.process.cpuSystemUs <= cpu.system && cpu.system - snap.process.cpuSystemUs < 100e3);
  if (process.platform === 'linux') {
    const fds = fs.readdirSync('/proc/self/fd').length - 1; // minus readdir's own
    assert.ok(Math.abs(snap.process.openFds - fds) <= 2, `fds ${snap.process.openFds} vs ${fds}`);
  }
  assert.ok(snap.process.activeHandles >= 0);
  assert.ok(snap.process.activeRequests >= 0);
  s.close();
});

test('the refresh timer runs at the configured interval and counts itself', async () => {
  const s = new Sampler({ refreshIntervalMs: 20 }).start();
  const a = s.read();
  await new Promise((r) => setTimeout(r, 210));
  const b = s.read();
  const n = b.sampler.refreshes - a.sampler.refreshes;
  assert.ok(n >= 5 && n <= 12, `refreshes in 210 ms at 20 ms: ${n}`);
  assert.ok(b.sampler.refreshCostNs > 0);
  assert.ok(b.sampler.lastRefreshNs > a.sampler.lastRefreshNs);
  s.close();
});

test.run();
