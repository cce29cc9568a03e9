// node-flags: --expose-gc
// versions: current — the JSON exporter's formatting
// toJSON(): the documented shape, values against the sampler, histograms that round-trip.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { throwsAll } = require('./helpers/throws');
const { Sampler, Histogram, toJSON, JSON_SCHEMA } = require('..');

test('shape: schema, timestamp, every catalog name once with kind, unit and points', () => {
  const s = new Sampler().start();
  const t0 = Date.now();
  const doc = toJSON(s, { detail: 'full' });
  assert.is(doc.schema, JSON_SCHEMA);
  assert.is(JSON_SCHEMA, 'runtime-sampler/metrics/v1');
  assert.ok(Math.abs(Date.parse(doc.timestamp) - t0) < 1000);
  assert.is(doc.running, true);
  assert.ok(doc.timeNs >= doc.startNs);
  const names = doc.metrics.map((m) => m.name);
  assert.is(new Set(names).size, names.length, 'one entry per name');
  assert.equal([...new Set(s.catalog().map((d) => d.name))].sort(), [...names].sort());
  for (const m of doc.metrics) {
    assert.ok(['counter', 'gauge', 'histogram'].includes(m.kind), m.name);
    assert.type(m.unit, 'string');
    // Fragmentation is NaN (no point) until V8 reports it after a GC; container values
    // where the kernel does not say (test/container.test.js covers them).
    assert.ok(m.points.length >= 1 || /fragmentation|^nodejs\.container\./.test(m.name), m.name);
    assert.is(m.description, undefined);
  }
  // Plain data: survives JSON.stringify/parse unchanged.
  assert.equal(JSON.parse(JSON.stringify(doc)), doc);
  assert.ok(toJSON(s, { descriptions: true }).metrics.every((m) => typeof m.description === 'string' && m.description.length > 0));
  s.close();
});

test('values agree with the sampler; histograms have percentiles and round-trip with full', () => {
  const s = new Sampler().start();
  for (let i = 0; i < 3; i++) globalThis.gc();
  const doc = toJSON(s, { histograms: 'full', percentiles: [50, 99], detail: 'full' });
  const snap = s.read();
  const get = (name) => doc.metrics.find((m) => m.name === name);
  const counts = get('v8js.gc.count');
  assert.is(counts.unit, '{collection}');
  assert.is(counts.cumulative, true);
  const msc = counts.points.find((p) => p.attributes['v8js.gc.type'] === 'mark_sweep_compact');
  assert.is(msc.value, snap.gc.byType.markSweepCompact.count);
  assert.ok(msc.value >= 3);
  const used = get('v8js.heap.used');
  assert.is(used.unit, 'By');
  const gcDur = get('v8js.gc.duration');
  assert.is(gcDur.unit, 'ns');
  const p = gcDur.points.find((x) => x.attributes['v8js.gc.type'] === 'mark_sweep_compact');
  assert.is(p.count, snap.gc.byType.markSweepCompact.count);
  assert.equal(Object.keys(p.percentiles), ['p50', 'p99']);
  assert.ok(p.percentiles.p50 >= p.min && p.percentiles.p50 <= p.max);
  const back = Histogram.fromJSON(p.buckets);
  assert.is(back.count, p.count);
  assert.is(back.percentile(50), p.percentiles.p50);
  // Empty histograms: nulls, not NaN (JSON has no NaN).
  const weak = gcDur.points.find((x) => x.attributes['v8js.gc.type'] === 'process_weak_callbacks');
  if (weak.count === 0) {
    assert.is(weak.min, null);
    assert.is(weak.percentiles.p50, null);
  }
  assert.not.ok(JSON.stringify(doc).includes('NaN'));
  s.close();
});

test('bad input: clear TypeError / RangeError naming the option', () => {
  const s = new Sampler();
  const cases = [
    [() => toJSON({}), TypeError, /toJSON\(\): sampler must be a runtime-sampler Sampler, SamplerView or SamplerAggregate/],
    [() => toJSON(s, 5), TypeError, /options must be an object, got 5/],
    [() => toJSON(s, { histogram: 'full' }), TypeError, /unknown option "histogram"; accepted options: histograms, percentiles, descriptions/],
    [() => toJSON(s, { histograms: 'all' }), RangeError, /histograms must be 'summary' or 'full', got "all"/],
    [() => toJSON(s, { percentiles: 99 }), TypeError, /percentiles must be an array/],
    [() => toJSON(s, { percentiles: [50, 101] }), RangeError, /percentiles\[1\] must be from 0 to 100, got 101/],
    [() => toJSON(s, { percentiles: [NaN] }), RangeError, /percentiles\[0\] must be from 0 to 100, got NaN/],
    [() => toJSON(s, { descriptions: 'yes' }), TypeError, /descriptions must be true or false, got "yes"/],
  ];
  throwsAll(cases);
  s.close();
});

test.run();
