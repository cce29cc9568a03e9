#!/usr/bin/env node
// Loop-hook overhead, switched on and off inside one process in many short phases, with an
// A/A control; reports the median ratios and their spread. Three kinds of iteration:
//  - a setImmediate storm (~1 µs per iteration: the hook's relative cost at its largest);
//  - 6 µs iterations (a setImmediate hop that does 6 µs of work);
//  - I/O-woken iterations (a MessageChannel ping-pong on this thread that works 6 µs per
//    round: the poll could block, as in a server woken by sockets).
// Every iteration reads libuv's idle time from its field (sampler.loopIdleRead 'direct');
// one more row compares that with the same sampler reading it through
// uv_metrics_idle_time() and its mutex (RUNTIME_SAMPLER_LOOP_IDLE=locked) on the I/O-woken
// iterations, where the locked hook takes the mutex every iteration.
// Two more rows: the same storm and 6 µs iterations with loopTiming: 'totals' (no
// per-iteration hook: the counters from libuv at a 10 ms timer) against no sampler.
// Each phase is timed by the process's CPU time (process.cpuUsage; RS_LOOP_TIME=wall for
// the wall clock): on a machine shared with other work, time spent descheduled then adds no
// noise (the p10–p90 spread of the storm's cost fell from ±150 ns to ±20 ns here).
// The "6 µs" of an iteration is a fixed amount of work (an integer loop calibrated once to
// take 6 µs), not a spin on the clock: a phase descheduled mid-spin would otherwise do less
// work in the same wall time, and CPU time would read it as a cheaper iteration. Each phase
// starts one loop turn after start() and ends one turn before stop(), so what start() and
// stop() defer (handles opened, a first refresh) stays out of the per-iteration cost, which
// is the steady state. Costs carry a bootstrap 95% confidence interval of their median.
//   node bench/loop-overhead.mjs [--quick]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { benchDir, fmt, machine, median, progress, quantile, report, rotatingTriples } from './harness.mjs';

const require = createRequire(import.meta.url);
const { Sampler } = require(join(benchDir, '..'));
const quick = process.argv.includes('--quick');
const cpuTime = process.env.RS_LOOP_TIME !== 'wall';
// A phase's clock: nanoseconds, wall or CPU time.
function clockNs() {
  if (!cpuTime) return Number(process.hrtime.bigint());
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
}
const pairs = Number(process.env.RS_PAIRS) || (quick ? 6 : 300);
const hops = Number(process.env.RS_HOPS) || (quick ? 10_000 : 20_000);
// 6 µs iterations: hops per phase (~85 ms of them).
const longHops = Number(process.env.RS_LONG_HOPS) || (quick ? 1_250 : 10_000);

// A fixed amount of work: `k` rounds of an integer recurrence the JIT cannot fold away.
let sink = 0;
function work(k) {
  let x = sink;
  for (let j = 0; j < k; j++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  sink = x;
}
// The rounds of work() that take `us` microseconds here (calibrated once, by the wall clock,
// before any phase).
function calibrate(us) {
  let k = 1000;
  for (let pass = 0; pass < 6; pass++) {
    const t = process.hrtime.bigint();
    for (let r = 0; r < 2000; r++) work(k);
    const ns = Number(process.hrtime.bigint() - t) / 2000;
    k = Math.max(1, Math.round((k * us * 1000) / ns));
  }
  return k;
}
const spinRounds = calibrate(6);
const turn = () => new Promise((resolve) => setImmediate(resolve));

function storm(n, spinUs = 0) {
  const k = spinUs ? Math.round((spinRounds * spinUs) / 6) : 0;
  return new Promise((resolve) => {
    let i = 0;
    const t = clockNs();
    const hop = () => {
      if (k) work(k);
      if (++i < n) setImmediate(hop);
      else resolve((clockNs() - t) / n);
    };
    setImmediate(hop);
  });
}

// One loop iteration per round: port1's message arrives through libuv's async handle (a
// poll event), its handler works and answers through port2.
function pingpong(n, spinUs) {
  const k = Math.round((spinRounds * spinUs) / 6);
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    let i = 0;
    const t = clockNs();
    port2.on('message', () => port2.postMessage(0));
    port1.on('message', () => {
      work(k);
      if (++i < n) port1.postMessage(0);
      else {
        port1.close();
        port2.close();
        resolve((clockNs() - t) / n);
      }
    });
    port1.postMessage(0);
  });
}

const s = new Sampler();
// The watchdog's overhead: the same storm with a sampler that has one (its defaults: a
// 100 ms threshold, a thread checking the loop every 25 ms) against one without. (The
// per-iteration store the watchdog reads is made either way.) RS_WATCHDOG_INTERVAL_MS
// sets another interval.
const wdInterval = Number(process.env.RS_WATCHDOG_INTERVAL_MS) || 25;
const wd = new Sampler({ watchdog: { thresholdMs: 100, intervalMs: wdInterval } });
// Stall profiles when no stall runs: the same watchdog with watchdog.profile against the
// one without. Without a stall the watchdog never shortens its sleep nor asks for an
// interrupt, so this should be the A/A control's ratio.
const wdProfile = new Sampler({ watchdog: { thresholdMs: 100, intervalMs: wdInterval, profile: true } });
// The same hook reading libuv's idle time through uv_metrics_idle_time() (read from the
// environment at each start).
const lockedSampler = new Sampler();
const locked = {
  start() {
    process.env.RUNTIME_SAMPLER_LOOP_IDLE = 'locked';
    lockedSampler.start();
    delete process.env.RUNTIME_SAMPLER_LOOP_IDLE;
    if (lockedSampler.loopIdleRead !== 'locked') throw new Error(`locked sampler reads ${lockedSampler.loopIdleRead}`);
  },
  stop() { lockedSampler.stop(); },
};
// loopTiming 'totals': no check handle, a 10 ms timer.
const totals = new Sampler({ loopTiming: 'totals' });
await storm(hops * 2); // warm up
s.start();
await storm(hops * 2); // and with the sampler on (calibrates the tick clock)
await new Promise((r) => setTimeout(r, 5)); // one wait in poll: the idle field is confirmed
s.refresh();
const idleRead = s.loopIdleRead;
s.stop();

// A bootstrap 95% confidence interval of the median of `xs` (2,000 resamples).
function bootstrapMedian(xs) {
  const medians = [];
  for (let b = 0; b < 2000; b++) {
    const draw = [];
    for (let i = 0; i < xs.length; i++) draw.push(xs[Math.floor(Math.random() * xs.length)]);
    medians.push(median(draw));
  }
  return [quantile(medians, 0.025), quantile(medians, 0.975)];
}

// Many short phases in rotating order — off, on, and a second off phase as an A/A control
// (its ratio to the first off phase shows this machine's noise floor) — and the median
// of the per-triple ratios with p10–p90. Cost per hop is median(on − off) over triples.
async function measure(label, triples, n, spinUs, onSampler = s, offSampler = null, run = storm) {
  const { on, off, control } = await rotatingTriples(
    triples,
    async (kind) => {
      const sampler = kind === 'on' ? onSampler : offSampler;
      sampler?.start();
      await turn();
      const ns = await run(n, spinUs);
      await turn();
      sampler?.stop();
      return ns;
    },
    (p, r) => {
      if ((p + 1) % Math.max(1, Math.floor(triples / 10)) === 0) progress(`  ${label} ${p + 1}/${triples}: on ${fmt(r.on[p])} ns/hop, off ${fmt(r.off[p])}, control ${fmt(r.control[p])}`);
    },
  );
  const ratios = on.map((v, i) => v / off[i]);
  const aa = control.map((v, i) => v / off[i]);
  const cost = on.map((v, i) => v - off[i]);
  const controlCost = control.map((v, i) => v - off[i]);
  return {
    unit: 'ratio on/off', runs: triples, hops: n,
    median: median(ratios), min: quantile(ratios, 0.1), max: quantile(ratios, 0.9), spread: 'p10–p90',
    controlMedian: median(aa), controlP10: quantile(aa, 0.1), controlP90: quantile(aa, 0.9),
    onNsPerHop: median(on), offNsPerHop: median(off), costNsPerHop: median(cost),
    controlNsPerHop: median(controlCost), costCi95: bootstrapMedian(cost), controlCi95: bootstrapMedian(controlCost),
  };
}

const stormRow = await measure('storm', pairs, hops, 0);
const longPairs = Number(process.env.RS_LONG_PAIRS) || (quick ? 4 : 300);
const longRow = await measure('6 µs iterations', longPairs, longHops, 6);
const ioRow = await measure('I/O-woken iterations', longPairs, Math.round(longHops / 2), 6, s, null, pingpong);
const lockedRow = await measure('I/O-woken, locked vs direct', longPairs, Math.round(longHops / 2), 6, locked, s, pingpong);
const totalsStormRow = await measure('totals: storm', pairs, hops, 0, totals);
const totalsLongRow = await measure('totals: 6 µs iterations', longPairs, longHops, 6, totals);
const modesRow = await measure('iteration vs totals: storm', pairs, hops, 0, s, totals);
const modesLongRow = await measure('iteration vs totals: 6 µs iterations', longPairs, longHops, 6, s, totals);
totals.start();
const totalsTiming = totals.loopTiming;
totals.close();
const wdPairs = Number(process.env.RS_WATCHDOG_PAIRS) || (quick ? 4 : 200);
const wdRow = await measure('watchdog', wdPairs, hops, 0, wd, s);
const profileRow = await measure('stall profiles', wdPairs, hops, 0, wdProfile, wd);
const clock = s.loopClock;
s.close();
wd.close();
wdProfile.close();
lockedSampler.close();
const rows = [
  { scenario: 'loop-overhead', contender: 'runtime-sampler (setImmediate storm)', ...stormRow, loopClock: clock, loopIdleRead: idleRead },
  { scenario: 'loop-overhead', contender: 'runtime-sampler (6 µs iterations)', ...longRow, loopClock: clock, loopIdleRead: idleRead },
  { scenario: 'loop-overhead', contender: 'runtime-sampler (I/O-woken iterations, 6 µs work)', ...ioRow, loopClock: clock, loopIdleRead: idleRead },
  { scenario: 'loop-overhead', contender: 'loopTiming totals (setImmediate storm)', ...totalsStormRow, loopTiming: totalsTiming },
  { scenario: 'loop-overhead', contender: 'loopTiming totals (6 µs iterations)', ...totalsLongRow, loopTiming: totalsTiming },
  { scenario: 'loop-overhead', contender: 'loopTiming iteration vs totals (setImmediate storm)', ...modesRow, loopTiming: totalsTiming },
  { scenario: 'loop-overhead', contender: 'loopTiming iteration vs totals (6 µs iterations)', ...modesLongRow, loopTiming: totalsTiming },
  { scenario: 'loop-overhead', contender: 'idle time through uv_metrics_idle_time() vs its field (I/O-woken iterations)', ...lockedRow, loopClock: clock },
  { scenario: 'loop-overhead', contender: 'watchdog (setImmediate storm, sampler with vs without)', ...wdRow, loopClock: clock, watchdogIntervalMs: wdInterval },
  { scenario: 'loop-overhead', contender: 'stall profiles, no stall (setImmediate storm, watchdog.profile true vs false)', ...profileRow, loopClock: clock, watchdogIntervalMs: wdInterval },
];
let md = `## Loop-hook overhead (\`node bench/loop-overhead.mjs${quick ? ' --quick' : ''}\`)\n\n`;
md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. In one process, phases in rotating order — sampler on, off, and off again as an A/A control (the noise floor): ${pairs} triples of ${hops}-hop setImmediate storms (iterations of ~1 µs), ${longPairs} triples of ${longRow.hops} hops that each do 6 µs of work (a fixed integer loop, ${spinRounds} rounds, calibrated once), and ${longPairs} triples of ${ioRow.hops} MessageChannel round trips that each do the same work (one iteration each, woken by a poll event, as in a server woken by sockets). Every iteration reads libuv's idle time from its field (loopIdleRead: ${idleRead}); the locked row compares the same hook reading it through uv_metrics_idle_time() and its mutex (RUNTIME_SAMPLER_LOOP_IDLE=locked: every one of these iterations takes the mutex) against the direct read. Each phase starts one loop turn after the sampler's start() and ends one turn before its stop(): the cost is the steady state. Cost per iteration: median over triples of on − off, with its bootstrap 95% confidence interval; the A/A column's cost is the same for off again − off. Phases timed by ${cpuTime ? 'the process\'s CPU time' : 'the wall clock (RS_LOOP_TIME=wall)'}. Loop clock: ${clock}.\n\n`;
md += `The two loopTiming rows run the same storm and 6 µs iterations with \`loopTiming: 'totals'\` (sampler.loopTiming: ${totalsTiming}): no per-iteration hook, the loop counters from libuv at a 10 ms timer; on against no sampler. The last two compare the two modes (the hook's own cost, all else equal: the GC callbacks and timers both modes run are in neither difference): \`'iteration'\` on, \`'totals'\` off.\n\n`;
md += `The watchdog row compares a sampler with the watchdog (threshold 100 ms, checking every ${wdInterval} ms) against one without, ${wdPairs} triples of the storm. The stall-profiles row compares that watchdog with watchdog.profile: true against it without (profile: false), ${wdPairs} triples of the storm, no stall.\n\n`;
md += `| iterations | on ns/hop | off ns/hop | cost ns/iteration [95% CI] | A/A cost [95% CI] | on/off median (p10–p90) | A/A control median (p10–p90) |\n|---|---:|---:|---:|---:|---:|---:|\n`;
for (const [name, row] of [['setImmediate storm', stormRow], ['6 µs each', longRow], ['I/O-woken, 6 µs work', ioRow], ['I/O-woken: idle time locked vs direct', lockedRow], ['loopTiming totals: setImmediate storm', totalsStormRow], ['loopTiming totals: 6 µs each', totalsLongRow], ['loopTiming iteration vs totals (storm)', modesRow], ['loopTiming iteration vs totals (6 µs)', modesLongRow], ['watchdog on vs off (storm)', wdRow], ['stall profiles on vs off, no stall (storm)', profileRow]]) {
  md += `| ${name} | ${fmt(row.onNsPerHop)} | ${fmt(row.offNsPerHop)} | ${fmt(row.costNsPerHop)} [${fmt(row.costCi95[0])}, ${fmt(row.costCi95[1])}] | ${fmt(row.controlNsPerHop)} [${fmt(row.controlCi95[0])}, ${fmt(row.controlCi95[1])}] | ${fmt(row.median, 3)} (${fmt(row.min, 3)}–${fmt(row.max, 3)}) | ${fmt(row.controlMedian, 3)} (${fmt(row.controlP10, 3)}–${fmt(row.controlP90, 3)}) |\n`;
}
report('loop-overhead', md, rows, quick);
