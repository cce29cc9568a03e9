#!/usr/bin/env node
// Loop-hook overhead on a setImmediate storm, switched on and off inside one process in
// alternating phases; reports the median on/off ratio and its spread.
//   node bench/loop-overhead.mjs [--quick]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { benchDir, fmt, machine, median, progress, updateResultsMd, writeNdjson } from './harness.mjs';

const require = createRequire(import.meta.url);
const { Sampler } = require(join(benchDir, '..'));
const quick = process.argv.includes('--quick');
const pairs = quick ? 4 : 24;
const hops = quick ? 20_000 : 100_000;

function storm(n) {
  return new Promise((resolve) => {
    let i = 0;
    const t = process.hrtime.bigint();
    const hop = () => (++i < n ? setImmediate(hop) : resolve(Number(process.hrtime.bigint() - t) / n));
    setImmediate(hop);
  });
}

const s = new Sampler();
await storm(hops * 2); // warm up
const on = [];
const off = [];
for (let p = 0; p < pairs; p++) {
  // Alternate which phase goes first, so drift does not favour one side.
  if (p % 2) {
    s.start(); on.push(await storm(hops)); s.stop();
    off.push(await storm(hops));
  } else {
    off.push(await storm(hops));
    s.start(); on.push(await storm(hops)); s.stop();
  }
  progress(`  pair ${p + 1}/${pairs}: on ${fmt(on[p])} ns/hop, off ${fmt(off[p])} ns/hop`);
}
s.close();
const ratios = on.map((v, i) => v / off[i]);
const row = {
  scenario: 'loop-overhead', contender: 'runtime-sampler (setImmediate storm)', unit: 'ratio on/off',
  runs: pairs, median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios),
  onNsPerHop: median(on), offNsPerHop: median(off), costNsPerHop: median(on) - median(off),
};
let md = `## Loop-hook overhead (\`node bench/loop-overhead.mjs\`)\n\n`;
md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}. ${pairs} alternating on/off phases of ${hops} setImmediate hops in one process.\n\n`;
md += `| on ns/hop | off ns/hop | cost ns/hop | on/off median | min–max |\n|---:|---:|---:|---:|---:|\n`;
md += `| ${fmt(row.onNsPerHop)} | ${fmt(row.offNsPerHop)} | ${fmt(row.costNsPerHop)} | ${fmt(row.median, 3)} | ${fmt(row.min, 3)}–${fmt(row.max, 3)} |\n`;
console.log(md);
if (!quick) {
  writeNdjson([row]);
  updateResultsMd('loop-overhead', md);
}
