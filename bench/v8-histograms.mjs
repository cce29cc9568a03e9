#!/usr/bin/env node
// Overhead of V8's histogram callbacks (the v8Histograms option), switched on and off
// inside one process: each phase runs with exactly one sampler started — one with
// v8Histograms (on), one without (off), and a second one without (the A/A control) — so
// the GC and loop hooks are the same in every phase and only the histogram callbacks
// differ. Triples of phases in rotating order, each after an untimed full GC; the median
// of the per-triple on/off ratios (p10–p90) beside the A/A median.
//
// Two workloads:
//  - GC-heavy: allocation churn with a retained set large enough for incremental marking,
//    so that the phases have steps, mark-compact phases, safepoints and reasons to record;
//  - compile-heavy: thousands of distinct functions compiled and run (eval, new Function,
//    lazy inner functions), where V8 asks for its compile timers on every compile — the
//    histograms the callbacks decline, once each time.
//   node bench/v8-histograms.mjs [--quick]        RS_TRIPLES overrides the triple count
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { benchDir, fmt, machine, median, progress, quantile, report, rotatingTriples } from './harness.mjs';

const require = createRequire(import.meta.url);
const { Sampler } = require(join(benchDir, '..'));
const quick = process.argv.includes('--quick');
const triples = Number(process.env.RS_TRIPLES) || (quick ? 6 : 150);
// A full GC between phases, without needing node --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

let counter = 0;
const WORKLOADS = {
  'GC-heavy': {
    unit: 'ms/phase',
    run() {
      // Short-lived objects (scavenges) and a retained set of ~60 MB replaced in halves
      // (old-generation growth: incremental marking and mark-compacts).
      let keep = [];
      const old = [];
      for (let i = 0; i < 600_000; i++) {
        keep.push({ i, s: `item${i}` });
        if (keep.length > 20_000) {
          old.push(keep);
          keep = [];
          if (old.length > 24) old.splice(0, 12);
        }
      }
      return old.length;
    },
  },
  'compile-heavy': {
    unit: 'ms/phase',
    run() {
      // Every source is new (a counter in it): no compilation cache hit.
      let sink = 0;
      for (let i = 0; i < 1500; i++) {
        const n = counter++;
        const f = new Function('a', `function inner${n}(x) { return x * ${n} + a; } return inner${n}(a) + ${n};`);
        sink += f(i);
        sink += eval(`(function e${n}(b) { const o = { k${n}: b }; return o.k${n} + ${n}; })`)(i);
      }
      return sink;
    },
  },
};

const on = new Sampler({ v8Histograms: true });
const off = new Sampler({ v8Histograms: false });
const control = new Sampler({ v8Histograms: false });
const byKind = { on, off, control };

const rows = [];
let md = `## V8 histogram callbacks overhead (\`node bench/v8-histograms.mjs${quick ? ' --quick' : ''}\`)\n\n`;
md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. `;
md += `In one process, ${triples} triples of phases in rotating order, each after an untimed full GC, each with exactly one sampler running: with \`v8Histograms\` (on), without (off), and another without (A/A control). Median of the per-triple on/off ratios (p10–p90) and the A/A median; samples = V8 histogram samples recorded per 'on' phase (of them, incremental marking steps).\n\n`;
md += '| workload | on/off: median (p10–p90) | A/A control | off: median ms/phase | samples per on phase |\n|---|---:|---:|---:|---:|\n';

for (const [name, w] of Object.entries(WORKLOADS)) {
  progress(`${name}: ${triples} triples`);
  for (let i = 0; i < 3; i++) w.run(); // warm up the workload
  for (const s of [on, off, control]) { s.start(); w.run(); s.stop(); }
  const samples = [];
  const steps = [];
  const res = await rotatingTriples(triples, async (kind) => {
    const s = byKind[kind];
    gc();
    s.start();
    const b = s.read();
    const before = [b.sampler.v8HistogramSamples, b.gc.incrementalMarkingSteps];
    await new Promise((r) => setTimeout(r, 5)); // the same settling for every phase
    const t = process.hrtime.bigint();
    w.run();
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (kind === 'on') {
      const a = s.read();
      samples.push(a.sampler.v8HistogramSamples - before[0]);
      steps.push(a.gc.incrementalMarkingSteps - before[1]);
    }
    s.stop();
    return ms;
  });
  const ratios = res.on.map((v, i) => v / res.off[i]);
  const aa = res.control.map((v, i) => v / res.off[i]);
  const row = {
    scenario: 'v8-histograms', contender: `v8Histograms (${name})`, unit: 'ratio on/off',
    median: median(ratios), min: quantile(ratios, 0.1), max: quantile(ratios, 0.9), spread: 'p10–p90',
    runs: ratios.length, controlMedian: median(aa), offMsPerPhase: median(res.off), samplesPerPhase: median(samples), stepsPerPhase: median(steps),
  };
  rows.push(row);
  progress(`  on/off ${fmt(row.median, 3)} (p10–p90 ${fmt(row.min, 3)}–${fmt(row.max, 3)}), A/A ${fmt(row.controlMedian, 3)}, ${fmt(row.offMsPerPhase, 1)} ms/phase, ${row.samplesPerPhase} samples (${row.stepsPerPhase} incremental marking steps)/phase`);
  md += `| ${name} | ${fmt(row.median, 3)} (${fmt(row.min, 3)}–${fmt(row.max, 3)}) | ${fmt(row.controlMedian, 3)} | ${fmt(row.offMsPerPhase, 1)} | ${row.samplesPerPhase} (${row.stepsPerPhase} steps) |\n`;
}
for (const s of [on, off, control]) s.close();
report('v8-histograms', md, rows, quick);
