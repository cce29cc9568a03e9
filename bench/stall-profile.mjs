#!/usr/bin/env node
// What profiling costs the stalled code itself, and how close its shares come: 1 s stalls
// (a busy loop 35 frames deep, alternating 7 ms in `a` and 3 ms in `b`) under a watchdog
// (threshold 20 ms) with watchdog.profile, without it (captureStack only), and without it
// again as an A/A control, in rotating order. The work done in the stall (loop turns) with
// the profile against without is the share of the stall's time the sampling takes; divided
// by the samples taken, the cost per sample. (Without a stall the profile costs nothing:
// bench/loop-overhead.mjs.)
//   node bench/stall-profile.mjs [--quick]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchDir, fmt, machine, median, progress, quantile, report, rotatingTriples } from './harness.mjs';

const require = createRequire(import.meta.url);
const { Sampler } = require(join(benchDir, '..'));
const quick = process.argv.includes('--quick');
const triples = Number(process.env.RS_PAIRS) || (quick ? 3 : 20);
const STALL_MS = 1000;
const DEPTH = 30;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let turns = 0;
function a() {
  const end = performance.now() + 7;
  while (performance.now() < end) turns++;
}
function b() {
  const end = performance.now() + 3;
  while (performance.now() < end) turns++;
}
function stall(depth) {
  if (depth > 0) return stall(depth - 1);
  const end = performance.now() + STALL_MS;
  while (performance.now() < end) {
    a();
    b();
  }
}

const samples = [];
const shares = [];
const { on, off, control } = await rotatingTriples(
  triples,
  async (kind) => {
    const s = new Sampler({ watchdog: { thresholdMs: 20, captureStack: true, ...(kind === 'on' ? { profile: true } : {}) } }).start();
    let event = null;
    s.onStall((e) => (event = e));
    await sleep(30);
    turns = 0;
    await new Promise((resolve) => setTimeout(() => resolve(stall(DEPTH)), 1));
    const done = turns;
    await sleep(10);
    s.read();
    s.close();
    if (kind === 'on' && event?.profile) {
      const p = event.profile;
      samples.push(p.samples);
      let inA = 0;
      for (const st of p.stacks) if (st.frames[st.frames.length - 1]?.functionName === 'a') inA += st.count;
      shares.push(inA / p.samples);
    }
    return done;
  },
  (p, r) => progress(`  ${p + 1}/${triples}: turns on ${r.on[p]}, off ${r.off[p]}, control ${r.control[p]}`),
);
const ratios = on.map((v, i) => v / off[i]);
const aa = control.map((v, i) => v / off[i]);
const perStall = median(samples);
const row = {
  scenario: 'stall-profile', contender: 'watchdog.profile during a stall (work done, on/off)', unit: 'ratio on/off', runs: triples,
  median: median(ratios), min: quantile(ratios, 0.1), max: quantile(ratios, 0.9), spread: 'p10–p90',
  controlMedian: median(aa), controlP10: quantile(aa, 0.1), controlP90: quantile(aa, 0.9),
  samplesPerStall: perStall, costUsPerSample: ((1 - median(ratios)) * STALL_MS * 1000) / perStall,
  shareA: median(shares), shareAMin: Math.min(...shares), shareAMax: Math.max(...shares), stackDepth: DEPTH + 5,
};
let md = `## Stall profiles: cost to the stalled code (\`node bench/stall-profile.mjs${quick ? ' --quick' : ''}\`)\n\n`;
md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. ${triples} triples of ${STALL_MS} ms stalls (a loop ~${DEPTH + 5} frames deep alternating 7 ms in \`a\` and 3 ms in \`b\`; watchdog threshold 20 ms, profile every 10 ms on average) in rotating order: with watchdog.profile, without (captureStack only), without again (A/A). Work = loop turns done in the stall. Cost per sample = (1 − on/off) × stall time / samples.\n\n`;
md += `| work on/off median (p10–p90) | A/A control (p10–p90) | samples per stall | cost per sample | share of samples in \`a\` (true: ~0.70), median (min–max) |\n|---:|---:|---:|---:|---:|\n`;
md += `| ${fmt(row.median, 4)} (${fmt(row.min, 4)}–${fmt(row.max, 4)}) | ${fmt(row.controlMedian, 4)} (${fmt(row.controlP10, 4)}–${fmt(row.controlP90, 4)}) | ${perStall} | ${fmt(row.costUsPerSample)} µs | ${fmt(row.shareA, 3)} (${fmt(row.shareAMin, 3)}–${fmt(row.shareAMax, 3)}) |\n`;
report('stall-profile', md, [row], quick);
