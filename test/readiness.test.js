// versions: current — readiness decisions over numbers
// /readyz's thresholds: each check, hysteresis (no flapping at a threshold), NaN before
// anything is measured, and bad thresholds rejected.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { Sampler, Histogram, ReadinessChecker, DEFAULT_THRESHOLDS } = require('..');
const { parseEnv } = require('../dist/cjs/server/config');
const { throwsAll } = require('./helpers/throws');

const sampler = new Sampler();
/** Two snapshots whose slots we set: the window's start and now. */
function inputs({ busyMs = 0, idleMs = 1000, heapUsed = 10, heapLimit = 100, rss = 1e8, gcMs = 0, p99Ms = null } = {}) {
  const start = sampler.read();
  const now = sampler.read();
  start.slots.fill(0);
  now.slots.fill(0);
  const set = (snap, key, v) => { snap.slots[require('../dist/cjs/layout.generated').MAIN_SLOTS[key]] = v; };
  set(now, 'TIME_NS', (busyMs + idleMs) * 1e6);
  set(now, 'LOOP_BUSY_NS', busyMs * 1e6);
  set(now, 'LOOP_IDLE_NS', idleMs * 1e6);
  set(now, 'HEAP_USED_BYTES', heapUsed);
  set(now, 'HEAP_LIMIT_BYTES', heapLimit);
  set(now, 'PROC_RSS_BYTES', rss);
  set(now, 'GC_PAUSE_NS', gcMs * 1e6);
  const delay = new Histogram();
  if (p99Ms !== null) for (let i = 0; i < 100; i++) delay.record(p99Ms * 1e6);
  return { now, windowStart: start, delay };
}

const LOAD = { loopDelayP99Ms: 500, elu: 0.98, rssBytes: 2e8, gcCpuFraction: 0.5 };
const overloaded = { p99Ms: 900, busyMs: 990, idleMs: 10, rss: 3e8, gcMs: 600 };

test('defaults fail only on "cannot serve now": load signals are reported, never failing', () => {
  assert.equal({ ...DEFAULT_THRESHOLDS }, { loopDelayP99Ms: null, elu: null, heapUsedRatio: 0.9, rssBytes: null, gcCpuFraction: null, secondsToLimit: null, stall: true, hysteresis: 0.1 });
  const c = new ReadinessChecker();
  let r = c.evaluate(inputs(overloaded));
  assert.ok(r.ready, JSON.stringify(r));
  assert.equal(r.checks.map((x) => x.name), ['loopDelayP99Ms', 'elu', 'heapUsedRatio', 'rssBytes', 'gcCpuFraction']);
  const elu = r.checks.find((x) => x.name === 'elu');
  assert.ok(Math.abs(elu.value - 0.99) < 1e-9 && elu.threshold === null && elu.ok, 'the value is reported without a threshold');
  r = c.evaluate(inputs({ ...overloaded, heapUsed: 95 }));
  assert.equal(r.failing, ['heapUsedRatio'], 'the heap at its limit fails by default');
});

test('gcCpuFraction from pauses alone where incremental marking is not measured (JS backend: NaN)', () => {
  const c = new ReadinessChecker({ gcCpuFraction: 0.5 });
  const x = inputs({ gcMs: 600 });
  const im = require('../dist/cjs/layout.generated').MAIN_SLOTS.GC_IM_NS;
  x.now.slots[im] = NaN;
  x.windowStart.slots[im] = NaN;
  const r = c.evaluate(x);
  const gc = r.checks.find((k) => k.name === 'gcCpuFraction');
  assert.ok(Math.abs(gc.value - 0.6) < 1e-9, JSON.stringify(gc));
  assert.is(gc.ok, false);
});

test('start-up: not ready until the loop has completed an iteration since the sampler started', () => {
  const c = new ReadinessChecker();
  const set = (snap, key, v) => { snap.slots[require('../dist/cjs/layout.generated').MAIN_SLOTS[key]] = v; };
  const i = inputs();
  set(i.now, 'STARTED', 1);
  let r = c.evaluate(i);
  assert.equal(r.failing, ['startup']);
  assert.is(r.checks.find((x) => x.name === 'startup').value, 1000, 'ms since the start');
  set(i.now, 'LOOP_ITERATIONS', 1);
  assert.ok(c.evaluate(i).ready);
  set(i.now, 'LOOP_ITERATIONS', 0);
  assert.ok(new ReadinessChecker({ stall: false }).evaluate(i).ready, 'stall: false turns it off too');
});

test('every opt-in load threshold passes on a quiet process, and fails past its threshold', () => {
  let r = new ReadinessChecker(LOAD).evaluate(inputs({ p99Ms: 12 }));
  assert.ok(r.ready, JSON.stringify(r));
  r = new ReadinessChecker(LOAD).evaluate(inputs({ ...overloaded, heapUsed: 95 }));
  assert.not.ok(r.ready);
  assert.equal(r.failing.sort(), ['elu', 'gcCpuFraction', 'heapUsedRatio', 'loopDelayP99Ms', 'rssBytes']);
  for (const [name, threshold] of Object.entries(LOAD)) {
    r = new ReadinessChecker({ [name]: threshold }).evaluate(inputs(overloaded));
    assert.equal(r.failing, [name], `${name} alone`);
  }
  r = new ReadinessChecker({ heapUsedRatio: null }).evaluate(inputs({ heapUsed: 99 }));
  assert.ok(r.ready, 'heapUsedRatio: null turns the heap check off');
});

test('hysteresis: a failing check recovers only below threshold × (1 − h); no flapping at the threshold', () => {
  const c = new ReadinessChecker({ heapUsedRatio: 0.8, hysteresis: 0.1 });
  const at = (used) => c.evaluate(inputs({ heapUsed: used })).failing.includes('heapUsedRatio');
  assert.is(at(79), false);
  assert.is(at(81), true);
  // Hovering just under the threshold keeps it failing…
  for (const used of [79, 80.5, 75, 73]) assert.is(at(used), true, `at ${used}`);
  // …until below 0.8 × 0.9 = 0.72.
  assert.is(at(71), false);
  assert.is(at(79), false, 'and passing again up to the threshold');
});

test('nothing measured yet (no loop delay, no loop time) does not fail', () => {
  const r = new ReadinessChecker().evaluate(inputs({ busyMs: 0, idleMs: 0, heapLimit: 0 }));
  assert.ok(r.ready);
  assert.ok(r.checks.every((x) => x.ok));
  assert.ok(Number.isNaN(r.checks.find((x) => x.name === 'loopDelayP99Ms').value));
});

test('bad thresholds: TypeError / RangeError naming the threshold and what is accepted', () => {
  throwsAll([
    [() => new ReadinessChecker({ elu: 2 }), RangeError, /readiness\.elu must be a number from 0\.01 to 1, got 2/],
    [() => new ReadinessChecker({ elu: '0.5' }), TypeError, /readiness\.elu must be a number .*got "0\.5"/],
    [() => new ReadinessChecker({ hysteresis: 0.9 }), RangeError, /hysteresis .*0 to 0\.5/],
    [() => new ReadinessChecker({ stall: 1 }), TypeError, /stall must be true or false, got 1/],
    [() => new ReadinessChecker({ hysteresis: null }), TypeError, /readiness\.hysteresis must be a number from 0 to 0\.5, got null/],
    [() => new ReadinessChecker({ gcCpuFraction: '0.1' }), TypeError, /readiness\.gcCpuFraction must be a number from 0\.001 to 1 \(or null: no check\), got "0\.1"/],
    [() => new ReadinessChecker({ loopDelayP99: 5 }), TypeError, /unknown option "loopDelayP99"/],
    [() => new ReadinessChecker('x'), TypeError, /must be an object, got "x"/],
  ]);
});

test('environment: every bad value is one line naming the variable, the value and what is accepted; defaults stay', () => {
  const { config, problems } = parseEnv({
    RUNTIME_SAMPLER_PORT: '99999', RUNTIME_SAMPLER_READY_ELU: 'high', RUNTIME_SAMPLER_TOKEN: 'short',
    RUNTIME_SAMPLER_DEBUG: '1', RUNTIME_SAMPLER_WINDOW_MS: '5', RUNTIME_SAMPLER_FOO: 'x', RUNTIME_SAMPLER_READY_STALL: 'maybe',
  });
  assert.is(config.serve, false, 'a bad port starts no server');
  assert.equal(config.readiness, {});
  assert.is(config.token, null);
  assert.is(config.debug, false);
  assert.is(config.windowMs, 10000);
  const text = problems.join('\n');
  for (const re of [/RUNTIME_SAMPLER_PORT="99999" is not valid \(an integer from 0 to 65535\); the HTTP server is not started/,
    /RUNTIME_SAMPLER_READY_ELU="high" is not valid \(a number from 0\.01 to 1\); using no limit/,
    /RUNTIME_SAMPLER_TOKEN="\*\*\*\*\*" is not valid/, /RUNTIME_SAMPLER_DEBUG=1 needs RUNTIME_SAMPLER_TOKEN/,
    /RUNTIME_SAMPLER_WINDOW_MS="5"/, /RUNTIME_SAMPLER_FOO is not a runtime-sampler setting/, /RUNTIME_SAMPLER_READY_STALL="maybe" is not valid \(1 or 0\)/]) {
    assert.match(text, re);
  }
  assert.not.match(text, /short/, 'the token is never printed');
  const good = parseEnv({ RUNTIME_SAMPLER_PORT: '0', RUNTIME_SAMPLER_READY_ELU: '0.5', RUNTIME_SAMPLER_TOKEN: 'a'.repeat(20), RUNTIME_SAMPLER_DEBUG: 'true' });
  assert.equal(good.problems, []);
  assert.is(good.config.port, 0);
  assert.is(good.config.readiness.elu, 0.5);
  assert.is(good.config.debug, true);
});

test.run();
