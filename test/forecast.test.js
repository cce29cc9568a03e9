// node-flags: --expose-gc
// versions: current — forecast statistics over fixture data
// forecastMemory() and the diagnose() findings built on the container and threadpool data:
// a container whose working set grows at a known rate (a fixture cgroup tree rewritten as
// time passes) is forecast to reach its limit when the rate says; a plateau is not; the
// old generation after forced mark-compacts gives the heap's forecast; the findings
// container-memory, cpu-throttling, threadpool and memory-forecast judge fixture values;
// /readyz fails on secondsToLimit. The real kernel (an OOM kill, a CPU quota):
// test/container-cgroup.test.js.
const { test } = require('uvu');
const assert = require('uvu/assert');
const http = require('node:http');
const { Sampler, forecastMemory, diagnose, ReadinessChecker, Histogram, startMonitorThread, watch, BUILTIN_RULES } = require('..');
const { parseEnv } = require('../dist/cjs/server/config');
const { v2Fixture, writeTree, removeFixture } = require('./helpers/cgroup');
const { throwsLike } = require('./helpers/throws');

const MiB = 2 ** 20;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** memory.current and memory.stat for a working set of `ws` bytes (inactive_file fixed at 1 MiB). */
const memoryFiles = (ws) => ({ 'memory.current': `${Math.round(ws + MiB)}\n`, 'memory.stat': `anon ${Math.round(ws)}\ninactive_file ${MiB}\nactive_file 0\n` });

/**
 * A fixture cgroup whose working set grows `rate` bytes a second from `from` (rewritten every
 * 20 ms) under a `limit`; a sampler reading it every 100 ms with a history every 100 ms.
 */
function growingContainer({ from, rate, limit, files = {} }) {
  const dir = v2Fixture({ 'memory.max': `${limit}\n`, ...memoryFiles(from), ...files });
  const t0 = performance.now();
  const writer = setInterval(() => writeTree(dir, memoryFiles(from + (rate * (performance.now() - t0)) / 1000)), 20);
  const s = new Sampler({ cgroupRoot: dir, refreshIntervalMs: 100, history: { intervalMs: 100, capacity: 600 } }).start();
  void s.history; // the history begins now
  return {
    s,
    dir,
    wsNow: () => from + (rate * (performance.now() - t0)) / 1000,
    close() {
      clearInterval(writer);
      s.close();
      removeFixture(dir);
    },
  };
}

test('bad arguments: a clear error naming what is wrong', () => {
  throwsLike(() => forecastMemory(null), TypeError, /forecastMemory\(sampler\): sampler must be a Sampler, a SamplerView or a PublishedView, got null/);
  throwsLike(() => forecastMemory({ read() {} }), TypeError, /sampler must be/);
  const s = new Sampler({ cgroupRoot: false }).start();
  try {
    throwsLike(() => forecastMemory(s, { window: 5 }), TypeError, /window/);
    throwsLike(() => forecastMemory(s, { windowMs: 10 }), RangeError, /windowMs must be an integer from 1000 to 600000, got 10/);
    throwsLike(() => forecastMemory(s, { windowMs: 1e9 }), RangeError, /windowMs/);
    throwsLike(() => forecastMemory(s, { windowMs: '5s' }), TypeError, /windowMs/);
    throwsLike(() => forecastMemory(s, 5), TypeError, /options/);
  } finally {
    s.close();
  }
  throwsLike(() => forecastMemory(s), Error, /closed/);
});

test('container: a working set growing 20 MiB/s toward a 1 GiB limit is forecast from its rate', async () => {
  const rate = 20 * MiB;
  const limit = 1024 * MiB;
  const c = growingContainer({ from: 300 * MiB, rate, limit });
  try {
    await sleep(2000);
    const f = forecastMemory(c.s, { windowMs: 2000 });
    const truth = (limit - c.wsNow()) / rate;
    assert.is(f.limitKind, 'container', JSON.stringify(f));
    assert.is(f.limitBytes, limit);
    assert.is(f.container.limitBytes, limit);
    assert.ok(Math.abs(f.slopeBytesPerSecond / rate - 1) < 0.1, `slope ${f.slopeBytesPerSecond} vs ${rate}`);
    assert.ok(Math.abs(f.secondsToLimit - truth) < 0.1 * truth, `secondsToLimit ${f.secondsToLimit} vs ${truth}`);
    assert.ok(f.confidence > 0.99, `confidence ${f.confidence}`);
    assert.ok(f.points >= 15, `${f.points} points`);
    // usedBytes is the newest working set the sampler read (memory.current − inactive_file).
    assert.is(f.usedBytes, c.s.read().container.memoryWorkingSetBytes);
    assert.ok(Math.abs(f.window.ms - 2000) < 300, `window ${f.window.ms}`);
    // The heap is not growing toward its limit: the container's comes first.
    assert.ok(f.heap.secondsToLimit > f.secondsToLimit);

    // The same forecast from a view of the same block (another thread would see the same).
    const view = Sampler.attach(c.s.share());
    void view.history; // its own history begins at first use
    await sleep(1200);
    const fv = forecastMemory(view, { windowMs: 1000 });
    assert.is(fv.limitKind, 'container');
    assert.ok(Math.abs(fv.slopeBytesPerSecond / rate - 1) < 0.2, `view slope ${fv.slopeBytesPerSecond}`);
    view.close();

    // diagnose(): the forecast finding is critical (the limit within 10 minutes, surely).
    const r = diagnose(c.s, { windowMs: 2000 });
    const mf = r.findings.find((x) => x.id === 'memory-forecast');
    assert.is(mf.verdict, 'critical', mf.summary);
    assert.match(mf.summary, /container's working set against its memory limit/);
    assert.equal(mf.thresholds, { warn: 3600, critical: 600, below: true });
    assert.match(r.format(), /Time to the memory limit: .*\[warn < 1h 00m, critical < 10m 00s\]/);
    assert.is(r.forecast.limitKind, 'container');
    const json = JSON.parse(JSON.stringify(r));
    assert.is(json.forecast.limitKind, 'container');
    assert.ok(json.forecast.secondsToLimit > 0);
  } finally {
    c.close();
  }
});

test('container: a plateau is no trend — secondsToLimit Infinity, null in JSON, no warning', async () => {
  const c = growingContainer({ from: 300 * MiB, rate: 0, limit: 1024 * MiB });
  try {
    await sleep(1200);
    const f = forecastMemory(c.s, { windowMs: 1000 });
    assert.is(f.container.secondsToLimit, Infinity);
    assert.is(f.container.slopeBytesPerSecond, 0);
    assert.ok(f.container.confidence <= 0.5);
    const r = diagnose(c.s, { windowMs: 1000 });
    assert.is(r.findings.find((x) => x.id === 'memory-forecast').verdict, 'ok');
    const cm = r.findings.find((x) => x.id === 'container-memory');
    assert.ok(Math.abs(cm.value - 300 / 1024) < 1e-9, `container-memory value ${cm.value}`);
    assert.is(JSON.parse(JSON.stringify(r)).forecast.container.secondsToLimit, null);
  } finally {
    c.close();
  }
});

test('heap: the old generation after mark-compacts, growing, against the heap limit less the young generation', async () => {
  const s = new Sampler({ cgroupRoot: false, history: { intervalMs: 100, capacity: 600 } }).start();
  void s.history;
  const kept = [];
  try {
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 20_000; j++) kept.push({ i, j, s: `retained ${i}/${j}` });
      globalThis.gc();
      await sleep(60);
    }
    const f = forecastMemory(s, { windowMs: 5000 });
    assert.is(f.container, null, 'no container limit with cgroupRoot: false');
    assert.is(f.limitKind, 'heap');
    const mcs = s.markCompacts();
    assert.ok(f.points >= 14, `${f.points} mark-compacts fitted`);
    assert.is(f.usedBytes, mcs[mcs.length - 1].oldGenerationBytes);
    const snap = s.read();
    const young = snap.spaceNames.filter((n) => n.startsWith('new_')).reduce((a, n) => a + snap.heap.spaces[n].sizeBytes, 0);
    assert.is(f.limitBytes, snap.heap.limitBytes - young);
    assert.ok(f.slopeBytesPerSecond > 1 * MiB, `slope ${f.slopeBytesPerSecond}`);
    assert.ok(f.confidence > 0.99, `confidence ${f.confidence}`);
    const expected = (f.limitBytes - f.usedBytes) / f.slopeBytesPerSecond;
    assert.ok(Number.isFinite(f.secondsToLimit) && Math.abs(f.secondsToLimit - expected) < 0.25 * expected, `${f.secondsToLimit} vs ${expected}`);
  } finally {
    kept.length = 0;
    s.close();
  }
});

test('container-memory: near the limit, a heap limit above it, an OOM kill in the window', async () => {
  const limit = 200 * MiB;
  const c = growingContainer({ from: 150 * MiB, rate: 0, limit });
  try {
    await sleep(400);
    let f = diagnose(c.s, { windowMs: 1000 }).findings.find((x) => x.id === 'container-memory');
    // 75% used, but V8 may grow its heap (4 GiB here) far past 200 MiB: the kernel would kill first.
    assert.is(f.verdict, 'warn', f.summary);
    assert.match(f.summary, /working set 150\.0 MiB of a 200\.0 MiB container limit \(75\.0%\)/);
    assert.match(f.summary, /the V8 heap limit \(.*\) is not below it/);
    assert.match(f.recommendation, /--max-old-space-size=150 \(75% of the limit\)/);
    assert.is(f.details.limitBytes, limit);

    writeTree(c.dir, { ...memoryFiles(195 * MiB), 'memory.events': 'low 0\nhigh 3\nmax 18\noom 3\noom_kill 2\n' });
    await sleep(400);
    f = diagnose(c.s, { windowMs: 1000 }).findings.find((x) => x.id === 'container-memory');
    assert.is(f.verdict, 'critical', f.summary);
    assert.match(f.summary, /1 process of the container OOM-killed in the window/);
    assert.match(f.summary, /usage hit the limit 1 time/);
    assert.is(f.details.oomKills, 1);
  } finally {
    c.close();
  }
  // Outside a cgroup: nothing to judge, said so.
  const s = new Sampler({ cgroupRoot: false }).start();
  try {
    const r = diagnose(s);
    for (const id of ['container-memory', 'cpu-throttling']) {
      const x = r.findings.find((y) => y.id === id);
      assert.is(x.verdict, 'ok');
      assert.is(x.value, null);
      assert.match(x.summary, /not in a cgroup the sampler can read/);
    }
  } finally {
    s.close();
  }
});

test('cpu-throttling: the throttled share of wall time from cpu.stat, judged', async () => {
  const dir = v2Fixture({ 'cpu.max': '50000 100000\n' });
  const t0 = performance.now();
  const stat = (share) => {
    const elapsedUs = (performance.now() - t0) * 1000;
    const periods = Math.floor(elapsedUs / 100_000);
    return `usage_usec 1\nnr_periods ${1000 + periods}\nnr_throttled ${500 + Math.floor(periods * share)}\nthrottled_usec ${Math.round(9_000_000 + elapsedUs * share)}\n`;
  };
  let share = 0.4;
  const writer = setInterval(() => writeTree(dir, { 'cpu.stat': stat(share) }), 20);
  const s = new Sampler({ cgroupRoot: dir, refreshIntervalMs: 100, history: { intervalMs: 100, capacity: 600 } }).start();
  void s.history;
  try {
    await sleep(1200);
    let f = diagnose(s, { windowMs: 1000 }).findings.find((x) => x.id === 'cpu-throttling');
    assert.is(f.verdict, 'critical', f.summary);
    assert.ok(Math.abs(f.value - 0.4) < 0.06, `share ${f.value}`);
    assert.match(f.summary, /throttled [34]\d\.\d% of the wall time by a quota of 0\.500 CPUs, in \d+ of \d+ periods, ~[\d.]+ ms of throttled time each/);
    assert.match(f.recommendation, /CPU quota \(0\.500 CPUs\) runs out/);
    assert.is(f.details.quotaCores, 0.5);
    share = 0.02;
    await sleep(1200);
    f = diagnose(s, { windowMs: 1000 }).findings.find((x) => x.id === 'cpu-throttling');
    assert.is(f.verdict, 'ok', f.summary);
    assert.ok(f.value < 0.05, `share ${f.value}`);
  } finally {
    clearInterval(writer);
    s.close();
    removeFixture(dir);
  }
});

test('watch(): the derived container metrics of the built-in rules fire on fixture values', async () => {
  // 30 MiB/s toward a 1 GiB limit from 930 MiB: above 90% now, the limit within seconds; a
  // CPU quota throttled in half the periods.
  const c = growingContainer({ from: 930 * MiB, rate: 30 * MiB, limit: 1024 * MiB, files: { 'cpu.max': '50000 100000\n' } });
  const t0 = performance.now();
  const writer = setInterval(() => {
    const periods = Math.floor((performance.now() - t0) / 100);
    writeTree(c.dir, { 'cpu.stat': `nr_periods ${periods}\nnr_throttled ${Math.floor(periods / 2)}\nthrottled_usec ${periods * 25_000}\n` });
  }, 20);
  const names = ['NodeContainerMemoryNearLimit', 'NodeContainerMemoryLimitWithinAnHour', 'NodeContainerCpuThrottled'];
  const rules = BUILTIN_RULES.filter((r) => names.includes(r.name)).map((r) => ({ ...r, for: 0, ...(r.window ? { window: '1s' } : {}) }));
  const w = watch(c.s, { rules });
  try {
    await sleep(1800);
    const alerts = Object.fromEntries(w.alerts().map((a) => [a.name, a.value]));
    assert.equal(Object.keys(alerts).sort(), [...names].sort(), JSON.stringify(alerts));
    assert.ok(alerts.NodeContainerMemoryNearLimit > 0.9 && alerts.NodeContainerMemoryNearLimit < 1, String(alerts.NodeContainerMemoryNearLimit));
    assert.ok(alerts.NodeContainerMemoryLimitWithinAnHour > 0 && alerts.NodeContainerMemoryLimitWithinAnHour < 5, String(alerts.NodeContainerMemoryLimitWithinAnHour));
    assert.ok(Math.abs(alerts.NodeContainerCpuThrottled - 0.5) < 0.15, String(alerts.NodeContainerCpuThrottled));
  } finally {
    w.close();
    clearInterval(writer);
    c.close();
  }
});

test('threadpool: with the probe off the finding says it is not measured', () => {
  const s = new Sampler({ cgroupRoot: false, threadpoolProbeMs: 0 }).start();
  try {
    const f = diagnose(s).findings.find((x) => x.id === 'threadpool');
    assert.is(f.verdict, 'ok');
    assert.is(f.value, null);
    assert.match(f.summary, /^not measured: no threadpool probe has run \(off with threadpoolProbeMs: 0, or the sampler is younger than one period\); pool of \d+ threads?$/);
  } finally {
    s.close();
  }
});

test('thresholds for the new findings are validated', () => {
  const s = new Sampler({ cgroupRoot: false }).start();
  try {
    throwsLike(() => diagnose(s, { thresholds: { secondsToLimit: { warn: 60, critical: 600 } } }), RangeError, /thresholds\.secondsToLimit: critical \(600\) must be below warn \(60\): time left is bad below them/);
    throwsLike(() => diagnose(s, { thresholds: { forecastConfidence: 0.2 } }), RangeError, /thresholds\.forecastConfidence must be a number from 0\.5 to 1, got 0\.2/);
    throwsLike(() => diagnose(s, { thresholds: { cpuThrottledShare: { warn: 0.5, critical: 0.1 } } }), RangeError, /warn \(0\.5\) must be below critical \(0\.1\)/);
    const r = diagnose(s, { thresholds: { threadpoolDelayP99Ns: { warn: 0, critical: 1 } } });
    const tp = r.findings.find((x) => x.id === 'threadpool');
    assert.equal(tp.thresholds, { warn: 0, critical: 1 });
  } finally {
    s.close();
  }
});

test('readiness: secondsToLimit fails below the threshold when the forecast is sure, with hysteresis', () => {
  const s = new Sampler({ cgroupRoot: false });
  const now = s.read();
  const inputs = (secondsToLimit, confidence = 0.99) => ({ now, windowStart: now, delay: new Histogram(), forecast: { secondsToLimit, confidence } });
  const c = new ReadinessChecker({ secondsToLimit: 300, heapUsedRatio: null, stall: false });
  const check = (r) => r.checks.find((x) => x.name === 'secondsToLimit');
  assert.ok(c.evaluate(inputs(Infinity)).ready);
  let r = c.evaluate(inputs(100, 0.9));
  assert.ok(r.ready, 'an unsure forecast never fails');
  assert.ok(Number.isNaN(check(r).value));
  r = c.evaluate(inputs(100));
  assert.equal(r.failing, ['secondsToLimit']);
  assert.equal({ ...check(r) }, { name: 'secondsToLimit', value: 100, threshold: 300, ok: false });
  assert.equal(c.evaluate(inputs(320)).failing, ['secondsToLimit'], 'still failing within the hysteresis (passes above 330)');
  assert.ok(c.evaluate(inputs(340)).ready);
  // Without a threshold it is reported, never failing; without a forecast it is absent.
  const d = new ReadinessChecker();
  assert.is(check(d.evaluate(inputs(1))).threshold, null);
  assert.ok(d.evaluate(inputs(1)).ready);
  assert.is(check(d.evaluate({ now, windowStart: now, delay: new Histogram() })), undefined);
  throwsLike(() => new ReadinessChecker({ secondsToLimit: 0 }), RangeError, /readiness\.secondsToLimit must be a number from 1 to 31536000, got 0/);
  // The environment.
  assert.is(parseEnv({ RUNTIME_SAMPLER_READY_SECONDS_TO_LIMIT: '600' }).config.readiness.secondsToLimit, 600);
  const bad = parseEnv({ RUNTIME_SAMPLER_READY_SECONDS_TO_LIMIT: 'soon' });
  assert.is(bad.config.readiness.secondsToLimit, undefined);
  assert.match(bad.problems.join('\n'), /RUNTIME_SAMPLER_READY_SECONDS_TO_LIMIT/);
  s.close();
});

test('/readyz: 503 with secondsToLimit failing while the container nears its limit; 200 otherwise', async () => {
  const c = growingContainer({ from: 300 * MiB, rate: 50 * MiB, limit: 400 * MiB });
  const monitor = await startMonitorThread({ sampler: c.s, port: 0, readiness: { secondsToLimit: 60 } });
  const get = (path) => new Promise((resolve, reject) => {
    http.get(`${monitor.url}${path}`, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
  try {
    let r;
    const deadline = Date.now() + 5000;
    do {
      await sleep(200);
      r = await get('/readyz');
    } while (r.status !== 503 && Date.now() < deadline);
    assert.is(r.status, 503, r.body);
    const body = JSON.parse(r.body);
    assert.ok(body.failing.includes('secondsToLimit'), r.body);
    const check = body.checks.find((x) => x.name === 'secondsToLimit');
    assert.ok(check.value > 0 && check.value < 60, r.body);
  } finally {
    await monitor.close();
    c.close();
  }
});

test.run();
