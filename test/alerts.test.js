// node-flags: --expose-gc
// tier: extra — starts a real Prometheus and promtool
// The shipped alert rules and dashboard: promtool validates the rules and runs a unit test
// per alert; every metric they use is one we export (or prom-client's, where the drop-in
// emits it); and a real Prometheus server on 127.0.0.1 scrapes the preload's endpoint of a
// running app, loads the rules, and answers every dashboard and alert query.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Sampler, toPrometheus } = require('..');
const { sleep, freePort, getJSON, has, startPrometheus } = require('./helpers/prometheus');
const { testUnless } = require('./helpers/skip');
const { v2Fixture, removeFixture } = require('./helpers/cgroup');

const root = path.join(__dirname, '..');
const RULES = path.join(root, 'alerts', 'runtime-sampler.rules.yml');
const RULE_TESTS = path.join(root, 'alerts', 'runtime-sampler.test.yml');
const DASHBOARD = path.join(root, 'dashboards', 'runtime-sampler.json');
const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
const rulesText = fs.readFileSync(RULES, 'utf8');

/** prom-client's default metric names the dashboard may use as alternatives (`ours or theirs`). */
const PROM_CLIENT = ['nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes', 'nodejs_gc_duration_seconds_bucket',
  'nodejs_eventloop_lag_p99_seconds', 'nodejs_active_handles_total', 'nodejs_active_requests_total', 'process_resident_memory_bytes'];

/** Panels whose series only detail: 'full' exports (the catalog's `detail`; issue 24's series budget). */
const FULL_ONLY_PANELS = ['Mark-compact phases (time per second)', 'Time to safepoint p99', 'Why V8 collected (mark-compacts and incremental marking starts)', 'Iteration busy time p99'];

function dashboardQueries() {
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}
const alertExprs = () => [...rulesText.matchAll(/expr: (\|\n((?: {10}.*\n)+)|.*)/g)].map((m) => (m[2] ?? m[1]).trim());
const metricNames = (expr) => [...expr.matchAll(/\b([a-z_][a-z0-9_]*)(?=\{|\[)/g)].map((m) => m[1]).filter((n) => !['rate', 'increase', 'min_over_time', 'max_over_time', 'sum', 'min', 'max', 'by', 'on'].includes(n));
const concrete = (expr) => expr.replace(/\$__rate_interval/g, '30s').replace(/"\$job"/g, '"app"').replace(/"\$instance"/g, '".*"');

const noPromtool = has('promtool') ? null : 'promtool is not installed (Debian package prometheus)';
const noPrometheus = has('prometheus') ? null : 'prometheus is not installed (Debian package prometheus)';

testUnless(test, noPromtool, 'promtool check rules: the alert rules are valid; every alert has for, severity, summary and description', () => {
  const r = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 14 rules found/);
  const alerts = rulesText.split('- alert: ').slice(1);
  assert.is(alerts.length, 14);
  for (const a of alerts) {
    const name = a.split('\n')[0];
    assert.match(a, /\n\s+for: \d+[smh]/, `${name}: for`);
    assert.match(a, /severity: (warning|critical)/, `${name}: severity`);
    assert.match(a, /summary: /, `${name}: summary`);
    assert.match(a, /description: /, `${name}: description`);
  }
  for (const topic of ['NodeHeapNearLimit', 'NodeGcPauseP99High', 'NodeEventLoopDelayHigh', 'NodeGcCpuFractionHigh', 'NodeOldSpaceGrowing', 'NodeEventLoopStalled',
    'NodeContainerMemoryNearLimit', 'NodeContainerMemoryLimitWithinAnHour', 'NodeContainerCpuThrottled', 'NodeThreadpoolDelayHigh', 'NodeThreadpoolStuck']) {
    assert.ok(rulesText.includes(`alert: ${topic}`), topic);
  }
});

testUnless(test, noPromtool, 'promtool test rules: each alert fires after its for duration, and not on a spike', () => {
  const r = spawnSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8', cwd: path.dirname(RULE_TESTS) });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
  const tested = new Set([...fs.readFileSync(RULE_TESTS, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
  const defined = [...rulesText.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
  assert.equal(defined.filter((a) => !tested.has(a)), [], 'every alert has a unit test');
});

test('the dashboard is current, covers every metric group, and uses only metrics we (or the prom-client drop-in) export', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'gen-dashboard.mjs'), '--check'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  // A fixture cgroup gives every container value (this host's own cgroup may lack some:
  // memory.high on cgroup v1), so every container series is written.
  const dir = v2Fixture();
  const s = new Sampler({ watchdog: true, cgroupRoot: dir, threadpoolProbeMs: 10 }).start();
  globalThis.gc(); // fragmentation has a value (and a series) after V8's first report
  const names = (options) => {
    const out = new Set();
    for (const line of toPrometheus(s, options).split('\n')) {
      const m = /^([a-z_][a-z0-9_]*)/.exec(line);
      if (!m) continue;
      out.add(m[1]);
      // A histogram's own name: the native histogram's, which the rules and panels read
      // where Prometheus stores native histograms (exporter-native-histograms.test.js).
      if (m[1].endsWith('_bucket')) out.add(m[1].slice(0, -'_bucket'.length));
    }
    return out;
  };
  const exported = names({ detail: 'full' });
  const standard = names(undefined);
  s.close();
  removeFixture(dir);
  const known = new Set([...exported, ...PROM_CLIENT]);
  const used = new Set([...dashboardQueries().flatMap((q) => metricNames(q.expr)), ...alertExprs().flatMap(metricNames)]);
  assert.equal([...used].filter((n) => !known.has(n)), [], 'unknown metric names');
  // The default (standard) level has every alert's metrics, and every panel's but the
  // ones marked as needing detail: full.
  assert.equal(alertExprs().flatMap(metricNames).filter((n) => !standard.has(n)), [], 'alert metrics missing from detail: standard');
  const fullOnly = dashboard.panels.filter((p) => (p.targets ?? []).length > 0 && !p.targets.some((t) => metricNames(t.expr).some((n) => standard.has(n) || PROM_CLIENT.includes(n))));
  assert.equal(fullOnly.map((p) => p.title), FULL_ONLY_PANELS);
  for (const p of fullOnly) assert.match(p.description, /Needs detail: full/, p.title);
  for (const p of dashboard.panels.filter((x) => !FULL_ONLY_PANELS.includes(x.title))) {
    for (const t of p.targets ?? []) {
      assert.equal(metricNames(t.expr).filter((n) => !standard.has(n) && !PROM_CLIENT.includes(n)), [], `${p.title}: ${t.expr}`);
    }
  }
  const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
  assert.equal(rows, ['Overview', 'Garbage collection', 'Heap', 'Event loop', 'Threadpool', 'Process', 'Container']);
  for (const family of ['v8js_gc_duration_seconds_bucket', 'v8js_gc_main_thread_time_seconds_total', 'v8js_gc_incremental_marking_time_seconds_total', 'v8js_gc_mark_compact_phase_time_seconds_total',
    'v8js_gc_time_to_safepoint_duration_seconds_bucket', 'v8js_memory_heap_used_bytes', 'nodejs_eventloop_delay_seconds_bucket', 'nodejs_eventloop_time_seconds_total', 'nodejs_eventloop_stall_active', 'process_cpu_time_seconds_total',
    'nodejs_container_memory_usage_bytes', 'nodejs_container_memory_working_set_bytes', 'nodejs_container_memory_limit_bytes', 'nodejs_container_memory_high_bytes', 'nodejs_container_memory_oom_kill_total', 'nodejs_container_memory_max_events_total',
    'nodejs_container_cpu_quota', 'nodejs_container_cpu_throttled_periods_total', 'nodejs_container_cpu_periods_total', 'nodejs_container_cpu_throttled_time_seconds_total',
    'nodejs_container_memory_pressure_seconds_total', 'nodejs_container_cpu_pressure_seconds_total',
    'nodejs_threadpool_delay_seconds_bucket', 'nodejs_threadpool_delay_max_seconds', 'nodejs_threadpool_in_flight_duration_seconds', 'nodejs_threadpool_probes_total', 'nodejs_threadpool_size']) {
    assert.ok(used.has(family), `the dashboard shows ${family}`);
  }
});

testUnless(test, noPrometheus, 'a real Prometheus scrapes the preload of a running app, loads the rules, and answers every dashboard and alert query', async () => {
  const port = await freePort();
  const pcPort = await freePort();
  // The container panels and rules need a cgroup with limits: a fixture (v2, 100 of 200 MB,
  // memory.high 180 MiB, a 0.2-CPU quota), read by the preload as by any sampler.
  const cgroup = v2Fixture({ 'memory.high': '188743680\n' });
  // The app also serves the prom-client drop-in's registry (job "pc"): the dashboard's
  // prom-client alternatives must find data there.
  const app = spawn(process.execPath, ['-r', 'runtime-sampler/register', '-e', `
    const client = require('prom-client');
    const { collectDefaultMetrics } = require('runtime-sampler/prom-client');
    const reg = new client.Registry();
    collectDefaultMetrics({ register: reg });
    require('node:http').createServer(async (q, s) => { s.setHeader('content-type', reg.contentType); s.end(await reg.metrics()); }).listen(${pcPort}, '127.0.0.1');
    let keep = [];
    setInterval(() => { for (let i = 0; i < 20000; i++) keep.push({ i }); if (keep.length > 200000) keep = []; }, 20);
  `], { cwd: root, env: { ...process.env, RUNTIME_SAMPLER_PORT: String(port), RUNTIME_SAMPLER_CGROUP_ROOT: cgroup, RUNTIME_SAMPLER_THREADPOOL_PROBE_MS: '100' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let appErr = '';
  app.stderr.on('data', (d) => { appErr += d; });
  const prom = await startPrometheus([
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 900ms',
    '  evaluation_interval: 1s',
    'rule_files: [rules.yml]',
    'scrape_configs:',
    '  - job_name: app',
    `    static_configs: [{ targets: ['127.0.0.1:${port}'] }]`,
    '  - job_name: pc',
    `    static_configs: [{ targets: ['127.0.0.1:${pcPort}'] }]`,
    '',
  ].join('\n'), { 'rules.yml': rulesText });
  try {
    let up = [];
    for (let i = 0; i < 120; i++) {
      await sleep(250);
      try {
        up = await prom.query('up{job="app"}');
      } catch {
        continue;
      }
      if (up.length === 1 && up[0].value[1] === '1' && (await prom.query('up{job="pc"} == 1')).length === 1) break;
    }
    assert.is(up.length === 1 && up[0].value[1], '1', `target not up: ${prom.log()} ${appErr}`);
    assert.is((await prom.query('up{job="pc"} == 1')).length, 1, `the prom-client target is not up: ${prom.log()} ${appErr}`);
    await sleep(5000); // enough scrapes for rate() over 30s windows
    for (const name of ['v8js_heap_used_bytes', 'v8js_gc_main_thread_time_seconds_total', 'nodejs_eventloop_delay_seconds_bucket', 'nodejs_eventloop_stall_active', 'v8js_gc_duration_seconds_count']) {
      const r = await prom.query(`${name}{job="app"}`);
      assert.ok(r.length > 0, `${name} arrived`);
    }
    const rate = await prom.query('sum(rate(v8js_gc_count_total{job="app"}[30s]))');
    assert.ok(Number(rate[0].value[1]) > 0, 'the app collects garbage');
    // Every dashboard query runs; those of the app's metrics return data.
    const empty = [];
    for (const q of dashboardQueries()) {
      const result = await prom.query(concrete(q.expr));
      if (result.length === 0) empty.push(q.panel);
    }
    // Stalls and incremental marking may not have happened yet in a few seconds of a small
    // app; the app runs at the default detail level (standard), without the full-only panels'
    // series.
    const mayBeEmpty = [...FULL_ONLY_PANELS, 'Incremental marking steps per second', 'Stalls (iterations over the watchdog threshold)'];
    assert.equal(empty.filter((p) => !mayBeEmpty.includes(p)), [], 'dashboard panels without data');
    // Each query with a prom-client alternative (`ours or prom-client's`) finds data on a
    // target that has only prom-client's names.
    const alternatives = dashboardQueries().filter((q) => / or (sum|max|min) by/.test(q.expr) || /nodejs_gc_duration_seconds_bucket/.test(q.expr));
    assert.ok(alternatives.length >= 6);
    const pcEmpty = [];
    for (const q of alternatives) {
      if ((await prom.query(concrete(q.expr).replace(/"app"/g, '"pc"'))).length === 0) pcEmpty.push(`${q.panel}: ${q.expr}`);
    }
    assert.equal(pcEmpty, [], 'prom-client alternatives without data');
    for (const expr of alertExprs()) await prom.query(expr); // valid against real data
    // Every metric an alert rule reads has data at the default detail level.
    const noData = [];
    for (const name of new Set(alertExprs().flatMap(metricNames))) {
      // (A histogram's native name has no data where Prometheus keeps the classic buckets.)
      if ((await prom.query(`${name}{job="app"}`)).length === 0 && (await prom.query(`${name}_bucket{job="app"}`)).length === 0) noData.push(name);
    }
    assert.equal(noData, [], 'alert metrics without data');
    const groups = (await getJSON(`${prom.api}/rules`)).groups;
    assert.is(groups[0].rules.length, 14);
    const container = await prom.query('nodejs_container_memory_usage_bytes{job="app"} / nodejs_container_memory_limit_bytes{job="app"}');
    assert.is(container.length, 1);
    assert.is(Number(container[0].value[1]), 0.5);
    assert.ok(groups[0].rules.every((r) => r.health === 'ok'), JSON.stringify(groups[0].rules.map((r) => [r.name, r.health, r.lastError])));
  } finally {
    app.kill();
    await prom.stop();
    removeFixture(cgroup);
  }
});

test.run();
