// tier: extra — packs the package
// `npm pack`: the tarball holds exactly what users need, and its prebuilds were built from
// the native sources it carries (the stale-binary guard).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, readdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  NODE_TARGETS, cleanup, ensureNodeDist, ensurePrebuilds, headerAbi, pack, readJson, root, tempDir, unpack,
} from './helpers/package.mjs';
import { checkPrebuilds, sourceFiles, sourceHash } from '../scripts/prebuild.mjs';
import { cacheDir, npmCommand } from '../scripts/node-dist.mjs';

ensurePrebuilds();
const work = tempDir('rs-pack-test-');
const packed = pack(work);
const unpacked = unpack(packed.tarball, join(work, 'unpacked'));

function listFiles(dir, base = dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, base));
    else out.push(relative(base, p));
  }
  return out;
}

test('the tarball holds exactly dist, prebuilds, native sources, binding.gyp, the install script, the CLI, the benchmarks, docs, dashboards, alert rules, README, LICENSE', () => {
  const abis = NODE_TARGETS.map((v) => headerAbi(ensureNodeDist(v)));
  const arm64Abis = NODE_TARGETS.map((v) => headerAbi(ensureNodeDist(v, { arch: 'arm64' })));
  const expected = [
    'package.json',
    'README.md',
    'LICENSE',
    'scripts/install.js',
    ...sourceFiles(root), // binding.gyp and native/**
    ...listFiles(join(root, 'dist')).map((f) => `dist/${f}`),
    ...listFiles(join(root, 'docs')).map((f) => `docs/${f}`),
    ...listFiles(join(root, 'dashboards')).map((f) => `dashboards/${f}`),
    ...listFiles(join(root, 'alerts')).map((f) => `alerts/${f}`),
    ...listFiles(join(root, 'bin')).map((f) => `bin/${f}`),
    // The benchmark scripts, for `runtime-sampler bench` (not their results).
    ...listFiles(join(root, 'bench')).filter((f) => /^[^/]+\.(mjs|cjs)$/.test(f)).map((f) => `bench/${f}`),
    // npm ships a README found in a shipped folder: the benchmarks' method and numbers.
    'bench/README.md',
    'prebuilds/linux-x64/manifest.json',
    ...abis.map((a) => `prebuilds/linux-x64/node.abi${a}.glibc.node`),
    'prebuilds/linux-arm64/manifest.json',
    ...arm64Abis.map((a) => `prebuilds/linux-arm64/node.abi${a}.glibc.node`),
  ].sort();
  assert.equal(packed.files, expected);
});

test('nothing for developers only is shipped', () => {
  const banned = /^(test|bench\/results|lib|build|build-cmake|build-native-tests|\.cache|node_modules|\.ci|\.github)\/|\.tgz$|\.map$|^tsconfig|^CMakeLists\.txt$|^scripts\/(?!install\.js$)/;
  const bad = packed.files.filter((f) => banned.test(f));
  assert.equal(bad, []);
});

test('both module systems ship with their type declarations', () => {
  const files = new Set(packed.files);
  const pkg = readJson(join(unpacked, 'package.json'));
  const targets = [pkg.main, pkg.types, pkg.exports['.'].import.default, pkg.exports['.'].import.types,
    pkg.exports['.'].require.default, pkg.exports['.'].require.types];
  for (const t of targets) assert.ok(files.has(t.replace(/^\.\//, '')), `${t} is not in the tarball`);
  for (const f of packed.files.filter((x) => /^dist\/cjs\/.*\.js$/.test(x))) {
    assert.ok(files.has(f.replace(/\.js$/, '.d.ts')), `${f} has no .d.ts`);
  }
  assert.is(pkg.scripts.install, 'node scripts/install.js');
  assert.equal(Object.keys(pkg.dependencies).sort(), ['node-addon-api', 'node-gyp-build']);
});

test('the shipped prebuilds (x64, and arm64 under qemu) match the shipped native sources and load under their Node', () => {
  for (const arch of ['x64', 'arm64']) {
    const manifest = readJson(join(unpacked, `prebuilds/linux-${arch}/manifest.json`));
    assert.is(manifest.platform, `linux-${arch}`);
    assert.is(manifest.sourceHash, sourceHash(unpacked));
  }
  assert.equal(checkPrebuilds(unpacked, NODE_TARGETS), []);
});

test('the guard catches prebuilds built from other sources, and a changed binary', () => {
  const copy = join(work, 'tampered');
  cpSync(unpacked, copy, { recursive: true });
  appendFileSync(join(copy, 'native/monitor.cc'), '\n// changed after the prebuilds were built\n');
  const p1 = checkPrebuilds(copy, NODE_TARGETS, { load: false });
  for (const pdir of ['linux-x64', 'linux-arm64']) {
    assert.ok(p1.some((p) => p.startsWith(`${pdir} prebuilds were built from other native sources`)), p1.join('\n'));
  }

  for (const pdir of ['linux-x64', 'linux-arm64']) {
    const copy2 = join(work, `tampered-${pdir}`);
    cpSync(unpacked, copy2, { recursive: true });
    const name = readdirSync(join(copy2, 'prebuilds', pdir)).find((x) => x.endsWith('.node'));
    const f = join(copy2, 'prebuilds', pdir, name);
    const bytes = readFileSync(f);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(f, bytes);
    const p2 = checkPrebuilds(copy2, NODE_TARGETS, { load: false });
    assert.equal(p2, [`${pdir}/${name} differs from the one the manifest records`]);
  }
});

test('npm pack refuses to pack prebuilds that do not match the sources (prepack)', () => {
  const copy = join(work, 'repo-copy');
  cpSync(unpacked, copy, { recursive: true });
  cpSync(join(root, 'scripts'), join(copy, 'scripts'), { recursive: true });
  appendFileSync(join(copy, 'native/core/ring.h'), '\n// changed\n');
  const [cmd, ...pre] = npmCommand();
  const r = spawnSync(cmd, [...pre, 'pack', '--dry-run'], {
    cwd: copy,
    encoding: 'utf8',
    env: { ...process.env, RUNTIME_SAMPLER_NODE_CACHE: cacheDir },
  });
  assert.is.not(r.status, 0, 'npm pack succeeded with stale prebuilds');
  assert.match(r.stdout + r.stderr, /built from other native sources/);
});

test.after(() => cleanup(work));
test.run();
