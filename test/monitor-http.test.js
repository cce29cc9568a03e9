// node-flags: --expose-gc
// versions: edges — the monitor's HTTP handling over node:http
// The monitor's HTTP server: every endpoint, and bad input — malformed targets, unknown
// paths and query parameters, other methods, huge headers, many connections, slow
// clients — answered with a 4xx or a closed connection, never a crash; the debug endpoints
// behind a bearer token, one at a time, bounded.
const { test } = require('uvu');
const assert = require('uvu/assert');
const net = require('node:net');
const http = require('node:http');
const { Sampler, startMonitorThread } = require('..');
const { SERVER_LIMITS } = require('../dist/cjs/server/http');

const TOKEN = 'test-token-0123456789abcdef';
let sampler;
let monitor;

function request(path, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${monitor.url}${path}`, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Raw bytes on a socket; resolves with what came back when the server closed it (or on timeout). */
function raw(bytes, { waitMs = 8000, keepOpen = false } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(monitor.port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => { s.destroy(); resolve({ got, closedByServer: false }); }, waitMs);
    s.on('data', (d) => { got += d; });
    s.on('close', () => { clearTimeout(t); resolve({ got, closedByServer: true }); });
    s.on('error', () => {});
    s.write(bytes);
    if (!keepOpen) s.end();
  });
}

test.before(async () => {
  sampler = new Sampler({ watchdog: { thresholdMs: 100 } }).start();
  monitor = await startMonitorThread({ sampler, port: 0, token: TOKEN, debug: true, debugMaxSeconds: 5, windowMs: 2000 });
});
test.after(async () => {
  await monitor.close();
  sampler.close();
});

test('endpoints: /healthz, /readyz, /metrics (both formats), /metrics.json, /live.json, / (the page)', async () => {
  const h = await request('/healthz');
  assert.is(h.status, 200);
  assert.is(h.body, 'ok\n');
  const r = await request('/readyz');
  assert.is(r.status, 200, r.body);
  const ready = JSON.parse(r.body);
  assert.is(ready.ready, true);
  assert.ok(ready.checks.some((c) => c.name === 'stall'), 'the watchdog adds the stall check');
  const m = await request('/metrics');
  assert.match(m.headers['content-type'], /text\/plain; version=0\.0\.4/);
  assert.match(m.body, /v8js_gc_main_thread_time_seconds_total/);
  const om = await request('/metrics', { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
  assert.match(om.headers['content-type'], /openmetrics/);
  assert.ok(om.body.endsWith('# EOF\n'));
  const j = JSON.parse((await request('/metrics.json')).body);
  assert.ok(j.metrics.length > 40);
  const live = JSON.parse((await request('/live.json')).body);
  assert.ok(live.heap.usedBytes > 0 && live.heap.limitBytes > 0 && Object.keys(live.heap.spaces).length > 3);
  assert.ok(live.ready && typeof live.gc.count === 'number');
  const page = await request('/');
  assert.is(page.status, 200);
  assert.match(page.headers['content-type'], /text\/html/);
  assert.match(page.body, /<title>runtime-sampler<\/title>/);
  assert.not.match(page.body, /(src|href)="https?:/, 'no external resources');
  const head = await request('/healthz', { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(head.body, '');
});

test('/diagnose (text and JSON) and /alerts: the report and the built-in rules, run on the monitor thread', async () => {
  let r = await request('/diagnose');
  assert.is(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/plain/);
  assert.match(r.body, /^runtime-sampler diagnosis: (OK|WARN|CRITICAL) — window/);
  assert.match(r.body, /GC CPU fraction/);
  r = await request('/diagnose?format=json&window=2s');
  assert.is(r.status, 200);
  const doc = JSON.parse(r.body);
  assert.is(doc.window.requestedMs, 2000);
  assert.ok(Array.isArray(doc.findings) && Array.isArray(doc.alerts));
  assert.is(doc.threadId, 0);
  r = await request('/diagnose', { headers: { accept: 'application/json' } });
  assert.ok(JSON.parse(r.body).findings.length > 8);
  for (const bad of ['window=0', 'window=1d', 'window=abc', 'format=xml']) {
    r = await request(`/diagnose?${bad}`);
    assert.is(r.status, 400, bad);
  }
  r = await request('/alerts');
  assert.is(r.status, 200);
  const alerts = JSON.parse(r.body);
  assert.equal(alerts.rules.map((x) => x.name).slice(0, 2), ['NodeHeapNearLimit', 'NodeHeapAtLimit']);
  assert.is(alerts.rules.length, 14);
});

test('/readyz turns 503 while the main thread is stalled and names the failing checks; /healthz still answers', async () => {
  // The monitor thread answers while this thread is blocked: ask from a child process.
  const { spawn } = require('node:child_process');
  const script = `
    const http = require('node:http');
    const get = (p) => new Promise((r) => http.get('${monitor.url}' + p, (res) => { let b = ''; res.on('data', (c) => b += c); res.on('end', () => r({ status: res.statusCode, body: b })); }));
    setTimeout(async () => { const h = await get('/healthz'); const r = await get('/readyz'); console.log(JSON.stringify({ h: h.status, r: r.status, body: JSON.parse(r.body) })); }, 600);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const end = Date.now() + 1500;
  while (Date.now() < end); // block the loop
  await new Promise((r) => child.on('exit', r));
  const got = JSON.parse(out);
  assert.is(got.h, 200);
  assert.is(got.r, 503, JSON.stringify(got.body));
  assert.ok(got.body.failing.includes('stall'), JSON.stringify(got.body.failing));
  // Once the loop runs again, the stall ends.
  await new Promise((r) => setTimeout(r, 100));
  const after = JSON.parse((await request('/readyz')).body);
  assert.not.ok(after.failing.includes('stall'));
});

test('bad input: unknown paths 404, unknown query parameters 400, other methods 405, malformed targets 400', async () => {
  const nope = await request('/nope');
  assert.is(nope.status, 404);
  // The 404 lists every endpoint, and every one it lists is served.
  const listed = /^runtime-sampler monitor: (.*)\n$/.exec(nope.body)[1].split(', ');
  for (const p of ['/', '/live.json', '/metrics', '/metrics.json', '/healthz', '/readyz', '/diagnose', '/alerts', '/debug/heap-snapshot', '/debug/cpu-profile']) assert.ok(listed.includes(p), `${p} in ${nope.body}`);
  for (const p of listed) assert.is.not((await request(p, { method: 'HEAD' })).status, 404, p);
  assert.is((await request('/metrics/')).status, 404);
  const q = await request('/metrics?format=json');
  assert.is(q.status, 400);
  assert.match(q.body, /unknown query parameter "format" for \/metrics \(it takes none\)/);
  assert.is((await request('/debug/cpu-profile?sec=1', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 400);
  const post = await request('/metrics', { method: 'POST' });
  assert.is(post.status, 405);
  assert.is(post.headers.allow, 'GET, HEAD');
  const bad = await raw('GET /%%zz HTTP/1.1\r\nhost: x\r\n\r\n');
  assert.match(bad.got, /^HTTP\/1\.1 (400|404)/);
  const garbage = await raw('\x00\x01 not http at all\r\n\r\n');
  assert.match(garbage.got, /^HTTP\/1\.1 400/);
  assert.ok(garbage.closedByServer);
  const long = await request(`/metrics?${'a'.repeat(3000)}=1`);
  assert.ok(long.status === 400 || long.status === 404 || long.status === 431);
});

test('bad input: headers over the limit get 431; a client that never finishes its headers is cut off', async () => {
  const big = await raw(`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(SERVER_LIMITS.maxHeaderSize + 100)}\r\n\r\n`);
  assert.match(big.got, /^HTTP\/1\.1 431/);
  const t0 = Date.now();
  const slow = await raw('GET /healthz HTTP/1.1\r\nhost: x\r\n', { keepOpen: true, waitMs: SERVER_LIMITS.requestTimeoutMs + 5000 });
  assert.ok(slow.closedByServer, 'the server closes a connection whose headers never end');
  assert.ok(Date.now() - t0 <= SERVER_LIMITS.requestTimeoutMs + 3000);
  assert.is((await request('/healthz')).status, 200, 'and still serves');
});

test('bad input: many concurrent connections — bounded, and the server keeps serving', async () => {
  const sockets = [];
  for (let i = 0; i < SERVER_LIMITS.maxConnections * 2; i++) {
    const s = net.connect(monitor.port, '127.0.0.1');
    s.on('error', () => {});
    sockets.push(s);
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const s of sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const results = await Promise.all(Array.from({ length: 50 }, () => request('/metrics.json')));
  assert.ok(results.every((x) => x.status === 200));
});

test('debug endpoints: 401 without the token, a heap snapshot and a CPU profile with it, one at a time, seconds bounded', async () => {
  const no = await request('/debug/heap-snapshot');
  assert.is(no.status, 401);
  assert.match(no.headers['www-authenticate'], /Bearer/);
  assert.is((await request('/debug/heap-snapshot', { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401);
  const auth = { authorization: `Bearer ${TOKEN}` };
  for (const s of ['0', '6', 'abc', '1.5']) {
    const r = await request(`/debug/cpu-profile?seconds=${s}`, { headers: auth });
    assert.is(r.status, 400, `seconds=${s}`);
    assert.match(r.body, /an integer from 1 to 5/);
  }
  const profiling = request('/debug/cpu-profile?seconds=1', { headers: auth });
  await new Promise((r) => setTimeout(r, 100));
  const busy = await request('/debug/heap-snapshot', { headers: auth });
  assert.is(busy.status, 409);
  const p = await profiling;
  assert.is(p.status, 200);
  const profile = JSON.parse(p.body);
  assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0 && profile.endTime > profile.startTime);
  const snap = await request('/debug/heap-snapshot', { headers: auth });
  assert.is(snap.status, 200);
  const heap = JSON.parse(snap.body);
  assert.ok(heap.snapshot && heap.snapshot.node_count > 1000, 'a real heap snapshot of the main thread');
  assert.is(Number(snap.headers['content-length']), Buffer.byteLength(snap.body));
});

test('debug endpoints are off unless enabled; a snapshot over the size limit is refused', async () => {
  const m2 = await startMonitorThread({ sampler, port: 0 });
  try {
    const r = await new Promise((resolve) => http.get(`${m2.url}/debug/heap-snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => { res.resume(); resolve(res.statusCode); }));
    assert.is(r, 404);
  } finally {
    await m2.close();
  }
  const m3 = await startMonitorThread({ sampler, port: 0, token: TOKEN, debug: true, debugMaxBytes: 1 << 20 });
  try {
    const r = await new Promise((resolve) => http.get(`${m3.url}/debug/heap-snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: b }));
    }));
    assert.is(r.status, 413);
    assert.match(r.body, /larger than the limit \(1048576 bytes/);
  } finally {
    await m3.close();
  }
});

test('options: bad ones are TypeErrors / RangeErrors naming the option', () => {
  const { throwsAll } = require('./helpers/throws');
  throwsAll([
    [() => startMonitorThread({ sampler, port: 0, token: 'short' }), TypeError, /token must be a string of at least 16 characters/],
    [() => startMonitorThread({ sampler, port: 0, debug: true }), TypeError, /debug: true needs a token/],
    [() => startMonitorThread({ sampler, port: 0, windowMs: 10 }), RangeError, /windowMs must be an integer from 1000 to 600000, got 10/],
    [() => startMonitorThread({ sampler, port: 0, readiness: { elu: 5 } }), RangeError, /readiness\.elu/],
    [() => startMonitorThread({ sampler, port: 0, debugMaxSeconds: 0 }), RangeError, /debugMaxSeconds/],
  ]);
});

test.run();
