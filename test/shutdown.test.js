// node-flags: --expose-gc
// versions: current — flush on shutdown: every exporter's shutdown(), the preload's
// Flush on shutdown: every exporter's shutdown() sends what it holds (StatsD's last
// interval to a UDP server here, OpenTelemetry's forceFlush into the real SDK), the
// preload's registration stops what it started within a bound and never rejects, the
// library installs no signal handler, and the README's SIGTERM recipe works in a child.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { throwsLike } = require('./helpers/throws');
const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = require('@opentelemetry/sdk-metrics');
const { Sampler, SamplerError, startMonitorThread } = require('runtime-sampler');
const { createStatsdExporter } = require('runtime-sampler/statsd');
const { registerRuntimeMetrics } = require('runtime-sampler/otel');
const { collectDefaultMetrics } = require('runtime-sampler/prom-client');
const promClient = require('prom-client');

const root = path.join(__dirname, '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
/** `p`, or 'TIMEOUT' after `ms`. */
const within = (p, ms) => Promise.race([p.then(() => 'DONE'), sleep(ms).then(() => 'TIMEOUT')]);

let unhandled = null;
process.on('unhandledRejection', (e) => { unhandled = e; });

/** A UDP server on 127.0.0.1 keeping every line it receives. */
function udpServer() {
  const socket = dgram.createSocket('udp4');
  socket.unref();
  const lines = [];
  socket.on('message', (m) => lines.push(...m.toString('utf8').split('\n')));
  return new Promise((resolve) => {
    socket.bind(0, '127.0.0.1', () => resolve({ port: socket.address().port, lines, close: () => new Promise((r) => socket.close(r)) }));
  });
}

/** name → value of the counter lines among `lines`. */
function counters(lines) {
  const out = new Map();
  for (const l of lines) {
    const m = /^([^:]+):([\d.]+)\|c$/.exec(l);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

test('StatsD: shutdown() sends what was counted since the last flush, resolves once sent, then refuses flush()', async () => {
  const srv = await udpServer();
  const s = new Sampler().start();
  // A timer that never fires in this test: only the explicit flush and shutdown send.
  const ex = createStatsdExporter({ port: srv.port, intervalMs: 3_600_000, sampler: s });
  // The flush reads the sampler when called: read it then too, with no GC in between.
  const firstFlush = ex.flush();
  const base = s.read();
  await firstFlush;
  await waitFor(() => srv.lines.length > 0, 'the first flush');
  const from = srv.lines.length;
  const N = 5;
  for (let i = 0; i < N; i++) global.gc();
  const before = ex.stats.packets;
  const now = s.read();
  const p = ex.shutdown();
  assert.ok(ex.closed, 'closed as soon as shutdown() is called');
  assert.is(ex.shutdown(), p, 'a second shutdown() is the same promise');
  assert.is(ex.close(), p, 'close() is the same as shutdown()');
  await p;
  const sent = ex.stats.packets - before;
  assert.ok(sent >= 1, 'the final flush was handed to the socket before shutdown() resolved');
  await waitFor(() => srv.lines.length > from, 'the final flush');
  const got = counters(srv.lines.slice(from));
  const mark = got.get('runtime.v8js.gc.count.mark_sweep_compact');
  assert.ok(mark >= N, `mark-sweep-compact collections in the final flush: ${mark} < ${N}`);
  assert.is(mark, now.gc.byType.markSweepCompact.count - base.gc.byType.markSweepCompact.count);
  assert.is(ex.socket, null, 'the socket is closed');
  assert.not.ok(s.closed, 'a sampler it did not create stays open');
  const err = await ex.flush().then(() => null, (e) => e);
  assert.instance(err, SamplerError);
  assert.is(err.code, 'ERR_SAMPLER_CLOSED');
  s.close();
  await srv.close();
});

test('StatsD: shutdown() closes an owned sampler; flushOnClose: false sends nothing', async () => {
  const srv = await udpServer();
  const ex = createStatsdExporter({ port: srv.port, intervalMs: 0, flushOnClose: false });
  for (let i = 0; i < 2; i++) global.gc();
  await ex.shutdown();
  assert.ok(ex.sampler.closed);
  assert.is(ex.stats.packets, 0);
  await sleep(50);
  assert.is(srv.lines.length, 0);
  await srv.close();
});

/** A MeterProvider whose reader exports only when flushed, into memory. */
function otelSetup() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const exported = () => {
    const out = new Map();
    for (const rm of exporter.getMetrics()) {
      for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.dataPoints.length > 0) out.set(m.descriptor.name, m);
    }
    return out;
  };
  return { provider, meter: provider.getMeter('shutdown-test'), exporter, exported };
}

test('OpenTelemetry (real @opentelemetry/sdk-metrics MeterProvider): shutdown() calls forceFlush while the instruments still read the sampler', async () => {
  const { provider, meter, exported } = otelSetup();
  const rm = registerRuntimeMetrics(meter, { meterProvider: provider });
  const N = 4;
  for (let i = 0; i < N; i++) global.gc();
  assert.is(exported().size, 0, 'nothing exported before shutdown');
  const p = rm.shutdown();
  assert.is(rm.shutdown(), p, 'a second shutdown() is the same promise');
  await p;
  const m = exported();
  const duration = m.get('v8js.gc.duration');
  assert.ok(duration, `v8js.gc.duration exported; got ${[...m.keys()].join(', ')}`);
  const major = duration.dataPoints.find((d) => d.attributes['v8js.gc.type'] === 'major');
  assert.ok(major && major.value.count >= N, `major GCs exported: ${major && major.value.count} < ${N}`);
  // Observable instruments are only in the export if the batch callback was still registered.
  const used = m.get('v8js.memory.heap.used');
  assert.ok(used && used.dataPoints.some((d) => d.value > 0), `v8js.memory.heap.used observed at the final flush; got ${[...m.keys()].join(', ')}`);
  assert.ok(rm.sampler.closed, 'the sampler it created is closed');
  rm.close(); // still idempotent
  await provider.shutdown();
});

test('OpenTelemetry: a rejecting forceFlush rejects shutdown() after closing; no meterProvider: shutdown() only closes; bad meterProvider', async () => {
  const { provider, meter, exported } = otelSetup();
  const s = new Sampler().start();
  const boom = new Error('collector down');
  let calls = 0;
  const rm = registerRuntimeMetrics(meter, { sampler: s, meterProvider: { forceFlush: async () => { calls++; throw boom; } } });
  const err = await rm.shutdown().then(() => null, (e) => e);
  assert.is(err, boom);
  assert.is(calls, 1);
  assert.is(await rm.shutdown().then(() => null, (e) => e), boom, 'the same settled promise');
  assert.is(calls, 1, 'forceFlush is not called twice');
  assert.not.ok(s.closed, 'a given sampler stays open');
  // Closed: the batch callback is gone, so a collection now observes no heap values of ours.
  await provider.forceFlush();
  assert.not.ok(exported().has('v8js.memory.heap.used'), 'observed after shutdown');
  const rm2 = registerRuntimeMetrics(meter, { sampler: s });
  await rm2.shutdown();
  throwsLike(() => registerRuntimeMetrics(meter, { sampler: s, meterProvider: {} }), TypeError, /meterProvider must be an OpenTelemetry MeterProvider \(an object with forceFlush\(\)\), got a object/);
  throwsLike(() => registerRuntimeMetrics(meter, { sampler: s, meterProvider: 'p' }), TypeError, /meterProvider must be .*got "p"/);
  s.close();
  await provider.shutdown();
});

test('prom-client drop-in: shutdown() removes the metrics, stops the window, closes an owned sampler; idempotent', async () => {
  const registry = new promClient.Registry();
  const h = collectDefaultMetrics({ register: registry });
  assert.ok((await registry.getMetricsAsJSON()).length > 0);
  await h.shutdown();
  await h.shutdown();
  assert.ok(h.sampler.closed);
  assert.is((await registry.getMetricsAsJSON()).length, 0);
});

test('monitor thread: close()/shutdown() resolve even when the thread had already died', async () => {
  const s = new Sampler().start();
  const m = await startMonitorThread({ sampler: s, port: 0 });
  await m.worker.terminate();
  assert.is(await within(m.close(), 4000), 'DONE', 'close() after the thread exited must not wait forever');
  assert.is(await within(m.shutdown(), 100), 'DONE');
  s.close();
});

test('preload registration: shutdown() runs the hooks and stops the monitor within timeoutMs, closes the sampler, never rejects', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-shutdown-'));
  process.env.RUNTIME_SAMPLER_DIR = dir;
  const { startPreload } = require('../dist/cjs/server/preload.js');
  const { registered } = require('runtime-sampler');
  const r = startPreload({ RUNTIME_SAMPLER_PORT: '0' });
  assert.ok(r && registered() === r);
  const m = await r.monitor;
  assert.ok(m, 'the monitor listens');
  const published = r.sampler.publishedPath;
  assert.ok(published && fs.existsSync(published), 'published');

  // Everything the library offers, started: still no signal handler of ours.
  const ex = createStatsdExporter({ port: 9, intervalMs: 100 });
  const { meter } = otelSetup();
  const rm = registerRuntimeMetrics(meter);
  const h = collectDefaultMetrics({ register: new promClient.Registry() });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT']) assert.is(process.listenerCount(sig), 0, `${sig} listeners`);

  const order = [];
  r.addShutdownHook('a fast hook', async () => { await sleep(20); order.push('fast'); });
  r.addShutdownHook('a failing hook', () => { throw new Error('boom'); });
  r.addShutdownHook('a hook that never ends', () => new Promise(() => {}));
  r.addShutdownHook('a hook that reads the sampler', () => { r.sampler.read(); order.push('read'); });
  throwsLike(() => r.addShutdownHook('', () => {}), RangeError, /name must be a description of 1 to 100 characters/);
  throwsLike(() => r.addShutdownHook('x', 'f'), TypeError, /hook must be a function, got "f"/);
  throwsLike(() => r.shutdown({ timeoutMs: 0 }), RangeError, /timeoutMs must be an integer from 1 to 600000, got 0/);
  throwsLike(() => r.shutdown({ timeoutMs: '5' }), TypeError, /timeoutMs must be a number/);
  throwsLike(() => r.shutdown({ timeout: 5 }), TypeError, /unknown option "timeout"/);

  const warnings = [];
  const write = process.stderr.write;
  process.stderr.write = (chunk, ...rest) => {
    if (String(chunk).startsWith('runtime-sampler: ')) warnings.push(String(chunk));
    return write.call(process.stderr, chunk, ...rest);
  };
  const t0 = Date.now();
  let first;
  try {
    first = r.shutdown({ timeoutMs: 400 });
    assert.is(r.shutdown(), first, 'a second call is the same promise');
    await first; // never rejects
  } finally {
    process.stderr.write = write;
  }
  const took = Date.now() - t0;
  assert.ok(took >= 350 && took < 2000, `bounded by timeoutMs: took ${took} ms`);
  assert.equal(order.sort(), ['fast', 'read']);
  assert.is(warnings.length, 2, warnings.join(''));
  assert.match(warnings.join(''), /runtime-sampler: shutdown: a failing hook failed \(boom\)\n/);
  assert.match(warnings.join(''), /runtime-sampler: shutdown: gave up after 400 ms waiting for a hook that never ends\n/);
  assert.ok(r.sampler.closed, 'the sampler is closed');
  assert.not.ok(fs.existsSync(published), 'the published file is removed');
  assert.ok(m.worker.threadId === -1 || (await within(new Promise((res) => m.worker.once('exit', res)), 1000)) === 'DONE', 'the monitor thread exited');
  await fetch(`${m.url}/healthz`).then(() => assert.unreachable('the monitor still answers'), (e) => assert.instance(e, TypeError));
  const err = (() => { try { r.addShutdownHook('late', () => {}); } catch (e) { return e; } return null; })();
  assert.instance(err, SamplerError);
  assert.is(err.code, 'ERR_SAMPLER_CLOSED');
  assert.is(unhandled, null);

  await ex.shutdown();
  rm.close();
  h.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// The README's recipe, as an app would write it: the preload, a StatsD exporter reading the
// preload's sampler, an HTTP server, and a SIGTERM handler of the app's own.
const APP = `
  const http = require('node:http');
  const fs = require('node:fs');
  const { registered } = require('runtime-sampler');
  const { createStatsdExporter } = require('runtime-sampler/statsd');
  const r = registered();
  const exporter = createStatsdExporter({ port: Number(process.env.STATSD_PORT), intervalMs: 60000, sampler: r.sampler });
  const server = http.createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1');
  r.monitor.then(async (m) => {
    await exporter.flush(); // as the periodic flush would have
    const listeners = { SIGTERM: process.listenerCount('SIGTERM'), SIGINT: process.listenerCount('SIGINT') };
    process.once('SIGTERM', async () => {
      server.close();
      await exporter.shutdown();
      await registered().shutdown();
      console.log('PUBLISHED_AFTER_SHUTDOWN ' + fs.existsSync(r.sampler.publishedPath));
      process.exit(0);
    });
    for (let i = 0; i < 5; i++) global.gc(); // counted after the last periodic flush
    console.log('READY ' + JSON.stringify({ monitor: m !== null, published: r.sampler.publishedPath, listeners }));
  });
`;

test('SIGTERM recipe in a child (preload + StatsD): exit code 0, the final flush arrives, the published file is removed', async () => {
  const srv = await udpServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-shutdown-child-'));
  const child = spawn(process.execPath, ['--expose-gc', '-r', 'runtime-sampler/register', '-e', APP], {
    cwd: root,
    env: { ...process.env, RUNTIME_SAMPLER_PORT: '0', RUNTIME_SAMPLER_DIR: dir, STATSD_PORT: String(srv.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await waitFor(() => /READY /.test(out), `READY from the child (stdout ${out}, stderr ${err})`, 10000);
  const ready = JSON.parse(/READY (.*)/.exec(out)[1]);
  assert.ok(ready.monitor);
  assert.equal(ready.listeners, { SIGTERM: 0, SIGINT: 0 }, 'the preload and the exporter installed no signal handler');
  assert.ok(fs.existsSync(ready.published));
  const from = srv.lines.length;
  child.kill('SIGTERM');
  const { code, signal } = await exited;
  assert.is(signal, null, `killed by ${signal}: stderr ${err}`);
  assert.is(code, 0, `exit code ${code}: stderr ${err}`);
  assert.match(out, /PUBLISHED_AFTER_SHUTDOWN false/);
  await waitFor(() => srv.lines.length > from, 'the final flush');
  const mark = counters(srv.lines.slice(from)).get('runtime.v8js.gc.count.mark_sweep_compact');
  assert.ok(mark >= 5, `the 5 forced GCs since the last flush are in the final one: got ${mark}`);
  assert.not.ok(fs.existsSync(ready.published));
  assert.not.match(err, /runtime-sampler: shutdown/, 'no shutdown warning');
  fs.rmSync(dir, { recursive: true, force: true });
  await srv.close();
});

test.run();
