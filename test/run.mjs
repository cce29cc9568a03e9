#!/usr/bin/env node
// Runs every test file in its own process (some need --expose-gc or a clean heap), then
// the native core tests (ctest, under sanitizers) when cmake is available, and prints
// one closing line: `N passed, N failed`. A file that crashes or prints no uvu summary
// counts as one failure.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const skipNative = args.includes('--no-native') || process.env.RUNTIME_SAMPLER_SKIP_NATIVE_TESTS === '1';
// package-*.test.mjs pack and install the package under every Node version; test:versions
// runs the rest of the suite under each version and skips them with --no-package.
const skipPackage = args.includes('--no-package');

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

function stripAnsi(s) {
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.js') || f.endsWith('.test.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .filter((f) => !(skipPackage && f.startsWith('package-')))
  .sort();

for (const file of files) {
  const path = join(here, file);
  const head = readFileSync(path, 'utf8').split('\n', 3).join('\n');
  const flags = /node-flags:\s*(.*)/.exec(head)?.[1].trim().split(/\s+/) ?? [];
  const started = Date.now();
  const r = spawnSync(process.execPath, [...flags, path], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    encoding: 'utf8',
    timeout: 10 * 60 * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = stripAnsi((r.stdout ?? '') + (r.stderr ?? ''));
  const total = /Total:\s+(\d+)/.exec(out);
  const ok = /Passed:\s+(\d+)/.exec(out);
  const skip = /Skipped:\s+(\d+)/.exec(out);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (!total || !ok) {
    failed++;
    failures.push(file);
    process.stdout.write(out);
    console.log(`✗ ${file}: no test summary (exit ${r.status}, signal ${r.signal}) — counted as 1 failure [${secs}s]`);
    continue;
  }
  const t = Number(total[1]);
  const p = Number(ok[1]);
  const f = t - p;
  passed += p;
  failed += f;
  skipped += skip ? Number(skip[1]) : 0;
  if (f > 0 || r.status !== 0) {
    if (f === 0) {
      failed++;
      console.log(`✗ ${file}: exited with ${r.status ?? r.signal} after its tests — counted as 1 failure`);
    }
    failures.push(file);
    process.stdout.write(out);
  }
  const skips = skip ? Number(skip[1]) : 0;
  console.log(`${f > 0 ? '✗' : '✓'} ${file}: ${p}/${t} passed${skips ? `, ${skips} skipped` : ''} [${secs}s]`);
  // Each skipped test says why (test/helpers/skip.js).
  for (const m of out.matchAll(/^SKIP (.*)$/gm)) console.log(`    skipped: ${m[1]}`);
}

if (!skipNative && only.length === 0) {
  const r = spawnSync(process.execPath, [join(root, 'scripts/native-tests.mjs'), '--summary-json'], {
    cwd: root,
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  const m = /NATIVE_SUMMARY (\{.*\})/.exec(out);
  if (m) {
    const s = JSON.parse(m[1]);
    if (s.skipped) {
      // Under CI a missing cmake is a failure: .ci/run installs it.
      if (process.env.CI) {
        failed++;
        failures.push('native core tests');
        console.log(`✗ native core tests: ${s.reason} (CI must run them: .ci/run installs cmake)`);
      } else {
        skipped++;
        console.log(`- native core tests skipped: ${s.reason}`);
      }
    } else {
      passed += s.passed;
      failed += s.failed;
      console.log(`${s.failed > 0 ? '✗' : '✓'} native core tests (${s.configs.join(', ')}): ${s.passed}/${s.passed + s.failed} passed`);
      if (s.failed > 0) {
        failures.push('native core tests');
        process.stdout.write(out);
      }
    }
  } else {
    failed++;
    failures.push('native core tests');
    process.stdout.write(out);
    console.log('✗ native core tests: no summary — counted as 1 failure');
  }
}

if (failures.length) console.log(`failed: ${failures.join(', ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
