#!/usr/bin/env node
// `npm run bench [-- --quick]`: every benchmark scenario in turn, progress on stderr, the
// summary tables at the end. Full runs append to bench/results/<date>.ndjson and regenerate
// their sections of bench/RESULTS.md; --quick runs everything briefly and records nothing
// (CI runs it as a smoke test, never gated on timings).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { benchDir, machine, progress } from './harness.mjs';

const args = process.argv.slice(2);
const SCENARIOS = [
  ['read cost', 'read.mjs'],
  ['overhead (GC-heavy, setImmediate storm)', 'overhead.mjs'],
  ['loop-hook overhead', 'loop-overhead.mjs'],
  ['HTTP under load (wrk)', 'http.mjs'],
  ['memory footprint', 'memory.mjs'],
  ['precision against --trace-gc and monitorEventLoopDelay', 'precision.mjs'],
];
const only = args.filter((a) => !a.startsWith('--'));
const summaries = [];
let failed = 0;
for (const [title, file] of SCENARIOS) {
  if (only.length && !only.some((o) => file.includes(o))) continue;
  progress(`\n=== ${title} (bench/${file}) ===`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(benchDir, file), ...args.filter((a) => a.startsWith('--'))], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  if (r.status !== 0) {
    failed++;
    summaries.push(`## ${title}\n\nFAILED (exit ${r.status}) after ${secs} s\n`);
    continue;
  }
  summaries.push(r.stdout.trim());
  progress(`=== ${title}: done in ${secs} s ===`);
}
console.log(`# runtime-sampler benchmarks — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}\n`);
console.log(summaries.join('\n\n'));
process.exitCode = failed ? 1 : 0;
