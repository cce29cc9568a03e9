// versions: edges — node:inspector and node:http
// /debug/heap-snapshot leaves nothing on disk, on any path: served, failed, the client gone
// while the snapshot is made or sent, and the app killed (SIGKILL) while it is served. A
// snapshot holds whatever secrets were in memory.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { Sampler } = require('..');
const { createMonitorServer } = require('../dist/cjs/server/http');
const { snapshotWriter } = require('../dist/cjs/server/snapshot');

const root = path.join(__dirname, '..');
const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The server's temporary files go to a directory of this test's own.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-heap-test-'));
process.env.TMPDIR = tmp;
const left = () => fs.readdirSync(tmp);

let sampler;
let server;
let stopServer;
let base;
/** What the fake inspector does for the next snapshot (a test sets it). */
let snapshotPlan;

test.before(async () => {
  sampler = new Sampler().start();
  const inspector = {
    // What the snapshot thread does, with the chunks from the plan instead of V8's.
    heapSnapshot: async (fd, maxBytes) => {
      const w = snapshotWriter(fd, maxBytes);
      await snapshotPlan(w.chunk);
      return w.result();
    },
    cpuProfile: async () => '{}',
  };
  ({ server, stop: stopServer } = createMonitorServer(sampler, { windowMs: 2000, token: TOKEN, debug: true, debugMaxBytes: 1 << 30, debugMaxSeconds: 5, inspector }));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});
// Each test starts from an empty directory (what an earlier one left is its own failure).
test.before.each(() => {
  for (const f of left()) fs.rmSync(path.join(tmp, f), { recursive: true, force: true });
});
test.after(async () => {
  stopServer();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  sampler.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// The debug lock is released once the monitor's end of the previous download has finished,
// which can be a moment after the client read its last byte: a 409 then is retried.
async function get(p, options) {
  for (let i = 0; ; i++) {
    const r = await getOnce(p, options);
    if (r.status !== 409 || i === 50) return r;
    await sleep(20);
  }
}

/** Waits until the debug lock is free (HEAD answers 409 while it is taken). */
async function lockFree() {
  for (let i = 0; i < 50; i++) {
    const status = await new Promise((resolve, reject) => {
      http.request(`${base}/debug/heap-snapshot`, { method: 'HEAD', agent: false, headers: auth }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject).end();
    });
    if (status !== 409) return;
    await sleep(20);
  }
  throw new Error('the debug lock stayed taken');
}

function getOnce(p, { onResponse } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${p}`, { agent: false, headers: auth }, (res) => {
      if (onResponse) onResponse(req, res);
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

test('a served snapshot: the body is what the inspector made, and no file is visible while it is made or after', async () => {
  const seen = [];
  snapshotPlan = async (chunk) => {
    for (let i = 0; i < 50; i++) {
      chunk(`{"part":${i}}`.padEnd(20_000, ' '));
      seen.push(...left());
      await sleep(1);
    }
  };
  const r = await get('/debug/heap-snapshot');
  assert.is(r.status, 200);
  assert.is(r.body.length, 50 * 20_000);
  assert.ok(r.body.startsWith('{"part":0}') && r.body.includes('{"part":49}'));
  assert.equal(seen, [], 'the temporary file is unlinked as soon as it is opened');
  assert.equal(left(), []);
});

test('a snapshot that fails: 500, nothing left on disk', async () => {
  snapshotPlan = async (chunk) => {
    chunk('x'.repeat(100_000));
    await sleep(5);
    throw new Error('the inspector failed');
  };
  const r = await get('/debug/heap-snapshot');
  assert.is(r.status, 500);
  assert.match(r.body, /the inspector failed/);
  assert.equal(left(), []);
});

test('the client leaves while the snapshot is made: nothing left, and the next snapshot is not refused', async () => {
  let gone;
  const clientGone = new Promise((r) => { gone = r; });
  snapshotPlan = async (chunk) => {
    chunk('y'.repeat(100_000));
    await clientGone;
    await sleep(50);
    chunk('y'.repeat(100_000));
  };
  await lockFree();
  const req = http.get(`${base}/debug/heap-snapshot`, { agent: false, headers: auth });
  req.on('error', () => {});
  await sleep(100);
  req.destroy();
  gone();
  await sleep(200);
  assert.equal(left(), []);
  snapshotPlan = async (chunk) => { chunk('{}'); };
  assert.is((await get('/debug/heap-snapshot')).status, 200, 'the debug lock was released');
});

test('the client leaves while the snapshot is sent: nothing left', async () => {
  snapshotPlan = async (chunk) => {
    for (let i = 0; i < 400; i++) chunk('z'.repeat(100_000));
  };
  await lockFree();
  let status = 0;
  const closed = new Promise((resolve) => {
    const req = http.get(`${base}/debug/heap-snapshot`, { agent: false, headers: auth }, (res) => {
      status = res.statusCode;
      res.once('data', () => req.destroy());
    });
    req.on('error', () => {});
    req.on('close', resolve);
  });
  await closed;
  assert.is(status, 200, 'the snapshot was being sent');
  await sleep(200);
  assert.equal(left(), []);
});

// The app with the preload, debug on and a heap of some size; prints its monitor's port.
const APP = `
  const keep = Array.from({ length: 300000 }, (_, i) => ({ i, s: 'secret-' + i }));
  require('runtime-sampler').registered().monitor.then((m) => console.log('PORT ' + m.port));
  setInterval(() => keep.length, 1000);
`;

/** The app with the preload, started in a TMPDIR of its own: { child, dir, port, exited }. */
async function startApp() {
  const dir = fs.mkdtempSync(path.join(tmp, 'app-'));
  const child = spawn(process.execPath, ['-r', path.join(root, 'dist', 'cjs', 'register.js'), '-e', APP], {
    cwd: root,
    env: { ...process.env, TMPDIR: dir, RUNTIME_SAMPLER_PORT: '0', RUNTIME_SAMPLER_DEBUG: '1', RUNTIME_SAMPLER_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.on('exit', (code, signal) => r(signal)));
  let out = '';
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', () => reject(new Error(`the app exited: ${out}`)));
  });
  return { child, dir, port, exited };
}

async function killedWhile(phase) {
  const { child, dir, port, exited } = await startApp();
  let req;
  // Resolves once the first bytes of the snapshot arrived; a request that fails before the
  // kill fails the test (it would otherwise wait for a kill that never comes).
  const answered = new Promise((resolve, reject) => {
    req = http.get(`http://127.0.0.1:${port}/debug/heap-snapshot`, { agent: false, headers: auth }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`the snapshot request was answered ${res.statusCode}`));
      // Read slowly from here on, so that it is still being served when the app is killed.
      res.once('data', () => {
        res.pause();
        resolve();
      });
    });
    req.on('error', (e) => reject(new Error(`the snapshot request failed before the app was killed: ${e.message}`)));
  });
  try {
    if (phase === 'served') {
      await answered;
    } else {
      // While V8 makes the snapshot (a second or so for this heap) and the monitor writes it.
      answered.catch(() => {});
      await sleep(300);
    }
  } finally {
    child.kill('SIGKILL');
  }
  assert.is(await exited, 'SIGKILL');
  req.destroy();
  const rest = fs.readdirSync(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  return rest;
}

// Node 18 hands the snapshot's chunks to the receiving thread in batches that stay in its heap
// until the batch ends; in the monitor thread's small heap that killed the monitor now and then.
test('a real snapshot of a 60 MB heap is served whole, and the monitor serves on after it', async () => {
  const { child, dir, port, exited } = await startApp();
  try {
    const r = await new Promise((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}/debug/heap-snapshot`, { agent: false, headers: auth }, (res) => {
        let bytes = 0;
        let head = '';
        res.on('data', (c) => {
          if (head.length < 64) head += c.toString('latin1', 0, 64);
          bytes += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode, length: Number(res.headers['content-length']), bytes, head }));
        res.on('error', reject);
      }).on('error', reject);
    });
    assert.is(r.status, 200);
    assert.is(r.bytes, r.length, 'the body is as long as its content-length');
    assert.ok(r.bytes > 20e6, `a snapshot of this heap is tens of MB, got ${r.bytes} bytes`);
    assert.match(r.head, /^\{"snapshot":/);
    for (const p of ['/healthz', '/metrics']) {
      const status = await new Promise((resolve, reject) => {
        http.get(`http://127.0.0.1:${port}${p}`, { agent: false, headers: auth }, (res) => {
          res.resume();
          resolve(res.statusCode);
        }).on('error', reject);
      });
      assert.is(status, 200, `${p} after the snapshot`);
    }
    assert.equal(fs.readdirSync(dir), [], 'nothing left in its TMPDIR');
  } finally {
    child.kill('SIGKILL');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the app killed (SIGKILL) while the snapshot is made or served leaves nothing in its TMPDIR', async () => {
  assert.equal(await killedWhile('served'), [], 'killed while the snapshot was served');
  assert.equal(await killedWhile('made'), [], 'killed while the snapshot was made');
});

test.run();
