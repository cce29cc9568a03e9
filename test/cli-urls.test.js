// versions: current — URL handling of the CLI
// `runtime-sampler snapshot|diagnose <url>`: the monitor's base URL or any of its endpoints
// resolves to the endpoint the command needs; a server that is not a runtime-sampler monitor
// gets a clear message naming the URL tried; what comes back is bounded in time and size.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const { Sampler, startMonitorThread } = require('..');
const { fetchText, monitorUrl } = require('../dist/cjs/cli');

const BIN = path.join(__dirname, '..', 'bin', 'runtime-sampler.js');
let sampler;
let monitor;

test.before(async () => {
  sampler = new Sampler().start();
  monitor = await startMonitorThread({ sampler, port: 0 });
});
test.after(async () => {
  await monitor.close();
  sampler.close();
});

/** Runs the CLI (asynchronously: the servers answer from this process). */
function cli(...args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A plain node:http server (not ours) answering every request with `handler`. */
async function server(handler) {
  const s = http.createServer(handler);
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${s.address().port}`, close: () => { s.closeAllConnections(); return new Promise((r) => s.close(r)); } };
}

test('monitorUrl(): a base URL or any endpoint resolves to the one asked for; other paths are a base', () => {
  const u = (arg, p) => monitorUrl('x', arg, p).href;
  assert.is(u('http://h:1', '/diagnose'), 'http://h:1/diagnose');
  assert.is(u('http://h:1/', '/diagnose'), 'http://h:1/diagnose');
  for (const e of ['/metrics', '/metrics.json', '/healthz', '/readyz', '/live.json', '/alerts', '/diagnose', '/debug/cpu-profile', '/metrics/']) {
    assert.is(u(`http://h:1${e}`, '/diagnose'), 'http://h:1/diagnose', e);
  }
  assert.is(u('http://h:1/diagnose?window=5s#x', '/metrics.json'), 'http://h:1/metrics.json');
  assert.is(u('https://proxy/rs/metrics', '/diagnose'), 'https://proxy/rs/diagnose');
  assert.is(u('http://h:1/other', '/diagnose'), 'http://h:1/other/diagnose');
  assert.is(u('http://h:1/xmetrics', '/diagnose'), 'http://h:1/xmetrics/diagnose');
});

test('diagnose and snapshot given any of a real monitor\'s endpoints', async () => {
  const d = await cli('diagnose', `${monitor.url}/metrics`);
  assert.is(d.status, 0, d.stderr);
  assert.match(d.stdout, /^runtime-sampler diagnosis: (OK|WARN|CRITICAL) — window/);
  const dj = await cli('diagnose', `${monitor.url}/healthz`, '--json');
  assert.is(dj.status, 0, dj.stderr);
  assert.ok(Array.isArray(JSON.parse(dj.stdout).findings));
  const s = await cli('snapshot', `${monitor.url}/metrics`);
  assert.is(s.status, 0, s.stderr);
  assert.match(s.stdout, /^v8js\.heap\.used\s+\d+(\.\d)? MiB$/m);
  const sj = await cli('snapshot', `${monitor.url}/diagnose/`, '--json');
  assert.is(sj.status, 0, sj.stderr);
  assert.is(JSON.parse(sj.stdout).schema, 'runtime-sampler/metrics/v1');
});

test('a server that is not a monitor: a message saying so, with the URL tried; exit 1', async () => {
  const runs = [['snapshot', '/metrics.json', []], ['diagnose', '/diagnose?format=text', []], ['diagnose', '/diagnose?format=json', ['--json']]];
  // Each server, and why each of the three runs finds it is not a monitor.
  const cases = [
    [(req, res) => { res.writeHead(404); res.end('Not Found'); }, [/\(HTTP 404\)/, /\(HTTP 404\)/, /\(HTTP 404\)/]],
    [(req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>\x1b[31mhello</html>'); },
      [/\(not JSON: "<html>\?\[31mhello/, /\(not a diagnosis: "<html>\?\[31mhello/, /\(not JSON: "<html>/]],
    [(req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"metrics":[],"verdict":1}'); },
      [/\(JSON without the runtime-sampler\/metrics schema\)/, /\(not a diagnosis: /, /\(JSON without a diagnosis \(verdict, findings\)\)/]],
  ];
  for (const [handler, whys] of cases) {
    const s = await server(handler);
    try {
      for (const [k, [cmd, endpoint, flags]] of runs.entries()) {
        const r = await cli(cmd, `${s.url}/metrics`, ...flags);
        assert.is(r.status, 1, r.stderr);
        const tried = `${s.url}${endpoint}`.replace(/[.?]/g, '\\$&');
        assert.match(r.stderr, new RegExp(`^runtime-sampler ${cmd}: ${tried} does not look like a runtime-sampler monitor \\(`));
        assert.match(r.stderr, whys[k]);
        assert.not.match(r.stderr, /\x1b/, 'no control characters from the network reach the terminal');
      }
    } finally {
      await s.close();
    }
  }
});

test('fetchText(): bounded in total time (a trickling server) and in size', async () => {
  const trickle = await server((req, res) => {
    res.writeHead(200);
    const t = setInterval(() => res.write('.'), 50);
    res.on('close', () => clearInterval(t));
  });
  const big = await server((req, res) => {
    res.writeHead(200);
    res.end('x'.repeat(200_000));
  });
  try {
    const t0 = Date.now();
    const e = await fetchText(new URL(trickle.url), { idleMs: 1000, totalMs: 600, maxBytes: 1 << 20 }).then(() => null, (err) => err);
    assert.ok(e, 'a trickling answer is cut');
    assert.match(e.message, /no complete answer in 0\.6 s/);
    assert.ok(Date.now() - t0 < 2000);
    const e2 = await fetchText(new URL(big.url), { idleMs: 1000, totalMs: 5000, maxBytes: 100_000 }).then(() => null, (err) => err);
    assert.match(e2 && e2.message, /larger than 100000 bytes/);
    const ok = await fetchText(new URL(big.url), { idleMs: 1000, totalMs: 5000, maxBytes: 300_000 });
    assert.is(ok.body.length, 200_000);
  } finally {
    await trickle.close();
    await big.close();
  }
});

test.run();
