// tier: extra — installs the package and builds it from source
// With no prebuild for the running Node, `npm install` builds from source with node-gyp and
// the local headers, saying so in one line — and passes the same smoke. With no compiler
// either, the install still succeeds and the app runs on the JavaScript backend. With the
// prebuilds-only switch the same install is a clear error instead.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  NODE_TARGETS, assertSmokePassed, cleanup, ensureNodeDist, ensurePrebuilds, headerAbi, installTarball, pack, repack, runSmoke, tempDir, unpack,
} from './helpers/package.mjs';

ensurePrebuilds();
const work = tempDir('rs-fallback-');
const { tarball } = pack(work);
const dir = unpack(tarball, join(work, 'pkg'));
rmSync(join(dir, 'prebuilds'), { recursive: true });
const noPrebuilds = repack(dir, join(work, 'runtime-sampler-no-prebuilds.tgz'));
const made = [];
const require = createRequire(import.meta.url);
const { checkGcWindow } = require('./helpers/gc-window.js');
const promtoolMissing = spawnSync('promtool', ['--version']).error ? 'promtool is not installed (Debian package prometheus)' : null;

function expectSourceBuild(inst, version, abi) {
  made.push(inst.dir);
  assert.is(inst.status, 0, inst.output);
  const line = `runtime-sampler: no prebuilt binary for linux-x64, Node v${version} (ABI ${abi}) — building from source with node-gyp`;
  assert.ok(inst.output.includes(line), inst.output);
  assert.ok(inst.output.includes('runtime-sampler: built build/Release/runtime_sampler.node'), inst.output);
  const built = join(inst.dir, 'node_modules/runtime-sampler/build/Release/runtime_sampler.node');
  assert.ok(existsSync(built));
  return built;
}

test('the system Node: no prebuild → source build with the local headers → smoke passes', () => {
  // npm's own configuration (nodedir here) is what a user's source build uses: keep it.
  const inst = installTarball(noPrebuilds, { keepNodedir: true });
  const built = expectSourceBuild(inst, process.versions.node, process.versions.modules);
  assertSmokePassed(runSmoke(inst.dir), { binaryPath: built, node: process.versions.node });
});

test('the newest Node (C++20 headers): no prebuild → source build against its headers → smoke passes', () => {
  const v = NODE_TARGETS[NODE_TARGETS.length - 1];
  const dist = ensureNodeDist(v);
  const inst = installTarball(noPrebuilds, { node: v, env: { npm_config_nodedir: dist } });
  const built = expectSourceBuild(inst, v, headerAbi(dist));
  assertSmokePassed(runSmoke(inst.dir, { node: v }), { binaryPath: built, node: v });
});

test('no prebuild and no compiler: npm install exits 0 with one notice; the app runs on the JS backend', () => {
  // A compiler that always fails (node-gyp itself and the headers are there, as on a machine
  // with Node but no build tools).
  const inst = installTarball(noPrebuilds, { keepNodedir: true, env: { CC: '/bin/false', CXX: '/bin/false', LINK: '/bin/false' } });
  made.push(inst.dir);
  assert.is(inst.status, 0, inst.output);
  assert.match(inst.output, /^runtime-sampler: the source build failed \(exit \d+\) — installed without a native binary: runtime-sampler runs on its JavaScript backend/m);
  assert.not.ok(existsSync(join(inst.dir, 'node_modules/runtime-sampler/build/Release/runtime_sampler.node')));
  // The smoke (main thread + worker) on the backend that loaded: forced GC counts exact once
  // delivered, the 100 ms block as loop delay and busy time.
  const smoke = runSmoke(inst.dir);
  assert.is(smoke.status, 0, `${JSON.stringify(smoke.results)}\n${smoke.stderr}`);
  assert.equal(smoke.results.map((r) => [r.thread, r.ok, r.backend, r.markSweeps]), [['main', true, 'js', 3], ['worker', true, 'js', 3]]);
  for (const r of smoke.results) assert.ok(r.loopDelayMaxNs >= 100e6 && r.busyNs >= 100e6, JSON.stringify(r));
  // GC counts against --trace-gc, in the installed app; its Prometheus text through promtool.
  const script = join(inst.dir, 'gc-window.cjs');
  copyFileSync(fileURLToPath(new URL('./fixtures/gc-window.cjs', import.meta.url)), script);
  const r = spawnSync(process.execPath, ['--expose-gc', '--trace-gc', script], { cwd: inst.dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, RUNTIME_SAMPLER_BINARY: '', RUNTIME_SAMPLER_BACKEND: '' } });
  assert.is(r.status, 0, r.stderr);
  const j = checkGcWindow(r.stdout);
  assert.is(j.backend, 'js');
  if (promtoolMissing) {
    if (process.env.CI) assert.unreachable(promtoolMissing);
  } else {
    const p = spawnSync('promtool', ['check', 'metrics'], { input: j.prometheus, encoding: 'utf8' });
    assert.is(p.status, 0, `promtool: ${p.stdout}${p.stderr}`);
  }
});

test('RUNTIME_SAMPLER_PREBUILDS_ONLY=1 turns a missing prebuild into a clear install error', () => {
  const inst = installTarball(noPrebuilds, { prebuildsOnly: true });
  made.push(inst.dir);
  assert.is.not(inst.status, 0, 'install succeeded with no prebuild and source builds forbidden');
  assert.ok(inst.output.includes(`runtime-sampler: no prebuilt binary for linux-x64, Node ${process.version} (ABI ${process.versions.modules})`), inst.output);
  assert.ok(inst.output.includes('RUNTIME_SAMPLER_PREBUILDS_ONLY=1 forbids a source build'), inst.output);
  assert.match(inst.output, /Prebuilt binaries ship for Node 18, 20, 22, 24 and 26 on linux-x64 and linux-arm64 \(glibc\)/);
  assert.not.match(inst.output, /building from source/);
});

test('--build-from-source builds from source even though a prebuild matches', () => {
  const inst = installTarball(tarball, { keepNodedir: true, args: ['--build-from-source'] });
  made.push(inst.dir);
  assert.is(inst.status, 0, inst.output);
  assert.ok(inst.output.includes('runtime-sampler: a build from source was asked for — building from source with node-gyp'), inst.output);
  assertSmokePassed(runSmoke(inst.dir), { binaryPath: join(inst.dir, 'node_modules/runtime-sampler/build/Release/runtime_sampler.node') });
});

test.after(() => cleanup(work, ...made));
test.run();
