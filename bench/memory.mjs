#!/usr/bin/env node
// Memory footprint: a process running the GC-heavy workload for a fixed time with the
// sampler running (reading every 100 ms, an onGC listener, the histograms in use) against
// one without. The heap saw-tooths with every GC, so samples say little about what a
// process keeps: every second the workload drops its data and takes a full GC (a
// checkpoint), and what is left — heap used, external memory, RSS — is what the process
// holds. The footprint must be fixed, not growing: we report the sampler's extra memory
// at the checkpoints and the growth from the first checkpoint after warm-up to the last.
// Runs alternate, twice each.
//   node bench/memory.mjs [--quick]
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { benchDir, fmt, machine, median, progress, runChild, report } from './harness.mjs';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');

async function child(withSampler, seconds) {
  let s = null;
  let events = 0;
  if (withSampler) {
    const { Sampler } = await import(join(benchDir, '..', 'dist', 'cjs', 'index.js')).then((m) => m.default ?? m);
    s = new Sampler().start();
    const snap = s.read();
    s.onGC(() => events++);
    setInterval(() => {
      s.read(snap);
      s.histograms.loopDelay.percentile(99);
    }, 100).unref();
  }
  const samples = [];
  const checkpoints = [];
  const t0 = Date.now();
  const sampler = setInterval(() => samples.push(process.memoryUsage().rss), 250);
  // The workload in slices, so timers (reads, samples) run in between; a checkpoint every
  // second: drop the workload's data, full GC, then measure what is retained.
  let keep = [];
  let nextCheckpoint = 1000;
  await new Promise((resolve) => {
    const slice = () => {
      for (let i = 0; i < 50_000; i++) {
        keep.push({ i, s: `item${i}`, a: [i, i + 1] });
        if (keep.length > 40_000) keep = [];
      }
      const t = Date.now() - t0;
      if (t >= nextCheckpoint) {
        nextCheckpoint += 1000;
        keep = [];
        globalThis.gc();
        const m = process.memoryUsage();
        checkpoints.push({ t: t / 1000, heapUsed: m.heapUsed, external: m.external, rss: m.rss });
      }
      if (t < seconds * 1000) setImmediate(slice);
      else resolve();
    };
    slice();
  });
  clearInterval(sampler);
  const gcCount = s ? s.read().gc.count : undefined; // this read delivers the last events
  const mid = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  // The first checkpoints are warm-up (code, caches, the first old-space growth).
  const steady = checkpoints.slice(Math.min(2, checkpoints.length - 1));
  const first = steady[0];
  const last = steady.at(-1);
  const out = {
    rssMedian: mid(samples.slice(samples.length >> 1)),
    rssMax: Math.max(...samples),
    heapRetained: mid(steady.map((c) => c.heapUsed)),
    externalRetained: mid(steady.map((c) => c.external)),
    rssRetained: mid(steady.map((c) => c.rss)),
    heapGrowth: last.heapUsed - first.heapUsed,
    externalGrowth: last.external - first.external,
    rssGrowth: last.rss - first.rss,
    span: last.t - first.t,
    checkpoints: steady.length,
    gcEvents: events,
    gcCount,
  };
  if (s) s.close();
  console.log('RESULT ' + JSON.stringify(out));
  process.exit(0);
}

async function main() {
  if (args[0] === '--child') return child(args[1] === 'on', Number(args[2]));
  const { Sampler } = await import(join(benchDir, '..', 'dist', 'cjs', 'index.js')).then((m) => m.default ?? m);
  const probe = new Sampler();
  const blockBytes = probe.buffer ? probe.buffer.byteLength : NaN;
  probe.close();
  const seconds = quick ? 2 : 20;
  const runs = quick ? 1 : 2;
  const res = { off: [], on: [] };
  for (let r = 0; r < runs; r++) {
    for (const mode of r % 2 ? ['on', 'off'] : ['off', 'on']) {
      const x = runChild(self, mode, [String(seconds)], ['--expose-gc']);
      if (x.error) throw new Error(x.error);
      res[mode].push(x);
      progress(`  run ${r + 1}/${runs} sampler ${mode}: retained heap ${fmt(x.heapRetained / 2 ** 20, 2)} MiB (growth ${fmt(x.heapGrowth / 1024)} KiB over ${fmt(x.span)} s), RSS ${fmt(x.rssRetained / 2 ** 20)} MiB (growth ${fmt(x.rssGrowth / 1024)} KiB)${x.gcCount ? `, ${x.gcCount} GCs, ${x.gcEvents} events delivered` : ''}`);
    }
  }
  const MiB = 2 ** 20;
  const m = (mode, k) => median(res[mode].map((x) => x[k]));
  const rows = ['off', 'on'].map((mode) => ({
    scenario: 'memory', contender: mode === 'on' ? 'runtime-sampler' : 'none', unit: 'bytes', runs,
    median: m(mode, 'rssRetained'), min: Math.min(...res[mode].map((x) => x.rssRetained)), max: Math.max(...res[mode].map((x) => x.rssRetained)),
    heapRetained: m(mode, 'heapRetained'), externalRetained: m(mode, 'externalRetained'),
    heapGrowth: m(mode, 'heapGrowth'), externalGrowth: m(mode, 'externalGrowth'), rssGrowth: m(mode, 'rssGrowth'),
    growthSpanSeconds: m(mode, 'span'), rssMedianUnderLoad: m(mode, 'rssMedian'), rssMax: m(mode, 'rssMax'),
  }));
  let md = `## Memory footprint (\`node bench/memory.mjs${quick ? ' --quick' : ''}\`)\n\n`;
  md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. The GC-heavy workload for ${seconds} s, with the sampler (read every 100 ms, an onGC listener, a percentile every read) and without; ${runs} alternating runs each, medians. Every second the workload drops its data and takes a full GC (a checkpoint): the *retained* columns are what the process holds then (median over checkpoints after 2 s of warm-up), *growth* is last checkpoint − first. Under load the heap saw-tooths with every GC, so RSS under load is shown for reference only.\n\n`;
  md += '| process | heap retained MiB | external MiB | RSS retained MiB | heap growth KiB | external growth KiB | RSS growth KiB | RSS under load MiB (median; max) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n';
  for (const r of rows) {
    md += `| ${r.contender} | ${fmt(r.heapRetained / MiB, 2)} | ${fmt(r.externalRetained / MiB, 2)} | ${fmt(r.median / MiB, 1)} | ${fmt(r.heapGrowth / 1024)} | ${fmt(r.externalGrowth / 1024)} | ${fmt(r.rssGrowth / 1024)} | ${fmt(r.rssMedianUnderLoad / MiB)}; ${fmt(r.rssMax / MiB)} |\n`;
  }
  const [off, on] = rows;
  md += `\nThe sampler's footprint at the checkpoints: heap ${fmt((on.heapRetained - off.heapRetained) / 1024)} KiB, external ${fmt((on.externalRetained - off.externalRetained) / MiB, 2)} MiB (its shared block and histograms: ${fmt(blockBytes / MiB, 2)} MiB), RSS ${fmt((on.median - off.median) / MiB, 2)} MiB; growth over ${fmt(on.growthSpanSeconds)} s with the sampler: heap ${fmt(on.heapGrowth / 1024)} KiB, external ${fmt(on.externalGrowth / 1024)} KiB.\n`;
  report('memory', md, rows, quick);
}

await main();
