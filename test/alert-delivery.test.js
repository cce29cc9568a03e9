// versions: current
// Alert delivery (watch(sampler, { channels })): the webhook, Alertmanager and log channels
// against local servers and loggers — payloads, resends, failures that stay bounded and
// never reach the app, the self-metrics, shutdown(), bad options and the preload's
// environment variables. The real Alertmanager: alertmanager.test.js.
const { test } = require('uvu');
const assert = require('uvu/assert');
const http = require('node:http');
const net = require('node:net');
const { Sampler, watch } = require('..');
const { parseEnv } = require('../dist/cjs/server/config.js');
const { throwsLike } = require('./helpers/throws');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const unhandled = [];
process.on('unhandledRejection', (e) => unhandled.push(e));

const sampler = new Sampler({ refreshIntervalMs: 20, history: { intervalMs: 100, capacity: 200 } }).start();
// The sampler's timers are unref'd: something must keep the loop alive while a test waits for an event.
const keepAlive = setInterval(() => {}, 1000);

/** A rule that holds while `n` extra servers are open (active handles). */
function handlesRule(name, extra = {}) {
  return { name, metric: 'process.activeHandles', condition: 'above', threshold: sampler.read().process.activeHandles + 10, summary: `${name} summary`, ...extra };
}

async function openServers(n) {
  const servers = [];
  for (let i = 0; i < n; i++) servers.push(net.createServer().listen(0, '127.0.0.1'));
  await Promise.all(servers.map((s) => new Promise((r) => s.once('listening', r))));
  return { close: () => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))) };
}

/** A receiver recording each POST (headers, parsed body); answers `status()`. */
async function receiver(status = () => 200) {
  const got = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ method: req.method, url: req.url, headers: req.headers, body: JSON.parse(body) });
      res.writeHead(status(got.length)).end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { got, url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Fires (servers open) then resolves (closed) the watcher's handle rules. */
async function fireAndResolve(w) {
  const fired = new Promise((r) => w.once('alert', r));
  const s = await openServers(20);
  await fired;
  const resolved = new Promise((r) => w.once('resolve', r));
  await s.close();
  await resolved;
}

test('webhook: one JSON POST per alert and per resolution, with the headers given, counted sent', async () => {
  const rx = await receiver();
  const before = sampler.read().alerts.webhook.sent;
  const w = watch(sampler, { rules: [handlesRule('HookAlert')], channels: { webhook: { url: `${rx.url}/hook?x=1`, headers: { authorization: 'Bearer abc' } }, job: 'alert-test' } });
  await fireAndResolve(w);
  await until(() => rx.got.length === 2, 3000, 'two POSTs');
  const [a, r] = rx.got;
  assert.is(a.method, 'POST');
  assert.is(a.url, '/hook?x=1');
  assert.is(a.headers.authorization, 'Bearer abc');
  assert.is(a.headers['content-type'], 'application/json');
  assert.is(a.body.status, 'firing');
  assert.is(r.body.status, 'resolved');
  assert.is(a.body.alert.name, 'HookAlert');
  assert.is(a.body.alert.summary, 'HookAlert summary');
  assert.ok(a.body.alert.value > a.body.alert.threshold);
  assert.is(r.body.alert.reason, 'cleared');
  assert.is(a.body.pid, process.pid);
  assert.is(a.body.job, 'alert-test');
  const snap = sampler.read();
  assert.is(snap.alerts.webhook.sent - before, 2);
  assert.is(snap.toJSON().alerts.webhook.sent, snap.alerts.webhook.sent);
  const st = w.channelStats();
  assert.equal(Object.keys(st), ['webhook']);
  assert.is(st.webhook.sent, snap.alerts.webhook.sent);
  assert.is(st.webhook.queued, 0);
  assert.is(st.webhook.firing, 0);
  w.close();
  await rx.close();
});

test('alertmanager: postable alerts at /api/v2/alerts — labels, annotations, startsAt, endsAt on resolve, re-sent while firing', async () => {
  const rx = await receiver();
  const w = watch(sampler, {
    rules: [handlesRule('AmAlert', { severity: 'critical', group: 'handles' })],
    channels: { alertmanager: { url: `${rx.url}/`, resendMs: 1000, labels: { team: 'core' }, generatorURL: 'http://monitor:9464/alerts' } },
  });
  const fired = new Promise((r) => w.once('alert', r));
  const s = await openServers(20);
  await fired;
  // The first POST, then at least one re-send while it keeps firing.
  await until(() => rx.got.length >= 2, 4000, 'a re-send');
  const resolved = new Promise((r) => w.once('resolve', r));
  await s.close();
  await resolved;
  await until(() => rx.got.some((g) => g.body[0].endsAt !== undefined), 3000, 'the resolution');
  for (const g of rx.got) {
    assert.is(g.url, '/api/v2/alerts');
    assert.ok(Array.isArray(g.body) && g.body.length === 1);
  }
  const first = rx.got[0].body[0];
  assert.equal(first.labels, { job: first.labels.job, instance: `${require('node:os').hostname()}:${process.pid}`, pid: String(process.pid), team: 'core', alertname: 'AmAlert', severity: 'critical', group: 'handles', metric: 'process.activeHandles' });
  assert.is(first.labels.job, 'alert-delivery.test');
  assert.is(first.annotations.summary, 'AmAlert summary');
  assert.ok(Number(first.annotations.value) > 0, first.annotations.value);
  assert.match(first.annotations.description, /process\.activeHandles \(above\) is \d+, threshold \d+/);
  assert.is(first.generatorURL, 'http://monitor:9464/alerts');
  assert.ok(!Number.isNaN(Date.parse(first.startsAt)));
  assert.is(first.endsAt, undefined);
  const resent = rx.got[1].body[0];
  assert.is(resent.endsAt, undefined);
  assert.is(resent.startsAt, first.startsAt);
  const last = rx.got[rx.got.length - 1].body[0];
  assert.ok(Date.parse(last.endsAt) >= Date.parse(first.startsAt));
  assert.ok(Date.parse(last.endsAt) <= Date.now());
  // No re-send once resolved.
  const n = rx.got.length;
  await sleep(1300);
  assert.is(rx.got.length, n);
  w.close();
  await rx.close();
});

test('log: a record per alert and resolution to a logger function, a pino/winston-like object, or stderr', async () => {
  const fn = [];
  const levels = [];
  const before = sampler.read().alerts.log.sent;
  const w1 = watch(sampler, { rules: [handlesRule('LogAlert')], channels: { log: { logger: (r) => fn.push(r) } } });
  const w2 = watch(sampler, { rules: [handlesRule('LogAlert2')], channels: { log: { logger: { warn: (r) => levels.push(['warn', r]), info: (r) => levels.push(['info', r]) } } } });
  const w3 = watch(sampler, { rules: [handlesRule('LogAlert3')], channels: { log: true } });
  const lines = [];
  const write = process.stderr.write;
  process.stderr.write = function (chunk, ...rest) {
    if (!String(chunk).includes('LogAlert3')) return write.call(this, chunk, ...rest);
    lines.push(String(chunk));
    return true;
  };
  try {
    await fireAndResolve(w1);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(fn.map((r) => [r.status, r.alert.name]), [['firing', 'LogAlert'], ['resolved', 'LogAlert']]);
  assert.match(fn[0].msg, /LogAlert firing: LogAlert summary/);
  assert.is(fn[0].message, fn[0].msg);
  assert.is(fn[0].pid, process.pid);
  assert.equal(levels.map(([l, r]) => [l, r.status]), [['warn', 'firing'], ['info', 'resolved']]);
  assert.is(lines.length, 2);
  const parsed = lines.map((l) => JSON.parse(l));
  assert.equal(parsed.map((r) => [r.level, r.status, r.alert.name]), [['warn', 'firing', 'LogAlert3'], ['info', 'resolved', 'LogAlert3']]);
  assert.is(sampler.read().alerts.log.sent - before, 6);
  for (const w of [w1, w2, w3]) w.close();
});

test('a logger that throws: counted failed, emitted as error only with a listener, never thrown into the app', async () => {
  const before = sampler.read().alerts.log.failed;
  const w = watch(sampler, { rules: [handlesRule('Throwing')], channels: { log: { logger: () => { throw new Error('disk full'); } } } });
  const silent = watch(sampler, { rules: [handlesRule('Throwing2')], channels: { log: { logger: () => { throw new Error('disk full'); } } } });
  const errors = [];
  w.on('error', (e) => errors.push(e.message));
  await fireAndResolve(w);
  assert.equal(errors, ['log channel: the logger threw (disk full)', 'log channel: the logger threw (disk full)']);
  assert.is(sampler.read().alerts.log.failed - before, 4);
  w.close();
  silent.close();
});

/** A port nothing listens on. */
async function refusedPort() {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Serves HTTP on this thread; each request's latency, measured from a client here too. */
async function appLatencies(ms) {
  const app = http.createServer((req, res) => res.end('ok'));
  await new Promise((r) => app.listen(0, '127.0.0.1', r));
  const agent = new http.Agent({ keepAlive: true });
  const lat = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve, reject) => http.get({ port: app.address().port, host: '127.0.0.1', agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await sleep(10);
  }
  agent.destroy();
  await new Promise((r) => app.close(r));
  return lat.sort((a, b) => a - b);
}

test('unreachable webhooks (refused; accepting but never answering): the app keeps serving, attempts stay bounded, the queue drops', async () => {
  const port = await refusedPort();
  // Accepts connections and reads, never answers.
  const sockets = [];
  let requests = 0;
  const hole = net.createServer((s) => {
    sockets.push(s);
    s.on('data', (d) => { if (/^POST /.test(String(d))) requests++; });
  });
  await new Promise((r) => hole.listen(0, '127.0.0.1', r));
  const before = sampler.read().alerts.webhook.toJSON();
  const opts = { timeoutMs: 200, maxAttempts: 3, backoffMs: 20, maxBackoffMs: 50, maxQueue: 2 };
  // Eight rules fire together: eight notifications per channel at once.
  const rules = Array.from({ length: 8 }, (_, i) => handlesRule(`Down${i}`, { group: `g${i}` }));
  const wRefused = watch(sampler, { rules, channels: { webhook: { url: `http://127.0.0.1:${port}/`, ...opts } } });
  const wHole = watch(sampler, { rules, channels: { webhook: { url: `http://127.0.0.1:${hole.address().port}/`, ...opts } } });
  const errors = [];
  wHole.on('error', (e) => errors.push(e.message));
  try {
    const fired = new Promise((r) => wHole.once('alert', r));
    const s = await openServers(20);
    await fired;
    const lat = await appLatencies(1500);
    await s.close();
    const after = sampler.read().alerts.webhook.toJSON();
    // 8 alerts per watcher, one in flight and 2 queued: at least 5 dropped each.
    assert.ok(after.dropped - before.dropped >= 10, `dropped ${after.dropped - before.dropped}`);
    // Every notification settled: none queued, none in flight (sending or waiting to retry).
    const idle = (w) => w.channelStats().webhook.queued === 0 && w.channelStats().webhook.inFlight === 0;
    await until(() => idle(wHole) && idle(wRefused), 10000, 'the queues to empty and the last attempts to end');
    const done = sampler.read().alerts.webhook.toJSON();
    // Each notification kept: 3 attempts, then failed. None was sent.
    assert.is(done.sent, before.sent);
    assert.ok(done.failed - before.failed >= 6, `failed ${done.failed - before.failed}`);
    assert.ok(done.retries - before.retries <= 2 * (done.failed - before.failed), 'at most maxAttempts - 1 retries per notification');
    // Past the queue: at most 3 alerts (one in flight, 2 queued) and 3 resolutions, 3 attempts each.
    assert.ok(requests >= 3 && requests <= 18, `the silent server got ${requests} requests`);
    assert.match(errors[0], /webhook http:\/\/127\.0\.0\.1:\d+\/: no answer within 200 ms \(after 3 attempts\)/);
    // The app's own requests were answered promptly all along (generous bound: a shared machine).
    const p99 = lat[Math.floor(lat.length * 0.99)];
    assert.ok(lat.length > 30, `${lat.length} requests`);
    assert.ok(p99 < 100, `app request p99 ${p99.toFixed(1)} ms during failing delivery`);
    console.log(`app requests during failing delivery: ${lat.length}, median ${lat[lat.length >> 1].toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${lat[lat.length - 1].toFixed(2)} ms`);
  } finally {
    // Also when an assertion failed: the silent server would keep the process alive.
    wRefused.close();
    wHole.close();
    for (const so of sockets) so.destroy();
    await new Promise((r) => hole.close(r));
  }
});

test('5xx and 429 are retried, then sent; a 4xx is not retried', async () => {
  let calls = 0;
  const rx = await receiver((n) => { calls = n; return n === 1 ? 503 : n === 2 ? 429 : n === 3 ? 200 : 400; });
  const before = sampler.read().alerts.webhook.toJSON();
  const w = watch(sampler, { rules: [handlesRule('Flaky')], channels: { webhook: { url: rx.url, backoffMs: 10, maxBackoffMs: 20 } } });
  await fireAndResolve(w);
  await until(() => calls >= 4, 3000, 'four calls');
  await sleep(200);
  const after = sampler.read().alerts.webhook.toJSON();
  assert.is(calls, 4, 'the 400 was not retried');
  assert.is(after.sent - before.sent, 1);
  assert.is(after.retries - before.retries, 2);
  assert.is(after.failed - before.failed, 1);
  w.close();
  await rx.close();
});

test('shutdown(): the final resolution of a firing alert is delivered, then the promise resolves; bounded when the receiver hangs', async () => {
  const rx = await receiver();
  const w = watch(sampler, { rules: [handlesRule('AtExit')], channels: { webhook: { url: rx.url }, alertmanager: { url: rx.url } } });
  const fired = new Promise((r) => w.once('alert', r));
  const s = await openServers(20);
  await fired;
  await w.shutdown(2000);
  const bodies = rx.got.map((g) => g.body);
  const hook = bodies.filter((b) => !Array.isArray(b));
  const am = bodies.filter((b) => Array.isArray(b));
  assert.equal(hook.map((b) => [b.status, b.alert.reason]), [['firing', undefined], ['resolved', 'shutdown']]);
  assert.is(am.length, 2);
  assert.ok(am[1][0].endsAt !== undefined && /resolved: shutdown/.test(am[1][0].annotations.description));
  assert.not.ok(w.active);
  await s.close();
  await sleep(200);
  assert.is(rx.got.length, 4, 'nothing after shutdown');
  await rx.close();

  const hole = net.createServer(() => {});
  await new Promise((r) => hole.listen(0, '127.0.0.1', r));
  const before = sampler.read().alerts.webhook.dropped;
  const w2 = watch(sampler, { rules: [handlesRule('Hang')], channels: { webhook: { url: `http://127.0.0.1:${hole.address().port}`, timeoutMs: 5000 } } });
  const fired2 = new Promise((r) => w2.once('alert', r));
  const s2 = await openServers(20);
  await fired2;
  const t0 = Date.now();
  await w2.shutdown(300);
  const took = Date.now() - t0;
  assert.ok(took >= 250 && took < 1500, `shutdown took ${took} ms`);
  assert.ok(sampler.read().alerts.webhook.dropped - before >= 1, 'the undelivered resolution counted dropped');
  await w2.shutdown(300);
  await s2.close();
  hole.close();
  hole.unref();
});

test('bad options: TypeError / RangeError naming the option, the value and what is accepted', () => {
  const W = (channels) => () => watch(sampler, { rules: [handlesRule('Bad')], channels });
  throwsLike(W(42), TypeError, /channels must be an object of \{ alertmanager\?, webhook\?, log\?, job\? \}, got 42/);
  throwsLike(W({ slack: {} }), TypeError, /channels: unknown option "slack"; accepted options: alertmanager, webhook, log, job/);
  throwsLike(W({ webhook: 'http://x' }), TypeError, /channels\.webhook must be \{ url, headers\?.*got "http:\/\/x"/);
  throwsLike(W({ webhook: {} }), TypeError, /channels\.webhook\.url is required/);
  throwsLike(W({ webhook: { url: 5 } }), TypeError, /channels\.webhook\.url must be an http:\/\/ or https:\/\/ URL string, got 5/);
  throwsLike(W({ webhook: { url: 'not a url' } }), RangeError, /channels\.webhook\.url must be an http:\/\/ or https:\/\/ URL, got "not a url" \(not a URL\)/);
  throwsLike(W({ alertmanager: { url: 'ftp://am:9093' } }), RangeError, /channels\.alertmanager\.url must be an http:\/\/ or https:\/\/ URL, got "ftp:\/\/am:9093" \(protocol ftp:\)/);
  throwsLike(W({ webhook: { url: 'http://x', headers: [] } }), TypeError, /channels\.webhook\.headers must be an object of header names to string values, got an array/);
  throwsLike(W({ webhook: { url: 'http://x', headers: { a: 1 } } }), TypeError, /channels\.webhook\.headers\.a must be a string, got 1/);
  throwsLike(W({ webhook: { url: 'http://x', headers: { a: 'x\r\nInjected: 1' } } }), RangeError, /channels\.webhook\.headers\.a must not contain CR, LF or NUL/);
  throwsLike(W({ webhook: { url: 'http://x', headers: { 'bad name': 'v' } } }), RangeError, /"bad name" is not a valid header name/);
  throwsLike(W({ webhook: { url: 'http://x', headers: { 'Content-Length': '1' } } }), RangeError, /"Content-Length" is set by the channel itself/);
  throwsLike(W({ webhook: { url: 'http://x', timeoutMs: 0 } }), RangeError, /channels\.webhook\.timeoutMs must be an integer from 100 to 60000, got 0/);
  throwsLike(W({ webhook: { url: 'http://x', maxQueue: '5' } }), TypeError, /channels\.webhook\.maxQueue must be a number \(an integer from 1 to 10000\), got "5"/);
  throwsLike(W({ webhook: { url: 'http://x', maxAttempts: 11 } }), RangeError, /maxAttempts must be an integer from 1 to 10, got 11/);
  throwsLike(W({ webhook: { url: 'http://x', backoffMs: 1000, maxBackoffMs: 100 } }), RangeError, /maxBackoffMs \(100\) must be at least backoffMs \(1000\)/);
  throwsLike(W({ webhook: { url: 'http://x', retries: 3 } }), TypeError, /channels\.webhook: unknown option "retries"/);
  throwsLike(W({ alertmanager: { url: 'http://x', resendMs: 10 } }), RangeError, /channels\.alertmanager\.resendMs must be an integer from 1000 to 3600000, got 10/);
  throwsLike(W({ alertmanager: { url: 'http://x', labels: { 'a-b': 'v' } } }), RangeError, /"a-b" is not a valid label name/);
  throwsLike(W({ alertmanager: { url: 'http://x', labels: { team: 3 } } }), TypeError, /channels\.alertmanager\.labels\.team must be a string, got 3/);
  throwsLike(W({ log: { logger: 'pino' } }), TypeError, /channels\.log\.logger must be a function or an object with warn\(\) and info\(\) \(pino, winston\), got "pino"/);
  throwsLike(W({ log: { logger: { warn() {} } } }), TypeError, /channels\.log\.logger must be a function or an object/);
  throwsLike(W({ log: 'stderr' }), TypeError, /channels\.log must be true or \{ logger\? \}, got "stderr"/);
  throwsLike(W({ job: 'two words' }), RangeError, /channels\.job must be a name of 1 to 128 characters without spaces, got "two words"/);
  const w = watch(sampler, { rules: [handlesRule('Ok')] });
  throwsLike(() => w.shutdown(-1), RangeError, /shutdown\(timeoutMs\): timeoutMs must be a number from 0 to 600000, got -1/);
  w.close();
});

test('preload: RUNTIME_SAMPLER_ALERTMANAGER_URL, _WEBHOOK_URL, _ALERT_LOG parsed; a bad value is one warning line and no channel', () => {
  const ok = parseEnv({ RUNTIME_SAMPLER_ALERTMANAGER_URL: 'http://am:9093', RUNTIME_SAMPLER_WEBHOOK_URL: 'https://hooks.example/x', RUNTIME_SAMPLER_ALERT_LOG: '1' });
  assert.equal(ok.problems, []);
  assert.is(ok.config.alertmanagerUrl, 'http://am:9093');
  assert.is(ok.config.webhookUrl, 'https://hooks.example/x');
  assert.is(ok.config.alertLog, true);
  const none = parseEnv({});
  assert.equal([none.config.alertmanagerUrl, none.config.webhookUrl, none.config.alertLog], [null, null, false]);
  const bad = parseEnv({ RUNTIME_SAMPLER_ALERTMANAGER_URL: 'am:9093', RUNTIME_SAMPLER_WEBHOOK_URL: 'file:///etc/passwd', RUNTIME_SAMPLER_ALERT_LOG: 'maybe' });
  assert.equal(bad.problems, [
    'RUNTIME_SAMPLER_ALERTMANAGER_URL="am:9093" is not valid (an http:// or https:// URL); no delivery there',
    'RUNTIME_SAMPLER_WEBHOOK_URL="file:///etc/passwd" is not valid (an http:// or https:// URL); no delivery there',
    'RUNTIME_SAMPLER_ALERT_LOG="maybe" is not valid (1 or 0); no alert log',
  ]);
  assert.equal([bad.config.alertmanagerUrl, bad.config.webhookUrl, bad.config.alertLog], [null, null, false]);
});

test('startMonitorThread({ alerts }): checked on the caller\'s thread; a logger cannot cross threads', () => {
  const { startMonitorThread } = require('..');
  throwsLike(() => startMonitorThread({ sampler, port: 0, alerts: { log: { logger: () => {} } } }), TypeError, /alerts\.log must be true \(a logger cannot cross to the monitor thread; use watch\(\) for one\)/);
  throwsLike(() => startMonitorThread({ sampler, port: 0, alerts: { webhook: { url: 'ws://x' } } }), RangeError, /channels\.webhook\.url must be an http:\/\/ or https:\/\/ URL, got "ws:\/\/x" \(protocol ws:\)/);
});

test('no unhandled rejection from any of it', async () => {
  await sleep(50);
  assert.equal(unhandled, []);
  sampler.close();
  clearInterval(keepAlive);
});

test.run();
