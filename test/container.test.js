// Container limits and pressure (snapshot.container) from fixture cgroup trees through the
// cgroupRoot option: v2 (limits, "max", events, PSI, missing files), v1 and hybrid (v1's
// no-limit values, the unified hierarchy's PSI), refreshes that follow the files, hostile
// files, option and environment checks, the preload, and the exporters' handling of NaN and
// +Infinity. Real cgroups (the kernel's own counters): test/container-cgroup.test.js.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const { execFileSync } = require('node:child_process');
const { mkdtempSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { Worker } = require('node:worker_threads');
const { Sampler, SamplerAggregate, toPrometheus, toJSON, catalog } = require('..');
const { throwsLike } = require('./helpers/throws');
const { v1Fixture, v2Fixture, writeTree, removeFixture, psi } = require('./helpers/cgroup');

const root = join(__dirname, '..');
const KEYS = [
  'cgroupVersion', 'memoryLimitBytes', 'memoryHighBytes', 'memoryUsageBytes', 'memoryHighEvents', 'memoryMaxEvents',
  'oomEvents', 'oomKillEvents', 'cpuQuotaCores', 'cpuPeriods', 'cpuThrottledPeriods', 'cpuThrottledNs',
  'memoryPressureSomeNs', 'memoryPressureFullNs', 'cpuPressureSomeNs', 'cpuPressureFullNs', 'memoryWorkingSetBytes',
];
const openFds = () => readdirSync('/proc/self/fd').length;

/** A started sampler over `cgroupRoot`, its container values, and the sampler (closed by the caller). */
function readContainer(cgroupRoot) {
  const s = new Sampler({ cgroupRoot }).start();
  return { s, c: s.read().container };
}

test('v2: every field from its file, "max" as +Infinity, PSI totals µs → ns', () => {
  const dir = v2Fixture();
  const { s, c } = readContainer(dir);
  try {
    assert.equal(Object.keys(c.toJSON()), KEYS);
    assert.equal(c.toJSON(), {
      cgroupVersion: 2,
      memoryLimitBytes: 209715200,
      memoryHighBytes: Infinity,
      memoryUsageBytes: 104857600,
      memoryHighEvents: 3,
      memoryMaxEvents: 17,
      oomEvents: 2,
      oomKillEvents: 1,
      cpuQuotaCores: 0.2,
      cpuPeriods: 50,
      cpuThrottledPeriods: 40,
      cpuThrottledNs: 2_500_000_000,
      memoryPressureSomeNs: 1_500_000,
      memoryPressureFullNs: 700_000,
      cpuPressureSomeNs: 9000,
      cpuPressureFullNs: 4000,
      memoryWorkingSetBytes: 100_000_000, // memory.current − memory.stat inactive_file
    });
    assert.is(s.options.cgroupRoot, dir);
  } finally {
    s.close();
    removeFixture(dir);
  }
});

test('the refresh timer re-reads the files; read() itself never does', async () => {
  const dir = v2Fixture();
  const s = new Sampler({ cgroupRoot: dir, refreshIntervalMs: 20 }).start();
  try {
    const snap = s.read();
    const refreshes = snap.sampler.refreshes;
    // Rewritten in place, as the kernel's files change.
    writeTree(dir, {
      'memory.current': '150000000\n',
      'memory.events': 'low 0\nhigh 4\nmax 18\noom 3\noom_kill 2\noom_group_kill 0\n',
      'cpu.max': 'max 100000\n',
      'cpu.stat': 'nr_periods 60\nnr_throttled 41\nthrottled_usec 2600000\n',
      'memory.max': 'max\n',
    });
    // Between refreshes a read sees the values of the last one.
    const now = s.read(snap).container;
    if (s.read().sampler.refreshes === refreshes) assert.is(now.memoryUsageBytes, 104857600);
    const deadline = Date.now() + 2000;
    while (s.read(snap).container.memoryUsageBytes !== 150000000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const c = s.read(snap).container;
    assert.is(c.memoryUsageBytes, 150000000);
    assert.is(c.memoryLimitBytes, Infinity);
    assert.is(c.cpuQuotaCores, Infinity);
    assert.is(c.oomKillEvents, 2);
    assert.is(c.memoryHighEvents, 4);
    assert.is(c.cpuThrottledNs, 2_600_000_000);
    assert.ok(s.read().sampler.refreshes > refreshes);
    // refresh() reads them now.
    writeTree(dir, { 'memory.current': '1\n' });
    s.refresh();
    assert.is(s.read().container.memoryUsageBytes, 1);
  } finally {
    s.close();
    removeFixture(dir);
  }
});

test('v2: a missing file is NaN for its values only; a cut or garbled file too', () => {
  const dir = v2Fixture({
    'memory.max': undefined,
    'memory.events': 'low 0\nhigh 3\n', // no max/oom/oom_kill lines
    'cpu.max': 'garbage\n',
    'cpu.stat': undefined,
    'cpu.pressure': psi(5), // no full line (before Linux 5.13)
    'memory.pressure': 'some avg10=0.00 total=\n',
  });
  const { s, c } = readContainer(dir);
  try {
    assert.is(c.cgroupVersion, 2);
    assert.is(c.memoryUsageBytes, 104857600);
    assert.is(c.memoryHighEvents, 3);
    assert.is(c.cpuPressureSomeNs, 5000);
    for (const k of ['memoryLimitBytes', 'memoryMaxEvents', 'oomEvents', 'oomKillEvents', 'cpuQuotaCores', 'cpuPeriods',
      'cpuThrottledPeriods', 'cpuThrottledNs', 'cpuPressureFullNs', 'memoryPressureSomeNs', 'memoryPressureFullNs']) {
      assert.ok(Number.isNaN(c[k]), `${k} is ${c[k]}`);
    }
  } finally {
    s.close();
    removeFixture(dir);
  }
});

test('v1 and hybrid: v1 files, the page-rounded LONG_MAX and quota -1 as +Infinity, PSI from unified/', () => {
  const dir = v1Fixture();
  let { s, c } = readContainer(dir);
  try {
    assert.equal(c.toJSON(), {
      cgroupVersion: 1,
      memoryLimitBytes: 209715200,
      memoryHighBytes: NaN, // v1 has no memory.high
      memoryUsageBytes: 4096,
      memoryHighEvents: NaN,
      memoryMaxEvents: 5, // memory.failcnt
      oomEvents: NaN, // v1 counts no OOM events, only kills
      oomKillEvents: 1,
      cpuQuotaCores: 0.5,
      cpuPeriods: 10,
      cpuThrottledPeriods: 8,
      cpuThrottledNs: 640_000_000, // v1 throttled_time is already ns
      memoryPressureSomeNs: 11_000,
      memoryPressureFullNs: 0,
      cpuPressureSomeNs: 2000,
      cpuPressureFullNs: NaN,
      memoryWorkingSetBytes: 3072, // usage − total_inactive_file
    });
    s.close();
    writeTree(dir, {
      'memory/memory.limit_in_bytes': '9223372036854771712\n',
      'cpu,cpuacct/cpu.cfs_quota_us': '-1\n',
      'memory/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\n', // before Linux 4.13
    });
    ({ s, c } = readContainer(dir));
    assert.is(c.memoryLimitBytes, Infinity);
    assert.is(c.cpuQuotaCores, Infinity);
    assert.ok(Number.isNaN(c.oomKillEvents));
    s.close();
    // Pure v1 (no unified/): no pressure; "cpu" rather than "cpu,cpuacct".
    rmSync(join(dir, 'unified'), { recursive: true });
    writeTree(dir, { 'cpu/cpu.cfs_quota_us': '150000\n', 'cpu/cpu.cfs_period_us': '100000\n' });
    rmSync(join(dir, 'cpu,cpuacct'), { recursive: true });
    ({ s, c } = readContainer(dir));
    assert.is(c.cgroupVersion, 1);
    assert.is(c.cpuQuotaCores, 1.5);
    assert.ok(Number.isNaN(c.cpuPeriods));
    assert.ok(Number.isNaN(c.memoryPressureSomeNs) && Number.isNaN(c.cpuPressureSomeNs));
  } finally {
    s.close();
    removeFixture(dir);
  }
});

test('the process\'s own path under the root is its cgroup when it exists', () => {
  // /proc/self/cgroup of this process names its v1 memory cgroup (if any): a fixture that
  // has that directory is read there, not at memory/ itself.
  const line = require('node:fs').readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  const own = line === undefined ? null : line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
  const dir = v1Fixture();
  try {
    if (own !== null && own !== '/') {
      writeTree(join(dir, 'memory', own), { 'memory.limit_in_bytes': '1048576\n' });
      const { s, c } = readContainer(dir);
      assert.is(c.memoryLimitBytes, 1048576);
      s.close();
    }
    // The v2 line ("0::/…") the same way, for a v2 root.
    const v2 = v2Fixture();
    const line2 = require('node:fs').readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
    const own2 = line2 === undefined ? '/' : line2.slice(3);
    if (own2 !== '/') {
      writeTree(join(v2, own2), { 'memory.max': '2097152\n' });
      const { s, c } = readContainer(v2);
      assert.is(c.memoryLimitBytes, 2097152);
      s.close();
    } else {
      const { s, c } = readContainer(v2);
      assert.is(c.memoryLimitBytes, 209715200);
      s.close();
    }
    removeFixture(v2);
  } finally {
    removeFixture(dir);
  }
});

test('no cgroup: a root that does not exist or holds none, and false — version 0, all NaN, no file kept open', () => {
  const empty = mkdtempSync(join(tmpdir(), 'rs-cgroup-empty-'));
  try {
    for (const cgroupRoot of [join(empty, 'does-not-exist'), empty, false]) {
      const before = openFds();
      const { s, c } = readContainer(cgroupRoot);
      assert.is(openFds(), before, `${cgroupRoot}: no descriptor held`);
      assert.is(c.cgroupVersion, 0);
      for (const k of KEYS.slice(1)) assert.ok(Number.isNaN(c[k]), `${cgroupRoot}: ${k} is ${c[k]}`);
      assert.is(s.options.cgroupRoot, cgroupRoot);
      s.close();
    }
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('before the first refresh: NaN and version 0; the files stay open until close()', () => {
  const dir = v2Fixture();
  try {
    const before = openFds();
    const s = new Sampler({ cgroupRoot: dir });
    assert.is(openFds(), before + 9, 'the nine v2 files held open');
    const c = s.read().container;
    assert.is(c.cgroupVersion, 0);
    assert.ok(Number.isNaN(c.memoryLimitBytes));
    s.refresh();
    assert.is(s.read().container.cgroupVersion, 2);
    s.close();
    assert.is(openFds(), before, 'close() closes them');
  } finally {
    removeFixture(dir);
  }
});

test('hostile files: a FIFO, a directory, a device, a huge file — refused or bounded, never waited on', () => {
  const dir = v2Fixture({ 'memory.max': undefined, 'memory.high': undefined, 'cpu.stat': undefined, 'memory.current': undefined });
  try {
    execFileSync('mkfifo', [join(dir, 'memory.max')]);
    require('node:fs').mkdirSync(join(dir, 'memory.high'));
    require('node:fs').symlinkSync('/dev/zero', join(dir, 'cpu.stat'));
    // 8 MiB of one number: a cut value would read as another number.
    writeFileSync(join(dir, 'memory.current'), '7'.repeat(8 << 20));
    const t0 = Date.now();
    const { s, c } = readContainer(dir);
    assert.ok(Date.now() - t0 < 2000);
    assert.ok(Number.isNaN(c.memoryLimitBytes));
    assert.ok(Number.isNaN(c.memoryHighBytes));
    assert.ok(Number.isNaN(c.cpuPeriods));
    assert.ok(Number.isNaN(c.memoryUsageBytes));
    assert.is(c.oomKillEvents, 1);
    s.close();
  } finally {
    removeFixture(dir);
  }
});

test('cgroupRoot: bad values are a TypeError or RangeError naming the option; a relative path is resolved', () => {
  throwsLike(() => new Sampler({ cgroupRoot: 5 }), TypeError, /^cgroupRoot must be a directory path .*null .*false .*got 5$/);
  throwsLike(() => new Sampler({ cgroupRoot: true }), TypeError, /^cgroupRoot must be .*got true$/);
  throwsLike(() => new Sampler({ cgroupRoot: {} }), TypeError, /^cgroupRoot must be .*got a object$/);
  throwsLike(() => new Sampler({ cgroupRoot: '' }), RangeError, /^cgroupRoot must be a directory path .*got ""$/);
  throwsLike(() => new Sampler({ cgroupRoot: 'a\0b' }), RangeError, /^cgroupRoot must be .*no NUL.*got "a\\u0000b"$/);
  throwsLike(() => new Sampler({ cgroupRoot: `/${'x'.repeat(1024)}` }), RangeError, /at most 1024 bytes/);
  // The longest accepted still publishes (the options travel in the published file).
  const pubDir = mkdtempSync(join(tmpdir(), 'rs-cgroup-long-'));
  const long = new Sampler({ cgroupRoot: `/${'x'.repeat(1023)}`, publish: { dir: pubDir } });
  assert.ok(long.publishedPath !== null, long.publishError);
  assert.is(Sampler.open(long.publishedPath).options.cgroupRoot, long.options.cgroupRoot);
  long.close();
  rmSync(pubDir, { recursive: true, force: true });
  const s = new Sampler({ cgroupRoot: 'some/relative' });
  assert.is(s.options.cgroupRoot, resolve('some/relative'));
  s.close();
  const n = new Sampler({ cgroupRoot: null });
  assert.is(n.options.cgroupRoot, null);
  n.close();
});

/** Runs `code` in a child with `env` added; returns its stdout parsed as JSON. */
function child(code, env, args = []) {
  const r = spawnSync(process.execPath, [...args, '-e', code], {
    cwd: root, encoding: 'utf8', env: { ...process.env, RUNTIME_SAMPLER_DISABLE: undefined, ...env }, timeout: 20_000,
  });
  assert.is(r.status, 0, r.stderr);
  return { out: JSON.parse(r.stdout), stderr: r.stderr };
}

test('RUNTIME_SAMPLER_CGROUP_ROOT is the default root; the option and null override it', () => {
  const dir = v2Fixture({ 'memory.max': '12345\n' });
  try {
    const code = `
      const { Sampler } = require('.');
      const read = (o) => { const s = new Sampler(o).start(); const c = s.read().container; s.close(); return [s.options.cgroupRoot, c.cgroupVersion, c.memoryLimitBytes]; };
      console.log(JSON.stringify([read({}), read({ cgroupRoot: null }), read({ cgroupRoot: false })]));`;
    const { out } = child(code, { RUNTIME_SAMPLER_CGROUP_ROOT: dir });
    assert.equal(out[0], [dir, 2, 12345]);
    assert.is(out[1][0], null);
    assert.is.not(out[1][2], 12345); // the process's own cgroup, whatever it is here
    assert.equal(out[2], [false, 0, null]);
    // A relative path in the environment is resolved against the working directory.
    const rel = child(`const { Sampler } = require('.'); const s = new Sampler(); console.log(JSON.stringify(s.options.cgroupRoot)); s.close();`, { RUNTIME_SAMPLER_CGROUP_ROOT: 'x/y' });
    assert.is(rel.out, join(root, 'x/y'));
  } finally {
    removeFixture(dir);
  }
});

test('the preload reads RUNTIME_SAMPLER_CGROUP_ROOT; one that is not a directory is reported and the process\'s own cgroup used', () => {
  const dir = v1Fixture();
  try {
    const code = `
      const { registered } = require('./dist/cjs/server/preload.js');
      const r = registered();
      const c = r.sampler.read().container;
      console.log(JSON.stringify([r.config.cgroupRoot, r.sampler.options.cgroupRoot, c.cgroupVersion, c.memoryLimitBytes, c.cpuQuotaCores]));
      process.exit(0);`;
    const env = { RUNTIME_SAMPLER_PORT: '0', RUNTIME_SAMPLER_PUBLISH: '0' };
    const ok = child(code, { ...env, RUNTIME_SAMPLER_CGROUP_ROOT: dir }, ['-r', 'runtime-sampler/register']);
    assert.equal(ok.out, [dir, dir, 1, 209715200, 0.5]);
    assert.not.match(ok.stderr, /CGROUP/);
    const missing = join(dir, 'nope');
    const bad = child(code, { ...env, RUNTIME_SAMPLER_CGROUP_ROOT: missing }, ['-r', 'runtime-sampler/register']);
    assert.is(bad.out[0], null);
    assert.is(bad.out[1], null);
    assert.match(bad.stderr, `RUNTIME_SAMPLER_CGROUP_ROOT=${JSON.stringify(missing)} is not valid (an existing directory`);
  } finally {
    removeFixture(dir);
  }
});

test('exporters: NaN gives no point; +Infinity is +Inf in Prometheus, null in JSON', () => {
  const dir = v2Fixture({ 'memory.max': 'max\n', 'memory.high': '104857600\n', 'memory.events': undefined });
  const s = new Sampler({ cgroupRoot: dir }).start();
  try {
    const text = toPrometheus(s, { detail: 'full' });
    const line = (name) => text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    assert.is(line('nodejs_container_memory_limit_bytes'), 'nodejs_container_memory_limit_bytes +Inf');
    assert.is(line('nodejs_container_memory_high_bytes'), 'nodejs_container_memory_high_bytes 104857600');
    assert.is(line('nodejs_container_memory_usage_bytes'), 'nodejs_container_memory_usage_bytes 104857600');
    assert.is(line('nodejs_container_cpu_quota'), 'nodejs_container_cpu_quota 0.2');
    assert.is(line('nodejs_container_cpu_throttled_time_seconds_total'), 'nodejs_container_cpu_throttled_time_seconds_total 2.5');
    assert.is(line('nodejs_container_cpu_throttled_periods_total'), 'nodejs_container_cpu_throttled_periods_total 40');
    const value = (l) => Number(l.slice(l.lastIndexOf(' ') + 1));
    assert.ok(Math.abs(value(line('nodejs_container_memory_pressure_seconds_total{kind="some"}')) - 0.0015) < 1e-15);
    assert.ok(Math.abs(value(line('nodejs_container_cpu_pressure_seconds_total{kind="full"}')) - 0.000004) < 1e-15);
    assert.is(line('nodejs_container_cgroup_version'), 'nodejs_container_cgroup_version 2');
    // memory.events is missing: its counters have no sample (the family's HELP stays).
    assert.is(line('nodejs_container_memory_oom_kill_total'), undefined);
    assert.ok(text.includes('# TYPE nodejs_container_memory_oom_kill_total counter'));

    const doc = toJSON(s);
    const get = (name) => doc.metrics.find((m) => m.name === name);
    assert.equal(get('nodejs.container.memory.limit').points, [{ attributes: {}, value: null }]);
    assert.equal(get('nodejs.container.memory.high').points, [{ attributes: {}, value: 104857600 }]);
    assert.equal(get('nodejs.container.memory.oom_kill').points, []);
    assert.equal(get('nodejs.container.cpu.pressure').points, [
      { attributes: { kind: 'full' }, value: 4000 }, { attributes: { kind: 'some' }, value: 9000 },
    ]);
    assert.equal(JSON.parse(JSON.stringify(doc)), doc);
  } finally {
    s.close();
    removeFixture(dir);
  }
});

test('catalog: the container metrics, their units, kinds and paths', () => {
  const c = catalog().filter((d) => d.name.startsWith('nodejs.container.'));
  const rows = c.map((d) => `${d.name} ${d.kind} ${d.unit} ${d.path}${d.attributes.length ? ` ${d.attributes[0].name}=${d.attributes[0].values}` : ''}`);
  assert.equal(rows, [
    'nodejs.container.cgroup.version gauge {version} container.cgroupVersion',
    'nodejs.container.cpu.periods counter {period} container.cpuPeriods',
    'nodejs.container.cpu.pressure counter ns container.cpuPressureFullNs kind=full',
    'nodejs.container.cpu.pressure counter ns container.cpuPressureSomeNs kind=some',
    'nodejs.container.cpu.quota gauge {cpu} container.cpuQuotaCores',
    'nodejs.container.cpu.throttled_periods counter {period} container.cpuThrottledPeriods',
    'nodejs.container.cpu.throttled_time counter ns container.cpuThrottledNs',
    'nodejs.container.memory.high gauge By container.memoryHighBytes',
    'nodejs.container.memory.high_events counter {event} container.memoryHighEvents',
    'nodejs.container.memory.limit gauge By container.memoryLimitBytes',
    'nodejs.container.memory.max_events counter {event} container.memoryMaxEvents',
    'nodejs.container.memory.oom counter {event} container.oomEvents',
    'nodejs.container.memory.oom_kill counter {event} container.oomKillEvents',
    'nodejs.container.memory.pressure counter ns container.memoryPressureFullNs kind=full',
    'nodejs.container.memory.pressure counter ns container.memoryPressureSomeNs kind=some',
    'nodejs.container.memory.usage gauge By container.memoryUsageBytes',
    'nodejs.container.memory.working_set gauge By container.memoryWorkingSetBytes',
  ]);
});

test('views, published blocks and aggregates: the same values; an aggregate takes the largest known, never a sum', async () => {
  const dir = v2Fixture();
  const other = v1Fixture();
  const pubDir = mkdtempSync(join(tmpdir(), 'rs-cgroup-pub-'));
  const a = new Sampler({ cgroupRoot: dir, publish: { dir: pubDir } }).start();
  const b = new Sampler({ cgroupRoot: dir }).start();
  const none = new Sampler({ cgroupRoot: false }).start();
  try {
    const expected = a.read().container.toJSON();
    const view = Sampler.attach(a.share());
    assert.equal(view.read().container.toJSON(), expected);
    assert.is(view.options.cgroupRoot, dir);
    const pub = Sampler.open(a.publishedPath);
    assert.equal(pub.read().container.toJSON(), expected);
    assert.is(pub.options.cgroupRoot, dir);
    // Two samplers of one cgroup (threads, or a cluster's processes): not doubled. A member
    // without a cgroup (NaN) does not hide the others.
    const agg = new SamplerAggregate([a, b, none]);
    assert.equal(agg.read().container.toJSON(), expected);
    // Members of different cgroups: per field, the largest known.
    const c = new Sampler({ cgroupRoot: other }).start();
    const mixed = new SamplerAggregate([a, c]).read().container;
    const o = c.read().container;
    assert.is(mixed.cgroupVersion, 2);
    assert.is(mixed.cpuQuotaCores, Math.max(expected.cpuQuotaCores, o.cpuQuotaCores));
    assert.is(mixed.memoryHighBytes, Infinity); // v1's NaN is unknown, not smaller
    assert.is(mixed.oomEvents, 2);
    c.close();
    pub.close();
    view.close();
    // A worker's sampler reads the same cgroup and closes its files when the worker exits.
    const before = openFds();
    const w = new Worker(`
      const { parentPort, workerData } = require('node:worker_threads');
      const { Sampler } = require(${JSON.stringify(root)});
      const s = new Sampler({ cgroupRoot: workerData }).start();
      parentPort.postMessage(s.read().container.toJSON());
      parentPort.once('message', () => process.exit(0));`, { eval: true, workerData: dir });
    const got = await new Promise((res, rej) => { w.once('message', res); w.once('error', rej); });
    assert.equal(got, expected);
    w.postMessage('exit');
    await new Promise((res) => w.once('exit', res));
    assert.ok(openFds() <= before, `fds ${openFds()} after the worker exited, ${before} before`);
  } finally {
    a.close();
    b.close();
    none.close();
    removeFixture(dir);
    removeFixture(other);
    rmSync(pubDir, { recursive: true, force: true });
  }
});

test.run();
