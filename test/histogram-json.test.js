// versions: current — histogram serialisation
// Histogram.fromJSON() takes another process's histogram: every corruption of a valid
// toJSON() is refused with a TypeError/RangeError, or accepted as a histogram whose
// invariants all hold. merge() refuses histograms in a corrupt state.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { Histogram } = require('..');
const { throwsLike } = require('./helpers/throws');

// mulberry32: deterministic, so a failure names a reproducible case.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomHistogram(rand) {
  const scale = Math.floor(rand() * 9);
  const h = new Histogram(scale);
  const n = Math.floor(rand() * 40);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.1) h.record(0);
    else if (r < 0.15) h.record(-rand() * 100);
    else if (r < 0.25) h.record(rand());
    else if (r < 0.3) h.record(2 ** Math.floor(rand() * 50)); // bucket boundaries, and past the top
    else h.record(Math.exp(rand() * 30));
  }
  // Histograms made the other ways toJSON() sees them: merged from a finer one, and deltas.
  const kind = rand();
  if (kind < 0.2 && scale > 0) {
    const coarse = new Histogram(scale - 1);
    coarse.record(1e6);
    return coarse.merge(h);
  }
  if (kind < 0.4 && h.count > 0) {
    const older = h.clone();
    for (let i = 0; i < 5; i++) h.record(Math.exp(rand() * 20));
    if (rand() < 0.3) h.record(0);
    return h.delta(older);
  }
  return h;
}

function bucketTotal(h) {
  let t = 0;
  for (const c of h.counts) t += c;
  return t;
}

// What an accepted histogram must satisfy, whatever it came from.
function assertSound(h, label) {
  for (const k of ['count', 'sum', 'zeroCount']) assert.type(h[k], 'number', `${label}: ${k}`);
  assert.ok(Number.isSafeInteger(h.count) && h.count >= 0, `${label}: count ${h.count}`);
  assert.ok(Number.isFinite(h.sum), `${label}: sum ${h.sum}`);
  for (const c of h.counts) assert.ok(Number.isInteger(c) && c >= 0, `${label}: bucket ${c}`);
  assert.is(h.count, h.zeroCount + bucketTotal(h), `${label}: count = zeroCount + buckets`);
  if (h.count > 0) assert.ok(h.min <= h.max, `${label}: min ${h.min} > max ${h.max}`);
  // It serialises back to something fromJSON accepts (it is self-consistent) …
  const again = Histogram.fromJSON(JSON.parse(JSON.stringify(h)));
  assert.equal(again.toJSON(), h.toJSON(), `${label}: round trip`);
  // … merges, and keeps recording numbers.
  const into = new Histogram(Math.max(0, h.scale - 1)).merge(h);
  assert.is(into.count, h.count);
  const count = h.count;
  h.record(2);
  assert.is(h.count, count + 1, `${label}: record() after fromJSON`);
  assert.type(h.sum, 'number');
  assert.ok(Number.isFinite(h.sum));
}

test('valid histograms round-trip exactly', () => {
  const rand = prng(1);
  for (let i = 0; i < 300; i++) {
    const h = randomHistogram(rand);
    const json = JSON.parse(JSON.stringify(h));
    const back = Histogram.fromJSON(json);
    assert.equal(back.toJSON(), h.toJSON(), `case ${i}`);
    assert.equal(Array.from(back.counts), Array.from(h.counts));
    for (const p of [1, 50, 99]) assert.ok(Object.is(back.percentile(p), h.percentile(p)));
    assertSound(back, `case ${i}`);
  }
});

const HOSTILE = [
  '5', '', 'abc', NaN, Infinity, -Infinity, -1, -0, 0.5, 1.5, 2 ** 53, 1e9, 1e300, -1e300, null, undefined,
  true, {}, [], [1], 5n, Symbol('x'), () => 1, Object.create(null), new Proxy({}, {}), { valueOf: () => 5 },
  { toString() { throw new Error('no'); } },
];
const FIELDS = ['scale', 'count', 'sum', 'min', 'max', 'zeroCount', 'offset', 'counts'];

function corrupt(json, rand) {
  const j = { ...json, counts: [...json.counts] };
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const r = rand();
  if (r < 0.35) {
    j[pick(FIELDS)] = pick(HOSTILE);
  } else if (r < 0.55 && j.counts.length > 0) {
    j.counts[Math.floor(rand() * j.counts.length)] = pick(HOSTILE);
  } else if (r < 0.8) {
    // Plausible numbers, wrong together.
    const f = pick(['count', 'sum', 'min', 'max', 'zeroCount', 'offset', 'scale']);
    const v = typeof j[f] === 'number' ? j[f] : 0;
    j[f] = pick([v + 1, v - 1, v * 2, -v, v / 3, v + 1e-9, 0, j.max ?? 1, j.min ?? 1]);
  } else if (r < 0.87) {
    [j.min, j.max] = [j.max, j.min];
  } else if (r < 0.92) {
    delete j[pick(FIELDS)];
  } else if (r < 0.96) {
    if (rand() < 0.5) j.counts.push(Math.floor(rand() * 3));
    else j.counts.unshift(Math.floor(rand() * 3));
  } else {
    j.counts.length += 1 + Math.floor(rand() * 3); // holes
  }
  return j;
}

test('every corruption is refused with a TypeError/RangeError naming fromJSON, or accepted sound', () => {
  const rand = prng(7);
  let refused = 0;
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    const h = randomHistogram(rand);
    const bad = corrupt(JSON.parse(JSON.stringify(h)), rand);
    let back;
    try {
      back = Histogram.fromJSON(bad);
    } catch (e) {
      assert.ok(e instanceof TypeError || e instanceof RangeError, `case ${i}: ${e}`);
      assert.match(e.message, /^Histogram\.fromJSON\(\)/, `case ${i}: ${e.message}`);
      refused++;
      continue;
    }
    accepted++;
    assertSound(back, `case ${i}`);
  }
  // Both outcomes happen: the generator reaches consistent and inconsistent changes.
  assert.ok(refused > 1000, `refused ${refused}`);
  assert.ok(accepted > 20, `accepted ${accepted}`);
});

test('the reported corruptions are refused, naming the field and the value', () => {
  const h = new Histogram();
  for (const v of [0, 1500, 2e6]) h.record(v);
  const j = h.toJSON();
  throwsLike(() => Histogram.fromJSON({ ...j, count: '5' }), TypeError, /count must be a number.*got "5"/);
  throwsLike(() => Histogram.fromJSON({ ...j, sum: NaN }), RangeError, /sum must be a finite number, got NaN/);
  throwsLike(() => Histogram.fromJSON({ ...j, zeroCount: -1 }), RangeError, /zeroCount must be an integer from 0.*got -1/);
  throwsLike(() => Histogram.fromJSON({ ...j, min: j.max, max: j.min }), RangeError, /min 2000000 is greater than max 0/);
  throwsLike(() => Histogram.fromJSON({ ...j, counts: [NaN, ...j.counts.slice(1)] }), RangeError, /counts\[0\] must be an integer.*got NaN/);
  throwsLike(() => Histogram.fromJSON({ ...j, counts: [-1, ...j.counts.slice(1)] }), RangeError, /counts\[0\].*got -1/);
  throwsLike(() => Histogram.fromJSON({ ...j, count: 4 }), RangeError, /count 4 is not zeroCount \(1\) plus the bucket counts \(2\)/);
  throwsLike(() => Histogram.fromJSON({ ...j, min: 1e9 }), RangeError, /min 1000000000 is greater than max/);
  throwsLike(() => Histogram.fromJSON({ ...j, max: 1e9 }), RangeError, /max 1000000000 does not fall in the highest populated bucket/);
  throwsLike(() => Histogram.fromJSON({ ...j, min: 5 }), RangeError, /min 5 does not fall .*min ≤ 0/);
  throwsLike(() => Histogram.fromJSON({ ...j, scale: 9 }), RangeError, /scale must be an integer from 0 to 8, got 9/);
  throwsLike(() => Histogram.fromJSON({ ...j, offset: 1.5 }), RangeError, /offset must be an integer/);
  throwsLike(() => Histogram.fromJSON({ scale: 6, count: 0, sum: 0, min: null, max: null, zeroCount: 0, offset: 1e9, counts: [1] }), RangeError, /offset/);
  throwsLike(() => Histogram.fromJSON({ ...j, count: 0, zeroCount: 0, counts: [], sum: 5 }), RangeError, /empty histogram/);
  throwsLike(() => Histogram.fromJSON('{}'), TypeError, /takes the object toJSON\(\) returns, got "\{\}"/);
  throwsLike(() => Histogram.fromJSON({ ...j, counts: 'abc' }), TypeError, /counts must be an array/);
  // The corrupt string count no longer turns record() into string concatenation.
  const ok = Histogram.fromJSON(j);
  ok.record(2);
  assert.is(ok.count, 4);
});

test('hostile sizes are refused before anything is walked or allocated', () => {
  const huge = [];
  huge.length = 1e9;
  const started = process.hrtime.bigint();
  throwsLike(() => Histogram.fromJSON({ scale: 8, count: 0, sum: 0, min: null, max: null, zeroCount: 0, offset: 0, counts: huge }), RangeError, /counts has 1000000000 entries, scale 8 has 11265 buckets/);
  throwsLike(() => Histogram.fromJSON({ scale: 0, count: 0, sum: 0, min: null, max: null, zeroCount: 0, offset: 1e300, counts: [] }), RangeError, /offset must be an integer from -1 to 43, got 1e\+300/);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  // Walking a billion entries would take seconds; the checks take microseconds.
  assert.ok(ms < 500, `${ms} ms`);
});

test('merge() refuses another scale the wrong way round and corrupt state, and changes nothing', () => {
  const target = new Histogram(4);
  target.record(100);
  const before = JSON.stringify(target);
  throwsLike(() => target.merge(new Histogram(3)), RangeError, /cannot merge a histogram of scale 3 into a finer one/);
  const strCount = new Histogram(4);
  strCount.record(5);
  strCount.count = '1';
  throwsLike(() => target.merge(strCount), TypeError, /merge\(\): the argument: count must be a number.*got "1"/);
  const nanSum = new Histogram(4);
  nanSum.record(5);
  nanSum.sum = NaN;
  throwsLike(() => target.merge(nanSum), RangeError, /the argument: sum must be a finite number, got NaN/);
  const negBucket = new Histogram(4);
  negBucket.record(5);
  negBucket.record(500);
  negBucket.counts[10] = -1;
  throwsLike(() => target.merge(negBucket), RangeError, /the argument: bucket 9 holds -1/);
  const mismatch = new Histogram(4);
  mismatch.record(5);
  mismatch.count = 3;
  throwsLike(() => target.merge(mismatch), RangeError, /count 3 is not zeroCount \(0\) plus the bucket counts \(1\)/);
  const forged = Object.create(Histogram.prototype);
  Object.assign(forged, { scale: 100, counts: new Float64Array(4), count: 1, sum: 1, zeroCount: 0 });
  throwsLike(() => target.merge(forged), RangeError, /the argument: scale must be an integer from 0 to 8, got 100/);
  const shortCounts = Object.create(Histogram.prototype);
  Object.assign(shortCounts, { scale: 4, counts: new Float64Array(4), count: 0, sum: 0, zeroCount: 0 });
  throwsLike(() => target.merge(shortCounts), TypeError, /counts must be the Float64Array of 705 buckets of scale 4/);
  assert.is(JSON.stringify(target), before);
  // A finer, sound histogram still merges.
  const fine = new Histogram(6);
  fine.record(1e6);
  assert.is(target.merge(fine).count, 2);
});

test.run();
