// Shared by the package tests: make sure the prebuilds are current, pack the package the
// way `npm publish` would, and install the tarball into fresh projects under a chosen
// Node version (its own bin/node first on PATH, so npm runs our install script with it).
import { execFileSync, spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { NODE_TARGETS, ensureNodeDist, envWithoutNodedir, headerAbi, nodeCommand, npmCommand, root } from '../../scripts/node-dist.mjs';
import { buildPrebuilds, checkPrebuilds } from '../../scripts/prebuild.mjs';

export { NODE_TARGETS, ensureNodeDist, headerAbi, root };

export const smokeScript = join(root, 'test', 'fixtures', 'smoke.cjs');

/** Builds the prebuilds when they are missing or were built from other sources. */
export function ensurePrebuilds() {
  const problems = checkPrebuilds(root, NODE_TARGETS);
  if (problems.length) {
    console.error(`prebuilds not current (${problems[0]}); building them`);
    buildPrebuilds(NODE_TARGETS);
  }
}

/**
 * A directory whose `node` runs Node `version` of `arch` here: the distribution's bin/ for
 * the host's architecture; for another, a wrapper that runs that node under qemu-user.
 * qemu-user without binfmt_misc (not registered in this container, and a host-wide setting
 * a test must not change) cannot exec an arm64 child, so the wrapper preloads a shim that
 * points process.execPath at the wrapper: children spawned with it (the install script's
 * probe) go through the emulator too, as they would with binfmt_misc.
 */
export function nodeBinDir(version, arch = process.arch) {
  const dist = ensureNodeDist(version, { arch });
  if (arch === process.arch) return join(dist, 'bin');
  const c = nodeCommand(dist, arch);
  const dir = join(dist, 'qemu-bin');
  mkdirSync(dir, { recursive: true });
  const wrapper = join(dir, 'node');
  const shim = join(dir, 'exec-path-shim.cjs');
  writeFileSync(shim, `'use strict';\nif (process.arch === ${JSON.stringify(arch)}) process.execPath = ${JSON.stringify(wrapper)};\n`);
  const q = (x) => `'${x.replace(/'/g, "'\\''")}'`;
  const envs = Object.entries(c.env).map(([k, v]) => `${k}=${q(v)}`).join(' ');
  writeFileSync(wrapper, `#!/bin/sh\nexec env ${envs} ${q(c.cmd)} ${c.args.map(q).join(' ')} --require ${q(shim)} "$@"\n`, { mode: 0o755 });
  return dir;
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

function npm(args, opts) {
  const [cmd, ...pre] = npmCommand();
  return spawnSync(cmd, [...pre, ...args], { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
}

/**
 * `npm pack` of the repository into `dest` (runs prepack and prepare like publish). Under
 * test/run.mjs the package tests share one pack (RS_TEST_PACK names its
 * record); the tarball is copied into `dest`, which its user may change.
 */
export function pack(dest) {
  const shared = process.env.RS_TEST_PACK;
  if (shared) {
    const packed = JSON.parse(readFileSync(shared, 'utf8'));
    const tarball = join(dest, basename(packed.tarball));
    copyFileSync(packed.tarball, tarball);
    return { ...packed, tarball };
  }
  const r = npm(['pack', '--json', '--pack-destination', dest], { cwd: root, env: envWithoutNodedir() });
  if (r.status !== 0) throw new Error(`npm pack failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
  return { tarball: join(dest, json[0].filename), files: json[0].files.map((f) => f.path).sort(), info: json[0] };
}

/** Unpacks a tarball into `dir` (npm's `package/` prefix stripped). */
export function unpack(tarball, dir) {
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', dir, '--strip-components=1']);
  return dir;
}

/** Repacks an unpacked package directory into a tarball npm can install. */
export function repack(dir, tarball) {
  execFileSync('tar', ['czf', tarball, '--transform', 's,^\\.,package,', '-C', dir, '.']);
  return tarball;
}

/**
 * Installs `tarball` into a fresh project. `node`: the version whose bin/node comes first on
 * PATH (undefined: the system node). `prebuildsOnly`: set the switch and make every compiler
 * and node-gyp unreachable. `env`: extra variables. Returns { dir, status, output }.
 */
export function installTarball(tarball, { node, arch = process.arch, prebuildsOnly = false, env = {}, keepNodedir = false, args = [] } = {}) {
  const dir = tempDir('rs-install-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'rs-install-check', version: '1.0.0', private: true }));
  const base = keepNodedir ? { ...process.env } : envWithoutNodedir();
  const e = { ...base, ...env };
  if (node) e.PATH = `${nodeBinDir(node, arch)}:${process.env.PATH}`;
  if (prebuildsOnly) {
    Object.assign(e, {
      RUNTIME_SAMPLER_PREBUILDS_ONLY: '1',
      CC: '/bin/false',
      CXX: '/bin/false',
      npm_config_node_gyp: '/bin/false',
    });
  }
  const r = npm(['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', '--no-package-lock', ...args], {
    cwd: dir,
    env: e,
  });
  return { dir, status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

/** Runs the smoke scenario (main thread + worker) in `projectDir` with that Node version. */
export function runSmoke(projectDir, { node, arch = process.arch, env = {} } = {}) {
  const bin = node ? join(nodeBinDir(node, arch), 'node') : process.execPath;
  // Run a copy inside the project: from its place in this repository, require('runtime-sampler')
  // would resolve to the repository itself (package self-reference), not the installed copy.
  const script = join(projectDir, 'smoke.cjs');
  copyFileSync(smokeScript, script);
  const r = spawnSync(bin, ['--expose-gc', script], {
    cwd: projectDir,
    env: { ...envWithoutNodedir(), RUNTIME_SAMPLER_BINARY: '', ...env },
    encoding: 'utf8',
    // Emulated, Node 18's smoke takes ~25 s on this machine.
    timeout: arch === process.arch ? 120_000 : 240_000,
  });
  const results = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  return { status: r.status, signal: r.signal, stderr: r.stderr, results };
}

export function cleanup(...dirs) {
  for (const d of dirs) if (d && existsSync(d)) rmSync(d, { recursive: true, force: true });
}

export function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * Asserts a smoke run passed on the main thread and in the worker, exited by itself, and
 * (when given) loaded `binaryPath` — a path, or a RegExp it must match — under Node `node`.
 */
export function assertSmokePassed(smoke, { binaryPath, node } = {}) {
  const detail = `${JSON.stringify(smoke.results)}\n${smoke.stderr}`;
  assert.is(smoke.status, 0, detail);
  assert.is(smoke.signal, null, detail);
  assert.equal(smoke.results.map((r) => r.thread), ['main', 'worker'], detail);
  for (const r of smoke.results) {
    assert.ok(r.ok, `${r.thread}: ${r.failures.join('; ')}`);
    assert.is(r.markSweeps, 3);
    assert.ok(r.maxIterationNs >= 100e6, `${r.thread}: maxIterationNs ${r.maxIterationNs}`);
    assert.is(String(r.moduleVersion), r.abi);
    if (node) assert.is(r.node, `v${node}`);
    if (binaryPath instanceof RegExp) assert.match(r.binaryPath, binaryPath);
    else if (binaryPath) assert.is(r.binaryPath, binaryPath);
  }
}
