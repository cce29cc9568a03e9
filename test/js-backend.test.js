// node-flags: --expose-gc
// versions: edges — the JavaScript backend, over perf_hooks
// The JavaScript backend (lib/js-backend.ts): the same block, written from perf_hooks, v8 and
// process. Each scenario runs in a child with RUNTIME_SAMPLER_BACKEND=js (the backend is
// chosen once, at require), so this file also runs where the addon loads.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { testUnless } = require('./helpers/skip');
const { checkGcWindow } = require('./helpers/gc-window');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');

function child(code, { flags = [], env = {} } = {}) {
  const r = spawnSync(process.execPath, [...flags, '-e', code], {
    encoding: 'utf8', cwd: root, timeout: 60_000,
    env: { ...process.env, RUNTIME_SAMPLER_BINARY: '', RUNTIME_SAMPLER_BACKEND: 'js', ...env },
  });
  return r;
}

function json(r) {
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

test('RUNTIME_SAMPLER_BACKEND=js: nativeInfo.backend is js, no binary', () => {
  const j = json(child(`const { nativeInfo } = require('.');
    console.log(JSON.stringify(nativeInfo));`));
  assert.is(j.backend, 'js');
  assert.is(j.binaryPath, '');
  assert.is(j.binaryOrigin, null);
  assert.is(j.fallbackReason, 'RUNTIME_SAMPLER_BACKEND=js');
});

test('its computeLayout is the addon\'s, for every scale and several ring capacities', () => {
  const { native } = require('../dist/cjs/binding');
  const { computeLayout } = require('../dist/cjs/js-backend');
  if (native.computeLayout === computeLayout) return; // this process runs on the JS backend: nothing to compare
  for (let scale = 0; scale <= 8; scale++) {
    for (const cap of [64, 1024, 4096, 65536]) assert.equal(computeLayout(cap, scale), native.computeLayout(cap, scale), `cap ${cap} scale ${scale}`);
  }
  assert.throws(() => computeLayout(100, 6), /ringCapacity must be a power of two/);
  assert.throws(() => computeLayout(64, 9), /histogramScale must be an integer from 0 to 8/);
});

// Every GC V8 traces (--trace-gc prints one line per scavenge, minor mark-sweep and
// mark-compact) is one entry the observer delivers, in batches: each batch counted whole.
// The window is cut by forced GCs (gc(): "testing" in the trace, forced in the event), so
// GCs around start() cannot blur it.
test('GC counts match --trace-gc for every type the observer reports', () => {
  const r = spawnSync(process.execPath, ['--expose-gc', '--trace-gc', path.join(__dirname, 'fixtures', 'gc-window.cjs')], {
    encoding: 'utf8', cwd: root, timeout: 60_000,
    env: { ...process.env, RUNTIME_SAMPLER_BINARY: '', RUNTIME_SAMPLER_BACKEND: 'js' },
  });
  assert.is(r.status, 0, r.stderr);
  assert.is(checkGcWindow(r.stdout).backend, 'js');
});

test('loop, heap and process values are measured; what it cannot see is NaN', () => {
  const j = json(child(`
    const { Sampler } = require('.');
    const { MAIN_SLOTS } = require('./dist/cjs/layout.generated');
    const { NATIVE_ONLY_SLOTS } = require('./dist/cjs/js-backend');
    const s = new Sampler({ loopDelayResolutionMs: 5 }).start();
    setTimeout(() => {
      const t = process.hrtime.bigint(); while (process.hrtime.bigint() - t < 60_000_000n);
      setTimeout(() => {
        s.refresh();
        const snap = s.read();
        const names = Object.keys(MAIN_SLOTS);
        const nan = names.filter((n) => Number.isNaN(snap.slots[MAIN_SLOTS[n]]));
        console.log(JSON.stringify({ nan, nativeOnly: NATIVE_ONLY_SLOTS.map((i) => names.find((n) => MAIN_SLOTS[n] === i)),
          busy: snap.loop.busyNs, idle: snap.loop.idleNs, used: snap.heap.usedBytes, limit: snap.heap.limitBytes,
          rss: snap.process.rssBytes, cpu: snap.process.cpuUserUs, fds: snap.process.openFds,
          delayCount: s.histograms.loopDelay.count, delayMax: s.histograms.loopDelay.max,
          iterations: s.histograms.loopIteration.count, spaces: Object.keys(snap.heap.spaces).length,
          space0: Math.min(...Object.values(snap.heap.spaces).map((x) => x.sizeBytes)), spaceMax: Math.max(...Object.values(snap.heap.spaces).map((x) => x.usedBytes)), refreshes: snap.sampler.refreshes }));
        s.close();
      }, 50);
    }, 50);`));
  assert.equal(j.nan.sort(), j.nativeOnly.sort());
  assert.ok(j.busy >= 60e6, `busy ${j.busy}`);
  assert.ok(j.idle > 0 && j.idle < 1e9, `idle ${j.idle}`);
  assert.ok(j.used > 1e6 && j.limit > j.used);
  assert.ok(j.rss > j.used && j.cpu > 0);
  if (process.platform === 'linux') assert.ok(j.fds >= 3, `fds ${j.fds}`);
  // The 60 ms block delayed one 5 ms tick by at least 55 ms.
  assert.ok(j.delayCount >= 5 && j.delayMax >= 55e6, JSON.stringify(j));
  assert.is(j.iterations, 0);
  assert.ok(j.spaces >= 5 && j.space0 >= 0 && j.spaceMax > 1e5, JSON.stringify(j));
  assert.ok(j.refreshes >= 2);
});

test('catalog(): native: true marks exactly the metrics the JS backend cannot measure', () => {
  // Every catalog path, expanded over its attribute keys, read after GCs, a refresh and loop
  // activity: a metric is unmeasured when every value is NaN (a histogram: every one empty).
  const j = json(child(`
    const { Sampler, catalog } = require('.');
    const s = new Sampler({ loopDelayResolutionMs: 5 }).start();
    const keep = []; for (let i = 0; i < 300000; i++) keep.push({ i });
    gc();
    setTimeout(() => {
      s.refresh();
      const snap = s.read();
      const at = (o, p) => p.split('.').reduce((x, k) => (x == null ? undefined : x[k]), o);
      const rows = catalog().map((m) => {
        let values;
        if (m.path.startsWith('histograms.')) {
          const h = at(s.histograms, m.path.slice(11).replace(/\\.\\*$/, ''));
          values = (m.path.endsWith('*') ? Object.values(h) : [h]).map((x) => (x.count > 0 ? x.count : NaN));
        } else if (m.path.includes('*')) {
          const [pre, post] = m.path.split('.*');
          values = Object.values(at(snap, pre)).map((x) => (post ? at(x, post.slice(1)) : x));
        } else values = [at(snap, m.path)];
        return { path: m.path, native: m.native, unmeasured: values.length > 0 && values.every((v) => typeof v === 'number' && Number.isNaN(v)), bad: values.filter((v) => typeof v !== 'number') };
      });
      console.log(JSON.stringify({ rows, kept: keep.length }));
      s.close();
    }, 100);`, { flags: ['--expose-gc'] }));
  assert.ok(j.rows.length > 100, `${j.rows.length} catalog rows`);
  const wrong = j.rows.filter((r) => r.native !== r.unmeasured || r.bad.length > 0);
  assert.equal(wrong, [], 'native marks that disagree with what the JS backend measured');
  assert.ok(j.rows.filter((r) => r.native).length >= 30, 'native-only metrics marked');
});

test('a block right after start() is a loop-delay sample (the first tick measures from start)', () => {
  // Bun's smoke found it: with no tick between start() and the block, the first tick had no
  // earlier one to measure from and the block was not seen.
  const j = json(child(`
    const { Sampler } = require('.');
    const s = new Sampler().start();
    const t = process.hrtime.bigint(); while (process.hrtime.bigint() - t < 100_000_000n);
    setTimeout(() => {
      console.log(JSON.stringify({ count: s.histograms.loopDelay.count, max: s.histograms.loopDelay.max }));
      s.close();
    }, 30);`));
  assert.ok(j.max >= 100e6 && j.max < 10e9, JSON.stringify(j));
});

test('exporters and a view on another thread read the JS backend\'s block unchanged', () => {
  const j = json(child(`
    const { Sampler, toPrometheus, toJSON } = require('.');
    const { Worker } = require('node:worker_threads');
    const s = new Sampler().start();
    gc(); gc();
    // GC entries reach observers two immediates after the GC.
    setTimeout(() => {
      const text = toPrometheus(s);
      const doc = toJSON(s);
      const w = new Worker(\`const { parentPort, workerData } = require('worker_threads');
        const { Sampler } = require(\${JSON.stringify(process.cwd())});
        const v = Sampler.attach(workerData);
        const snap = v.read();
        parentPort.postMessage({ msc: snap.gc.byType.markSweepCompact.count, count: snap.gc.count, hist: v.histograms.gcPause.count });\`,
        { eval: true, workerData: s.share() });
      w.once('message', (m) => {
        console.log(JSON.stringify({ m, gcLine: /^v8js_gc_count_total\\{v8js_gc_type="mark_sweep_compact"\\} 2$/m.test(text), lines: text.split('\\n').length, jsonMetrics: doc.metrics.length }));
        s.close();
      });
    }, 20);`, { flags: ['--expose-gc'] }));
  assert.is(j.m.msc, 2);
  assert.is(j.m.hist, j.m.count);
  assert.ok(j.gcLine, JSON.stringify(j));
  assert.ok(j.lines > 50 && j.jsonMetrics > 20, JSON.stringify(j));
});

test('read(into) allocates nothing on the JS backend: test/alloc.test.js passes on it', () => {
  // The same proof as on native (10^6 reads, no GC, no heap growth) and its control.
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, 'alloc.test.js')], {
    encoding: 'utf8', cwd: root, timeout: 120_000,
    env: { ...process.env, RUNTIME_SAMPLER_BINARY: '', RUNTIME_SAMPLER_BACKEND: 'js' },
  });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Passed:\s+2/);
});

const noPromtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error ? 'promtool is not installed (Debian package prometheus)' : null;
testUnless(test, noPromtool, 'promtool parses both Prometheus exporters on the JS backend; no NaN served, no fake 0', () => {
  const j = json(child(`
    const client = require('prom-client');
    const { Sampler, toPrometheus } = require('.');
    const { collectDefaultMetrics } = require('runtime-sampler/prom-client');
    const s = new Sampler().start();
    const register = new client.Registry();
    collectDefaultMetrics({ register, sampler: s });
    gc(); gc();
    setTimeout(async () => {
      console.log(JSON.stringify({ ours: toPrometheus(s), labelled: toPrometheus(s, { prefix: 'app_', labels: { service: 'api' } }), pc: await register.metrics() }));
      s.close();
    }, 50);`, { flags: ['--expose-gc'] }));
  for (const text of [j.ours, j.labelled]) {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.is(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  }
  // prom-client's own names draw lint notes (exit 3: "_total" on gauges, as with prom-client
  // itself); a parse error would exit 1.
  const r = spawnSync('promtool', ['check', 'metrics'], { input: j.pc, encoding: 'utf8' });
  assert.ok(r.status === 0 || r.status === 3, `promtool: ${r.status} ${r.stdout}${r.stderr}`);
  assert.not.match(r.stdout + r.stderr, /pars/i);
  for (const text of [j.ours, j.pc]) assert.not.match(text, /^[^#].* nan$/im, 'a NaN sample was served');
  // Native-only series are absent, not 0: the JS backend does not count loop iterations.
  assert.not.match(j.pc, /^nodejs_eventloop_iterations_total /m);
  assert.not.match(j.ours, /^nodejs_eventloop_iterations_total /m);
  assert.match(j.pc, /^nodejs_gc_duration_seconds_count\{kind="major"\} 2$/m);
  assert.match(j.pc, /^nodejs_active_handles_total \d+$/m);
});

test('diagnose() on the JS backend: the GC CPU fraction from pauses; no finding reads NaN', () => {
  const j = json(child(`
    const { Sampler, diagnose } = require('.');
    const s = new Sampler({ history: { intervalMs: 100, capacity: 100 } }).start();
    void s.history;
    let keep = [];
    const t0 = Date.now();
    const work = setInterval(() => { for (let i = 0; i < 20000; i++) keep.push({ i }); if (keep.length > 200000) keep = []; }, 5);
    setTimeout(() => {
      clearInterval(work);
      const r = diagnose(s, { windowMs: 1000 });
      const gc = r.findings.find((f) => f.id === 'gc-cpu');
      console.log(JSON.stringify({ gc, nan: r.findings.filter((f) => /NaN/.test(f.summary)).map((f) => f.id + ': ' + f.summary), text: r.text ?? '' }));
      s.close();
    }, 600);`, { flags: ['--expose-gc'] }));
  assert.equal(j.nan, []);
  assert.is(j.gc.title, 'GC CPU fraction (pauses)');
  assert.ok(j.gc.value > 0 && j.gc.value < 1, JSON.stringify(j.gc));
  assert.match(j.gc.summary, /^GC took \d/);
});

test('RUNTIME_SAMPLER_BACKEND=native without a binary: ERR_SAMPLER_BINARY; a bad value is named', () => {
  const code = `try { require('.'); console.log(JSON.stringify({ loaded: true })); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const missing = path.join(root, 'no-such-dir', 'x.node');
  // RUNTIME_SAMPLER_BINARY pointing at nothing stands for "no binary" without moving the build.
  const a = json(child(code, { env: { RUNTIME_SAMPLER_BACKEND: 'native', RUNTIME_SAMPLER_BINARY: missing } }));
  assert.is(a.code, 'ERR_SAMPLER_BINARY');
  assert.ok(a.message.includes(missing), a.message);
  const b = json(child(code, { env: { RUNTIME_SAMPLER_BACKEND: 'fast' } }));
  assert.is(b.code, 'ERR_SAMPLER_BINARY');
  assert.ok(b.message.includes('RUNTIME_SAMPLER_BACKEND must be one of auto, native, js') && b.message.includes('"fast"'), b.message);
});

test.run();
