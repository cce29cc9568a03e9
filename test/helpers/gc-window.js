// Checks test/fixtures/gc-window.cjs's output (run with --expose-gc --trace-gc): within the
// window the forced GCs cut, the sampler's GC events per type equal V8's trace lines, and its
// counters, events and histograms agree with each other. Returns the fixture's JSON.
const assert = require('uvu/assert');

function checkGcWindow(stdout) {
  const trace = stdout.split('\n').filter((l) => /^\[\d+:0x[0-9a-f]+\] +\d+ ms: /.test(l));
  const first = trace.findIndex((l) => / testing;/.test(l));
  let last = trace.length - 1;
  while (last >= 0 && !/ testing;/.test(trace[last])) last--;
  const window = trace.slice(first, last + 1);
  const lines = (re) => window.filter((l) => re.test(l)).length;
  const j = JSON.parse(stdout.trim().split('\n').pop());
  // Node 18's V8 calls a forced full GC "Mark-sweep", later ones "Mark-Compact".
  assert.ok(first >= 0 && lines(/: Mark-(?:Compact|sweep) /) === 4 && lines(/: Scavenge /) >= 1, window.join('\n'));
  assert.is(j.msc, lines(/: Mark-(?:Compact|sweep) /));
  assert.is(j.scavenge, lines(/: Scavenge /));
  assert.is(j.minor, lines(/: Minor Mark-Sweep /));
  assert.is(j.forced, 4);
  assert.is(j.count, j.byTypeSum);
  assert.is(j.events, j.count);
  assert.is(j.gcEvents + j.dropped, j.count);
  assert.is(j.hist, j.count);
  assert.is(j.histMsc, j.mscAll);
  assert.is(j.histSum, j.pauseNs);
  assert.is(j.mcLog, Math.min(32, j.mscAll));
  return j;
}

module.exports = { checkGcWindow };
