// node-flags: --expose-gc
// tier: extra — watchers held for their `for` durations against real workloads (~30 s)
// run: alone — its workloads are paced by timers (50 forced GCs a second) that a busy machine slows
// Watchers: `for` durations, dedup, hysteresis, severity groups, each condition against a
// real signal, a watcher on another thread seeing a stall, GC-heavy and quiet workloads,
// the heap snapshot action, the built-in rules against the shipped Prometheus rules, and
// bad rule definitions.
const { test } = require('uvu');
const assert = require('uvu/assert');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { mkdtempSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Worker } = require('node:worker_threads');
const YAML = require('yaml');
const { Sampler, watch, Watcher, BUILTIN_RULES, SamplerError, parseDuration } = require('..');
const { throwsAll, throwsLike } = require('./helpers/throws');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const block = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };

function runChild(mode, flags = [], env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, join(__dirname, 'fixtures', 'watch-child.cjs'), mode], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) return reject(new Error(`${mode} child exited ${code}: ${err}${out}`));
      resolve(JSON.parse(line.slice(7)));
    });
  });
}

/** `n` listening servers: each is an active handle until closed. */
async function openServers(n) {
  const servers = [];
  for (let i = 0; i < n; i++) servers.push(net.createServer().listen(0, '127.0.0.1'));
  await Promise.all(servers.map((s) => new Promise((r) => s.once('listening', r))));
  return { close: () => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))) };
}

function recorder(w) {
  const events = [];
  w.on('alert', (a) => events.push(['alert', a.name, a.reason]));
  w.on('resolve', (a) => events.push(['resolve', a.name, a.reason]));
  return events;
}

const sampler = new Sampler({ refreshIntervalMs: 20, history: { intervalMs: 100, capacity: 300 }, watchdog: { thresholdMs: 200 } }).start();
const base = sampler.read().process.activeHandles;

test('for: 2s does not fire on a 1 s spike, fires on a 3 s one, and alerts once while it lasts', async () => {
  const w = watch(sampler, { rules: [{ name: 'ManyHandles', metric: 'process.activeHandles', condition: 'above', threshold: base + 20, for: '2s' }] });
  const events = recorder(w);
  let s = await openServers(30);
  await sleep(1000);
  await s.close();
  await sleep(1500);
  assert.equal(events, [], 'a 1 s spike fired a rule with for: 2s');
  assert.equal(w.status()[0].state, 'inactive');
  s = await openServers(30);
  await sleep(3000);
  // ~30 evaluations held the condition; one alert.
  assert.equal(events, [['alert', 'ManyHandles', undefined]]);
  assert.equal(w.alerts().map((a) => a.name), ['ManyHandles']);
  const a = w.alerts()[0];
  assert.ok(a.firedAt - a.activeSince >= 1900, `fired ${a.firedAt - a.activeSince} ms after the condition began`);
  await s.close();
  await sleep(400);
  assert.equal(events, [['alert', 'ManyHandles', undefined], ['resolve', 'ManyHandles', 'cleared']]);
  assert.equal(w.alerts(), []);
  w.close();
});

test('hysteresis: a value that falls back inside the band neither resolves nor re-alerts', async () => {
  const w = watch(sampler, { rules: [{ name: 'H', metric: 'process.activeHandles', condition: 'above', threshold: base + 20, hysteresis: 0.5 }] });
  const events = recorder(w);
  const a = await openServers(15);
  const b = await openServers(15);
  await sleep(300);
  await b.close(); // base + 15: below the threshold, above threshold × 0.5
  await sleep(300);
  const c = await openServers(15);
  await sleep(300);
  assert.equal(events, [['alert', 'H', undefined]]);
  await Promise.all([a.close(), c.close()]);
  await sleep(300);
  assert.equal(events, [['alert', 'H', undefined], ['resolve', 'H', 'cleared']]);
  w.close();
});

test('a group reports only its most severe firing rule; the lesser one returns when it ends', async () => {
  const w = watch(sampler, { rules: [
    { name: 'Warn', metric: 'process.activeHandles', condition: 'above', threshold: base + 10, severity: 'warning', hysteresis: 0 },
    { name: 'Crit', metric: 'process.activeHandles', condition: 'above', threshold: base + 25, severity: 'critical', hysteresis: 0 },
  ] });
  const events = recorder(w);
  const a = await openServers(15);
  await sleep(300);
  const b = await openServers(15);
  await sleep(300);
  assert.equal(w.alerts().map((x) => x.name), ['Crit']);
  await b.close();
  await sleep(300);
  await a.close();
  await sleep(300);
  assert.equal(events, [
    ['alert', 'Warn', undefined],
    ['resolve', 'Warn', 'superseded'],
    ['alert', 'Crit', undefined],
    ['resolve', 'Crit', 'cleared'],
    ['alert', 'Warn', undefined],
    ['resolve', 'Warn', 'cleared'],
  ]);
  w.close();
});

test('rate, trend and percentile rules on real signals', async () => {
  const w = watch(sampler, { rules: [
    { name: 'GcRate', metric: 'gc.count', condition: 'rate', threshold: 20, window: '1s' },
    { name: 'HandleTrend', metric: 'process.activeHandles', condition: 'trend', threshold: 10, window: '2s' },
    { name: 'DelayP99', metric: 'histograms.loopDelay', condition: 'percentile', percentile: 99, threshold: '150ms', window: '2s' },
    { name: 'FewGcs', metric: 'gc.count', condition: 'rate', direction: 'below', threshold: 1000, window: '1s' },
  ] });
  const events = recorder(w);
  await sleep(1200);
  assert.equal(w.alerts().map((a) => a.name), ['FewGcs'], 'only the below-rule holds on a quiet process');
  // 50 forced GCs a second for 1.5 s.
  const t = setInterval(() => { for (let i = 0; i < 2; i++) global.gc(); }, 40);
  await sleep(1500);
  clearInterval(t);
  assert.ok(events.some((e) => e[0] === 'alert' && e[1] === 'GcRate'), JSON.stringify(w.status()));
  // 20 more handles a second for 2 s.
  const opened = [];
  for (let i = 0; i < 20; i++) {
    opened.push(await openServers(2));
    await sleep(100);
  }
  assert.ok(events.some((e) => e[0] === 'alert' && e[1] === 'HandleTrend'), JSON.stringify(w.status()));
  await Promise.all(opened.map((o) => o.close()));
  // A 300 ms block, twice: the loop-delay p99 of the window.
  block(300);
  await sleep(150);
  block(300);
  await sleep(300);
  assert.ok(events.some((e) => e[0] === 'alert' && e[1] === 'DelayP99'), JSON.stringify(w.status()));
  const p = w.status().find((s) => s.name === 'DelayP99').value;
  assert.ok(p >= 250e6, `p99 ${p}`);
  w.close();
});

test('a watcher on another thread sees a stall of this thread (the stuck loop cannot run its own)', async () => {
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const { Sampler, watch, BUILTIN_RULES } = require(${JSON.stringify(join(__dirname, '..'))});
    const view = Sampler.attach(workerData);
    const rule = { ...BUILTIN_RULES.find((r) => r.name === 'NodeEventLoopStalled'), for: '300ms' };
    const w = watch(view, { rules: [rule] });
    w.on('alert', (a) => parentPort.postMessage(['alert', a.name, a.severity]));
    w.on('resolve', (a) => parentPort.postMessage(['resolve', a.name, a.reason]));
    parentPort.on('message', () => {}); // keeps the worker alive (the history's timer is unref'd)
    parentPort.postMessage(['ready']);
  `, { eval: true, workerData: sampler.share() });
  const events = [];
  await new Promise((r) => worker.on('message', (m) => (m[0] === 'ready' ? r() : events.push(m))));
  await sleep(300);
  block(1500);
  await sleep(600);
  await worker.terminate();
  assert.equal(events, [['alert', 'NodeEventLoopStalled', 'critical'], ['resolve', 'NodeEventLoopStalled', 'cleared']]);
});

test('a GC-heavy workload trips the GC-overhead rule; a quiet one does not', async () => {
  const [gc, quiet] = await Promise.all([runChild('gc'), runChild('quiet')]);
  const fired = gc.events.filter((e) => e.kind === 'alert').map((e) => e.name);
  assert.ok(fired.length >= 1 && fired.every((n) => /^NodeGcCpuFraction/.test(n)), JSON.stringify(gc));
  assert.ok(gc.events.find((e) => e.kind === 'alert').value > 0.1);
  assert.equal(quiet.events, [], JSON.stringify(quiet));
  assert.ok(quiet.status.every((s) => s.value < 0.1), JSON.stringify(quiet.status));
});

test('heap pressure: the heap snapshot action writes once, however often the rule fires', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-snap-'));
  try {
    const r = await runChild('heap', ['--expose-gc', '--max-old-space-size=64'], { RS_SNAPSHOT_DIR: dir });
    const kinds = r.events.map((e) => `${e.kind}:${e.name ?? e.action}`);
    assert.equal(kinds, ['alert:NodeHeapAtLimit', 'action:heap-snapshot', 'resolve:NodeHeapAtLimit', 'alert:NodeHeapAtLimit', 'resolve:NodeHeapAtLimit']);
    const action = r.events.find((e) => e.kind === 'action');
    assert.equal(action.rule, 'NodeHeapAtLimit');
    assert.equal(readdirSync(dir), [action.path.slice(dir.length + 1)]);
    const head = readFileSync(action.path, 'utf8').slice(0, 200);
    assert.match(head, /^\{"snapshot":\{"meta":/);
    // diagnose() at the peak judged the heap against the threshold it was given.
    const heap = r.peak.findings.find((f) => f.id === 'heap-limit');
    assert.equal(heap.verdict, 'warn');
    assert.ok(heap.value > r.threshold && heap.value < 0.95, `${heap.value} vs ${r.threshold}`);
    assert.match(heap.recommendation, /--max-old-space-size=\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the heap snapshot action: bad directories and other threads are refused', () => {
  const missing = join(tmpdir(), 'rs-no-such-dir-' + process.pid);
  const e = throwsLike(() => watch(sampler, { heapSnapshot: { dir: missing } }), SamplerError, /heapSnapshot\.dir .*rs-no-such-dir.* must be an existing, writable directory/);
  assert.equal(e.code, 'ERR_SAMPLER_DIRECTORY');
  throwsAll([
    [() => watch(sampler, { heapSnapshot: { dir: 42 } }), TypeError, /heapSnapshot\.dir must be a directory path, got 42/],
    [() => watch(sampler, { heapSnapshot: { dir: tmpdir(), rules: ['Nope'] } }), RangeError, /no rule named "Nope"/],
    [() => watch(sampler, { heapSnapshot: { dir: tmpdir(), when: 1 } }), TypeError, /when/],
  ]);
  const view = Sampler.attach(sampler.share());
  const e2 = throwsLike(() => watch(view, { heapSnapshot: { dir: tmpdir() } }), SamplerError, /only be written on the sampler's own thread/);
  assert.equal(e2.code, 'ERR_SAMPLER_INCOMPATIBLE');
  view.close();
});

test('the built-in rules are the shipped Prometheus rules', () => {
  const doc = YAML.parse(readFileSync(join(__dirname, '..', 'alerts', 'runtime-sampler.rules.yml'), 'utf8'));
  const prom = doc.groups.flatMap((g) => g.rules);
  assert.equal(BUILTIN_RULES.map((r) => r.name), prom.map((r) => r.alert));
  const s = new Sampler().start(); // the default history (10 minutes) holds every window
  const w = watch(s); // the defaults validate against a real sampler
  for (const p of prom) {
    const r = w.rules.find((x) => x.name === p.alert);
    assert.equal(r.severity, p.labels.severity, p.alert);
    assert.equal(r.forMs, parseDuration('for', p.for), p.alert);
    if (p.alert === 'NodeOldSpaceGrowing') {
      assert.equal(r.metric, 'leak.suspected');
      continue;
    }
    if (p.alert === 'NodeContainerMemoryLimitWithinAnHour') {
      // predict_linear(…[30m], 3600) > limit: the forecast's time to the limit below an hour.
      assert.ok(/predict_linear\(nodejs_container_memory_working_set_bytes\[30m\], 3600\)/.test(p.expr));
      assert.equal([r.metric, r.condition, r.threshold, r.windowMs], ['container.secondsToLimit', 'below', 3600, 600_000]);
      continue;
    }
    const m = /(>|==)\s*([\d.]+)\s*$/.exec(p.expr.trim());
    const limit = Number(m[2]);
    if (m[1] === '==') {
      assert.ok(r.threshold < limit && r.condition === 'above', p.alert);
      continue;
    }
    // Prometheus speaks seconds where the sampler speaks ns (percentiles of ns histograms, ns gauges).
    assert.equal(r.threshold, r.condition === 'percentile' || (r.condition === 'above' && /Ns$/.test(r.metric)) ? limit * 1e9 : limit, p.alert);
    const rangeMatch = /\[(\d+[smh])\]/.exec(p.expr);
    if (rangeMatch) assert.equal(r.windowMs, parseDuration('window', rangeMatch[1]), p.alert);
    if (/histogram_quantile\(0\.99/.test(p.expr)) assert.equal(r.percentile, 99, p.alert);
  }
  w.close();
  s.close();
  // With a shorter history the built-in windows shrink to it.
  const short = watch(sampler);
  assert.equal(short.rules.find((r) => r.name === 'NodeGcCpuFractionHigh').windowMs, 30_000);
  short.close();
});

test('bad rule definitions are rejected naming the rule, the field and what is accepted', () => {
  const ok = { name: 'R', metric: 'heap.usedBytes', condition: 'above', threshold: 1 };
  const rules = (...r) => () => watch(sampler, { rules: r });
  throwsAll([
    [() => watch(sampler, { rules: 'x' }), TypeError, /rules must be an array/],
    [rules(null), TypeError, /rules\[0\] must be an object/],
    [rules({ ...ok, name: '' }), TypeError, /name must be a string matching/],
    [rules({ ...ok, name: 'has space' }), TypeError, /name must be a string matching .* got "has space"/],
    [rules(ok, { ...ok }), RangeError, /the name "R" is used twice/],
    [rules({ ...ok, condition: 'over' }), TypeError, /rule "R": condition must be one of above, below, rate, trend, percentile, anomaly; got "over"/],
    [rules({ ...ok, metric: 'heap.nope' }), RangeError, /rule "R": metric "heap.nope" is not a number in a Snapshot/],
    [rules({ ...ok, metric: 'heap' }), RangeError, /metric "heap" is not a number/],
    [rules({ ...ok, metric: 'heap.spaces.__proto__' }), RangeError, /is not a number/],
    [rules({ ...ok, metric: 42 }), TypeError, /metric must be a non-empty string/],
    [rules({ ...ok, condition: 'percentile', percentile: 99 }), RangeError, /a percentile rule's metric must be a histogram: one of histograms\.gcPause/],
    [rules({ ...ok, metric: 'histograms.loopDelay' }), RangeError, /is a histogram: use condition 'percentile'/],
    [rules({ ...ok, metric: 'histograms.loopDelay', condition: 'percentile', percentile: 0 }), RangeError, /percentile must be a number in \(0, 100\], got 0/],
    [rules({ ...ok, metric: 'histograms.loopDelay', condition: 'percentile' }), RangeError, /percentile must be a number in \(0, 100\], got undefined/],
    [rules({ ...ok, percentile: 50 }), TypeError, /percentile applies to percentile rules only/],
    [rules({ ...ok, threshold: 'big' }), TypeError, /threshold must be a finite number \(in the metric's unit\), got "big"/],
    [rules({ ...ok, threshold: NaN }), TypeError, /threshold must be a finite number/],
    [rules({ ...ok, metric: 'gc.pauseNs', threshold: 'soon' }), TypeError, /must be a duration/],
    [rules({ ...ok, for: '2 seconds' }), TypeError, /rule "R": for must be a duration: .* got "2 seconds"/],
    [rules({ ...ok, for: -5 }), RangeError, /for must be from 0 ms/],
    [rules({ ...ok, window: '1m' }), TypeError, /window applies to rate, trend and percentile rules/],
    [rules({ ...ok, condition: 'rate', window: '500ms' }), RangeError, /window must be from 1000 ms to 30000 ms, got "500ms"/],
    [rules({ ...ok, condition: 'rate', window: '1h' }), RangeError, /window must be from 1000 ms to 30000 ms/],
    [rules({ ...ok, severity: 'fatal' }), TypeError, /severity must be one of info, warning, critical; got "fatal"/],
    [rules({ ...ok, hysteresis: 1 }), RangeError, /hysteresis must be a number in \[0, 1\), got 1/],
    [rules({ ...ok, direction: 'below' }), TypeError, /direction applies to rate, trend and percentile rules/],
    [rules({ ...ok, condition: 'trend', direction: 'up' }), RangeError, /direction must be 'above' or 'below', got "up"/],
    [rules({ ...ok, condition: 'trend', direction: 1 }), TypeError, /direction must be 'above' or 'below', got 1/],
    [rules({ ...ok, group: '' }), TypeError, /group must be a non-empty string/],
    [rules({ ...ok, summary: 7 }), TypeError, /summary must be a string/],
    [rules({ ...ok, treshold: 1 }), TypeError, /treshold/],
    [() => watch(null), TypeError, /sampler must be a Sampler or a SamplerView, got null/],
    [() => watch(sampler, { rule: [] }), TypeError, /rule/],
  ]);
  // Durations in every accepted form, and duration thresholds for ns metrics.
  const w = watch(sampler, { rules: [
    { name: 'A', metric: 'gc.maxPauseNs', condition: 'above', threshold: '250ms', for: 1500 },
    { name: 'B', metric: 'histograms.gcPause', condition: 'percentile', percentile: 90, threshold: '1s', window: '0.5m', for: '1h' },
  ] });
  assert.equal(w.rules.map((r) => [r.threshold, r.forMs, r.windowMs]), [[250e6, 1500, 0], [1e9, 3_600_000, 30_000]]);
  w.close();
});

test('close() stops a watcher, and so does closing its sampler', async () => {
  const s = new Sampler({ history: { intervalMs: 100, capacity: 20 } }).start();
  const w = watch(s, { rules: [{ name: 'Always', metric: 'heap.usedBytes', condition: 'above', threshold: 0 }] });
  const events = recorder(w);
  await sleep(250);
  assert.equal(events.length, 1);
  s.close();
  await sleep(250);
  assert.not.ok(w.active);
  assert.equal(events.length, 1);
  assert.instance(w, Watcher);
});

test.after(() => sampler.close());
test.run();
