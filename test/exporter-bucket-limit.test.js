// versions: current — exporter bucket limits
// Custom histogram bucket bounds are limited to 1,000 in every exporter that takes them
// (100,000 blocked each toPrometheus() call for seconds), and a hostile length is refused
// before anything walks it.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { throwsLike } = require('./helpers/throws');
const { Sampler, toPrometheus } = require('..');
const { collectDefaultMetrics } = require('runtime-sampler/prom-client');
const { registerRuntimeMetrics } = require('runtime-sampler/otel');
const client = require('prom-client');
const { metrics } = require('@opentelemetry/api');

const bounds = (n) => Array.from({ length: n }, (_, i) => (i + 1) * 1e-5);
const sampler = new Sampler();

test('toPrometheus() takes up to 1,000 bounds, as one array or per histogram', () => {
  const text = toPrometheus(sampler, { buckets: bounds(1000) });
  const lines = text.split('\n').filter((l) => l.startsWith('nodejs_eventloop_delay_seconds_bucket{'));
  assert.is(lines.length, 1001); // and +Inf
  toPrometheus(sampler, { buckets: { 'v8js.gc.duration': bounds(1000), 'nodejs.eventloop.delay': bounds(1000) } });
  throwsLike(() => toPrometheus(sampler, { buckets: bounds(1001) }), RangeError, /^buckets has 1001 bucket upper bounds; at most 1000 are accepted$/);
  throwsLike(() => toPrometheus(sampler, { buckets: { 'nodejs.eventloop.delay': bounds(100000) } }), RangeError, /^buckets\["nodejs\.eventloop\.delay"\] has 100000 bucket upper bounds; at most 1000 are accepted$/);
});

test('a hostile length is refused at once, not walked', () => {
  const huge = [];
  huge.length = 1e9;
  const started = process.hrtime.bigint();
  throwsLike(() => toPrometheus(sampler, { buckets: huge }), RangeError, /buckets has 1000000000 bucket upper bounds; at most 1000/);
  throwsLike(() => toPrometheus(sampler, { buckets: { 'v8js.gc.duration': huge } }), RangeError, /has 1000000000 bucket upper bounds/);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  // Walking (or keying) a billion entries takes seconds.
  assert.ok(ms < 500, `${ms} ms`);
});

test('the prom-client drop-in and the OpenTelemetry exporter have the same limit', () => {
  const reg = new client.Registry();
  throwsLike(() => collectDefaultMetrics({ register: reg, sampler, gcDurationBuckets: bounds(1001) }), RangeError, /^gcDurationBuckets has 1001 bucket upper bounds; at most 1000 are accepted$/);
  collectDefaultMetrics({ register: reg, sampler, gcDurationBuckets: bounds(1000) });
  const meter = metrics.getMeter('noop');
  throwsLike(() => registerRuntimeMetrics(meter, { sampler, gcDurationBuckets: bounds(5000) }), RangeError, /^gcDurationBuckets has 5000 bucket upper bounds; at most 1000 are accepted$/);
  const rm = registerRuntimeMetrics(meter, { sampler, gcDurationBuckets: bounds(1000) });
  if (typeof rm?.close === 'function') rm.close();
});

test.run();
