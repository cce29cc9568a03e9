// node-flags: --expose-gc
// versions: current
// A read copies a native histogram's populated bucket range only (issue 24: the exporters
// read three or more histograms per scrape, each ~2,800 buckets): every count must still
// arrive, buckets outside a narrower range must read zero, and a copy the caller changed
// must be replaced whole.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { Sampler } = require('..');

const total = (h) => h.counts.reduce((a, b) => a + b, 0) + h.zeroCount;

test('every recorded value is in the copy, read after read, as the range widens', async () => {
  const s = new Sampler({ threadpoolProbeMs: 10 }).start();
  try {
    for (let r = 0; r < 15; r++) {
      // Pauses of growing length widen the GC histogram's range; the loop delay's moves with load.
      const keep = [];
      for (let i = 0; i < 20000 * (r + 1); i++) keep.push({ i });
      globalThis.gc({ type: r % 3 === 0 ? 'major' : 'minor' });
      const spin = Date.now() + r;
      while (Date.now() < spin);
      await new Promise((res) => setTimeout(res, 12));
      const { gcPause, loopDelay, threadpoolDelay } = s.histograms;
      for (const [name, h] of Object.entries({ gcPause, loopDelay, threadpoolDelay })) {
        assert.is(total(h), h.count, `round ${r}, ${name}: the counts add up to the count`);
        if (h.count > 0) {
          assert.ok(h.percentile(0) <= h.min * 1.02 + 1 && h.percentile(100) >= h.max / 1.02, `${name}: p0 ${h.percentile(0)}, min ${h.min}, p100 ${h.percentile(100)}, max ${h.max}`);
        }
      }
    }
  } finally {
    s.close();
  }
});

test('a copy changed by its holder is replaced whole at the next read', async () => {
  const s = new Sampler().start();
  try {
    await new Promise((res) => setTimeout(res, 50));
    const h = s.histograms.loopDelay;
    const before = h.count;
    assert.ok(before > 0);
    h.record(3e9); // far outside the loop delay's range
    h.record(5); // and below it
    const again = s.histograms.loopDelay;
    assert.is(again, h, 'the same copy object is reused');
    assert.is(total(again), again.count);
    assert.ok(again.max < 3e9, `max ${again.max}`);
    assert.ok(again.percentile(100) < 3e9, 'the recorded outlier is gone');
  } finally {
    s.close();
  }
});

test.run();
