// `runtime-sampler doctor`: the binary that loads and how it was chosen, the runtime, and
// what the sampler measures here from real checks; on the JavaScript backend, why and what it
// cannot measure; exit 1 with the reason when the library cannot load.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { nativeInfo } = require('..');

const BIN = path.join(__dirname, '..', 'bin', 'runtime-sampler.js');
const doctor = (args, env = {}) => spawnSync(process.execPath, [BIN, 'doctor', ...args], { encoding: 'utf8', timeout: 30000, env: { ...process.env, ...env } });

test('nativeInfo says which binary loaded, how it was chosen and the backend', () => {
  assert.ok(fs.existsSync(nativeInfo.binaryPath));
  assert.ok(['RUNTIME_SAMPLER_BINARY', 'source build', 'prebuild'].includes(nativeInfo.binaryOrigin));
  assert.is(nativeInfo.binaryOrigin === 'source build', /build[\\/]Release[\\/]runtime_sampler\.node$/.test(nativeInfo.binaryPath));
  assert.is(nativeInfo.backend, 'native');
});

test('doctor --json: the binary, the runtime and every check, as this process sees them', () => {
  const r = doctor(['--json']);
  assert.is(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout);
  assert.is(d.ok, true);
  assert.equal(d.binary, { path: nativeInfo.binaryPath, origin: nativeInfo.binaryOrigin, backend: 'native', fallbackReason: null, builtFor: { abi: nativeInfo.moduleVersion, uv: nativeInfo.uvVersion, v8: nativeInfo.v8Version } });
  assert.equal(d.runtime, { node: process.version, abi: process.versions.modules, platform: `${process.platform}-${process.arch}`, libc: d.runtime.libc, uv: process.versions.uv, v8: process.versions.v8 });
  if (process.platform === 'linux') assert.match(d.runtime.libc, /^(glibc \d+\.\d+|not glibc)/);
  assert.ok(['tsc', 'monotonic'].includes(d.loopClock));
  // What loopTiming: 'totals' gets: it needs uv_metrics_info() (libuv 1.45+).
  assert.is(d.loopTiming, nativeInfo.uvMetricsInfo ? 'totals' : 'iteration');
  const checks = Object.fromEntries(d.checks.map((c) => [c.name, c]));
  assert.equal(Object.keys(checks), ['gc', 'v8Histograms', 'heapSpaces', 'loop', 'loopEvents', 'watchdog', 'openFds', 'publish', 'process']);
  assert.is(checks.loopEvents.ok, nativeInfo.uvMetricsInfo, checks.loopEvents.detail);
  // Linux: everything is measured here (loop event counts from libuv 1.45 on: Node 20+).
  if (process.platform === 'linux') for (const c of d.checks) if (c.name !== 'loopEvents') assert.ok(c.ok, `${c.name}: ${c.detail}`);
  assert.match(checks.watchdog.detail, /block was seen while it ran/);
  assert.match(checks.openFds.detail, /^\d+ open file descriptors$/);
  assert.match(checks.publish.detail, /^\S+: readable from outside \(\d+ other process(es)? published, \d+ dead\)$/);
  assert.is(d.error, null);
});

test('doctor: a publishing directory that is not private is a failed check naming why', () => {
  const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'rs-doctor-'));
  require('node:fs').chmodSync(dir, 0o777);
  const r = doctor(['--json'], { RUNTIME_SAMPLER_DIR: dir });
  const publish = JSON.parse(r.stdout).checks.find((c) => c.name === 'publish');
  assert.is(publish.ok, false);
  assert.match(publish.detail, /writable by others \(mode 777/);
  require('node:fs').rmSync(dir, { recursive: true, force: true });
});

test('doctor: text for people; the loop clock is the one the sampler runs on (RUNTIME_SAMPLER_CLOCK)', () => {
  const r = doctor([], { RUNTIME_SAMPLER_CLOCK: 'monotonic' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^runtime-sampler \d+\.\d+\.\d+\S* doctor\n/);
  assert.ok(r.stdout.includes(`  binary      ${nativeInfo.binaryPath}\n`));
  assert.ok(r.stdout.includes(`  chosen as   ${nativeInfo.binaryOrigin}\n`));
  assert.match(r.stdout, new RegExp(`^  node        ${process.version.replace(/\./g, '\\.')} \\(ABI ${process.versions.modules}\\), ${process.platform}-${process.arch}`, 'm'));
  assert.match(r.stdout, /^ {2}loop clock {2}monotonic$/m);
  assert.match(r.stdout, /^What the sampler measures here:\n( {2}(yes|no ) {2}\S+ +.+\n){9}$/m);
});

test('doctor on the JavaScript backend: why, what works, what needs the native one; no warnings', () => {
  const r = doctor(['--json'], { RUNTIME_SAMPLER_BACKEND: 'js' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, '', 'the watchdog or publishing was asked for and warned');
  const d = JSON.parse(r.stdout);
  assert.is(d.ok, true);
  assert.equal(d.binary, { path: '', origin: null, backend: 'js', fallbackReason: 'RUNTIME_SAMPLER_BACKEND=js', builtFor: d.binary.builtFor });
  const checks = Object.fromEntries(d.checks.map((c) => [c.name, c]));
  assert.equal(Object.keys(checks), ['gc', 'v8Histograms', 'heapSpaces', 'loop', 'loopEvents', 'watchdog', 'openFds', 'publish', 'process']);
  for (const n of ['v8Histograms', 'loopEvents', 'watchdog', 'publish']) {
    assert.is(checks[n].ok, false, n);
    assert.match(checks[n].detail, /^needs the native backend/, n);
  }
  for (const n of ['gc', 'heapSpaces', 'loop', 'process']) assert.ok(checks[n].ok, `${n}: ${checks[n].detail}`);
  assert.match(checks.gc.detail, /^PerformanceObserver gc entries: \d+ collections seen$/);
  assert.match(checks.loop.detail, /from performance\.eventLoopUtilization\(\)/);
  const t = doctor([], { RUNTIME_SAMPLER_BACKEND: 'js' });
  assert.match(t.stdout, /^ {2}binary {6}none: RUNTIME_SAMPLER_BACKEND=js$/m);
  assert.match(t.stdout, /^ {2}backend {5}js \(the JavaScript backend/m);
  assert.match(t.stdout, /^ {2}libuv {7}\S+$/m, 'no "binary built against" without a binary');
  const n = doctor(['--json'], { RUNTIME_SAMPLER_BACKEND: 'native', RUNTIME_SAMPLER_BINARY: '/nonexistent/runtime_sampler.node' });
  assert.is(n.status, 1, n.stdout);
  assert.is(JSON.parse(n.stdout).error.code, 'ERR_SAMPLER_BINARY');
});

test('doctor: RUNTIME_SAMPLER_BINARY is reported as the way it was chosen', () => {
  const r = doctor(['--json'], { RUNTIME_SAMPLER_BINARY: nativeInfo.binaryPath });
  assert.is(r.status, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).binary.origin, 'RUNTIME_SAMPLER_BINARY');
});

test('doctor: no binary that loads is exit 1 with the reason; usage errors are exit 2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-doctor-'));
  const bad = path.join(dir, 'broken.node');
  fs.writeFileSync(bad, 'not a shared object');
  try {
    const r = doctor([], { RUNTIME_SAMPLER_BINARY: bad });
    assert.is(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^ {2}binary {6}none loads$/m);
    assert.ok(r.stdout.includes(`Tried: ${bad}: `), r.stdout);
    const j = doctor(['--json'], { RUNTIME_SAMPLER_BINARY: bad });
    assert.is(j.status, 1);
    const d = JSON.parse(j.stdout);
    assert.is(d.ok, false);
    assert.is(d.binary, null);
    assert.is(d.error.code, 'ERR_SAMPLER_BINARY');
    assert.equal(d.checks, []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const u = doctor(['--bogus']);
  assert.is(u.status, 2);
  assert.match(u.stderr, /runtime-sampler doctor --help/);
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /^ {2}runtime-sampler doctor \[--json\] +which binary loads/m);
  assert.match(doctor(['--help']).stdout, /^Usage: runtime-sampler doctor \[--json\]/);
});

test.run();
