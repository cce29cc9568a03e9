// node-flags: --expose-gc
// toPrometheus(): parsed back with a real parser, values against the sampler and V8,
// histogram buckets against exact counts, OpenMetrics framing, promtool when installed.
const { test } = require('uvu');
const { testUnless } = require('./helpers/skip');
const assert = require('uvu/assert');
const { throwsAll } = require('./helpers/throws');
const { spawnSync } = require('node:child_process');
const parse = require('parse-prometheus-text-format');
const { Sampler, Histogram, toPrometheus, toPrometheusGroup, PROMETHEUS_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE } = require('..');
const { cumulativeCounts, DEFAULT_DURATION_BOUNDS_NS, MONOTONIC_TIMESTAMPS } = require('../dist/cjs/exporters/common.js');
const { prometheusName } = require('../dist/cjs/exporters/prometheus.js');

const byName = (families) => Object.fromEntries(families.map((f) => [f.name, f]));
// parse-prometheus-text-format folds histograms with labels other than `le` into one
// series; for those, read the sample lines of one metric directly (the real Prometheus
// server parses them in exporter-prometheus-server.test.js).
function samples(text, name) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    const labels = {};
    for (const [, k, v] of (m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

test('every catalog metric but the monotonic timestamps is exported once, with its type, and parses back', () => {
  const s = new Sampler().start();
  const text = toPrometheus(s, { detail: 'full' });
  const fams = byName(parse(text));
  const catalog = s.catalog();
  for (const d of catalog) {
    let { name } = prometheusName(d.name, d.unit);
    if (d.kind === 'counter') name += '_total';
    assert.ok(/^[a-z][a-z0-9_]*$/.test(name), name);
    if (d.unit === 'ns' || d.unit === 'us') assert.ok(name.includes('_seconds'), name);
    if (d.unit === 'By') assert.ok(name.includes('_bytes'), name);
    const f = fams[name];
    if (MONOTONIC_TIMESTAMPS.has(d.name)) {
      // Monotonic-clock ns since an arbitrary point: meaningless to a server (time() - x).
      assert.is(f, undefined, `${name} left out`);
      continue;
    }
    assert.ok(f, `${d.name} exported as ${name}`);
    assert.is(f.type, d.kind.toUpperCase() === 'COUNTER' ? 'COUNTER' : d.kind === 'histogram' ? 'HISTOGRAM' : 'GAUGE', name);
  }
  // One family per name: TYPE lines are unique.
  const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
  assert.is(new Set(types).size, types.length);
  assert.ok(text.endsWith('\n'));
  assert.ok(!text.includes('# EOF'));
  s.close();
});

test('values: GC counts by type, pause, heap and CPU agree with the sampler after forced GCs', () => {
  const s = new Sampler().start();
  for (let i = 0; i < 4; i++) globalThis.gc();
  const before = s.read();
  const text = toPrometheus(s, { detail: 'full' });
  const fams = byName(parse(text));
  const after = s.read();
  // A GC can run between the reads (parsing allocates): values lie between before and after.
  const within = (v, lo, hi, what) => assert.ok(v >= lo && v <= hi, `${what}: ${v} not in [${lo}, ${hi}]`);
  const counts = fams.v8js_gc_count_total.metrics;
  const msc = Number(counts.find((m) => m.labels.v8js_gc_type === 'mark_sweep_compact').value);
  assert.ok(msc >= 4, `mark-sweep-compact count ${msc}`);
  within(msc, before.gc.byType.markSweepCompact.count, after.gc.byType.markSweepCompact.count, 'mark-sweep-compacts');
  const total = counts.reduce((a, m) => a + Number(m.value), 0);
  within(total, before.gc.count, after.gc.count, 'GC total');
  // The histogram has every GC, its sum the total pause.
  const mscCount = samples(text, 'v8js_gc_duration_seconds_count').find((m) => m.labels.v8js_gc_type === 'mark_sweep_compact');
  const mscSum = samples(text, 'v8js_gc_duration_seconds_sum').find((m) => m.labels.v8js_gc_type === 'mark_sweep_compact');
  within(mscCount.value, msc, after.gc.byType.markSweepCompact.count, 'mark-sweep-compact histogram count');
  if (mscCount.value === after.gc.byType.markSweepCompact.count) {
    assert.ok(Math.abs(mscSum.value - after.gc.byType.markSweepCompact.pauseNs / 1e9) < 1e-9);
  }
  const used = Number(fams.v8js_heap_used_bytes.metrics[0].value);
  assert.ok(used >= Math.min(before.heap.usedBytes, after.heap.usedBytes) && used <= Math.max(before.heap.usedBytes, after.heap.usedBytes));
  const cpu = fams.process_cpu_time_seconds_total.metrics;
  const user = Number(cpu.find((m) => m.labels.cpu_mode === 'user').value);
  assert.ok(Math.abs(user - after.process.cpuUserUs / 1e6) < 0.05, `user CPU ${user}`);
  // Unattributed totals are left out where the family has attributed series.
  assert.ok(counts.every((m) => m.labels.v8js_gc_type !== undefined));
  s.close();
});

test('histogram buckets are cumulative, end at +Inf = count, and are exact on the default bounds', () => {
  const s = new Sampler({ loopDelayResolutionMs: 5 }).start();
  for (let i = 0; i < 3; i++) globalThis.gc();
  const text = toPrometheus(s, { detail: 'full' });
  const histNames = text.split('\n').filter((l) => / histogram$/.test(l)).map((l) => l.split(' ')[2]);
  assert.equal(histNames.sort(), ['nodejs_eventloop_delay_seconds', 'nodejs_eventloop_iteration_duration_seconds', 'nodejs_threadpool_delay_seconds', 'v8js_gc_duration_seconds', 'v8js_gc_time_to_safepoint_duration_seconds']);
  let series = 0;
  for (const name of histNames) {
    const counts = samples(text, `${name}_count`);
    for (const c of counts) {
      const key = JSON.stringify(c.labels);
      const buckets = samples(text, `${name}_bucket`).filter((b) => { const rest = { ...b.labels }; delete rest.le; return JSON.stringify(rest) === key; });
      assert.is(buckets.at(-1).labels.le, '+Inf');
      let prevLe = 0;
      let prev = 0;
      for (const b of buckets) {
        const le = b.labels.le === '+Inf' ? Infinity : Number(b.labels.le);
        assert.ok(le > prevLe && b.value >= prev, `${name} ${key} le ${b.labels.le}`);
        prevLe = le;
        prev = b.value;
      }
      assert.is(buckets.at(-1).value, c.value);
      series++;
    }
  }
  assert.is(series, 2 + 5 + 1 + 1); // delay, iteration, the GC pause by each of 5 types, time to safepoint, threadpool delay
  // Exactness: values recorded into a histogram, counted at the default bounds.
  const h = new Histogram();
  const values = [];
  let x = 12345;
  for (let i = 0; i < 5000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const v = 2 ** (8 + (x / 2 ** 31) * 28); // 256 ns … 17 s, log-uniform
    values.push(v);
    h.record(v);
  }
  values.push(2 ** 20, 2 ** 22); // exactly on bounds: le is inclusive
  h.record(2 ** 20);
  h.record(2 ** 22);
  const cum = cumulativeCounts(h, DEFAULT_DURATION_BOUNDS_NS);
  DEFAULT_DURATION_BOUNDS_NS.forEach((b, i) => {
    assert.is(cum[i], values.filter((v) => v <= b).length, `le ${b}`);
  });
  // Bounds inside exponential buckets: off by at most the values in one bucket.
  const odd = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
  const cumOdd = cumulativeCounts(h, odd);
  odd.forEach((b, i) => {
    const exact = values.filter((v) => v <= b).length;
    const near = values.filter((v) => v > b / 1.011 && v <= b * 1.011).length;
    assert.ok(Math.abs(cumOdd[i] - exact) <= near, `le ${b}: ${cumOdd[i]} vs exact ${exact} (±${near})`);
  });
  s.close();
});

test('labels, prefix and escaping round-trip through the parser', () => {
  const s = new Sampler().start();
  const text = toPrometheus(s, { prefix: 'app_', labels: { service: 'a "quoted" \\ back\nslash', zone: 3 } });
  const fams = parse(text).filter((f) => f.type !== 'HISTOGRAM');
  assert.ok(fams.length > 20);
  for (const f of fams) {
    assert.ok(f.name.startsWith('app_'), f.name);
    for (const m of f.metrics) {
      assert.is(m.labels.service, 'a "quoted" \\ back\nslash');
      assert.is(m.labels.zone, '3');
    }
  }
  for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) assert.ok(line.startsWith('app_'), line);
  s.close();
});

test('custom buckets, per histogram or for all', () => {
  const s = new Sampler().start();
  globalThis.gc();
  const les = (text, name) => [...new Set(samples(text, name).map((b) => b.labels.le))];
  const all = toPrometheus(s, { buckets: [0.001, 0.01, 0.1] });
  assert.equal(les(all, 'v8js_gc_duration_seconds_bucket'), ['0.001', '0.01', '0.1', '+Inf']);
  assert.equal(les(all, 'nodejs_eventloop_delay_seconds_bucket'), ['0.001', '0.01', '0.1', '+Inf']);
  const one = toPrometheus(s, { buckets: { 'v8js.gc.duration': [0.5, 1] }, detail: 'full' });
  assert.equal(les(one, 'v8js_gc_duration_seconds_bucket'), ['0.5', '1', '+Inf']);
  assert.is(les(one, 'nodejs_eventloop_delay_seconds_bucket').length, DEFAULT_DURATION_BOUNDS_NS.length + 1);
  s.close();
});

test('OpenMetrics: # EOF, UNIT lines, counter families without _total', () => {
  const s = new Sampler().start();
  const text = toPrometheus(s, { format: 'openmetrics' });
  assert.ok(text.endsWith('# EOF\n'));
  assert.is(text.split('\n').filter((l) => l === '# EOF').length, 1);
  assert.ok(/^# TYPE v8js_gc_count counter$/m.test(text));
  assert.ok(/^v8js_gc_count_total\{/m.test(text));
  assert.ok(/^# UNIT v8js_gc_pause_time_seconds seconds$/m.test(text));
  assert.ok(/^# UNIT v8js_heap_used_bytes bytes$/m.test(text));
  // Every UNIT is a suffix of its family name.
  for (const l of text.split('\n').filter((x) => x.startsWith('# UNIT '))) {
    const [, , fam, unit] = l.split(' ');
    assert.ok(fam.endsWith(`_${unit}`), l);
  }
  assert.ok(PROMETHEUS_CONTENT_TYPE.startsWith('text/plain; version=0.0.4'));
  assert.ok(OPENMETRICS_CONTENT_TYPE.startsWith('application/openmetrics-text; version=1.0.0'));
  s.close();
});

test('container and threadpool families in both formats: names, types, units, +Inf, NaN left out', async () => {
  const { v2Fixture, removeFixture } = require('./helpers/cgroup');
  const dir = v2Fixture({ 'memory.max': 'max\n', 'memory.events': undefined });
  const s = new Sampler({ cgroupRoot: dir, threadpoolProbeMs: 10 }).start();
  try {
    const deadline = Date.now() + 2000;
    while (s.read().threadpool.probes < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const format of ['prometheus', 'openmetrics']) {
      const om = format === 'openmetrics';
      const text = toPrometheus(s, { format });
      const type = (fam) => new RegExp(`^# TYPE ${fam} (\\w+)$`, 'm').exec(text)?.[1];
      const counter = (fam) => (om ? fam : `${fam}_total`);
      assert.is(type('nodejs_container_memory_limit_bytes'), 'gauge');
      assert.match(text, /^nodejs_container_memory_limit_bytes \+Inf$/m);
      assert.match(text, /^nodejs_container_memory_high_bytes \+Inf$/m);
      assert.match(text, /^nodejs_container_memory_usage_bytes 104857600$/m);
      assert.match(text, /^nodejs_container_cpu_quota 0\.2$/m);
      assert.is(type(counter('nodejs_container_cpu_throttled_time_seconds')), 'counter');
      assert.match(text, /^nodejs_container_cpu_throttled_time_seconds_total 2\.5$/m);
      assert.match(text, /^nodejs_container_cpu_periods_total 50$/m);
      assert.match(text, /^nodejs_container_memory_pressure_seconds_total\{kind="some"\} 0\.0015$/m);
      // No memory.events: the family is declared, without a sample (never NaN).
      assert.is(type(counter('nodejs_container_memory_oom_kill')), 'counter');
      assert.not.match(text, /^nodejs_container_memory_oom_kill_total /m);
      assert.not.match(text, /^[^#].* NaN$/m);
      assert.is(type('nodejs_threadpool_delay_seconds'), 'histogram');
      assert.is(type(counter('nodejs_threadpool_probes')), 'counter');
      assert.is(type('nodejs_threadpool_in_flight_duration_seconds'), 'gauge');
      if (om) {
        for (const fam of ['nodejs_container_memory_limit_bytes', 'nodejs_container_cpu_throttled_time_seconds', 'nodejs_threadpool_delay_seconds', 'nodejs_threadpool_delay_max_seconds']) {
          assert.match(text, new RegExp(`^# UNIT ${fam} (bytes|seconds)$`, 'm'), fam);
        }
        assert.not.match(text, /^# UNIT nodejs_container_cpu_quota /m);
      }
    }
    if (!noPromtool) {
      const r = spawnSync('promtool', ['check', 'metrics'], { input: toPrometheus(s, { detail: 'full' }), encoding: 'utf8' });
      assert.is(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    }
  } finally {
    s.close();
    removeFixture(dir);
  }
});

const noPromtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error ? 'promtool is not installed (Debian package prometheus)' : null;
testUnless(test, noPromtool, 'promtool check metrics accepts the output (CI installs prometheus)', () => {
  const s = new Sampler().start();
  globalThis.gc();
  // promtool parses the 0.0.4 text format (OpenMetrics is checked by a real Prometheus
  // server scraping it, in exporter-prometheus-server.test.js) and lints names and help.
  for (const opts of [{}, { prefix: 'app_', labels: { service: 'api' } }, { detail: 'full' }]) {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: toPrometheus(s, opts), encoding: 'utf8' });
    assert.is(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  }
  s.close();
});

test('bad input: clear TypeError / RangeError naming the option', () => {
  const s = new Sampler();
  const cases = [
    [() => toPrometheus(null), TypeError, /sampler must be a runtime-sampler Sampler, SamplerView or SamplerAggregate, got null/],
    [() => toPrometheus(s, 'x'), TypeError, /options must be an object, got "x"/],
    [() => toPrometheus(s, { formt: 'openmetrics' }), TypeError, /unknown option "formt"; accepted options: format, prefix, labels, buckets/],
    [() => toPrometheus(s, { format: 'json' }), RangeError, /format must be 'prometheus' or 'openmetrics', got "json"/],
    [() => toPrometheus(s, { prefix: '1abc' }), RangeError, /prefix must be a metric-name prefix.*got "1abc"/],
    [() => toPrometheus(s, { prefix: 3 }), TypeError, /prefix must be a string, got 3/],
    [() => toPrometheus(s, { labels: [] }), TypeError, /labels must be an object/],
    [() => toPrometheus(s, { labels: { 'a-b': 'x' } }), RangeError, /label name "a-b" is not valid/],
    [() => toPrometheus(s, { labels: { a: {} } }), TypeError, /labels\.a must be a string or a number/],
    [() => toPrometheus(s, { buckets: [0.1, 0.01] }), RangeError, /buckets must be sorted in strictly increasing order: \[0\] = 0.1, \[1\] = 0.01/],
    [() => toPrometheus(s, { buckets: [-1, 1] }), RangeError, /buckets\[0\] must be a finite number > 0.*got -1/],
    [() => toPrometheus(s, { buckets: [NaN] }), RangeError, /buckets\[0\] must be a finite number > 0.*got NaN/],
    [() => toPrometheus(s, { buckets: ['1'] }), TypeError, /buckets\[0\] must be a number, got "1"/],
    [() => toPrometheus(s, { buckets: [] }), RangeError, /at least one bucket/],
    [() => toPrometheus(s, { buckets: 5 }), TypeError, /buckets must be an array of upper bounds/],
    [() => toPrometheus(s, { buckets: { 'v8js.gc.pause': [1] } }), RangeError, /unknown histogram "v8js.gc.pause"; accepted: .*v8js.gc.duration/],
  ];
  throwsAll(cases);
  s.close();
});

test('toPrometheusGroup(): each family once, every reader\'s series with its labels; readers with other catalogs', () => {
  const s = new Sampler().start();
  // A reader whose catalog lacks a family (another Node version's would lack or add some).
  const fewer = {
    read: (into) => s.read(into), histograms: s.histograms, heapSpaceNames: s.heapSpaceNames, threadId: 0, closed: false,
    catalog: () => s.catalog().filter((d) => d.name !== 'nodejs.eventloop.delay'),
  };
  const text = toPrometheusGroup([{ sampler: fewer, labels: { pid: '2', title: 'b "x"\\\n' } }, { sampler: s, labels: {} }, { sampler: s, labels: { pid: '1' } }]);
  for (const header of text.match(/^# TYPE \S+/gm)) assert.is(text.split(`${header} `).length, 2, `${header} once`);
  const count = samples(text, 'v8js_gc_count_total');
  assert.is(count.length, 15);
  assert.equal([...new Set(count.map((x) => x.labels.pid ?? 'none'))], ['2', 'none', '1']);
  assert.ok(text.includes('v8js_gc_count_total{v8js_gc_type="scavenge",pid="2",title="b \\"x\\"\\\\\\n"} '));
  const delay = samples(text, 'nodejs_eventloop_delay_seconds_count');
  assert.equal(delay.map((x) => x.labels.pid ?? 'none'), ['none', '1'], 'the family the first reader lacks, from the others');
  // Families stay whole: no family's lines are split by another's.
  const names = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/[{ ].*/, '').replace(/_(bucket|sum|count)$/, ''));
  const seen = new Set();
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && names[i] !== names[i - 1]) {
      assert.not.ok(seen.has(names[i]), `${names[i]} comes back after another family`);
      seen.add(names[i - 1]);
    }
  }
  if (!noPromtool) {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.is(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  }
  assert.is(toPrometheusGroup([]), '');
  assert.is(toPrometheusGroup([], { format: 'openmetrics' }), '# EOF\n');
  const om = toPrometheusGroup([{ sampler: s, labels: { pid: '1' } }, { sampler: s, labels: { pid: '2' } }], { format: 'openmetrics', labels: { job: 'x' } });
  assert.is(om.match(/# EOF/g).length, 1);
  assert.ok(om.includes('pid="2"'));
  assert.ok(om.includes('{v8js_gc_type="scavenge",job="x",pid="2"}'));
  throwsAll([
    [() => toPrometheusGroup(s), TypeError, /toPrometheusGroup\(\): sources must be an array of \{ sampler, labels \}/],
    [() => toPrometheusGroup([null]), TypeError, /sources\[0\] must be \{ sampler, labels \}, got null/],
    [() => toPrometheusGroup([{ sampler: {} }]), TypeError, /sources\[0\]: sampler must be a runtime-sampler Sampler/],
    [() => toPrometheusGroup([{ sampler: s, labels: { 'a-b': '1' } }]), RangeError, /sources\[0\]\.labels: label name "a-b" is not valid/],
    [() => toPrometheusGroup([{ sampler: s, labels: { pid: 1 } }, { sampler: s, labels: { pid: '1' } }]), RangeError, /sources\[1\] has the same labels as sources\[0\]/],
    [() => toPrometheusGroup([{ sampler: s, labels: { t: 'x'.repeat(1025) } }]), RangeError, /sources\[0\]\.labels\.t is 1025 characters long; at most 1024/],
    [() => toPrometheusGroup([{ sampler: s, labels: { job: 'a' } }], { labels: { job: 'b' } }), RangeError, /labels: "job" is also a member's label/],
    [() => toPrometheusGroup([{ sampler: s, labels: {} }], { formt: 1 }), TypeError, /unknown option "formt"/],
  ]);
  s.close();
});

test.run();
