// node-flags: --expose-gc
// runtime-sampler/prom-client against the real prom-client in the same process: the same
// names, types, label names and default buckets (ours ⊇ theirs), values from the sampler,
// every GC counted (against --trace-gc), and scrapes that do not reset each other.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { throwsAll } = require('./helpers/throws');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const client = require('prom-client');
const { Sampler } = require('..');
const { collectDefaultMetrics } = require('runtime-sampler/prom-client'); // the package's own exports map

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function block(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

function shape(registry) {
  const out = {};
  for (const m of registry.getMetricsAsArray()) {
    out[m.name] = { type: m.type, labelNames: [...m.labelNames].sort(), upperBounds: m.upperBounds };
  }
  return out;
}

test('names, types, label names and default buckets: ours ⊇ prom-client collectDefaultMetrics()', async () => {
  for (const config of [{}, { prefix: 'app_', labels: { service: 'api', zone: 'b' } }, { gcDurationBuckets: [0.0001, 0.5] }]) {
    const theirs = new client.Registry();
    const ours = new client.Registry();
    client.collectDefaultMetrics({ ...config, register: theirs });
    const h = collectDefaultMetrics({ ...config, register: ours });
    const a = shape(theirs);
    const b = shape(ours);
    assert.ok(Object.keys(a).length >= 25, `prom-client registered ${Object.keys(a).length}`);
    for (const [name, m] of Object.entries(a)) {
      assert.ok(b[name], `${JSON.stringify(config)}: missing ${name}`);
      assert.is(b[name].type, m.type, name);
      assert.equal(b[name].labelNames, m.labelNames, name);
      if (m.upperBounds) assert.equal(b[name].upperBounds, m.upperBounds, `${name} buckets`);
    }
    // Additions are clearly named: none shadows a prom-client name, all render.
    const extra = Object.keys(b).filter((n) => !a[n]);
    assert.ok(extra.includes(`${config.prefix ?? ''}nodejs_eventloop_utilization_ratio`));
    assert.ok(extra.includes(`${config.prefix ?? ''}nodejs_gc_collections`));
    assert.ok(!extra.includes(`${config.prefix ?? ''}nodejs_gc_pause_max_seconds`), 'a full-only addition at detail standard');
    assert.ok(extra.length >= 12, extra.join(', '));
    const text = await ours.metrics();
    for (const name of Object.keys(b)) assert.ok(text.includes(`# TYPE ${name} `), name);
    if (config.labels) {
      for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) assert.ok(line.includes('service="api"'), line);
    }
    h.close();
    assert.is(ours.getMetricsAsArray().length, 0, 'close() unregisters');
    theirs.clear();
  }
});

test('values come from the sampler and agree with Node', async () => {
  const s = new Sampler({ loopDelayResolutionMs: 10 }).start();
  const reg = new client.Registry();
  const h = collectDefaultMetrics({ register: reg, sampler: s });
  assert.is(h.sampler, s);
  await sleep(30);
  block(60);
  await sleep(30);
  for (let i = 0; i < 3; i++) globalThis.gc();
  const json = Object.fromEntries((await reg.getMetricsAsJSON()).map((m) => [m.name, m]));
  const v = (name, labels = {}) => json[name].values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val))?.value;
  const snap = s.read();
  const mem = process.memoryUsage();
  assert.ok(Math.abs(v('nodejs_heap_size_used_bytes') - mem.heapUsed) / mem.heapUsed < 0.25);
  assert.ok(Math.abs(v('process_resident_memory_bytes') - mem.rss) / mem.rss < 0.25);
  const cpu = process.cpuUsage();
  assert.ok(Math.abs(v('process_cpu_user_seconds_total') - cpu.user / 1e6) < 0.2);
  assert.ok(Math.abs(v('process_cpu_seconds_total') - (v('process_cpu_user_seconds_total') + v('process_cpu_system_seconds_total'))) < 1e-9);
  assert.ok(v('nodejs_eventloop_lag_max_seconds') >= 0.06, `lag max ${v('nodejs_eventloop_lag_max_seconds')}`);
  assert.ok(v('nodejs_eventloop_lag_min_seconds') > 0 && v('nodejs_eventloop_lag_p50_seconds') >= v('nodejs_eventloop_lag_min_seconds'));
  assert.ok(v('nodejs_eventloop_lag_stddev_seconds') > 0);
  assert.ok(v('nodejs_heap_space_size_used_bytes', { space: 'old' }) > 0);
  assert.is(v('nodejs_version_info', { version: process.version }), 1);
  const major = json.nodejs_gc_duration_seconds.values.find((x) => x.metricName === 'nodejs_gc_duration_seconds_count' && x.labels.kind === 'major');
  assert.ok(major.value >= 3, `major GCs ${major.value}`);
  assert.is(major.value, s.read().gc.byType.markSweepCompact.count);
  assert.ok(v('nodejs_gc_collections', { type: 'mark_sweep_compact' }) >= 3);
  assert.ok(v('nodejs_eventloop_utilization_ratio') > 0 && v('nodejs_eventloop_utilization_ratio') <= 1);
  assert.ok(v('process_open_fds') > 0);
  assert.ok(snap.process.openFds > 0);
  h.close();
  assert.is(s.closed, false, 'a sampler passed in is not closed by close()');
  s.close();
});

test('two scrapers do not reset each other: the lag window is the same for both', async () => {
  const reg = new client.Registry();
  const h = collectDefaultMetrics({ register: reg, eventLoopMonitoringPrecision: 5 });
  await sleep(20);
  block(80);
  await sleep(20);
  const max = async () => (await reg.getSingleMetric('nodejs_eventloop_lag_max_seconds').get()).values[0].value;
  const first = await max();
  const second = await max(); // prom-client would report ~0.005 here: its first scrape reset the histogram
  assert.ok(first >= 0.08, `first scrape ${first}`);
  assert.ok(second >= 0.08, `second scrape ${second}`);
  assert.is(h.sampler.options.loopDelayResolutionMs, 5);
  h.close();
  assert.is(h.sampler.closed, true, 'a sampler created here is closed by close()');
});

test('every GC is counted: nodejs_gc_duration_seconds against --trace-gc in the same process', () => {
  const child = `
    const client = require('prom-client');
    const { collectDefaultMetrics } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'cjs', 'exporters', 'prom-client.js'))});
    const ours = new client.Registry();
    const theirs = new client.Registry();
    collectDefaultMetrics({ register: ours });
    client.collectDefaultMetrics({ register: theirs });
    // --trace-gc prints one line per scavenge, minor and full mark-compact; incremental
    // marking steps (kind "incremental") and weak-callback passes are not lines of their own.
    const count = async (reg) => (await reg.getSingleMetric('nodejs_gc_duration_seconds').get()).values
      .filter((x) => x.metricName === 'nodejs_gc_duration_seconds_count' && (x.labels.kind === 'minor' || x.labels.kind === 'major'))
      .reduce((a, x) => a + x.value, 0);
    (async () => {
      await new Promise((r) => setTimeout(r, 20));
      // A full GC before each mark leaves the young generation empty, so no GC of its own
      // falls between a mark and the read next to it.
      gc();
      const o0 = await count(ours), t0 = await count(theirs);
      process.stdout.write('MARK START\\n');
      let keep = [];
      for (let slice = 0; slice < 30; slice++) {
        for (let i = 0; i < 100000; i++) { keep.push({ i, s: 'x' + i, a: [i] }); if (keep.length > 30000) keep = []; }
        if (slice % 10 === 9) gc();
        await new Promise((r) => setImmediate(r));
      }
      gc();
      process.stdout.write('MARK END\\n');
      const o1 = await count(ours);
      await new Promise((r) => setTimeout(r, 50)); // prom-client's observer runs later
      const t1 = await count(theirs);
      process.stdout.write('COUNTS ' + JSON.stringify({ ours: o1 - o0, theirs: t1 - t0 }) + '\\n');
      process.exit(0);
    })();
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--trace-gc', '-e', child], { encoding: 'utf8', cwd: path.join(__dirname, '..') });
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout;
  const window = out.slice(out.indexOf('MARK START'), out.indexOf('MARK END'));
  const traced = window.split('\n').filter((l) => /\d+ ms: (Scavenge|Minor Mark-(Sweep|Compact)|(Incremental )?Mark-(Compact|sweep))\b/.test(l)).length;
  const counts = JSON.parse(/COUNTS (.*)/.exec(out)[1]);
  assert.ok(traced >= 10, `--trace-gc saw ${traced} GCs`); // Node 24 scavenges less often (18 seen)
  assert.is(counts.ours, traced, `ours ${counts.ours} vs --trace-gc ${traced} (prom-client: ${counts.theirs})`);
  assert.ok(counts.theirs <= traced);
});

const KIND = { scavenge: 'minor', minorMarkSweep: 'minor', markSweepCompact: 'major', incrementalMarking: 'incremental', processWeakCallbacks: 'weakcb' };

/** nodejs_gc_duration_seconds from getMetricsAsJSON(): kind → { le → cumulative count, count, sum }. */
async function gcDurations(reg, name = 'nodejs_gc_duration_seconds') {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const out = {};
  for (const v of m.values) {
    const k = (out[v.labels.kind] ??= { le: {}, count: 0, sum: 0 });
    if (v.metricName === `${name}_bucket`) k.le[v.labels.le] = v.value;
    else if (v.metricName === `${name}_count`) k.count = v.value;
    else if (v.metricName === `${name}_sum`) k.sum = v.value;
  }
  return out;
}

function allocate(slices) {
  let keep = [];
  for (let i = 0; i < slices * 40000; i++) {
    keep.push({ i, s: 'x' + i });
    if (keep.length > 20000) keep = [];
  }
  return keep.length;
}

test('nodejs_gc_duration_seconds buckets: exactly what observe() would count, on and off the base-2 grid', async () => {
  const s = new Sampler().start();
  const reg = new client.Registry();
  // 2^18 ns and 2^20 ns are bucket bounds of the sampler's histograms; the others fall
  // inside its buckets, where only the GC events can say which side a pause is on.
  const bounds = [0.00002, 0.00005, 0.0001, 0.000262144, 0.0003, 0.0005, 0.001, 0.001048576, 0.0015, 0.002, 0.005, 0.01, 0.1];
  const h = collectDefaultMetrics({ register: reg, sampler: s, gcDurationBuckets: bounds });
  const events = [];
  s.onGC((e) => events.push(e));
  // The baseline scrape and the events' reset must see the same GCs: a GC between them (the
  // scrape allocates, and awaits) would be in one and not the other (ci23: 35 against 34).
  // read() delivers every pending event first, so equal counts around both mean none fell
  // in between.
  let before;
  for (let tries = 0; ; tries++) {
    const c0 = s.read().gc.count;
    before = await gcDurations(reg);
    const c1 = s.read().gc.count;
    events.length = 0;
    if (c1 === c0) break;
    assert.ok(tries < 20, 'a GC fell between the baseline scrape and the reset 20 times running');
  }
  for (let slice = 0; slice < 40; slice++) {
    allocate(3);
    if (slice % 8 === 7) globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
  // Likewise the final scrape and the events: no GC between them.
  let after;
  for (let tries = 0; ; tries++) {
    const c0 = s.read().gc.count;
    after = await gcDurations(reg);
    if (s.read().gc.count === c0) break;
    assert.ok(tries < 20, 'a GC fell inside the final scrape 20 times running');
  }
  // The reference: prom-client's own Histogram, each of those GCs observe()d.
  const ref = new client.Histogram({ name: 'ref_gc_duration_seconds', help: 'ref', labelNames: ['kind'], buckets: bounds, registers: [] });
  for (const e of events) ref.observe({ kind: KIND[e.type] }, e.pauseNs / 1e9);
  const refReg = new client.Registry();
  refReg.registerMetric(ref);
  const want = await gcDurations(refReg, 'ref_gc_duration_seconds');
  assert.ok(events.length >= 20, `${events.length} GCs`);
  const kinds = new Set(events.map((e) => KIND[e.type]));
  assert.ok(kinds.has('minor') && kinds.has('major'), [...kinds].join());
  for (const kind of kinds) {
    const mine = events.filter((e) => KIND[e.type] === kind);
    const a = after[kind];
    const b = before[kind] ?? { le: {}, count: 0, sum: 0 };
    assert.is(a.count - b.count, mine.length, `${kind} count`);
    assert.is(a.le['+Inf'] - (b.le['+Inf'] ?? 0), mine.length, `${kind} +Inf`);
    const sum = mine.reduce((x, e) => x + e.pauseNs / 1e9, 0);
    assert.ok(Math.abs(a.sum - b.sum - sum) <= 1e-9 * Math.max(1, sum) + 1e-12, `${kind} sum ${a.sum - b.sum} vs ${sum}`);
    for (const le of [...bounds, '+Inf']) assert.is(a.le[le] - (b.le[le] ?? 0), want[kind].le[le], `${kind} le=${le}`);
    assert.is(want[kind].count, mine.length);
  }
  // The pauses straddle the bounds under test: not every bucket is trivially 0 or all.
  const pauses = events.map((e) => e.pauseNs / 1e9);
  assert.ok(bounds.filter((le) => pauses.some((p) => p <= le) && pauses.some((p) => p > le)).length >= 3, pauses.join());
  h.close();
  s.close();
});

test('nodejs_gc_duration_seconds counts every GC of the sampler: from before registration, and past a full event ring', async () => {
  // A 64-record ring, never drained while 150 full GCs run: most events are dropped.
  const s = new Sampler({ ringCapacity: 64 }).start();
  for (let i = 0; i < 3; i++) globalThis.gc();
  s.read(); // drained before the drop-in exists: it never sees these as events
  const reg = new client.Registry();
  // 2^20 ns (on the grid: exact whatever the events) and prom-client's defaults.
  const bounds = [0.001, 0.001048576, 0.01, 0.1, 1, 2, 5];
  const h = collectDefaultMetrics({ register: reg, sampler: s, gcDurationBuckets: bounds });
  const check = async (label) => {
    const d = await gcDurations(reg);
    const snap = s.read();
    const major = snap.gc.byType.markSweepCompact;
    assert.is(d.major.count, major.count, `${label}: major count`);
    assert.is(d.major.le['+Inf'], major.count, `${label}: +Inf`);
    assert.ok(Math.abs(d.major.sum - major.pauseNs / 1e9) < 1e-9, `${label}: sum`);
    let total = 0;
    for (const k of Object.values(d)) total += k.count;
    assert.is(total, snap.gc.count, `${label}: every kind`);
    const exact = s.histograms.gcPauseByType.markSweepCompact;
    let atBound = 0;
    for (const [, upper, c] of exact.buckets()) if (upper <= 1048576) atBound += c;
    assert.is(d.major.le[0.001048576], atBound + exact.zeroCount, `${label}: le on the grid`);
    let prev = 0;
    for (const le of bounds) {
      assert.ok(d.major.le[le] >= prev && d.major.le[le] <= major.count, `${label}: le=${le} cumulative`);
      prev = d.major.le[le];
    }
    return major.count;
  };
  assert.ok((await check('history')) >= 3);
  const dropped = s.read().sampler.ringDropped;
  for (let i = 0; i < 150; i++) globalThis.gc();
  assert.ok(s.read().sampler.ringDropped > dropped + 50, 'the ring overflowed');
  assert.ok((await check('overflow')) >= 153);
  h.close();
  s.close();
});

test('two scrapers in a row: one snapshot a scrape, values never stale, never counted twice', async () => {
  const s = new Sampler().start();
  const reg = new client.Registry();
  const h = collectDefaultMetrics({ register: reg, sampler: s });
  let reads = 0;
  const read = s.read;
  s.read = function (...args) {
    reads++;
    return read.apply(this, args);
  };
  const total = (text, name) => text.split('\n').filter((l) => l.startsWith(name)).reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  const gcs = (text) => total(text, 'nodejs_gc_duration_seconds_count');
  // Every metric of a scrape from one read of the shared block (~40 metrics read it).
  reads = 0;
  const first = await reg.metrics();
  assert.is(reads, 1, 'reads in one metrics()');
  reads = 0;
  await reg.getMetricsAsJSON();
  assert.is(reads, 1, 'reads in one getMetricsAsJSON()');
  // Two scrapers in the same pass see the same values.
  const [a, b] = await Promise.all([reg.metrics(), reg.metrics()]);
  assert.is(a, b);
  // A GC between two scrapes with no loop turn between them: the second has it, once.
  for (let round = 0; round < 5; round++) {
    const before = s.read().gc.count;
    const one = await reg.metrics();
    const mid = s.read().gc.count;
    globalThis.gc();
    const two = await reg.metrics();
    const after = s.read().gc.count;
    assert.ok(gcs(one) >= before && gcs(one) <= mid, `round ${round}: ${gcs(one)} in [${before}, ${mid}]`);
    assert.ok(gcs(two) >= mid + 1 && gcs(two) <= after, `round ${round}: ${gcs(two)} in [${mid + 1}, ${after}]`);
    assert.ok(total(two, 'nodejs_gc_collections{type="mark_sweep_compact"}') > total(one, 'nodejs_gc_collections{type="mark_sweep_compact"}'));
  }
  assert.ok(gcs(first) <= gcs(a));
  s.read = read;
  h.close();
  s.close();
});

test('the registry\'s own features still apply: default labels, OpenMetrics, JSON labels of their own', async () => {
  const reg = new client.Registry();
  const h = collectDefaultMetrics({ register: reg, labels: { service: 'api' } });
  globalThis.gc();
  reg.setDefaultLabels({ pod: 'p1', service: 'ignored' });
  const text = await reg.metrics();
  const series = text.split('\n').filter((l) => l && !l.startsWith('#'));
  assert.ok(series.length > 100, `${series.length} series`);
  for (const l of series) {
    // Every series has both, once each; a series' own label wins over a default one.
    assert.ok(/[{,]pod="p1"[,}]/.test(l) && /[{,]service="api"[,}]/.test(l), l);
    assert.not.ok(l.includes('ignored'), l);
  }
  // As prom-client's own histograms write them (the order of labels is not significant).
  assert.match(text, /^nodejs_gc_duration_seconds_bucket\{le="0\.001",pod="p1",kind="major",service="api"\} \d+$/m);
  assert.match(text, /^nodejs_heap_space_size_used_bytes\{[^}]*space="old"[^}]*\} \d+$/m);
  reg.setContentType(client.openMetricsContentType);
  const om = await reg.metrics();
  assert.match(om, /^# TYPE process_cpu_user_seconds counter$/m);
  assert.match(om, /^process_cpu_user_seconds_total\{(pod="p1",service="api"|service="api",pod="p1")\} [\d.e-]+$/m);
  assert.not.match(om, /_total_total/);
  assert.ok(om.endsWith('# EOF\n'));
  // JSON values carry labels of their own: changing one changes nothing in the next scrape.
  const json = await reg.getMetricsAsJSON();
  const heap = json.find((m) => m.name === 'nodejs_heap_space_size_used_bytes');
  heap.values[0].labels.space = 'changed';
  const again = (await reg.getMetricsAsJSON()).find((m) => m.name === 'nodejs_heap_space_size_used_bytes');
  assert.not.ok(again.values.some((v) => v.labels.space === 'changed'));
  assert.not.match(await reg.metrics(), /changed/);
  h.close();
});

test('additions: container and threadpool families exactly as toPrometheus() writes them (+Inf kept, NaN left out)', async () => {
  const { toPrometheus } = require('..');
  const { v2Fixture, removeFixture } = require('./helpers/cgroup');
  // memory.max "max": +Inf; no memory.events: its four counters have no series.
  const dir = v2Fixture({ 'memory.max': 'max\n', 'memory.events': undefined });
  const s = new Sampler({ cgroupRoot: dir, threadpoolProbeMs: 10 }).start();
  try {
    const deadline = Date.now() + 2000;
    while (s.read().threadpool.probes < 5 && Date.now() < deadline) await sleep(10);
    s.stop(); // nothing moves between the two renderings
    const families = (text, prefix) => {
      const out = new Map();
      let fam = null;
      for (const l of text.split('\n')) {
        const m = /^# (?:HELP|TYPE) (\S+)/.exec(l);
        if (m) fam = m[1];
        if (fam && fam.startsWith(`${prefix}nodejs_container_`) || fam && fam.startsWith(`${prefix}nodejs_threadpool_`)) {
          if (!out.has(fam)) out.set(fam, []);
          if (l) out.get(fam).push(l);
        }
      }
      return out;
    };
    for (const config of [{}, { prefix: 'app_', labels: { service: 'api' } }, { detail: 'full' }]) {
      const reg = new client.Registry();
      const h = collectDefaultMetrics({ ...config, register: reg, sampler: s });
      // The drop-in starts a stopped sampler: stop it again, and let a probe in flight land
      // (its waiting time grows on the reader's clock), so that nothing moves in between.
      s.stop();
      for (let i = 0; i < 200 && s.read().threadpool.inFlight === 1; i++) await sleep(5);
      assert.is(s.read().threadpool.inFlight, 0);
      const theirs = families(await reg.metrics(), config.prefix ?? '');
      // Every family of the same detail level; the threadpool histogram with standard's
      // bounds at either level (the drop-in's).
      const ours = families(toPrometheus(s, config), config.prefix ?? '');
      const histogram = `${config.prefix ?? ''}nodejs_threadpool_delay_seconds`;
      ours.set(histogram, families(toPrometheus(s, { ...config, detail: 'standard' }), config.prefix ?? '').get(histogram));
      assert.equal([...theirs.keys()].sort(), [...ours.keys()].sort());
      // 15 container families and 6 threadpool at full; standard leaves out the cgroup
      // version, OOM events and the in-flight flag.
      assert.is(theirs.size, config.detail === 'full' ? 21 : 18, `${[...theirs.keys()]}`);
      for (const [fam, lines] of ours) assert.equal(theirs.get(fam), lines, fam);
      const text = await reg.metrics();
      const p = config.prefix ?? '';
      assert.match(text, new RegExp(`^${p}nodejs_container_memory_limit_bytes(\\{service="api"\\})? \\+Inf$`, 'm'));
      assert.not.match(text, new RegExp(`^${p}nodejs_container_memory_oom_kill_total[{ ]`, 'm'));
      const count = new RegExp(`^${p}nodejs_threadpool_delay_seconds_count(?:\\{service="api"\\})? (\\d+)$`, 'm').exec(text);
      assert.ok(count && Number(count[1]) === s.histograms.threadpoolDelay.count && Number(count[1]) >= 5, count && count[1]);
      // The JSON view (and so the cluster aggregator) carries the same histogram.
      const json = (await reg.getMetricsAsJSON()).find((m) => m.name === `${p}nodejs_threadpool_delay_seconds`);
      assert.is(json.type, 'histogram');
      assert.is(json.values.find((v) => v.labels.le === '+Inf').value, s.histograms.threadpoolDelay.count);
      h.close();
      assert.is(reg.getMetricsAsArray().length, 0);
    }
    const reg = new client.Registry();
    const h = collectDefaultMetrics({ register: reg, sampler: s, additions: false });
    assert.not.ok(reg.getMetricsAsArray().some((m) => /container|threadpool/.test(m.name)));
    h.close();
  } finally {
    s.close();
    removeFixture(dir);
  }
});

test('bad input: clear TypeError / RangeError naming the option', () => {
  const reg = new client.Registry();
  const s = new Sampler({ loopDelayResolutionMs: 20 });
  const cases = [
    [() => collectDefaultMetrics('x'), TypeError, /options must be an object, got "x"/],
    [() => collectDefaultMetrics({ registry: reg }), TypeError, /unknown option "registry"; accepted options: register, prefix/],
    [() => collectDefaultMetrics({ register: {} }), TypeError, /register must be a prom-client Registry/],
    [() => collectDefaultMetrics({ register: reg, prefix: 'a-b' }), RangeError, /prefix must be a metric-name prefix/],
    [() => collectDefaultMetrics({ register: reg, labels: 'x' }), TypeError, /labels must be an object/],
    [() => collectDefaultMetrics({ register: reg, gcDurationBuckets: [1, 0.1] }), RangeError, /gcDurationBuckets must be sorted in strictly increasing order/],
    [() => collectDefaultMetrics({ register: reg, gcDurationBuckets: [-0.1] }), RangeError, /gcDurationBuckets\[0\] must be a finite number > 0.*got -0.1/],
    [() => collectDefaultMetrics({ register: reg, gcDurationBuckets: [NaN] }), RangeError, /gcDurationBuckets\[0\].*got NaN/],
    [() => collectDefaultMetrics({ register: reg, eventLoopMonitoringPrecision: 0 }), RangeError, /eventLoopMonitoringPrecision must be a number from 1 to 1000, got 0/],
    [() => collectDefaultMetrics({ register: reg, eventLoopMonitoringPrecision: 2.5 }), RangeError, /eventLoopMonitoringPrecision must be an integer/],
    [() => collectDefaultMetrics({ register: reg, sampler: {} }), TypeError, /sampler must be a runtime-sampler Sampler/],
    [() => collectDefaultMetrics({ register: reg, sampler: s, eventLoopMonitoringPrecision: 10 }), RangeError, /eventLoopMonitoringPrecision 10 differs from the sampler's loopDelayResolutionMs 20/],
    [() => collectDefaultMetrics({ register: reg, eventLoopLagWindowMs: 10 }), RangeError, /eventLoopLagWindowMs must be a number from 1000 to 3600000, got 10/],
    [() => collectDefaultMetrics({ register: reg, additions: 1 }), TypeError, /additions must be true or false, got 1/],
    [() => collectDefaultMetrics({ register: reg, detail: 'max' }), RangeError, /detail must be 'standard' or 'full', got "max"/],
  ];
  throwsAll(cases);
  assert.is(reg.getMetricsAsArray().length, 0, 'nothing registered by a failed call');
  s.close();
});

test.run();
