// What test/run.mjs and scripts/test-sanitizers.mjs both need to run a test file: its
// header (the first four lines may say `node-flags: …`, `tier: extra — why`, `versions:
// current|edges — why` and `run: alone — why`), and how to read what uvu printed.

import { readFileSync } from 'node:fs';

/** The node flags and the tier a test file's header asks for. */
export function testFileHeader(path) {
  const head = readFileSync(path, 'utf8').split('\n', 4).join('\n');
  return {
    flags: /node-flags:\s*(.*)/.exec(head)?.[1].trim().split(/\s+/) ?? [],
    tier: /\btier:\s*(\w+)/.exec(head)?.[1] ?? 'quick',
    // `versions: current`: what the file checks does not depend on the Node version (our own
    // TypeScript over the sampler's numbers), so test:versions does not run it again under
    // every other Node line. `versions: edges`: it depends on Node's JavaScript APIs (http,
    // inspector, module loading), not on V8's or libuv's internals that the native code reads:
    // it runs under the oldest and the newest Node line, not under those between.
    versions: /\bversions:\s*(\w+)/.exec(head)?.[1] ?? 'all',
    // `run: alone`: what it judges depends on having the machine to itself (a GC's pacing,
    // a wait measured against a wall-clock bound), so `test/run.mjs --jobs N` runs it with
    // no other file beside it.
    alone: /\brun:\s*alone\b/.test(head),
  };
}

export function stripAnsi(s) {
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

/** uvu's own summary, as { p: passed, t: total, s: skipped }; null when there is none. */
export function uvuSummary(out) {
  const total = /Total:\s+(\d+)/.exec(out);
  const ok = /Passed:\s+(\d+)/.exec(out);
  if (!total || !ok) return null;
  return { p: Number(ok[1]), t: Number(total[1]), s: Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0) };
}
