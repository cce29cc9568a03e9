// node-flags: --expose-gc
// versions: current
// The Prometheus protobuf exposition (lib/exporters/protobuf.ts, toPrometheusProtobuf()):
// decoded with protobufjs and client_model's metrics.proto (v0.3.0, what Prometheus 2.42
// reads; test/fixtures/metrics.proto), compared with the text exposition; the native
// histogram mapping against values recorded into known buckets; Accept negotiation.
const { test } = require('uvu');
const assert = require('uvu/assert');
const protobuf = require('protobufjs');
const parse = require('parse-prometheus-text-format');
const { Sampler, Histogram, toPrometheus, toPrometheusProtobuf, negotiateFormat, PROTOBUF_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } = require('..');
const { ProtoWriter, nativeHistogram } = require('../dist/cjs/exporters/protobuf.js');
const { DEFAULT_DURATION_BOUNDS_NS } = require('../dist/cjs/exporters/common.js');

const { decodeProtobuf: decode } = require('./helpers/protobuf');
const TYPES = { COUNTER: 'counter', GAUGE: 'gauge', HISTOGRAM: 'histogram' };
/** A text-format sample value as a number (the parser leaves '+Inf' a string). */
const num = (x) => (x === '+Inf' ? Infinity : x === '-Inf' ? -Infinity : Number(x));

/** A native histogram's buckets as [lower, upper, count] (Prometheus: (lower, upper]). */
function nativeBuckets(n) {
  const out = [];
  let j = 0;
  let k = 0;
  let count = 0;
  n.spans.forEach((span, s) => {
    j = s === 0 ? span.offset : j + span.offset;
    for (let i = 0; i < span.length; i++, j++, k++) {
      count += n.deltas[k];
      out.push([2 ** ((j - 1) / 2 ** n.schema), 2 ** (j / 2 ** n.schema), count]);
    }
    j--;
    j++;
  });
  return out;
}

test('ProtoWriter: every wire type it writes reads back with protobufjs', () => {
  const T = new protobuf.Type('T')
    .add(new protobuf.Field('u', 1, 'uint64', 'repeated', undefined, { packed: false }))
    .add(new protobuf.Field('s', 2, 'sint64', 'repeated', undefined, { packed: false }))
    .add(new protobuf.Field('d', 3, 'double', 'repeated', undefined, { packed: false }))
    .add(new protobuf.Field('str', 4, 'string'))
    .add(new protobuf.Field('packed', 5, 'sint64', 'repeated', undefined, { packed: true }))
    .add(new protobuf.Field('i32', 6, 'sint32'))
    .add(new protobuf.Field('nested', 7, 'T', 'repeated'));
  new protobuf.Root().add(T);
  const u = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
  const s = [0, -1, 1, -64, 64, -(2 ** 40) - 3, 2 ** 45 + 1];
  const d = [0, -0.5, 1e-9, Math.PI, 1e300, Infinity, -Infinity];
  const packed = [5, -5, 0, -(2 ** 33), 2 ** 33];
  const w = new ProtoWriter();
  for (const v of u) w.uintField(1, v);
  for (const v of s) w.sintField(2, v);
  for (const v of d) w.doubleField(3, v);
  w.stringField(4, 'gc: pause · µs «x»');
  w.packedSint(5, packed);
  w.sintField(6, -608);
  const o = T.toObject(T.decode(w.finish()), { longs: Number });
  assert.equal(o.u, u);
  assert.equal(o.s, s);
  assert.equal(o.d, d);
  assert.is(o.str, 'gc: pause · µs «x»');
  assert.equal(o.packed, packed);
  assert.is(o.i32, -608);
  // Nested messages written in place, their lengths from 1 to 3 varint bytes.
  const nw = new ProtoWriter().uintField(1, 1);
  for (const len of [0, 5, 127, 128, 200, 16383, 16384, 70000]) {
    const at = nw.begin(7);
    nw.stringField(4, 'y'.repeat(len)).sintField(6, -len).end(at);
  }
  nw.uintField(1, 2);
  const no = T.toObject(T.decode(nw.finish()), { longs: Number });
  assert.equal(no.u, [1, 2]);
  assert.equal(no.nested.map((m) => [m.str.length, m.i32]), [0, 5, 127, 128, 200, 16383, 16384, 70000].map((n) => [n, -n]));
  // Grows past its first buffer.
  const big = new ProtoWriter();
  const long = 'x'.repeat(100000);
  big.stringField(4, long);
  assert.is(T.decode(big.finish()).str, long);
});

test('ProtoWriter: numbers it cannot write exactly are a RangeError, not wrong bytes', () => {
  for (const v of [-1, 0.5, NaN, Infinity, 2 ** 53]) assert.throws(() => new ProtoWriter().varint(v), (e) => e instanceof RangeError && e.message.includes(String(v)));
  for (const v of [0.5, NaN, 2 ** 53]) assert.throws(() => new ProtoWriter().sint(v), RangeError);
});

test('nativeHistogram: with a power-of-two unit factor every value lands in its own native bucket (exact)', () => {
  const h = new Histogram(6);
  const values = [];
  for (let i = 0; i < 2000; i++) values.push(2 ** (3 + (i % 97) / 13.7) * (1 + (i % 7) / 1000));
  for (const v of values) h.record(v);
  const n = nativeHistogram(h, 1 / 1024);
  assert.is(n.schema, 6);
  const expected = new Map();
  for (const v of values) {
    const j = Math.ceil(Math.log2(v / 1024) * 64);
    expected.set(j, (expected.get(j) ?? 0) + 1);
  }
  const got = new Map(nativeBuckets(n).map(([, upper, c]) => [Math.round(Math.log2(upper) * 64), c]));
  assert.equal([...got].sort((a, b) => a[0] - b[0]), [...expected].sort((a, b) => a[0] - b[0]));
  assert.is(n.zeroCount, 0);
});

test('nativeHistogram: ns → s puts each value within one scale-6 bucket of its own; zeros in the zero bucket', () => {
  const h = new Histogram(6);
  const values = [0, 0, 0.5];
  for (let i = 0; i < 500; i++) values.push(Math.round(20000 * 1.013 ** i));
  for (const v of values) h.record(v);
  const n = nativeHistogram(h, 1e-9);
  assert.is(n.zeroThreshold, 1e-9);
  assert.is(n.zeroCount, 3);
  const buckets = nativeBuckets(n);
  assert.ok(buckets.length <= 160, `${buckets.length} buckets`);
  assert.is(buckets.reduce((a, b) => a + b[2], 0) + n.zeroCount, h.count);
  // Recount the values into the native buckets, allowing one scale-6 bucket of slack.
  const slack = 2 ** (1 / 64);
  const sorted = values.filter((v) => v > 1).map((v) => v * 1e-9).sort((a, b) => a - b);
  let k = 0;
  for (const [lower, upper, c] of buckets) {
    for (let i = 0; i < c; i++, k++) {
      const v = sorted[k];
      assert.ok(v > lower / slack && v <= upper * slack, `${v} s in (${lower}, ${upper}]`);
    }
  }
  assert.is(k, sorted.length);
});

test('nativeHistogram: at most 160 populated buckets (or the cap given), by lowering the schema', () => {
  const h = new Histogram(6);
  for (let i = 0; i < 40 * 64; i++) h.record(2 ** (1 + i / 64 + 1 / 128), 1 + (i % 3));
  for (const [cap, schemaAtMost] of [[160, 2], [10, -1], [4, -4]]) {
    const n = nativeHistogram(h, 1e-9, cap);
    const buckets = nativeBuckets(n);
    assert.ok(buckets.length <= cap && buckets.length > cap / 4, `cap ${cap}: ${buckets.length}`);
    assert.ok(n.schema <= schemaAtMost && n.schema >= -4, `cap ${cap}: schema ${n.schema}`);
    assert.is(buckets.reduce((a, b) => a + b[2], 0) + n.zeroCount, h.count);
    // One schema finer would not have fit.
    if (n.schema < 6) assert.ok(nativeBuckets(nativeHistogram(h, 1e-9, 100000)).length > cap);
  }
  // Empty: no buckets, still a native histogram (a zero threshold).
  const e = nativeHistogram(new Histogram(6), 1e-9);
  assert.equal(e.spans, []);
  assert.is(e.zeroCount, 0);
});

test('toPrometheusProtobuf(): every family of the text exposition, same values, histograms native and classic', () => {
  const s = new Sampler().start();
  for (let i = 0; i < 3; i++) globalThis.gc();
  const keep = [];
  for (let i = 0; i < 200000; i++) keep.push({ i });
  s.stop();
  for (const detail of ['standard', 'full']) sameAsText(s, { labels: { app: 'x' }, prefix: 'my_', detail });
  s.close();
});

function sameAsText(s, opts) {
  const fams = decode(toPrometheusProtobuf(s, opts));
  const raw = toPrometheus(s, opts);
  const text = parse(raw);
  // The parser drops labelled _sum and _count lines: read those from the text, in order.
  const linesOf = (name) => raw.split('\n').filter((l) => l.startsWith(`${name}{`)).map((l) => num(l.slice(l.lastIndexOf(' ') + 1)));
  const byName = new Map(fams.map((f) => [f.name, f]));
  assert.is(byName.size, fams.length, 'a family twice');
  for (const t of text) {
    if (t.metrics.length === 0) continue;
    const f = byName.get(t.name);
    assert.ok(f, `${t.name} missing`);
    assert.is(TYPES[f.type], t.type.toLowerCase(), t.name);
    assert.is(f.help, t.help, t.name);
    const histogram = f.type === 'HISTOGRAM';
    // The parser merges a histogram's label sets: those are read from the text lines.
    assert.is(f.metric.length, histogram ? linesOf(`${t.name}_count`).length : t.metrics.length, t.name);
    f.metric.forEach((m, i) => {
      const labels = Object.fromEntries(m.label.map((l) => [l.name, l.value]));
      if (!histogram) assert.equal(labels, t.metrics[i].labels, t.name);
      assert.is(labels.app, 'x');
      if (f.type === 'HISTOGRAM') {
        const h = m.histogram;
        const bounds = linesOf(`${t.name}_bucket`).length / linesOf(`${t.name}_count`).length - 1;
        const boundsNs = opts.detail === 'full' ? DEFAULT_DURATION_BOUNDS_NS : h.bucket.map((b) => Math.round(b.upperBound * 1e9));
        assert.is(boundsNs.length, bounds, t.name);
        const perMetric = bounds + 1;
        const classic = linesOf(`${t.name}_bucket`).slice(i * perMetric, (i + 1) * perMetric);
        assert.is(h.sampleCount ?? 0, linesOf(`${t.name}_count`)[i], t.name);
        assert.is(h.sampleSum ?? 0, linesOf(`${t.name}_sum`)[i], t.name);
        assert.equal(h.bucket.map((b) => b.upperBound), boundsNs.map((b) => b * 1e-9), t.name);
        assert.equal(h.bucket.map((b) => b.cumulativeCount ?? 0), classic.slice(0, -1), t.name);
        assert.ok(h.schema >= -4 && h.schema <= 8 && h.zeroThreshold === 1e-9, t.name);
        const native = nativeBuckets({ schema: h.schema ?? 0, spans: (h.positiveSpan ?? []).map((sp) => ({ offset: sp.offset ?? 0, length: sp.length ?? 0 })), deltas: h.positiveDelta ?? [] });
        assert.ok(native.length <= 160);
        assert.is(native.reduce((a, b) => a + b[2], 0) + (h.zeroCount ?? 0), h.sampleCount ?? 0, t.name);
      } else {
        const v = f.type === 'COUNTER' ? m.counter.value : m.gauge.value;
        assert.is(v ?? 0, num(t.metrics[i].value), t.name);
      }
    });
    byName.delete(t.name);
  }
  assert.equal([...byName.keys()], [], 'families only in the protobuf exposition');
  const gc = fams.find((f) => f.name === 'my_v8js_gc_duration_seconds');
  const pauses = opts.detail === 'full' ? gc.metric.find((m) => m.label.some((l) => l.value === 'scavenge')).histogram : gc.metric[0].histogram;
  assert.ok(pauses.sampleCount > 0 && pauses.positiveSpan.length > 0, JSON.stringify(pauses));
}

test('toPrometheusProtobuf(): bad input names the option', () => {
  const s = new Sampler();
  assert.throws(() => toPrometheusProtobuf(s, { format: 'openmetrics' }), (e) => e instanceof TypeError && /unknown option "format"/.test(e.message));
  assert.throws(() => toPrometheusProtobuf(s, { labels: { 'a-b': 1 } }), (e) => e instanceof RangeError && /a-b/.test(e.message));
  assert.throws(() => toPrometheusProtobuf({}), (e) => e instanceof TypeError && /toPrometheusProtobuf\(\): sampler/.test(e.message));
  s.close();
});

test('negotiateFormat(accept, { protobuf: true }): protobuf only when asked for at the best quality', () => {
  const PROM_242 = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
  const pb = { format: 'protobuf', contentType: PROTOBUF_CONTENT_TYPE };
  const om = { format: 'openmetrics', contentType: OPENMETRICS_CONTENT_TYPE };
  const text = { format: 'prometheus', contentType: PROMETHEUS_CONTENT_TYPE };
  assert.equal(negotiateFormat(PROM_242, { protobuf: true }), pb);
  assert.equal(negotiateFormat('application/vnd.google.protobuf; proto="io.prometheus.client.MetricFamily"; encoding=delimited; q=0.7, text/plain;q=0.3', { protobuf: true }), pb);
  // Without the option (callers that serve text only): unchanged.
  assert.equal(negotiateFormat(PROM_242), om);
  assert.equal(negotiateFormat(PROM_242, { protobuf: false }), om);
  // Another message, another encoding, q=0 or a better-liked format: not protobuf.
  assert.equal(negotiateFormat('application/vnd.google.protobuf;proto=io.prometheus.client.Other;encoding=delimited', { protobuf: true }), text);
  assert.equal(negotiateFormat('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text', { protobuf: true }), text);
  assert.equal(negotiateFormat('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0,text/plain', { protobuf: true }), text);
  assert.equal(negotiateFormat('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0', { protobuf: true }), om);
  assert.equal(negotiateFormat(undefined, { protobuf: true }), text);
  assert.equal(negotiateFormat('*/*', { protobuf: true }), text);
  for (const bad of [null, 1, {}, { protobuf: 'yes' }]) {
    assert.throws(() => negotiateFormat(PROM_242, bad), (e) => e instanceof TypeError && /negotiateFormat\(\): options must be \{ protobuf: boolean \}/.test(e.message));
  }
});

test('classic default buckets: every power of two from 2^10 ns to 2^34 ns (a factor of 2 apart, not 4)', () => {
  assert.is(DEFAULT_DURATION_BOUNDS_NS.length, 25);
  DEFAULT_DURATION_BOUNDS_NS.forEach((b, i) => assert.is(b, 2 ** (10 + i)));
  const s = new Sampler().start();
  const les = (detail) => toPrometheus(s, { detail }).split('\n').filter((l) => l.startsWith('nodejs_eventloop_delay_seconds_bucket')).map((l) => /le="([^"]+)"/.exec(l)[1]);
  assert.equal(les('full'), [...DEFAULT_DURATION_BOUNDS_NS.map((b) => String(b * 1e-9)), '+Inf']);
  // standard: every power of two over the loop delay's own range (test/detail.test.js checks every histogram).
  assert.equal(les('standard'), [...DEFAULT_DURATION_BOUNDS_NS.filter((b) => b >= 2 ** 22 && b <= 2 ** 33).map((b) => String(b * 1e-9)), '+Inf']);
  s.close();
});

test.run();
