// node-flags: --expose-gc
// tier: extra — 500 publishing processes and 50 publishing workers: 35 s on 2 idle cores, ~2 min on busy ones
// Published files come and go without residue: 500 processes that publish and exit
// cleanly (three ways) leave no file; in one long-lived process, 500 published samplers
// created and closed, 500 views of another process opened and closed and 500
// listPublished() calls leave no descriptor and, once their buffers are collected, no
// mapping; 50 workers that publish and are terminated leave no file.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { Sampler, listPublished } = require('..');

const root = path.join(__dirname, '..');
const PROCESSES = 500;
const CONCURRENT = 12;

const temps = [];
function tempDir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-churn-'));
  temps.push(d);
  return d;
}
test.after(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

/** Runs `fn(i)` for i in 0..n-1, at most `limit` at a time; resolves with the results. */
async function pool(n, limit, fn) {
  const out = new Array(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  return out;
}

// Publishes, makes a little garbage, prints its file, and ends with code 0 in one of three
// ways: the loop runs dry, process.exit(0), or close() first.
const APP = `
  const { Sampler } = require('runtime-sampler');
  const s = new Sampler({ publish: { dir: process.env.PUB_DIR } }).start();
  console.log('PATH ' + s.publishedPath);
  let keep = [];
  for (let i = 0; i < 20000; i++) { keep.push({ i }); if (keep.length > 2000) keep = []; }
  const mode = process.env.MODE;
  setTimeout(() => {
    if (mode === 'close') s.close();
    if (mode === 'exit') process.exit(0);
  }, 5);
`;
const MODES = ['end', 'exit', 'close'];

function runApp(dir, mode) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', APP], { cwd: root, env: { ...process.env, PUB_DIR: dir, MODE: mode }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, pid: child.pid, path: /^PATH (.*)$/m.exec(out)?.[1] ?? null, err });
    });
  });
}

test(`${PROCESSES} processes that publish and exit cleanly leave no file behind`, async () => {
  const dir = path.join(tempDir(), 'pubs');
  const results = await pool(PROCESSES, CONCURRENT, (i) => runApp(dir, MODES[i % MODES.length]));
  for (const r of results) {
    assert.is(r.signal, null, r.err);
    assert.is(r.code, 0, r.err);
    assert.is(r.err, '', 'no warning');
    assert.is(r.path, path.join(dir, `${r.pid}-0`), 'each one published');
  }
  assert.equal(fs.readdirSync(dir), []);
});

function openFds() {
  return fs.readdirSync('/proc/self/fd').length;
}
/** Mappings of this process of files in `dir` (removed ones included: "(deleted)"). */
function mappingsOf(dir) {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes(dir)).length;
}
async function collect() {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((r) => setTimeout(r, 10));
  }
}

test(`in one process: ${PROCESSES} published samplers, ${PROCESSES} views of another process and ${PROCESSES} listPublished() calls leave no descriptor and no mapping`, async () => {
  const dir = path.join(tempDir(), 'pubs');
  const other = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'publisher-child.cjs')], { env: { ...process.env, PUB_DIR: dir }, stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const otherPath = await new Promise((resolve, reject) => {
      let buf = '';
      other.stdout.setEncoding('utf8');
      other.stdout.on('data', (d) => {
        buf += d;
        const m = /^READY (.*)$/m.exec(buf);
        if (m) resolve(m[1]);
      });
      other.once('exit', () => reject(new Error(`publisher exited: ${buf}`)));
    });
    // A first of each, so that lazily made state (the sweep, module caches) is not counted.
    new Sampler({ publish: { dir } }).start().close();
    Sampler.open(otherPath).close();
    listPublished({ dir });
    await collect();
    const fds0 = openFds();
    const maps0 = mappingsOf(dir);
    assert.is(maps0, 0);

    // Each loop in a function of its own: a frame still running would hold its last
    // object, and with it the last buffer.
    (() => {
      for (let i = 0; i < PROCESSES; i++) {
        const s = new Sampler({ publish: { dir } }).start();
        assert.is(s.publishedPath, path.join(dir, `${process.pid}-0`));
        s.read();
        s.close();
      }
    })();
    assert.is(openFds(), fds0, 'samplers: no descriptor while their buffers live');
    assert.equal(fs.readdirSync(dir).sort(), [path.basename(otherPath)], 'every file removed at close()');

    const gcs = (() => {
      let n = 0;
      for (let i = 0; i < PROCESSES; i++) {
        const v = Sampler.open(otherPath);
        n = v.read().gc.count;
        v.close();
      }
      return n;
    })();
    assert.ok(gcs > 0);
    assert.is(openFds(), fds0, 'views: no descriptor (a mapping needs none)');
    // A view's mapping lives as long as its buffer (so that a buffer a caller kept stays
    // readable after close()): held ones are mapped, collected ones are not.
    (() => {
      const held = Array.from({ length: 10 }, () => Sampler.open(otherPath));
      assert.ok(mappingsOf(dir) >= 10);
      for (const v of held) v.close();
    })();

    for (let i = 0; i < PROCESSES; i++) assert.is(listPublished({ dir }).length, 1);
    assert.is(openFds(), fds0, 'listPublished: no descriptor');

    await collect();
    assert.is(mappingsOf(dir), 0, 'every mapping released once its buffer is collected');
    assert.is(openFds(), fds0);
    other.stdin.write('exit\n');
    await new Promise((r) => other.once('exit', r));
    assert.equal(fs.readdirSync(dir), []);
  } finally {
    other.kill('SIGKILL');
  }
});

test('50 workers that publish and are terminated leave no file and no descriptor', async () => {
  const dir = path.join(tempDir(), 'pubs');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Sampler } = require(workerData.root);
    const s = new Sampler({ publish: { dir: workerData.dir } }).start();
    parentPort.postMessage(s.publishedPath);
    let keep = [];
    for (;;) { keep.push({ a: [1, 2] }); if (keep.length > 5000) keep = []; }
  `;
  await collect();
  const fds0 = openFds();
  const paths = await pool(50, 5, (i) => new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { root, dir } });
    const threadId = w.threadId;
    w.once('error', reject);
    w.once('message', (p) => {
      // Killed after a few ms of allocating: most likely in the middle of a GC.
      setTimeout(() => void w.terminate().then(() => resolve({ p, threadId })), 2 + (i % 7) * 3);
    });
  }));
  for (const { p, threadId } of paths) assert.is(p, path.join(dir, `${process.pid}-${threadId}`), 'each one published');
  assert.equal(fs.readdirSync(dir), []);
  await collect();
  assert.is(openFds(), fds0);
  assert.is(mappingsOf(dir), 0);
});

test.run();
