// One layout, two mirrors: the C++ constants (exported by the addon) and the generated
// TypeScript ones must agree, and the generated files must be current.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const { native } = require('../dist/cjs/binding.js');
const gen = require('../dist/cjs/layout.generated.js');
const { bucketCount } = require('../dist/cjs/histogram.js');

test('slot indices and constants agree between C++ and TypeScript', () => {
  assert.equal(native.constants.MAIN, gen.MAIN_SLOTS);
  assert.equal(native.constants.SPACE, gen.SPACE_SLOTS);
  assert.equal(native.constants.HIST, gen.HIST_SLOTS);
  assert.equal(native.constants.RECORD, gen.RECORD_SLOTS);
  assert.equal(native.constants.CONST, { ...gen.LAYOUT_CONSTANTS });
  assert.is(native.constants.histIndexOffset, -1);
});

test('computeLayout: regions in order, aligned, histogram size as TypeScript expects', () => {
  for (const cap of [64, 4096, 65536]) {
    for (let scale = 0; scale <= 8; scale++) {
      const l = native.computeLayout(cap, scale);
      assert.is(l.histBuckets, bucketCount(scale));
      assert.ok(l.mainSlots >= gen.MAIN_SLOTS.SPACES_BASE + 16 * 4);
      assert.ok(l.loopDelayOffset > l.ringControlOffset);
      assert.ok(l.loopIterationOffset >= l.loopDelayOffset + 16 + l.histBuckets);
      assert.ok(l.ringRecordsOffset >= l.loopIterationOffset + 16 + l.histBuckets);
      assert.is(l.totalSlots, l.ringRecordsOffset + cap * gen.LAYOUT_CONSTANTS.RECORD_SLOTS);
      assert.is(l.totalBytes, l.totalSlots * 8);
    }
  }
  assert.throws(() => native.computeLayout(100, 6), RangeError);
  assert.throws(() => native.computeLayout(64, 9), RangeError);
  assert.throws(() => native.computeLayout('64', 6), TypeError);
});

test('generated files are current (gen-layout --check)', () => {
  const r = spawnSync(process.execPath, ['scripts/gen-layout.mjs', '--check'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
});

test.run();
