// Real cgroups for tests, where the machine allows them: cgroup v1 hierarchies (memory,
// cpu) that this process (root) can create cgroups in, and the unified (v2) hierarchy of a
// hybrid host. A test creates its cgroups, moves children it started into them, reads the
// kernel's own files to compare, and always removes them (children moved out or killed
// first). The OOM scenario records a leaking process's memory over time from its published
// block, for the tests of what builds on these values (forecasts).
const { replies } = require('./ipc');
const { spawn } = require('node:child_process');
const { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync, existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Sampler } = require('../..');

const CHILD = join(__dirname, '..', 'fixtures', 'cgroup-child.cjs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Mounts of cgroup hierarchies from /proc/self/mountinfo: [{ type, point, root, options }]. */
function cgroupMounts() {
  let text;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out = [];
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post === undefined) continue;
    const [type, , options = ''] = post.split(' ');
    if (type !== 'cgroup' && type !== 'cgroup2') continue;
    const f = pre.split(' ');
    out.push({ type, root: f[3], point: f[4].replace(/\\040/g, ' '), options: options.split(',') });
  }
  return out;
}

/** Where the v1 hierarchy of `controller` is mounted, or null. */
function v1Mount(controller) {
  return cgroupMounts().find((m) => m.type === 'cgroup' && m.options.includes(controller))?.point ?? null;
}

/** The unified hierarchy's mount, or null. */
function v2Mount() {
  return cgroupMounts().find((m) => m.type === 'cgroup2')?.point ?? null;
}

/** This process's cgroup path in the hierarchy holding `controller` ('' for the unified one). */
function ownPath(controller) {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (controller === '' ? m[1] === '0' && m[2] === '' : m[2].split(',').includes(controller)) return m[3];
  }
  return null;
}

/**
 * Why a real v1 `controller` cgroup cannot be made here (null: it can): not Linux, not
 * root, no v1 hierarchy of it mounted (a cgroup v2 host), or creating one fails.
 */
function v1Reason(controller) {
  if (process.platform !== 'linux') return 'cgroups are Linux only';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'creating cgroups needs root';
  const mount = v1Mount(controller);
  if (mount === null) return `no cgroup v1 ${controller} hierarchy is mounted (a cgroup v2 host: v2 is tested from fixture trees)`;
  const probe = join(mount, `rs-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (e) {
    return `cannot create a cgroup under ${mount} (${e.code})`;
  }
  return null;
}

/** The kernel's "key value" lines of `file` as numbers. */
function keyValues(file) {
  const out = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** The total= of the `kind` line of a PSI file, µs. */
function psiTotal(file, kind) {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${kind} `));
  return line === undefined ? NaN : Number(/total=(\d+)/.exec(line)[1]);
}

/**
 * A new cgroup `name` under `mount` with `settings` written in order (file → value).
 * remove() moves what is left in it to this process's own cgroup and deletes it.
 */
function createCgroup(mount, name, settings = [], controller = '') {
  const dir = join(mount, name);
  mkdirSync(dir);
  const remove = async () => {
    const own = ownPath(controller);
    const back = own === null ? mount : join(mount, own);
    for (let attempt = 0; attempt < 50; attempt++) {
      let procs;
      try {
        procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
      } catch {
        return; // gone
      }
      for (const pid of procs) {
        try {
          writeFileSync(join(back, 'cgroup.procs'), pid);
        } catch {
          // exited meanwhile
        }
      }
      try {
        rmdirSync(dir);
        return;
      } catch (e) {
        if (e.code !== 'EBUSY') throw e;
      }
      await sleep(20);
    }
    throw new Error(`could not remove ${dir}`);
  };
  try {
    for (const [file, value] of settings) writeFileSync(join(dir, file), String(value));
  } catch (e) {
    rmdirSync(dir);
    throw e;
  }
  return { dir, remove };
}

/**
 * Starts test/fixtures/cgroup-child.cjs, moves it into each of `cgroups` (directories),
 * sets its oom_score_adj, then tells it to start its sampler with `options`. Resolves to
 * { child, pid, published, ask(msg), exited } once its sampler runs.
 */
async function startChild(cgroups, options = {}, { oomScoreAdj } = {}) {
  const child = spawn(process.execPath, [CHILD], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const next = replies(child, 'cgroup child', exited);
  await new Promise((resolve, reject) => { child.once('spawn', resolve); child.once('error', reject); });
  try {
    for (const dir of cgroups) writeFileSync(join(dir, 'cgroup.procs'), String(child.pid));
    if (oomScoreAdj !== undefined) writeFileSync(`/proc/${child.pid}/oom_score_adj`, String(oomScoreAdj));
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  }
  child.send(options);
  const ready = await next('ready message');
  return {
    child,
    pid: child.pid,
    published: ready.published,
    ask: (msg) => { child.send(msg); return next(`answer to ${JSON.stringify(msg)}`); },
    exited,
    kill: async () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); return exited; },
  };
}

/**
 * The OOM scenario: in a new v1 memory cgroup limited to `limitBytes` (and as much with
 * swap, where the kernel counts it), an observer process and a leaker (the OOM killer's
 * choice: oom_score_adj 1000) that keeps `leakBytes` more every `leakEveryMs`, both with samplers, the
 * leaker's published. Until the kernel kills the leaker, its published block is read
 * every `sampleMs`: the series of { tNs, rssBytes, usageBytes, limitBytes, workingSetBytes }
 * (the leaker's process RSS and its cgroup's usage, limit and working set, as its sampler
 * last refreshed them), and `onSample(view)` is called with the view of it (whose history,
 * with `history` the leaker's history settings, begins at once).
 * Returns that series, the observer's container values before and after, the kernel's own
 * memory.oom_control and memory.failcnt after, and how the leaker ended.
 */
async function runOomScenario({ limitBytes = 200 * 2 ** 20, leakBytes = 2 * 2 ** 20, leakEveryMs = 20, sampleMs = 50, refreshIntervalMs = 50, history, onSample } = {}) {
  const mount = v1Mount('memory');
  const settings = [['memory.limit_in_bytes', limitBytes]];
  // Where there is swap, memory+swap is limited as much, so that the leaker cannot swap.
  // (Not otherwise: with it set, Linux 6.18 counts the failed charges in neither
  // memory.failcnt nor memory.memsw.failcnt.)
  const swap = /^SwapTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  const memswLimited = swap !== null && Number(swap[1]) > 0 && existsSync(join(mount, 'memory.memsw.limit_in_bytes'));
  if (memswLimited) settings.push(['memory.memsw.limit_in_bytes', limitBytes]);
  const cg = createCgroup(mount, `rs-test-${process.pid}-oom`, settings, 'memory');
  const publishDir = mkdtempSync(join(tmpdir(), 'rs-cgroup-oom-'));
  const children = [];
  try {
    // The leaker's oom_score_adj of 1000 makes it the OOM killer's choice (lowering the
    // observer's would need CAP_SYS_RESOURCE, which a container's root may lack).
    const observer = await startChild([cg.dir], { refreshIntervalMs });
    children.push(observer);
    const before = (await observer.ask('refresh')).container;
    const leaker = await startChild([cg.dir], { refreshIntervalMs, publishDir, leak: true, leakBytes, leakEveryMs, history }, { oomScoreAdj: 1000 });
    children.push(leaker);
    const view = Sampler.open(leaker.published);
    const series = [];
    let ended = null;
    let endedNs = null;
    leaker.exited.then((e) => {
      ended = e;
      endedNs = Number(process.hrtime.bigint());
    });
    if (onSample) void view.history; // the view's history begins now
    const deadline = Date.now() + 30_000;
    const snap = view.read();
    while (ended === null && Date.now() < deadline) {
      view.read(snap);
      const last = series[series.length - 1];
      if (last === undefined || snap.sampler.lastRefreshNs !== last.tNs) {
        series.push({ tNs: snap.sampler.lastRefreshNs, rssBytes: snap.process.rssBytes, usageBytes: snap.container.memoryUsageBytes, limitBytes: snap.container.memoryLimitBytes, workingSetBytes: snap.container.memoryWorkingSetBytes });
      }
      if (onSample) onSample(view);
      await sleep(sampleMs);
    }
    if (ended === null) throw new Error(`the leaker was not killed within 30 s (series: ${JSON.stringify(series.slice(-3))})`);
    // Its last state stays readable after the kill (post-mortem).
    const lastState = view.read().container.toJSON();
    view.close();
    const after = (await observer.ask('refresh')).container;
    const count = (file) => (existsSync(join(cg.dir, file)) ? Number(readFileSync(join(cg.dir, file), 'utf8')) : 0);
    const kernel = { ...keyValues(join(cg.dir, 'memory.oom_control')), failcnt: count('memory.failcnt'), memswFailcnt: count('memory.memsw.failcnt') };
    await observer.ask('exit').catch(() => {});
    return { series, before, after, kernel, leakerEnd: ended, leakerEndNs: endedNs, lastState, memswLimited, cgroup: cg.dir };
  } finally {
    for (const c of children) await c.kill();
    await cg.remove();
    rmSync(publishDir, { recursive: true, force: true });
  }
}

module.exports = { v1Reason, v1Mount, v2Mount, ownPath, keyValues, psiTotal, createCgroup, startChild, runOomScenario };
