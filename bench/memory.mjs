#!/usr/bin/env node
// Memory footprint: a process running the GC-heavy workload for a fixed time with the
// sampler running (reading every 100 ms, an onGC listener, the histograms in use) against
// one without. RSS and heap used are sampled every 250 ms; the footprint must be fixed, not
// growing: we report the RSS slope over the second half of the run (least squares) and the
// difference in RSS between the two processes. Runs alternate, twice each.
//   node bench/memory.mjs [--quick]
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { benchDir, fmt, machine, median, progress, runChild, report } from './harness.mjs';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');

function slope(points) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den ? num / den : 0;
}

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
  const t0 = Date.now();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    samples.push([(Date.now() - t0) / 1000, m.rss, m.heapUsed]);
  }, 250);
  // The workload in slices, so timers (reads, samples) run in between.
  let keep = [];
  await new Promise((resolve) => {
    const slice = () => {
      for (let i = 0; i < 50_000; i++) {
        keep.push({ i, s: `item${i}`, a: [i, i + 1] });
        if (keep.length > 40_000) keep = [];
      }
      if (Date.now() - t0 < seconds * 1000) setImmediate(slice);
      else resolve();
    };
    slice();
  });
  clearInterval(sampler);
  const gcCount = s ? s.read().gc.count : undefined; // this read delivers the last events
  const second = samples.filter(([t]) => t >= seconds / 2);
  const mid = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const out = {
    rssStart: samples[0]?.[1],
    rssEnd: samples.at(-1)?.[1],
    // The heap saw-tooths with every GC: a single sample says little, the median over the
    // second half says what the process holds.
    rssMedian: mid(second.map((p) => p[1])),
    heapMedian: mid(second.map((p) => p[2])),
    rssMax: Math.max(...samples.map((p) => p[1])),
    heapEnd: samples.at(-1)?.[2],
    rssSlope: slope(second.map(([t, r]) => [t, r])),
    heapSlope: slope(second.map(([t, , h]) => [t, h])),
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
      const x = runChild(self, mode, [String(seconds)]);
      if (x.error) throw new Error(x.error);
      res[mode].push(x);
      progress(`  run ${r + 1}/${runs} sampler ${mode}: RSS ${fmt(x.rssEnd / 2 ** 20)} MiB (max ${fmt(x.rssMax / 2 ** 20)}), slope ${fmt(x.rssSlope / 1024)} KiB/s${x.gcCount ? `, ${x.gcCount} GCs, ${x.gcEvents} events delivered` : ''}`);
    }
  }
  const MiB = 2 ** 20;
  const m = (mode, k) => median(res[mode].map((x) => x[k]));
  const rows = ['off', 'on'].map((mode) => ({
    scenario: 'memory', contender: mode === 'on' ? 'runtime-sampler' : 'none', unit: 'bytes', runs: runs,
    median: m(mode, 'rssMedian'), min: Math.min(...res[mode].map((x) => x.rssMedian)), max: Math.max(...res[mode].map((x) => x.rssMedian)),
    rssMax: m(mode, 'rssMax'), heapMedian: m(mode, 'heapMedian'), rssSlopeBytesPerSec: m(mode, 'rssSlope'), heapSlopeBytesPerSec: m(mode, 'heapSlope'),
  }));
  let md = `## Memory footprint (\`node bench/memory.mjs${quick ? ' --quick' : ''}\`)\n\n`;
  md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. The GC-heavy workload for ${seconds} s, with the sampler (read every 100 ms, an onGC listener) and without; ${runs} alternating runs each, medians; slopes fitted over the second half.\n\n`;
  md += '| process | RSS MiB (median, 2nd half) | RSS max MiB | heap used MiB (median, 2nd half) | RSS slope KiB/s | heap slope KiB/s |\n|---|---:|---:|---:|---:|---:|\n';
  for (const r of rows) {
    md += `| ${r.contender} | ${fmt(r.median / MiB)} | ${fmt(r.rssMax / MiB)} | ${fmt(r.heapMedian / MiB)} | ${fmt(r.rssSlopeBytesPerSec / 1024)} | ${fmt(r.heapSlopeBytesPerSec / 1024)} |\n`;
  }
  md += `\nThe sampler's RSS difference: ${fmt((rows[1].median - rows[0].median) / MiB, 2)} MiB (its shared block and histograms are about ${fmt(blockBytes / MiB, 2)} MiB; the rest is run-to-run variation of the workload's heap).\n`;
  report('memory', md, rows, quick);
}

await main();
