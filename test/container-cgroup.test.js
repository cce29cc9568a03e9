// versions: current — the kernel's cgroups and the native reader: the same under every Node
// Real cgroups (root and cgroup v1 controllers; skipped elsewhere with the reason): a child
// spinning in a cgroup with a 20% CPU quota is throttled, and its sampler's throttled
// periods and time rise and match the kernel's cpu.stat (each read bracketed by two of the
// kernel's); a leaking child in a 200 MiB memory cgroup is OOM-killed and an observer in
// the same cgroup counts the kill, as the kernel does. v2 is parsed from fixture trees
// (test/container.test.js); on a hybrid host the unified hierarchy's PSI is checked here.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { mkdtempSync, mkdirSync, rmdirSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Sampler, forecastMemory } = require('..');
const { testUnless } = require('./helpers/skip');
const { v1Reason, v1Mount, v2Mount, keyValues, psiTotal, createCgroup, startChild, runOomScenario } = require('./helpers/cgroup-v1');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const FIELDS = [['nr_periods', 'cpuPeriods', 1], ['nr_throttled', 'cpuThrottledPeriods', 1], ['throttled_time', 'cpuThrottledNs', 1]];

/** Whether a unified-hierarchy cgroup can be made here too (a hybrid host). */
function unifiedMount() {
  const mount = v2Mount();
  if (mount === null) return null;
  try {
    const probe = join(mount, `rs-probe-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
    return mount;
  } catch {
    return null;
  }
}

testUnless(test, v1Reason('cpu'), 'a 20% CPU quota: throttled periods and time rise, equal to the kernel\'s cpu.stat', async () => {
  const cpu = createCgroup(v1Mount('cpu'), `rs-test-${process.pid}-cpu`, [['cpu.cfs_period_us', 100000], ['cpu.cfs_quota_us', 20000]], 'cpu');
  const unified = unifiedMount();
  const v2 = unified === null ? null : createCgroup(unified, `rs-test-${process.pid}-cpu`);
  const publishDir = mkdtempSync(join(tmpdir(), 'rs-cgroup-cpu-'));
  let child = null;
  try {
    child = await startChild(v2 === null ? [cpu.dir] : [cpu.dir, v2.dir], { spin: true, publishDir, refreshIntervalMs: 100, history: { intervalMs: 100, capacity: 600 } });
    const stat = () => keyValues(join(cpu.dir, 'cpu.stat'));
    // Over time, from its published block (the child is throttled meanwhile).
    const view = Sampler.open(child.published);
    const series = [];
    for (let i = 0; i < 15; i++) {
      await sleep(100);
      const c = view.read().container;
      series.push([c.cpuPeriods, c.cpuThrottledPeriods, c.cpuThrottledNs]);
    }
    const c0 = view.read().container;
    assert.is(c0.cgroupVersion, 1);
    assert.is(c0.cpuQuotaCores, 0.2);
    for (let i = 1; i < series.length; i++) {
      for (let k = 0; k < 3; k++) assert.ok(series[i][k] >= series[i - 1][k], `series not monotonic at ${i}: ${JSON.stringify(series)}`);
    }
    const [p0, t0, ns0] = series[0];
    const [p1, t1, ns1] = series[series.length - 1];
    assert.ok(t1 - t0 >= 5, `throttled periods rose by ${t1 - t0} in 1.4 s of spinning: ${JSON.stringify(series)}`);
    assert.ok(ns1 - ns0 > 100e6, `throttled time rose by ${ns1 - ns0} ns`);
    // Spinning needs more than 20 ms each 100 ms period: nearly every period is throttled.
    assert.ok((t1 - t0) / (p1 - p0) >= 0.5, `${t1 - t0} of ${p1 - p0} periods throttled`);

    // Each value the sampler read lies between the kernel's before and after the read.
    const bracket = async () => {
      const k1 = stat();
      const psi1 = v2 === null ? NaN : psiTotal(join(v2.dir, 'cpu.pressure'), 'some');
      const { container } = await child.ask('refresh');
      const k2 = stat();
      const psi2 = v2 === null ? NaN : psiTotal(join(v2.dir, 'cpu.pressure'), 'some');
      for (const [kernel, ours] of FIELDS) {
        assert.ok(k1[kernel] <= container[ours] && container[ours] <= k2[kernel], `${ours} ${container[ours]} not within the kernel's ${kernel} ${k1[kernel]}..${k2[kernel]}`);
      }
      if (v2 !== null) {
        // A hybrid host: the child's own unified cgroup gives the pressure.
        assert.ok(psi1 * 1000 <= container.cpuPressureSomeNs && container.cpuPressureSomeNs <= psi2 * 1000, `cpu pressure ${container.cpuPressureSomeNs} not within ${psi1 * 1000}..${psi2 * 1000}`);
      }
      return { k1, k2, container };
    };
    const busy = await bracket();
    assert.ok(busy.container.cpuThrottledPeriods >= t1);

    // diagnose(), in the child, over the time it spun: throttling is named as the cause of
    // its loop delay.
    const { report } = await child.ask({ diagnose: 1500 });
    const throttling = report.findings.find((f) => f.id === 'cpu-throttling');
    const delay = report.findings.find((f) => f.id === 'loop-delay');
    console.log(`cpu: diagnose: ${throttling.summary}\n     loop delay: ${delay.summary}`);
    assert.is(throttling.verdict, 'critical', throttling.summary);
    assert.ok(throttling.value >= 0.5, `throttled share ${throttling.value}`);
    assert.is(throttling.details.quotaCores, 0.2);
    assert.ok(throttling.details.explainedShareOfLoopDelay >= 0.5, `explained ${throttling.details.explainedShareOfLoopDelay}`);
    assert.match(throttling.recommendation, /CPU quota \(0\.200 CPUs\) runs out/);
    assert.match(delay.summary, /the container's CPU throttling explains ~\d+\.\d% of the time the loop lost/);
    assert.ok(delay.details.explainedByThrottling >= 0.5);
    // Stopped: the kernel's counters settle, and the sampler's equal them.
    await child.ask('stop');
    await sleep(400);
    const idle = await bracket();
    for (const [kernel, ours] of FIELDS) {
      if (idle.k1[kernel] === idle.k2[kernel]) assert.is(idle.container[ours], idle.k1[kernel], ours);
    }
    console.log(`cpu: kernel cpu.stat ${JSON.stringify(idle.k2)}; ours ${JSON.stringify(FIELDS.map(([, o]) => [o, idle.container[o]]))}; quota ${idle.container.cpuQuotaCores} cores`);
    view.close();
    await child.ask('exit').catch(() => {});
  } finally {
    if (child !== null) await child.kill();
    await cpu.remove();
    if (v2 !== null) await v2.remove();
    rmSync(publishDir, { recursive: true, force: true });
  }
});

testUnless(test, v1Reason('memory'), 'a 200 MiB memory cgroup: the leaker is OOM-killed, the observer counts one kill as the kernel does', async () => {
  const limit = 200 * 2 ** 20;
  // 2 MiB every 50 ms: ~40 MiB/s, a few seconds to the limit. The test forecasts from the
  // leaker's published block every 50 ms (its history every 100 ms, a 2 s window).
  const forecasts = [];
  const r = await runOomScenario({
    limitBytes: limit,
    leakEveryMs: 50,
    history: { intervalMs: 100, capacity: 600 },
    onSample: (view) => forecasts.push({ tNs: Number(process.hrtime.bigint()), f: forecastMemory(view, { windowMs: 2000 }) }),
  });
  assert.is(r.leakerEnd.signal, 'SIGKILL', `the leaker ended with ${JSON.stringify(r.leakerEnd)}`);
  assert.is(r.before.cgroupVersion, 1);
  assert.is(r.before.memoryLimitBytes, limit);
  assert.is(r.after.memoryLimitBytes, limit);
  // memory.oom_control has oom_kill on this kernel (Linux ≥ 4.13): exactly the one kill.
  assert.is(r.kernel.oom_kill, 1);
  assert.is(r.before.oomKillEvents, 0);
  assert.is(r.after.oomKillEvents, 1);
  // The limit was hit: memory.failcnt counts the failed charges (where memory+swap is
  // limited too, memory.memsw.failcnt counts them, or on Linux 6.18 neither does). The
  // observer's count is the kernel's.
  if (!r.memswLimited) assert.ok(r.kernel.failcnt > 0, 'memory.failcnt counted the failures');
  assert.is(r.after.memoryMaxEvents, r.kernel.failcnt + r.kernel.memswFailcnt);
  // v1 has no OOM-event count and no memory.high.
  assert.ok(Number.isNaN(r.after.oomEvents) && Number.isNaN(r.after.memoryHighBytes));
  // The series (the leaker's own block, read while it leaked): usage rises to the limit.
  const s = r.series;
  assert.ok(s.length >= 10, `${s.length} samples`);
  for (const p of s) {
    assert.is(p.limitBytes, limit);
    assert.ok(p.usageBytes <= limit, `usage ${p.usageBytes} over the limit`);
    assert.ok(p.rssBytes > 0 && p.usageBytes > 0);
  }
  for (let i = 1; i < s.length; i++) assert.ok(s[i].tNs > s[i - 1].tNs);
  const peak = Math.max(...s.map((p) => p.usageBytes));
  assert.ok(peak >= 0.75 * limit, `peak usage ${peak} of ${limit}`);
  assert.ok(s[s.length - 1].usageBytes > s[0].usageBytes + 50 * 2 ** 20, 'usage rose by the leak');
  // After the kill its last state is still readable from its published file.
  assert.is(r.lastState.memoryLimitBytes, limit);
  const mib = (b) => (b / 2 ** 20).toFixed(0);
  // forecastMemory predicted the limit before the kill: the first sure forecast (the
  // container's limit, confidence ≥ 0.95, a finite time) came seconds ahead, and what it
  // predicted was near the real time of the kill.
  const killNs = r.leakerEndNs;
  const sure = forecasts.filter((x) => x.f.limitKind === 'container' && x.f.confidence >= 0.95 && Number.isFinite(x.f.secondsToLimit) && x.tNs < killNs);
  assert.ok(sure.length > 0, `no sure container forecast before the kill (${forecasts.length} forecasts; last ${JSON.stringify(forecasts[forecasts.length - 1]?.f)})`);
  const first = sure[0];
  const aheadS = (killNs - first.tNs) / 1e9;
  const errors = sure.filter((x) => killNs - x.tNs >= 1e9).map((x) => ((x.tNs + x.f.secondsToLimit * 1e9 - killNs) / 1e9));
  const maxErr = Math.max(...errors.map(Math.abs));
  console.log(`oom: forecastMemory first predicted the limit ${aheadS.toFixed(1)} s before the OOM kill (then: ${first.f.secondsToLimit.toFixed(1)} s to go, slope ${(first.f.slopeBytesPerSecond / 2 ** 20).toFixed(1)} MiB/s, working set ${(first.f.usedBytes / 2 ** 20).toFixed(0)} MiB, confidence ${first.f.confidence.toFixed(3)}); ${errors.length} forecasts ≥ 1 s ahead missed the kill by at most ${maxErr.toFixed(2)} s (median ${errors.slice().sort((a, b) => a - b)[errors.length >> 1]?.toFixed(2)} s)`);
  assert.ok(aheadS >= 1.5, `the first sure forecast came only ${aheadS.toFixed(2)} s before the kill`);
  assert.ok(errors.length >= 5 && maxErr < 1.5, `forecast errors ${JSON.stringify(errors.map((e) => +e.toFixed(2)))}`);
  console.log(`oom: kernel memory.oom_control ${JSON.stringify(r.kernel)}; observer oomKillEvents ${r.before.oomKillEvents} → ${r.after.oomKillEvents}, memoryMaxEvents ${r.after.memoryMaxEvents}; ${s.length} samples over ${((s[s.length - 1].tNs - s[0].tNs) / 1e6).toFixed(0)} ms, usage ${mib(s[0].usageBytes)} → ${mib(peak)} MiB of ${mib(limit)}, leaker RSS ${mib(s[0].rssBytes)} → ${mib(s[s.length - 1].rssBytes)} MiB`);
});

test.run();
