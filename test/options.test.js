// versions: current — option validation
// Bad input is rejected with the right error naming the option, the value and the range;
// lifecycle calls are idempotent and defined after close().
const { test } = require('uvu');
const assert = require('uvu/assert');
const { Sampler, SamplerError, Snapshot, delta } = require('..');

function throwsWith(fn, Type, ...parts) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, 'expected a throw');
  assert.instance(err, Type, `${err && err.constructor.name}: ${err && err.message}`);
  for (const p of parts) assert.ok(err.message.includes(p), `message "${err.message}" lacks "${p}"`);
  return err;
}

test('wrong types are TypeErrors naming the option and the accepted range', () => {
  throwsWith(() => new Sampler({ refreshIntervalMs: '100' }), TypeError, 'refreshIntervalMs', '"100"', '10', '60000');
  throwsWith(() => new Sampler({ loopDelayResolutionMs: null }), TypeError, 'loopDelayResolutionMs', 'null', '1', '1000');
  throwsWith(() => new Sampler({ ringCapacity: 1024n }), TypeError, 'ringCapacity', '1024n');
  throwsWith(() => new Sampler({ histogramScale: [6] }), TypeError, 'histogramScale', 'array');
  throwsWith(() => new Sampler({ v8Histograms: 'yes' }), TypeError, 'v8Histograms', '"yes"', 'true or false');
  throwsWith(() => new Sampler({ v8Histograms: 1 }), TypeError, 'v8Histograms', '1');
  throwsWith(() => new Sampler({ history: 1000 }), TypeError, 'history', 'intervalMs, capacity', '1000');
  throwsWith(() => new Sampler(5), TypeError, 'Sampler options must be an object, got 5');
  throwsWith(() => new Sampler([]), TypeError, 'Sampler options must be an object, got an array');
  throwsWith(() => new Sampler({ history: { intervalMs: '1s' } }), TypeError, 'history.intervalMs', '"1s"', '100', '60000');
  throwsWith(() => new Sampler({ history: { size: 10 } }), TypeError, '"size"', 'intervalMs');
  throwsWith(() => new Sampler(5), TypeError, 'options');
  throwsWith(() => new Sampler(null), TypeError, 'options');
});

test('out-of-range values are RangeErrors naming the option, the value and the range', () => {
  throwsWith(() => new Sampler({ refreshIntervalMs: 5 }), RangeError, 'refreshIntervalMs', '5', '10 to 60000');
  throwsWith(() => new Sampler({ refreshIntervalMs: 60001 }), RangeError, 'refreshIntervalMs', '60001');
  throwsWith(() => new Sampler({ refreshIntervalMs: 100.5 }), RangeError, 'refreshIntervalMs', '100.5');
  throwsWith(() => new Sampler({ refreshIntervalMs: NaN }), RangeError, 'refreshIntervalMs', 'NaN');
  throwsWith(() => new Sampler({ loopDelayResolutionMs: 0 }), RangeError, 'loopDelayResolutionMs', '0', '1 to 1000');
  throwsWith(() => new Sampler({ loopDelayResolutionMs: 1001 }), RangeError, 'loopDelayResolutionMs');
  throwsWith(() => new Sampler({ loopTiming: 'sampled' }), RangeError, 'loopTiming', '"sampled"', "'iteration' or 'totals'");
  throwsWith(() => new Sampler({ ringCapacity: 32 }), RangeError, 'ringCapacity', '32', '64 to 65536');
  throwsWith(() => new Sampler({ ringCapacity: 131072 }), RangeError, 'ringCapacity');
  throwsWith(() => new Sampler({ ringCapacity: 1000 }), RangeError, 'ringCapacity', 'power of two', '1000');
  throwsWith(() => new Sampler({ histogramScale: -1 }), RangeError, 'histogramScale', '0 to 8');
  throwsWith(() => new Sampler({ histogramScale: 9 }), RangeError, 'histogramScale', '9');
  throwsWith(() => new Sampler({ history: { intervalMs: 50 } }), RangeError, 'history.intervalMs', '50', '100 to 60000');
  throwsWith(() => new Sampler({ history: { capacity: 9 } }), RangeError, 'history.capacity', '9', '10 to 100000');
  throwsWith(() => new Sampler({ history: { capacity: 100.5 } }), RangeError, 'history.capacity', '100.5');
});

test('a misspelled option is a TypeError that lists the accepted ones', () => {
  throwsWith(() => new Sampler({ refreshInterval: 100 }), TypeError, '"refreshInterval"', 'refreshIntervalMs');
});

test('valid options are kept; defaults as documented', () => {
  const d = new Sampler();
  assert.equal({ ...d.options }, { refreshIntervalMs: 1000, loopDelayResolutionMs: 10, loopTiming: 'iteration', ringCapacity: 4096, histogramScale: 6, watchdog: false, v8Histograms: true, threadpoolProbeMs: 1000, history: { intervalMs: 1000, capacity: 600 }, cgroupRoot: null });
  const s = new Sampler({ refreshIntervalMs: 10, loopDelayResolutionMs: 1, ringCapacity: 64, histogramScale: 0 });
  s.start();
  assert.is(s.read().running, true);
  s.close();
  d.close();
});

test('start/stop/close are idempotent; everything after close() is defined', () => {
  const s = new Sampler();
  assert.is(s.started, false);
  s.start().start();
  assert.is(s.started, true);
  s.stop().stop();
  assert.is(s.started, false);
  s.start();
  s.close();
  s.close();
  assert.is(s.closed, true);
  assert.is(s.started, false);
  s.stop(); // no-op
  assert.is(s.drain(), 0);
  for (const fn of [() => s.read(), () => s.start(), () => s.refresh(), () => s.histograms.loopDelay, () => s.histograms.gcPause, () => s.histograms.gcPauseByType.scavenge, () => s.onGC(() => {}), () => s.share()]) {
    const err = throwsWith(fn, SamplerError, 'closed');
    assert.is(err.code, 'ERR_SAMPLER_CLOSED');
  }
});

test('read(into) and onGC validate their arguments', () => {
  const s = new Sampler().start();
  throwsWith(() => s.read({}), TypeError, 'Snapshot');
  throwsWith(() => s.onGC('nope'), TypeError, 'listener', 'a function', '"nope"');
  throwsWith(() => s.onStall(null), TypeError, 'onStall(listener): listener must be a function, got null');
  const snap = s.read();
  assert.instance(snap, Snapshot);
  assert.is(s.read(snap), snap);
  const f = () => {};
  s.onGC(f);
  assert.is(s.offGC(f), true);
  assert.is(s.offGC(f), false);
  throwsWith(() => delta(snap, snap), TypeError, 'same object');
  throwsWith(() => delta({}, snap), TypeError, 'Snapshots');
  s.refresh(); // accounts loop time up to now, so the next snapshot is newer
  const later = s.read();
  throwsWith(() => delta(later, snap), RangeError, 'older');
  s.close();
});

test('two samplers coexist and count the same GCs', () => {
  const a = new Sampler().start();
  const b = new Sampler({ histogramScale: 4 }).start();
  // Snapshots made up front: reading into them allocates nothing, so no GC falls between
  // the two reads.
  const sa = a.read();
  const sb = b.read();
  const a0 = a.read(sa).gc.count;
  const b0 = b.read(sb).gc.count;
  const keep = [];
  for (let i = 0; i < 300000; i++) keep.push({ i });
  keep.length = 0; // garbage now
  const a1 = a.read(sa).gc.count;
  const b1 = b.read(sb).gc.count;
  assert.is(a1 - a0, b1 - b0);
  a.close();
  assert.ok(b.read().gc.count >= 0);
  b.close();
});

test.run();
