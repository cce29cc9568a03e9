// loopTiming: 'totals' — no per-iteration hook: the loop counters come from libuv at a timer,
// exact as the hook's; stalls from the watchdog alone. Checked against a sampler in the
// default 'iteration' mode running beside it, against performance.eventLoopUtilization(), and
// against known blocks. Needs libuv 1.45 (uv_metrics_info): below it (Node 18) the sampler
// keeps 'iteration', which the last tests check there.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { testUnless } = require('./helpers/skip');
const { Sampler, nativeInfo, toPrometheus, toJSON } = require('..');
const { parseEnv } = require('../dist/cjs/server/config.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const turn = () => new Promise((r) => setImmediate(r));
function block(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}
const [uvMajor, uvMinor] = process.versions.uv.split('.').map(Number);
const hasLoopCount = uvMajor > 1 || (uvMajor === 1 && uvMinor >= 45);
const native = nativeInfo.backend === 'native';
const needsTotals = !native ? 'the JavaScript backend has no loop hook to leave out'
  : !hasLoopCount ? `libuv ${process.versions.uv} has no uv_metrics_info() (1.45+): 'totals' falls back to 'iteration' (checked below)` : null;
// Platform skips, expected under CI too (test:versions runs this file under Node 18).
const testTotals = (name, fn) => testUnless(test, needsTotals, name, fn, { expected: true });
const testNative = (name, fn) => testUnless(test, native ? null : 'the JavaScript backend has no loop hook', name, fn, { expected: true });

testTotals('totals: no iteration is timed, and the counters equal the hook\'s beside it', async () => {
  const hook = new Sampler().start();
  const totals = new Sampler({ loopTiming: 'totals' }).start();
  assert.is(hook.loopTiming, 'iteration');
  assert.is(totals.loopTiming, 'totals');
  assert.is(totals.loopIdleRead, 'locked');
  await sleep(30);
  // A stop publishes every counter at once (a refresh leaves the iteration count to the
  // totals timer: it is the watchdog's heartbeat); start() goes on from there.
  hook.stop();
  totals.stop();
  const h0 = hook.read().loop;
  const t0 = totals.read().loop;
  const e1 = performance.eventLoopUtilization();
  hook.start();
  totals.start();
  // A storm of immediates, waits, blocks and I/O-woken iterations.
  for (let i = 0; i < 5000; i++) await turn();
  for (let i = 0; i < 5; i++) {
    block(5);
    await sleep(4);
  }
  const { port1, port2 } = new MessageChannel();
  port2.onmessage = (m) => port2.postMessage(m.data);
  await new Promise((resolve) => {
    let n = 0;
    port1.onmessage = () => { if (++n < 500) port1.postMessage(n); else resolve(); };
    port1.postMessage(0);
  });
  port1.close();
  port2.close();
  hook.stop();
  totals.stop();
  const e2 = performance.eventLoopUtilization(e1);
  const h1 = hook.read().loop;
  const t1 = totals.read().loop;
  const d = (a, b, k) => b[k] - a[k];
  // The hook counts iterations at its check, libuv before its poll: one apart at most.
  const hookIters = d(h0, h1, 'iterations');
  const totalIters = d(t0, t1, 'iterations');
  assert.ok(hookIters >= 5500, `hook iterations ${hookIters}`);
  assert.ok(Math.abs(totalIters - hookIters) <= 2, `iterations: totals ${totalIters} vs hook ${hookIters}`);
  assert.is(d(t0, t1, 'events'), d(h0, h1, 'events'), 'events');
  // Busy and idle: the same clock and libuv idle time, read a few µs apart.
  for (const k of ['busyNs', 'idleNs']) {
    const a = d(h0, h1, k);
    const b = d(t0, t1, k);
    assert.ok(Math.abs(a - b) <= 0.01 * a + 0.3e6, `${k}: totals ${b / 1e6} ms vs hook ${a / 1e6} ms`);
  }
  const busy = d(t0, t1, 'busyNs');
  const idle = d(t0, t1, 'idleNs');
  assert.ok(idle > 15e6, `idle ${idle / 1e6} ms`);
  assert.ok(Math.abs(busy / (busy + idle) - e2.utilization) <= 0.02, `utilization ${busy / (busy + idle)} vs node ${e2.utilization}`);
  // No per-iteration time: NaN (null in JSON), and an empty iteration histogram.
  assert.ok(Number.isNaN(t1.lastIterationNs) && Number.isNaN(t1.maxIterationNs), `last ${t1.lastIterationNs}, max ${t1.maxIterationNs}`);
  assert.is(totals.histograms.loopIteration.count, 0);
  assert.ok(hook.histograms.loopIteration.count >= hookIters);
  assert.ok(h1.maxIterationNs >= 5e6);
  // The loop delay timer is the same in both modes.
  assert.ok(totals.histograms.loopDelay.count > 5);
  // Exporters leave out what is not measured (at 'full': 'standard' has none of it), and
  // keep the iteration count.
  const text = toPrometheus(totals, { detail: 'full' });
  assert.not.match(text, /^nodejs_eventloop_iteration_(duration_seconds|last_seconds|max_seconds)/m);
  assert.match(text, /^nodejs_eventloop_iterations_total \d+$/m);
  assert.match(toPrometheus(hook, { detail: 'full' }), /^nodejs_eventloop_iteration_duration_seconds_count \d+$/m);
  const json = toJSON(totals, { detail: 'full' });
  assert.not.ok(json.metrics.some((m) => m.name === 'nodejs.eventloop.iteration.duration'));
  assert.ok(json.metrics.every((m) => !/^nodejs\.eventloop\.iteration\.(last|max)$/.test(m.name) || m.points.length === 0));
  hook.close();
  totals.close();
});

testTotals('totals: published at least every 10 ms without a read', async () => {
  const s = new Sampler({ loopTiming: 'totals', refreshIntervalMs: 60000 }).start();
  await sleep(20);
  const view = Sampler.attach(s.share());
  const a = view.read().loop;
  for (let i = 0; i < 300; i++) await turn();
  await sleep(25);
  const b = view.read().loop;
  assert.ok(b.iterations - a.iterations >= 300, `iterations +${b.iterations - a.iterations} seen by a view`);
  assert.ok(b.busyNs > a.busyNs && b.idleNs > a.idleNs, 'busy and idle grew');
  s.close();
});

testTotals('totals: the watchdog sees a block, records it with its stack, and no storm or short iteration is one', async () => {
  const s = new Sampler({ loopTiming: 'totals', watchdog: { thresholdMs: 100, captureStack: true } }).start();
  const stalls = [];
  s.onStall((e) => stalls.push(e));
  await sleep(30);
  // Not stalls: a storm of immediates for 400 ms, and iterations of 60 ms for 400 ms.
  const stormEnd = performance.now() + 400;
  while (performance.now() < stormEnd) await turn();
  for (let i = 0; i < 7; i++) {
    block(60);
    await turn();
  }
  await sleep(30);
  assert.is(s.read().stall.count, 0, 'a storm and 60 ms iterations are no stall at 100 ms');
  // A 300 ms block, reading and refreshing all along (a read is no progress).
  let active = false;
  (function spinningForTheWatchdog() {
    const end = performance.now() + 300;
    while (performance.now() < end) {
      s.refresh();
      if (s.read().stall.active === 1) active = true;
    }
  })();
  assert.ok(active, 'the stall was seen while it lasted');
  await sleep(40);
  s.drain();
  const snap = s.read();
  assert.is(snap.stall.count, 1);
  assert.is(stalls.length, 1);
  const e = stalls[0];
  // The block's busy time bounded from above: by at most the 10 ms timer period and the
  // rest of its iteration.
  assert.ok(e.durationNs >= 299e6 && e.durationNs < 330e6, `stall ${e.durationNs / 1e6} ms`);
  assert.is(snap.stall.maxNs, e.durationNs);
  assert.match(e.stack ?? '', /spinningForTheWatchdog/);
  s.close();
});

testTotals('totals: stop() and start() keep counting; a stall at stop is recorded', async () => {
  const s = new Sampler({ loopTiming: 'totals', watchdog: { thresholdMs: 50 } }).start();
  for (let i = 0; i < 200; i++) await turn();
  await sleep(15);
  s.stop();
  const a = s.read().loop;
  assert.ok(a.iterations >= 200, `iterations ${a.iterations}`);
  await sleep(20);
  s.start();
  for (let i = 0; i < 200; i++) await turn();
  s.refresh();
  // A refresh publishes busy and idle time; the iteration count follows at the next tick.
  const early = s.read().loop;
  assert.ok(early.busyNs > a.busyNs, 'busy time at the refresh');
  await sleep(15);
  const b = s.read().loop;
  assert.ok(b.iterations - a.iterations >= 200 && b.iterations - a.iterations < 230, `+${b.iterations - a.iterations}`);
  assert.ok(b.idleNs - a.idleNs < 30e6, 'the stopped gap is not counted');
  // Stopped from inside a stalled iteration: recorded up to the stop.
  await sleep(15);
  block(150);
  s.stop();
  s.drain();
  const st = s.read().stall;
  assert.is(st.count, 1);
  assert.ok(st.maxNs >= 140e6 && st.maxNs < 200e6, `stall ${st.maxNs / 1e6} ms`);
  s.close();
});

testTotals('totals in a worker: its own loop counted; terminated while the totals timer runs', async () => {
  const { Worker } = require('node:worker_threads');
  const w = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const { Sampler } = require(${JSON.stringify(path.join(__dirname, '..'))});
    const s = new Sampler({ loopTiming: 'totals', watchdog: { thresholdMs: 50 } }).start();
    let n = 0;
    (function hop() {
      if (++n < 3000) return setImmediate(hop);
      setTimeout(() => {
        const loop = s.read().loop;
        parentPort.postMessage({ timing: s.loopTiming, iterations: loop.iterations, busy: loop.busyNs, stalls: s.read().stall.count });
        setInterval(() => {}, 1000); // kept running: terminated with the sampler open
      }, 25);
    })();
  `, { eval: true });
  const m = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  assert.is(m.timing, 'totals');
  assert.ok(m.iterations >= 3000 && m.iterations < 3100, `worker iterations ${m.iterations}`);
  assert.ok(m.busy > 0);
  assert.is(m.stalls, 0);
  assert.is(await w.terminate(), 1);
});

test('loopTiming: only \'iteration\' or \'totals\', named in the error', () => {
  assert.throws(() => new Sampler({ loopTiming: 'fast' }), (e) => e instanceof RangeError && /loopTiming must be 'iteration' or 'totals', got "fast"/.test(e.message));
  assert.throws(() => new Sampler({ loopTiming: 1 }), (e) => e instanceof TypeError && /loopTiming must be 'iteration' or 'totals', got 1/.test(e.message));
  assert.throws(() => new Sampler({ loopTiming: null }), (e) => e instanceof TypeError && /loopTiming/.test(e.message));
  const s = new Sampler({ loopTiming: undefined });
  assert.is(s.options.loopTiming, 'iteration');
  assert.is(s.loopTiming, native ? 'iteration' : 'totals'); // the JS backend has no hook
  s.close();
  const t = new Sampler({ loopTiming: 'totals' });
  assert.is(t.options.loopTiming, 'totals');
  // Known before start(): what this libuv gives (the JS backend: no hook at all).
  assert.is(t.loopTiming, !native || hasLoopCount ? 'totals' : 'iteration');
  // A share handle carries it; a forged one is checked.
  const h = t.share();
  assert.is(h.options.loopTiming, 'totals');
  assert.throws(() => Sampler.attach({ ...h, options: { ...h.options, loopTiming: 'bogus' } }), (e) => e instanceof RangeError && /handle\.options: loopTiming/.test(e.message));
  t.close();
  assert.throws(() => t.loopTiming, /closed/);
});

test('RUNTIME_SAMPLER_LOOP_TIMING: iteration by default, totals or iteration (any case), else one warning line and the default', () => {
  assert.is(parseEnv({}).config.loopTiming, 'iteration');
  assert.is(parseEnv({ RUNTIME_SAMPLER_LOOP_TIMING: 'totals' }).config.loopTiming, 'totals');
  assert.is(parseEnv({ RUNTIME_SAMPLER_LOOP_TIMING: ' Totals ' }).config.loopTiming, 'totals');
  assert.equal(parseEnv({ RUNTIME_SAMPLER_LOOP_TIMING: 'iteration' }).problems, []);
  const bad = parseEnv({ RUNTIME_SAMPLER_LOOP_TIMING: 'sampled' });
  assert.is(bad.config.loopTiming, 'iteration');
  assert.equal(bad.problems, ['RUNTIME_SAMPLER_LOOP_TIMING="sampled" is not valid (iteration or totals); using iteration']);
});

testNative('the preload takes RUNTIME_SAMPLER_LOOP_TIMING; below libuv 1.45 totals falls back to iteration', () => {
  const r = spawnSync(process.execPath, ['-r', 'runtime-sampler/register', '-e', `
    const { registered } = require('runtime-sampler');
    const { sampler } = registered();
    let n = 0;
    (function hop() {
      if (++n < 2000) return setImmediate(hop);
      setTimeout(() => {
        const loop = sampler.read().loop;
        console.log(JSON.stringify({ timing: sampler.loopTiming, asked: sampler.options.loopTiming, iterations: loop.iterations, last: String(loop.lastIterationNs), hist: sampler.histograms.loopIteration.count }));
        // Ends by itself (the preload keeps nothing alive): no process.exit(), whose
        // undisposed isolate LeakSanitizer would report under the ASan run.
      }, 30);
    })();
  `], { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 30000, env: { ...process.env, RUNTIME_SAMPLER_PORT: '0', RUNTIME_SAMPLER_PUBLISH: '0', RUNTIME_SAMPLER_LOOP_TIMING: 'totals' } });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.is(out.asked, 'totals');
  assert.ok(out.iterations >= 2000, `iterations ${out.iterations}`);
  if (hasLoopCount) {
    assert.equal([out.timing, out.last, out.hist], ['totals', 'NaN', 0], r.stdout);
  } else {
    assert.is(out.timing, 'iteration', 'libuv without uv_metrics_info keeps the hook');
    assert.ok(out.hist >= 2000, r.stdout);
  }
});

testNative('runtime-sampler run --loop-timing: the preload\'s setting; a bad value is a usage error', () => {
  const BIN = path.join(__dirname, '..', 'bin', 'runtime-sampler.js');
  const app = 'const { sampler } = require("runtime-sampler").registered(); console.log("TIMING " + sampler.loopTiming + " " + sampler.options.loopTiming)';
  const ok = spawnSync(process.execPath, [BIN, 'run', '--port', '0', '--loop-timing', 'totals', '--', '-e', app], { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 30000 });
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`^TIMING ${hasLoopCount ? 'totals' : 'iteration'} totals$`, 'm'));
  const bad = spawnSync(process.execPath, [BIN, 'run', '--port', '0', '--loop-timing', 'sometimes', '--', '-e', app], { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 30000 });
  assert.is(bad.status, 2, bad.stdout);
  assert.match(bad.stderr, /--loop-timing="sometimes" is not valid \(iteration or totals\)/);
  assert.not.match(bad.stdout, /TIMING/);
});

test.run();
