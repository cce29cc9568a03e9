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
// --jobs N runs N test files at once (default 1; each file's output is printed whole when it
// ends): the lint and native core checks join them, the files whose header says `run: alone`
// follow one at a time, then the sanitizer run, and the other Node versions two at a time.
// CI runs test:all with --jobs 2: most extra-tier files wait on servers, timers or one worker
// most of the time (12.9 → ~9 minutes here).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { stripAnsi, testFileHeader, uvuSummary } from './helpers/test-file.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
// `--jobs N`'s value is not a file filter.
const only = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--jobs');
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
const jobsAt = args.indexOf('--jobs');
const jobs = jobsAt < 0 ? 1 : Number(args[jobsAt + 1]);
if (!Number.isInteger(jobs) || jobs < 1 || jobs > 8) {
  console.error(`test/run.mjs: --jobs ${args[jobsAt + 1] ?? '(missing)'} is not accepted: an integer from 1 to 8`);
  process.exit(2);
}
if (jobsAt >= 0) args.splice(jobsAt, 2);

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
async function runPart(name, argv, summary, { timeout, what }) {
  const t0 = Date.now();
  // Each part publishes (the preload does by default) into its own directory, removed
  // afterwards: processes a test kills leave their files for post-mortem reading.
  const publishDir = mkdtempSync(join(tmpdir(), 'rs-published-'));
  const r = await new Promise((resolve) => {
    const child = spawn(process.execPath, argv, {
      cwd: root,
      env: { RUNTIME_SAMPLER_DIR: publishDir, ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks = [];
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));
    let timedOut = false;
    const timer = timeout ? setTimeout(() => { timedOut = true; child.kill('SIGTERM'); }, timeout) : null;
    child.on('error', (error) => chunks.push(Buffer.from(`${error.stack}\n`)));
    child.on('close', (status, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ out: Buffer.concat(chunks).toString('utf8'), status, signal, timedOut });
    });
  });
  rmSync(publishDir, { recursive: true, force: true });
  // Printed whole when the part ends, so that parts run side by side do not interleave.
  let text = '';
  const write = (x) => (text += x);
  const log = (line) => (text += `${line}\n`);
  const out = stripAnsi(r.out);
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const counts = summary(out);
  const { timedOut } = r;
  if (counts === null) {
    failed++;
    failures.push(name);
    write(out);
    const why = timedOut ? `timed out after ${timeout / 1000} s` : `exit ${r.status}, signal ${r.signal}`;
    const last = out.trim().split('\n').at(-1)?.slice(0, 200) ?? '';
    failing.push(`${name}: no ${what} (${why}); its last line: ${last}`);
    log(`✗ ${name}: no ${what} (${why}) — counted as 1 failure [${secs}s]`);
    process.stdout.write(text);
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
      log(`✗ ${name}: exited with ${r.status ?? r.signal} after its tests — counted as 1 failure`);
    }
    failures.push(name);
    write(out);
    // A sub-run's own `failing:` lines when it has them (its output also holds the uvu
    // output they were made from), else uvu's `FAIL  "<test>"` lines.
    const own = [...out.matchAll(/^\s*failing: (.*)$/gm)].map((x) => x[1]);
    const names = own.length ? own : [...out.matchAll(/^\s*FAIL\s+(?:[^"\n]*\s)?"(.*)"\s*$/gm)].map((x) => `${name}: "${x[1]}"`);
    failing.push(...(names.length ? names : [`${name}: exit ${r.status ?? r.signal}${timedOut ? ' (timed out)' : ''}`]));
  }
  log(`${f > 0 || r.status !== 0 ? '✗' : '✓'} ${name}: ${p}/${t} passed${skips ? `, ${skips} skipped` : ''} [${secs}s]`);
  for (const x of out.matchAll(/^\s*(?:SKIP|skipped:) (.*)$/gm)) log(`    skipped: ${x[1]}`);
  process.stdout.write(text);
}

/** A script's closing line: `N passed, N failed[, N skipped]`. */
function closingLine(out) {
  const m = [...out.matchAll(/^(?:.*: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/gm)].at(-1);
  return m ? { p: Number(m[1]), t: Number(m[1]) + Number(m[2]), s: Number(m[3] ?? 0) } : null;
}

// A quick-tier file takes seconds (12 s at most here): one that hangs is cut off after 3
// minutes, not 10, and named at the end.
const runFile = ({ file, flags, tier }) =>
  runPart(file, [...flags, join(here, file)], uvuSummary, { timeout: (tier === 'quick' ? 3 : 10) * 60 * 1000, what: 'test summary' });

/** One of --all's checks: a script that ends with its own closing line. */
function check(name, script, scriptArgs = []) {
  return runPart(name, [join(root, script), ...scriptArgs], closingLine, { timeout: undefined, what: 'closing line' });
}
const lint = checks && !args.includes('--no-lint') ? () => check('lint', 'scripts/lint.mjs') : null;
const nativeCore = checks && !skipNative ? () => check('native core tests (ASan+UBSan, TSan)', 'scripts/native-tests.mjs') : null;

if (jobs === 1) {
  for (const f of files) await runFile(f);
  if (lint) await lint();
  if (nativeCore) await nativeCore();
} else {
  // `jobs` lanes take the files (and the lint and native core checks) in order; then the
  // `run: alone` files one after another.
  const queue = [...files.filter((f) => !f.alone).map((f) => () => runFile(f)), ...[lint, nativeCore].filter(Boolean)];
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      while (queue.length) await queue.shift()();
    }),
  );
  for (const f of files.filter((x) => x.alone)) await runFile(f);
}
if (packDir) {
  rmSync(packDir, { recursive: true, force: true });
  delete process.env.RS_TEST_PACK;
}

if (checks && !args.includes('--no-sanitizers')) await check('whole addon under ASan+UBSan and valgrind', 'scripts/test-sanitizers.mjs');
if (checks && !args.includes('--no-versions')) await check('the quick tier under every other Node version', 'scripts/test-versions.mjs', ['--except-current', '--jobs', String(Math.min(jobs, 2))]);

for (const line of failing.slice(0, 30)) console.log(`    failing: ${line}`);
if (failing.length > 30) console.log(`    failing: … and ${failing.length - 30} more`);
if (failures.length) console.log(`failed: ${failures.join(', ')}`);
console.log(`time: ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
