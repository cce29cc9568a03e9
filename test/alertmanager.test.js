// tier: extra — a real Prometheus Alertmanager and a 36 s stall in a preloaded child (~60 s)
// versions: current
// Alert delivery into the real Debian prometheus-alertmanager, started here on 127.0.0.1:
// an alert from watch() and one from the preload (RUNTIME_SAMPLER_ALERTMANAGER_URL, the
// built-in NodeEventLoopStalled rule, delivered from the monitor thread while the app's loop
// is blocked) appear in its /api/v2/alerts with our labels and annotations, and resolve.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn } = require('node:child_process');
const { existsSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { hostname, tmpdir } = require('node:os');
const { join } = require('node:path');
const net = require('node:net');
const { Sampler, watch } = require('..');
const { testUnless } = require('./helpers/skip');

const BIN = '/usr/bin/prometheus-alertmanager';
const root = join(__dirname, '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const skip = existsSync(BIN) ? null : `${BIN} is not installed (apt-get install -y prometheus-alertmanager)`;

async function freePort() {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

let am = null;
async function startAlertmanager() {
  const dir = mkdtempSync(join(tmpdir(), 'rs-am-'));
  writeFileSync(join(dir, 'am.yml'), 'route:\n  receiver: "null"\n  group_wait: 1s\nreceivers:\n  - name: "null"\n');
  const port = await freePort();
  const child = spawn(BIN, [
    `--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > end) throw new Error(`alertmanager did not start: ${err}`);
    await sleep(100);
  }
  am = { url, child, dir };
  return am;
}

/** The alerts Alertmanager holds with alertname `name` (active, silenced and inhibited, resolved or not). */
async function alertsNamed(name, extra = '') {
  const r = await fetch(`${am.url}/api/v2/alerts?filter=${encodeURIComponent(`alertname="${name}"`)}${extra}`);
  assert.ok(r.ok, `GET /api/v2/alerts: ${r.status}`);
  return r.json();
}

async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}

testUnless(test, skip, 'watch() → Alertmanager: the alert appears with our labels and annotations, then resolves', async () => {
  await startAlertmanager();
  const keep = setInterval(() => {}, 1000);
  const sampler = new Sampler({ refreshIntervalMs: 20, history: { intervalMs: 100, capacity: 100 } }).start();
  const threshold = sampler.read().process.activeHandles + 10;
  const w = watch(sampler, {
    rules: [{ name: 'RsTestHandles', metric: 'process.activeHandles', condition: 'above', threshold, severity: 'critical', summary: 'Too many handles' }],
    channels: { alertmanager: { url: am.url, labels: { team: 'runtime' } }, job: 'rs-test' },
  });
  const servers = [];
  for (let i = 0; i < 20; i++) servers.push(net.createServer().listen(0, '127.0.0.1'));
  const [alert] = await until(async () => {
    const a = await alertsNamed('RsTestHandles');
    return a.length > 0 && a;
  }, 10_000, 'the alert in Alertmanager');
  assert.equal(alert.labels, {
    alertname: 'RsTestHandles', severity: 'critical', job: 'rs-test', instance: `${hostname()}:${process.pid}`, pid: String(process.pid),
    team: 'runtime', group: 'process.activeHandles|above|above|0', metric: 'process.activeHandles',
  });
  assert.is(alert.annotations.summary, 'Too many handles');
  assert.ok(Number(alert.annotations.value) > threshold, alert.annotations.value);
  assert.match(alert.annotations.description, /process\.activeHandles \(above\) is \d+, threshold \d+/);
  assert.is(alert.status.state, 'active');
  assert.ok(Date.parse(alert.endsAt) > Date.now(), 'endsAt in the future while firing');
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  // Resolved: gone from the active alerts (endsAt now, in the past).
  await until(async () => (await alertsNamed('RsTestHandles', '&active=true&silenced=true&inhibited=true&unprocessed=true')).every((a) => Date.parse(a.endsAt) <= Date.now()), 10_000, 'the resolution');
  assert.is(sampler.read().alerts.alertmanager.failed, 0);
  assert.ok(w.channelStats().alertmanager.sent >= 2);
  await w.shutdown(1000);
  sampler.close();
  clearInterval(keep);
});

testUnless(test, skip, 'preload: a stalled app\'s NodeEventLoopStalled reaches Alertmanager from the monitor thread, and resolves after the loop recovers', async () => {
  // The built-in rule holds for 30 s: a 36 s stall, then 20 s of a live loop.
  const APP = 'setTimeout(() => { const end = Date.now() + 36000; while (Date.now() < end); console.log("RECOVERED"); setTimeout(() => {}, 20000); }, 1000);';
  const child = spawn(process.execPath, ['-r', 'runtime-sampler/register', '-e', APP], {
    cwd: root, env: { ...process.env, RUNTIME_SAMPLER_PORT: '0', RUNTIME_SAMPLER_ALERTMANAGER_URL: am.url, RUNTIME_SAMPLER_PUBLISH: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  try {
    const monitor = await until(() => /monitor listening on (http:\/\/\S+)/.exec(err)?.[1], 10_000, 'the monitor URL');
    const pid = String(child.pid);
    const mine = async () => (await alertsNamed('NodeEventLoopStalled')).filter((a) => a.labels.pid === pid);
    const [alert] = await until(async () => {
      const a = await mine();
      return a.length > 0 && a;
    }, 45_000, 'NodeEventLoopStalled in Alertmanager');
    assert.not.ok(out.includes('RECOVERED'), 'delivered while the loop was still blocked');
    assert.is(alert.labels.severity, 'critical');
    assert.is(alert.labels.instance, `${hostname()}:${pid}`);
    assert.is(alert.labels.metric, 'stall.active');
    assert.ok(typeof alert.labels.job === 'string' && alert.labels.job.length > 0);
    assert.is(alert.annotations.summary, 'The event loop is stuck (needs the watchdog)');
    assert.is(alert.annotations.value, '1');
    assert.is(alert.generatorURL, `${monitor}/alerts`);
    assert.is(alert.status.state, 'active');
    // The monitor answers while the app's loop is blocked.
    const t0 = Date.now();
    const h = await fetch(`${monitor}/alerts`);
    const body = await h.json();
    assert.ok(Date.now() - t0 < 1000, `the monitor took ${Date.now() - t0} ms`);
    assert.ok(body.alerts.some((a) => a.name === 'NodeEventLoopStalled'));
    await until(() => out.includes('RECOVERED'), 20_000, 'the app to recover');
    await until(async () => (await mine()).every((a) => Date.parse(a.endsAt) <= Date.now()), 15_000, 'the resolution in Alertmanager');
  } finally {
    child.kill();
  }
});

test.after(() => {
  if (am === null) return;
  am.child.kill();
  rmSync(am.dir, { recursive: true, force: true });
});

test.run();
