// versions: edges — the sidecar over published files and node:http
// `runtime-sampler serve --all | <pid>`, the sidecar: every live published process of the
// directory in /metrics, labelled pid and title (titles from other processes, escaped and
// cleaned), never a dead one (only counted); new processes within the rescan period; the
// token on every endpoint but /healthz; its command line checked.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { testUnless } = require('./helpers/skip');
const { get, series } = require('./helpers/cluster');

const root = path.join(__dirname, '..');
const BIN = path.join(root, 'bin', 'runtime-sampler.js');
const TOKEN = 'sidecar-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-serve-'));
fs.chmodSync(dir, 0o700);
const children = [];

// Publishes under the title given, until SIGTERM (exit 0: its file is removed).
const PUBLISHER = `
  process.title = process.argv[1];
  new (require(${JSON.stringify(root)}).Sampler)({ publish: true }).start();
  process.on('SIGTERM', () => process.exit(0));
  setInterval(() => {}, 1000);
  console.log('PUBLISHED');
`;

async function publisher(title) {
  const child = spawn(process.execPath, ['-e', PUBLISHER, title], { env: { ...process.env, RUNTIME_SAMPLER_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { if (/PUBLISHED/.test(d)) resolve(); });
    child.once('exit', () => reject(new Error(`publisher ${title} exited`)));
  });
  return child;
}

async function startServe(args) {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...process.env, RUNTIME_SAMPLER_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const port = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearInterval(t);
        resolve(Number(m[1]));
      }
    }, 20);
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  return { child, port, stderr: () => err };
}

const exited = (child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r)));
const pidsIn = (body) => [...new Set(series(body, 'v8js_gc_count_total').map((s) => Number(s.labels.pid)))].sort((a, b) => a - b);
const gauge = (body, name) => series(body, name)[0]?.value;

test.after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map(exited));
  fs.rmSync(dir, { recursive: true, force: true });
});

// A title another process chose: quotes, a backslash, a newline, a tab, non-ASCII.
const HOSTILE = 'svc-a "quoted" back\\slash\nnext\tline é';
const HOSTILE_CLEAN = 'svc-a "quoted" back\\slash?next?line é';
const escapeLabel = (v) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

let a; let b; let s;

test('serve --all: the live processes labelled pid and title, not a dead one', async () => {
  a = await publisher(HOSTILE);
  b = await publisher('svc-b');
  const dead = await publisher('svc-dead');
  dead.kill('SIGKILL');
  await exited(dead);
  assert.ok(fs.existsSync(path.join(dir, `${dead.pid}-0`)), 'a killed process leaves its file');
  // A file under a published name that is no published block.
  fs.writeFileSync(path.join(dir, '2147483646-0'), Buffer.alloc(8192, 0x41), { mode: 0o600 });
  s = await startServe(['--all', '--port', '0', '--dir', dir, '--token', TOKEN]);
  const m = await get(s.port, '/metrics', AUTH);
  assert.is(m.status, 200);
  assert.equal(pidsIn(m.body), [a.pid, b.pid].sort((x, y) => x - y));
  const titles = new Map(series(m.body, 'v8js_gc_count_total').map((x) => [Number(x.labels.pid), x.labels.title]));
  assert.is(titles.get(a.pid), escapeLabel(HOSTILE_CLEAN));
  assert.is(titles.get(b.pid), 'svc-b');
  assert.ok(m.body.includes(`pid="${a.pid}",title="${escapeLabel(HOSTILE_CLEAN)}"`));
  assert.is(gauge(m.body, 'runtime_sampler_published_processes'), 2);
  assert.is(gauge(m.body, 'runtime_sampler_published_dead'), 1);
  assert.is(gauge(m.body, 'runtime_sampler_published_unreadable'), 1);
  assert.match(s.stderr(), /runtime-sampler serve: \S+\/2147483646-0 cannot be read \(.*\); counted in runtime_sampler_published_unreadable\n/);
  assert.not.match(m.body, new RegExp(`pid="${dead.pid}"`));
  const p = JSON.parse((await get(s.port, '/processes', AUTH)).body);
  assert.is(p.mode, 'sidecar');
  assert.equal(p.processes.map((x) => [x.pid, x.title]).sort(), [[a.pid, HOSTILE_CLEAN], [b.pid, 'svc-b']].sort());
  assert.is(p.dead, 1);
  assert.is(p.unreadable.length, 1);
  const j = JSON.parse((await get(s.port, '/metrics.json', AUTH)).body);
  assert.equal([...new Set(j.metrics.find((x) => x.name === 'v8js.gc.count').points.map((x) => Number(x.attributes.pid)))].sort(), [a.pid, b.pid].sort());
});

const noPromtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error ? 'promtool is not installed (Debian package prometheus)' : null;
testUnless(test, noPromtool, 'promtool check metrics accepts the sidecar exposition (hostile title included)', async () => {
  const body = (await get(s.port, '/metrics', AUTH)).body;
  const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
  assert.is(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
});

test('the token guards every endpoint but /healthz', async () => {
  for (const p of ['/metrics', '/metrics.json', '/processes', '/readyz', '/live.json', '/']) {
    const r = await get(s.port, p);
    assert.is(r.status, 401, p);
    assert.is(r.headers['www-authenticate'], 'Bearer realm="runtime-sampler"');
    assert.is((await get(s.port, p, { authorization: 'Bearer wrong-token-0123456789' })).status, 401, p);
    assert.is((await get(s.port, p, AUTH)).status, 200, p);
  }
  assert.is((await get(s.port, '/healthz')).status, 200);
  assert.is((await get(s.port, '/nope')).status, 404);
});

test('a process that starts publishing appears within the rescan period (2 s)', async () => {
  const t0 = Date.now();
  const c = await publisher('svc-c');
  for (;;) {
    if (pidsIn((await get(s.port, '/metrics', AUTH)).body).includes(c.pid)) break;
    assert.ok(Date.now() - t0 < 3000, 'within 2 s of publishing (and the publisher\'s start-up)');
    await sleep(50);
  }
  c.kill('SIGTERM');
  await exited(c);
  assert.ok(!fs.existsSync(path.join(dir, `${c.pid}-0`)), 'a clean exit removes its file');
  for (const t1 = Date.now(); pidsIn((await get(s.port, '/metrics', AUTH)).body).includes(c.pid);) {
    assert.ok(Date.now() - t1 < 3000, 'one that exits drops out');
    await sleep(50);
  }
});

test('a process killed between rescans is not served at the next scrape, only counted dead', async () => {
  b.kill('SIGKILL');
  await exited(b);
  await sleep(150); // alive is checked at most every 100 ms
  const m = await get(s.port, '/metrics', AUTH);
  assert.is(m.status, 200);
  assert.equal(pidsIn(m.body), [a.pid]);
  assert.is(gauge(m.body, 'runtime_sampler_published_dead'), 2);
  assert.is(gauge(m.body, 'runtime_sampler_published_processes'), 1);
});

test('serve <pid>: that process only; SIGTERM stops the server (exit 0)', async () => {
  const d = await publisher('svc-d');
  const one = await startServe([String(d.pid), '--port', '0', '--dir', dir]);
  const m = await get(one.port, '/metrics');
  assert.is(m.status, 200, 'no token: open');
  assert.equal(pidsIn(m.body), [d.pid]);
  assert.is(JSON.parse((await get(one.port, '/processes')).body).pid, d.pid);
  one.child.kill('SIGTERM');
  await exited(one.child);
  assert.is(one.child.exitCode, 0);
  s.child.kill('SIGTERM');
  await exited(s.child);
  assert.is(s.child.exitCode, 0);
});

test('usage errors: exit 2 naming the option and what is accepted', () => {
  const run = (...args) => spawnSync(process.execPath, [BIN, 'serve', ...args], { encoding: 'utf8', env: { ...process.env, RUNTIME_SAMPLER_TOKEN: '' } });
  const cases = [
    [[], /which processes\? --all, or a pid/],
    [['--all', '12'], /--all or a pid, not both/],
    [['0'], /"0" is not a pid \(an integer from 1 to 2147483647\)/],
    [['--all', '--port', '70000'], /--port "70000" is not accepted: an integer from 0 to 65535/],
    [['--all', '--port', '-1'], /--port/],
    [['--all', '--host', 'a b'], /--host "a b" is not accepted/],
    [['--all', '--token', 'short'], /--token is not accepted \(5 characters\): at least 16 characters/],
    [['--all', '--dir', ''], /--dir must not be empty/],
    [['--all', '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, re] of cases) {
    const r = run(...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  const help = run('--help');
  assert.is(help.status, 0);
  assert.match(help.stdout, /default 9465/);
});

test('a port in use: a message and exit 1', async () => {
  const http = require('node:http');
  const blocker = http.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const r = spawnSync(process.execPath, [BIN, 'serve', '--all', '--port', String(blocker.address().port), '--dir', dir], { encoding: 'utf8' });
  blocker.close();
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /runtime-sampler serve: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
});

test.run();
