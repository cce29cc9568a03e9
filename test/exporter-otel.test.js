// node-flags: --expose-gc
// versions: current — the OpenTelemetry SDK and our JS exporter: no Node-version dependence
// The OpenTelemetry exporter against the real SDK (MeterProvider, InMemoryMetricExporter)
// and the real @opentelemetry/instrumentation-runtime-node in the same process.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { throwsLike } = require('./helpers/throws');
const v8 = require('node:v8');
const { readFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const {
  MeterProvider,
  PeriodicExportingMetricReader,
  InMemoryMetricExporter,
  AggregationTemporality,
  AggregationType,
  DataPointType,
} = require('@opentelemetry/sdk-metrics');
const { RuntimeNodeInstrumentation } = require('@opentelemetry/instrumentation-runtime-node');
const { Sampler, catalog } = require('runtime-sampler');
const { registerRuntimeMetrics, DEFAULT_GC_DURATION_BUCKETS, SEMCONV_KIND_DIFFERS } = require('runtime-sampler/otel');

const root = join(__dirname, '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function block(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}
/** Blocks the loop inside a timer callback, then lets the delay timer record it. */
async function blockLoop(ms) {
  await new Promise((resolve) => setTimeout(() => { block(ms); resolve(); }, 5));
  await sleep(40);
}

/** What @opentelemetry/instrumentation-runtime-node 0.36 registers (checked against it below). */
const REAL_NAMES = [
  'nodejs.eventloop.delay.max',
  'nodejs.eventloop.delay.mean',
  'nodejs.eventloop.delay.min',
  'nodejs.eventloop.delay.p50',
  'nodejs.eventloop.delay.p90',
  'nodejs.eventloop.delay.p99',
  'nodejs.eventloop.delay.stddev',
  'nodejs.eventloop.time',
  'nodejs.eventloop.utilization',
  'v8js.gc.duration',
  'v8js.memory.heap.space.available_size',
  'v8js.memory.heap.space.physical_size',
  'v8js.memory.heap.space.size',
  'v8js.memory.heap.used',
  'v8js.resource.active',
];
const PROCESS_NAMES = ['process.cpu.time', 'process.memory.usage', 'process.open_file_descriptor.count'];
const GC_TYPES = ['major', 'minor', 'incremental', 'weakcb'];

/** A MeterProvider with `readers` PeriodicExportingMetricReaders, each into an InMemoryMetricExporter. */
function setup({ views, readers = 1, temporality = AggregationTemporality.CUMULATIVE } = {}) {
  const exporters = [];
  const metricReaders = [];
  for (let i = 0; i < readers; i++) {
    const exporter = new InMemoryMetricExporter(temporality);
    exporters.push(exporter);
    metricReaders.push(new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 }));
  }
  const provider = new MeterProvider({ readers: metricReaders, views });
  return {
    provider,
    meter: provider.getMeter('runtime-sampler-test'),
    /** Exports once through reader `i`: a Map name → MetricData (only metrics with points). */
    async collect(i = 0) {
      await metricReaders[i].forceFlush();
      const all = exporters[i].getMetrics();
      exporters[i].reset();
      const out = new Map();
      for (const rm of all) {
        for (const sm of rm.scopeMetrics) {
          for (const m of sm.metrics) if (m.dataPoints.length > 0) out.set(m.descriptor.name, m);
        }
      }
      return out;
    },
    shutdown: () => provider.shutdown(),
  };
}

function point(metric, attributes = {}) {
  assert.ok(metric, 'metric missing');
  const key = JSON.stringify(attributes);
  const p = metric.dataPoints.find((d) => JSON.stringify(d.attributes) === key);
  assert.ok(p, `${metric.descriptor.name}: no point with ${key}; has ${JSON.stringify(metric.dataPoints.map((d) => d.attributes))}`);
  return p.value;
}
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const valueSum = (metric) => sum(metric.dataPoints.map((d) => d.value));
const histCount = (metric) => (metric ? sum(metric.dataPoints.map((d) => d.value.count)) : 0);
const histSum = (metric) => (metric ? sum(metric.dataPoints.map((d) => d.value.sum)) : 0);
function attributeKeys(metric) {
  return [...new Set(metric.dataPoints.flatMap((d) => Object.keys(d.attributes)))].sort();
}
function attributeValues(metric, key) {
  return [...new Set(metric.dataPoints.map((d) => d.attributes[key]))].sort();
}
function close(a, b, tolerance, what) {
  assert.ok(Math.abs(a - b) <= tolerance, `${what}: ${a} vs ${b} (tolerance ${tolerance})`);
}

test('ours ⊇ the runtime-node instrumentation: names, kinds, units, value types, attribute keys and values', async () => {
  const keep = setInterval(() => {}, 1000); // a ref'd Timeout for v8js.resource.active
  const ours = setup();
  const rm = registerRuntimeMetrics(ours.meter, { detail: 'full' });
  const theirs = setup();
  const inst = new RuntimeNodeInstrumentation({ monitoringPrecision: 10 });
  inst.setMeterProvider(theirs.provider);
  try {
    await sleep(150); // their delay gauges need 5 samples
    globalThis.gc();
    globalThis.gc();
    await sleep(50); // PerformanceObserver delivers GC entries asynchronously
    const t = await theirs.collect();
    const o = await ours.collect();
    assert.equal([...t.keys()].sort(), REAL_NAMES);
    for (const [name, tm] of t) {
      const om = o.get(name);
      assert.ok(om, `${name} missing from ours`);
      if (SEMCONV_KIND_DIFFERS.includes(name)) {
        // The semantic conventions make every v8js.memory.* an UpDownCounter; the
        // instrumentation publishes these as Gauges (documented in docs/exporters.md).
        assert.is(om.descriptor.type, 'OBSERVABLE_UP_DOWN_COUNTER', `${name} instrument kind`);
        assert.is(tm.descriptor.type, 'OBSERVABLE_GAUGE', `${name}: the instrumentation still differs (else drop it from SEMCONV_KIND_DIFFERS)`);
        assert.is(om.dataPointType, DataPointType.SUM, `${name} data point type`);
        assert.is(om.isMonotonic, false, `${name} is not monotonic`);
      } else {
        assert.is(om.descriptor.type, tm.descriptor.type, `${name} instrument kind`);
        assert.is(om.dataPointType, tm.dataPointType, `${name} data point type`);
      }
      assert.is(om.descriptor.unit, tm.descriptor.unit, `${name} unit`);
      assert.is(om.descriptor.valueType, tm.descriptor.valueType, `${name} value type`);
      assert.equal(attributeKeys(om), attributeKeys(tm), `${name} attribute keys`);
    }
    // Attribute values.
    const space = 'v8js.heap.space.name';
    for (const name of ['v8js.memory.heap.space.size', 'v8js.memory.heap.used', 'v8js.memory.heap.space.available_size', 'v8js.memory.heap.space.physical_size']) {
      assert.equal(attributeValues(o.get(name), space), attributeValues(t.get(name), space), `${name} spaces`);
    }
    assert.equal(attributeValues(o.get('nodejs.eventloop.time'), 'nodejs.eventloop.state'), ['active', 'idle']);
    assert.equal(attributeValues(t.get('nodejs.eventloop.time'), 'nodejs.eventloop.state'), ['active', 'idle']);
    // Ours was registered first and is drained at collection: it saw every GC theirs saw.
    const ourTypes = attributeValues(o.get('v8js.gc.duration'), 'v8js.gc.type');
    const theirTypes = attributeValues(t.get('v8js.gc.duration'), 'v8js.gc.type');
    assert.ok(theirTypes.includes('major'), `their types ${theirTypes}`);
    for (const type of theirTypes) assert.ok(ourTypes.includes(type), `${type}: ours ${ourTypes}, theirs ${theirTypes}`);
    for (const type of ourTypes) assert.ok(GC_TYPES.includes(type), `unknown v8js.gc.type ${type}`);
    assert.ok(attributeValues(o.get('v8js.resource.active'), 'v8js.resource.type').includes('Timeout'));
    assert.ok(attributeValues(t.get('v8js.resource.active'), 'v8js.resource.type').includes('Timeout'));
    // The same explicit bucket advice, and the forced GCs in both.
    assert.equal(point(o.get('v8js.gc.duration'), { 'v8js.gc.type': 'major' }).buckets.boundaries, point(t.get('v8js.gc.duration'), { 'v8js.gc.type': 'major' }).buckets.boundaries);
    assert.equal(point(o.get('v8js.gc.duration'), { 'v8js.gc.type': 'major' }).buckets.boundaries, [...DEFAULT_GC_DURATION_BUCKETS]);
    assert.ok(point(o.get('v8js.gc.duration'), { 'v8js.gc.type': 'major' }).count >= 2);
    assert.ok(point(t.get('v8js.gc.duration'), { 'v8js.gc.type': 'major' }).count >= 2);
  } finally {
    clearInterval(keep);
    inst.disable();
    rm.close();
    await theirs.shutdown();
    await ours.shutdown();
  }
});

test('v8js.gc.duration gets every GC: N forced GCs, counts equal v8js.gc.count, sums equal v8js.gc.pause.time', async () => {
  const p = setup();
  const rm = registerRuntimeMetrics(p.meter, { detail: 'full' });
  try {
    const a = await p.collect();
    const N = 6;
    for (let i = 0; i < N; i++) globalThis.gc();
    const b = await p.collect();
    const dHist = histCount(b.get('v8js.gc.duration')) - histCount(a.get('v8js.gc.duration'));
    const dCount = valueSum(b.get('v8js.gc.count')) - valueSum(a.get('v8js.gc.count'));
    assert.ok(dHist >= N, `histogram grew by ${dHist}, expected ≥ ${N}`);
    assert.is(dHist, dCount);
    const majorBefore = a.get('v8js.gc.duration') ? a.get('v8js.gc.duration').dataPoints.find((d) => d.attributes['v8js.gc.type'] === 'major') : undefined;
    const dMajor = point(b.get('v8js.gc.duration'), { 'v8js.gc.type': 'major' }).count - (majorBefore ? majorBefore.value.count : 0);
    assert.ok(dMajor >= N, `major grew by ${dMajor}`);
    // The sampler was created at registration: the histogram holds every GC since its start.
    assert.is(histCount(b.get('v8js.gc.duration')), valueSum(b.get('v8js.gc.count')));
    close(histSum(b.get('v8js.gc.duration')), valueSum(b.get('v8js.gc.pause.time')), 1e-9, 'pause sums');
    assert.is(valueSum(b.get('runtime_sampler.ring.dropped')), 0);
    for (const d of b.get('v8js.gc.duration').dataPoints) {
      assert.ok(GC_TYPES.includes(d.attributes['v8js.gc.type']));
      assert.is(sum(d.value.buckets.counts), d.value.count);
      // Per type, the histogram's max is the catalog's max pause.
      close(d.value.max, point(b.get('v8js.gc.pause.max'), d.attributes), 1e-12, `max pause ${d.attributes['v8js.gc.type']}`);
    }
  } finally {
    rm.close();
    await p.shutdown();
  }
});

test('an exponential-histogram view on v8js.gc.duration exports every GC', async () => {
  const p = setup({ views: [{ instrumentName: 'v8js.gc.duration', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }] });
  const rm = registerRuntimeMetrics(p.meter, { detail: 'full' });
  try {
    const N = 5;
    for (let i = 0; i < N; i++) globalThis.gc();
    const m = await p.collect();
    const h = m.get('v8js.gc.duration');
    assert.is(h.dataPointType, DataPointType.EXPONENTIAL_HISTOGRAM);
    assert.is(h.descriptor.unit, 's');
    const count = histCount(h);
    assert.ok(count >= N, `count ${count}`);
    assert.is(count, valueSum(m.get('v8js.gc.count')));
    for (const d of h.dataPoints) {
      const v = d.value;
      assert.is(sum(v.positive.bucketCounts) + v.zeroCount, v.count);
      close(v.sum, point(m.get('v8js.gc.pause.time'), d.attributes), 1e-9, `sum ${d.attributes['v8js.gc.type']}`);
      close(v.max, point(m.get('v8js.gc.pause.max'), d.attributes), 1e-12, `max ${d.attributes['v8js.gc.type']}`);
    }
    assert.ok(point(h, { 'v8js.gc.type': 'major' }).count >= N);
  } finally {
    rm.close();
    await p.shutdown();
  }
});

test('loop delay: a 200 ms block shows in nodejs.eventloop.delay.*, and collecting resets nothing (two readers)', async () => {
  const p = setup({ readers: 2 });
  const rm = registerRuntimeMetrics(p.meter, { detail: 'full', samplerOptions: { loopDelayResolutionMs: 10 } });
  try {
    await sleep(50);
    await blockLoop(200);
    const runs = [await p.collect(0), await p.collect(0), await p.collect(1)];
    const samplerMax = rm.sampler.histograms.loopDelay.max / 1e9;
    for (const m of runs) {
      const v = (stat) => point(m.get(`nodejs.eventloop.delay.${stat}`));
      assert.ok(v('max') >= 0.2, `max ${v('max')}`);
      close(v('max'), samplerMax, 1e-12, 'max against the sampler');
      assert.ok(v('min') <= v('p50') && v('p50') <= v('p90') && v('p90') <= v('p99') && v('p99') <= v('max'), 'ordered percentiles');
      assert.ok(v('min') <= v('mean') && v('mean') <= v('max'), 'mean within min..max');
      assert.ok(v('p50') >= 0.009, `p50 ${v('p50')}: each value includes the 10 ms period`);
      assert.ok(v('stddev') > 0.01, `stddev ${v('stddev')}: one 200 ms value among ~10 ms ones`);
      const u = point(m.get('nodejs.eventloop.utilization'));
      assert.ok(u > 0.1 && u <= 1, `utilization ${u}: 200 ms busy of ~300 ms`);
      assert.is(m.get('nodejs.eventloop.delay.max').descriptor.unit, 's');
    }
  } finally {
    rm.close();
    await p.shutdown();
  }
});

test('loopWindowMs: a block leaves a 1 s window after 1.25 s; loopWindowMs 0 keeps it', async () => {
  const sampler = new Sampler({ loopDelayResolutionMs: 10 }).start();
  const windowed = setup();
  const sinceStart = setup();
  const a = registerRuntimeMetrics(windowed.meter, { detail: 'full', sampler, loopWindowMs: 1000 });
  const b = registerRuntimeMetrics(sinceStart.meter, { detail: 'full', sampler, loopWindowMs: 0 });
  try {
    await sleep(20);
    await blockLoop(300);
    const during = await windowed.collect();
    assert.ok(point(during.get('nodejs.eventloop.delay.max')) >= 0.3);
    await sleep(1700); // the window steps every 250 ms; 5 steps after the block it is out
    const w = await windowed.collect();
    const s = await sinceStart.collect();
    assert.ok(point(w.get('nodejs.eventloop.delay.max')) < 0.3, `windowed max ${point(w.get('nodejs.eventloop.delay.max'))}`);
    assert.ok(point(s.get('nodejs.eventloop.delay.max')) >= 0.3);
    close(point(s.get('nodejs.eventloop.delay.max')), sampler.histograms.loopDelay.max / 1e9, 1e-12, 'since-start max');
    const uw = point(w.get('nodejs.eventloop.utilization'));
    const us = point(s.get('nodejs.eventloop.utilization'));
    assert.ok(uw >= 0 && uw < us, `windowed utilization ${uw} < since-start ${us}`);
    close(us, sampler.read().loop.utilization, 0.02, 'since-start utilization');
  } finally {
    a.close();
    b.close();
    assert.not.ok(sampler.closed, 'a given sampler stays open');
    sampler.close();
    await windowed.shutdown();
    await sinceStart.shutdown();
  }
});

test('values equal the snapshot (a stopped sampler), converted to seconds; heap used agrees with v8', async () => {
  const sampler = new Sampler().start();
  const junk = [];
  for (let i = 0; i < 2e4; i++) junk.push({ i });
  globalThis.gc();
  await sleep(30);
  sampler.refresh();
  const heap = v8.getHeapStatistics();
  sampler.stop();
  junk.length = 0; // garbage now
  const snap = sampler.read();
  const p = setup();
  const rm = registerRuntimeMetrics(p.meter, { detail: 'full', sampler, loopWindowMs: 0 });
  try {
    const m = await p.collect();
    const v = (name, attributes) => point(m.get(name), attributes);
    assert.is(v('v8js.heap.used'), snap.heap.usedBytes);
    close(v('v8js.heap.used'), heap.used_heap_size, 256 * 1024, 'heap used against v8.getHeapStatistics()');
    assert.is(v('v8js.heap.limit'), heap.heap_size_limit);
    assert.is(valueSum(m.get('v8js.memory.heap.used')), snap.heap.usedBytes);
    for (const name of sampler.heapSpaceNames) {
      const a = { 'v8js.heap.space.name': name };
      const s = snap.heap.spaces[name];
      assert.is(v('v8js.memory.heap.used', a), s.usedBytes);
      assert.is(v('v8js.memory.heap.space.size', a), s.sizeBytes);
      assert.is(v('v8js.memory.heap.space.available_size', a), s.availableBytes);
      assert.is(v('v8js.memory.heap.space.physical_size', a), s.physicalBytes);
    }
    assert.is(v('nodejs.eventloop.time', { 'nodejs.eventloop.state': 'active' }), snap.loop.busyNs / 1e9);
    assert.is(v('nodejs.eventloop.time', { 'nodejs.eventloop.state': 'idle' }), snap.loop.idleNs / 1e9);
    assert.is(v('nodejs.eventloop.utilization'), snap.loop.utilization);
    assert.is(v('nodejs.eventloop.iterations'), snap.loop.iterations);
    assert.is(v('nodejs.eventloop.iteration.max'), snap.loop.maxIterationNs / 1e9);
    const bt = snap.gc.byType;
    assert.ok(bt.markSweepCompact.count >= 1);
    assert.is(v('v8js.gc.count', { 'v8js.gc.type': 'major' }), bt.markSweepCompact.count);
    assert.is(v('v8js.gc.count', { 'v8js.gc.type': 'minor' }), bt.scavenge.count + bt.minorMarkSweep.count);
    assert.is(v('v8js.gc.count', { 'v8js.gc.type': 'weakcb' }), bt.processWeakCallbacks.count);
    assert.is(valueSum(m.get('v8js.gc.count')), snap.gc.count);
    assert.is(v('v8js.gc.pause.max', { 'v8js.gc.type': 'minor' }), Math.max(bt.scavenge.maxPauseNs, bt.minorMarkSweep.maxPauseNs) / 1e9);
    assert.is(v('v8js.gc.pause.time', { 'v8js.gc.type': 'major' }), bt.markSweepCompact.pauseNs / 1e9);
    assert.is(v('v8js.memory.allocated'), snap.gc.allocatedBytes);
    assert.is(v('process.cpu.time', { 'cpu.mode': 'user' }), snap.process.cpuUserUs / 1e6);
    assert.is(v('process.memory.usage'), snap.process.rssBytes);
    assert.is(v('v8js.heap.detached_contexts'), snap.heap.detachedContexts);
    const d = sampler.histograms.loopDelay;
    assert.ok(d.count > 0);
    assert.is(v('nodejs.eventloop.delay.max'), d.max / 1e9);
    assert.is(v('nodejs.eventloop.delay.min'), d.min / 1e9);
    assert.is(v('nodejs.eventloop.delay.p99'), d.percentile(99) / 1e9);
    assert.is(v('nodejs.eventloop.delay.mean'), d.mean / 1e9);
    // Monotonic-clock timestamps are not exported; neither are ns or µs units.
    for (const [name, metric] of m) {
      assert.not.ok(['ns', 'us'].includes(metric.descriptor.unit), `${name} in ${metric.descriptor.unit}`);
      assert.not.ok(/time$|start_time|last_time/.test(name) && metric.descriptor.unit === 's' && !['nodejs.eventloop.time', 'v8js.gc.pause.time', 'process.cpu.time', 'nodejs.eventloop.stall.time', 'v8js.gc.main_thread.time', 'v8js.gc.incremental_marking.time', 'v8js.gc.mark_compact.time', 'v8js.gc.time_to_safepoint.time', 'v8js.gc.mark_compact.phase.time', 'v8js.gc.scavenge.phase.time', 'nodejs.container.cpu.throttled_time'].includes(name), `${name} looks like a timestamp`);
    }
  } finally {
    rm.close();
    sampler.close();
    await p.shutdown();
  }
});

test('close(): removes the callback and the GC listener; closes only a sampler it created', async () => {
  // Created: closed with it.
  const p1 = setup();
  const created = registerRuntimeMetrics(p1.meter, { detail: 'full' });
  assert.ok(created.sampler.started);
  created.close();
  created.close();
  assert.ok(created.sampler.closed);
  const after = await p1.collect();
  assert.equal([...after.keys()].filter((n) => n !== 'v8js.gc.duration'), [], 'no observations after close()');
  await p1.shutdown();

  // Given: stays open; the listener is gone. (Delta temporality: a cumulative reader
  // repeats an observable's last values after its callback is removed.)
  const sampler = new Sampler().start();
  const p2 = setup({ temporality: AggregationTemporality.DELTA });
  const rm = registerRuntimeMetrics(p2.meter, { detail: 'full', sampler });
  assert.is(rm.sampler, sampler);
  globalThis.gc();
  const before = histCount((await p2.collect()).get('v8js.gc.duration'));
  assert.ok(before >= 1);
  rm.close();
  assert.not.ok(sampler.closed);
  globalThis.gc();
  globalThis.gc();
  sampler.read(); // drains: a listener still registered would record these
  const m = await p2.collect();
  assert.equal([...m.keys()], [], 'no GC recorded and no observations after close()');
  sampler.close();
  await p2.shutdown();

  // The user closes the sampler first: collection goes on without observations or errors.
  const s3 = new Sampler().start();
  const p3 = setup({ temporality: AggregationTemporality.DELTA });
  const rm3 = registerRuntimeMetrics(p3.meter, { detail: 'full', sampler: s3 });
  assert.ok((await p3.collect()).size > 10);
  s3.close();
  const m3 = await p3.collect();
  assert.equal([...m3.keys()].filter((n) => n !== 'v8js.gc.duration'), []);
  rm3.close();
  await p3.shutdown();
});

test('extraMetrics, processMetrics and activeResources choose the instrument groups', () => {
  const { metrics } = require('@opentelemetry/api'); // the no-op meter: no SDK needed
  const meter = metrics.getMeter('noop');
  const only = registerRuntimeMetrics(meter, { detail: 'full', extraMetrics: false, processMetrics: false });
  assert.equal([...only.instruments], REAL_NAMES);
  only.close();
  const withProcess = registerRuntimeMetrics(meter, { detail: 'full', extraMetrics: false });
  assert.equal([...withProcess.instruments], [...REAL_NAMES, ...PROCESS_NAMES].sort());
  withProcess.close();
  const noResources = registerRuntimeMetrics(meter, { detail: 'full', extraMetrics: false, processMetrics: false, activeResources: false });
  assert.equal([...noResources.instruments], REAL_NAMES.filter((n) => n !== 'v8js.resource.active'));
  noResources.close();
  const all = registerRuntimeMetrics(meter, { detail: 'full' });
  for (const name of [...REAL_NAMES, ...PROCESS_NAMES, 'nodejs.eventloop.iterations', 'v8js.gc.pause.max', 'v8js.gc.count', 'v8js.memory.allocated', 'v8js.heap.detached_contexts', 'runtime_sampler.ring.dropped']) {
    assert.ok(all.instruments.includes(name), `${name} missing`);
  }
  all.close();
  assert.ok(all.sampler.closed);
});

test('every catalog counter and gauge is an instrument (timestamps excepted), and nothing else is', () => {
  const { metrics } = require('@opentelemetry/api');
  const rm = registerRuntimeMetrics(metrics.getMeter('noop'), { detail: 'full' });
  rm.close();
  const timestamps = ['v8js.gc.last_end_time', 'v8js.heap.update_time', 'runtime_sampler.refresh.last_time', 'runtime_sampler.time', 'runtime_sampler.start_time', 'nodejs.eventloop.stall.start_time', 'nodejs.threadpool.in_flight.start_time'];
  const expected = new Set(['v8js.gc.duration', 'v8js.resource.active', ...REAL_NAMES.filter((n) => n.startsWith('nodejs.eventloop.delay.'))]);
  for (const d of catalog()) {
    if (d.kind === 'histogram' || timestamps.includes(d.name)) continue;
    expected.add(d.name);
  }
  assert.equal([...rm.instruments], [...expected].sort());
});

test('threadpool probe: counter and gauges in seconds, the histogram left out (no observable histogram)', async () => {
  const sampler = new Sampler({ threadpoolProbeMs: 10 }).start();
  const p = setup();
  const rm = registerRuntimeMetrics(p.meter, { detail: 'full', sampler, loopWindowMs: 0 });
  try {
    const deadline = Date.now() + 2000;
    while (sampler.read().threadpool.probes < 3 && Date.now() < deadline) await sleep(10);
    sampler.stop();
    const snap = sampler.read();
    const m = await p.collect();
    assert.is(m.get('nodejs.threadpool.probes').dataPointType, DataPointType.SUM);
    assert.is(point(m.get('nodejs.threadpool.probes')), snap.threadpool.probes);
    assert.ok(snap.threadpool.probes >= 3);
    assert.is(m.get('nodejs.threadpool.delay.max').descriptor.unit, 's');
    assert.ok(Math.abs(point(m.get('nodejs.threadpool.delay.max')) - snap.threadpool.maxDelayNs / 1e9) < 1e-12);
    assert.is(point(m.get('nodejs.threadpool.size')), snap.threadpool.size);
    assert.is(point(m.get('nodejs.threadpool.in_flight')), snap.threadpool.inFlight);
    assert.is(m.get('nodejs.threadpool.in_flight.duration').descriptor.unit, 's');
    assert.is(m.get('nodejs.threadpool.delay'), undefined);
    assert.is(m.get('nodejs.threadpool.in_flight.start_time'), undefined, 'a monotonic timestamp is not exported');
  } finally {
    rm.close();
    sampler.close();
    await p.shutdown();
  }
});

test('container values: a limit when set, none for no limit (+Infinity) or an unknown value (NaN)', async () => {
  const { v2Fixture, removeFixture } = require('./helpers/cgroup');
  const dir = v2Fixture({ 'memory.max': 'max\n', 'cpu.max': '50000 100000\n', 'memory.events': undefined });
  const sampler = new Sampler({ cgroupRoot: dir }).start();
  const p = setup();
  const rm = registerRuntimeMetrics(p.meter, { detail: 'full', sampler, loopWindowMs: 0 });
  try {
    const m = await p.collect();
    assert.is(m.get('nodejs.container.memory.limit'), undefined, 'no point for no limit');
    assert.is(m.get('nodejs.container.memory.high'), undefined, 'memory.high is max too');
    assert.is(m.get('nodejs.container.memory.oom_kill'), undefined, 'no point without memory.events');
    assert.is(point(m.get('nodejs.container.cpu.quota')), 0.5);
    assert.is(point(m.get('nodejs.container.memory.usage')), 104857600);
    assert.is(point(m.get('nodejs.container.cpu.throttled_time')), 2.5);
    assert.is(point(m.get('nodejs.container.cpu.pressure'), { kind: 'some' }), 9e-6);
    assert.is(point(m.get('nodejs.container.cgroup.version')), 2);
  } finally {
    rm.close();
    sampler.close();
    await p.shutdown();
    removeFixture(dir);
  }
});

test('the docs table lists exactly the instruments', () => {
  const { metrics } = require('@opentelemetry/api');
  const rm = registerRuntimeMetrics(metrics.getMeter('noop'), { detail: 'full' });
  rm.close();
  const files = ['docs/exporters.md'].map((f) => join(root, f)).filter(existsSync);
  const text = files.map((f) => readFileSync(f, 'utf8')).find((t) => t.includes('## OpenTelemetry'));
  assert.ok(text, 'no "## OpenTelemetry" section in docs/');
  const section = text.slice(text.indexOf('## OpenTelemetry')).split(/\n## /)[0];
  const names = new Set();
  for (const line of section.split('\n')) {
    // Instrument names have a dot; option names (the other table) have none.
    const cell = /^\|\s*`([a-z0-9_]+(?:\.[a-z0-9_]+)+(?:\.\{[a-z0-9,]+\})?)`/.exec(line);
    if (!cell) continue;
    const brace = /^(.*)\.\{([a-z0-9,]+)\}$/.exec(cell[1]);
    if (brace) for (const s of brace[2].split(',')) names.add(`${brace[1]}.${s}`);
    else names.add(cell[1]);
  }
  assert.equal([...names].sort(), [...rm.instruments]);
});

test('bad input: TypeError or RangeError naming the option, the value and what is accepted', () => {
  const { metrics } = require('@opentelemetry/api');
  const meter = metrics.getMeter('noop');
  const R = (o) => () => registerRuntimeMetrics(meter, o);
  for (const bad of [undefined, null, 42, {}, { createHistogram() {} }]) {
    throwsLike(() => registerRuntimeMetrics(bad), TypeError, /meter must be an OpenTelemetry Meter .*got /);
  }
  throwsLike(R('x'), TypeError, /options must be an object, got "x"/);
  throwsLike(R([]), TypeError, /options must be an object, got an array/);
  throwsLike(R({ prefix: 'app_' }), TypeError, /unknown option "prefix"; accepted options: sampler, samplerOptions, gcDurationBuckets, loopWindowMs, extraMetrics, processMetrics, activeResources/);
  throwsLike(R({ sampler: {} }), TypeError, /sampler must be a runtime-sampler Sampler, got a object/);
  throwsLike(R({ sampler: 1 }), TypeError, /sampler must be a runtime-sampler Sampler, got 1/);
  const closed = new Sampler();
  closed.close();
  try {
    registerRuntimeMetrics(meter, { sampler: closed });
    assert.unreachable('a closed sampler');
  } catch (e) {
    assert.is(e.code, 'ERR_SAMPLER_CLOSED');
  }
  const open = new Sampler();
  throwsLike(R({ sampler: open, samplerOptions: {} }), TypeError, /samplerOptions applies only/);
  open.close();
  throwsLike(R({ samplerOptions: 5 }), TypeError, /samplerOptions must be an object of Sampler options, got 5/);
  throwsLike(R({ samplerOptions: { ringCapacity: 100 } }), RangeError, /ringCapacity must be a power of two from 64 to 65536.*got 100/);
  throwsLike(R({ samplerOptions: { bogus: 1 } }), TypeError, /unknown option "bogus"/);
  throwsLike(R({ gcDurationBuckets: 'fast' }), TypeError, /gcDurationBuckets must be an array of bucket upper bounds, got "fast"/);
  throwsLike(R({ gcDurationBuckets: [] }), RangeError, /gcDurationBuckets must have at least one bucket/);
  throwsLike(R({ gcDurationBuckets: [0.1, 0.05] }), RangeError, /gcDurationBuckets must be sorted in strictly increasing order: \[0\] = 0.1, \[1\] = 0.05/);
  throwsLike(R({ gcDurationBuckets: [0.1, 0.1] }), RangeError, /strictly increasing/);
  throwsLike(R({ gcDurationBuckets: [-1, 1] }), RangeError, /gcDurationBuckets\[0\] must be a finite number > 0.*got -1/);
  throwsLike(R({ gcDurationBuckets: [0.1, NaN] }), RangeError, /gcDurationBuckets\[1\] must be a finite number > 0.*got NaN/);
  throwsLike(R({ gcDurationBuckets: [0.1, Infinity] }), RangeError, /gcDurationBuckets\[1\].*got Infinity/);
  throwsLike(R({ gcDurationBuckets: ['0.1'] }), TypeError, /gcDurationBuckets\[0\] must be a number, got "0.1"/);
  const accepted = /loopWindowMs must be 0 \(since the sampler started\) or an integer from 1000 to 3600000, got /;
  throwsLike(R({ loopWindowMs: '60000' }), TypeError, accepted);
  throwsLike(R({ loopWindowMs: null }), TypeError, accepted);
  for (const bad of [500, -1, 1000.5, NaN, 3_600_001, Infinity]) {
    throwsLike(R({ loopWindowMs: bad }), RangeError, new RegExp(accepted.source + String(bad).replace('.', '\\.')));
  }
  throwsLike(R({ extraMetrics: 'yes' }), TypeError, /extraMetrics must be true or false, got "yes"/);
  throwsLike(R({ processMetrics: 1 }), TypeError, /processMetrics must be true or false, got 1/);
  throwsLike(R({ activeResources: null }), TypeError, /activeResources must be true or false, got null/);
});

test('custom gcDurationBuckets become the explicit bucket advice', async () => {
  const p = setup();
  const rm = registerRuntimeMetrics(p.meter, { detail: 'full', gcDurationBuckets: [0.0001, 0.001, 0.01] });
  try {
    globalThis.gc();
    const m = await p.collect();
    assert.equal(point(m.get('v8js.gc.duration'), { 'v8js.gc.type': 'major' }).buckets.boundaries, [0.0001, 0.001, 0.01]);
  } finally {
    rm.close();
    await p.shutdown();
  }
});

test('the main entry and the otel entry load no @opentelemetry module; import and require agree', async () => {
  const probe = (spec) => {
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(spec)}); console.log(JSON.stringify(Object.keys(require.cache).filter((k) => k.includes('@opentelemetry'))))`], { cwd: root, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  assert.equal(probe('runtime-sampler'), []);
  assert.equal(probe('runtime-sampler/otel'), []);
  const esm = await import('runtime-sampler/otel');
  assert.is(esm.registerRuntimeMetrics, registerRuntimeMetrics);
  assert.is(esm.default.registerRuntimeMetrics, registerRuntimeMetrics);
});

test.run();
