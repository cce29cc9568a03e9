// node-flags: --expose-gc
// versions: current — the StatsD exporter's formatting and sending
// The StatsD / DogStatsD exporter against a real UDP socket on 127.0.0.1: packet sizes,
// the line grammar, values against the sampler, counter deltas, interval histograms, tags,
// network failures that must be counted and never thrown, lifecycle and bad input.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { throwsLike } = require('./helpers/throws');
const dgram = require('node:dgram');
const { spawnSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { Sampler, delta, SamplerError } = require('..');
const { createStatsdExporter, packLines, STATSD_DEFAULT_PREFIX } = require('runtime-sampler/statsd');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function block(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}
async function waitFor(cond, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

let unhandled = null;
process.on('unhandledRejection', (e) => { unhandled = e; });
process.on('uncaughtException', (e) => { unhandled = e; });

/** A UDP server on 127.0.0.1 keeping every datagram it receives. */
function server() {
  const socket = dgram.createSocket('udp4');
  // A failed assertion skips close(): the socket must not keep the test process alive.
  socket.unref();
  const packets = [];
  socket.on('message', (m) => packets.push(m));
  return new Promise((resolve) => {
    socket.bind(0, '127.0.0.1', () => {
      resolve({
        port: socket.address().port,
        packets,
        /** Lines of the packets received so far, from index `from` on. */
        lines(from = 0) {
          return packets.slice(from).flatMap((p) => p.toString('utf8').split('\n'));
        },
        close: () => new Promise((r) => socket.close(r)),
      });
    });
  });
}

const LINE_RE = /^([A-Za-z0-9_.-]+):(-?\d+(?:\.\d+)?)\|(c|g|ms|h|d|s)(?:\|@(\d+(?:\.\d+)?))?(?:\|#([^|,\s#]+(?:,[^|,\s#]+)*))?$/;

function parse(line) {
  const m = LINE_RE.exec(line);
  assert.ok(m, `line does not match name:value|type[|@rate][|#tags]: ${JSON.stringify(line)}`);
  return { name: m[1], value: Number(m[2]), type: m[3], tags: m[5] ? m[5].split(',') : [] };
}

/** Lines by name (plain StatsD) or by name + sorted tags (DogStatsD). */
function index(lines) {
  const map = new Map();
  for (const l of lines) {
    const p = parse(l);
    const key = p.tags.length ? `${p.name}|${[...p.tags].sort().join(',')}` : p.name;
    assert.not.ok(map.has(key), `${key} sent twice in one flush`);
    map.set(key, p);
  }
  return map;
}

/** Flushes and waits until the server has every datagram the flush sent. */
async function flushAndReceive(ex, srv) {
  const from = srv.packets.length;
  const before = ex.stats.packets;
  await ex.flush();
  const sent = ex.stats.packets - before;
  await waitFor(() => srv.packets.length - from >= sent, `${sent} datagrams`);
  return srv.lines(from);
}

const GC_TYPES = ['scavenge', 'minor_mark_sweep', 'mark_sweep_compact', 'incremental_marking', 'process_weak_callbacks'];
const TIMESTAMPS = ['runtime_sampler.time', 'runtime_sampler.start_time', 'runtime_sampler.refresh.last_time', 'v8js.gc.last_end_time', 'v8js.heap.update_time', 'nodejs.eventloop.stall.start_time', 'nodejs.threadpool.in_flight.start_time'];

/** Catalog names StatsD sends under another name (docs/exporters.md, "Names and tags"). */
const RENAMED = { 'nodejs.threadpool.delay.max': 'nodejs.threadpool.max_delay' };

/** The plain-StatsD names the docs promise for counters and gauges, derived from the catalog. */
function expectedValueNames(sampler, prefix) {
  const byName = new Map();
  for (const d of sampler.catalog()) {
    if (d.kind === 'histogram' || TIMESTAMPS.includes(d.name)) continue;
    (byName.get(d.name) ?? byName.set(d.name, []).get(d.name)).push(d);
  }
  const names = new Set();
  for (const [name, list] of byName) {
    const attributed = list.filter((d) => d.attributes.length > 0);
    for (const d of attributed.length ? attributed : list) {
      const sent = RENAMED[name] ?? name;
      if (d.attributes.length === 0) names.add(prefix + sent);
      else for (const v of d.attributes[0].values) names.add(`${prefix}${sent}.${v}`);
    }
  }
  return names;
}

test('every datagram fits maxPacketBytes, lines are never split, and the received lines are exactly those counted', async () => {
  const srv = await server();
  const s = new Sampler().start();
  const ex = createStatsdExporter({ detail: 'full', port: srv.port, intervalMs: 0, sampler: s, maxPacketBytes: 256, protocol: 'dogstatsd', tags: { service: 'api', env: 'test' } });
  for (let i = 0; i < 3; i++) {
    global.gc();
    await flushAndReceive(ex, srv);
  }
  const st = ex.stats;
  assert.is(st.flushes, 3);
  assert.is(st.errors, 0, String(st.lastError));
  assert.is(st.dropped, 0);
  assert.is(srv.packets.length, st.packets);
  assert.ok(st.packets >= 3 * 20, `a 256-byte limit must force many datagrams, got ${st.packets}`);
  assert.is(srv.packets.reduce((n, p) => n + p.length, 0), st.bytes);
  for (const p of srv.packets) {
    assert.ok(p.length <= 256, `datagram of ${p.length} bytes`);
    assert.not.ok(p.toString().endsWith('\n'));
  }
  const lines = srv.lines();
  assert.is(lines.length, st.metrics);
  for (const l of lines) parse(l);
  await ex.close();
  s.close();
  await srv.close();
});

test('packLines: greedy, in order, never splits a line, drops and counts lines over the limit', () => {
  const lines = ['a:1|c', 'bb:2|c', 'x'.repeat(20) + ':1|g', 'c:3|c'];
  const { packets, dropped } = packLines(lines, 14);
  assert.equal(packets, ['a:1|c\nbb:2|c', 'c:3|c']);
  assert.is(dropped, 1);
  assert.equal(packLines(lines, 100).packets, [lines.join('\n')]);
  assert.equal(packLines([], 100), { packets: [], dropped: 0 });
  // Exactly at the limit fits.
  assert.equal(packLines(['a:1|c', 'b:1|c'], 11).packets, ['a:1|c\nb:1|c']);
  assert.equal(packLines(['a:1|c', 'b:1|c'], 10).packets, ['a:1|c', 'b:1|c']);
  // The limit is in bytes, not characters.
  assert.equal(packLines(['é:1|c', 'a:1|c'], 11).packets, ['é:1|c', 'a:1|c']);
});

test('a line longer than maxPacketBytes is dropped and counted; no datagram exceeds the limit', async () => {
  const srv = await server();
  const s = new Sampler().start();
  const ex = createStatsdExporter({ detail: 'full', port: srv.port, intervalMs: 0, sampler: s, maxPacketBytes: 64, prefix: 'a.rather.long.application.prefix.' });
  const lines = await flushAndReceive(ex, srv);
  const st = ex.stats;
  assert.ok(st.dropped > 0, 'some lines must be too long for 64 bytes');
  assert.ok(st.metrics > 0, 'the short ones are sent');
  assert.is(lines.length, st.metrics);
  for (const p of srv.packets) assert.ok(p.length <= 64, `datagram of ${p.length} bytes`);
  for (const l of lines) assert.ok(Buffer.byteLength(l) <= 64);
  await ex.close();
  s.close();
  await srv.close();
});

test('plain StatsD: catalog names with attribute values folded in, no tags, the documented names exactly', async () => {
  const srv = await server();
  const s = new Sampler().start();
  const ex = createStatsdExporter({ detail: 'full', port: srv.port, intervalMs: 0, sampler: s });
  assert.is(ex.options.prefix, STATSD_DEFAULT_PREFIX);
  assert.is(ex.options.protocol, 'statsd');
  const fragmentationKnown = !Number.isNaN(s.read().heap.fragmentation.total);
  // Container values the kernel does not give here (NaN) or that are no limit (+Infinity)
  // are not sent; whether they are known does not change between two refreshes.
  const unsent = new Set();
  const before = s.read();
  for (const d of s.catalog()) {
    if (!d.path.startsWith('container.') || Number.isFinite(before.container[d.path.slice('container.'.length)])) continue;
    unsent.add(`runtime.${d.name}${d.attributes.length > 0 ? `.${d.attributes[0].values[0]}` : ''}`);
  }
  const lines = await flushAndReceive(ex, srv);
  for (const l of lines) {
    assert.not.ok(l.includes('|#'), `tag in a plain StatsD line: ${l}`);
    assert.ok(l.startsWith('runtime.'), l);
  }
  const got = index(lines);
  const expected = expectedValueNames(s, 'runtime.');
  const snap = s.read();
  for (const name of expected) {
    // Negative gauges are not sent: only open fds, where the platform does not count them.
    if (name === 'runtime.process.open_file_descriptor.count' && snap.process.openFds < 0) continue;
    // NaN is not sent: fragmentation before V8 first reports it (a GC during the flush can
    // report it, so only a value known before the flush must be there).
    if (/fragmentation/.test(name) && !fragmentationKnown) continue;
    if (unsent.has(name)) {
      assert.not.ok(got.has(name), `${name} sent without a finite value`);
      continue;
    }
    assert.ok(got.has(name), `missing ${name}`);
  }
  for (const t of GC_TYPES) {
    assert.is(got.get(`runtime.v8js.gc.count.${t}`).type, 'c');
    assert.is(got.get(`runtime.v8js.gc.pause.time.${t}`).type, 'c');
    assert.is(got.get(`runtime.v8js.gc.pause.max.${t}`).type, 'g');
    assert.is(got.get(`runtime.v8js.gc.duration.${t}.count`).type, 'c');
  }
  for (const sp of s.heapSpaceNames) assert.is(got.get(`runtime.v8js.memory.heap.used.${sp}`).type, 'g');
  assert.ok(got.has('runtime.nodejs.eventloop.time.idle') && got.has('runtime.nodejs.eventloop.time.active'));
  assert.ok(got.has('runtime.process.cpu.time.user') && got.has('runtime.process.cpu.time.system'));
  // Totals that are the sum of attributed series are not sent twice.
  assert.not.ok(got.has('runtime.v8js.gc.count'));
  assert.not.ok(got.has('runtime.v8js.gc.duration.count'));
  for (const t of TIMESTAMPS) assert.not.ok(got.has(`runtime.${t}`), `timestamp ${t} sent`);
  // Every line is either a documented counter/gauge or a histogram statistic.
  const HIST = /^runtime\.(v8js\.gc\.duration\.[a-z_]+|nodejs\.eventloop\.delay|nodejs\.eventloop\.iteration\.duration|v8js\.gc\.time_to_safepoint\.duration|nodejs\.threadpool\.delay)\.(count|avg|max|p50|p90|p99)$/;
  for (const name of got.keys()) assert.ok(expected.has(name) || HIST.test(name), `unexpected line ${name}`);
  await ex.close();
  s.close();
  await srv.close();
});

test('container and threadpool: each name once, values from a fixture cgroup, +Inf and NaN left out', async () => {
  const { v2Fixture, writeTree, removeFixture } = require('./helpers/cgroup');
  // memory.max "max" (+Infinity), memory.high "max" too, no memory.events (NaN counters).
  const dir = v2Fixture({ 'memory.max': 'max\n', 'memory.events': undefined });
  const srv = await server();
  const s = new Sampler({ cgroupRoot: dir, threadpoolProbeMs: 10 }).start();
  try {
    for (const protocol of ['statsd', 'dogstatsd']) {
      const probes = s.read().threadpool.probes;
      const ex = createStatsdExporter({ detail: 'full', port: srv.port, intervalMs: 0, sampler: s, prefix: '', protocol, flushOnClose: false });
      // The kernel's counters grow between two flushes: the lines carry the increase.
      writeTree(dir, { 'cpu.stat': 'nr_periods 70\nnr_throttled 45\nthrottled_usec 3000000\n', 'memory.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=2500\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=700\n' });
      s.refresh();
      await waitFor(() => s.read().threadpool.probes >= probes + 3, 'three threadpool probes');
      // index() fails on a name sent twice in one flush.
      const got = index(await flushAndReceive(ex, srv));
      const key = (name, attr) => (attr === undefined ? name : protocol === 'statsd' ? `${name}.${attr}` : `${name}|kind:${attr}`);
      const value = (name, attr) => got.get(key(name, attr));
      assert.equal(value('nodejs.container.memory.usage'), { name: 'nodejs.container.memory.usage', value: 104857600, type: 'g', tags: [] });
      assert.is(value('nodejs.container.cpu.quota').value, 0.2);
      assert.is(value('nodejs.container.cgroup.version').value, 2);
      assert.is(value('nodejs.container.cpu.periods').value, 20);
      assert.is(value('nodejs.container.cpu.periods').type, 'c');
      assert.is(value('nodejs.container.cpu.throttled_periods').value, 5);
      assert.is(value('nodejs.container.cpu.throttled_time').value, 500); // ns → ms
      assert.is(value('nodejs.container.memory.pressure', 'some').value, 1); // 1000 µs
      assert.is(value('nodejs.container.memory.pressure', 'full').value, 0);
      // No limit (+Infinity) and an unknown value (NaN) have no line at all.
      for (const gone of ['nodejs.container.memory.limit', 'nodejs.container.memory.high', 'nodejs.container.memory.oom_kill', 'nodejs.container.memory.max_events']) {
        assert.not.ok([...got.keys()].some((k) => k === gone || k.startsWith(`${gone}|`)), `${gone} sent`);
      }
      // The probe: the interval histogram and the since-start maximum under distinct names.
      const snap = s.read();
      assert.ok(value('nodejs.threadpool.delay.count').value >= 3);
      // The interval's max is within one exponential bucket (1.1%) of the exact value.
      assert.ok(value('nodejs.threadpool.delay.max').value <= value('nodejs.threadpool.max_delay').value * 1.011 + 1e-6);
      assert.ok(Math.abs(value('nodejs.threadpool.max_delay').value - snap.threadpool.maxDelayNs / 1e6) <= 1e-6);
      assert.is(value('nodejs.threadpool.size').value, snap.threadpool.size);
      assert.ok(value('nodejs.threadpool.probes').value >= 3);
      for (const n of ['nodejs.threadpool.in_flight', 'nodejs.threadpool.in_flight.duration']) assert.is(value(n).type, 'g');
      await ex.close();
      writeTree(dir, { 'cpu.stat': 'nr_periods 50\nnr_throttled 40\nthrottled_usec 2500000\n', 'memory.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=1500\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=700\n' });
      s.refresh();
    }
  } finally {
    s.close();
    await srv.close();
    removeFixture(dir);
  }
});

test('no counter or gauge is named like a histogram\'s statistic line', () => {
  // Both would be sent under one name in one flush, and a server would mix them.
  const s = new Sampler();
  const stats = ['count', 'avg', 'max', 'p50', 'p90', 'p99', 'p99_9'];
  const hist = new Set(s.catalog().filter((d) => d.kind === 'histogram').flatMap((d) => stats.map((st) => `${d.name}.${st}`)));
  for (const n of expectedValueNames(s, '')) assert.not.ok(hist.has(n), `${n} is also a histogram statistic`);
  s.close();
});

test('gauges equal the sampler\'s values, in bytes; utilization is the interval\'s', async () => {
  const srv = await server();
  const s = new Sampler().start();
  const ex = createStatsdExporter({ detail: 'full', port: srv.port, intervalMs: 0, sampler: s, prefix: '' });
  await sleep(20);
  // Stopped, the sampler's values cannot move between the exporter's read and ours.
  s.stop();
  const lines = await flushAndReceive(ex, srv);
  const snap = s.read();
  const got = index(lines);
  assert.is(got.get('v8js.heap.used').value, snap.heap.usedBytes);
  assert.is(got.get('v8js.heap.used').type, 'g');
  assert.is(got.get('v8js.heap.limit').value, snap.heap.limitBytes);
  assert.is(got.get('process.memory.usage').value, snap.process.rssBytes);
  for (const sp of s.heapSpaceNames) {
    assert.is(got.get(`v8js.memory.heap.used.${sp}`).value, snap.heap.spaces[sp].usedBytes);
  }
  // ns → ms.
  assert.ok(Math.abs(got.get('nodejs.eventloop.iteration.max').value - snap.loop.maxIterationNs / 1e6) <= 1e-6);
  const u = got.get('nodejs.eventloop.utilization').value;
  assert.ok(u >= 0 && u <= 1, `utilization ${u}`);
  s.start();
  await ex.close();
  s.close();
  await srv.close();
});

test('counter deltas: N forced GCs between two flushes are sent as exactly the sampler\'s delta, and flushes add up', async () => {
  const srv = await server();
  const s = new Sampler().start();
  global.gc(); // history before the exporter existed: not sent
  s.stop();
  const ex = createStatsdExporter({ detail: 'full', port: srv.port, intervalMs: 0, sampler: s });
  const first = index(await flushAndReceive(ex, srv));
  for (const t of GC_TYPES) assert.is(first.get(`runtime.v8js.gc.count.${t}`).value, 0, `${t} before any GC`);
  const base = s.read();
  s.start();
  const N = 7;
  for (let i = 0; i < N; i++) global.gc();
  s.stop();
  const lines = await flushAndReceive(ex, srv);
  const after = s.read();
  const d = delta(base, after);
  const got = index(lines);
  const byType = Object.fromEntries(GC_TYPES.map((t) => [t, got.get(`runtime.v8js.gc.count.${t}`)]));
  for (const t of GC_TYPES) assert.is(byType[t].type, 'c');
  assert.ok(byType.mark_sweep_compact.value >= N, `mark-sweep-compact delta ${byType.mark_sweep_compact.value} < ${N}`);
  const sum = GC_TYPES.reduce((n, t) => n + byType[t].value, 0);
  assert.is(sum, d.gc.count);
  assert.is(byType.mark_sweep_compact.value, d.gc.byType.markSweepCompact.count);
  assert.is(got.get('runtime.v8js.gc.forced.count').value, d.gc.forcedCount);
  assert.is(got.get('runtime.v8js.gc.reclaimed').value, d.gc.reclaimedBytes);
  const pauseMs = GC_TYPES.reduce((n, t) => n + got.get(`runtime.v8js.gc.pause.time.${t}`).value, 0);
  assert.ok(Math.abs(pauseMs - d.gc.pauseNs / 1e6) < 1e-5, `pause ${pauseMs} ms vs ${d.gc.pauseNs} ns`);
  // The interval histogram saw the same collections.
  assert.is(got.get('runtime.v8js.gc.duration.mark_sweep_compact.count').value, d.gc.byType.markSweepCompact.count);
  assert.ok(got.get('runtime.v8js.gc.duration.mark_sweep_compact.max').value > 0);

  // Three more intervals, then the sum over every flush equals the total change.
  const sums = new Map();
  const add = (ls) => {
    for (const l of ls) {
      const p = parse(l);
      if (p.type === 'c') sums.set(p.name, (sums.get(p.name) ?? 0) + p.value);
    }
  };
  add(lines);
  for (let k = 0; k < 3; k++) {
    s.start();
    for (let i = 0; i < 3; i++) global.gc();
    const junk = [];
    for (let i = 0; i < 2e4; i++) junk.push({ i });
    junk.length = 0; // garbage now
    s.stop();
    add(await flushAndReceive(ex, srv));
  }
  const end = s.read();
  const total = delta(base, end);
  const gcSum = GC_TYPES.reduce((n, t) => n + sums.get(`runtime.v8js.gc.count.${t}`), 0);
  assert.is(gcSum, total.gc.count);
  assert.is(sums.get('runtime.v8js.gc.duration.mark_sweep_compact.count'), total.gc.byType.markSweepCompact.count);
  assert.is(sums.get('runtime.v8js.memory.allocated'), total.allocation.bytes);
  assert.is(sums.get('runtime.nodejs.eventloop.iterations'), total.loop.iterations);
  await ex.close();
  s.close();
  await srv.close();
});

test('histograms: the interval\'s count, avg, max and percentiles in ms; a 200 ms block shows in loop delay and iteration max', async () => {
  const srv = await server();
  const s = new Sampler({ loopDelayResolutionMs: 10 }).start();
  const ex = createStatsdExporter({ detail: 'full', port: srv.port, intervalMs: 0, sampler: s, percentiles: [50, 99, 99.9] });
  await sleep(30);
  await flushAndReceive(ex, srv);
  await new Promise((resolve) => setTimeout(() => { block(200); resolve(); }, 5));
  await sleep(50);
  const got = index(await flushAndReceive(ex, srv));
  for (const base of ['runtime.nodejs.eventloop.delay', 'runtime.nodejs.eventloop.iteration.duration']) {
    const count = got.get(`${base}.count`);
    assert.is(count.type, 'c');
    assert.ok(count.value >= 1, `${base}.count ${count.value}`);
    const stats = ['avg', 'max', 'p50', 'p99', 'p99_9'].map((k) => got.get(`${base}.${k}`));
    for (const st of stats) assert.is(st.type, 'g');
    const [avg, max, p50, p99, p999] = stats.map((x) => x.value);
    assert.ok(max >= 200, `${base}.max ${max} ms after a 200 ms block`);
    assert.ok(max < 10_000, `${base}.max ${max} must be in ms`);
    assert.ok(p50 <= p99 && p99 <= p999 && p999 <= max, `${base}: ${p50} ${p99} ${p999} ${max}`);
    assert.ok(avg > 0 && avg <= max, `${base}.avg ${avg}`);
    assert.not.ok(got.has(`${base}.p90`), 'only the configured percentiles');
  }
  // The next interval has no block: its max is the interval's, not since start().
  await sleep(60);
  const next = index(await flushAndReceive(ex, srv));
  const nextMax = next.get('runtime.nodejs.eventloop.iteration.duration.max');
  assert.ok(nextMax === undefined || nextMax.value < 200, `interval max ${nextMax && nextMax.value}`);
  // A histogram with nothing in the interval sends count 0 and no statistics.
  assert.is(next.get('runtime.v8js.gc.duration.process_weak_callbacks.count').value, 0);
  assert.not.ok(next.has('runtime.v8js.gc.duration.process_weak_callbacks.max'));
  await ex.close();
  s.close();
  await srv.close();
});

test('DogStatsD: attributes and global tags after |#, catalog names unchanged', async () => {
  const srv = await server();
  const s = new Sampler().start();
  const ex = createStatsdExporter({ detail: 'full', port: srv.port, intervalMs: 0, sampler: s, protocol: 'dogstatsd', prefix: 'app.', tags: { service: 'api', version: 3, canary: '' } });
  global.gc();
  const lines = await flushAndReceive(ex, srv);
  const got = index(lines);
  for (const l of lines) {
    const p = parse(l);
    assert.ok(p.tags.includes('service:api') && p.tags.includes('version:3') && p.tags.includes('canary'), l);
  }
  const msc = got.get('app.v8js.gc.count|canary,service:api,v8js.gc.type:mark_sweep_compact,version:3');
  assert.ok(msc && msc.type === 'c' && msc.value >= 1, 'gc count of type mark_sweep_compact as a tag');
  for (const sp of s.heapSpaceNames) {
    assert.ok(got.has(`app.v8js.memory.heap.used|canary,service:api,v8js.heap.space.name:${sp},version:3`), sp);
  }
  assert.ok(got.has('app.nodejs.eventloop.time|canary,nodejs.eventloop.state:idle,service:api,version:3'));
  assert.ok(got.has('app.v8js.gc.duration.count|canary,service:api,v8js.gc.type:mark_sweep_compact,version:3'));
  assert.not.ok([...got.keys()].some((k) => k.startsWith('app.v8js.gc.count.')), 'attributes are not folded into names');
  await ex.close();
  s.close();
  await srv.close();
});

test('network errors: an unresolvable host, a refused send and a closed socket are counted, never thrown', async () => {
  const s = new Sampler().start();
  const seen = [];
  const bad = createStatsdExporter({ host: 'nonexistent.invalid', intervalMs: 0, sampler: s, onError: (e) => seen.push(e) });
  await bad.flush();
  await bad.flush();
  assert.is(bad.stats.errors, 2);
  assert.is(bad.stats.packets, 0);
  assert.instance(bad.stats.lastError, Error);
  assert.ok(/ENOTFOUND|EAI_AGAIN|EAI_FAIL/.test(bad.stats.lastError.code), bad.stats.lastError.code);
  assert.is(seen.length, 2);
  assert.is(bad.stats.flushes, 2);
  await bad.close();

  // Broadcast without SO_BROADCAST: the kernel refuses every datagram (EACCES in the send callback).
  const refused = createStatsdExporter({ host: '255.255.255.255', intervalMs: 0, sampler: s, onError: () => { throw new Error('a throwing hook is ignored'); } });
  await refused.flush();
  const r = refused.stats;
  assert.ok(r.errors >= 1, 'send errors counted');
  assert.is(r.packets, 0);
  assert.is(r.lastError.code, 'EACCES');
  await refused.close();
  assert.ok(refused.stats.errors > r.errors, 'the final flush of close() fails the same way, counted');

  // The socket closed under the exporter: those sends fail and are counted, the next flush
  // opens a new socket and delivers again.
  const srv = await server();
  const ex = createStatsdExporter({ detail: 'full', port: srv.port, intervalMs: 0, sampler: s });
  await flushAndReceive(ex, srv);
  assert.is(ex.stats.errors, 0);
  ex.socket.close();
  await ex.flush();
  assert.ok(ex.stats.errors >= 1, `errors ${ex.stats.errors}`);
  await sleep(10);
  const errorsBefore = ex.stats.errors;
  const packetsBefore = ex.stats.packets;
  const lines = await flushAndReceive(ex, srv);
  assert.ok(lines.length > 0 && ex.stats.packets > packetsBefore, 'recovered');
  assert.is(ex.stats.errors, errorsBefore);
  await ex.close();
  await srv.close();

  // A timer-driven flush to a bad host keeps failing quietly.
  const timed = createStatsdExporter({ host: 'nonexistent.invalid', intervalMs: 100, sampler: s });
  await waitFor(() => timed.stats.errors >= 2, 'two failed timer flushes');
  await timed.close();
  s.close();
  assert.is(unhandled, null, String(unhandled));
});

test('a sampler closed under the exporter is counted as an error, not thrown', async () => {
  const s = new Sampler().start();
  const ex = createStatsdExporter({ detail: 'full', port: 9, intervalMs: 0, sampler: s });
  s.close();
  await ex.flush();
  assert.is(ex.stats.errors, 1);
  assert.is(ex.stats.lastError.code, 'ERR_SAMPLER_CLOSED');
  await ex.close();
});

test('the timer flushes every intervalMs; close() stops it, sends a last flush, and closes an owned sampler only', async () => {
  const srv = await server();
  const ex = createStatsdExporter({ port: srv.port, intervalMs: 100 });
  assert.ok(ex.sampler.started, 'an owned sampler is started');
  assert.is(ex.options.flushOnClose, true, 'the default');
  await waitFor(() => ex.stats.flushes >= 2 && srv.packets.length >= ex.stats.packets && ex.stats.packets > 0, 'two timer flushes');
  const flushes = ex.stats.flushes;
  const p = ex.close();
  assert.is(ex.close(), p, 'close() is idempotent');
  assert.ok(ex.closed);
  await p;
  assert.is(ex.stats.flushes, flushes + 1, 'close() sends a last flush');
  assert.ok(ex.sampler.closed, 'the owned sampler is closed');
  const after = ex.stats.flushes;
  await sleep(250);
  assert.is(ex.stats.flushes, after, 'no timer flush after close()');
  try {
    await ex.flush();
    assert.unreachable('flush() after close() must reject');
  } catch (e) {
    assert.instance(e, SamplerError);
    assert.is(e.code, 'ERR_SAMPLER_CLOSED');
  }

  const s = new Sampler().start();
  const quiet = createStatsdExporter({ detail: 'full', port: srv.port, intervalMs: 0, sampler: s, flushOnClose: false });
  await quiet.close();
  assert.is(quiet.stats.flushes, 0, 'flushOnClose: false sends nothing');
  assert.not.ok(s.closed, 'a sampler passed in stays open');
  s.close();
  await srv.close();
});

test('the timer never keeps the process alive; unref: false does until close()', () => {
  const mod = require.resolve('runtime-sampler/statsd');
  const run = (code) => spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 20000 });
  const a = run(`const { createStatsdExporter } = require(${JSON.stringify(mod)});
    const ex = createStatsdExporter({ port: 9, intervalMs: 100 }); ex.flush();`);
  assert.is(a.status, 0, a.stderr);
  assert.is(a.signal, null);
  // An unref'd 500 ms timeout fires only if the ref'd flush timer keeps the loop alive.
  const b = run(`const { createStatsdExporter } = require(${JSON.stringify(mod)});
    const ex = createStatsdExporter({ port: 9, intervalMs: 100, unref: false });
    setTimeout(() => { console.log('flushes', ex.stats.flushes); ex.close(); }, 500).unref();`);
  assert.is(b.status, 0, b.stderr);
  const m = /flushes (\d+)/.exec(b.stdout);
  assert.ok(m && Number(m[1]) >= 2, `stdout ${JSON.stringify(b.stdout)}`);
});

test('ESM import of runtime-sampler/statsd', async () => {
  const m = await import('runtime-sampler/statsd');
  assert.type(m.createStatsdExporter, 'function');
  assert.is(m.createStatsdExporter, createStatsdExporter);
});

test('bad options: TypeError or RangeError naming the option, the value and what is accepted', () => {
  const s = new Sampler();
  const cases = [
    [42, TypeError, /options must be an object, got 42/],
    [[], TypeError, /options must be an object, got an array/],
    [{ hots: 'x' }, TypeError, /unknown option "hots"; accepted options: host, port/],
    [{ host: 1 }, TypeError, /host must be a string, got 1/],
    [{ host: '' }, RangeError, /host must be a host name or IP address.*got ""/],
    [{ host: 'a b' }, RangeError, /host must be .*got "a b"/],
    [{ port: '8125' }, TypeError, /port must be a number \(an integer from 1 to 65535\), got "8125"/],
    [{ port: 0 }, RangeError, /port must be an integer from 1 to 65535, got 0/],
    [{ port: 65536 }, RangeError, /port .*65535, got 65536/],
    [{ port: 81.5 }, RangeError, /port .*got 81.5/],
    [{ intervalMs: '1000' }, TypeError, /intervalMs must be 0 \(no timer\) or an integer from 100 to 3600000, got "1000"/],
    [{ intervalMs: 50 }, RangeError, /intervalMs .*got 50/],
    [{ intervalMs: -1 }, RangeError, /intervalMs .*got -1/],
    [{ intervalMs: 1000.5 }, RangeError, /intervalMs .*got 1000.5/],
    [{ intervalMs: 3600001 }, RangeError, /intervalMs .*got 3600001/],
    [{ intervalMs: NaN }, RangeError, /intervalMs .*got NaN/],
    [{ prefix: 1 }, TypeError, /prefix must be a string, got 1/],
    [{ prefix: 'myapp' }, RangeError, /prefix must be .*ending in '\.'.*got "myapp"/],
    [{ prefix: 'my app.' }, RangeError, /prefix .*got "my app\."/],
    [{ prefix: 'a..b.' }, RangeError, /prefix .*got "a\.\.b\."/],
    [{ prefix: 'a:b.' }, RangeError, /prefix .*got "a:b\."/],
    [{ protocol: 'graphite' }, RangeError, /protocol must be 'statsd' or 'dogstatsd', got "graphite"/],
    [{ protocol: 1 }, TypeError, /protocol must be 'statsd' or 'dogstatsd', got 1/],
    [{ protocol: 'dogstatsd', tags: 'a:b' }, TypeError, /tags must be an object of name → value, got "a:b"/],
    [{ protocol: 'dogstatsd', tags: ['a:b'] }, TypeError, /tags must be an object.*got an array/],
    [{ protocol: 'dogstatsd', tags: { '1x': 'a' } }, RangeError, /tags: label name "1x" is not valid; accepted: a letter/],
    [{ protocol: 'dogstatsd', tags: { 'a:b': 'a' } }, RangeError, /tags: label name "a:b"/],
    [{ protocol: 'dogstatsd', tags: { a: {} } }, TypeError, /tags\.a must be a string or a number, got a object/],
    [{ protocol: 'dogstatsd', tags: { a: 'x,y' } }, RangeError, /tags\.a must not contain ',', '\|', '#'.*got "x,y"/],
    [{ protocol: 'dogstatsd', tags: { a: 'x|y' } }, RangeError, /tags\.a .*got "x\|y"/],
    [{ protocol: 'dogstatsd', tags: { a: 'x y' } }, RangeError, /tags\.a .*got "x y"/],
    [{ tags: { a: 'b' } }, RangeError, /tags need protocol: 'dogstatsd'.*got protocol "statsd"/],
    [{ maxPacketBytes: '1432' }, TypeError, /maxPacketBytes must be a number \(an integer from 64 to 65507\), got "1432"/],
    [{ maxPacketBytes: 63 }, RangeError, /maxPacketBytes must be an integer from 64 to 65507, got 63/],
    [{ maxPacketBytes: 65508 }, RangeError, /maxPacketBytes .*got 65508/],
    [{ maxPacketBytes: 100.5 }, RangeError, /maxPacketBytes .*got 100.5/],
    [{ percentiles: 99 }, TypeError, /percentiles must be an array of 1 to 10 numbers > 0 and < 100, got 99/],
    [{ percentiles: [] }, RangeError, /percentiles must have 1 to 10 entries, got 0/],
    [{ percentiles: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }, RangeError, /percentiles must have 1 to 10 entries, got 11/],
    [{ percentiles: ['50'] }, TypeError, /percentiles\[0\] must be a number > 0 and < 100, got "50"/],
    [{ percentiles: [50, 0] }, RangeError, /percentiles\[1\] must be > 0 and < 100.*got 0/],
    [{ percentiles: [100] }, RangeError, /percentiles\[0\] .*got 100/],
    [{ percentiles: [50, 50] }, RangeError, /percentiles\[1\]: 50 is listed twice/],
    [{ sampler: {} }, TypeError, /sampler must be a runtime-sampler Sampler, got a object/],
    [{ sampler: null }, TypeError, /sampler must be a runtime-sampler Sampler, got null/],
    [{ socketType: 'tcp' }, RangeError, /socketType must be 'udp4' or 'udp6', got "tcp"/],
    [{ socketType: 4 }, TypeError, /socketType must be 'udp4' or 'udp6', got 4/],
    [{ socketType: 'udp6' }, RangeError, /socketType "udp6" cannot send to the IPv4 address "127\.0\.0\.1"; use 'udp4'/],
    [{ host: '::1', socketType: 'udp4' }, RangeError, /socketType "udp4" cannot send to the IPv6 address "::1"; use 'udp6'/],
    [{ unref: 'yes' }, TypeError, /unref must be true or false, got "yes"/],
    [{ flushOnClose: 1 }, TypeError, /flushOnClose must be true or false, got 1/],
    [{ onError: 'log' }, TypeError, /onError must be a function, got "log"/],
  ];
  for (const [options, Type, message] of cases) {
    const e = throwsLike(() => createStatsdExporter(options === 42 || Array.isArray(options) ? options : { sampler: s, ...options }), Type, message);
    assert.is(e.constructor, Type, `${JSON.stringify(options)}: exactly ${Type.name}`);
  }
  // A closed sampler is refused up front.
  const closed = new Sampler();
  closed.close();
  assert.throws(() => createStatsdExporter({ sampler: closed }), (e) => e instanceof SamplerError && e.code === 'ERR_SAMPLER_CLOSED');
  // undefined means the default; hostnames pick udp4 unless told; IPv6 literals pick udp6.
  const ok = [
    createStatsdExporter({ detail: 'full', sampler: s, intervalMs: 0, host: undefined, port: undefined, flushOnClose: false }),
    createStatsdExporter({ detail: 'full', sampler: s, intervalMs: 0, host: 'localhost', socketType: 'udp6', flushOnClose: false }),
    createStatsdExporter({ detail: 'full', sampler: s, intervalMs: 0, host: '::1', flushOnClose: false }),
  ];
  assert.equal([ok[0].options.host, ok[0].options.port, ok[0].options.intervalMs, ok[0].options.maxPacketBytes], ['127.0.0.1', 8125, 0, 1432]);
  assert.is(ok[1].options.socketType, 'udp6');
  assert.is(ok[2].options.socketType, 'udp6');
  for (const e of ok) e.close();
  const defaults = createStatsdExporter({ flushOnClose: false });
  assert.equal([defaults.options.intervalMs, defaults.options.prefix, defaults.options.protocol, defaults.options.unref, defaults.options.socketType], [10000, 'runtime.', 'statsd', true, 'udp4']);
  assert.equal(defaults.options.percentiles, [50, 90, 99]);
  return Promise.all([defaults.close()]).then(() => s.close());
});

test.run();
