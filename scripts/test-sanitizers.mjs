#!/usr/bin/env node
// `npm run test:sanitizers`: the whole addon under sanitizers, beyond the native core tests
// (scripts/native-tests.mjs).
//
//  1. AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer): the addon built by
//     cmake-js with -fsanitize=address,undefined -fno-sanitize-recover=undefined
//     (CMakeLists.txt, RS_SANITIZE=address) into build-sanitizers/asan (never
//     build/Release), loaded by an uninstrumented node through RUNTIME_SAMPLER_BINARY with
//     gcc's libasan preloaded, running the JS test files that drive the native code. Every
//     report fails the file: reports go to files (log_path) in a directory per test file,
//     so one raised in a child process the test spawns (they inherit the environment) is
//     seen even when the test swallows the child's stderr. Leaks that Node/V8 make on
//     purpose (process.exit() skips the isolate's teardown) are suppressed by the V8
//     functions that allocate them, in test/sanitizers/lsan.supp; never by a frame that
//     also sits under our allocations.
//  2. valgrind memcheck: test/sanitizers/smoke.js (every native path once) against a plain
//     -O2 -g build in build-sanitizers/valgrind, with definite leaks counted as errors and
//     test/sanitizers/valgrind.supp for V8's own noise.
//
// Ends with one line `N passed, N failed[, N skipped]` (uvu tests under ASan, plus one
// per memcheck run; a sanitizer report or a bad exit adds a failure). A missing tool
// (libasan, cmake, valgrind) is `SKIP <what>: <reason>`, or a failure when CI is set.
// Options: --asan-only, --valgrind-only, and substrings to pick ASan test files.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { nodeHeaderDir, root } from './node-dist.mjs';
import { stripAnsi, testFileHeader, uvuSummary } from '../test/helpers/test-file.mjs';

const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const runAsan = !args.includes('--valgrind-only');
const runValgrind = !args.includes('--asan-only') && only.length === 0;
const out = join(root, 'build-sanitizers');
const supp = join(root, 'test', 'sanitizers');

// The test files that drive native code: GC hooks, loop handles, refresh timer, V8
// histogram callbacks, both loop timings, the stall watchdog, its stack capture and stall profiles, worker teardown
// (terminate mid-GC, process.exit with samplers running), share()/attach() aliasing and
// hostile handles, the event ring, computeLayout/bucketIndex, published blocks (mapped
// files, their buffers and aliases, readers of other processes), the threadpool probe (its
// work request cancelled or awaited at close, worker termination, exit). Left out: churn (1,000
// workers, 4 min under ASan) and leak (1 min of child processes), whose native paths these
// cover; the exporter, monitor-server and package tests (JS, or other Node binaries).
const ASAN_FILES = [
  'gc.test.js',
  'loop.test.js',
  'loop-totals.test.js',
  'threads.test.js',
  'lifecycle.test.js',
  'v8-histograms.test.js',
  'stall-stack.test.js',
  'startup-stall.test.js',
  'stall-profile.test.js',
  'alias-lifetime.test.js',
  'hostile-handles.test.js',
  'ring.test.js',
  'alloc.test.js',
  'heap-process.test.js',
  'container.test.js',
  'histogram.test.js',
  'layout.test.js',
  'published.test.js',
  'threadpool.test.js',
].filter((f) => only.length === 0 || only.some((o) => f.includes(o)));

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

function fail(what, detail) {
  failed++;
  failures.push(what);
  if (detail) process.stdout.write(detail.endsWith('\n') ? detail : `${detail}\n`);
}

/** A tool that is missing: skipped on a developer machine, a failure in CI. */
function missing(what, reason) {
  if (process.env.CI) {
    fail(what);
    console.log(`✗ ${what}: ${reason} (CI must run it: .ci/run installs it)`);
  } else {
    skipped++;
    console.log(`SKIP ${what}: ${reason}`);
  }
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  return { status: r.status, signal: r.signal, out: (r.stdout ?? '') + (r.stderr ?? ''), stdout: r.stdout ?? '', error: r.error };
}

function has(cmd, argv = ['--version']) {
  const r = run(cmd, argv);
  return !r.error && r.status === 0;
}

/** cmake-js build of the addon into build-sanitizers/<name>; returns the .node path or null. */
function build(name, config, sanitize) {
  const nodedir = nodeHeaderDir('test:sanitizers');
  if (!nodedir) return null;
  const dir = join(out, name);
  const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  const started = Date.now();
  // configure every time (compile would keep a stale cache's options), then an
  // incremental build.
  const env = { ...process.env, npm_config_nodedir: nodedir, CXX: 'g++', CC: 'gcc' };
  let r = run(process.execPath, [cmakeJs, 'configure', '--out', dir, '--config', config, `--CDRS_SANITIZE=${sanitize}`], { env });
  if (r.status === 0) r = run(process.execPath, [cmakeJs, 'build', '--out', dir, '--config', config], { env });
  const file = join(dir, config, 'runtime_sampler.node');
  if (r.status !== 0 || !existsSync(file)) {
    fail(`${name} build`, r.out);
    console.log(`✗ ${name} build: cmake-js configure or build failed (exit ${r.status})`);
    return null;
  }
  console.log(`✓ ${name} build: ${file} [${((Date.now() - started) / 1000).toFixed(1)}s]`);
  return file;
}

/** Whether a report is only LeakSanitizer failing to run (no error, no leak found). */
function isTracerFailure(text) {
  return /LeakSanitizer has encountered a fatal error/.test(text) && /Tracer caught signal/.test(text) &&
    !/ERROR: (AddressSanitizer|LeakSanitizer: detected)|runtime error:/.test(text);
}

/** The sanitizer reports written under dir, each as { file, text }. */
function reports(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith('asan.'))
    .map((f) => ({ file: join(dir, f), text: readFileSync(join(dir, f), 'utf8') }))
    .filter((r) => r.text.trim() !== '');
}

function asan() {
  if (!has('gcc') || !has('g++')) return missing('asan', 'gcc/g++ not found');
  const libasan = run('gcc', ['-print-file-name=libasan.so']).stdout.trim();
  // gcc prints the bare name when it has no such library.
  if (!libasan.startsWith('/') || !existsSync(libasan)) return missing('asan', 'gcc has no libasan.so (install libasan for your gcc, e.g. apt-get install gcc)');
  if (!has('cmake')) return missing('asan', 'cmake not found');
  const binary = build('asan', 'Debug', 'address');
  if (!binary) return;
  // Linked against libasan is not enough: the code itself must carry the checks (a build
  // that lost its compile flags would pass everything).
  const image = readFileSync(binary);
  const absent = ['__asan_report_store8', '__ubsan_handle_'].filter((sym) => !image.includes(sym));
  if (absent.length) {
    fail('asan build');
    console.log(`✗ asan build: ${binary} is not instrumented (no ${absent.join(', ')})`);
    return;
  }

  const logs = join(out, 'asan-logs');
  rmSync(logs, { recursive: true, force: true });
  const envFor = (dir) => {
    mkdirSync(dir, { recursive: true });
    // log_path + log_exe_name: one file per reporting process (asan.node.<pid>), children
    // included. exitcode 86 so a report is told apart from a failing test. gcc's libubsan
    // is a separate runtime whose report path setter is libasan's (the preloaded one wins
    // the symbol), and its own text always goes to stderr, which a test may swallow for a
    // child: so UBSan aborts (abort_on_error) and ASan writes that abort, with the
    // __ubsan_handle_* frame and ours, to the log (handle_abort); UBSan's log_path must be
    // the same, or it resets ASan's to stderr.
    const log = `log_path=${join(dir, 'asan')}:log_exe_name=1`;
    return {
      ...process.env,
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      RUNTIME_SAMPLER_BINARY: binary,
      LD_PRELOAD: libasan,
      ASAN_OPTIONS: `${log}:detect_leaks=1:halt_on_error=1:abort_on_error=0:handle_abort=1:exitcode=86:malloc_context_size=40`,
      LSAN_OPTIONS: `suppressions=${join(supp, 'lsan.supp')}:print_suppressions=0`,
      UBSAN_OPTIONS: `${log}:print_stacktrace=1:halt_on_error=1:abort_on_error=1`,
    };
  };

  // The tests must really load this binary with the runtime in place: else they would
  // pass on build/Release and prove nothing.
  const probe = run(
    process.execPath,
    ['-e', "const i = require('.').nativeInfo; const maps = require('fs').readFileSync('/proc/self/maps', 'utf8'); console.log(JSON.stringify({ path: i.binaryPath, asan: maps.includes('libasan') }))"],
    { env: envFor(join(logs, 'probe')) },
  );
  let info;
  try {
    info = JSON.parse(probe.stdout.trim().split('\n').pop());
  } catch {
    info = null;
  }
  if (!info || info.path !== binary || !info.asan) {
    fail('asan probe', probe.out);
    console.log(`✗ asan probe: node did not load ${binary} with libasan (got ${JSON.stringify(info)})`);
    return;
  }

  for (const file of ASAN_FILES) {
    const path = join(root, 'test', file);
    const { flags } = testFileHeader(path);
    const dir = join(logs, file.replace(/\.test\.m?js$/, ''));
    const started = Date.now();
    let r = run(process.execPath, [...flags, path], { env: envFor(dir), timeout: 5 * 60 * 1000 });
    let found = reports(dir);
    // LeakSanitizer's own failure (its tracer crashing while it stops a process's threads at
    // exit, seen once in ~20 runs of the files that spawn many children) is no finding, and
    // no verdict either: it makes that process exit 86, which fails the test that spawned it
    // (a child) or the file (the test process itself). When every report of a run is such a
    // failure, the file runs again (twice at most), and whatever the last run reports counts.
    for (let retry = 1; retry <= 2 && found.length > 0 && found.every((f) => isTracerFailure(f.text)); retry++) {
      console.log(`  ${file}: LeakSanitizer's tracer failed (${found.map((f) => basename(f.file)).join(', ')}: "${found[0].text.split('\n')[0]}", exit ${r.status}); running it again (${retry} of 2)`);
      rmSync(dir, { recursive: true, force: true });
      r = run(process.execPath, [...flags, path], { env: envFor(dir), timeout: 5 * 60 * 1000 });
      found = reports(dir);
    }
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const text = stripAnsi(r.out);
    const counts = uvuSummary(text);
    const t = counts?.t ?? 0;
    const p = counts?.p ?? 0;
    passed += p;
    failed += t - p;
    const problems = [];
    if (counts === null) problems.push(`no test summary (exit ${r.status}, signal ${r.signal})`);
    else if (r.status !== 0) problems.push(`exit ${r.status ?? r.signal}`);
    if (found.length) problems.push(`${found.length} sanitizer report(s): ${found.map((f) => basename(f.file)).join(', ')}`);
    if (problems.length || t !== p) {
      // One more failure for what the test counts cannot show (a report, a bad exit).
      if (problems.length) failed++;
      failures.push(`asan ${file}`);
      process.stdout.write(text);
      for (const f of found) {
        console.log(`--- ${f.file}`);
        console.log(f.text.split('\n').slice(0, 60).join('\n'));
      }
    }
    const status = problems.length || t !== p ? '✗' : '✓';
    console.log(`${status} asan ${file}: ${p}/${t} passed${problems.length ? `; ${problems.join('; ')}` : ''} [${secs}s]`);
  }
}

function valgrind() {
  if (!has('valgrind')) return missing('valgrind', 'valgrind not found (apt-get install valgrind)');
  if (!has('cmake')) return missing('valgrind', 'cmake not found');
  const binary = build('valgrind', 'RelWithDebInfo', '');
  if (!binary) return;
  const logs = join(out, 'valgrind-logs');
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });
  const log = join(logs, 'memcheck.%p.log');
  const started = Date.now();
  const r = run(
    'valgrind',
    [
      '--tool=memcheck',
      // V8 writes machine code into its own anonymous mappings and runs it. The JIT stays
      // on (no --jitless): the GC callbacks, the stack-capture interrupt and the write
      // barriers then run as in production, and memcheck handles generated code with this.
      '--smc-check=all-non-file',
      '--error-exitcode=97',
      '--leak-check=full',
      '--show-leak-kinds=definite',
      '--errors-for-leak-kinds=definite',
      '--num-callers=40',
      `--suppressions=${join(supp, 'valgrind.supp')}`,
      `--log-file=${log}`,
      process.execPath,
      '--expose-gc',
      join(supp, 'smoke.js'),
    ],
    { env: { ...process.env, RUNTIME_SAMPLER_BINARY: binary }, timeout: 5 * 60 * 1000 },
  );
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const texts = readdirSync(logs).map((f) => readFileSync(join(logs, f), 'utf8'));
  const summary = texts.map((t) => /ERROR SUMMARY: (\d+) errors/.exec(t)?.[1]).filter(Boolean);
  const errors = summary.reduce((a, b) => a + Number(b), 0);
  const ok = r.status === 0 && r.stdout.includes('SMOKE_OK') && summary.length > 0 && errors === 0;
  if (ok) passed++;
  else {
    fail('valgrind smoke', r.out);
    for (const t of texts) console.log(t.split('\n').slice(0, 120).join('\n'));
  }
  console.log(`${ok ? '✓' : '✗'} valgrind memcheck test/sanitizers/smoke.js: exit ${r.status ?? r.signal}, ${summary.length ? `${errors} errors` : 'no error summary'} [${secs}s]`);
}

const started = Date.now();
if (runAsan) asan();
if (runValgrind) valgrind();
console.log(`sanitizers: ${((Date.now() - started) / 1000).toFixed(1)}s`);
if (failures.length) console.log(`failed: ${failures.join(', ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
