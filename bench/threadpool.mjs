#!/usr/bin/env node
// Overhead of the threadpool probe (threadpoolProbeMs), switched on and off inside one
// process: each phase runs with exactly one sampler started — one probing every 10 ms (on:
// 100× the default rate, so that every phase holds several probes), one with the probe off,
// and a second one off (the A/A control) — so the GC and loop hooks are the same in every
// phase and only the probe differs. Triples of phases in rotating order, each after an
// untimed full GC; the median of the per-triple on/off ratios (p10–p90) beside the A/A
// median. Workloads: the GC-heavy churn and the setImmediate storm (bench/workloads.mjs),
// six runs per phase (~60–120 ms) with a loop turn after each (the churn is synchronous:
// without them no timer, the probe's included, could fire inside a phase).
//
// Then the probe's own cost, where nothing else runs: an idle process, phases of 500 ms of
// an idle loop with each sampler; the process CPU time (user + system, every thread: the
// loop's timer and completion and the pool thread's wake-up) the probing phase uses above
// the off phase, per probe, and of it the loop thread's (Linux: the main thread's
// schedstat run time, in ns).
//   node bench/threadpool.mjs [--quick]        RS_TRIPLES overrides the triple count
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WORKLOADS } from './workloads.mjs';
import { benchDir, fmt, machine, median, progress, quantile, report, rotatingTriples } from './harness.mjs';

const require = createRequire(import.meta.url);
const { Sampler } = require(join(benchDir, '..'));
const quick = process.argv.includes('--quick');
const triples = Number(process.env.RS_TRIPLES) || (quick ? 6 : 150);
const idleTriples = quick ? 3 : 30;
const PROBE_MS = 10;
const RUNS_PER_PHASE = 6;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
/** The main (loop) thread's CPU time so far, ns, or NaN where /proc does not say. */
function loopThreadCpuNs() {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

const on = new Sampler({ threadpoolProbeMs: PROBE_MS });
const off = new Sampler({ threadpoolProbeMs: 0 });
const control = new Sampler({ threadpoolProbeMs: 0 });
const byKind = { on, off, control };

const rows = [];
let md = `## Threadpool probe overhead (\`node bench/threadpool.mjs${quick ? ' --quick' : ''}\`)\n\n`;
md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. `;
md += `In one process, ${triples} triples of phases (${RUNS_PER_PHASE} workload runs each, a loop turn after each) in rotating order, each after an untimed full GC, each with exactly one sampler running: probing every ${PROBE_MS} ms (on: 100× the default rate), probe off (off), and another with the probe off (A/A control). Median of the per-triple on/off ratios (p10–p90) and the A/A median; probes per on phase. Then ${idleTriples} triples of 500 ms idle phases: process CPU time (all threads) of the probing phase above the off phase, per probe, beside the same difference for the A/A control.\n\n`;
md += '| workload | on/off: median (p10–p90) | A/A control | off: median per phase | probes per on phase |\n|---|---:|---:|---:|---:|\n';

for (const [name, w] of Object.entries(WORKLOADS)) {
  progress(`${name}: ${triples} triples`);
  const phaseRun = async () => {
    let total = 0;
    for (let i = 0; i < RUNS_PER_PHASE; i++) {
      total += (await w.run()).wall;
      await new Promise((r) => setImmediate(r));
    }
    return total / RUNS_PER_PHASE;
  };
  for (let i = 0; i < 3; i++) await w.run(); // warm up the workload
  for (const s of [on, off, control]) { s.start(); await w.run(); s.stop(); }
  const probes = [];
  const res = await rotatingTriples(triples, async (kind) => {
    const s = byKind[kind];
    gc();
    s.start();
    const before = s.read().threadpool.probes;
    await wait(5); // the same settling for every phase
    const v = await phaseRun();
    s.stop();
    if (kind === 'on') probes.push(s.read().threadpool.probes - before);
    return v;
  });
  const ratios = res.on.map((v, i) => v / res.off[i]);
  const aa = res.control.map((v, i) => v / res.off[i]);
  const row = {
    scenario: 'threadpool', contender: `threadpool probe every ${PROBE_MS} ms (${name})`, unit: 'ratio on/off',
    median: median(ratios), min: quantile(ratios, 0.1), max: quantile(ratios, 0.9), spread: 'p10–p90',
    runs: ratios.length, controlMedian: median(aa), offPerPhase: median(res.off), phaseUnit: w.unit, probesPerPhase: median(probes),
  };
  rows.push(row);
  progress(`  on/off ${fmt(row.median, 3)} (p10–p90 ${fmt(row.min, 3)}–${fmt(row.max, 3)}), A/A ${fmt(row.controlMedian, 3)}, ${fmt(row.offPerPhase, 2)} ${w.unit}, ${row.probesPerPhase} probes/phase`);
  md += `| ${name} | ${fmt(row.median, 3)} (${fmt(row.min, 3)}–${fmt(row.max, 3)}) | ${fmt(row.controlMedian, 3)} | ${fmt(row.offPerPhase, 2)} ${w.unit} | ${row.probesPerPhase} |\n`;
}

progress(`idle: ${idleTriples} triples of 500 ms`);
const idle = { cpu: { on: [], off: [], control: [] }, loop: { on: [], off: [], control: [] }, probes: [], delays: [] };
await rotatingTriples(idleTriples, async (kind) => {
  const s = byKind[kind];
  s.start();
  const before = s.read().threadpool.probes;
  const h0 = s.histograms.threadpoolDelay.clone();
  const c0 = process.cpuUsage();
  const l0 = loopThreadCpuNs();
  await wait(500);
  const c = process.cpuUsage(c0);
  idle.loop[kind].push((loopThreadCpuNs() - l0) / 1000);
  s.stop();
  idle.cpu[kind].push(c.user + c.system);
  if (kind === 'on') {
    idle.probes.push(s.read().threadpool.probes - before);
    idle.delays.push(s.histograms.threadpoolDelay.delta(h0).percentile(50));
  }
  return 0;
});
const perProbe = idle.cpu.on.map((v, i) => (v - idle.cpu.off[i]) / idle.probes[i]);
const aaPerProbe = idle.cpu.control.map((v, i) => (v - idle.cpu.off[i]) / idle.probes[i]);
const loopPerProbe = idle.loop.on.map((v, i) => (v - idle.loop.off[i]) / idle.probes[i]);
const aaLoopPerProbe = idle.loop.control.map((v, i) => (v - idle.loop.off[i]) / idle.probes[i]);
const idleRow = {
  scenario: 'threadpool', contender: 'threadpool probe CPU per probe (idle process)', unit: 'µs CPU per probe',
  median: median(perProbe), min: quantile(perProbe, 0.1), max: quantile(perProbe, 0.9), spread: 'p10–p90', runs: perProbe.length,
  controlMedian: median(aaPerProbe), offCpuUsPerPhase: median(idle.cpu.off), probesPerPhase: median(idle.probes), delayP50Ns: median(idle.delays),
  loopThreadUsPerProbe: median(loopPerProbe), loopThreadMin: quantile(loopPerProbe, 0.1), loopThreadMax: quantile(loopPerProbe, 0.9),
  loopThreadControl: median(aaLoopPerProbe),
};
rows.push(idleRow);
progress(`  ${fmt(idleRow.median, 1)} µs CPU per probe (p10–p90 ${fmt(idleRow.min, 1)}–${fmt(idleRow.max, 1)}), A/A ${fmt(idleRow.controlMedian, 1)}; loop thread ${fmt(idleRow.loopThreadUsPerProbe, 1)} µs (p10–p90 ${fmt(idleRow.loopThreadMin, 1)}–${fmt(idleRow.loopThreadMax, 1)}), A/A ${fmt(idleRow.loopThreadControl, 1)}; ${idleRow.probesPerPhase} probes per 500 ms, delay p50 ${fmt(idleRow.delayP50Ns / 1000, 1)} µs`);
md += `\nIdle process, per probe: **${fmt(idleRow.median, 1)} µs of CPU** over all threads (p10–p90 ${fmt(idleRow.min, 1)}–${fmt(idleRow.max, 1)}; the A/A control's difference spread over as many probes: ${fmt(idleRow.controlMedian, 1)} µs), of which **${fmt(idleRow.loopThreadUsPerProbe, 1)} µs on the loop thread** (p10–p90 ${fmt(idleRow.loopThreadMin, 1)}–${fmt(idleRow.loopThreadMax, 1)}; A/A ${fmt(idleRow.loopThreadControl, 1)}), ${idleRow.probesPerPhase} probes per 500 ms phase, off phase ${fmt(idleRow.offCpuUsPerPhase, 0)} µs of CPU; median probe delay ${fmt(idleRow.delayP50Ns / 1000, 1)} µs. At the default period (1000 ms) that is one probe a second.\n`;
for (const s of [on, off, control]) s.close();
report('threadpool', md, rows, quick);
