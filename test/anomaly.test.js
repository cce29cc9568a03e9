// versions: current
// Anomaly detection's parts: the baseline's median/MAD arithmetic on known inputs (floors,
// direction, learning, anomalous values kept out, re-learning after a lasting step, bounded
// memory), anomaly rule validation, the opt-in built-in set and its preload variable.
const { test } = require('uvu');
const { withPreloaded } = require('./helpers/preloaded');
const assert = require('uvu/assert');
const { Sampler, watch, AnomalyBaseline, ANOMALY_RULES, BUILTIN_RULES, diagnose } = require('..');
const { MAD_SCALE, MAX_BASELINE_SAMPLES } = require('../dist/cjs/analysis/anomaly');
const { parseEnv, ENV_VARS } = require('../dist/cjs/server/config');
const { throwsAll } = require('./helpers/throws');

const S = 1e9; // one second in ns
const settings = (o = {}) => ({ sensitivity: 4, learnMs: 10_000, floor: 0, minDeviation: 0, direction: 'both', ...o });
/** A baseline fed `values` one a second from t = 0; returns it and the next time. */
function fed(values, o, intervalMs = 1000) {
  const b = new AnomalyBaseline(settings(o), intervalMs);
  let t = 0;
  for (const v of values) {
    b.update(v, t);
    t += intervalMs * 1e6;
  }
  return { b, t };
}
const STEADY = [10, 11, 9, 10, 12, 10, 8, 10, 11, 9, 10];

test('median and MAD of known values; deviations in units of 1.4826 × MAD', () => {
  // Sorted: 8 9 9 10 10 10 10 10 11 11 12 → median 10; |x − 10|: 0×5, 1×4, 2×2 → MAD 1.
  const { b, t } = fed(STEADY);
  const c = b.update(20, t);
  assert.ok(c.ready);
  assert.is(c.median, 10);
  assert.is(c.mad, 1);
  assert.is(c.scale, MAD_SCALE);
  assert.ok(Math.abs(c.deviations - 10 / MAD_SCALE) < 1e-12);
  assert.ok(c.anomalous, '6.7 deviations > 4');
  const low = b.update(5, t + S);
  assert.ok(Math.abs(low.deviations + 5 / MAD_SCALE) < 1e-12);
  assert.not.ok(low.anomalous, '3.4 deviations ≤ 4');
  // One huge outlier among the steady values moves neither the median nor the MAD.
  const { b: b2, t: t2 } = fed([...STEADY.slice(0, 5), 1e9, ...STEADY.slice(5)]);
  const c2 = b2.update(10, t2);
  assert.is(c2.median, 10);
  assert.is(c2.mad, 1);
});

test('MAD 0: the relative floor and the absolute minimum set the deviation unit', () => {
  const constant = Array(12).fill(100);
  let { b, t } = fed(constant, { floor: 0.05 });
  let c = b.update(115, t);
  assert.is(c.mad, 0);
  assert.is(c.scale, 5, 'floor × |median|');
  assert.is(c.deviations, 3);
  assert.not.ok(c.anomalous);
  assert.ok(b.update(121, t + S).anomalous, '4.2 deviations');
  ({ b, t } = fed(Array(12).fill(0), { floor: 0.05, minDeviation: 2 }));
  c = b.update(7, t);
  assert.is(c.scale, 2, 'minDeviation where the median is 0');
  assert.is(c.deviations, 3.5);
  assert.not.ok(c.anomalous);
  // Every floor 0 and a constant baseline: any change is infinitely deviant, no change is not.
  ({ b, t } = fed(constant));
  assert.is(b.update(100, t).deviations, 0);
  assert.is(b.update(100.5, t + S).deviations, Infinity);
});

test('direction: above or below only', () => {
  for (const [direction, high, low] of [['above', true, false], ['below', false, true], ['both', true, true]]) {
    const { b, t } = fed(STEADY, { direction });
    assert.is(b.update(30, t).anomalous, high, `${direction} high`);
    assert.is(b.update(-10, t + S).anomalous, low, `${direction} low`);
  }
});

test('nothing is judged before learnMs of values; NaN is neither judged nor learned', () => {
  const b = new AnomalyBaseline(settings(), 1000);
  for (let i = 0; i < 10; i++) {
    const c = b.update(i === 9 ? 1e6 : 10, i * S);
    assert.not.ok(c.ready, `t=${i}s`);
    assert.not.ok(c.anomalous);
  }
  const size = b.size;
  const n = b.update(NaN, 10 * S);
  assert.ok(n.ready);
  assert.not.ok(n.anomalous);
  assert.is(b.size, size);
});

test('anomalous values stay out of the baseline; a step that lasts learnMs becomes the new normal', () => {
  const { b, t } = fed(STEADY);
  const before = b.size;
  let now = t;
  // 5 s of a step: anomalous, not learned; the baseline only loses values to age.
  for (let i = 0; i < 5; i++, now += S) assert.ok(b.update(50, now).anomalous);
  assert.ok(b.size < before);
  const during = b.update(50, now);
  assert.is(during.median, 10, 'the median is still the steady one');
  now += S;
  // Once the old values have aged out, it learns again (judging nothing) from the new level…
  let relearnAt = -1;
  for (let i = 0; i < 30; i++, now += S) {
    const c = b.update(50 + (i % 3), now);
    if (!c.ready && relearnAt < 0) relearnAt = i;
    if (relearnAt >= 0 && c.ready) {
      assert.not.ok(c.anomalous, 'the new level is normal after learnMs');
      assert.is(c.median, 51);
      return;
    }
  }
  assert.unreachable(`never re-learned (relearnAt ${relearnAt})`);
});

test('memory is bounded: at most learnMs / interval values, and never more than MAX_BASELINE_SAMPLES', () => {
  const small = new AnomalyBaseline(settings({ learnMs: 5000 }), 100);
  for (let i = 0; i < 1000; i++) small.update(i % 7, i * 1e8);
  assert.ok(small.size <= 51, `size ${small.size}`);
  const huge = new AnomalyBaseline(settings({ learnMs: 86_400_000 }), 100);
  for (let i = 0; i < MAX_BASELINE_SAMPLES + 500; i++) huge.update(i % 7, i * 1e8);
  assert.is(huge.size, MAX_BASELINE_SAMPLES);
});

test('anomaly rules: resolved with their defaults; condition implied', () => {
  const s = new Sampler();
  try {
    const w = watch(s, { rules: [
      { name: 'Rss', metric: 'process.rssBytes', anomaly: {} },
      { name: 'Alloc', metric: 'gc.allocatedBytes', condition: 'anomaly', anomaly: { sensitivity: 3, learnMs: '1m', minDeviation: 1024 }, window: '5s' },
      { name: 'Delay', metric: 'histograms.loopDelay', anomaly: { minDeviation: '10ms' }, direction: 'above' },
    ] });
    const [rss, alloc, delay] = w.rules;
    assert.is(rss.condition, 'anomaly');
    assert.equal({ ...rss.anomaly }, { sensitivity: 4, learnMs: 600_000, floor: 0.05, minDeviation: 0, direction: 'both' });
    assert.is(rss.windowMs, 0, 'a gauge is judged by its value');
    assert.ok(Number.isNaN(rss.threshold));
    assert.is(alloc.windowMs, 5000, 'a counter by its rate over window');
    assert.is(alloc.anomaly.learnMs, 60_000);
    assert.is(delay.percentile, 99, 'a histogram by its p99 over window');
    assert.is(delay.anomaly.minDeviation, 10e6, 'a duration for an ns metric');
    assert.is(delay.anomaly.direction, 'above');
    assert.match(alloc.summary, /rate of gc\.allocatedBytes/);
    w.close();
  } finally {
    s.close();
  }
});

test('bad anomaly rules are rejected naming the rule, the field, the value and what is accepted', () => {
  const s = new Sampler();
  const one = (r) => () => watch(s, { rules: [{ name: 'A', metric: 'process.rssBytes', ...r }] });
  try {
    throwsAll([
      [one({ anomaly: { sensitivty: 3 } }), TypeError, /rule "A": anomaly.*sensitivty.*sensitivity/s],
      [one({ anomaly: { sensitivity: 0.5 } }), RangeError, /rule "A": anomaly\.sensitivity must be a number from 1 to 100, got 0\.5/],
      [one({ anomaly: { sensitivity: '3' } }), TypeError, /anomaly\.sensitivity must be a number/],
      [one({ anomaly: { learnMs: 10 } }), RangeError, /anomaly\.learnMs must be from 1000 ms/],
      [one({ anomaly: { learnMs: 'forever' } }), TypeError, /anomaly\.learnMs must be a duration/],
      [one({ anomaly: { floor: 2 } }), RangeError, /anomaly\.floor must be a number from 0 to 1, got 2/],
      [one({ anomaly: { minDeviation: -1 } }), TypeError, /anomaly\.minDeviation must be a finite number ≥ 0.*got -1/],
      [one({ anomaly: { minDeviation: '1ms' } }), TypeError, /anomaly\.minDeviation must be a finite number ≥ 0 \(in the metric's unit\), got "1ms"/],
      [one({ anomaly: 3 }), TypeError, /rule "A": anomaly must be an object of \{ sensitivity, learnMs, floor, minDeviation \}/],
      [one({ anomaly: {}, threshold: 5 }), TypeError, /rule "A": an anomaly rule has no threshold/],
      [one({ anomaly: {}, condition: 'above' }), TypeError, /condition is 'anomaly' \(or left out\), got "above"/],
      [one({ condition: 'anomaly', window: '5s' }), TypeError, /window applies to anomaly rules on a histogram, a counter/],
      [one({ anomaly: {}, percentile: 90 }), TypeError, /percentile applies to anomaly rules on a histogram only/],
      [one({ anomaly: {}, direction: 'sideways' }), RangeError, /direction must be 'above', 'below' or 'both', got "sideways"/],
      [() => watch(s, { rules: [{ name: 'A', metric: 'heap.nope', anomaly: {} }] }), RangeError, /metric "heap\.nope" is not a number in a Snapshot/],
      [() => watch(s, { rules: [{ name: 'A', metric: 'histograms.loopDelay', anomaly: {}, percentile: 0 }] }), RangeError, /percentile must be a number in \(0, 100\], got 0/],
      [() => watch(s, { anomaly: 'yes' }), TypeError, /watch: anomaly must be true or false.*got "yes"/],
    ]);
  } finally {
    s.close();
  }
});

test('the built-in anomaly rules are off unless asked for; watch({ anomaly: true }) adds them', () => {
  const s = new Sampler();
  try {
    const names = ANOMALY_RULES.map((r) => r.name);
    assert.equal(names, ['NodeAllocationRateAnomaly', 'NodeGcCpuAnomaly', 'NodeEventLoopDelayAnomaly', 'NodeRssAnomaly']);
    const plain = watch(s);
    assert.equal(plain.rules.map((r) => r.name), BUILTIN_RULES.map((r) => r.name));
    const withAnomaly = watch(s, { anomaly: true });
    assert.equal(withAnomaly.rules.map((r) => r.name), [...BUILTIN_RULES.map((r) => r.name), ...names]);
    const metrics = withAnomaly.rules.filter((r) => r.condition === 'anomaly').map((r) => r.metric);
    assert.equal(metrics, ['gc.allocatedBytes', 'gc.mainThreadNs', 'histograms.loopDelay', 'process.rssBytes']);
    // Nothing anomalous before any baseline has learned; diagnose() lists none.
    assert.equal(withAnomaly.anomalies(), []);
    assert.equal(diagnose(s).anomalies, []);
    plain.close();
    withAnomaly.close();
  } finally {
    s.close();
  }
});

test('RUNTIME_SAMPLER_ANOMALY: 1 turns the built-in anomaly rules on; a bad value is reported', () => {
  assert.is(parseEnv({}).config.anomaly, false);
  assert.is(parseEnv({ RUNTIME_SAMPLER_ANOMALY: '1' }).config.anomaly, true);
  const bad = parseEnv({ RUNTIME_SAMPLER_ANOMALY: 'maybe' });
  assert.is(bad.config.anomaly, false);
  assert.match(bad.problems.join('\n'), /RUNTIME_SAMPLER_ANOMALY="maybe" is not valid \(1 or 0\); no anomaly rules/);
  assert.ok(ENV_VARS.some(([n]) => n === 'RUNTIME_SAMPLER_ANOMALY'));
});

test('a watcher fires an anomaly rule after `for`, lists it, and resolves it past the hysteresis band', async () => {
  // A history sampling once a minute: only the samples fed here are evaluated.
  const s = new Sampler({ history: { intervalMs: 60_000, capacity: 10 } });
  const w = watch(s, { rules: [{ name: 'Rss', metric: 'process.rssBytes', anomaly: { sensitivity: 4, learnMs: '1s', floor: 0 }, for: '200ms', hysteresis: 0.5, severity: 'critical' }] });
  const events = [];
  w.on('alert', (a) => events.push(['alert', a]));
  w.on('resolve', (a) => events.push(['resolve', a]));
  let t = 0;
  const feed = (v) => {
    w.evaluate({ timeNs: t, process: { rssBytes: v } });
    t += 1e8;
  };
  try {
    for (let i = 0; i < 20; i++) feed(i === 5 ? 1e6 : 100 + (i % 3)); // learning: even an outlier raises nothing
    assert.equal(events, []);
    feed(200);
    assert.equal(w.anomalies().map((a) => [a.rule, a.state, a.median, a.value]), [['Rss', 'pending', 101, 200]]);
    assert.equal(events, [], 'pending until it has held for `for`');
    await new Promise((r) => setTimeout(r, 250));
    feed(200);
    assert.is(events.length, 1);
    const [kind, alert] = events[0];
    assert.is(kind, 'alert');
    assert.is(alert.condition, 'anomaly');
    assert.is(alert.value, 200);
    assert.equal({ ...alert.baseline, deviations: Math.round(alert.baseline.deviations) }, { median: 101, mad: 1, deviations: Math.round(99 / 1.4826) });
    assert.ok(Math.abs(alert.threshold - (101 + 4 * 1.4826)) < 1e-9, 'the band edge');
    const report = diagnose(s);
    assert.equal(report.anomalies.map((a) => [a.rule, a.state]), [['Rss', 'firing']]);
    assert.is(report.findings.find((f) => f.id === 'anomaly.Rss').verdict, 'critical');
    feed(105); // 2.7 deviations: inside the band, not past its hysteresis (2)
    assert.is(events.length, 1);
    feed(102);
    assert.is(events.length, 2);
    assert.is(events[1][0], 'resolve');
    assert.is(events[1][1].reason, 'cleared');
    assert.equal(w.anomalies(), []);
    w.close();
    assert.equal(diagnose(s).anomalies, [], 'a closed watcher lists nothing');
  } finally {
    w.close();
    s.close();
  }
});

/** The rule names and /diagnose's anomalies of a preloaded app under `env`. */
async function preloaded(env) {
  const app = "require('runtime-sampler').registered().monitor.then((m) => console.log('PORT ' + m.port)); setTimeout(() => {}, 20000);";
  return withPreloaded(app, env, async (port) => {
    const get = async (p) => (await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(5000) })).json();
    return { rules: (await get('/alerts')).rules.map((r) => r.name), anomalies: (await get('/diagnose?format=json')).anomalies };
  });
}

test('the preload: RUNTIME_SAMPLER_ANOMALY=1 adds the anomaly rules to /alerts; /diagnose lists anomalies', async () => {
  const names = ANOMALY_RULES.map((r) => r.name);
  const off = await preloaded({});
  assert.ok(off.rules.length > 0 && !off.rules.some((n) => names.includes(n)), off.rules.join());
  const on = await preloaded({ RUNTIME_SAMPLER_ANOMALY: '1' });
  assert.equal(on.rules.slice(-names.length), names);
  assert.equal(on.anomalies, [], 'an app just started has learned no baseline: nothing anomalous');
});

test.run();
