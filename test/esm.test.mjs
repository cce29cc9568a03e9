// The ESM entry and the CommonJS entry are one module instance.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import rsDefault, { Sampler, Histogram, delta, catalog, SamplerError } from 'runtime-sampler';

const require = createRequire(import.meta.url);

test('import and require give the same classes', () => {
  const cjs = require('runtime-sampler');
  assert.is(Sampler, cjs.Sampler);
  assert.is(Histogram, cjs.Histogram);
  assert.is(SamplerError, cjs.SamplerError);
  assert.is(rsDefault.Sampler, Sampler);
  assert.type(delta, 'function');
  assert.ok(catalog().length > 40);
});

test('an ESM user can sample', () => {
  const s = new Sampler().start();
  assert.ok(s.read().heap.usedBytes > 0);
  s.close();
});

test.run();
