// Event-loop timing against known blocking and against performance.eventLoopUtilization().
const { test } = require('uvu');
const assert = require('uvu/assert');
const { testUnless } = require('./helpers/skip');
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');
const { MessageChannel } = require('node:worker_threads');
const { Sampler, delta, nativeInfo } = require('..');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function block(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('a 200 ms block shows in maxIterationNs, the iteration histogram and the delay histogram', async () => {
  const s = new Sampler({ loopDelayResolutionMs: 10 }).start();
  await sleep(50);
  await new Promise((resolve) => setTimeout(() => { block(200); resolve(); }, 5));
  await sleep(50);
  const snap = s.read();
  assert.ok(snap.loop.maxIterationNs >= 200e6, `maxIterationNs ${snap.loop.maxIterationNs}`);
  assert.ok(snap.loop.maxIterationNs < 400e6, `maxIterationNs ${snap.loop.maxIterationNs}`);
  const it = s.histograms.loopIteration;
  assert.ok(it.max >= 200e6);
  assert.ok(it.count >= 3);
  assert.is(it.max, snap.loop.maxIterationNs);
  const d = s.histograms.loopDelay;
  assert.ok(d.max >= 200e6, `loop delay max ${d.max}`);
  assert.ok(d.percentile(100) >= 200e6);
  // The timer period is part of each value, as in monitorEventLoopDelay. (Single values
  // can be shorter: libuv reschedules a repeating timer from its cached loop time, so one
  // that runs late in a timers phase fires early next time — Node's histogram too.)
  assert.ok(d.percentile(50) >= 9e6, `median ${d.percentile(50)}`);
  s.close();
});

test('loop delay agrees with monitorEventLoopDelay at the same resolution', async () => {
  const s = new Sampler({ loopDelayResolutionMs: 10 }).start();
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  for (let i = 0; i < 10; i++) {
    await sleep(20);
    block(30);
  }
  await sleep(30);
  h.disable();
  const d = s.histograms.loopDelay;
  // Two timers of the same period see the same blocks at different phases, so single
  // percentiles can differ; counts, means (total time / count) and the worst delay agree.
  assert.ok(Math.abs(d.count - h.count) <= 3, `counts ${d.count} vs ${h.count}`);
  assert.ok(Math.abs(d.mean - h.mean) / h.mean < 0.1, `mean ${d.mean} vs ${h.mean}`);
  assert.ok(Math.abs(d.max - h.max) / h.max < 0.15, `max ${d.max} vs ${h.max}`);
  assert.ok(d.percentile(50) >= 9e6 && h.percentile(50) >= 9e6, `medians ${d.percentile(50)} vs ${h.percentile(50)}`);
  s.close();
});

test('utilization over an interval agrees with performance.eventLoopUtilization() within 0.02', async () => {
  const s = new Sampler().start();
  const results = [];
  for (const busyMs of [5, 20, 40]) {
    await sleep(10);
    const { a, e1 } = await new Promise((r) => setTimeout(() => r({ a: s.read(), e1: performance.eventLoopUtilization() }), 0));
    for (let i = 0; i < 15; i++) {
      await sleep(50 - busyMs);
      block(busyMs);
    }
    const { b, e2 } = await new Promise((r) => setTimeout(() => r({ b: s.read(), e2: performance.eventLoopUtilization() }), 0));
    const ours = delta(a, b).loop.utilization;
    const node = performance.eventLoopUtilization(e2, e1).utilization;
    results.push([busyMs, ours, node]);
    assert.ok(Math.abs(ours - node) <= 0.02, `busy ${busyMs} ms: ours ${ours.toFixed(4)} vs node ${node.toFixed(4)}`);
  }
  assert.ok(results[2][1] > results[0][1] + 0.3, 'utilization follows the load');
  s.close();
});

// Iterations are timed with the CPU's time-stamp counter once it is calibrated (where it
// is invariant), else with the monotonic clock: both must measure a known block.
// Blocks inside a timer callback and reads lastIterationNs from an immediate: immediates
// run in the next iteration's check phase, after the blocked iteration was published.
function measureBlock(s, ms) {
  return new Promise((resolve) => setTimeout(() => {
    block(ms);
    setImmediate(() => resolve(s.read().loop.lastIterationNs));
  }, 5));
}

test('loop iteration timing: the calibrated tick clock and the monotonic clock agree with a known block', async () => {
  const s = new Sampler().start();
  assert.ok(['tsc', 'calibrating', 'monotonic'].includes(s.loopClock));
  await sleep(60);
  const clock = s.loopClock;
  const fs = require('node:fs');
  const invariantTsc = process.arch === 'x64' && /\bconstant_tsc\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8')) &&
    /\bnonstop_tsc\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  if (invariantTsc && process.env.RUNTIME_SAMPLER_CLOCK !== 'monotonic') assert.is(clock, 'tsc', 'an invariant TSC is calibrated within 60 ms');
  for (const ms of [20, 50]) {
    const ns = await measureBlock(s, ms);
    assert.ok(ns >= ms * 1e6 && ns < ms * 1e6 * 1.5 + 5e6, `${clock}: ${ms} ms block measured ${ns / 1e6} ms`);
  }
  s.close();
  // The same in a child forced onto the monotonic clock.
  const child = require('node:child_process').spawnSync(process.execPath, ['-e', `
    const { Sampler } = require(${JSON.stringify(require('node:path').join(__dirname, '..'))});
    const s = new Sampler().start();
    setTimeout(() => {
      const end = performance.now() + 30; while (performance.now() < end);
      setImmediate(() => { console.log(JSON.stringify({ clock: s.loopClock, ns: s.read().loop.lastIterationNs })); s.close(); });
    }, 60);
  `], { encoding: 'utf8', env: { ...process.env, RUNTIME_SAMPLER_CLOCK: 'monotonic' } });
  assert.is(child.status, 0, child.stderr);
  const r = JSON.parse(child.stdout);
  assert.is(r.clock, 'monotonic');
  assert.ok(r.ns >= 30e6 && r.ns < 50e6, `monotonic: 30 ms block measured ${r.ns / 1e6} ms`);
});

test('iterations count loop turns; idle time grows while waiting', async () => {
  const s = new Sampler().start();
  await sleep(5);
  const a = s.read();
  const n = 1000;
  await new Promise((resolve) => {
    let i = 0;
    const hop = () => (++i < n ? setImmediate(hop) : resolve());
    setImmediate(hop);
  });
  // Without a native call, loop counters are at most ~1 ms behind (published at least
  // every millisecond, and at once after a long iteration).
  const stale = s.read();
  assert.ok(Number(process.hrtime.bigint()) - stale.timeNs < 5e6, `published ${(Number(process.hrtime.bigint()) - stale.timeNs) / 1e6} ms ago`);
  // refresh() publishes them up to now: the count is exact.
  s.refresh();
  const b = s.read();
  const turns = b.loop.iterations - a.loop.iterations;
  assert.ok(turns >= n - 1 && turns <= n + 5, `iterations ${turns} for ${n} setImmediate hops`);
  assert.ok(b.loop.iterations >= stale.loop.iterations);
  await sleep(100);
  const c = s.read();
  assert.ok(c.loop.idleNs - b.loop.idleNs >= 80e6, `idle ${c.loop.idleNs - b.loop.idleNs}`);
  assert.ok(c.timeNs > b.timeNs);
  // Timers and immediates are not poll events; finished thread-pool work is (uv_async).
  await require('node:fs/promises').readFile(__filename);
  await sleep(5);
  const d = s.read();
  if (nativeInfo.uvMetricsInfo) assert.ok(d.loop.events > c.loop.events, 'poll events counted');
  assert.ok(c.loop.busyNs + c.loop.idleNs <= c.timeNs - c.startNs + 1e6);
  s.close();
});

// Short iterations skip libuv's idle-time read (it takes a mutex) and count as busy; their
// idle time is read with the next longer one. The split per iteration may move a few µs,
// but the iteration histogram must still add up to the published busy time.
const noUvMetrics = nativeInfo.uvMetricsInfo ? null : `the binary was built against libuv ${nativeInfo.uvVersion}: uv_metrics_info needs 1.45 (Node 20+)`;
testUnless(test, noUvMetrics, 'eventsPendingAtPoll is a counter: events that arrived while the loop was busy, never decreasing', async () => {
  const net = require('node:net');
  const s = new Sampler().start();
  const server = net.createServer((c) => c.on('data', (d) => c.write(d)));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect(server.address().port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  let prev = s.read();
  const seen = [];
  for (let round = 0; round < 20; round++) {
    // The echo arrives while this thread is busy: pending when the loop next polls.
    const echoed = new Promise((r) => client.once('data', r));
    client.write('x');
    block(20);
    await echoed;
    await sleep(2);
    s.refresh();
    const cur = s.read();
    const d = delta(prev, cur);
    assert.ok(d.loop.eventsPendingAtPoll >= 0, 'never decreases');
    assert.ok(d.loop.eventsPendingAtPoll <= d.loop.events, `pending ${d.loop.eventsPendingAtPoll} ≤ events ${d.loop.events}`);
    seen.push(d.loop.eventsPendingAtPoll);
    prev = cur;
  }
  // A gauge of "waiting at the last poll" would read 0 after the loop caught up; the
  // counter keeps every round's pending events.
  const total = seen.reduce((a, b) => a + b, 0);
  assert.ok(total >= 15, `pending events counted in 20 busy rounds: ${seen.join(' ')}`);
  assert.ok(prev.loop.eventsPendingAtPoll >= total);
  const name = require('..').catalog().find((m) => m.path === 'loop.eventsPendingAtPoll');
  assert.is(name.kind, 'counter');
  assert.is(name.cumulative, true);
  client.destroy();
  server.close();
  s.close();
}, { expected: true });

test('the iteration histogram adds up to the busy time, across storms, waits and blocks', async () => {
  const s = new Sampler().start();
  await sleep(10);
  s.refresh();
  const a = s.read();
  const sumA = s.histograms.loopIteration.sum;
  const countA = s.histograms.loopIteration.count;
  for (let round = 0; round < 5; round++) {
    await new Promise((resolve) => {
      let i = 0;
      const hop = () => (++i < 2000 ? setImmediate(hop) : resolve());
      setImmediate(hop);
    });
    await sleep(5);
    block(10);
    await new Promise((r) => setTimeout(r, 0));
  }
  await sleep(5);
  // refresh() publishes the totals; the histogram holds whole iterations, so read both at
  // the start of an iteration's callbacks (right after a check).
  await new Promise((r) => setImmediate(r));
  s.refresh();
  const b = s.read();
  const h = s.histograms.loopIteration;
  const iterations = h.count - countA;
  const histBusy = h.sum - sumA;
  const busy = b.loop.busyNs - a.loop.busyNs;
  assert.ok(iterations >= 10000, `iterations ${iterations}`);
  // Short iterations wait in a buffer of the hook's (128 at most) until a publication: a
  // refresh publishes, so every completed iteration is in the histogram, none twice.
  assert.is(iterations, b.loop.iterations - a.loop.iterations, 'the histogram counts every iteration published');
  // The current, unfinished iteration is in busy but not in the histogram (a few µs), and
  // each short iteration can carry at most 5 µs of idle: the bound is far looser than the
  // 50+ ms of busy time measured, yet a lost or doubled iteration class would break it.
  assert.ok(Math.abs(histBusy - busy) < 0.02 * busy + 1e6, `histogram ${histBusy / 1e6} ms vs busy ${busy / 1e6} ms`);
  assert.ok(busy >= 50e6, `busy ${busy / 1e6} ms`);
  s.close();
});

// A storm's iterations take the hook's fast path once the counter is calibrated (20 ms):
// integer ticks to ns in fixed point, buffered. Nothing in a storm is idle, so the
// histogram's sum must match the busy total, which is the clock's (a wrong conversion, a
// lost or doubled buffer would not).
test('a storm through the fast path: the iteration histogram matches the busy total', async () => {
  const s = new Sampler().start();
  await sleep(60);
  await new Promise((r) => setImmediate(r));
  s.refresh();
  const a = s.read();
  const h0 = { sum: s.histograms.loopIteration.sum, count: s.histograms.loopIteration.count };
  await new Promise((resolve) => {
    let i = 0;
    const hop = () => {
      const e = performance.now() + 0.002 * (i % 5);
      while (performance.now() < e);
      if (++i < 30000) setImmediate(hop);
      else resolve();
    };
    setImmediate(hop);
  });
  s.refresh();
  const b = s.read();
  const h = s.histograms.loopIteration;
  const iterations = b.loop.iterations - a.loop.iterations;
  assert.ok(iterations >= 30000, `iterations ${iterations}`);
  assert.is(h.count - h0.count, iterations, 'every iteration in the histogram');
  const busy = b.loop.busyNs - a.loop.busyNs;
  const idle = b.loop.idleNs - a.loop.idleNs;
  const histBusy = h.sum - h0.sum;
  // The refresh lands mid-iteration: its busy part so far is in the total, not the histogram.
  assert.ok(Math.abs(histBusy - busy) < 0.01 * busy + 200e3, `histogram ${histBusy / 1e6} ms vs busy ${busy / 1e6} ms (idle ${idle / 1e6} ms)`);
  s.close();
});

// Storms of iterations that cannot block in poll (pending immediates keep Node's idle handle
// active), then iterations that do: each must get its own idle time — one after a storm, one
// whose poll blocks right after an fd watcher was started, one with a timer due. (Kept from
// a design that skipped the idle-time read when a prepare handle predicted a non-blocking
// poll; it holds for the direct read of libuv's field and for the locked one alike.)
test('iterations that block in poll after a storm of long immediates keep their idle time', async () => {
  const net = require('node:net');
  const s = new Sampler().start();
  await sleep(30); // the tick clock calibrates
  const storm = (n) => new Promise((resolve) => {
    let i = 0;
    const hop = () => {
      block(0.02);
      if (++i < n) setImmediate(hop);
      else resolve();
    };
    setImmediate(hop);
  });
  await new Promise((r) => setImmediate(r));
  s.refresh();
  const a = s.read();
  const e1 = performance.eventLoopUtilization();
  const countA = s.histograms.loopIteration.count;
  const sumA = s.histograms.loopIteration.sum;
  const servers = [];
  try {
  for (let round = 0; round < 6; round++) {
    await storm(300);
    if (round % 2 === 0) {
      // The last immediate of the storm starts a listening socket (its fd watcher waits
      // in libuv's watcher queue until the poll), then the loop waits 30 ms in poll.
      await new Promise((resolve) => setImmediate(() => {
        const server = net.createServer();
        servers.push(server);
        server.listen(0, '127.0.0.1');
        server.unref();
        setTimeout(resolve, 30);
      }));
    } else {
      await sleep(30);
    }
  }
  await new Promise((r) => setImmediate(r));
  s.refresh();
  const b = s.read();
  const e2 = performance.eventLoopUtilization(e1);
  const h = s.histograms.loopIteration;
  const iterations = h.count - countA;
  assert.ok(iterations >= 1800, `iterations ${iterations}`);
  // No iteration here is busy for long (the longest does 20 µs of work plus a listen): a
  // wait in poll counted as busy would show as a 30 ms iteration.
  assert.ok(b.loop.maxIterationNs < 15e6, `longest iteration ${b.loop.maxIterationNs / 1e6} ms`);
  const busy = b.loop.busyNs - a.loop.busyNs;
  const idle = b.loop.idleNs - a.loop.idleNs;
  assert.ok(idle >= 150e6, `idle ${idle / 1e6} ms over six 30 ms waits`);
  // The histogram adds up to the busy time (a wait counted as busy would add 30 ms).
  const histBusy = h.sum - sumA;
  assert.ok(Math.abs(histBusy - busy) < 0.05 * busy + 2e6, `histogram ${histBusy / 1e6} ms vs busy ${busy / 1e6} ms`);
  // And the totals are Node's: utilization within 0.02 of performance.eventLoopUtilization().
  const ours = busy / (busy + idle);
  assert.ok(Math.abs(ours - e2.utilization) <= 0.02, `utilization ours ${ours.toFixed(4)} vs node ${e2.utilization.toFixed(4)}`);
  } finally {
    for (const server of servers) server.close();
    s.close();
  }
});

// libuv's idle time is read on the loop thread from its private field, without the mutex of
// uv_metrics_idle_time(), on every libuv whose layout was checked (1.39–1.52: Node 18–26).
// A supported Node with a newer libuv fails here until its layout is checked and added to
// kNewestCheckedUvMinor in native/uv/loop_monitor.cc.
const [uvMajor, uvMinor] = process.versions.uv.split('.').map(Number);
test('libuv\'s idle time is read from its field (no mutex) and its busy/idle split matches the totals', async () => {
  assert.ok(uvMajor === 1 && uvMinor >= 39 && uvMinor <= 52, `libuv ${process.versions.uv}: check its loop layout (src/uv-common.h) and extend native/uv/loop_monitor.cc`);
  const s = new Sampler().start();
  await sleep(20); // the loop waits in poll: a non-zero idle time confirms the field
  assert.is(s.loopIdleRead, 'direct');
  s.refresh();
  const a = s.read();
  const e1 = performance.eventLoopUtilization();
  const h0 = { count: s.histograms.loopIteration.count, sum: s.histograms.loopIteration.sum };
  // Short iterations woken by I/O (a MessageChannel ping-pong: each round waits in poll for
  // the other side's message) between short sleeps: every iteration's idle time, however
  // short, is split off exactly, so the histogram adds up to the busy total.
  const { port1, port2 } = new MessageChannel();
  port2.on('message', (m) => port2.postMessage(m));
  await new Promise((resolve) => {
    let n = 0;
    port1.on('message', () => { if (++n < 2000) port1.postMessage(n); else resolve(); });
    port1.postMessage(0);
  });
  port1.close();
  for (let i = 0; i < 5; i++) { block(2); await sleep(3); }
  await new Promise((r) => setImmediate(r));
  s.refresh();
  const b = s.read();
  const e2 = performance.eventLoopUtilization(e1);
  const busy = b.loop.busyNs - a.loop.busyNs;
  const idle = b.loop.idleNs - a.loop.idleNs;
  const histBusy = s.histograms.loopIteration.sum - h0.sum;
  assert.ok(s.histograms.loopIteration.count - h0.count >= 2000, 'iterations counted');
  assert.ok(Math.abs(histBusy - busy) < 0.02 * busy + 0.5e6, `histogram ${histBusy / 1e6} ms vs busy ${busy / 1e6} ms`);
  const ours = busy / (busy + idle);
  assert.ok(Math.abs(ours - e2.utilization) <= 0.02, `utilization ours ${ours.toFixed(4)} vs node ${e2.utilization.toFixed(4)}`);
  assert.is(s.loopIdleRead, 'direct', 'the field kept agreeing with uv_metrics_idle_time()');
  s.close();
});

// A field that disagrees with uv_metrics_idle_time() once is dropped for good (the test hook
// points the hook at the wrong word); RUNTIME_SAMPLER_LOOP_IDLE=locked never reads it. The
// totals are libuv's either way.
test('a wrong idle-time field is caught at once; locked mode reads only uv_metrics_idle_time()', () => {
  for (const mode of ['test-wrong-field', 'locked']) {
    const child = require('node:child_process').spawnSync(process.execPath, ['-e', `
      const { Sampler } = require(${JSON.stringify(require('node:path').join(__dirname, '..'))});
      const s = new Sampler().start();
      const first = s.loopIdleRead;
      // The window starts after a turn of the loop, at a refresh (start-up work, slow under
      // ASan, stays out of both measurements), and ends at one.
      setTimeout(() => {
        s.refresh();
        const e1 = performance.eventLoopUtilization();
        const a = s.read().loop;
        let n = 0;
        const t = setInterval(() => {
          const end = performance.now() + 1; while (performance.now() < end);
          if (++n < 20) return;
          clearInterval(t);
          s.refresh();
          const e2 = performance.eventLoopUtilization(e1);
          const b = s.read().loop;
          const busy = b.busyNs - a.busyNs, idle = b.idleNs - a.idleNs;
          console.log(JSON.stringify({ first, last: s.loopIdleRead, ours: busy / (busy + idle), node: e2.utilization, idle }));
          s.close();
        }, 4);
      }, 5);
    `], { encoding: 'utf8', env: { ...process.env, RUNTIME_SAMPLER_LOOP_IDLE: mode } });
    assert.is(child.status, 0, child.stderr);
    const r = JSON.parse(child.stdout);
    assert.is(r.first, mode === 'locked' ? 'locked' : 'verifying', mode);
    assert.is(r.last, 'locked', `${mode}: ${child.stdout}`);
    assert.ok(r.idle > 10e6, `${mode}: idle ${r.idle / 1e6} ms`);
    assert.ok(Math.abs(r.ours - r.node) <= 0.02, `${mode}: utilization ours ${r.ours} vs node ${r.node}`);
  }
});

test('stop() freezes the loop counters; start() resumes without counting the gap', async () => {
  const s = new Sampler().start();
  await sleep(20);
  s.stop();
  const a = s.read();
  assert.is(a.running, false);
  await sleep(50);
  block(20);
  const b = s.read();
  assert.is(b.loop.iterations, a.loop.iterations);
  assert.is(b.loop.busyNs, a.loop.busyNs);
  s.start();
  await sleep(20);
  const c = s.read();
  assert.ok(c.loop.iterations > b.loop.iterations);
  assert.ok(c.loop.busyNs + c.loop.idleNs - (b.loop.busyNs + b.loop.idleNs) < 60e6, 'the stopped gap is not counted');
  s.close();
});

test.run();
