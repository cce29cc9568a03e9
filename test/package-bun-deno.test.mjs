// tier: extra — installs the package and runs it under Bun and Deno
// Bun and Deno (pinned in scripts/bun-deno.mjs, fetched from their npm packages into .cache/):
// the packed tarball, installed by npm into a fresh project with no compiler, is required
// (CommonJS) and imported (ESM) under each, and passes the smoke scenario there (main thread
// and a worker) on the JavaScript backend. Neither can run the native addon: the loader must
// not even try (a load ends the process), though a prebuild for the ABI both report (147,
// Node 26's) is installed. Missing runtimes skip here, and fail under CI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cleanup, ensurePrebuilds, installTarball, pack, smokeScript, tempDir } from './helpers/package.mjs';
import { RUNTIMES, ensureRuntime, runtimeUnavailable } from '../scripts/bun-deno.mjs';

const { testUnless } = createRequire(import.meta.url)('./helpers/skip.js');

const exes = {};
const missing = {};
for (const name of Object.keys(RUNTIMES)) {
  try {
    missing[name] = runtimeUnavailable(name);
    if (missing[name] === null) exes[name] = ensureRuntime(name);
  } catch (e) {
    missing[name] = `${name} ${RUNTIMES[name].version} could not be fetched (node scripts/bun-deno.mjs): ${e.message.split('\n')[0]}`;
  }
}

let work = null;
let project = null;
/** The project with the tarball installed, made once, for the first runtime test that needs it. */
function installed() {
  if (project) return project;
  ensurePrebuilds();
  work = tempDir('rs-bun-deno-');
  const { tarball } = pack(work);
  const inst = installTarball(tarball, { env: { CC: '/bin/false', CXX: '/bin/false', npm_config_node_gyp: '/bin/false' } });
  assert.is(inst.status, 0, inst.output);
  assert.not.match(inst.output, /building from source/);
  // What Bun and Deno must never load: a binary for the very ABI they report.
  assert.ok(existsSync(join(inst.dir, 'node_modules/runtime-sampler/prebuilds/linux-x64/node.abi147.glibc.node')) || process.arch !== 'x64');
  writeFileSync(join(inst.dir, 'cjs.cjs'), `
    const { Sampler, nativeInfo, toPrometheus } = require('runtime-sampler');
    const s = new Sampler().start();
    const snap = s.read();
    const text = toPrometheus(s);
    s.stop();
    s.close();
    console.log(JSON.stringify({ backend: nativeInfo.backend, reason: nativeInfo.fallbackReason, rss: snap.process.rssBytes, heap: snap.heap.usedBytes, promLines: text.split('\\n').length }));
  `);
  writeFileSync(join(inst.dir, 'esm.mjs'), `
    import { Sampler, nativeInfo } from 'runtime-sampler';
    import { toPrometheus } from 'runtime-sampler/prometheus';
    const s = new Sampler().start();
    const snap = s.read();
    const text = toPrometheus(s);
    s.close();
    console.log(JSON.stringify({ backend: nativeInfo.backend, reason: nativeInfo.fallbackReason, rss: snap.process.rssBytes, heap: snap.heap.usedBytes, promLines: text.split('\\n').length }));
  `);
  writeFileSync(join(inst.dir, 'native.cjs'), `
    try { require('runtime-sampler'); console.log(JSON.stringify({ loaded: true })); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
  `);
  copyFileSync(smokeScript, join(inst.dir, 'smoke.cjs'));
  project = inst.dir;
  return project;
}

/** Runs a file of the project under `name` (Deno: all permissions unless told, GC exposed, no update check, its cache in the project). */
function run(name, file, env = {}, denoFlags = ['-A', '--v8-flags=--expose-gc']) {
  const dir = installed();
  const args = name === 'deno' ? ['run', ...denoFlags, file] : [file];
  const r = spawnSync(exes[name], args, {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, RUNTIME_SAMPLER_BINARY: '', RUNTIME_SAMPLER_BACKEND: '', DENO_DIR: join(dir, '.deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', ...env },
  });
  const lines = (r.stdout || '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { ...r, lines, detail: `exit ${r.status} signal ${r.signal}\n${r.stdout}\n${r.stderr}` };
}

// What each runtime cannot report, as measured (README, "Bun and Deno"): the smoke checks each
// is NaN and lists it.
const UNKNOWN = {
  bun: ['gc.count', 'gc.byType.markSweepCompact.count', 'gc.forcedCount', 'gc.pauseNs', 'loop.busyNs', 'loop.maxIterationNs', 'heap.spaces.*', 'heap.limitBytes'],
  deno: ['gc.count', 'gc.byType.markSweepCompact.count', 'gc.forcedCount', 'gc.pauseNs', 'loop.busyNs', 'loop.maxIterationNs'],
};
const LABEL = { bun: 'Bun', deno: 'Deno' };

for (const name of Object.keys(RUNTIMES)) {
  const { version } = RUNTIMES[name];
  const who = `${LABEL[name]} ${version}`;
  const reason = new RegExp(`^runtime-sampler: ${LABEL[name]} ${version.replace(/\./g, '\\.')} cannot run the native addon`);

  testUnless(test, missing[name], `${who}: require (CommonJS) runs on the JavaScript backend, and says why`, () => {
    const r = run(name, 'cjs.cjs');
    assert.is(r.status, 0, r.detail);
    const [j] = r.lines;
    assert.is(j.backend, 'js', r.detail);
    assert.match(j.reason, reason);
    assert.ok(j.rss > 0 && j.heap > 0, r.detail);
    assert.ok(j.promLines > 50, r.detail);
  });

  testUnless(test, missing[name], `${who}: import (ESM) of the package and a subpath`, () => {
    const r = run(name, 'esm.mjs');
    assert.is(r.status, 0, r.detail);
    const [j] = r.lines;
    assert.is(j.backend, 'js', r.detail);
    assert.match(j.reason, reason);
    assert.ok(j.rss > 0 && j.heap > 0 && j.promLines > 50, r.detail);
  });

  testUnless(test, missing[name], `${who}: the smoke scenario passes on main thread and worker; what it cannot report is NaN`, () => {
    const r = run(name, 'smoke.cjs');
    assert.is(r.signal, null, r.detail);
    assert.is(r.status, 0, r.detail);
    assert.equal(r.lines.map((x) => x.thread), ['main', 'worker'], r.detail);
    for (const x of r.lines) {
      assert.ok(x.ok, `${x.thread}: ${x.failures.join('; ')}`);
      assert.is(x.backend, 'js');
      assert.is(x.runtime, `${name} ${version}`);
      assert.ok(x.loopDelayMaxNs >= 100e6, `${x.thread}: loop delay max ${x.loopDelayMaxNs}`);
      assert.equal(x.unknown, UNKNOWN[name], `${x.thread}: unknown ${x.unknown}`);
    }
  });

  testUnless(test, missing[name], `${who}: RUNTIME_SAMPLER_BACKEND=native is ERR_SAMPLER_BINARY, not a crash`, () => {
    const r = run(name, 'native.cjs', { RUNTIME_SAMPLER_BACKEND: 'native' });
    assert.is(r.status, 0, r.detail);
    const [j] = r.lines;
    assert.is(j.code, 'ERR_SAMPLER_BINARY', r.detail);
    assert.match(j.message, reason);
  });
}

testUnless(test, missing.deno, `Deno ${RUNTIMES.deno.version} with no permission granted: require and a Sampler work (what needs one is NaN)`, () => {
  // Without --allow-env every process.env read throws (NotCapable); without --allow-all,
  // so does reading /proc/self/fd.
  const r = run('deno', 'cjs.cjs', {}, []);
  assert.is(r.status, 0, r.detail);
  const [j] = r.lines;
  assert.is(j.backend, 'js', r.detail);
  assert.ok(j.rss > 0 && j.heap > 0, r.detail);
});

testUnless(test, missing.bun, `Bun ${RUNTIMES.bun.version}: the install script run by Bun exits 0 with one line`, () => {
  const r = run('bun', 'node_modules/runtime-sampler/scripts/install.js');
  assert.is(r.status, 0, r.detail);
  assert.is(r.stderr.trim(), `runtime-sampler: Bun ${RUNTIMES.bun.version}: runtime-sampler runs on its JavaScript backend there (the native addon needs Node: it calls V8's C++ API and libuv directly) — nothing to build`);
});

test.after(() => cleanup(work, project));
test.run();
