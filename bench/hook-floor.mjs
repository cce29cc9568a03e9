#!/usr/bin/env node
// The floor under the loop hook, in whole loop turns: builds the addon with RS_HOOK_FLOOR
// (native/uv/loop_monitor.cc; never in a shipped binary) as an empty check callback
// (libuv's dispatch of a check handle alone) and as one that only reads the time-stamp
// counter, beside the hook as shipped, into .cache/hook-floor/, and runs bench/loop-ab.mjs
// on the three in one process: each sampler on in its own phases, between phases with
// none on and an A/A control, in a seeded random order, timed by CPU time.
//   node bench/hook-floor.mjs            (x86-64 Linux with a compiler)
// HOPS, TRIPLES, SPIN_US as for bench/loop-ab.mjs (defaults here 50000, 150, 0).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildHookVariant } from './hook-build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.arch !== 'x64' || process.platform !== 'linux') {
  console.log(`SKIP hook-floor: needs x86-64 Linux (rdtsc), this is ${process.platform}-${process.arch}`);
  process.exit(0);
}
const variants = [
  { name: 'empty', flags: '-DRS_HOOK_FLOOR=1' },
  { name: 'tsc', flags: '-DRS_HOOK_FLOOR=2' },
  { name: 'hook', flags: '' },
];
const cache = join(root, '.cache', 'hook-floor');
for (const v of variants) buildHookVariant(root, join(cache, v.name), v.flags, 'hook-floor');
// The last variant built is the shipped one: the checkout's build is as it was.
const env = { ...process.env, HOPS: process.env.HOPS ?? '50000', TRIPLES: process.env.TRIPLES ?? '150' };
const r = spawnSync(process.execPath, [join(root, 'bench', 'loop-ab.mjs'), ...variants.map((v) => `${v.name}=${join(cache, v.name)}`)], { env, stdio: 'inherit' });
process.exit(r.status ?? 1);
