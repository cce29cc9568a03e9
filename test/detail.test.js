// node-flags: --expose-gc
// versions: current
// The series budget (issue 24): `detail: 'standard'` (the default of every exporter and of
// the preload's /metrics) stays within 120 series per process on a realistic process — GCs
// of every kind, the watchdog, the threadpool probe, a cgroup with every value — with no
// reason or phase series; `detail: 'full'` is everything there is and contains standard.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const { Sampler, toPrometheus, toPrometheusGroup, toJSON, catalog, DETAIL_LEVELS } = require('..');
const { registerRuntimeMetrics } = require('runtime-sampler/otel');
const { createStatsdExporter } = require('runtime-sampler/statsd');
const { parseEnv } = require('../dist/cjs/server/config.js');
const { prometheusName } = require('../dist/cjs/exporters/prometheus.js');
const { MONOTONIC_TIMESTAMPS, STANDARD_DURATION_BOUNDS_NS, DEFAULT_DURATION_BOUNDS_NS } = require('../dist/cjs/exporters/common.js');
const { startMonitorThread } = require('../dist/cjs/server/monitor.js');
const { throwsAll } = require('./helpers/throws');
const { testUnless } = require('./helpers/skip');
const { v2Fixture, removeFixture } = require('./helpers/cgroup');
const { withPreloaded } = require('./helpers/preloaded');

const BUDGET = 120;

/** Series lines of an exposition: name{labels} → value. */
function series(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
const types = (text) => new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));

/** Collections of the kinds a busy app has: scavenges, minor GCs, mark-compacts, incremental marking. */
async function everyKindOfGC() {
  let keep = [];
  // Old-space growth across loop turns: scavenges, and V8 starts incremental marking.
  for (let r = 0; r < 20; r++) {
    for (let i = 0; i < 60_000; i++) keep.push({ i, a: [i] });
    await new Promise((resolve) => setImmediate(resolve));
  }
  globalThis.gc({ type: 'minor' });
  const registry = new FinalizationRegistry(() => {});
  for (let i = 0; i < 1000; i++) registry.register({}, i);
  globalThis.gc(); // mark-sweep-compact with weak callbacks
  keep.length = 0; // garbage for the next full GC
  await new Promise((r) => setTimeout(r, 50));
  globalThis.gc();
}

/** A sampler with everything on: the watchdog, the threadpool probe, a cgroup fixture with every value. */
async function realistic() {
  const dir = v2Fixture({ 'memory.high': '188743680\n' });
  const s = new Sampler({ watchdog: true, cgroupRoot: dir, threadpoolProbeMs: 10, v8Histograms: true }).start();
  await everyKindOfGC();
  const deadline = Date.now() + 2000;
  while (s.read().threadpool.probes < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return { s, done: () => { s.close(); removeFixture(dir); } };
}

test('standard: at most 120 series on a realistic process, no reason or phase series; full has every catalog entry', async () => {
  const { s, done } = await realistic();
  try {
    const snap = s.read();
    // (Weak-callback GCs come when V8 chooses; their series are there either way: series do not depend on counts.)
    for (const t of ['scavenge', 'markSweepCompact', 'incrementalMarking']) {
      assert.ok(snap.gc.byType[t].count > 0, `a ${t} happened`);
    }
    const standard = series(toPrometheus(s));
    const full = series(toPrometheus(s, { detail: 'full' }));
    console.log(`series: standard ${standard.size}, full ${full.size}`);
    assert.ok(standard.size <= BUDGET, `standard has ${standard.size} series`);
    assert.equal(series(toPrometheus(s, { detail: 'standard' })).size, standard.size);
    const names = [...standard.keys()].join('\n');
    assert.not.match(names, /reason|phase/);
    assert.match([...full.keys()].join('\n'), /v8js_gc_mark_compact_reason_count_total\{v8js_gc_reason=/);
    // Every catalog entry's family is in full; standard has exactly the standard ones.
    const sampleNames = (m) => new Set([...m.keys()].map((k) => k.split('{')[0]));
    const [fullNames, standardNames] = [sampleNames(full), sampleNames(standard)];
    for (const d of s.catalog()) {
      assert.ok(DETAIL_LEVELS.includes(d.detail), `${d.name} ${d.path}: detail ${d.detail}`);
    }
    const level = new Map();
    for (const d of s.catalog()) level.set(d.name, level.get(d.name) === 'standard' ? 'standard' : d.detail);
    for (const d of s.catalog()) {
      if (MONOTONIC_TIMESTAMPS.has(d.name)) continue;
      const fam = prometheusName(d.name, d.unit).name;
      const has = (names) => ['', '_total', '_bucket', '_sum', '_count'].some((x) => names.has(fam + x));
      assert.ok(has(fullNames), `${d.name} in full`);
      assert.is(has(standardNames), level.get(d.name) === 'standard', `${d.name} (${level.get(d.name)}) in standard`);
    }
  } finally {
    done();
  }
});

test('full ⊇ standard: same families and types; every standard series is in full, or the sum of its per-GC-type split', async () => {
  const { s, done } = await realistic();
  try {
    s.stop(); // counters hold still between the two renderings
    const a = toPrometheus(s);
    const b = toPrometheus(s, { detail: 'full', buckets: { 'v8js.gc.duration': STANDARD_DURATION_BOUNDS_NS['v8js.gc.duration'].map((ns) => ns / 1e9) } });
    const [ta, tb] = [types(a), types(b)];
    for (const [fam, type] of ta) assert.is(tb.get(fam), type, fam);
    const [sa, sb] = [series(a), series(b)];
    // Histograms other than GC pause: full has finer buckets; compare _sum, _count and the shared le values.
    let split = 0;
    for (const [key, value] of sa) {
      if (sb.has(key)) {
        if (!/^(nodejs_eventloop_time|process_cpu_time|nodejs_container_|process_memory|v8js_heap_|v8js_memory_heap|nodejs_active|nodejs_eventloop_(utilization|iteration)|runtime_sampler_refresh_duration|nodejs_threadpool_in_flight|nodejs_eventloop_stall_duration)/.test(key)) {
          assert.is(sb.get(key), value, key);
        }
        continue;
      }
      // Not in full as such: a total that full splits by v8js_gc_type.
      const [name, labels = ''] = key.split(/[{}]/);
      const parts = [...sb.entries()].filter(([k]) => {
        const [n, l = ''] = k.split(/[{}]/);
        return n === name && /v8js_gc_type="/.test(l) && l.replace(/,?v8js_gc_type="[^"]*"/, '').replace(/^,/, '') === labels;
      });
      assert.is(parts.length, 5, `${key}: the five per-type series in full`);
      const combine = name === 'v8js_gc_pause_max_seconds' ? Math.max : (x, y) => x + y;
      const total = parts.map(([, v]) => v).reduce((x, y) => combine(x, y));
      assert.ok(Math.abs(total - value) <= 1e-9 * Math.max(1, value), `${key}: ${value} in standard, ${total} over the types in full`);
      split++;
    }
    assert.ok(split >= 14, `${split} series checked against their per-type split`); // pause time, max, GC duration buckets/sum/count
  } finally {
    done();
  }
});

test('classic buckets at every level are powers of two, none coarser than a factor of 2 (issue 24)', async () => {
  const { s, done } = await realistic();
  try {
    for (const detail of ['standard', 'full']) {
      const les = new Map();
      for (const m of toPrometheus(s, { detail }).matchAll(/^(\w+)_bucket\{(?:[^}]*,)?le="([^"]+)"/gm)) {
        if (m[2] === '+Inf') continue;
        if (!les.has(m[1])) les.set(m[1], []);
        les.get(m[1]).push(Number(m[2]));
      }
      assert.ok(les.size >= (detail === 'standard' ? 3 : 4), `${detail}: ${[...les.keys()]}`);
      for (const [name, bounds] of les) {
        const ns = [...new Set(bounds)].sort((x, y) => x - y).map((b) => Math.round(b * 1e9));
        assert.ok(ns.length >= 12, `${detail} ${name}: ${ns.length} bounds`);
        for (let i = 0; i < ns.length; i++) {
          assert.is(Math.log2(ns[i]) % 1, 0, `${detail} ${name}: ${ns[i]} ns is a power of two`);
          if (i > 0) assert.is(ns[i] / ns[i - 1], 2, `${detail} ${name}: ${ns[i - 1]} → ${ns[i]} ns`);
        }
      }
    }
    assert.is(DEFAULT_DURATION_BOUNDS_NS.length, 25);
  } finally {
    done();
  }
});

const noPromtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error ? 'promtool is not installed (Debian package prometheus)' : null;
testUnless(test, noPromtool, 'promtool check metrics accepts standard (and full) on a realistic process', async () => {
  const { s, done } = await realistic();
  try {
    for (const options of [undefined, { format: 'prometheus', detail: 'standard' }, { detail: 'full' }]) {
      const r = spawnSync('promtool', ['check', 'metrics'], { input: toPrometheus(s, options), encoding: 'utf8' });
      assert.is(r.status, 0, `promtool (${JSON.stringify(options)}): ${r.stdout}${r.stderr}`);
    }
  } finally {
    done();
  }
});

test('toJSON and toPrometheusGroup honour detail: standard names ⊂ full names, full-only entries only in full', async () => {
  const { s, done } = await realistic();
  try {
    const names = (doc) => new Set(doc.metrics.map((m) => m.name));
    const std = names(toJSON(s));
    const full = names(toJSON(s, { detail: 'full' }));
    assert.equal([...std].filter((n) => !full.has(n)), []);
    const fullOnly = new Set(catalog().filter((d) => d.detail === 'full').map((d) => d.name));
    const standardToo = new Set(catalog().filter((d) => d.detail === 'standard').map((d) => d.name));
    for (const n of fullOnly) {
      if (!standardToo.has(n)) assert.not.ok(std.has(n), `${n} is full only`);
    }
    assert.ok(full.has('v8js.gc.mark_compact.reason.count'));
    assert.not.ok(std.has('v8js.gc.mark_compact.reason.count'));
    // The standard GC pause histogram: one point, every GC (full: one per type).
    const pause = (doc) => doc.metrics.find((m) => m.name === 'v8js.gc.duration').points;
    assert.is(pause(toJSON(s)).length, 1);
    assert.is(pause(toJSON(s)).at(0).count, s.histograms.gcPause.count);
    assert.is(pause(toJSON(s, { detail: 'full' })).length, 5);
    const group = [{ sampler: s, labels: { pid: '1' } }];
    assert.is(toPrometheusGroup(group), toPrometheus(s, { labels: { pid: '1' } }));
    assert.match(toPrometheusGroup(group, { detail: 'full' }), /_reason_count_total\{/);
  } finally {
    done();
  }
});

test('OpenTelemetry honours detail: full-only instruments only with detail: full', async () => {
  const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = require('@opentelemetry/sdk-metrics');
  const { s, done } = await realistic();
  const collect = async (detail) => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const rm = registerRuntimeMetrics(provider.getMeter('t'), { sampler: s, ...(detail ? { detail } : {}) });
    await reader.forceFlush();
    const out = new Set(exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((m) => m.metrics.filter((x) => x.dataPoints.length > 0).map((x) => x.descriptor.name))));
    rm.close();
    await provider.shutdown();
    return out;
  };
  try {
    const std = await collect(undefined);
    const full = await collect('full');
    assert.equal([...std].filter((n) => !full.has(n)), []);
    for (const n of ['v8js.gc.mark_compact.reason.count', 'v8js.gc.nested.count', 'runtime_sampler.drains']) {
      assert.ok(full.has(n), `${n} in full`);
      assert.not.ok(std.has(n), `${n} not in standard`);
    }
    for (const n of ['v8js.gc.count', 'v8js.memory.heap.used', 'nodejs.eventloop.time', 'v8js.gc.pause.time']) assert.ok(std.has(n), `${n} in standard: ${[...std].join(' ')}`);
    assert.ok(full.size > std.size + 10, `${std.size} standard, ${full.size} full`);
  } finally {
    done();
  }
});

test('StatsD honours detail: full-only names only with detail: full', async () => {
  const dgram = require('node:dgram');
  const { s, done } = await realistic();
  const socket = dgram.createSocket('udp4');
  socket.unref();
  const packets = [];
  socket.on('message', (m) => packets.push(m.toString('utf8')));
  await new Promise((r) => socket.bind(0, '127.0.0.1', r));
  const names = async (detail) => {
    const ex = createStatsdExporter({ port: socket.address().port, intervalMs: 0, sampler: s, flushOnClose: false, ...(detail ? { detail } : {}) });
    const from = packets.length;
    await ex.flush(); // the first flush sends every counter from 0 and every gauge
    const deadline = Date.now() + 3000;
    while (packets.length - from < ex.stats.packets && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    ex.close();
    return new Set(packets.slice(from).flatMap((p) => p.split('\n')).map((l) => l.split(':')[0]));
  };
  try {
    const std = await names(undefined);
    const full = await names('full');
    // A name standard sends as a total, full sends split by GC type.
    const GC_TYPES = ['scavenge', 'minor_mark_sweep', 'mark_sweep_compact', 'incremental_marking', 'process_weak_callbacks'];
    assert.equal([...std].filter((n) => !full.has(n) && !GC_TYPES.every((t) => full.has(`${n.replace(/\.(count|avg|max|p\d+)$/, (m) => (n.startsWith('runtime.v8js.gc.duration') ? `.${t}${m}` : m))}${n.startsWith('runtime.v8js.gc.duration') ? '' : `.${t}`}`))), []);
    assert.ok([...full].some((n) => n.startsWith('runtime.v8js.gc.mark_compact.reason.count.')));
    assert.not.ok([...std].some((n) => /reason|phase/.test(n)), [...std].filter((n) => /reason|phase/.test(n)).join(' '));
    assert.ok(std.has('runtime.v8js.gc.count.mark_sweep_compact'));
    assert.ok(full.size > std.size + 50, `${std.size} standard, ${full.size} full`);
  } finally {
    socket.close();
    done();
  }
});

test('bad detail: TypeError or RangeError naming the option, the value and the accepted levels', async () => {
  const s = new Sampler().start();
  try {
    const L = /must be 'standard' or 'full', got/;
    throwsAll([
      [() => toPrometheus(s, { detail: 'verbose' }), RangeError, /detail must be 'standard' or 'full', got "verbose"/],
      [() => toPrometheus(s, { detail: 'Full' }), RangeError, /detail must be 'standard' or 'full', got "Full"/],
      [() => toPrometheus(s, { detail: 2 }), TypeError, /detail must be 'standard' or 'full', got 2/],
      [() => toPrometheus(s, { detail: null }), TypeError, L],
      [() => toPrometheusGroup([{ sampler: s, labels: {} }], { detail: 'all' }), RangeError, L],
      [() => toJSON(s, { detail: 'max' }), RangeError, /detail must be 'standard' or 'full', got "max"/],
      [() => toJSON(s, { detail: true }), TypeError, L],
      [() => registerRuntimeMetrics({ createHistogram() {}, createObservableCounter() {}, createObservableGauge() {}, createObservableUpDownCounter() {}, addBatchObservableCallback() {}, removeBatchObservableCallback() {} }, { sampler: s, detail: 'none' }), RangeError, /detail must be 'standard' or 'full', got "none"/],
      [() => createStatsdExporter({ sampler: s, intervalMs: 0, detail: ['full'] }), TypeError, /detail must be 'standard' or 'full', got an array/],
      [() => createStatsdExporter({ sampler: s, intervalMs: 0, detail: 'basic' }), RangeError, L],
    ]);
    let error = null;
    try {
      await startMonitorThread({ sampler: s, port: 0, detail: 'everything' }).then((m) => m.close());
    } catch (e) {
      error = e;
    }
    assert.instance(error, RangeError);
    assert.match(error.message, /detail must be 'standard' or 'full', got "everything"/);
  } finally {
    s.close();
  }
});

test('RUNTIME_SAMPLER_DETAIL: standard by default, full or standard (any case), else one warning line and the default', () => {
  assert.is(parseEnv({}).config.detail, 'standard');
  assert.is(parseEnv({ RUNTIME_SAMPLER_DETAIL: 'full' }).config.detail, 'full');
  assert.is(parseEnv({ RUNTIME_SAMPLER_DETAIL: ' FULL ' }).config.detail, 'full');
  assert.is(parseEnv({ RUNTIME_SAMPLER_DETAIL: 'standard' }).config.detail, 'standard');
  assert.equal(parseEnv({ RUNTIME_SAMPLER_DETAIL: 'full' }).problems, []);
  const bad = parseEnv({ RUNTIME_SAMPLER_DETAIL: 'everything' });
  assert.is(bad.config.detail, 'standard');
  assert.is(bad.problems.length, 1);
  assert.match(bad.problems[0], /^RUNTIME_SAMPLER_DETAIL="everything" is not valid \(standard or full\); using standard$/);
});

test('the preload: /metrics and /metrics.json at RUNTIME_SAMPLER_DETAIL, standard within the budget; a bad value warns once', async () => {
  const dir = v2Fixture({ 'memory.high': '188743680\n' });
  const app = `
    let keep = [];
    setInterval(() => { for (let i = 0; i < 20000; i++) keep.push({ i }); if (keep.length > 200000) keep = []; }, 10);
    setTimeout(() => globalThis.gc && gc(), 100);
    require('runtime-sampler').registered().monitor.then((m) => console.log('PORT ' + m.port));
  `;
  const get = async (port, path) => (await fetch(`http://127.0.0.1:${port}${path}`)).text();
  const scrape = (env) => withPreloaded(app, { RUNTIME_SAMPLER_CGROUP_ROOT: dir, RUNTIME_SAMPLER_THREADPOOL_PROBE_MS: '50', NODE_OPTIONS: '--expose-gc', ...env }, async (port) => {
    await new Promise((r) => setTimeout(r, 700));
    return { text: await get(port, '/metrics'), json: JSON.parse(await get(port, '/metrics.json')) };
  });
  try {
    const std = await scrape({});
    const full = await scrape({ RUNTIME_SAMPLER_DETAIL: 'full' });
    const n = series(std.text).size;
    console.log(`preload /metrics series: standard ${n}, full ${series(full.text).size}`);
    assert.ok(n <= BUDGET, `standard /metrics has ${n} series`);
    assert.not.match(std.text, /_reason_|_phase_/);
    assert.match(full.text, /v8js_gc_mark_compact_reason_count_total\{/);
    assert.ok(series(full.text).size > n + 100);
    assert.not.ok(std.json.metrics.some((m) => m.name === 'v8js.gc.mark_compact.reason.count'));
    assert.ok(full.json.metrics.some((m) => m.name === 'v8js.gc.mark_compact.reason.count'));
    const r = spawnSync(process.execPath, ['-r', 'runtime-sampler/register', '-e', 'console.log("APP RAN", require("runtime-sampler").registered().config.detail)'], {
      cwd: require('node:path').join(__dirname, '..'), encoding: 'utf8', timeout: 30000,
      env: { ...process.env, RUNTIME_SAMPLER_PORT: '0', RUNTIME_SAMPLER_DETAIL: 'verbose' },
    });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /APP RAN standard/);
    assert.is(r.stderr.split('\n').filter((l) => /DETAIL/.test(l)).length, 1, r.stderr);
    assert.match(r.stderr, /runtime-sampler: RUNTIME_SAMPLER_DETAIL="verbose" is not valid \(standard or full\); using standard/);
  } finally {
    removeFixture(dir);
  }
});

test.run();
