#!/usr/bin/env node
// The loop hook's own cost per iteration, in TSC cycles, without the noise of timing whole
// loop turns: builds the addon three times with RS_HOOK_TIMING (native/uv/loop_monitor.cc)
// into .cache/hook-cycles/ — the hook as shipped, an empty hook (the fences and the call:
// the measurement's floor) and a hook that only reads the time-stamp counter — and runs a
// setImmediate storm under each, in rotation, in separate processes. Each check callback is
// timed by lfence-fenced rdtsc around it (means: see the report below).
//   node bench/hook-cycles.mjs [rounds]     (default 3; x86-64 Linux with a compiler)
// The loop's own dispatch of a check handle (before the callback) is not in these numbers:
// bench/loop-overhead.mjs measures whole turns.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildHookVariant, restoreShippedBuild } from './hook-build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.argv[2] ?? 3);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) {
  console.error(`hook-cycles: rounds ${process.argv[2]} is not accepted: an integer from 1 to 100`);
  process.exit(2);
}
if (process.arch !== 'x64' || process.platform !== 'linux') {
  console.log(`SKIP hook-cycles: needs x86-64 Linux (rdtsc), this is ${process.platform}-${process.arch}`);
  process.exit(0);
}
const variants = [
  { name: 'empty', timing: 2, what: 'empty hook (measurement floor)' },
  { name: 'tsc', timing: 3, what: 'reads the time-stamp counter only' },
  { name: 'hook', timing: 1, what: 'the hook as shipped' },
];
const cache = join(root, '.cache', 'hook-cycles');
for (const v of variants) buildHookVariant(root, join(cache, v.name), `-DRS_HOOK_TIMING=${v.timing}`, 'hook-cycles');
// The checkout's own build, as shipped, again (the loop above left the last variant there).
restoreShippedBuild(root, 'hook-cycles');

const STORM = `
  const { Sampler } = require(process.argv[1]);
  const spin = Number(process.argv[2]);
  const s = new Sampler().start();
  let i = 0;
  const hop = () => {
    if (spin) { const e = performance.now() + spin / 1000; while (performance.now() < e); }
    if (++i < Number(process.argv[3])) setImmediate(hop); else s.close();
  };
  setTimeout(() => setImmediate(hop), 50);
`;
const results = {};
for (const [label, spin, hops] of [['storm', 0, 1_000_000], ['6 µs iterations', 6, 100_000]]) {
  results[label] = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const p = spawnSync(process.execPath, ['-e', STORM, join(cache, v.name), String(spin), String(hops)], { env: { ...process.env, RS_HOOK_REPORT: '1' }, encoding: 'utf8' });
      const m = /RS_HOOK_CYCLES n=(\d+) mean=([\d.]+) tsc_mhz=([\d.]+) all=([\d.]+)/.exec(p.stderr);
      if (!m) {
        console.error(`hook-cycles: no report from ${v.name}: ${p.stderr}`);
        process.exit(1);
      }
      results[label][v.name].push({ mean: Number(m[2]), mhz: Number(m[3]), all: Number(m[4]) });
    }
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
// Two means a callback: over callbacks under 1000 cycles (the per-iteration work alone),
// and over all under 100,000 (also the buffer flushes, every 128 iterations, and the
// publications, every millisecond: the hook's whole cost an iteration, preemption left out).
for (const [label, byVariant] of Object.entries(results)) {
  const mhz = med(Object.values(byVariant).flat().map((x) => x.mhz));
  const floor = med(byVariant.empty.map((x) => x.mean));
  const floorAll = med(byVariant.empty.map((x) => x.all));
  const ns = (c) => ((c / mhz) * 1e3).toFixed(1);
  console.log(`${label} (${rounds} rounds, TSC ${mhz.toFixed(0)} MHz):`);
  for (const v of variants) {
    const cycles = med(byVariant[v.name].map((x) => x.mean));
    const all = med(byVariant[v.name].map((x) => x.all));
    console.log(`  ${v.what.padEnd(34)} ${cycles.toFixed(1)} cycles; above the floor ${(cycles - floor).toFixed(1)} cycles = ${ns(cycles - floor)} ns;` +
      ` with flushes and publications ${ns(all - floorAll)} ns  (rounds: ${byVariant[v.name].map((x) => `${x.mean.toFixed(1)}/${x.all.toFixed(1)}`).join(', ')})`);
  }
}
