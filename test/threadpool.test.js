// tier: extra — child processes that saturate libuv's threadpool with pbkdf2 (~15 s)
// run: alone — an idle pool's probe delays are held to a p99 below 25 ms
// The threadpool probe (threadpoolProbeMs): an empty work item queued on libuv's pool every
// period, its delay from submission to start recorded in histograms.threadpoolDelay. The
// issue's proof — a saturated pool pushes the probe's p99 past 150 ms, an idle one stays
// under 5 ms — in children with their own UV_THREADPOOL_SIZE (libuv reads it once); never a
// second probe while one waits; the pool size as libuv derives it; and teardown with a
// probe queued behind a busy pool (close(), worker.terminate(), process.exit()).
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { Sampler, SamplerAggregate, toPrometheus, toJSON } = require('..');
const { parseEnv } = require('../dist/cjs/server/config.js');
const { native } = require('../dist/cjs/binding.js');

const root = JSON.stringify(path.join(__dirname, '..'));
const binding = JSON.stringify(path.join(__dirname, '..', 'dist', 'cjs', 'binding.js'));
const fixture = path.join(__dirname, 'fixtures', 'threadpool-child.cjs');

/** Runs node with `args` and UV_THREADPOOL_SIZE (undefined: unset); the last stdout line as JSON. */
function run(args, poolSize, timeout = 60000) {
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE;
  if (poolSize !== undefined) env.UV_THREADPOOL_SIZE = poolSize;
  const started = Date.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env, timeout });
  const ms = Date.now() - started;
  assert.is(r.signal, null, `signal ${r.signal}: ${r.stderr}`);
  assert.is(r.status, 0, r.stderr);
  const line = r.stdout.trim().split('\n').pop();
  return { out: JSON.parse(line), ms, stderr: r.stderr };
}

const ms = (ns) => `${(ns / 1e6).toFixed(2)} ms`;

test('saturated: eight ~200 ms pbkdf2 jobs on a pool of 2 push the probe p99 past 150 ms; one probe at a time', () => {
  const { out } = run([fixture, 'saturate', '8'], '2');
  console.log(`  saturated (UV_THREADPOOL_SIZE=2, 8 jobs of ${out.iterations} iterations, alone ${out.soloMs.toFixed(0)} ms, all done in ${out.elapsedMs.toFixed(0)} ms): ` +
    `${out.count} probes, p99 ${ms(out.p99)}, max ${ms(out.max)}, longest wait seen in flight ${ms(out.maxWaitingNs)}`);
  assert.is(out.size, 2);
  // The workload is the issue's: jobs of about 200 ms, queued 4 deep on 2 threads.
  assert.ok(out.soloMs >= 100 && out.soloMs <= 1000, `a job alone took ${out.soloMs} ms`);
  assert.ok(out.elapsedMs >= 3 * 100, `eight jobs on two threads ended after ${out.elapsedMs} ms`);
  assert.ok(out.p99 > 150e6, `p99 ${ms(out.p99)}`);
  assert.ok(out.maxDelayNs >= out.max * 0.99, `maxDelayNs ${ms(out.maxDelayNs)} below the histogram's max ${ms(out.max)}`);
  // Never a second probe while one waits: in flight is 0 or 1, probes are at most one per
  // period, and only the probe queued behind the jobs waited (one queued per tick would
  // have left dozens of slow ones).
  assert.is(out.maxInFlight, 1);
  assert.ok(out.maxWaitingNs > 100e6, `the waiting probe was seen waiting ${ms(out.maxWaitingNs)}`);
  assert.is(out.probes, out.count);
  assert.ok(out.probes <= Math.ceil((out.elapsedMs + 20) / 20) + 1, `${out.probes} probes in ${out.elapsedMs} ms at 20 ms`);
  // diagnose() names the saturated pool and advises a bigger one.
  console.log(`  diagnose: [${out.finding.verdict}] ${out.finding.summary}\n    → ${out.finding.recommendation}`);
  assert.ok(['warn', 'critical'].includes(out.finding.verdict), JSON.stringify(out.finding));
  assert.ok(out.finding.value > 150e6, `finding value ${ms(out.finding.value)}`);
  assert.match(out.finding.summary, /before one of the pool's 2 threads took work/);
  assert.match(out.finding.recommendation, /UV_THREADPOOL_SIZE=8 in the environment/);
});

// With ~100 probes p99 is the worst one or two: on a shared machine one probe whose pool
// thread was descheduled (7 ms once in CI, under ASan) says nothing of the pool, so the
// median carries the claim and p99 only rules out waiting behind work (hundreds of ms).
test('idle: ~1 s of probes every 10 ms: median below 1 ms, p99 below 25 ms; probes ≈ elapsed / period, never more', () => {
  const { out } = run([fixture, 'idle'], undefined);
  console.log(`  idle (default pool): ${out.count} probes in ${out.elapsedMs.toFixed(0)} ms, p50 ${ms(out.p50)}, p99 ${ms(out.p99)}, max ${ms(out.max)}`);
  assert.is(out.size, 4, 'UV_THREADPOOL_SIZE unset: libuv default of 4');
  assert.ok(out.p50 < 1e6, `p50 ${ms(out.p50)}`);
  assert.ok(out.p99 < 25e6, `p99 ${ms(out.p99)}`);
  assert.is(out.maxInFlight, 1);
  assert.is(out.probes, out.count);
  assert.is(out.maxDelayNs, out.max);
  // The timer's first tick may come at once (libuv's cached loop time), then one a period.
  assert.ok(out.probes <= Math.floor(out.elapsedMs / 10) + 2, `${out.probes} probes in ${out.elapsedMs} ms`);
  assert.ok(out.probes >= Math.floor(out.elapsedMs / 10) / 2, `only ${out.probes} probes in ${out.elapsedMs} ms`);
  assert.is(out.finding.verdict, 'ok', out.finding.summary);
  assert.is(out.finding.recommendation, null);
  // The finding's value is the p99: the same bound as above.
  assert.ok(out.finding.value < 25e6, out.finding.summary);
});

test('threadpoolProbeMs: 0 turns the probe off; the pool size is still reported', () => {
  const { out } = run([fixture, 'off'], '3');
  assert.equal({ probes: out.probes, count: out.count, inFlight: out.inFlight, maxDelayNs: out.maxDelayNs }, { probes: 0, count: 0, inFlight: 0, maxDelayNs: 0 });
  assert.is(out.size, 3);
});

test('the pool size follows libuv: atoi, 0 → 1, above 1024 → 1024, unset → 4', () => {
  // The size is read from the environment at each start() (libuv reads it once, when the
  // pool starts): this process's own pool is not resized by these.
  const saved = process.env.UV_THREADPOOL_SIZE;
  try {
    for (const [value, size] of [[undefined, 4], ['1', 1], ['16', 16], ['abc', 1], ['', 1], ['0', 1], ['-1', 1024], ['2000', 1024], [' 7', 7], ['5threads', 5], ['2.9', 2]]) {
      if (value === undefined) delete process.env.UV_THREADPOOL_SIZE;
      else process.env.UV_THREADPOOL_SIZE = value;
      const s = new Sampler({ threadpoolProbeMs: 0 }).start();
      assert.is(s.read().threadpool.size, size, `UV_THREADPOOL_SIZE=${JSON.stringify(value)}`);
      s.close();
    }
  } finally {
    if (saved === undefined) delete process.env.UV_THREADPOOL_SIZE;
    else process.env.UV_THREADPOOL_SIZE = saved;
  }
});

test('UV_THREADPOOL_SIZE=abc really is a pool of 1 (not the default 4): a probe waits behind one job', () => {
  // If libuv read "abc" as unset (4 threads), the probe would start at once next to the job.
  const one = run([fixture, 'behind', '300'], 'abc').out;
  const four = run([fixture, 'behind', '300'], undefined).out;
  console.log(`  behind a ${one.jobMs.toFixed(0)} ms job: pool of ${one.size} → probe waited ${ms(one.maxDelayNs)}; pool of ${four.size} → ${ms(four.maxDelayNs)}`);
  assert.is(one.size, 1);
  assert.ok(one.maxDelayNs > 100e6, `pool of 1: the probe waited ${ms(one.maxDelayNs)} behind a ${one.jobMs} ms job`);
  assert.is(four.size, 4);
  assert.ok(four.maxDelayNs < 50e6, `pool of 4: the probe waited ${ms(four.maxDelayNs)}`);
});

test('bad threadpoolProbeMs: TypeError or RangeError naming the option, the value and the range', () => {
  for (const [value, Type, shown] of [
    ['100', TypeError, '"100"'], [null, TypeError, 'null'], [true, TypeError, 'true'], [100n, TypeError, '100n'],
    [5, RangeError, '5'], [9, RangeError, '9'], [60001, RangeError, '60001'], [100.5, RangeError, '100.5'], [-1, RangeError, '-1'],
    [NaN, RangeError, 'NaN'], [Infinity, RangeError, 'Infinity'],
  ]) {
    let err;
    try {
      new Sampler({ threadpoolProbeMs: value });
    } catch (e) {
      err = e;
    }
    assert.instance(err, Type, `${String(value)}: ${err && err.message}`);
    for (const part of ['threadpoolProbeMs', shown, '0', '10', '60000']) assert.ok(err.message.includes(part), `"${err.message}" lacks ${part}`);
  }
  for (const ok of [0, 10, 1000, 60000]) {
    const s = new Sampler({ threadpoolProbeMs: ok });
    assert.is(s.options.threadpoolProbeMs, ok);
    s.close();
  }
  assert.is(new Sampler().options.threadpoolProbeMs, 1000, 'default');
});

test('RUNTIME_SAMPLER_THREADPOOL_PROBE_MS: 0 or 10–60000; a bad value is one line and the default stays', () => {
  assert.is(parseEnv({}).config.threadpoolProbeMs, 1000);
  assert.is(parseEnv({ RUNTIME_SAMPLER_THREADPOOL_PROBE_MS: '0' }).config.threadpoolProbeMs, 0);
  assert.is(parseEnv({ RUNTIME_SAMPLER_THREADPOOL_PROBE_MS: '250' }).config.threadpoolProbeMs, 250);
  for (const bad of ['5', 'abc', '60001', '1.5', '-10']) {
    const { config, problems } = parseEnv({ RUNTIME_SAMPLER_THREADPOOL_PROBE_MS: bad });
    assert.is(config.threadpoolProbeMs, 1000, bad);
    assert.is(problems.length, 1, `${bad}: ${problems}`);
    assert.match(problems[0], `RUNTIME_SAMPLER_THREADPOOL_PROBE_MS=${JSON.stringify(bad)} is not valid`);
    assert.match(problems[0], 'using 1000');
  }
});

test('the preload takes RUNTIME_SAMPLER_THREADPOOL_PROBE_MS', () => {
  const env = { ...process.env, RUNTIME_SAMPLER_THREADPOOL_PROBE_MS: '20', RUNTIME_SAMPLER_PORT: '0', RUNTIME_SAMPLER_PUBLISH: '0' };
  const r = spawnSync(process.execPath, ['-r', 'runtime-sampler/register', '-e',
    `setTimeout(() => { const r = require('runtime-sampler').registered(); console.log(JSON.stringify({ ms: r.sampler.options.threadpoolProbeMs, probes: r.sampler.read().threadpool.probes })); process.exit(0); }, 300);`,
  ], { encoding: 'utf8', env, timeout: 30000 });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.is(out.ms, 20);
  assert.ok(out.probes >= 5, `${out.probes} probes in 300 ms at 20 ms`);
});

test('exporters: Prometheus, OpenMetrics and JSON carry the probe from the catalog', async () => {
  const s = new Sampler({ threadpoolProbeMs: 10 }).start();
  await new Promise((r) => setTimeout(r, 100));
  s.stop();
  // A probe in flight at the stop is left to complete (its delay is still a measurement):
  // on a slow machine (ASan) it can still be waiting for a pool thread here.
  for (let i = 0; i < 500 && s.read().threadpool.inFlight !== 0; i++) await new Promise((r) => setTimeout(r, 10));
  const snap = s.read();
  const h = s.histograms.threadpoolDelay;
  assert.is(snap.threadpool.inFlight, 0, 'the last probe completed after the stop');
  assert.ok(h.count >= 3 && h.count === snap.threadpool.probes, `${h.count} probes recorded, snapshot says ${snap.threadpool.probes}`);
  for (const format of ['prometheus', 'openmetrics']) {
    const text = toPrometheus(s, { format });
    assert.match(text, new RegExp(`^nodejs_threadpool_probes_total ${snap.threadpool.probes}$`, 'm'));
    assert.match(text, new RegExp(`^nodejs_threadpool_delay_seconds_count ${h.count}$`, 'm'));
    assert.match(text, /^nodejs_threadpool_delay_seconds_bucket\{le="\+Inf"\} \d+$/m);
    assert.match(text, new RegExp(`^nodejs_threadpool_size ${snap.threadpool.size}$`, 'm'));
    assert.match(text, /^nodejs_threadpool_in_flight_duration_seconds 0$/m);
    assert.match(toPrometheus(s, { format, detail: 'full' }), /^nodejs_threadpool_in_flight 0$/m);
    const max = /^nodejs_threadpool_delay_max_seconds (\S+)$/m.exec(text);
    assert.ok(max && Math.abs(Number(max[1]) * 1e9 - snap.threadpool.maxDelayNs) < 1, `delay max ${max && max[1]} s vs ${snap.threadpool.maxDelayNs} ns`);
    assert.not.match(text, /in_flight_start_time/, 'a monotonic timestamp is not exported');
  }
  const j = toJSON(s).metrics;
  const delay = j.find((m) => m.name === 'nodejs.threadpool.delay');
  assert.is(delay.kind, 'histogram');
  assert.is(delay.points[0].count, h.count);
  assert.is(j.find((m) => m.name === 'nodejs.threadpool.probes').points[0].value, snap.threadpool.probes);
  s.close();
});

test('SamplerAggregate: probes summed, histograms merged, the max of maxima, the process-wide size once', async () => {
  const a = new Sampler({ threadpoolProbeMs: 10 }).start();
  const b = new Sampler({ threadpoolProbeMs: 15 }).start();
  await new Promise((r) => setTimeout(r, 100));
  a.stop();
  b.stop();
  const agg = new SamplerAggregate([a, b]);
  const sa = a.read();
  const sb = b.read();
  const s = agg.read();
  assert.is(s.threadpool.probes, sa.threadpool.probes + sb.threadpool.probes);
  assert.is(s.threadpool.maxDelayNs, Math.max(sa.threadpool.maxDelayNs, sb.threadpool.maxDelayNs));
  assert.is(s.threadpool.size, sa.threadpool.size, 'one process, one pool: not summed');
  assert.is(s.threadpool.inFlight, 0);
  assert.is(agg.histograms.threadpoolDelay.count, a.histograms.threadpoolDelay.count + b.histograms.threadpoolDelay.count);
  assert.is(agg.histograms.threadpoolDelay.max, Math.max(a.histograms.threadpoolDelay.max, b.histograms.threadpoolDelay.max));
  a.close();
  b.close();
});

test('a view on another thread sees the probe: histogram, counters, in flight while the pool is busy', () => {
  // The monitor thread's case: read from a view while the owner's probe waits.
  const { out } = run(['-e', `
    const crypto = require('node:crypto');
    const { Worker } = require('node:worker_threads');
    const { Sampler } = require(${root});
    const s = new Sampler({ threadpoolProbeMs: 10 }).start();
    const w = new Worker(\`
      const { parentPort, workerData } = require('node:worker_threads');
      const { Sampler } = require(${root.replace(/\\/g, '\\\\')});
      const v = Sampler.attach(workerData);
      let seen = 0, waited = 0;
      const t = setInterval(() => { const snap = v.read(); seen = Math.max(seen, snap.threadpool.inFlight); waited = Math.max(waited, snap.threadpool.waitingNs); }, 2);
      parentPort.postMessage('watching');
      parentPort.on('message', () => {
        clearInterval(t);
        // The probe goes on every 10 ms: its counter and its histogram are read as a pair
        // between two probes (the histogram's count unchanged around the snapshot).
        let snap, count;
        for (let i = 0; i < 100; i++) {
          const before = v.histograms.threadpoolDelay.count;
          snap = v.read();
          count = v.histograms.threadpoolDelay.count;
          if (count === before && count === snap.threadpool.probes) break;
        }
        parentPort.postMessage({ seen, waited, probes: snap.threadpool.probes, count });
      });
    \`, { eval: true, workerData: s.share() });
    // The pool is made busy only once the view is watching (a worker can take longer to
    // start than the jobs take, on a loaded machine: seen once in CI).
    w.once('message', () => {
      crypto.pbkdf2('p', 's', 2e5, 32, 'sha256', () => {});
      crypto.pbkdf2('p', 's', 2e5, 32, 'sha256', () => {
        setTimeout(() => w.postMessage('report'), 50);
      });
      w.on('message', (m) => { console.log(JSON.stringify({ ...m, own: s.read().threadpool.probes })); s.close(); w.terminate(); });
    });
  `], '1');
  assert.is(out.seen, 1, 'the view saw the probe in flight');
  assert.ok(out.waited > 0);
  assert.ok(out.count >= 1 && out.count === out.probes && out.probes <= out.own, JSON.stringify(out));
});

// Teardown: the work request cannot be taken back once a pool thread has it; a queued one
// is cancelled. Either way the monitor is freed (liveObjects) only after its completion ran.

test('close() with the probe queued behind a busy pool: cancelled, freed at once (not after the job)', () => {
  const { out } = run(['-e', `
    const crypto = require('node:crypto');
    const { Sampler } = require(${root});
    const { native } = require(${binding});
    const wait = (ms) => new Promise((r) => setTimeout(r, ms));
    const s = new Sampler({ threadpoolProbeMs: 10 }).start();
    let jobDone = false;
    crypto.pbkdf2('p', 's', 3e6, 32, 'sha256', () => { jobDone = true; });
    (async () => {
      const snap = s.read();
      for (let i = 0; i < 500 && s.read(snap).threadpool.inFlight !== 1; i++) await wait(2);
      const inFlight = snap.threadpool.inFlight;
      const waitingNs = snap.threadpool.waitingNs;
      const t0 = Date.now();
      s.close();
      while (native.liveObjects().monitors !== 0 && Date.now() - t0 < 5000) await wait(1);
      console.log(JSON.stringify({ inFlight, waitingNs, freedMs: Date.now() - t0, live: native.liveObjects(), jobDoneAtFree: jobDone }));
    })();
  `], '1');
  assert.is(out.inFlight, 1, 'the probe was queued');
  assert.is(out.live.monitors, 0);
  assert.is(out.live.blocks, 0, 'close() released the block');
  assert.is(out.jobDoneAtFree, false, 'the monitor was freed before the job ended: the queued probe was cancelled');
  assert.ok(out.freedMs < 1000, `freed after ${out.freedMs} ms`);
});

test('close() in every state of the probe (queued, running, completion pending): every monitor freed', async () => {
  // Short pool jobs keep the pool busy on and off, so close() lands before, during and after
  // a probe's run. Half the closes wait for a loop turn that sees the probe in flight, then
  // pause the loop: the pool runs the probe meanwhile, and close() finds its completion
  // pending (uv_cancel says busy).
  const fs = require('node:fs');
  let pendingAtClose = 0;
  for (let i = 0; i < 150; i++) {
    const s = new Sampler({ threadpoolProbeMs: 10 }).start();
    for (let k = 0; k < 4; k++) fs.stat(__filename, () => {});
    if (i % 2 === 0) {
      await new Promise((r) => setTimeout(r, i % 23));
    } else {
      const snap = s.read();
      const seen = await new Promise((resolve) => {
        const t0 = Date.now();
        const t = setInterval(() => {
          const hit = s.read(snap).threadpool.inFlight === 1;
          if (!hit && Date.now() - t0 < 60) return;
          clearInterval(t);
          resolve(hit);
        }, 1);
      });
      if (seen) {
        const end = Date.now() + 3;
        while (Date.now() < end);
        pendingAtClose++;
      }
    }
    s.close();
  }
  // Every sampler of this process is closed by now.
  for (let i = 0; i < 200 && native.liveObjects().monitors !== 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.is(native.liveObjects().monitors, 0);
  console.log(`  150 closes, ${pendingAtClose} of them with the probe's completion pending`);
  assert.ok(pendingAtClose > 0, 'no close() found a completion pending');
});

test('a closed writer shows no probe in flight, and its counters stop', async () => {
  const s = new Sampler({ threadpoolProbeMs: 10 }).start();
  const handle = s.share();
  await new Promise((r) => setTimeout(r, 60));
  s.close();
  const v = Sampler.attach(handle);
  const a = v.read();
  await new Promise((r) => setTimeout(r, 60));
  const b = v.read();
  assert.is(b.writerClosed, true);
  assert.is(b.threadpool.inFlight, 0);
  assert.is(b.threadpool.waitingNs, 0);
  assert.is(b.threadpool.probes, a.threadpool.probes);
  assert.ok(b.threadpool.probes >= 2);
  v.close();
});

test('worker.terminate() with its probe queued behind a saturated pool: bounded, no crash, nothing left', () => {
  // UV_THREADPOOL_SIZE=1 and jobs queued ahead of every probe: the workers' probes wait in
  // the queue (the pool is process-wide). Three ways a worker goes: terminated while idle,
  // closed then terminated, terminated while its loop is blocked in JavaScript.
  const { out } = run(['-e', `
    const crypto = require('node:crypto');
    const { Worker } = require('node:worker_threads');
    const { native } = require(${binding});
    let jobsLeft = 8;
    for (let i = 0; i < 8; i++) crypto.pbkdf2('p', 's', 1e6, 32, 'sha256', () => { jobsLeft--; });
    const modes = { idle: '', close: 's.close();', blocked: 'for (;;);' };
    (async () => {
      const results = {};
      for (const [mode, then] of Object.entries(modes)) {
        const w = new Worker(\`
          const { parentPort } = require('node:worker_threads');
          const { Sampler } = require(${root.replace(/\\/g, '\\\\')});
          const s = new Sampler({ threadpoolProbeMs: 10 }).start();
          const snap = s.read();
          setInterval(() => {}, 1 << 30); // only terminate() ends it
          const t = setInterval(() => {
            if (s.read(snap).threadpool.inFlight !== 1) return;
            clearInterval(t);
            parentPort.postMessage({ waitingNs: snap.threadpool.waitingNs });
            \${then}
          }, 2);
        \`, { eval: true });
        const m = await new Promise((r) => w.once('message', r));
        const t0 = Date.now();
        const code = await w.terminate();
        const terminateMs = Date.now() - t0;
        while (native.liveObjects().monitors !== 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 1));
        results[mode] = { code, terminateMs, freedMs: Date.now() - t0, waitingNs: m.waitingNs, jobsLeft };
      }
      console.log(JSON.stringify({ results, live: native.liveObjects() }));
    })();
  `], '1', 120000);
  for (const [mode, r] of Object.entries(out.results)) {
    assert.is(r.code, 1, `${mode}: exit code ${r.code}`);
    assert.ok(r.terminateMs < 2000 && r.freedMs < 2000, `${mode}: terminate ${r.terminateMs} ms, freed after ${r.freedMs} ms`);
    assert.ok(r.jobsLeft > 0, `${mode}: the pool was still busy when the worker was gone (bounded, not waiting for it)`);
  }
  assert.equal(out.live, { ...out.live, samplers: 0, blocks: 0, monitors: 0 });
  console.log(`  ${Object.entries(out.results).map(([m, r]) => `${m}: terminate ${r.terminateMs} ms`).join(', ')}`);
});

test('process.exit() and a natural end with a probe queued behind a job: clean exit', () => {
  const code = (end) => `
    const crypto = require('node:crypto');
    const { Sampler } = require(${root});
    const s = new Sampler({ threadpoolProbeMs: 10 }).start();
    crypto.pbkdf2('p', 's', 3e5, 32, 'sha256', () => {});
    const t = setInterval(() => { if (s.read().threadpool.inFlight === 1) { clearInterval(t); console.log('{}'); ${end} } }, 2);
  `;
  for (const end of ['process.exit(0);', '', 's.close();']) {
    const { ms: took } = run(['-e', code(end)], '1');
    assert.ok(took < 20000, `${end || 'natural end'}: ${took} ms`);
  }
});

test.run();
