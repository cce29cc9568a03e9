// A steady workload for the anomaly rules (test/anomaly-detect.test.js and the 10-minute
// soak, bench/anomaly-soak.mjs): a 10 ms timer that allocates a fixed number of short-lived
// objects per tick (a steady allocation rate) and can be told to allocate `allocFactor`
// times as much, or to block the loop `blockMs` per tick. A few % of one core.
const { Sampler, watch } = require('../..');

/** Anomaly rules with a short baseline (what the proof test and the soak judge by). */
const RULES = [
  { name: 'AllocRate', metric: 'gc.allocatedBytes', anomaly: { sensitivity: 6, learnMs: '6s', minDeviation: 2 ** 18 }, window: '1s', for: '1s' },
  { name: 'LoopDelayP99', metric: 'histograms.loopDelay', anomaly: { sensitivity: 6, learnMs: '6s', minDeviation: '5ms' }, window: '1s', direction: 'above', for: '1s' },
  { name: 'GcCpu', metric: 'gc.mainThreadNs', anomaly: { sensitivity: 6, learnMs: '6s', minDeviation: 0.02 }, window: '1s', direction: 'above', for: '1s' },
  { name: 'Rss', metric: 'process.rssBytes', anomaly: { sensitivity: 6, learnMs: '6s', floor: 0.1, minDeviation: 32 * 2 ** 20 }, direction: 'above', for: '1s' },
];

/** Bytes allocated per tick at the steady rate (about 3 MB/s at 100 ticks a second). */
const PER_TICK = 32 * 1024;

function startWorkload() {
  const sampler = new Sampler({ refreshIntervalMs: 100, history: { intervalMs: 100, capacity: 600 } }).start();
  const watcher = watch(sampler, { rules: RULES });
  const events = [];
  watcher.on('alert', (a) => events.push({ type: 'alert', at: Date.now(), alert: a }));
  watcher.on('resolve', (a) => events.push({ type: 'resolve', at: Date.now(), alert: a }));
  const blocker = new Int32Array(new SharedArrayBuffer(4));
  const state = { allocFactor: 1, blockMs: 0, sink: null, ticks: 0 };
  const timer = setInterval(() => {
    state.ticks++;
    // 1 KiB strings in small arrays: each tick's garbage dies young (scavenges only).
    const n = (PER_TICK / 1024) * state.allocFactor;
    const keep = [];
    for (let i = 0; i < n; i++) keep.push('x'.repeat(1000) + i);
    state.sink = keep;
    // Atomics.wait blocks without allocating (a Date.now() spin allocates a heap number a call).
    if (state.blockMs > 0) Atomics.wait(blocker, 0, 0, state.blockMs);
  }, 10);
  return {
    sampler,
    watcher,
    events,
    state,
    stop() {
      clearInterval(timer);
      watcher.close();
      sampler.close();
    },
  };
}

module.exports = { RULES, PER_TICK, startWorkload };
