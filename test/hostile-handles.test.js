// Input from another thread or process, or forged: share() handles, snapshots handed to
// read(into), values whose printing throws. Each is refused with our TypeError/RangeError
// naming the field (never an engine message), and a sequence word that stays odd fails a
// read within a bounded time.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { Sampler, Snapshot, Histogram, toPrometheus } = require('..');
const { throwsLike } = require('./helpers/throws');

const sampler = new Sampler();
const h = sampler.share();
const A = /^Sampler\.attach\(handle\): /;

function withLayout(fields) {
  return { ...h, layout: { ...h.layout, ...fields } };
}
function withOptions(fields) {
  return { ...h, options: { ...h.options, ...fields } };
}

test('attach() checks every field of the handle, naming it', () => {
  const cases = [
    // The reported ones: a NaN size passed the size check; names were not checked.
    [withLayout({ totalBytes: NaN }), RangeError, /handle\.layout\.totalBytes is NaN; layout version \d+ with ringCapacity 4096 and scale 6 has \d+/],
    [{ ...h, heapSpaceNames: [1, 2] }, TypeError, /handle\.heapSpaceNames\[0\] must be a string, got 1/],
    [{ ...h, heapSpaceNames: [{ toString() { throw new Error('x'); } }] }, TypeError, /heapSpaceNames\[0\] must be a string, got a object/],
    [{ ...h, heapSpaceNames: ['__proto__'] }, RangeError, /heapSpaceNames\[0\] must be a V8 heap space name .*got "__proto__"/],
    [{ ...h, heapSpaceNames: Array(17).fill('new_space') }, RangeError, /heapSpaceNames has 17 names, the block holds at most 16 spaces/],
    [{ ...h, heapSpaceNames: 'new_space' }, TypeError, /handle\.heapSpaceNames must be an array of strings, got "new_space"/],
    [withLayout({ mainOffset: 8 }), RangeError, /handle\.layout\.mainOffset is 8;/],
    [withLayout({ ringRecordsOffset: 1e12 }), RangeError, /handle\.layout\.ringRecordsOffset is 1000000000000;/],
    [withLayout({ histBuckets: '705' }), RangeError, /handle\.layout\.histBuckets is "705";/],
    [withLayout({ ringCapacity: 100 }), RangeError, /handle\.layout\.ringCapacity must be a power of two from 64 to 65536/],
    [withLayout({ scale: 12 }), RangeError, /handle\.layout\.scale must be an integer from 0 to 8, got 12/],
    [{ ...h, layout: null }, TypeError, /handle\.layout must be an object, got null/],
    [{ ...h, buffer: new SharedArrayBuffer(64) }, RangeError, /the buffer holds 64 bytes, the layout needs \d+/],
    [{ ...h, buffer: new ArrayBuffer(h.buffer.byteLength) }, TypeError, /handle\.buffer must be a SharedArrayBuffer, got a object/],
    [{ ...h, kind: Object.create(null) }, TypeError, /handle\.kind must be "runtime-sampler\/shared", got a object/],
    [{ ...h, threadId: -1 }, RangeError, /handle\.threadId must be an integer from 0/],
    [{ ...h, threadId: '0' }, TypeError, /handle\.threadId must be a number/],
    [{ ...h, options: 5 }, TypeError, /handle\.options must be an object, got 5/],
    [withOptions({ ringCapacity: 64 }), RangeError, /handle\.options: ringCapacity must be an integer from 4096 to 4096, got 64/],
    [withOptions({ histogramScale: NaN }), RangeError, /handle\.options: histogramScale must be an integer from 6 to 6, got NaN/],
    [withOptions({ refreshIntervalMs: Infinity }), RangeError, /handle\.options: refreshIntervalMs must be an integer from 10 to 60000, got Infinity/],
    [withOptions({ loopDelayResolutionMs: undefined }), TypeError, /handle\.options: loopDelayResolutionMs must be a number/],
    [withOptions({ v8Histograms: 1 }), TypeError, /handle\.options: v8Histograms must be true or false, got 1/],
    [withOptions({ watchdog: true }), TypeError, /handle\.options: watchdog must be an object, got true/],
    [withOptions({ watchdog: { thresholdMs: 0, intervalMs: 1, captureStack: false } }), RangeError, /handle\.options: watchdog\.thresholdMs must be an integer from 1/],
    [withOptions({ history: { intervalMs: 1, capacity: 10 } }), RangeError, /handle\.options: history\.intervalMs must be an integer from 100/],
  ];
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  cases.push([revoked.proxy, TypeError, /handle must be the object sampler\.share\(\) returns, got a revoked Proxy/]);
  cases.push([{ ...h, layout: revoked.proxy }, TypeError, /handle\.layout must be an object, got a revoked Proxy/]);
  for (const [handle, Type, re] of cases) {
    const e = throwsLike(() => Sampler.attach(handle), Type, re);
    assert.match(e.message, A);
  }
  // A valid handle, and a view's own share(), still attach.
  const view = Sampler.attach(h);
  assert.equal(Object.keys(view.read().heap.spaces), [...sampler.heapSpaceNames]);
  assert.equal(Sampler.attach(view.share()).heapSpaceNames, sampler.heapSpaceNames);
});

test('read(into) refuses what is not a Snapshot of this shape with a TypeError', () => {
  const snap = sampler.read();
  const replaced = sampler.read();
  Object.defineProperty(replaced, 'slots', { value: new Float64Array(3) });
  const stall = sampler.read();
  Object.defineProperty(stall, 'stallSlots', { value: [] });
  const revoked = Proxy.revocable(snap, {});
  revoked.revoke();
  for (const into of [Object.create(Snapshot.prototype), {}, replaced, stall, revoked.proxy]) {
    throwsLike(() => sampler.read(into), TypeError, /^read\(into\): into must be a Snapshot returned by read\(\), got /);
  }
  const view = Sampler.attach(h);
  throwsLike(() => view.read(Object.create(Snapshot.prototype)), TypeError, /^read\(into\): into must be a Snapshot/);
  // A snapshot with other (forged) names is a SamplerError as before, without printing them.
  const other = sampler.read();
  Object.defineProperty(other, 'spaceNames', { value: [{ toString() { throw new Error('no'); } }] });
  const e = throwsLike(() => sampler.read(other), Error, /other heap spaces/);
  assert.is(e.code, 'ERR_SAMPLER_INCOMPATIBLE');
  assert.is(sampler.read(snap), snap);
});

test('error messages about unprintable values are ours', () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const unprintable = [
    Object.create(null),
    { toString() { throw new Error('toString'); } },
    { [Symbol.toPrimitive]() { throw new Error('toPrimitive'); } },
    revoked.proxy,
    Object.defineProperty({}, 'x', { get() { throw new Error('getter'); }, enumerable: false }),
  ];
  for (const v of unprintable) {
    throwsLike(() => toPrometheus(sampler, { format: v }), TypeError, /^format must be 'prometheus' or 'openmetrics', got (a object|a revoked Proxy)/);
    throwsLike(() => toPrometheus(sampler, { labels: { a: v } }), TypeError, /labels\.a must be a string or a number, got (a object|a revoked Proxy)/);
    throwsLike(() => Histogram.fromJSON({ ...new Histogram().toJSON(), count: v }), TypeError, /count must be a number .*got (a object|a revoked Proxy)/);
  }
  throwsLike(() => toPrometheus(sampler, revoked.proxy), TypeError, /toPrometheus\(\): options must be an object, got a revoked Proxy/);
  throwsLike(() => toPrometheus(sampler, { buckets: revoked.proxy }), TypeError, /buckets must be an array .*got a revoked Proxy/);
  throwsLike(() => toPrometheus(revoked.proxy), TypeError, /toPrometheus\(\): sampler must be .*got a revoked Proxy/);
  // Options JSON cannot key (a cycle) are refused by name, not with JSON's message.
  const cyclic = { a: 1 };
  cyclic.self = cyclic;
  throwsLike(() => toPrometheus(sampler, { labels: cyclic }), TypeError, /labels\.self must be a string or a number, got a object/);
  throwsLike(() => toPrometheus(sampler, { format: 'prometheus', toJSON() { throw new Error('toJSON'); } }), TypeError, /unknown option "toJSON"/);
  // Long strings are cut in messages.
  const e = throwsLike(() => toPrometheus(sampler, { format: 'x'.repeat(100000) }), RangeError, /got "x+…"/);
  assert.ok(e.message.length < 400, `${e.message.length} characters`);
});

// A copy of the block whose sequence words a test sets: a writer that died mid-update, or
// a forged handle.
function forgedView() {
  const buffer = new SharedArrayBuffer(h.buffer.byteLength);
  new Uint8Array(buffer).set(new Uint8Array(h.buffer));
  return { view: Sampler.attach({ ...h, buffer }), buffer };
}

function timedTornRead(fn) {
  const started = process.hrtime.bigint();
  let error;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(error, 'no error');
  assert.is(error.code, 'ERR_SAMPLER_TORN_READ', String(error));
  // The retries were bounded by count only: 2.2 s per access before.
  assert.ok(ms < 200, `gave up after ${ms.toFixed(1)} ms`);
  return error;
}

test('a sequence word that stays odd fails each read within a bounded time', () => {
  const { view, buffer } = forgedView();
  new Int32Array(buffer, 0, 1)[0] = 1;
  const e = timedTornRead(() => view.read());
  assert.match(e.message, /the writer never finished an update of the shared block \(\d+ attempts over \d+\.\d ms\)/);
  timedTornRead(() => view.read(view.read()));
  new Int32Array(buffer, 0, 1)[0] = 0;
  assert.ok(view.read().gc.count >= 0);
  const histogramAt = {
    gcHistOffset: 'gcPause', loopDelayOffset: 'loopDelay', loopIterationOffset: 'loopIteration', safepointHistOffset: 'gcTimeToSafepoint',
    threadpoolHistOffset: 'threadpoolDelay',
  };
  for (const [offset, name] of Object.entries(histogramAt)) {
    const seq = new Int32Array(buffer, h.layout[offset] * 8, 1);
    seq[0] = 7;
    timedTornRead(() => view.histograms[name]);
    seq[0] = 0;
  }
  const mc = new Int32Array(buffer, h.layout.mcLogOffset * 8, 1);
  mc[0] = 1;
  timedTornRead(() => view.markCompacts());
  mc[0] = 0;
  assert.equal(view.markCompacts(), sampler.markCompacts());
});

test.run();
