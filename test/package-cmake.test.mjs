// tier: extra — builds the package with cmake-js
// `npm run build:cmake` (cmake-js, offline, local headers) and node-gyp build working addons
// from the same sources: the CMake binary passes the smoke scenario, and both binaries
// describe the same layout, constants and heap spaces.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { assertSmokePassed, cleanup, root, runSmoke, tempDir } from './helpers/package.mjs';

const cmakeBinary = join(root, 'build-cmake', 'Release', 'runtime_sampler.node');
const gypBinary = join(root, 'build', 'Release', 'runtime_sampler.node');
const work = tempDir('rs-cmake-');

test('build:cmake builds the addon offline with the local headers', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-cmake.mjs')], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`build:cmake: .*runtime_sampler\\.node \\(ABI ${process.versions.modules}`));
});

test('the CMake-built addon passes the smoke scenario (main thread and worker)', () => {
  // A project whose runtime-sampler is this repository, loading the CMake binary.
  mkdirSync(join(work, 'node_modules'));
  symlinkSync(root, join(work, 'node_modules', 'runtime-sampler'), 'dir');
  const smoke = runSmoke(work, { env: { RUNTIME_SAMPLER_BINARY: cmakeBinary } });
  assertSmokePassed(smoke, { binaryPath: cmakeBinary });
});

test('CMake and node-gyp builds describe the same layout, constants and spaces', () => {
  const describe = (file) => {
    const r = spawnSync(process.execPath, ['-e', `
      const b = require(${JSON.stringify(file)});
      console.log(JSON.stringify({
        constants: b.constants, layout: b.computeLayout(1024, 6), spaces: b.heapSpaceNames(),
        abi: b.moduleVersion, uv: b.uvVersion, v8: b.v8Version,
        buckets: [1, 2, 3, 1000, 1e6, 123456789].map((v) => b.bucketIndex(v, 6)),
      }));`], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const a = describe(cmakeBinary);
  const b = describe(gypBinary);
  assert.equal(a, b);
  assert.is(String(a.abi), process.versions.modules);
});

test.after(() => cleanup(work));
test.run();
