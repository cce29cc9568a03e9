// versions: current — histogram arithmetic
// The exponential histogram: percentile accuracy against exact quantiles (property test),
// C++/TypeScript bucket agreement, merge, delta and serialisation.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { Histogram, bucketIndex, bucketLowerBound } = require('..');
const INDEX_OFFSET_TEST = -1; // counts[i] is bucket i + INDEX_OFFSET (lib/histogram.ts)
const { native } = require('../dist/cjs/binding.js');

// Deterministic PRNG so a failure can be replayed.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function exactPercentile(sorted, p) {
  if (p === 0) return sorted[0];
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const DISTRIBUTIONS = [
  // log-uniform over 1 µs … 100 s (in ns)
  (r) => Math.pow(10, 3 + r() * 8),
  // integers in a narrow band (many ties)
  (r) => 5000 + Math.floor(r() * 50),
  // a heavy tail: mostly fast, sometimes very slow
  (r) => (r() < 0.95 ? 1e4 + r() * 1e5 : 1e9 + r() * 5e10),
  // exponential around 1 ms
  (r) => 1e3 + -Math.log(1 - r()) * 1e6,
];

test('percentiles are within 1% of exact quantiles (1,200 random cases, scale 6)', () => {
  const r = rng(42);
  let worst = 0;
  for (let c = 0; c < 1200; c++) {
    const gen = DISTRIBUTIONS[c % DISTRIBUTIONS.length];
    const n = 1 + Math.floor(r() * 3000);
    const h = new Histogram(6);
    const values = new Array(n);
    for (let i = 0; i < n; i++) {
      values[i] = gen(r);
      h.record(values[i]);
    }
    values.sort((a, b) => a - b);
    for (const p of [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100, r() * 100]) {
      const exact = exactPercentile(values, p);
      const got = h.percentile(p);
      const err = Math.abs(got - exact) / exact;
      if (err > worst) worst = err;
      assert.ok(err <= 0.01, `case ${c} n=${n} p=${p}: got ${got}, exact ${exact}, error ${(err * 100).toFixed(3)}%`);
    }
    assert.is(h.count, n);
    assert.is(h.min, values[0]);
    assert.is(h.max, values[n - 1]);
  }
  // The bound the scale promises: sqrt(2^(1/64)) - 1 = 0.543%.
  assert.ok(worst <= Math.sqrt(Math.pow(2, 1 / 64)) - 1 + 1e-12, `worst error ${worst}`);
});

test('finer scales are more precise; coarser less (scale 8 ≤ 0.14%, scale 4 ≤ 2.2%)', () => {
  const r = rng(7);
  for (const [scale, bound] of [[8, 0.00136], [4, 0.0219]]) {
    for (let c = 0; c < 50; c++) {
      const h = new Histogram(scale);
      const values = [];
      for (let i = 0; i < 500; i++) {
        const v = Math.pow(10, 3 + r() * 8);
        values.push(v);
        h.record(v);
      }
      values.sort((a, b) => a - b);
      for (const p of [5, 50, 90, 99]) {
        const exact = exactPercentile(values, p);
        assert.ok(Math.abs(h.percentile(p) - exact) / exact <= bound, `scale ${scale} p${p}`);
      }
    }
  }
});

test('C++ and TypeScript bucket functions agree on 200,000 values at every scale', () => {
  const r = rng(99);
  let checked = 0;
  for (let i = 0; i < 25000; i++) {
    const v = i % 2 ? Math.pow(2, r() * 46) : Math.floor(Math.pow(2, r() * 46)) + 1;
    for (let scale = 0; scale <= 8; scale++) {
      if ((i + scale) % 9 > 7) continue;
      assert.is(native.bucketIndex(v, scale), bucketIndex(v, scale));
      checked++;
    }
  }
  for (let scale = 0; scale <= 8; scale++) {
    for (let idx = -1; idx < 44 << scale; idx += 1 + (scale << 2)) {
      const lower = bucketLowerBound(idx, scale);
      assert.is(bucketIndex(lower, scale), Math.max(-1, idx - 1));
      assert.is(native.bucketIndex(lower, scale), Math.max(-1, idx - 1));
    }
  }
  assert.ok(checked > 150000);
});

test('the shared vector file is current (the C++ core test reads it)', () => {
  const { spawnSync } = require('node:child_process');
  const r = spawnSync(process.execPath, ['scripts/gen-bucket-vectors.mjs', '--check'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
});

test('merge equals recording everything into one; merging a finer one downscales', () => {
  const r = rng(3);
  const a = new Histogram(6);
  const b = new Histogram(6);
  const all = new Histogram(6);
  const fine = new Histogram(8);
  const coarse = new Histogram(5);
  for (let i = 0; i < 5000; i++) {
    const v = Math.pow(10, 2 + r() * 9);
    (i % 3 ? a : b).record(v);
    all.record(v);
    fine.record(v);
    coarse.record(v);
  }
  a.merge(b);
  assert.equal(Array.from(a.counts), Array.from(all.counts));
  assert.is(a.count, all.count);
  assert.is(a.min, all.min);
  assert.is(a.max, all.max);
  assert.ok(Math.abs(a.sum - all.sum) / all.sum < 1e-12);
  const down = new Histogram(5).merge(fine);
  assert.equal(Array.from(down.counts), Array.from(coarse.counts));
  assert.throws(() => fine.merge(down), RangeError);
  assert.throws(() => a.merge({}), TypeError);
});

test('delta holds what was recorded since an earlier copy', () => {
  const r = rng(11);
  const h = new Histogram();
  for (let i = 0; i < 1000; i++) h.record(1e3 + r() * 1e6);
  const old = h.clone();
  const only = new Histogram();
  for (let i = 0; i < 700; i++) {
    const v = 1e7 + r() * 1e8;
    h.record(v);
    only.record(v);
  }
  const d = h.delta(old);
  assert.equal(Array.from(d.counts), Array.from(only.counts));
  assert.is(d.count, 700);
  assert.ok(Math.abs(d.sum - only.sum) / only.sum < 1e-9);
  assert.ok(d.min <= only.min && d.min >= only.min / 1.011);
  assert.ok(d.max >= only.max && d.max <= only.max * 1.011);
  assert.ok(Math.abs(d.percentile(50) - only.percentile(50)) / only.percentile(50) < 0.011);
  assert.throws(() => old.delta(h), RangeError);
  assert.throws(() => h.delta(new Histogram(5)), TypeError);
});

test('delta(older, into) overwrites into whole: the same as a new delta, whatever into held', () => {
  const r = rng(12);
  const h = new Histogram();
  for (let i = 0; i < 500; i++) h.record(1 + r() * 1e9); // a wide spread first: into holds it
  const into = h.delta(new Histogram());
  const old = h.clone();
  for (let i = 0; i < 300; i++) h.record(5e6 + r() * 1e6);
  const fresh = h.delta(old);
  assert.is(h.delta(old, into), into);
  assert.equal(Array.from(into.counts), Array.from(fresh.counts));
  for (const k of ['count', 'sum', 'zeroCount', 'min', 'max']) assert.is(into[k], fresh[k], k);
  for (const p of [1, 50, 90, 99]) assert.is(into.percentile(p), fresh.percentile(p), `p${p}`);
  // Nothing since: an empty delta, even into a histogram that held values.
  const none = h.delta(h.clone(), into);
  assert.is(none.count, 0);
  assert.ok(none.counts.every((c) => c === 0));
  assert.ok(Number.isNaN(none.min) && Number.isNaN(none.percentile(50)));
  assert.throws(() => h.delta(old, new Histogram(5)), TypeError);
  assert.throws(() => h.delta(old, h), TypeError);
  assert.throws(() => h.delta(old, {}), TypeError);
});

test('delta() of a histogram whose min and max sit on bucket bounds (as fromJSON() accepts them)', () => {
  const scale = 6;
  const index = 1300; // values in (lower, upper]
  const lower = bucketLowerBound(index, scale);
  const upper = bucketLowerBound(index + 1, scale);
  // min and max both on the populated bucket's lower bound: min ≤ every value ≤ max does
  // not hold, but fromJSON() takes it (a bucket's bounds are its values' bounds).
  const h = Histogram.fromJSON({ scale, count: 3, sum: 3 * lower, min: lower, max: lower, zeroCount: 0, offset: index, counts: [3] });
  const d = h.delta(new Histogram(scale));
  assert.is(d.count, 3);
  assert.is(d.counts[index - INDEX_OFFSET_TEST], 3, 'the populated bucket is in the delta');
  assert.ok(upper > lower);
});

test('percentile() from the buckets at and above min: the same as a scan from bucket 0', () => {
  const r = rng(13);
  for (let round = 0; round < 20; round++) {
    const h = new Histogram();
    const lo = 10 ** (round % 8);
    for (let i = 0; i < 200; i++) h.record(lo + r() * lo * 100);
    if (round % 3 === 0) h.record(0);
    if (round % 4 === 0) h.record(0.5); // in (0, 1]: bucket 0
    // The reference: the same ranks over the non-empty buckets, from the first.
    const buckets = [...h.buckets()];
    for (const p of [0.1, 1, 25, 50, 90, 99, 99.9]) {
      const rank = Math.max(1, Math.ceil((p / 100) * h.count));
      let seen = h.zeroCount;
      let want = seen >= rank ? Math.max(h.min, 0) : NaN;
      for (const [lower, upper, c] of buckets) {
        if (!Number.isNaN(want)) break;
        seen += c;
        if (seen >= rank) want = Math.min(h.max, Math.max(h.min, Math.sqrt(lower * upper)));
      }
      assert.is(h.percentile(p), want, `round ${round} p${p}`);
    }
  }
});

test('toJSON/fromJSON round-trip; empty histograms report NaN', () => {
  const h = new Histogram();
  assert.ok(Number.isNaN(h.percentile(50)));
  assert.ok(Number.isNaN(h.min) && Number.isNaN(h.max) && Number.isNaN(h.mean));
  assert.equal(h.toJSON().counts, []);
  for (const v of [0, 1500, 1500, 2e6, 3e9]) h.record(v);
  const j = JSON.parse(JSON.stringify(h));
  assert.is(j.count, 5);
  assert.is(j.zeroCount, 1);
  assert.is(j.min, 0);
  const back = Histogram.fromJSON(j);
  assert.equal(Array.from(back.counts), Array.from(h.counts));
  assert.is(back.percentile(60), h.percentile(60));
  assert.is(h.percentile(20), 0);
  assert.equal([...h.buckets()].map((b) => b[2]), [2, 1, 1]);
  assert.throws(() => h.percentile(101), RangeError);
  assert.throws(() => h.percentile('50'), RangeError);
  assert.throws(() => new Histogram(9), RangeError);
  assert.throws(() => new Histogram('6'), TypeError);
  assert.throws(() => Histogram.fromJSON({ scale: 6, offset: 1e9, counts: [1] }), RangeError);
});

test.run();
