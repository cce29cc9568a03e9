// tier: extra — a 25 s workload
// versions: current
// Anomaly rules against a real steady workload (test/helpers/anomaly-workload.js): after the
// baselines have learned, a steady run raises nothing; allocation ×5 and then +50 ms of loop
// blocking per tick are each flagged (pending) within the rule's window and fire after the
// rule's `for`; diagnose() lists the current anomaly with its baseline.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { diagnose } = require('..');
const { RULES, startWorkload } = require('./helpers/anomaly-workload');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rule = (name) => RULES.find((r) => r.name === name);
const ms = (d) => (typeof d === 'number' ? d : Number(d.replace(/s$/, '')) * 1000);

/** Polls until `name` is anomalous (pending or firing); returns the time, or throws after `limitMs`. */
async function until(what, limitMs, check) {
  const t0 = Date.now();
  for (;;) {
    const v = check();
    if (v) return Date.now();
    if (Date.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(20);
  }
}

test('steady workload: no anomaly; allocation ×5, then +50 ms loop delay, flagged within window + for', async () => {
  const w = startWorkload();
  try {
    const learnMs = ms(rule('AllocRate').anomaly.learnMs);
    await sleep(learnMs + 4000);
    assert.equal(w.events, [], 'a steady run raises no anomaly alert');
    assert.equal(w.watcher.anomalies(), [], 'nothing is anomalous in a steady run');

    // Allocation ×5.
    const alloc = rule('AllocRate');
    const windowMs = ms(alloc.window);
    const forMs = ms(alloc.for);
    const t1 = Date.now();
    w.state.allocFactor = 5;
    const flagged = await until('allocation ×5 flagged', windowMs + 1000, () => w.watcher.anomalies().some((a) => a.rule === 'AllocRate'));
    const fired = await until('allocation ×5 alert', forMs + 1000, () => w.events.some((e) => e.type === 'alert' && e.alert.name === 'AllocRate'));
    const alert = w.events.find((e) => e.type === 'alert' && e.alert.name === 'AllocRate').alert;
    assert.ok(fired - flagged >= forMs - 150 && fired - t1 <= windowMs + forMs + 1000, `pending ${flagged - t1} ms, fired ${fired - t1} ms after the step`);
    assert.ok(alert.value > alert.baseline.median * 3, `rate ${alert.value} against median ${alert.baseline.median}`);
    assert.ok(alert.baseline.deviations > 6 && alert.threshold < alert.value);
    const report = diagnose(w.sampler);
    const listed = report.anomalies.find((a) => a.rule === 'AllocRate');
    assert.ok(listed, JSON.stringify(report.anomalies));
    assert.is(listed.metric, 'gc.allocatedBytes');
    assert.is(listed.state, 'firing');
    for (const k of ['value', 'median', 'mad', 'deviations', 'since']) assert.type(listed[k], 'number');
    const finding = report.findings.find((f) => f.id === 'anomaly.AllocRate');
    assert.is(finding.verdict, 'warn');
    assert.match(report.format(), /Anomaly: rate of gc\.allocatedBytes/);
    console.log(`allocation ×5: pending after ${flagged - t1} ms, fired after ${fired - t1} ms (window ${windowMs}, for ${forMs}); ${(alert.value / 2 ** 20).toFixed(1)} MiB/s against a median of ${(alert.baseline.median / 2 ** 20).toFixed(1)}`);

    w.state.allocFactor = 1;
    await until('allocation back to steady resolves', 3000, () => w.events.some((e) => e.type === 'resolve' && e.alert.name === 'AllocRate'));
    await sleep(1500);

    // +50 ms of loop blocking per tick.
    const delay = rule('LoopDelayP99');
    const t2 = Date.now();
    w.state.blockMs = 50;
    const dFlagged = await until('loop delay +50 ms flagged', ms(delay.window) + 1000, () => w.watcher.anomalies().some((a) => a.rule === 'LoopDelayP99'));
    const dFired = await until('loop delay +50 ms alert', ms(delay.for) + 1000, () => w.events.some((e) => e.type === 'alert' && e.alert.name === 'LoopDelayP99'));
    const dAlert = w.events.find((e) => e.type === 'alert' && e.alert.name === 'LoopDelayP99').alert;
    assert.ok(dFired - t2 <= ms(delay.window) + ms(delay.for) + 1000, `fired ${dFired - t2} ms after the step`);
    // The loop-delay histogram records the full period of a 10 ms timer: a steady p99 near
    // 10 ms becomes one near 50 ms when every tick blocks 50 ms.
    assert.ok(dAlert.value >= 45e6 && dAlert.value - dAlert.baseline.median > 30e6, `p99 ${dAlert.value} ns against median ${dAlert.baseline.median}`);
    assert.ok(diagnose(w.sampler).anomalies.some((a) => a.rule === 'LoopDelayP99' && a.state === 'firing'));
    console.log(`loop delay +50 ms: pending after ${dFlagged - t2} ms, fired after ${dFired - t2} ms; p99 ${(dAlert.value / 1e6).toFixed(1)} ms against a median of ${(dAlert.baseline.median / 1e6).toFixed(1)} ms`);
  } finally {
    w.stop();
  }
});

test.run();
