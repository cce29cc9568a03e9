// versions: edges — the preload, the monitor and the CLI over Node's module loading
// Zero-code use: `node -r runtime-sampler/register` and `--import runtime-sampler/register`
// start a sampler and the monitor thread from RUNTIME_SAMPLER_* variables; bad values are
// one line each on stderr and the app runs anyway; the `runtime-sampler` CLI.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn, spawnSync } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');

const root = path.join(__dirname, '..');
const BIN = path.join(root, 'bin', 'runtime-sampler.js');
// The app prints the port the preload's monitor bound (RUNTIME_SAMPLER_PORT=0), then runs.
const APP = `
  const { registered } = require('runtime-sampler');
  const r = registered();
  if (!r) { console.log('NOT REGISTERED'); process.exit(0); }
  r.monitor.then((m) => console.log('PORT ' + (m ? m.port : 'none')));
  setTimeout(() => {}, Number(process.env.APP_MS || 3000));
`;

function get(port, p) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: b, type: res.headers['content-type'] }));
    }).on('error', reject);
  });
}

/** Starts `node <args>` in the package root; resolves once it printed its port. */
function startApp(args, env = {}) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, RUNTIME_SAMPLER_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const port = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /PORT (\d+|none)/.exec(out);
      if (m) resolve(m[1] === 'none' ? null : Number(m[1]));
      if (/NOT REGISTERED/.test(out)) resolve(undefined);
    });
    child.on('exit', () => reject(new Error(`app exited before its port: ${out} ${err}`)));
  });
  return { child, port, stderr: () => err, stdout: () => out };
}

test('node -r runtime-sampler/register: metrics, health and readiness served, with no code in the app', async () => {
  const app = startApp(['-r', 'runtime-sampler/register', '-e', APP]);
  const port = await app.port;
  assert.ok(port > 0);
  const h = await get(port, '/healthz');
  assert.is(h.status, 200);
  const m = await get(port, '/metrics');
  assert.is(m.status, 200);
  assert.match(m.body, /# TYPE v8js_gc_count_total counter/);
  assert.match(m.body, /nodejs_eventloop_stall_count_total 0/, 'the watchdog is on');
  assert.is((await get(port, '/readyz')).status, 200);
  assert.match((await get(port, '/')).type, /text\/html/);
  app.child.kill();
  // RUNTIME_SAMPLER_PORT=0: the port the OS chose is announced, and that is all.
  assert.is(app.stderr(), `runtime-sampler: monitor listening on http://127.0.0.1:${port} (port chosen by the OS)\n`, 'nothing else on stderr with a valid configuration');
});

test('port 0: the chosen port is announced once on stderr and given by registered(); a set port is not announced', async () => {
  const SHOW = `
    const r = require('runtime-sampler').registered();
    console.log('BEFORE ' + r.url + ' ' + r.port);
    r.monitor.then((m) => console.log('PORT ' + m.port + ' URL ' + r.url + ' ' + r.port));
    setTimeout(() => {}, 300);
  `;
  const app = startApp(['-r', 'runtime-sampler/register', '-e', SHOW]);
  const port = await app.port;
  await new Promise((r) => app.child.on('exit', r));
  assert.match(app.stdout(), /^BEFORE null null$/m);
  assert.match(app.stdout(), new RegExp(`^PORT ${port} URL http://127\\.0\\.0\\.1:${port} ${port}$`, 'm'));
  assert.is(app.stderr(), `runtime-sampler: monitor listening on http://127.0.0.1:${port} (port chosen by the OS)\n`);
  const fixed = startApp(['-r', 'runtime-sampler/register', '-e', SHOW], { RUNTIME_SAMPLER_PORT: String(port) });
  assert.is(await fixed.port, port);
  await new Promise((r) => fixed.child.on('exit', r));
  assert.match(fixed.stdout(), new RegExp(`URL http://127\\.0\\.0\\.1:${port} ${port}$`, 'm'));
  assert.is(fixed.stderr(), '', 'a port that was asked for is not announced');
});

test('on the JavaScript backend the preload serves the same endpoints and prints nothing more', async () => {
  // No watchdog and no publishing there: the defaults do not ask for them (no warnings), and
  // RUNTIME_SAMPLER_BACKEND / RUNTIME_SAMPLER_PREBUILDS_ONLY are known settings, not typos.
  const app = startApp(['-r', 'runtime-sampler/register', '-e', APP], { RUNTIME_SAMPLER_BACKEND: 'js', RUNTIME_SAMPLER_BINARY: '', RUNTIME_SAMPLER_PREBUILDS_ONLY: '1' });
  const port = await app.port;
  assert.ok(port > 0);
  assert.is((await get(port, '/healthz')).status, 200);
  assert.is((await get(port, '/readyz')).status, 200);
  const m = await get(port, '/metrics');
  assert.is(m.status, 200);
  assert.match(m.body, /^nodejs_eventloop_time_seconds_total\{nodejs_eventloop_state="idle"\} \d/m);
  assert.not.match(m.body, /^nodejs_eventloop_stall_count_total /m, 'no watchdog on the JS backend: no stall series');
  app.child.kill();
  assert.is(app.stderr(), `runtime-sampler: monitor listening on http://127.0.0.1:${port} (port chosen by the OS)\n`);
  // Asked for explicitly, the watchdog's absence is said once.
  const asked = startApp(['-r', 'runtime-sampler/register', '-e', APP], { RUNTIME_SAMPLER_BACKEND: 'js', RUNTIME_SAMPLER_BINARY: '', RUNTIME_SAMPLER_WATCHDOG_MS: '200' });
  await asked.port;
  asked.child.kill();
  assert.match(asked.stderr(), /the stall watchdog needs the native backend/);
});

test('node --import runtime-sampler/register (ESM) does the same', async () => {
  const app = startApp(['--import', 'runtime-sampler/register', '-e', APP]);
  const port = await app.port;
  assert.ok(port > 0);
  assert.is((await get(port, '/healthz')).status, 200);
  app.child.kill();
});

test('bad values: one clear line each on stderr, and the app still runs', () => {
  const r = spawnSync(process.execPath, ['-r', 'runtime-sampler/register', '-e', 'console.log("APP RAN", require("runtime-sampler").registered() !== null)'], {
    cwd: root, encoding: 'utf8', timeout: 30000,
    env: { ...process.env, RUNTIME_SAMPLER_PORT: 'eighty', RUNTIME_SAMPLER_READY_ELU: '7', RUNTIME_SAMPLER_WATCHDOG_MS: '-1', RUNTIME_SAMPLER_TYPO: '1' },
  });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /APP RAN true/, 'the sampler runs without the server');
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 4, r.stderr);
  assert.match(r.stderr, /runtime-sampler: RUNTIME_SAMPLER_PORT="eighty" is not valid \(an integer from 0 to 65535\); the HTTP server is not started/);
  assert.match(r.stderr, /RUNTIME_SAMPLER_READY_ELU="7" is not valid \(a number from 0\.01 to 1\); using no limit/);
  assert.match(r.stderr, /RUNTIME_SAMPLER_WATCHDOG_MS="-1" is not valid/);
  assert.match(r.stderr, /RUNTIME_SAMPLER_TYPO is not a runtime-sampler setting/);
});

test('a port in use: a warning, and the app runs', async () => {
  const blocker = http.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const taken = blocker.address().port;
  const app = startApp(['-r', 'runtime-sampler/register', '-e', APP], { RUNTIME_SAMPLER_PORT: String(taken), APP_MS: '200' });
  assert.is(await app.port, null);
  await new Promise((r) => app.child.on('exit', r));
  assert.is(app.child.exitCode, 0);
  assert.match(app.stderr(), /runtime-sampler: the HTTP server did not start \(.*EADDRINUSE.*\); the app runs without it/);
  blocker.close();
});

test('a non-loopback bind without a token prints a warning; RUNTIME_SAMPLER_DISABLE=1 starts nothing', async () => {
  const app = startApp(['-r', 'runtime-sampler/register', '-e', APP], { RUNTIME_SAMPLER_HOST: '0.0.0.0', APP_MS: '100' });
  assert.ok((await app.port) > 0);
  await new Promise((r) => app.child.on('exit', r));
  assert.match(app.stderr(), /listening on 0\.0\.0\.0 \(not loopback\) without RUNTIME_SAMPLER_TOKEN/);
  const off = spawnSync(process.execPath, ['-r', 'runtime-sampler/register', '-e', APP], { cwd: root, encoding: 'utf8', env: { ...process.env, RUNTIME_SAMPLER_DISABLE: '1' } });
  assert.match(off.stdout, /NOT REGISTERED/);
});

test('the preload does nothing in worker threads and does not keep the process alive', () => {
  const r = spawnSync(process.execPath, ['-r', 'runtime-sampler/register', '-e', `
    const { Worker } = require('node:worker_threads');
    const w = new Worker("console.log('WORKER', require('runtime-sampler').registered() === null)", { eval: true });
    w.on('exit', () => console.log('MAIN', require('runtime-sampler').registered() !== null));
  `], { cwd: root, encoding: 'utf8', env: { ...process.env, RUNTIME_SAMPLER_PORT: '0' }, timeout: 20000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /WORKER true/);
  assert.match(r.stdout, /MAIN true/);
});

test('CLI: --help for each command, --version, exit codes for usage errors', () => {
  const cli = (...args) => spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: 'utf8', timeout: 30000 });
  const main = cli('--help');
  assert.is(main.status, 0);
  assert.match(main.stdout, /runtime-sampler run \[options\]/);
  assert.match(main.stdout, /Exit codes: 0 success, 1 failure, 2 usage error/);
  for (const cmd of ['ps', 'top', 'stat', 'postmortem']) assert.match(main.stdout, new RegExp(`\n  runtime-sampler ${cmd} `), cmd);
  for (const cmd of ['run', 'snapshot', 'diagnose', 'bench', 'ps', 'top', 'stat', 'postmortem']) {
    const h = cli(cmd, '--help');
    assert.is(h.status, 0, cmd);
    assert.match(h.stdout, new RegExp(`Usage: runtime-sampler ${cmd}`));
    assert.match(h.stdout, /Exit code/);
  }
  assert.match(cli('--version').stdout, /^\d+\.\d+\.\d+/);
  const none = cli();
  assert.is(none.status, 2);
  const unknown = cli('frobnicate');
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const badPort = cli('run', '--port', 'x', '--', 'app.js');
  assert.is(badPort.status, 2);
  assert.match(badPort.stderr, /--port="x" is not valid \(an integer from 0 to 65535\)/);
  const badOpt = cli('run', '--colour', 'app.js');
  assert.is(badOpt.status, 2);
  assert.match(badOpt.stderr, /--colour/);
  assert.is(cli('run').status, 2);
  assert.is(cli('snapshot').status, 2);
  assert.is(cli('snapshot', 'ftp://x').status, 2);
  assert.is(cli('bench', '--fast').status, 2);
  assert.is(cli('diagnose').status, 2);
  const badWindow = cli('diagnose', 'http://127.0.0.1:9', '--window', 'soon');
  assert.is(badWindow.status, 2);
  assert.match(badWindow.stderr, /--window "soon" is not a duration/);
  assert.is(cli('diagnose', 'http://127.0.0.1:9').status, 1);
  const refused = cli('snapshot', 'http://127.0.0.1:9');
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /ECONNREFUSED/);
});

test('CLI: run passes the app its arguments and exit code; snapshot prints a running process\'s metrics', async () => {
  const exit = spawnSync(process.execPath, [BIN, 'run', '--port', '0', '--', '-e', 'console.log(JSON.stringify(process.argv.slice(1))); process.exit(7)', 'a', '--b'], { cwd: root, encoding: 'utf8', timeout: 30000 });
  assert.is(exit.status, 7, exit.stderr);
  assert.match(exit.stdout, /\["a","--b"\]/);
  const app = spawn(process.execPath, [BIN, 'run', '--port', '0', '--watchdog-ms', '50', '--', '-e', APP], { cwd: root, env: { ...process.env, APP_MS: '4000' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise((resolve) => app.stdout.on('data', (d) => { out += d; const m = /PORT (\d+)/.exec(out); if (m) resolve(Number(m[1])); }));
  const snap = spawnSync(process.execPath, [BIN, 'snapshot', `http://127.0.0.1:${port}`], { encoding: 'utf8', timeout: 30000 });
  assert.is(snap.status, 0, snap.stderr);
  assert.match(snap.stdout, /^v8js\.heap\.used\s+\d+(\.\d)? MiB$/m);
  assert.match(snap.stdout, /^nodejs\.eventloop\.delay\s+n=\d+ p50=[\d.]+ ms p99=/m);
  assert.match(snap.stdout, /^v8js\.gc\.count\s+v8js\.gc\.type=scavenge\s+\d+$/m);
  const json = spawnSync(process.execPath, [BIN, 'snapshot', `http://127.0.0.1:${port}/metrics.json`, '--json'], { encoding: 'utf8' });
  assert.is(JSON.parse(json.stdout).schema, 'runtime-sampler/metrics/v1');
  // diagnose: the running process's report, as text and as JSON.
  const diag = spawnSync(process.execPath, [BIN, 'diagnose', `http://127.0.0.1:${port}`, '--window', '2s'], { encoding: 'utf8', timeout: 30000 });
  assert.is(diag.status, 0, diag.stderr);
  assert.match(diag.stdout, /^runtime-sampler diagnosis: (OK|WARN|CRITICAL) — window \d+\.\d s/);
  assert.match(diag.stdout, /^\[(ok {2}|WARN|CRIT)\] Leak \(old generation after mark-compacts\): not suspected/m);
  assert.match(diag.stdout, /^Alerts \(built-in rules\): none$/m);
  const dj = spawnSync(process.execPath, [BIN, 'diagnose', `http://127.0.0.1:${port}`, '--json'], { encoding: 'utf8', timeout: 30000 });
  assert.is(dj.status, 0, dj.stderr);
  const report = JSON.parse(dj.stdout);
  assert.ok(['ok', 'warn', 'critical'].includes(report.verdict));
  assert.ok(report.findings.some((f) => f.id === 'gc-cpu'));
  assert.equal(report.alerts, []);
  const tooLong = spawnSync(process.execPath, [BIN, 'diagnose', `http://127.0.0.1:${port}`, '--window', '2h'], { encoding: 'utf8', timeout: 30000 });
  assert.is(tooLong.status, 1);
  assert.match(tooLong.stderr, /HTTP 400: window must be from 1000 ms to 600000 ms, got "2h"/);
  app.kill('SIGTERM');
  const code = await new Promise((r) => app.on('exit', (c) => r(c)));
  assert.is(code, 128 + 15, 'run exits as the app did (SIGTERM)');
});

test.run();
