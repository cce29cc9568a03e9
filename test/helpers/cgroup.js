// Fixture cgroup trees for the cgroupRoot option (layouts in docs/containers.md): a v2
// directory (cgroup.controllers plus the interface files) or a v1 one (memory/, cpu/ and,
// for a hybrid host, unified/). Files are written in place, as the kernel's change: the
// sampler keeps them open and re-reads them at each refresh.
const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const psi = (some, full) =>
  `some avg10=0.00 avg60=0.00 avg300=0.00 total=${some}\n` +
  (full === undefined ? '' : `full avg10=0.00 avg60=0.00 avg300=0.00 total=${full}\n`);

/** What a fixture holds, by file; `undefined` leaves the file out. */
const V2_DEFAULTS = {
  'memory.max': '209715200\n',
  'memory.high': 'max\n',
  'memory.current': '104857600\n',
  // Shortened from Linux 6: the working set is memory.current − inactive_file.
  'memory.stat': 'anon 50000000\nfile 40000000\nkernel 2000000\ninactive_anon 0\nactive_anon 50000000\ninactive_file 4857600\nactive_file 35142400\nunevictable 0\n',
  'memory.events': 'low 0\nhigh 3\nmax 17\noom 2\noom_kill 1\noom_group_kill 0\n',
  'memory.pressure': psi(1500, 700),
  'cpu.max': '20000 100000\n',
  'cpu.stat': 'usage_usec 9000\nuser_usec 8000\nsystem_usec 1000\nnr_periods 50\nnr_throttled 40\nthrottled_usec 2500000\nnr_bursts 0\nburst_usec 0\n',
  'cpu.pressure': psi(9, 4),
};

const V1_DEFAULTS = {
  'memory/memory.limit_in_bytes': '209715200\n',
  'memory/memory.usage_in_bytes': '4096\n',
  // v1's usage counts the groups below: so does total_inactive_file (inactive_file does not).
  'memory/memory.stat': 'cache 8192\nrss 4096\ninactive_file 2048\nactive_file 0\ntotal_cache 8192\ntotal_inactive_file 1024\ntotal_active_file 0\n',
  'memory/memory.failcnt': '5\n',
  'memory/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
  'cpu,cpuacct/cpu.cfs_quota_us': '50000\n',
  'cpu,cpuacct/cpu.cfs_period_us': '100000\n',
  'cpu,cpuacct/cpu.stat': 'nr_periods 10\nnr_throttled 8\nthrottled_time 640000000\nnr_bursts 0\nburst_time 0\n',
  'unified/memory.pressure': psi(11, 0),
  'unified/cpu.pressure': psi(2),
};

function writeTree(root, files) {
  for (const [name, text] of Object.entries(files)) {
    if (text === undefined) continue;
    const path = join(root, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }
}

/** A v2 fixture: `files` override (or, with undefined, remove) the defaults. */
function v2Fixture(files = {}) {
  const root = mkdtempSync(join(tmpdir(), 'rs-cgroup-v2-'));
  writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory\n');
  writeTree(root, { ...V2_DEFAULTS, ...files });
  return root;
}

/** A v1 (hybrid) fixture: `files` override (or, with undefined, remove) the defaults. */
function v1Fixture(files = {}) {
  const root = mkdtempSync(join(tmpdir(), 'rs-cgroup-v1-'));
  writeTree(root, { ...V1_DEFAULTS, ...files });
  return root;
}

function removeFixture(root) {
  rmSync(root, { recursive: true, force: true });
}

module.exports = { v2Fixture, v1Fixture, writeTree, removeFixture, psi, V2_DEFAULTS, V1_DEFAULTS };
