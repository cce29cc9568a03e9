// tier: extra — holds 400 hostile sockets for half a minute
// run: alone — health probes are held to 100 ms while 400 sockets churn
// The monitor bounds every connection itself (node:http's headersTimeout does not close a
// socket that sends nothing, nor one that trickles): silent and trickling sockets are closed
// within SERVER_LIMITS' bounds, a flood of them never locks health probes out (the oldest
// idle connection is shed for a new one), and a response that is being read is not cut by
// the idle bound while one whose client stopped reading is.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn } = require('node:child_process');
const http = require('node:http');
const { Sampler, startMonitorThread } = require('..');
const { SERVER_LIMITS } = require('../dist/cjs/server/http');

const TOKEN = 'test-token-0123456789abcdef';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let sampler;
let monitor;

test.before(async () => {
  sampler = new Sampler().start();
  monitor = await startMonitorThread({ sampler, port: 0, token: TOKEN, debug: true });
});
test.after(async () => {
  await monitor.close();
  sampler.close();
});

/** The monitor thread's connection counters. */
function stats() {
  return new Promise((resolve) => {
    const on = (m) => {
      if (m.type !== 'stats') return;
      monitor.worker.off('message', on);
      monitor.worker.unref();
      resolve(m);
    };
    monitor.worker.on('message', on);
    // The monitor thread is unref'd: keep the process alive until it answers.
    monitor.worker.ref();
    monitor.worker.postMessage('stats');
  });
}

/** GET /healthz on a new connection (as a probe does); resolves with status and ms taken. */
function probe() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get(`${monitor.url}/healthz`, { agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 3 s')));
    req.on('error', (e) => resolve({ status: 0, ms: performance.now() - t0, error: e.message }));
  });
}

// Hostile sockets: 'silent' sends nothing; 'trickle' sends a request line and then one
// header line every 400 ms, never ending its headers. HOSTILE opens them in another process
// (as an attacker would; the probes' timings then are the monitor's, not this loop's), opens
// each again `again` ms after the server closes it until `forMs` have passed, and prints how
// long each stayed open and whether the server closed it.
const HOSTILE = `
  const net = require('node:net');
  const [port, silent, trickle, again, forMs, maxMs] = process.argv.slice(1).map(Number);
  const until = performance.now() + forMs;
  const closed = [];
  const one = (kind) => new Promise((resolve) => {
    const t0 = performance.now();
    const s = net.connect(port, '127.0.0.1');
    let timer = null;
    let mine = false;
    const give = setTimeout(() => { mine = true; s.destroy(); }, maxMs);
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('connect', () => {
      if (kind !== 'trickle') return;
      s.write('GET /healthz HTTP/1.1\\r\\nhost: x\\r\\n');
      timer = setInterval(() => s.write('x-a: 1\\r\\n'), 400);
    });
    s.on('close', () => {
      clearTimeout(give);
      clearInterval(timer);
      closed.push({ kind, ms: performance.now() - t0, closedByServer: !mine });
      resolve();
    });
  });
  const hold = async (kind) => {
    do {
      await one(kind);
      await new Promise((r) => setTimeout(r, again));
    } while (performance.now() < until);
  };
  Promise.all([...Array.from({ length: silent }, () => hold('silent')), ...Array.from({ length: trickle }, () => hold('trickle'))])
    .then(() => process.stdout.write(JSON.stringify(closed)));
`;

function hostile({ silent = 0, trickle = 0, againMs = 500, forMs = 0, maxMs }) {
  const child = spawn(process.execPath, ['-e', HOSTILE, String(monitor.port), String(silent), String(trickle), String(againMs), String(forMs), String(maxMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`the hostile process exited with ${code}`)))));
}

test('a silent socket is closed after idleTimeoutMs, a trickling one after requestTimeoutMs', async () => {
  const before = await stats();
  const maxMs = SERVER_LIMITS.requestTimeoutMs + 5000;
  const all = await hostile({ silent: 5, trickle: 5, maxMs });
  assert.is(all.length, 10);
  for (const r of all) {
    assert.ok(r.closedByServer, `a ${r.kind} socket was still open after ${maxMs} ms`);
    // node:http's headersTimeout may close a trickling socket first, where it works.
    const [min, max] = r.kind === 'silent' ? [SERVER_LIMITS.idleTimeoutMs, SERVER_LIMITS.idleTimeoutMs] : [SERVER_LIMITS.headersTimeoutMs, SERVER_LIMITS.requestTimeoutMs];
    assert.ok(r.ms >= min - 100 && r.ms <= max + 1500, `a ${r.kind} socket was closed after ${Math.round(r.ms)} ms (bounds ${min}–${max} ms)`);
  }
  assert.is((await stats()).shed - before.shed, 0);
});

test('200 silent and 200 trickling sockets held open: /healthz answers every poll within 100 ms', async () => {
  const before = await stats();
  // Each hostile socket is opened again 500 ms after the server closes it, for as long as the
  // probes run: 400 sockets keep coming.
  const flood = hostile({ silent: 200, trickle: 200, againMs: 500, forMs: 5500, maxMs: 30_000 });
  await sleep(500);
  const polls = [];
  const end = performance.now() + 5000;
  while (performance.now() < end) {
    polls.push(await probe());
    await sleep(200);
  }
  const after = await stats();
  const slow = polls.filter((p) => p.status !== 200 || p.ms > 100);
  if (process.env.VERBOSE) console.log('polls', polls.length, 'max ms', Math.max(...polls.map((p) => p.ms)).toFixed(1), 'stats', after, 'slow', slow);
  assert.ok(polls.length >= 20, `${polls.length} polls`);
  assert.equal(slow, [], `${slow.length} of ${polls.length} polls failed or took over 100 ms`);
  assert.ok(after.shed - before.shed > 0, 'connections over the limit shed older idle ones');
  // Every hostile socket was closed by the server within its bound, the last ones too.
  const closed = await flood;
  for (const r of closed) {
    const bound = r.kind === 'silent' ? SERVER_LIMITS.idleTimeoutMs : SERVER_LIMITS.requestTimeoutMs;
    assert.ok(r.closedByServer && r.ms <= bound + 1500, `a ${r.kind} socket stayed ${Math.round(r.ms)} ms (bound ${bound} ms)`);
  }
  assert.ok(closed.length >= 800, `${closed.length} hostile sockets closed by the server`);
  assert.is((await stats()).open, 0, 'no connection left open by the flood');
});

test('a response being read is not cut by the idle bound; one whose client stopped reading is', async () => {
  // A heap whose snapshot is larger than the loopback socket buffers hold, so that a client
  // that stops reading stalls the response.
  const keep = Array.from({ length: 160_000 }, (_, i) => ({ i, s: `k${i}` }));
  const idle = SERVER_LIMITS.idleTimeoutMs;
  /** Downloads the snapshot, pausing `pauses[k]` ms after each 4 MiB. */
  const download = async (pauses) => {
    // The monitor releases its debug lock once its end of the last download is closed too,
    // a moment after the client has read it all.
    for (let i = 0; i < 50; i++) {
      const r = await downloadOnce(pauses);
      if (r.status !== 409) return r;
      await sleep(100);
    }
    throw new Error('the debug endpoint stayed busy');
  };
  const downloadOnce = (pauses) => new Promise((resolve, reject) => {
    const req = http.get(`${monitor.url}/debug/heap-snapshot`, { agent: false, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      const length = Number(res.headers['content-length']);
      let got = 0;
      let k = 0;
      res.on('data', (c) => {
        got += c.length;
        if (k < pauses.length && got >= (k + 1) * 4 * 2 ** 20) {
          res.pause();
          setTimeout(() => res.resume(), pauses[k++]);
        }
      });
      res.on('close', () => resolve({ status: res.statusCode, length, got, complete: res.complete }));
    });
    req.on('error', reject);
  });
  // Two pauses of 70% of the idle bound: longer than it in total, each shorter.
  const slow = await download([idle * 0.7, idle * 0.7]);
  assert.is(slow.status, 200);
  // Loopback socket buffers hold a few MiB at most.
  assert.ok(slow.length > 20 * 2 ** 20, `the snapshot (${slow.length} bytes) outgrows the socket buffers`);
  assert.ok(slow.complete && slow.got === slow.length, `a slow reader got ${slow.got} of ${slow.length} bytes`);
  const stalled = await download([idle + 1500]);
  assert.is(stalled.status, 200);
  assert.ok(!stalled.complete && stalled.got < stalled.length, `a stalled reader got ${stalled.got} of ${stalled.length} bytes`);
  assert.is(keep.length, 160_000);
});

test.run();
