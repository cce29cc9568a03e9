// tier: extra — forks children and churns workers (~20 s)
// Lifecycle in forked children and worker threads: never keeps a process alive, exits
// cleanly in every order, works inside workers and survives their termination.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const path = require('node:path');

const root = JSON.stringify(path.join(__dirname, '..'));

function child(code, flags = [], timeout = 20000) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [...flags, '-e', code], { encoding: 'utf8', timeout });
  return { ...r, ms: Date.now() - started };
}

test('a started sampler does not keep the process alive', () => {
  const r = child(`const { Sampler } = require(${root}); globalThis.s = new Sampler({ refreshIntervalMs: 10 }).start();`);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.signal, null);
  assert.ok(r.ms < 5000, `exited after ${r.ms} ms`);
});

for (const [name, code] of [
  ['exit while started', `s.start(); process.exit(0);`],
  ['exit after stop', `s.start(); s.stop(); process.exit(0);`],
  ['exit after close', `s.start(); s.close(); process.exit(0);`],
  ['close from an onGC listener', `s.start(); s.onGC(() => s.close()); gc(); s.read();`],
  ['sampler collected without close', `s.start(); s = null; gc(); setTimeout(() => { gc(); }, 50);`],
  ['uncaught exception while started', `s.start(); process.on('exit', (c) => { process.exitCode = 0; }); setTimeout(() => { throw new Error('boom'); }, 5);`],
]) {
  test(`clean exit: ${name}`, () => {
    const r = child(`const { Sampler } = require(${root}); let s = new Sampler({ refreshIntervalMs: 10 }); ${code}`, ['--expose-gc']);
    assert.is(r.signal, null, r.stderr);
    assert.is(r.status, 0, r.stderr);
  });
}

function runWorker(source, opts = {}) {
  return new Promise((resolve, reject) => {
    const w = new Worker(source, { eval: true, ...opts });
    const messages = [];
    w.on('message', (m) => messages.push(m));
    w.on('error', reject);
    w.on('exit', (code) => resolve({ code, messages }));
  });
}

test('a sampler inside a worker records that worker’s GCs and loop, then exits cleanly', async () => {
  const { code, messages } = await runWorker(`
    const { parentPort } = require('node:worker_threads');
    const { Sampler } = require(${root});
    const s = new Sampler().start();
    let keep = [];
    for (let i = 0; i < 500000; i++) { keep.push({ i }); if (keep.length > 1000) keep = []; }
    setTimeout(() => {
      const snap = s.read();
      parentPort.postMessage({ gc: snap.gc.count, scav: snap.gc.byType.scavenge.count, iterations: snap.loop.iterations, spaces: Object.keys(snap.heap.spaces).length, hist: s.histograms.gcPause.count });
    }, 30);
  `);
  assert.is(code, 0);
  const m = messages[0];
  assert.ok(m.scav > 0, 'the worker’s own scavenges');
  assert.is(m.hist, m.gc);
  assert.ok(m.iterations > 0);
  assert.ok(m.spaces > 3);
});

test('workers terminated while allocating with a sampler running: no crash', async () => {
  // Terminations land everywhere: during module load, sampler setup, GC, drains.
  for (let i = 0; i < 30; i++) {
    const w = new Worker(`
      const { Sampler } = require(${root});
      const s = new Sampler({ refreshIntervalMs: 10 }).start();
      s.onGC(() => {});
      let keep = [];
      for (;;) { keep.push({ x: new Array(20).fill(1) }); if (keep.length > 5000) { keep = []; s.read(); } }
    `, { eval: true });
    await new Promise((r) => setTimeout(r, (i * 7) % 90));
    const code = await w.terminate();
    assert.ok(code === 1 || code === 0, `exit code ${code}`); // 0 when terminated before it ran
  }
  // The main thread is still healthy.
  const { Sampler } = require('..');
  const s = new Sampler().start();
  assert.ok(s.read().heap.usedBytes > 0);
  s.close();
});

test('workers terminated while constructing samplers: no crash (in a child process)', () => {
  // Each worker builds, starts, reads and closes samplers in a tight loop, so termination
  // lands inside the native constructor and methods, where Node-API calls that may run JS
  // start failing. A coercion there once left node-addon-api a value without an env and
  // aborted the process ("FATAL ERROR: Error::New napi_get_last_error_info"): on Node 20 in
  // 2 runs of 300 workers out of 2.
  const r = child(`
    const { Worker } = require('node:worker_threads');
    (async () => {
      const codes = {};
      for (let i = 0; i < 250; i++) {
        const w = new Worker(\`
          const { Sampler } = require(${root});
          require('node:worker_threads').parentPort.postMessage('ready');
          for (;;) {
            const s = new Sampler({ watchdog: true, refreshIntervalMs: 10 }).start();
            s.read(); s.markCompacts(); s.stop(); s.close();
          }
        \`, { eval: true });
        await new Promise((r) => w.once('message', r));
        await new Promise((r) => setTimeout(r, i % 20));
        const c = await w.terminate();
        codes[c] = (codes[c] || 0) + 1;
      }
      console.log(JSON.stringify(codes));
    })();
  `, [], 180000);
  assert.is(r.signal, null, `signal ${r.signal}: ${r.stderr.split('\n').slice(0, 3).join(' | ')}`);
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), { 1: 250 });
});

test('workers terminated while constructing native samplers leave no sampler, block or monitor behind (in a child process)', () => {
  // Termination forbids calls into JS at once, before V8 stops the running code: a native
  // constructor entered in that window cannot wrap its object, so no finalizer owns it.
  // It used to take the shared block and start a monitor anyway, and nothing deleted it.
  // The workers construct native samplers back to back, so termination lands there.
  const binding = JSON.stringify(path.join(__dirname, '..', 'dist', 'cjs', 'binding.js'));
  const r = child(`
    const { Worker } = require('node:worker_threads');
    const { native } = require(${binding});
    (async () => {
      for (let i = 0; i < 60; i++) {
        const w = new Worker(\`
          const { native } = require(${binding.replace(/\\/g, '\\\\')});
          const L = native.computeLayout(64, 2);
          const block = new Float64Array(new SharedArrayBuffer(L.totalBytes));
          require('node:worker_threads').parentPort.postMessage('ready');
          for (;;) new native.NativeSampler(block, 64, 2, 1000, 10).close();
        \`, { eval: true });
        await new Promise((r) => w.once('message', r));
        await new Promise((r) => setTimeout(r, i % 7));
        await w.terminate();
      }
      console.log(JSON.stringify(native.liveObjects()));
    })();
  `, [], 120000);
  assert.is(r.signal, null, r.stderr);
  assert.is(r.status, 0, r.stderr);
  const live = JSON.parse(r.stdout);
  assert.is(live.samplers, 0, `${live.samplers} NativeSampler objects outlived their workers`);
  assert.is(live.blocks, 0, `${live.blocks} shared blocks held after their workers ended`);
  assert.is(live.monitors, 0, `${live.monitors} monitors outlived their workers`);
});

test('a worker that exits without closing its sampler, in a child process', () => {
  const r = child(`
    const { Worker } = require('node:worker_threads');
    let done = 0;
    for (let i = 0; i < 8; i++) {
      const w = new Worker("const { Sampler } = require(${root.replace(/"/g, '\\"')}); new Sampler({ refreshIntervalMs: 10 }).start(); setTimeout(() => process.exit(0), 20);", { eval: true });
      w.on('exit', (c) => { if (c !== 0) process.exit(3); if (++done === 8) console.log('ALL_DONE'); });
    }
  `);
  assert.is(r.signal, null, r.stderr);
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes('ALL_DONE'));
});

test.run();
