// Published blocks through the library: a sampler publishes its block in a file, another
// process reads it with Sampler.open() exactly as the owner reads it — counters, histograms,
// the mark-compact log, the last GCs, a stall in progress with its stack — and keeps reading
// it after the writer was killed. Files go on close() and a clean exit, stay after a crash,
// and the next publisher sweeps them after the keep period.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const {
  Sampler, PublishedView, SamplerAggregate, SamplerError, listPublished, cleanPublished, defaultPublishDir,
  toPrometheus, diagnose,
} = require('..');
const { throwsAll } = require('./helpers/throws');

const root = path.join(__dirname, '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'rs-pub-test-'));

/**
 * A child process that publishes into `dir` and answers commands over IPC: 'read' (its own
 * snapshot's key numbers), 'gc' (forced GCs), 'stall' (a busy loop in a named function),
 * 'stop' (stops its sampler: the block no longer changes), 'exit <code>'.
 */
function publisher(dir, { title, env = {} } = {}) {
  const code = `
    const { Sampler } = require(${JSON.stringify(root)});
    ${title ? `process.title = ${JSON.stringify(title)};` : ''}
    const s = new Sampler({ publish: true, watchdog: { thresholdMs: 100, intervalMs: 10, captureStack: true }, refreshIntervalMs: 50 }).start();
    let junk = [];
    const churn = setInterval(() => { for (let i = 0; i < 2000; i++) junk.push({ i }); if (junk.length > 50000) junk = []; }, 2);
    function busyLoopForPublishedTest(ms) { const t = Date.now(); while (Date.now() - t < ms); }
    process.on('message', (m) => {
      if (m.cmd === 'read') {
        s.refresh();
        const r = s.read();
        process.send({ gc: r.gc.count, forced: r.gc.forcedCount, scavenges: r.gc.byType.scavenge.count, heapUsed: r.heap.usedBytes, iterations: r.loop.iterations, stalls: r.stall.count, mc: s.markCompacts().length, hist: s.histograms.gcPause.count });
      } else if (m.cmd === 'gc') { for (let i = 0; i < m.n; i++) globalThis.gc(); process.send({ ok: true }); }
      else if (m.cmd === 'quiet') { clearInterval(churn); junk = []; process.send({ ok: true }); }
      else if (m.cmd === 'stall') { process.send({ ok: true }); setTimeout(() => busyLoopForPublishedTest(m.ms), 20); }
      else if (m.cmd === 'stop') { s.stop(); s.read(); process.send({ ok: true }); }
      else if (m.cmd === 'close') { s.close(); process.send({ ok: true }); }
      else if (m.cmd === 'exit') { process.exit(m.code); }
    });
    process.send({ path: s.publishedPath, pid: process.pid });
  `;
  const child = spawn(process.execPath, ['--expose-gc', '-e', code], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, RUNTIME_SAMPLER_DIR: dir, ...env },
  });
  const replies = [];
  const waiting = [];
  child.on('message', (m) => (waiting.length ? waiting.shift()(m) : replies.push(m)));
  const next = () => (replies.length ? Promise.resolve(replies.shift()) : new Promise((r) => waiting.push(r)));
  const ask = (msg) => {
    child.send(msg);
    return next();
  };
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, next, ask, exited };
}

test('another process reads the block exactly as its owner does, and its stall while it is stuck', async () => {
  const dir = tmpDir();
  const p = publisher(dir);
  try {
    const hello = await p.next();
    assert.is(hello.path, path.join(dir, `${hello.pid}-0`));
    await p.ask({ cmd: 'gc', n: 3 });
    await sleep(150);
    const view = Sampler.open(hello.pid, { dir });
    assert.instance(view, PublishedView);
    assert.is(view.pid, hello.pid);
    assert.is(view.threadId, 0);
    assert.ok(view.alive);
    assert.not.ok(view.detached);
    assert.is(view.nodeVersion, process.version);
    assert.is(view.workerId, null);
    assert.ok(Math.abs(view.startedAt.getTime() - Date.now()) < 60_000);
    assert.match(view.title, /^node\b/);
    const live = view.read();
    assert.ok(live.gc.forcedCount >= 3, `forced ${live.gc.forcedCount}`);
    assert.ok(view.markCompacts().length >= 3);
    assert.ok(view.recentGCs(5).length >= 1);

    // Stuck: the owner cannot answer, the file still can.
    await p.ask({ cmd: 'stall', ms: 1500 });
    let seen = null;
    for (let i = 0; i < 100 && seen === null; i++) {
      await sleep(20);
      const r = view.read();
      const stack = view.lastStallStack();
      if (r.stall.active === 1 && stack !== null) seen = { r, stack };
    }
    assert.ok(seen, 'no stall in progress with a stack seen from outside');
    assert.match(seen.stack.stack, /busyLoopForPublishedTest/);
    assert.ok(seen.r.stall.durationNs > 0);

    // Quiesced, the owner's numbers and the reader's are the same numbers.
    await p.ask({ cmd: 'quiet' });
    await p.ask({ cmd: 'stop' });
    const own = await p.ask({ cmd: 'read' });
    const r = view.read();
    assert.is(r.gc.count, own.gc);
    assert.is(r.gc.forcedCount, own.forced);
    assert.is(r.gc.byType.scavenge.count, own.scavenges);
    assert.is(r.heap.usedBytes, own.heapUsed);
    assert.is(r.stall.count, own.stalls);
    assert.is(view.markCompacts().length, own.mc);
    assert.is(view.histograms.gcPause.count, own.hist);
    assert.equal(view.tornRegions, []);
    // What works on a local view works on this one.
    const text = toPrometheus(view);
    const counts = [...text.matchAll(/^v8js_gc_count_total\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
    assert.is(counts.reduce((a, b) => a + b, 0), own.gc);
    const agg = new SamplerAggregate([view]);
    assert.is(agg.read().gc.count, own.gc);
    const report = diagnose(view);
    assert.ok(Array.isArray(report.findings));
    view.close();
  } finally {
    p.child.kill('SIGKILL');
    await p.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('after SIGKILL the last state stays readable; close() and exit 0 remove the file, exit 1 keeps it', async () => {
  const dir = tmpDir();
  const killed = publisher(dir);
  const closing = publisher(dir);
  const ok = publisher(dir);
  const failing = publisher(dir);
  try {
    const [k, c, o, f] = await Promise.all([killed.next(), closing.next(), ok.next(), failing.next()]);
    await killed.ask({ cmd: 'gc', n: 2 });
    const before = await killed.ask({ cmd: 'read' });
    const names = () => fs.readdirSync(dir).sort();
    assert.equal(names(), [k, c, o, f].map((x) => `${x.pid}-0`).sort());

    killed.child.kill('SIGKILL');
    await killed.exited;
    const view = Sampler.open(k.path);
    assert.not.ok(view.alive);
    assert.ok(view.detached);
    const last = view.read();
    assert.ok(last.gc.count >= before.gc && last.gc.forcedCount >= 2);
    assert.ok(last.heap.usedBytes > 0);
    assert.ok(view.markCompacts().length >= 2);
    assert.ok(view.histograms.gcPause.count >= before.hist);
    const entry = listPublished({ dir }).find((e) => e.pid === k.pid);
    assert.is(entry.alive, false);
    assert.is(entry.error, undefined);

    await closing.ask({ cmd: 'close' });
    assert.not.ok(fs.existsSync(c.path));
    ok.child.send({ cmd: 'exit', code: 0 });
    failing.child.send({ cmd: 'exit', code: 1 });
    await Promise.all([ok.exited, closing.child.send({ cmd: 'exit', code: 0 }) && closing.exited, failing.exited]);
    assert.not.ok(fs.existsSync(o.path), 'exit 0 left its file');
    assert.ok(fs.existsSync(f.path), 'exit 1 removed its file (kept for post-mortem)');
    assert.equal(names(), [`${k.pid}-0`, `${f.pid}-0`].sort());

    // The keep period: a dead writer whose block changed less than keepDeadMs ago stays.
    assert.equal(cleanPublished({ dir, keepDeadMs: 3_600_000 }), []);
    assert.equal(cleanPublished({ dir }).sort(), [k.path, f.path].sort());
    assert.equal(names(), []);
    view.close();
  } finally {
    for (const p of [killed, closing, ok, failing]) p.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker thread publishes <pid>-<threadId>, removed when the worker is terminated', async () => {
  const dir = tmpDir();
  const w = new Worker(`
    const { Sampler } = require(${JSON.stringify(root)});
    const s = new Sampler({ publish: { dir: ${JSON.stringify(dir)} } }).start();
    require('node:worker_threads').parentPort.postMessage(s.publishedPath);
    setInterval(() => {}, 1000);
  `, { eval: true });
  const p = await new Promise((r) => w.once('message', r));
  assert.is(p, path.join(dir, `${process.pid}-${w.threadId}`));
  const view = Sampler.open(process.pid, { threadId: w.threadId, dir });
  assert.is(view.threadId, w.threadId);
  assert.ok(view.alive);
  await w.terminate();
  assert.not.ok(fs.existsSync(p));
  // The view still reads the memory it mapped; the writer closed it.
  assert.ok(view.detached);
  view.read();
  view.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('two samplers of one thread get two files; the default directory follows the environment', () => {
  const dir = tmpDir();
  const a = new Sampler({ publish: { dir } });
  const b = new Sampler({ publish: { dir } });
  assert.is(a.publishedPath, path.join(dir, `${process.pid}-0`));
  assert.is(b.publishedPath, path.join(dir, `${process.pid}-0-2`));
  assert.is(a.options.ringCapacity, 1024);
  // A 4 KiB header, then the block.
  assert.is(fs.statSync(a.publishedPath).size, 4096 + a.share().layout.totalBytes);
  assert.is(fs.statSync(a.publishedPath).mode & 0o777, 0o600);
  assert.is(fs.statSync(dir).mode & 0o777, 0o700);
  // Sampler.open(pid) of this process finds the first one.
  assert.is(Sampler.open(process.pid, { dir }).path, a.publishedPath);
  a.close();
  b.close();
  assert.equal(fs.readdirSync(dir), []);
  assert.is(new Sampler().publishedPath, null);

  const env = (e) => spawnSync(process.execPath, ['-p', `require(${JSON.stringify(root)}).defaultPublishDir()`], { env: { PATH: process.env.PATH, ...e }, encoding: 'utf8' }).stdout.trim();
  assert.is(env({ RUNTIME_SAMPLER_DIR: '/x/y' }), '/x/y');
  assert.is(env({ XDG_RUNTIME_DIR: '/run/user/7' }), '/run/user/7/runtime-sampler');
  assert.is(env({}), `/dev/shm/runtime-sampler-${process.getuid()}`);
  assert.is(defaultPublishDir(), process.env.RUNTIME_SAMPLER_DIR ? path.resolve(process.env.RUNTIME_SAMPLER_DIR) : defaultPublishDir());
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a refused directory: one warning, the sampler runs unpublished', () => {
  const dir = tmpDir();
  fs.chmodSync(dir, 0o777);
  const r = spawnSync(process.execPath, ['-e', `
    const { Sampler } = require(${JSON.stringify(root)});
    const a = new Sampler({ publish: { dir: ${JSON.stringify(dir)} } }).start();
    const b = new Sampler({ publish: { dir: ${JSON.stringify(dir)} } }).start();
    console.log(JSON.stringify([a.publishedPath, b.publishedPath, a.read().loop.iterations >= 0]));
  `], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), [null, null, true]);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('RuntimeSamplerWarning'));
  assert.is(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /not publishing .*writable by others \(mode 777/);
  assert.equal(fs.readdirSync(dir), []);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('bad options and targets are clear errors', () => {
  throwsAll([
    [() => new Sampler({ publish: 'yes' }), TypeError, /publish must be true, false or an object/],
    [() => new Sampler({ publish: { dir: 5 } }), TypeError, /publish\.dir must be/],
    [() => new Sampler({ publish: { where: '/tmp' } }), TypeError, /where/],
    [() => Sampler.open(0), RangeError, /pid/],
    [() => Sampler.open(1.5), RangeError, /pid/],
    [() => Sampler.open({}), TypeError, /pid/],
    [() => Sampler.open('/tmp/x', { threadId: 1 }), TypeError, /apply to a pid/],
    [() => Sampler.open(process.pid, { threadId: -1 }), RangeError, /threadId/],
    [() => Sampler.open(process.pid, { bogus: 1 }), TypeError, /bogus/],
  ]);
  const dir = tmpDir();
  try {
    Sampler.open(2147483646, { dir });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, SamplerError);
    assert.is(e.code, 'ERR_SAMPLER_NOT_FOUND');
    assert.match(e.message, /no published sampler of pid 2147483646/);
  }
  try {
    Sampler.open(path.join(dir, 'none'));
    assert.unreachable();
  } catch (e) {
    assert.is(e.code, 'ERR_SAMPLER_NOT_FOUND');
    assert.match(e.message, /none does not exist/);
  }
  fs.writeFileSync(path.join(dir, 'junk'), Buffer.alloc(5000, 7));
  try {
    Sampler.open(path.join(dir, 'junk'));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, SamplerError);
    assert.is(e.code, 'ERR_SAMPLER_INVALID');
    assert.match(e.message, /junk: not a runtime-sampler block/);
  }
  // listPublished ignores names that are not <pid>-<threadId>, and lists a broken one with its error.
  fs.writeFileSync(path.join(dir, '123-0'), 'garbage');
  const list = listPublished({ dir });
  assert.is(list.length, 1);
  assert.is(list[0].pid, 123);
  assert.is(list[0].errorCode, 'ERR_SAMPLER_INVALID');
  assert.equal(listPublished({ dir: path.join(dir, 'missing') }), []);
  throwsAll([
    [() => listPublished({ dir: 1 }), TypeError, /dir/],
    [() => cleanPublished({ keepDeadMs: -1 }), RangeError, /keepDeadMs/],
  ]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test.run();
