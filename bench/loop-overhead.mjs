#!/usr/bin/env node
// Loop-hook overhead on a setImmediate storm, switched on and off inside one process in
// many short phases, with an A/A control; reports the median ratios and their spread.
//   node bench/loop-overhead.mjs [--quick]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { benchDir, fmt, machine, median, progress, quantile, report, rotatingTriples } from './harness.mjs';

const require = createRequire(import.meta.url);
const { Sampler } = require(join(benchDir, '..'));
const quick = process.argv.includes('--quick');
const pairs = Number(process.env.RS_PAIRS) || (quick ? 6 : 300);
const hops = Number(process.env.RS_HOPS) || (quick ? 10_000 : 20_000);

function storm(n) {
  return new Promise((resolve) => {
    let i = 0;
    const t = process.hrtime.bigint();
    const hop = () => (++i < n ? setImmediate(hop) : resolve(Number(process.hrtime.bigint() - t) / n));
    setImmediate(hop);
  });
}

// Many short phases in rotating order — off, on, and a second off phase as an A/A control
// (its ratio to the first off phase shows this machine's noise floor) — and the median
// of the per-triple ratios with p10–p90. Cost per hop is median(on − off) over triples.
const s = new Sampler();
await storm(hops * 2); // warm up
s.start();
await storm(hops * 2); // and with the sampler on (calibrates the tick clock)
s.stop();
const { on, off, control } = await rotatingTriples(
  pairs,
  async (kind) => {
    if (kind !== 'on') return storm(hops);
    s.start();
    const ns = await storm(hops);
    s.stop();
    return ns;
  },
  (p, r) => {
    if ((p + 1) % Math.max(1, Math.floor(pairs / 10)) === 0) progress(`  ${p + 1}/${pairs}: on ${fmt(r.on[p])} ns/hop, off ${fmt(r.off[p])}, control ${fmt(r.control[p])}`);
  },
);
const clock = s.loopClock;
s.close();
const ratios = on.map((v, i) => v / off[i]);
const aa = control.map((v, i) => v / off[i]);
const row = {
  scenario: 'loop-overhead', contender: 'runtime-sampler (setImmediate storm)', unit: 'ratio on/off',
  runs: pairs, median: median(ratios), min: quantile(ratios, 0.1), max: quantile(ratios, 0.9), spread: 'p10–p90',
  controlMedian: median(aa), controlP10: quantile(aa, 0.1), controlP90: quantile(aa, 0.9),
  onNsPerHop: median(on), offNsPerHop: median(off), costNsPerHop: median(on.map((v, i) => v - off[i])),
  loopClock: clock,
};
let md = `## Loop-hook overhead (\`node bench/loop-overhead.mjs${quick ? ' --quick' : ''}\`)\n\n`;
md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. A setImmediate storm in one process: ${pairs} triples of ${hops}-hop phases in rotating order — sampler on, off, and off again as an A/A control (the noise floor). Loop clock: ${clock}.\n\n`;
md += `| on ns/hop | off ns/hop | cost ns/hop (median of on − off) | on/off median (p10–p90) | A/A control median (p10–p90) |\n|---:|---:|---:|---:|---:|\n`;
md += `| ${fmt(row.onNsPerHop)} | ${fmt(row.offNsPerHop)} | ${fmt(row.costNsPerHop)} | ${fmt(row.median, 3)} (${fmt(row.min, 3)}–${fmt(row.max, 3)}) | ${fmt(row.controlMedian, 3)} (${fmt(row.controlP10, 3)}–${fmt(row.controlP90, 3)}) |\n`;
report('loop-overhead', md, [row], quick);
