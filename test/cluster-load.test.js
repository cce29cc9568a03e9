// tier: extra — a 4-worker cluster under HTTP load for ~8 s with a 3 s stall (issue 20's cluster test)
// The primary with the preload and 4 workers serving HTTP under load from another process;
// worker 2 runs a 3 s busy loop in busyLoopForTest(). /metrics, polled every 100 ms
// throughout, answers each time within 100 ms and shows 4 workers; during the loop it
// shows that worker's stall in progress, and /processes its stack with the function. After
// the load, each worker's GC counts in /metrics are exactly its own, and the aggregate's are
// the processes' sum.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn } = require('node:child_process');
const { get, series, workersIn, snake, startCluster } = require('./helpers/cluster');
const { GC_TYPES } = require('..');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const BUSY_MS = 3000;

// Keep-alive GETs from 4 connections, as fast as they are answered, until SIGTERM; prints
// the count of answers.
const LOAD = `
  const http = require('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let done = 0, stop = false;
  const one = () => {
    if (stop) return;
    const req = http.get({ host: '127.0.0.1', port: Number(process.argv[1]), path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => { done++; one(); });
    });
    req.setTimeout(10000, () => req.destroy());
    req.on('error', () => setTimeout(one, 10));
  };
  for (let i = 0; i < 4; i++) one();
  process.on('SIGTERM', () => { stop = true; console.log('ANSWERS ' + done); process.exit(0); });
`;

test('a 4-worker cluster under load, one worker stuck for 3 s: the primary serves all of it', async () => {
  const c = await startCluster(4, { RUNTIME_SAMPLER_STALL_STACK: '1' });
  try {
    for (let i = 0; ; i++) {
      if (workersIn((await get(c.port, '/metrics')).body).size === 5) break;
      assert.ok(i < 300, 'the 4 workers are served within 9 s');
      await sleep(30);
    }
    const pids = workersIn((await get(c.port, '/metrics')).body);
    const stuckPid = pids.get('2');

    const load = spawn(process.execPath, ['-e', LOAD, String(c.appPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let loadOut = '';
    load.stdout.on('data', (d) => { loadOut += d; });

    // /metrics every 100 ms (a new connection each, as a scraper makes), and /processes.
    const polls = [];
    let sawStall = false;
    let sawStack = null;
    let polling = true;
    const metricsPoller = (async () => {
      while (polling) {
        const t = performance.now();
        const m = await get(c.port, '/metrics');
        polls.push({ at: t, ms: m.ms, status: m.status, workers: workersIn(m.body) });
        const active = series(m.body, 'nodejs_eventloop_stall_active').find((s) => s.labels.pid === String(stuckPid));
        if (active?.value === 1) sawStall = true;
        await sleep(Math.max(0, 100 - (performance.now() - t)));
      }
    })();
    const processesPoller = (async () => {
      while (polling) {
        const p = JSON.parse((await get(c.port, '/processes')).body).processes.find((x) => x.pid === stuckPid);
        if (p?.stall.active && /busyLoopForTest/.test(p.lastStallStack ?? '')) sawStack ??= p.lastStallStack;
        await sleep(100);
      }
    })();

    await sleep(2000);
    const busyAt = performance.now();
    await c.ask(2, { cmd: 'busy', ms: BUSY_MS });
    await sleep(BUSY_MS + 1500);
    polling = false;
    await Promise.all([metricsPoller, processesPoller]);
    load.kill('SIGTERM');
    await new Promise((r) => load.once('exit', r));
    const answers = Number(/ANSWERS (\d+)/.exec(loadOut)?.[1]);

    const during = polls.filter((p) => p.at >= busyAt && p.at <= busyAt + BUSY_MS);
    const worst = Math.max(...polls.map((p) => p.ms));
    const worstDuring = Math.max(...during.map((p) => p.ms));
    console.log(`# /metrics: ${polls.length} polls, worst ${worst.toFixed(1)} ms (during the stall: ${during.length} polls, worst ${worstDuring.toFixed(1)} ms); the app answered ${answers} requests`);
    assert.ok(answers > 500, `the workers were under load (${answers} answers)`);
    assert.ok(polls.length >= 60, `polled throughout (${polls.length})`);
    assert.ok(during.length >= 25, `polled during the stall (${during.length})`);
    for (const p of polls) {
      assert.is(p.status, 200);
      assert.ok(p.ms < 100, `every answer within 100 ms: one took ${p.ms.toFixed(1)} ms`);
      assert.equal([...p.workers.keys()].sort(), ['0', '1', '2', '3', '4'], 'the primary and 4 workers, each time');
    }
    assert.ok(sawStall, "the stuck worker's stall in progress was in /metrics");
    assert.ok(sawStack !== null, "the stuck worker's stack, with busyLoopForTest, was in /processes while it was stuck");

    // Each worker's own counts against /metrics, read while it did not collect: its counts
    // before the scrape and after it are the same, so the scrape's must be too.
    const verified = new Set();
    for (let attempt = 0; verified.size < 4; attempt++) {
      assert.ok(attempt < 30, `every worker held still across a scrape (verified: ${[...verified]})`);
      const before = await Promise.all([1, 2, 3, 4].map((id) => c.ask(id, { cmd: 'gc' })));
      const body = (await get(c.port, '/metrics')).body;
      const after = await Promise.all([1, 2, 3, 4].map((id) => c.ask(id, { cmd: 'gc' })));
      const gc = series(body, 'v8js_gc_count_total');
      for (let i = 0; i < 4; i++) {
        if (JSON.stringify(before[i].byType) !== JSON.stringify(after[i].byType)) continue;
        for (const t of GC_TYPES) {
          const s = gc.find((x) => x.labels.pid === String(before[i].pid) && x.labels.v8js_gc_type === snake(t));
          assert.is(s.value, before[i].byType[t], `worker ${i + 1} ${t}`);
        }
        assert.ok(before[i].count > 0, `worker ${i + 1} collected under the load`);
        verified.add(i + 1);
      }
    }

    // The aggregate against the processes' sum, in a scrape between two equal ones.
    let prev = null;
    for (let attempt = 0; ; attempt++) {
      assert.ok(attempt < 50, 'the counts held still for two scrapes');
      const body = (await get(c.port, '/metrics')).body;
      const gc = series(body, 'v8js_gc_count_total');
      const key = JSON.stringify(gc);
      if (key === prev) {
        for (const t of GC_TYPES) {
          const all = gc.filter((s) => s.labels.v8js_gc_type === snake(t));
          const each = all.filter((s) => s.labels.pid !== undefined);
          assert.is(each.length, 5, 'the primary and 4 workers');
          assert.is(all.find((s) => s.labels.pid === undefined).value, each.reduce((a, s) => a + s.value, 0), t);
        }
        break;
      }
      prev = key;
      await sleep(20);
    }
  } finally {
    await c.stop();
  }
});

test.run();
