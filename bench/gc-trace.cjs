// Running the GC-heavy child (gc-heavy-child.cjs) under V8 trace flags and reading what it
// printed: shared by bench/gc-main-thread.mjs and test/v8-histograms.test.js.
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const CHILD = join(__dirname, 'gc-heavy-child.cjs');

/**
 * Runs the child with node `flags` (and extra `env`); returns the trace it printed before
 * its RESULT line and the snapshot on that line. Throws when there is no RESULT line.
 */
function runGcHeavyChild(flags, env = {}) {
  const r = spawnSync(process.execPath, [...flags, CHILD], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120000,
  });
  const at = r.stdout.lastIndexOf('\nRESULT ');
  if (at < 0) throw new Error(`child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  // V8 can still trace a GC after the exit handler's line.
  const end = r.stdout.indexOf('\n', at + 1);
  return { trace: r.stdout.slice(0, at), snap: JSON.parse(r.stdout.slice(at + 8, end < 0 ? undefined : end)) };
}

/** The --trace-gc-nvp lines: `key=value` pairs (V8 ≤ 13) or `GC: {json}` (V8 14). */
function nvpLines(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const j = line.indexOf('GC: {');
    if (j >= 0) {
      out.push(JSON.parse(line.slice(j + 4)));
    } else if (/ pause=[\d.]+ .*\bgc=/.test(line)) {
      const o = {};
      for (const m of line.matchAll(/([a-z_.]+)=(\S+)/g)) o[m[1]] = Number.isNaN(Number(m[2])) ? m[2] : Number(m[2]);
      out.push(o);
    }
  }
  return out;
}

module.exports = { runGcHeavyChild, nvpLines };
