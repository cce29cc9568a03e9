#!/usr/bin/env node
// The test runner. Every test file runs in its own process (some need --expose-gc or a
// clean heap); a file's first lines may say `node-flags: …` (flags for its process) and
// `tier: extra` (a minute-long workload, a package install or a real server: npm run
// test:all, not npm test). It ends with one closing line: `N passed, N failed` and
// `, N skipped` when some test could not run (each says why). A file that crashes or prints
// no uvu summary counts as one failure.
//
//   node test/run.mjs                the quick tier: `npm test`, ≤ 2 minutes on 2 cores
//   node test/run.mjs --all          everything: `npm run test:all` — both tiers, the package
//                                    tests (packed once), lint, the native core under ASan+UBSan
//                                    and TSan, the whole addon under ASan+UBSan and valgrind,
//                                    and the suite under every other supported Node version
//   node test/run.mjs --all --no-quick   the same without the quick tier (CI: npm test ran it)
//   node test/run.mjs <substring>…   the files whose names contain one, whatever their tier
//
// --extra adds the extra-tier files without the --all checks (test:versions runs the suite
// so under each other Node, with --other-node: without the `versions: current` files, and
// with --middle-node under the lines between the oldest and the newest: without the
// `versions: edges` files either);
// --no-package leaves out package-*.test.mjs; --no-native,
// --no-lint, --no-sanitizers, --no-versions leave out one of --all's checks.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { stripAnsi, testFileHeader, uvuSummary } from './helpers/test-file.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const all = args.includes('--all');
const extra = all || args.includes('--extra');
const quick = !args.includes('--no-quick');
const skipPackage = args.includes('--no-package');
// Under another Node line (scripts/test-versions.mjs): the files marked `versions: current` ran
// under the current one already.
const otherNode = args.includes('--other-node');
// A Node line between the oldest and the newest: the `versions: edges` files are left out too.
const middleNode = args.includes('--middle-node');
const checks = all && only.length === 0;
const skipNative = args.includes('--no-native') || process.env.RUNTIME_SAMPLER_SKIP_NATIVE_TESTS === '1';

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
/** One line per failed test (or part), printed again at the very end: a long run's log is
 * often read from its tail only. */
const failing = [];
const started = Date.now();

const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.js') || f.endsWith('.test.mjs'))
  .map((f) => ({ file: f, ...testFileHeader(join(here, f)) }))
  .filter(({ file, tier, versions }) => {
    if (only.length) return only.some((o) => file.includes(o));
    if (otherNode && versions === 'current') return false;
    if (middleNode && versions === 'edges') return false;
    if (skipPackage && file.startsWith('package-')) return false;
    return tier === 'quick' ? quick : extra;
  })
  .sort((a, b) => a.file.localeCompare(b.file));

// The package tests share one `npm pack` (it builds the TypeScript and checks the
// prebuilds: ~20 s each time): test/helpers/package.mjs reads it from here. Not a
// RUNTIME_SAMPLER_* name: the preload warns about unknown ones of those.
let packDir = null;
if (files.filter((f) => f.file.startsWith('package-')).length > 1 && !process.env.RS_TEST_PACK) {
  const { ensurePrebuilds, pack } = await import('./helpers/package.mjs');
  ensurePrebuilds();
  packDir = mkdtempSync(join(tmpdir(), 'rs-pack-'));
  const packed = pack(packDir);
  writeFileSync(join(packDir, 'pack.json'), JSON.stringify(packed));
  process.env.RS_TEST_PACK = join(packDir, 'pack.json');
}

/**
 * Runs one part in its own process and adds up what its output says: `summary` reads the
 * counts (null when there are none: a crash, counted as one failure). A part that exits
 * non-zero after passing counts one failure too. Skipped tests are listed with their reasons
 * (`SKIP <what>: <reason>`, test/helpers/skip.js, or a sub-run's `skipped:` lines).
 */
function runPart(name, argv, summary, { timeout, what }) {
  const t0 = Date.now();
  // Each part publishes (the preload does by default) into its own directory, removed
  // afterwards: processes a test kills leave their files for post-mortem reading.
  const publishDir = mkdtempSync(join(tmpdir(), 'rs-published-'));
  const r = spawnSync(process.execPath, argv, {
    cwd: root,
    env: { RUNTIME_SAMPLER_DIR: publishDir, ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    encoding: 'utf8',
    timeout,
    maxBuffer: 256 * 1024 * 1024,
  });
  rmSync(publishDir, { recursive: true, force: true });
  const out = stripAnsi((r.stdout ?? '') + (r.stderr ?? ''));
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const counts = summary(out);
  const timedOut = r.error?.code === 'ETIMEDOUT';
  if (counts === null) {
    failed++;
    failures.push(name);
    process.stdout.write(out);
    const why = timedOut ? `timed out after ${timeout / 1000} s` : `exit ${r.status}, signal ${r.signal}`;
    const last = out.trim().split('\n').at(-1)?.slice(0, 200) ?? '';
    failing.push(`${name}: no ${what} (${why}); its last line: ${last}`);
    console.log(`✗ ${name}: no ${what} (${why}) — counted as 1 failure [${secs}s]`);
    return;
  }
  const { p, t, s: skips } = counts;
  const f = t - p;
  passed += p;
  failed += f;
  skipped += skips;
  if (f > 0 || r.status !== 0) {
    if (f === 0) {
      failed++;
      console.log(`✗ ${name}: exited with ${r.status ?? r.signal} after its tests — counted as 1 failure`);
    }
    failures.push(name);
    process.stdout.write(out);
    // A sub-run's own `failing:` lines when it has them (its output also holds the uvu
    // output they were made from), else uvu's `FAIL  "<test>"` lines.
    const own = [...out.matchAll(/^\s*failing: (.*)$/gm)].map((x) => x[1]);
    const names = own.length ? own : [...out.matchAll(/^\s*FAIL\s+(?:[^"\n]*\s)?"(.*)"\s*$/gm)].map((x) => `${name}: "${x[1]}"`);
    failing.push(...(names.length ? names : [`${name}: exit ${r.status ?? r.signal}${timedOut ? ' (timed out)' : ''}`]));
  }
  console.log(`${f > 0 || r.status !== 0 ? '✗' : '✓'} ${name}: ${p}/${t} passed${skips ? `, ${skips} skipped` : ''} [${secs}s]`);
  for (const x of out.matchAll(/^\s*(?:SKIP|skipped:) (.*)$/gm)) console.log(`    skipped: ${x[1]}`);
}

/** A script's closing line: `N passed, N failed[, N skipped]`. */
function closingLine(out) {
  const m = [...out.matchAll(/^(?:.*: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/gm)].at(-1);
  return m ? { p: Number(m[1]), t: Number(m[1]) + Number(m[2]), s: Number(m[3] ?? 0) } : null;
}

for (const { file, flags, tier } of files) {
  // A quick-tier file takes seconds (12 s at most here): one that hangs is cut off after 3
  // minutes, not 10, and named at the end.
  runPart(file, [...flags, join(here, file)], uvuSummary, { timeout: (tier === 'quick' ? 3 : 10) * 60 * 1000, what: 'test summary' });
}
if (packDir) {
  rmSync(packDir, { recursive: true, force: true });
  delete process.env.RS_TEST_PACK;
}

/** One of --all's checks: a script that ends with its own closing line. */
function check(name, script, scriptArgs = []) {
  runPart(name, [join(root, script), ...scriptArgs], closingLine, { timeout: undefined, what: 'closing line' });
}

if (checks && !args.includes('--no-lint')) check('lint', 'scripts/lint.mjs');
if (checks && !skipNative) check('native core tests (ASan+UBSan, TSan)', 'scripts/native-tests.mjs');
if (checks && !args.includes('--no-sanitizers')) check('whole addon under ASan+UBSan and valgrind', 'scripts/test-sanitizers.mjs');
if (checks && !args.includes('--no-versions')) check('the quick tier under every other Node version', 'scripts/test-versions.mjs', ['--except-current']);

for (const line of failing.slice(0, 30)) console.log(`    failing: ${line}`);
if (failing.length > 30) console.log(`    failing: … and ${failing.length - 30} more`);
if (failures.length) console.log(`failed: ${failures.join(', ')}`);
console.log(`time: ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
