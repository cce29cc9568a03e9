// versions: edges — node:cluster and the monitor
// A node:cluster primary with the preload serves the whole cluster: every process's series
// labelled pid and worker_id, the aggregate (no pid), /processes; workers bind no port of
// their own; a stuck worker is still read, with its stall and its stack; a worker that
// exits drops out without failing the scrape. (test/cluster-load.test.js: the same under
// HTTP load with 4 workers and a 3 s stall, the test.)
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { testUnless } = require('./helpers/skip');
const { get, series, workersIn, snake, startCluster } = require('./helpers/cluster');
const { listPublished, GC_TYPES, Sampler, startMonitorThread } = require('..');
const { throwsAll } = require('./helpers/throws');

const root = path.join(__dirname, '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let c = null;

async function waitFor(what, fn, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(30);
  }
}

/** Scrapes until two scrapes in a row agree on `pick` (nothing changed between them): the second. */
async function stableScrape(port, pick) {
  let prev = null;
  for (let i = 0; i < 50; i++) {
    const m = await get(port, '/metrics');
    assert.is(m.status, 200);
    const v = JSON.stringify(pick(m.body));
    if (v === prev) return m.body;
    prev = v;
    await sleep(20);
  }
  throw new Error('the values never held still for two scrapes');
}

test.before(async () => {
  c = await startCluster(2, { RUNTIME_SAMPLER_STALL_STACK: '1' });
  await waitFor('both workers served', async () => workersIn((await get(c.port, '/metrics')).body).size === 3);
});

test.after(async () => {
  await c?.stop();
});

test('workers bind no port: the primary alone says where it listens', async () => {
  // Before the workers knew they were workers (NODE_UNIQUE_ID is gone by the time a
  // preload runs), each started a monitor of its own: one more line each.
  await sleep(300);
  assert.is(c.stderr(), `runtime-sampler: monitor listening on http://127.0.0.1:${c.port} (port chosen by the OS)\n`);
});

test('every process labelled pid and worker_id (the primary is worker_id 0), plus the aggregate without', async () => {
  const body = (await get(c.port, '/metrics')).body;
  const ids = workersIn(body);
  assert.equal([...ids.keys()].sort(), ['0', '1', '2']);
  assert.is(ids.get('0'), c.child.pid);
  assert.ok(ids.get('1') !== ids.get('2') && ids.get('1') !== c.child.pid);
  // The aggregate: one series per GC type without pid; each process has its own.
  const gc = series(body, 'v8js_gc_count_total');
  assert.is(gc.filter((s) => s.labels.pid === undefined).length, GC_TYPES.length);
  assert.is(gc.length, GC_TYPES.length * 4);
  for (const s of gc) assert.is(s.labels.pid === undefined, s.labels.worker_id === undefined);
  // The published headers carry the cluster worker id (not from NODE_UNIQUE_ID: it is gone).
  const published = new Map(listPublished().map((p) => [p.pid, p.workerId]));
  assert.is(published.get(ids.get('1')), 1);
  assert.is(published.get(ids.get('2')), 2);
  assert.is(published.get(c.child.pid), null);
  const counts = series(body, 'runtime_sampler_cluster_workers');
  assert.equal(counts.map((s) => s.value), [2]);
  assert.equal(series(body, 'runtime_sampler_cluster_worker_exits_total').map((s) => s.value), [0]);
});

const noPromtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error ? 'promtool is not installed (Debian package prometheus)' : null;
testUnless(test, noPromtool, 'promtool check metrics accepts the cluster exposition', async () => {
  const body = (await get(c.port, '/metrics')).body;
  const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
  assert.is(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
});

test('OpenMetrics: the cluster families before one # EOF', async () => {
  const m = await get(c.port, '/metrics', { accept: 'application/openmetrics-text' });
  assert.match(m.headers['content-type'], /openmetrics/);
  assert.ok(m.body.endsWith('runtime_sampler_cluster_worker_exits_total 0\n# EOF\n'), m.body.slice(-300));
  assert.is(m.body.match(/# EOF/g).length, 1);
  assert.match(m.body, /^# TYPE runtime_sampler_cluster_worker_exits counter$/m);
});

test('the aggregate is the sum of the processes: GC counts by type, and RSS (per process, not the largest)', async () => {
  const pick = (body) => series(body, 'v8js_gc_count_total').concat(series(body, 'process_memory_usage_bytes'));
  const body = await stableScrape(c.port, pick);
  for (const t of GC_TYPES) {
    const all = series(body, 'v8js_gc_count_total').filter((s) => s.labels.v8js_gc_type === snake(t));
    const total = all.filter((s) => s.labels.pid === undefined);
    const each = all.filter((s) => s.labels.pid !== undefined);
    assert.is(each.length, 3);
    assert.is(total[0].value, each.reduce((a, s) => a + s.value, 0), t);
  }
  const rss = series(body, 'process_memory_usage_bytes');
  const each = rss.filter((s) => s.labels.pid !== undefined);
  assert.is(each.length, 3);
  assert.ok(each.every((s) => s.value > 1e6));
  assert.is(rss.find((s) => s.labels.pid === undefined).value, each.reduce((a, s) => a + s.value, 0));
});

test('/metrics.json, /processes and /live.json: the cluster', async () => {
  const doc = JSON.parse((await get(c.port, '/metrics.json')).body);
  const gc = doc.metrics.find((m) => m.name === 'v8js.gc.count');
  assert.equal([...new Set(gc.points.map((p) => p.attributes.worker_id ?? 'aggregate'))].sort(), ['0', '1', '2', 'aggregate']);
  const p = JSON.parse((await get(c.port, '/processes')).body);
  assert.is(p.mode, 'cluster');
  assert.equal(p.processes.map((x) => [x.workerId, x.state]), [[0, 'served'], [1, 'served'], [2, 'served']]);
  assert.is(p.processes[0].pid, c.child.pid);
  assert.match(p.processes[1].title, /cluster-app\.cjs/);
  assert.is(p.exits, 0);
  // The page shows the aggregate: its GC count is the processes' sum (read while none collects).
  const gcSum = async () => JSON.parse((await get(c.port, '/processes')).body).processes.reduce((a, x) => a + x.gcCount, 0);
  await waitFor('a /live.json between two equal /processes', async () => {
    const before = await gcSum();
    const live = JSON.parse((await get(c.port, '/live.json')).body);
    if (before !== (await gcSum())) return false;
    assert.is(live.processes, 3);
    assert.is(live.threadId, -1);
    assert.is(live.gc.count, before);
    assert.is(live.ready.ready, true);
    return true;
  });
});

test('a stuck worker is still read: its stall in progress, and its stack with the function', async () => {
  const pid = workersIn((await get(c.port, '/metrics')).body).get('1');
  await c.ask(1, { cmd: 'busy', ms: 1500 });
  const seen = await waitFor('the stall and its stack', async () => {
    const p = JSON.parse((await get(c.port, '/processes')).body).processes.find((x) => x.pid === pid);
    return p.stall.active && /busyLoopForTest/.test(p.lastStallStack ?? '') ? p : null;
  }, 1400);
  assert.ok(seen.stall.durationMs > 0);
  const m = await get(c.port, '/metrics');
  assert.is(m.status, 200);
  const active = series(m.body, 'nodejs_eventloop_stall_active');
  assert.is(active.find((s) => s.labels.worker_id === '1').value, 1);
  assert.is(active.find((s) => s.labels.worker_id === '2').value, 0);
  assert.is(active.find((s) => s.labels.pid === undefined).value, 1, 'the aggregate: a stall on any member');
  await waitFor('the stall ends', async () => series((await get(c.port, '/metrics')).body, 'nodejs_eventloop_stall_active').every((s) => s.value === 0), 3000);
});

test('a worker that exits drops out, and the scrape goes on answering', async () => {
  const before = workersIn((await get(c.port, '/metrics')).body);
  process.kill(before.get('2'), 'SIGKILL');
  await waitFor('worker 2 gone', async () => {
    const m = await get(c.port, '/metrics');
    assert.is(m.status, 200);
    return !workersIn(m.body).has('2');
  });
  let body = (await get(c.port, '/metrics')).body;
  assert.equal([...workersIn(body).keys()].sort(), ['0', '1']);
  assert.equal(series(body, 'runtime_sampler_cluster_worker_exits_total').map((s) => s.value), [1]);
  c.tell(1, { cmd: 'exit', code: 0 });
  await waitFor('worker 1 gone', async () => !workersIn((await get(c.port, '/metrics')).body).has('1'));
  body = (await get(c.port, '/metrics')).body;
  assert.equal([...workersIn(body).keys()], ['0']);
  assert.equal(series(body, 'runtime_sampler_cluster_worker_exits_total').map((s) => s.value), [2]);
  assert.is(JSON.parse((await get(c.port, '/processes')).body).processes.length, 1);
  assert.is(JSON.parse((await get(c.port, '/live.json')).body).processes, 1);
});

test('an app that never forks is served as before (no pid labels) and exits on its own', async () => {
  const app = spawn(process.execPath, ['-r', 'runtime-sampler/register', '-e', 'setTimeout(() => {}, 1500)'], {
    cwd: root, env: { ...process.env, RUNTIME_SAMPLER_PORT: '0' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  app.stderr.on('data', (d) => { err += d; });
  const port = await waitFor('its port', () => Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err)?.[1] ?? 0));
  const body = (await get(port, '/metrics')).body;
  assert.not.match(body, /pid="/);
  assert.not.match(body, /runtime_sampler_cluster/);
  const p = JSON.parse((await get(port, '/processes')).body);
  assert.is(p.mode, 'process');
  assert.is(p.processes.length, 1);
  const t0 = Date.now();
  const code = await new Promise((r) => app.once('exit', r));
  assert.is(code, 0);
  assert.ok(Date.now() - t0 < 3000, 'nothing keeps it alive');
});

test('startMonitorThread(): a bad cluster option, or one outside a primary\'s main thread, is a TypeError', async () => {
  const s = new Sampler();
  throwsAll([
    [() => startMonitorThread({ sampler: s, port: 0, cluster: 5 }), TypeError, /cluster must be true, false or \{ dir \}, got 5/],
    [() => startMonitorThread({ sampler: s, port: 0, cluster: { dri: 'x' } }), TypeError, /cluster: unknown option "dri"; accepted options: dir/],
    [() => startMonitorThread({ sampler: s, port: 0, cluster: { dir: 3 } }), TypeError, /cluster\.dir must be a string, got 3/],
  ]);
  const { Worker } = require('node:worker_threads');
  const w = new Worker(`
    const { Sampler, startMonitorThread } = require(${JSON.stringify(root)});
    try { startMonitorThread({ sampler: new Sampler(), port: 0, cluster: true }); require('node:worker_threads').parentPort.postMessage('no error'); }
    catch (e) { require('node:worker_threads').parentPort.postMessage(e.constructor.name + ': ' + e.message); }
  `, { eval: true });
  const said = await new Promise((r) => w.once('message', r));
  await w.terminate();
  assert.match(said, /^TypeError: cluster: only a node:cluster primary's main thread has workers to serve/);
  s.close();
});

test.run();
