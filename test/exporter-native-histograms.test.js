// tier: extra — starts a real Prometheus
// versions: current
// The real Prometheus 2.42 (Debian) with --enable-feature=native-histograms scrapes the
// preload's /metrics: it negotiates the protobuf format, the GC pause and loop delay native
// histograms arrive, and histogram_quantile() on them agrees with the process's own
// percentiles within 2 %.
const { test } = require('uvu');
const assert = require('uvu/assert');
const http = require('node:http');
const { sleep, getJSON, has, startPrometheus } = require('./helpers/prometheus');
const { withPreloaded } = require('./helpers/preloaded');
const { testUnless } = require('./helpers/skip');
const { negotiateFormat, PROTOBUF_CONTENT_TYPE } = require('..');

const NO_PROM = has('prometheus') ? null : 'prometheus is not installed (Debian package prometheus)';
const FLAGS = ['--enable-feature=native-histograms'];

// Allocates (scavenges, some mark-compacts) and blocks the loop for 1–12 ms at a time
// until told to stop on stdin... or after `LOAD_MS`: then idles, so the GC histograms stop
// changing while Prometheus and the test read them.
const APP = `
  const { registered } = require('runtime-sampler');
  registered().monitor.then((m) => console.log('PORT ' + m.port));
  let keep = [];
  const until = Date.now() + Number(process.env.LOAD_MS);
  const tick = () => {
    if (Date.now() > until) { keep = null; return; }
    for (let i = 0; i < 20000; i++) keep.push({ i, s: 'x' + i });
    if (keep.length > 400000) keep = [];
    const spin = Date.now() + 1 + Math.floor(Math.random() * 12);
    while (Date.now() < spin);
    setTimeout(tick, 1);
  };
  tick();
  setInterval(() => {}, 1000);
`;

// The Accept header Prometheus 2.42 sends with native histograms enabled (asserted below).
const PROM_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

testUnless(test, NO_PROM, 'Prometheus 2.42 with native histograms asks for protobuf; negotiateFormat picks it', async () => {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers.accept);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end('up_test 1\n');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const prom = await startPrometheus(`global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: t\n    static_configs: [{ targets: ['127.0.0.1:${server.address().port}'] }]\n`, {}, FLAGS);
  try {
    for (let i = 0; i < 80 && seen.length === 0; i++) await sleep(250);
    assert.is(seen[0], PROM_ACCEPT, prom.log());
    assert.equal(negotiateFormat(seen[0], { protobuf: true }), { format: 'protobuf', contentType: PROTOBUF_CONTENT_TYPE });
  } finally {
    await prom.stop();
    server.close();
  }
});

const QUANTILES = [0.5, 0.99];

/**
 * The process's own cumulative histograms (count and percentiles) from its /metrics.json,
 * at the preload's default detail ('standard': one GC pause histogram over every type).
 */
function ownHistograms(doc) {
  const out = {};
  for (const m of doc.metrics) {
    if (m.kind !== 'histogram') continue;
    for (const pt of m.points) {
      if (m.name === 'nodejs.eventloop.delay') out.delay = pt;
      if (m.name === 'v8js.gc.duration' && pt.attributes['v8js.gc.type'] === undefined) out.gc = pt;
    }
  }
  return out;
}

/** The shipped alert rules' and dashboard's quantile queries over the GC pause and loop delay histograms. */
function shippedHistogramQueries() {
  const { readFileSync } = require('node:fs');
  const { join } = require('node:path');
  const root = join(__dirname, '..');
  const wanted = /v8js_gc_duration_seconds|nodejs_eventloop_delay_seconds/;
  const rules = [...readFileSync(join(root, 'alerts/runtime-sampler.rules.yml'), 'utf8').matchAll(/expr: \|\n((?: {10}.*\n)+)/g)]
    .map((m) => m[1].trim())
    .filter((e) => e.includes('histogram_quantile') && wanted.test(e))
    .map((e) => ['rule', e.replace(/\s*>\s*[0-9.]+$/, '')]);
  const panels = JSON.parse(readFileSync(join(root, 'dashboards/runtime-sampler.json'), 'utf8')).panels;
  const dash = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr))
    .filter((e) => e.includes('histogram_quantile') && wanted.test(e))
    .map((e) => ['panel', e.replaceAll('$job', '.*').replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m')]);
  return [...rules, ...dash];
}

testUnless(test, NO_PROM, 'native GC pause and loop delay histograms: Prometheus quantiles agree with the process within 2 %', async () => {
  const LOAD_MS = 9000; // long enough for scrapes while GCs still happen (Prometheus takes seconds to start)
  await withPreloaded(APP, { LOAD_MS: String(LOAD_MS) }, async (port) => {
    const base = `http://127.0.0.1:${port}`;
    const res = await fetch(`${base}/metrics`, { headers: { accept: PROM_ACCEPT } });
    assert.is(res.headers.get('content-type'), PROTOBUF_CONTENT_TYPE);
    const loadEnds = Date.now() + LOAD_MS;
    const prom = await startPrometheus(`global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: app\n    static_configs: [{ targets: ['127.0.0.1:${port}'] }]\n`, {}, FLAGS);
    try {
      // The loop-delay histogram grows while idle too (one sample a timer period): keep
      // every state the process reports, keyed by its loop-delay count, so that one of
      // Prometheus' scrapes can be compared with the very same observations.
      const history = new Map();
      const until = loadEnds + 6000;
      while (Date.now() < until) {
        const own = ownHistograms(await (await fetch(`${base}/metrics.json`)).json());
        if (Date.now() > loadEnds + 500) history.set(own.delay.count, own);
      }
      const series = await prom.query('nodejs_eventloop_delay_seconds[8s]');
      assert.is(series.length, 1, JSON.stringify(series));
      // Native histograms come back as `histograms`, classic series as `values`.
      const samples = series[0].histograms;
      assert.ok(Array.isArray(samples) && samples.length > 0, `no native histogram samples: ${JSON.stringify(series[0]).slice(0, 500)}\n${prom.log()}`);
      const match = samples.find(([, h]) => history.has(Number(h.count)));
      assert.ok(match, `no scrape matched a state the test saw: scraped counts ${samples.map(([, h]) => h.count)}, seen ${[...history.keys()].slice(-20)}`);
      const [ts, scraped] = match;
      const own = history.get(Number(scraped.count));
      // The schema Prometheus got, from a bucket's width: upper / lower = 2^(2^-schema).
      const [, lower, upper] = scraped.buckets.find((b) => Number(b[1]) > 0);
      const schema = Math.round(-Math.log2(Math.log2(Number(upper) / Number(lower))));
      assert.ok(schema >= 0 && schema <= 6 && scraped.buckets.length <= 160, `schema ${schema}, ${scraped.buckets.length} buckets`);
      assert.ok(own.gc.count > 20, `too few GCs: ${JSON.stringify(own)}`);
      const at = async (q) => {
        const r = (await getJSON(`${prom.api}/query?query=${encodeURIComponent(q)}&time=${ts}`)).result;
        assert.is(r.length, 1, `${q}: ${JSON.stringify(r)}`);
        return Number(r[0].value[1]);
      };
      const report = [`loop delay: schema ${schema}, ${scraped.buckets.length} buckets, ${scraped.count} values`];
      for (const [name, selector] of [['delay', 'nodejs_eventloop_delay_seconds'], ['gc', 'v8js_gc_duration_seconds']]) {
        assert.is(await at(`histogram_count(${selector})`), own[name].count, `${name}: the scrape and the process's state differ`);
        for (const q of QUANTILES) {
          const theirs = await at(`histogram_quantile(${q}, ${selector})`);
          const ours = own[name].percentiles[`p${q * 100}`] / 1e9;
          const err = Math.abs(theirs - ours) / ours;
          report.push(`${name} p${q * 100}: Prometheus ${theirs}, process ${ours}, ${(err * 100).toFixed(2)} %`);
          assert.ok(err <= 0.02, report.join('\n'));
        }
      }
      console.log(report.join('\n'));
      // The shipped alert rules and dashboard read the native histograms where Prometheus
      // stores no classic buckets: each of their quantile queries returns a value.
      // Evaluated when the GC histogram had just grown (a rate over a still histogram is NaN).
      const gcSamples = (await prom.query('v8js_gc_duration_seconds[60s]'))[0].histograms;
      const grew = gcSamples.filter(([, h], i) => i > 0 && Number(h.count) > Number(gcSamples[i - 1][1].count)).pop();
      assert.ok(grew, `the GC histogram never grew between scrapes: ${gcSamples.map(([, h]) => h.count)}`);
      const queries = shippedHistogramQueries();
      assert.ok(queries.length >= 8, `${queries.length} queries`);
      for (const [where, q] of queries) {
        const r = (await getJSON(`${prom.api}/query?query=${encodeURIComponent(q)}&time=${grew[0]}`)).result;
        assert.ok(r.length >= 1 && r.every((x) => Number.isFinite(Number(x.value[1]))), `${where}: ${q} → ${JSON.stringify(r)}`);
      }
      // For docs/exporters.md: what 2.42 keeps of the classic buckets beside a native histogram.
      console.log(`classic _bucket series stored: ${(await prom.query('nodejs_eventloop_delay_seconds_bucket')).length}`);
    } finally {
      await prom.stop();
    }
  });
});

test.run();
