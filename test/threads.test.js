// node-flags: --expose-gc
// Worker threads and stalls: the monitor thread answering while the main loop is stuck,
// the watchdog's stall in progress and its event with a stack, views of other threads'
// samplers (exact per thread, summed by the aggregate), and views outliving their writer.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { Worker } = require('node:worker_threads');
const path = require('node:path');
const { Sampler, SamplerView, SamplerAggregate, SamplerError, startMonitorThread, toPrometheus, toPrometheusProtobuf, toJSON } = require('..');
const { decodeProtobuf } = require('./helpers/protobuf');
const { throwsAll } = require('./helpers/throws');

const root = path.join(__dirname, '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a 2 s synchronous stall: the monitor thread answers within 100 ms, shows it growing; onStall has its stack', async () => {
  const s = new Sampler({ watchdog: { thresholdMs: 100, intervalMs: 10, captureStack: true } }).start();
  const stalls = [];
  s.onStall((e) => stalls.push(e));
  const mon = await startMonitorThread({ sampler: s, port: 0 });
  assert.match(mon.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  // The client is a thread of its own: this one will be busy.
  const client = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const http = require('node:http');
    const get = (path) => new Promise((resolve, reject) => {
      const t0 = performance.now();
      http.get(workerData.url + path, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode, body }));
      }).on('error', reject);
    });
    parentPort.once('message', async () => {
      const out = [];
      const end = performance.now() + 2400;
      while (performance.now() < end) {
        const r = await get('/metrics.json');
        const doc = JSON.parse(r.body);
        const v = (n) => doc.metrics.find((m) => m.name === n).points[0].value;
        out.push({ ms: r.ms, at: performance.now(), active: v('nodejs.eventloop.stall.active'), durationNs: v('nodejs.eventloop.stall.duration') });
        await new Promise((r) => setTimeout(r, 100));
      }
      const text = await get('/metrics');
      parentPort.postMessage({ out, text: text.body, status: text.status });
    });
    parentPort.postMessage('ready');
  `, { eval: true, workerData: { url: mon.url } });
  await new Promise((r) => client.once('message', r));
  const results = new Promise((r) => client.once('message', r));
  client.postMessage('go');
  await sleep(150);
  function busyLoopForTwoSeconds() {
    const end = performance.now() + 2005;
    while (performance.now() < end);
  }
  busyLoopForTwoSeconds();
  const { out, text, status } = await results;
  await client.terminate();

  // Answered throughout: ~20 requests over 2.4 s, all of them during or around the stall.
  assert.ok(out.length >= 15, `${out.length} responses`);
  const during = out.filter((r) => r.active === 1);
  assert.ok(during.length >= 10, `${during.length} responses saw the stall in progress`);
  for (const r of during) assert.ok(r.ms < 100, `a response took ${r.ms.toFixed(1)} ms while the main loop was stuck`);
  // The stall in progress grows from one answer to the next, up to ~2 s.
  for (let i = 1; i < during.length; i++) assert.ok(during[i].durationNs > during[i - 1].durationNs, 'duration grows');
  assert.ok(during.at(-1).durationNs > 1.5e9, `last duration seen ${during.at(-1).durationNs / 1e6} ms`);
  assert.ok(during[0].durationNs < 1e9);
  assert.is(status, 200);
  assert.match(text, /nodejs_eventloop_stall_count_total/);

  // After: one stall event with the duration and the function's name in the stack.
  s.read();
  assert.is(stalls.length, 1, `${stalls.length} stall events`);
  const e = stalls[0];
  assert.ok(e.durationNs >= 2e9, `stall duration ${e.durationNs / 1e6} ms`);
  assert.ok(e.durationNs < 3e9);
  assert.ok(e.elapsedNs >= e.durationNs);
  assert.type(e.stack, 'string');
  assert.match(e.stack, /at busyLoopForTwoSeconds \(.*threads\.test\.js:\d+:\d+\)/);
  const snap = s.read();
  assert.is(snap.stall.count, 1);
  assert.is(snap.stall.active, 0);
  assert.ok(snap.stall.maxNs >= 2e9);
  await mon.close();
  await mon.close(); // idempotent
  s.close();
});

test('short iterations are not stalls; a stall without captureStack has no stack', async () => {
  const s = new Sampler({ watchdog: { thresholdMs: 80 } }).start();
  assert.equal(s.options.watchdog, { thresholdMs: 80, intervalMs: 20, captureStack: false, profile: false, profileIntervalMs: 0 });
  const stalls = [];
  s.onStall((e) => stalls.push(e));
  for (let i = 0; i < 20; i++) {
    const end = performance.now() + 5;
    while (performance.now() < end);
    await sleep(5);
  }
  s.read();
  assert.is(stalls.length, 0);
  await new Promise((r) => setTimeout(() => {
    const end = performance.now() + 120;
    while (performance.now() < end);
    r();
  }, 5));
  await sleep(10);
  s.read();
  assert.is(stalls.length, 1);
  assert.is(stalls[0].stack, undefined);
  assert.ok(stalls[0].durationNs >= 120e6);
  // Without a watchdog there is nothing to listen to.
  const plain = new Sampler();
  try {
    plain.onStall(() => {});
    assert.unreachable('onStall without a watchdog');
  } catch (err) {
    assert.instance(err, SamplerError);
    assert.is(err.code, 'ERR_SAMPLER_NO_WATCHDOG');
  }
  plain.close();
  s.close();
});

const ALLOCATOR = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { PerformanceObserver } = require('node:perf_hooks');
  const { Sampler } = require(workerData.root);
  const s = new Sampler().start();
  let observed = 0;
  const obs = new PerformanceObserver((list) => { observed += list.getEntries().length; });
  obs.observe({ entryTypes: ['gc'] });
  parentPort.postMessage({ type: 'shared', handle: s.share() });
  (async () => {
    let keep = [];
    for (let slice = 0; slice < workerData.slices; slice++) {
      for (let i = 0; i < 40000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 10000) keep = []; }
      if (slice % 10 === 9) gc();
      await new Promise((r) => setImmediate(r));
    }
    keep = null;
    // GC entries reach observers asynchronously, and V8 may still collect while the thread
    // idles: wait until the sampler's count held still over a 100 ms wait (then every entry
    // of those GCs has arrived), with no allocation of ours in between.
    for (let before = -1; s.read().gc.count !== before; ) {
      before = s.read().gc.count;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Stopped at once, so a GC V8 starts later while this thread idles (its memory reducer
    // does, seconds after allocation stops) changes neither count the main thread compares.
    obs.disconnect();
    s.stop();
    const snap = s.read();
    parentPort.postMessage({ type: 'done', observed, count: snap.gc.count });
    parentPort.once('message', () => { s.close(); process.exit(0); });
  })();
`;

test('4 workers allocating: each view is exact against its thread\'s PerformanceObserver; the aggregate sums them', async () => {
  const workers = [];
  for (let i = 0; i < 4; i++) {
    const w = new Worker(ALLOCATOR, { eval: true, workerData: { root, slices: 30 + i * 10 } }); // gc(): V8 flags are process-wide
    const msgs = [];
    const next = () => new Promise((r) => w.once('message', r));
    workers.push({ w, next, msgs });
  }
  let main = null;
  try {
    await allocating(workers, (m) => { main = m; });
  } finally {
    // A failed assertion must not leave the workers running (the file would then hang
    // until run.mjs's timeout).
    main?.close();
    await Promise.all(workers.map((x) => x.w.terminate()));
  }
});

async function allocating(workers, setMain) {
  const shared = await Promise.all(workers.map((x) => x.next()));
  const views = shared.map((m) => Sampler.attach(m.handle));
  views.forEach((v) => assert.instance(v, SamplerView));
  assert.equal(views.map((v) => v.threadId).sort(), workers.map((x) => x.w.threadId).sort());
  const done = await Promise.all(workers.map((x) => x.next()));
  const main = new Sampler().start();
  setMain(main);
  const agg = new SamplerAggregate([...views]);
  let sum = 0;
  done.forEach((d, i) => {
    const snap = views[i].read();
    assert.ok(d.observed > 10, `worker ${i}: ${d.observed} GCs observed`);
    assert.is(d.count, d.observed, `worker ${i}: sampler ${d.count} vs PerformanceObserver ${d.observed}`);
    assert.is(snap.gc.count, d.count, `worker ${i}: view ${snap.gc.count} vs its own read ${d.count}`);
    assert.is(snap.threadId, views[i].threadId);
    assert.is(views[i].histograms.gcPause.count, d.count, 'the GC histograms live in shared memory');
    sum += snap.gc.count;
  });
  const a = agg.read();
  assert.is(a.gc.count, sum);
  assert.is(a.threadId, -1);
  assert.is(agg.histograms.gcPause.count, sum);
  assert.is(a.gc.byType.scavenge.count, views.reduce((acc, v) => acc + v.read().gc.byType.scavenge.count, 0));
  // Process-wide values are not multiplied by the thread count.
  assert.ok(a.process.rssBytes <= Math.max(...views.map((v) => v.read().process.rssBytes)));
  // Exporters label each thread's series.
  const text = toPrometheus(agg);
  for (const v of views) assert.match(text, new RegExp(`v8js_gc_count_total\\{v8js_gc_type="scavenge",thread_id="${v.threadId}"\\} \\d+`));
  // The protobuf exposition: each family once, every thread's series in it.
  const fams = decodeProtobuf(toPrometheusProtobuf(agg));
  assert.is(new Set(fams.map((f) => f.name)).size, fams.length, 'a family twice');
  const gcCounts = fams.find((f) => f.name === 'v8js_gc_count_total').metric;
  assert.is(gcCounts.length, 5 * views.length);
  assert.is(gcCounts.reduce((acc, m) => acc + (m.counter.value ?? 0), 0), sum);
  for (const v of views) assert.ok(gcCounts.some((m) => m.label.some((l) => l.name === 'thread_id' && l.value === String(v.threadId))), `thread ${v.threadId}`);
  const doc = toJSON(agg);
  const counts = doc.metrics.find((m) => m.name === 'v8js.gc.count').points;
  assert.is(counts.length, 5 * 4);
  assert.is(counts.reduce((acc, p) => acc + p.value, 0), sum);
  assert.ok(counts.every((p) => p.attributes['thread.id'] !== undefined));
  // The writers go away: views keep the final values and say so.
  assert.is(views[0].detached, false);
  await Promise.all(workers.map((x) => new Promise((r) => { x.w.once('exit', r); x.w.postMessage('exit'); })));
  for (const [i, v] of views.entries()) {
    assert.is(v.detached, true);
    const snap = v.read();
    assert.is(snap.writerClosed, true);
    assert.is(snap.running, false);
    assert.is(snap.gc.count, done[i].count);
  }
}

test('a view outlives a terminated writer; share()/attach() validate their input', async () => {
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const { Sampler } = require(workerData.root);
    const s = new Sampler({ watchdog: true }).start();
    parentPort.postMessage(s.share());
    // GC-heavy, never yields: from the second iteration on (the one running when the
    // sampler started is not judged a stall).
    setTimeout(() => {
      let keep = [];
      for (;;) { keep.push({ a: [1, 2, 3] }); if (keep.length > 5000) keep = []; }
    }, 5);
  `, { eval: true, workerData: { root } });
  const handle = await new Promise((r) => w.once('message', r));
  const view = Sampler.attach(handle);
  await sleep(150);
  const mid = view.read();
  assert.ok(mid.gc.count > 0, 'GCs seen from this thread while the worker never yields');
  assert.is(mid.stall.active, 1, 'the worker\'s loop is stuck: the watchdog says so');
  await w.terminate(); // mid-GC, most likely
  const after = view.read();
  assert.is(view.detached, true);
  assert.is(after.writerClosed, true);
  assert.is(after.stall.active, 0);
  assert.ok(after.gc.count >= mid.gc.count);
  assert.ok(toPrometheus(view).includes('v8js_gc_count_total'));
  view.close();
  try {
    view.read();
    assert.unreachable('read after close');
  } catch (e) {
    assert.is(e.code, 'ERR_SAMPLER_CLOSED');
  }
  const s = new Sampler();
  const h = s.share();
  throwsAll([
    [() => Sampler.attach(null), TypeError, /Sampler.attach\(handle\): handle must be the object sampler.share\(\) returns/],
    [() => Sampler.attach({ ...h, kind: 'x' }), TypeError, /handle must be the object sampler.share\(\) returns/],
    [() => Sampler.attach({ ...h, buffer: new ArrayBuffer(8) }), TypeError, /handle must be/],
    [() => Sampler.attach({ ...h, version: 99 }), SamplerError, /layout version 99/],
    [() => new SamplerAggregate([]), TypeError, /members must be a non-empty array/],
    [() => new SamplerAggregate([s, {}]), TypeError, /members\[1\] must be a Sampler or a SamplerView/],
    [() => new Sampler({ watchdog: 5 }), TypeError, /watchdog must be true, false or an object/],
    [() => new Sampler({ watchdog: { threshold: 5 } }), TypeError, /unknown option "threshold"; accepted options: thresholdMs, intervalMs, captureStack/],
    [() => new Sampler({ watchdog: { thresholdMs: 0 } }), RangeError, /watchdog.thresholdMs must be an integer from 1 to 3600000, got 0/],
    [() => new Sampler({ watchdog: { intervalMs: 1.5 } }), RangeError, /watchdog.intervalMs must be an integer from 1 to 60000, got 1.5/],
    [() => new Sampler({ watchdog: { captureStack: 'yes' } }), TypeError, /watchdog.captureStack must be true or false, got "yes"/],
  ]);
  // A view can share onward; attach(share()) of the owner on the same thread works too.
  const v2 = Sampler.attach(Sampler.attach(h).share());
  assert.is(v2.read().gc.count, s.read().gc.count);
  s.close();
  assert.is(v2.detached, true);
});

test('startMonitorThread validates its options and reports a taken port', async () => {
  const s = new Sampler().start();
  throwsAll([
    [() => startMonitorThread(), TypeError, /options must be an object with sampler and port/],
    [() => startMonitorThread({ port: 0 }), TypeError, /sampler is required/],
    [() => startMonitorThread({ sampler: s }), TypeError, /port is required/],
    [() => startMonitorThread({ sampler: s, port: 70000 }), RangeError, /port must be an integer from 0 to 65535, got 70000/],
    [() => startMonitorThread({ sampler: s, port: 0, host: '' }), TypeError, /host must be a non-empty string/],
    [() => startMonitorThread({ sampler: s, port: 0, hots: 'x' }), TypeError, /unknown option "hots"/],
    [() => startMonitorThread({ sampler: {}, port: 0 }), TypeError, /sampler must be a Sampler, SamplerView or SamplerAggregate/],
  ]);
  const a = await startMonitorThread({ sampler: s, port: 0 });
  try {
    await startMonitorThread({ sampler: s, port: a.port });
    assert.unreachable('the port is taken');
  } catch (e) {
    assert.is(e.code, 'EADDRINUSE');
    assert.match(e.message, /cannot listen on 127\.0\.0\.1:\d+/);
  }
  const res = await fetch(`${a.url}/nope`);
  assert.is(res.status, 404);
  const json = await (await fetch(`${a.url}/metrics.json`)).json();
  assert.is(json.schema, 'runtime-sampler/metrics/v1');
  const om = await fetch(`${a.url}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
  assert.match(om.headers.get('content-type'), /application\/openmetrics-text/);
  assert.ok((await om.text()).endsWith('# EOF\n'));
  await a.close();
  s.close();
});

test.run();
