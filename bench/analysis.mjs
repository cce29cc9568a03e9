#!/usr/bin/env node
// The cost of the analysis layer (sampler.history, watch() with the built-in rules,
// diagnose()):
//  1. per history sample, with the built-in rules (BUILTIN_RULES) evaluated on it, while a GC-heavy
//     workload fills the histograms (the median and p90 of single samples, and what that
//     is as a share of the default 1 s interval);
//  2. the overhead switched on and off inside one process: triples of ~300 ms phases of
//     an asynchronous GC-heavy workload (setImmediate chunks, so timers run between
//     them); 'on' phases attach a view of the sampler and watch it with the built-in rules
//     and a 100 ms history (ten times the default rate: the worst case), 'off' and the
//     A/A 'control' run nothing extra; ms per chunk, median of the per-triple ratios;
//  3. diagnose() over a full default history (600 samples), and the history's memory.
//   node bench/analysis.mjs [--quick]        RS_TRIPLES overrides the triple count
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { benchDir, fmt, machine, median, progress, quantile, report, rotatingTriples } from './harness.mjs';

const require = createRequire(import.meta.url);
const { Sampler, watch, diagnose } = require(join(benchDir, '..'));
const quick = process.argv.includes('--quick');
const triples = Number(process.env.RS_TRIPLES) || (quick ? 6 : 90);
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

let keep = [];
const old = [];
function chunk() {
  for (let i = 0; i < 20_000; i++) {
    keep.push({ i, s: `item${i}` });
    if (keep.length > 10_000) {
      old.push(keep);
      keep = [];
      if (old.length > 40) old.splice(0, 20);
    }
  }
}

const sampler = new Sampler({ watchdog: true }).start();
const rows = [];
let md = `## Analysis layer cost (\`node bench/analysis.mjs${quick ? ' --quick' : ''}\`)\n\n`;
md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}.\n\n`;

// ---- 1. one history sample with the built-in rules ----
{
  progress('history sample + built-in rules');
  const h = sampler.history;
  const w = watch(sampler);
  for (let i = 0; i < 200; i++) chunk(); // GCs of every kind: full histograms
  const n = quick ? 200 : 2000;
  // n single samples (µs each), the workload run between every 20th.
  const timeSamples = () => {
    const us = [];
    for (let i = 0; i < n; i++) {
      if (i % 20 === 0) chunk();
      const t = process.hrtime.bigint();
      h.sample();
      us.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
    return us;
  };
  const with_ = timeSamples();
  w.close();
  const without = timeSamples();
  const row = {
    scenario: 'analysis/sample', contender: 'history sample + built-in rules', rules: w.rules.length, unit: 'µs',
    median: median(with_), min: quantile(with_, 0.1), max: quantile(with_, 0.9), spread: 'p10–p90', runs: n,
    withoutRulesMedian: median(without), shareOfDefaultInterval: median(with_) / 1e6,
  };
  rows.push(row);
  progress(`  ${fmt(row.median, 1)} µs (p10–p90 ${fmt(row.min, 1)}–${fmt(row.max, 1)}); without rules ${fmt(row.withoutRulesMedian, 1)} µs`);
  md += '| what | median | p10–p90 | share of the default 1 s interval |\n|---|---:|---:|---:|\n';
  md += `| a history sample, the ${row.rules} built-in rules evaluated on it | ${fmt(row.median, 1)} µs | ${fmt(row.min, 1)}–${fmt(row.max, 1)} µs | ${fmt(row.shareOfDefaultInterval * 100, 4)}% |\n`;
  md += `| a history sample alone | ${fmt(row.withoutRulesMedian, 1)} µs | | ${fmt(row.withoutRulesMedian / 1e4, 4)}% |\n`;
}

// ---- 2. on/off inside one process ----
{
  progress(`overhead: ${triples} triples of ~300 ms phases`);
  const CHUNKS = 60;
  const phase = async (kind) => {
    gc();
    let view = null;
    let watcher = null;
    if (kind === 'on') {
      view = Sampler.attach({ ...sampler.share(), options: { ...sampler.options, history: { intervalMs: 100, capacity: 600 } } });
      watcher = watch(view);
    }
    await new Promise((r) => setTimeout(r, 5));
    const t = process.hrtime.bigint();
    await new Promise((resolve) => {
      let n = 0;
      const step = () => {
        chunk();
        if (++n < CHUNKS) setImmediate(step);
        else resolve();
      };
      step();
    });
    const ms = Number(process.hrtime.bigint() - t) / 1e6 / CHUNKS;
    watcher?.close();
    view?.close();
    return ms;
  };
  for (const k of ['on', 'off', 'control']) await phase(k);
  const res = await rotatingTriples(triples, phase);
  const ratios = res.on.map((v, i) => v / res.off[i]);
  const aa = res.control.map((v, i) => v / res.off[i]);
  const row = {
    scenario: 'analysis/overhead', contender: 'history (100 ms) + built-in rules', unit: 'ratio on/off',
    median: median(ratios), min: quantile(ratios, 0.1), max: quantile(ratios, 0.9), spread: 'p10–p90',
    runs: ratios.length, controlMedian: median(aa), offMsPerChunk: median(res.off),
  };
  rows.push(row);
  progress(`  on/off ${fmt(row.median, 3)} (p10–p90 ${fmt(row.min, 3)}–${fmt(row.max, 3)}), A/A ${fmt(row.controlMedian, 3)}`);
  md += `\nSwitched on and off in one process (${triples} triples, rotating order, an untimed full GC before each phase; 'on' = a view watched with the built-in rules and a 100 ms history, ten times the default rate):\n\n`;
  md += '| workload | on/off: median (p10–p90) | A/A control | off: ms per chunk |\n|---|---:|---:|---:|\n';
  md += `| GC-heavy, setImmediate chunks | ${fmt(row.median, 3)} (${fmt(row.min, 3)}–${fmt(row.max, 3)}) | ${fmt(row.controlMedian, 3)} | ${fmt(row.offMsPerChunk, 2)} |\n`;
}

// ---- 3. diagnose() over a full history, and the history's memory ----
{
  progress('diagnose() over a full default history');
  old.length = 0;
  keep = [];
  gc();
  const before = process.memoryUsage().heapUsed;
  const s = new Sampler().start();
  const h = s.history;
  for (let i = 1; i < 600; i++) {
    if (i % 10 === 0) chunk();
    h.sample();
  }
  old.length = 0;
  keep = [];
  gc();
  const perSample = (process.memoryUsage().heapUsed - before) / h.length;
  const times = [];
  for (let i = 0; i < (quick ? 5 : 40); i++) {
    const t = process.hrtime.bigint();
    diagnose(s, { windowMs: 600_000 });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  s.close();
  const row = {
    scenario: 'analysis/diagnose', contender: 'diagnose() over 600 samples', unit: 'ms',
    median: median(times), min: quantile(times, 0.1), max: quantile(times, 0.9), spread: 'p10–p90', runs: times.length,
    historyBytesPerSample: perSample,
  };
  rows.push(row);
  progress(`  diagnose ${fmt(row.median, 2)} ms; history ${fmt(perSample / 1024, 1)} KiB per sample`);
  md += `\n| what | median | p10–p90 |\n|---|---:|---:|\n`;
  md += `| diagnose() over a full default history (600 samples, 10 min window) | ${fmt(row.median, 2)} ms | ${fmt(row.min, 2)}–${fmt(row.max, 2)} ms |\n`;
  md += `| history memory (snapshot + share of the sparse histogram copies), per sample | ${fmt(perSample / 1024, 1)} KiB | (600 samples: ${fmt((perSample * 600) / 1048576, 2)} MiB) |\n`;
}
sampler.close();
report('analysis', md, rows, quick);
