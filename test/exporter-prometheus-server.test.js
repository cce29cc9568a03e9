// node-flags: --expose-gc
// tier: extra — starts a real Prometheus
// A real Prometheus server (Debian package `prometheus`, installed by .ci/run) scrapes
// toPrometheus() over HTTP in both formats — OpenMetrics, which it negotiates first, and
// the 0.0.4 text format — and its query API must return our series, labels and histograms.
const { test } = require('uvu');
const assert = require('uvu/assert');
const http = require('node:http');
const { Sampler, toPrometheus, negotiateFormat } = require('..');

const { sleep, getJSON, has, startPrometheus } = require('./helpers/prometheus');
const { testUnless } = require('./helpers/skip');

testUnless(test, has('prometheus') ? null : 'prometheus is not installed (Debian package prometheus)', 'Prometheus scrapes both formats; series, labels and histograms come back through its API', async () => {
  const s = new Sampler().start();
  for (let i = 0; i < 3; i++) globalThis.gc();
  const served = { om: [], text: [] };
  const server = http.createServer((req, res) => {
    // /metrics negotiates like a user's endpoint would; /metrics-text forces 0.0.4.
    const job = req.url === '/metrics-text' ? 'text' : 'om';
    const { format, contentType } = job === 'text' ? negotiateFormat(undefined) : negotiateFormat(req.headers.accept);
    served[job].push(format);
    res.writeHead(200, { 'content-type': contentType });
    res.end(toPrometheus(s, { format, labels: { app: 'rs-test' }, detail: 'full' }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const target = `127.0.0.1:${server.address().port}`;
  const prom = await startPrometheus([
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 900ms',
    'scrape_configs:',
    '  - job_name: om',
    `    static_configs: [{ targets: ['${target}'] }]`,
    '  - job_name: text',
    '    metrics_path: /metrics-text',
    `    static_configs: [{ targets: ['${target}'] }]`,
    '',
  ].join('\n'));
  const api = prom.api;
  try {
    // Both targets up, each after at least two scrapes.
    let targets = [];
    for (let i = 0; i < 120; i++) {
      await sleep(250);
      try {
        targets = (await getJSON(`${api}/targets`)).activeTargets;
      } catch {
        continue; // not listening yet
      }
      if (targets.length === 2 && targets.every((t) => t.health === 'up') && served.om.length >= 2 && served.text.length >= 2) break;
    }
    assert.is(targets.length, 2, prom.log());
    for (const t of targets) assert.is(t.health, 'up', `${t.labels.job}: ${t.lastError}\n${prom.log()}`);
    assert.ok(served.om.every((f) => f === 'openmetrics'), `Prometheus negotiated ${served.om}`);
    assert.ok(served.text.every((f) => f === 'prometheus'));
    await sleep(1200); // one more scrape into the head block's queryable state
    const { query } = prom;
    for (const job of ['om', 'text']) {
      const msc = await query(`v8js_gc_count_total{job="${job}",v8js_gc_type="mark_sweep_compact"}`);
      assert.is(msc.length, 1, `${job}: ${JSON.stringify(msc)}`);
      assert.ok(Number(msc[0].value[1]) >= 3, `${job}: mark-sweep-compacts ${msc[0].value[1]}`);
      assert.is(msc[0].metric.app, 'rs-test');
      const types = await query(`v8js_gc_count_total{job="${job}"}`);
      assert.is(types.length, 5, `${job}: GC types`);
      // Histograms: one bucket series per le and type, +Inf equal to _count.
      const inf = await query(`v8js_gc_duration_seconds_bucket{job="${job}",le="+Inf"}`);
      const count = await query(`v8js_gc_duration_seconds_count{job="${job}"}`);
      assert.is(inf.length, 5);
      for (const c of count) {
        const b = inf.find((x) => x.metric.v8js_gc_type === c.metric.v8js_gc_type);
        assert.is(b.value[1], c.value[1]);
      }
      const q = await query(`histogram_quantile(0.5, sum by (le) (v8js_gc_duration_seconds_bucket{job="${job}",v8js_gc_type="mark_sweep_compact"}))`);
      assert.ok(Number(q[0].value[1]) > 0, `${job}: median GC pause ${JSON.stringify(q)}`);
      const used = await query(`v8js_heap_used_bytes{job="${job}"}`);
      assert.ok(Number(used[0].value[1]) > 1e6);
      const state = await query(`nodejs_eventloop_time_seconds_total{job="${job}"}`);
      assert.equal(state.map((x) => x.metric.nodejs_eventloop_state).sort(), ['active', 'idle']);
      const samplesScraped = await query(`scrape_samples_scraped{job="${job}"}`);
      assert.ok(Number(samplesScraped[0].value[1]) > 150, `${job}: ${samplesScraped[0].value[1]} samples`);
    }
    // The two formats carry the same series (OpenMetrics adds nothing Prometheus stores twice).
    const om = await query('count({job="om"})');
    const text = await query('count({job="text"})');
    assert.is(om[0].value[1], text[0].value[1]);
  } finally {
    await prom.stop();
    server.close();
    s.close();
  }
});

test.run();
