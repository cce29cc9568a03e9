// The loaded binary's shared-block layout is the one TypeScript reads: a binary compiled
// from a changed slots.def (a stale build/Release, an older RUNTIME_SAMPLER_BINARY) is
// refused with ERR_SAMPLER_BINARY naming both layouts, never read at wrong offsets.
// Builds a binary with node-gyp (~40 s): run once, on the Node npm test runs on.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { testUnless } = require('./helpers/skip');
const { LAYOUT_HASH } = require('../dist/cjs/layout.generated');

const root = path.join(__dirname, '..');

/** Node's headers for a source build: npm's nodedir, else this node's own prefix. */
function nodedir() {
  const candidates = [process.env.npm_config_nodedir, path.dirname(path.dirname(process.execPath))].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'include', 'node', 'node_api.h')));
}

/** What loading the package does with RUNTIME_SAMPLER_BINARY=binary. */
function loadWith(binary) {
  const r = spawnSync(process.execPath, ['-e', `
    try { const { nativeInfo } = require(${JSON.stringify(root)}); console.log(JSON.stringify({ loaded: nativeInfo.binaryPath })); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
  `], { encoding: 'utf8', env: { ...process.env, RUNTIME_SAMPLER_BINARY: binary } });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim());
}

const why = process.env.RUNTIME_SAMPLER_BINARY
  ? 'builds a binary from a changed layout: npm test runs it once, on its own Node (test:versions sets RUNTIME_SAMPLER_BINARY)'
  : nodedir() === undefined ? `no Node headers for ${process.version} (npm_config_nodedir or ${path.dirname(path.dirname(process.execPath))}/include/node)` : null;

testUnless(test, why, 'a binary built from a changed slots.def is refused with ERR_SAMPLER_BINARY naming both layouts', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-layout-'));
  try {
    fs.cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true });
    fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
    // binding.gyp finds node-addon-api with require().
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    // One more slot in the main region: every later offset moves by one.
    const def = path.join(dir, 'native', 'core', 'slots.def');
    fs.writeFileSync(def, fs.readFileSync(def, 'utf8').replace('MAIN(LOOP_ITERATIONS)', 'MAIN(LOOP_ITERATIONS)\nMAIN(A_SLOT_TYPESCRIPT_DOES_NOT_KNOW)'));
    const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
    const b = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir()}`, '--jobs=2'], { cwd: dir, encoding: 'utf8', timeout: 5 * 60 * 1000 });
    assert.is(b.status, 0, `node-gyp: ${b.stdout.slice(-2000)}${b.stderr.slice(-2000)}`);
    const binary = path.join(dir, 'build', 'Release', 'runtime_sampler.node');
    const changed = require(binary).constants.layoutHash;
    assert.match(changed, /^[0-9a-f]{16}$/);
    assert.is.not(changed, LAYOUT_HASH);
    const e = loadWith(binary);
    assert.is(e.code, 'ERR_SAMPLER_BINARY', JSON.stringify(e));
    assert.is(e.name, 'SamplerError');
    assert.ok(e.message.includes(`built from shared-block layout ${changed}, but this library reads layout ${LAYOUT_HASH}`), e.message);
    assert.match(e.message, /rebuild/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, { expected: Boolean(process.env.RUNTIME_SAMPLER_BINARY) });

test('the loaded binary reports the layout TypeScript reads', () => {
  const { nativeInfo } = require('..');
  assert.is(require(nativeInfo.binaryPath).constants.layoutHash, LAYOUT_HASH);
  assert.equal(loadWith(nativeInfo.binaryPath), { loaded: nativeInfo.binaryPath });
});

test.run();
