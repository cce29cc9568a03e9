// versions: current — the demo command's own behaviour
// `runtime-sampler demo`: a built-in workload (churn, a periodic stall, a slow leak) under the
// preload; prints the live page's and /metrics' URLs, which answer while it runs, then the
// diagnose() report; --duration ends it with 0, a signal ends it cleanly, and the workload
// never outlives the command. Bad options are usage errors naming the option and the value.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn, spawnSync } = require('node:child_process');
const { readdirSync, readFileSync } = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const BIN = path.join(__dirname, '..', 'bin', 'runtime-sampler.js');
const WORKLOAD = path.join(__dirname, '..', 'dist', 'cjs', 'demo', 'workload.js');

/** Starts the CLI; `lines` collects stdout, `urls()` resolves once both URLs are printed. */
function start(...args) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const r = { child, stdout: '', stderr: '' };
  child.stderr.on('data', (d) => { r.stderr += d; });
  r.urls = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      r.stdout += d;
      const page = /^live page: (\S+)$/m.exec(r.stdout);
      const metrics = /^metrics: +(\S+)$/m.exec(r.stdout);
      if (page && metrics) resolve({ page: page[1], metrics: metrics[1] });
    });
    child.on('exit', () => reject(new Error(`exited before printing the URLs: ${r.stdout} ${r.stderr}`)));
  });
  r.exit = new Promise((resolve) => child.on('exit', (status, signal) => resolve({ status, signal, at: Date.now() })));
  return r;
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
    }).on('error', reject);
  });
}

/** Pids of processes running this checkout's demo workload. */
function workloads() {
  const pids = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(WORKLOAD)) pids.push(Number(p));
    } catch { /* it exited meanwhile */ }
  }
  return pids;
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function gone(pids, ms = 3000) {
  const until = Date.now() + ms;
  while (pids.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(alive);
}

test('demo --duration 8: the URLs answer during the run, the report shows the stall, exit 0, no workload left', async () => {
  const before = workloads();
  const t0 = Date.now();
  const r = start('demo', '--duration', '8');
  const urls = await r.urls;
  const mine = workloads().filter((p) => !before.includes(p));
  assert.is(mine.length, 1, 'one workload process');

  const metrics = await get(urls.metrics);
  assert.is(metrics.status, 200);
  assert.match(metrics.body, /^# TYPE nodejs_eventloop_stall_count_total counter$/m);
  // The churn is there: scavenges counted already.
  const scavenges = /^v8js_gc_count_total\{v8js_gc_type="scavenge"\} (\d+)$/m.exec(metrics.body);
  assert.ok(scavenges && Number(scavenges[1]) > 0, 'scavenges counted');
  assert.match(metrics.body, /^v8js_memory_heap_used_bytes\{v8js_heap_space_name="old_space"\}/m);
  const page = await get(urls.page);
  assert.is(page.status, 200);
  assert.match(page.type, /^text\/html/);
  assert.match(page.body, /<html/i);

  const { status, at } = await r.exit;
  assert.is(status, 0, r.stderr);
  // --duration 8 ends it at 8 s, plus the report's fetch and the workload's exit.
  assert.ok(at - t0 >= 8000 && at - t0 < 14_000, `took ${at - t0} ms`);
  assert.match(r.stdout, /^demo workload: stall #1: the loop was blocked for 3\d\d ms/m);
  const report = r.stdout.slice(r.stdout.indexOf('--- diagnose() after'));
  assert.match(report, /^--- diagnose\(\) after [89] s \(http:\/\/127\.0\.0\.1:\d+\/diagnose\?format=text\) ---\nruntime-sampler diagnosis: (WARN|CRITICAL) — window/m);
  // The planted 300 ms stall: the watchdog's stall, and a loop delay far above normal.
  assert.match(report, /^\[WARN\s*\] Event-loop stalls: 1 stall/m);
  assert.equal(await gone(mine), [], 'the workload exited with the command');
  const after = await get(urls.metrics).then(() => 'answered', (e) => e.code);
  assert.is(after, 'ECONNREFUSED', 'nothing serves the monitor\'s port any more');
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  test(`demo without --duration: ${sig} stops it cleanly (exit 0, workload gone)`, async () => {
    const before = workloads();
    const r = start('demo');
    await r.urls;
    const mine = workloads().filter((p) => !before.includes(p));
    assert.is(mine.length, 1);
    const sent = Date.now();
    r.child.kill(sig);
    const { status, at } = await r.exit;
    assert.is(status, 0, r.stderr);
    assert.ok(at - sent < 3000, `took ${at - sent} ms`);
    assert.equal(await gone(mine), []);
  });
}

test('demo killed outright (SIGKILL): the workload notices the closed channel and exits', async () => {
  const before = workloads();
  const r = start('demo');
  await r.urls;
  const mine = workloads().filter((p) => !before.includes(p));
  assert.is(mine.length, 1);
  r.child.kill('SIGKILL');
  await r.exit;
  assert.equal(await gone(mine), []);
});

test('bad options: exit 2, naming the option, the value and what is accepted; nothing started', () => {
  const before = workloads();
  const cases = [
    [['--duration', 'abc'], /--duration "abc" is not accepted: a duration from 1 s to 24 h, as seconds \(90\) or with a unit \(90s, 2m, 1h\)/],
    [['--duration', '0'], /--duration "0" is not accepted/],
    [['--duration', '500ms'], /--duration "500ms" is not accepted/],
    [['--duration', '25h'], /--duration "25h" is not accepted/],
    [['--duration', '-5'], /--duration/],
    [['--duration'], /--duration/],
    [['--port', '70000'], /--port="70000" is not valid \(an integer from 0 to 65535\)/],
    [['--port', 'x'], /--port="x" is not valid/],
    [['--bogus'], /--bogus/],
    [['extra'], /extra/],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(process.execPath, [BIN, 'demo', ...args], { encoding: 'utf8' });
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, message, r.stderr);
    assert.match(r.stderr, /runtime-sampler demo --help/);
  }
  assert.equal(workloads().filter((p) => !before.includes(p)), []);
});

test('demo accepts 90, 90s, 2m and 1.5m as durations', () => {
  const { parseCliDuration } = require('../dist/cjs/cli');
  assert.is(parseCliDuration('demo', '--duration', '90', 1000, 86_400_000), 90_000);
  assert.is(parseCliDuration('demo', '--duration', '90s', 1000, 86_400_000), 90_000);
  assert.is(parseCliDuration('demo', '--duration', '2m', 1000, 86_400_000), 120_000);
  assert.is(parseCliDuration('demo', '--duration', '1.5m', 1000, 86_400_000), 90_000);
  assert.is(parseCliDuration('demo', '--duration', '1h', 1000, 86_400_000), 3_600_000);
});

test('demo --help says what it runs and how it ends', () => {
  const r = spawnSync(process.execPath, [BIN, 'demo', '--help'], { encoding: 'utf8' });
  assert.is(r.status, 0);
  assert.match(r.stdout, /^Usage: runtime-sampler demo \[--duration <time>\] \[--port <n>\]/);
  assert.match(r.stdout, /300 ms synchronous stall/);
  const main = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  assert.match(main.stdout, /runtime-sampler demo /);
});

test.run();
