// versions: edges — the install script's fallback, no native code
// The install step where no binary matches and nothing can be built: exit 0 and one notice
// (the library then runs on the JavaScript backend), unless RUNTIME_SAMPLER_BACKEND=native.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');

/** A copy of the package with no binary (no prebuilds/, no build/), and a compiler that always fails. */
function install(extraEnv) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-noinst-'));
  try {
    for (const f of ['dist', 'native', 'scripts']) fs.cpSync(path.join(root, f), path.join(dir, f), { recursive: true });
    for (const f of ['package.json', 'binding.gyp']) fs.copyFileSync(path.join(root, f), path.join(dir, f));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const env = { ...process.env, CC: '/bin/false', CXX: '/bin/false', LINK: '/bin/false', RUNTIME_SAMPLER_BINARY: '',
      npm_config_node_gyp: require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }), ...extraEnv };
    delete env.RUNTIME_SAMPLER_BACKEND;
    Object.assign(env, extraEnv);
    const r = spawnSync(process.execPath, [path.join(dir, 'scripts', 'install.js')], { cwd: dir, encoding: 'utf8', env, timeout: 120_000 });
    const app = spawnSync(process.execPath, ['-e', `const { nativeInfo, Sampler } = require(${JSON.stringify(dir)});
      const s = new Sampler().start(); s.read(); s.close(); console.log(nativeInfo.backend);`], { encoding: 'utf8', env });
    return { r, app };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('no binary and no compiler: npm install exits 0 with a notice; the app starts on the JS backend', () => {
  const { r, app } = install({});
  assert.is(r.status, 0, r.stderr);
  const notice = r.stderr.trim().split('\n');
  assert.is(notice.length, 2, r.stderr); // "building from source" and the outcome
  assert.match(notice[1], /^runtime-sampler: the source build failed .* runs on its JavaScript backend/);
  assert.is(app.status, 0, app.stderr);
  assert.is(app.stdout.trim(), 'js');
});

test('RUNTIME_SAMPLER_BACKEND=native: the failed build fails the install, and require() throws ERR_SAMPLER_BINARY', () => {
  const { r, app } = install({ RUNTIME_SAMPLER_BACKEND: 'native' });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /RUNTIME_SAMPLER_BACKEND=native asks for the native backend/);
  assert.is.not(app.status, 0);
  assert.match(app.stderr, /ERR_SAMPLER_BINARY/);
});

test.run();
