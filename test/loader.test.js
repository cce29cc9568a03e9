// The loader: one place, and a clear SamplerError when no binary fits.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { nativeInfo } = require('..');

test('the loaded binary was built for this Node ABI and reports its runtime', () => {
  assert.is(String(nativeInfo.moduleVersion), process.versions.modules);
  assert.is(nativeInfo.v8Version.split('-')[0], process.versions.v8.split('-')[0]);
  assert.is(nativeInfo.uvVersion, process.versions.uv);
});

test('a package without a binary runs on the JavaScript backend; RUNTIME_SAMPLER_BACKEND=native makes it ERR_SAMPLER_BINARY', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-nobin-'));
  try {
    const root = path.join(__dirname, '..');
    fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.cpSync(path.join(root, 'node_modules', 'node-gyp-build'), path.join(dir, 'node_modules', 'node-gyp-build'), { recursive: true });
    const run = (backend) => {
      const r = spawnSync(process.execPath, ['-e', `
        try { const { nativeInfo, Sampler } = require(${JSON.stringify(dir)}); const s = new Sampler().start(); s.read(); s.close();
          console.log(JSON.stringify({ backend: nativeInfo.backend, reason: nativeInfo.fallbackReason })); }
        catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
      `], { encoding: 'utf8', env: { ...process.env, RUNTIME_SAMPLER_BINARY: '', RUNTIME_SAMPLER_BACKEND: backend } });
      assert.is(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim());
    };
    const js = run('');
    assert.is(js.backend, 'js');
    assert.ok(js.reason.includes('no usable native binary') && js.reason.includes(process.version), js.reason);
    const e = run('native');
    assert.is(e.name, 'SamplerError');
    assert.is(e.code, 'ERR_SAMPLER_BINARY');
    assert.ok(e.message.includes(process.version) && e.message.includes(`ABI ${process.versions.modules}`), e.message);
    assert.ok(e.message.includes('npm rebuild runtime-sampler'), e.message);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
