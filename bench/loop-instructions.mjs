#!/usr/bin/env node
// The loop timing's own instructions per loop iteration, counted by valgrind's callgrind:
// repeatable whatever else the machine does, where whole-turn timings on a shared machine
// carry ±10–20 ns of noise per iteration (bench/loop-overhead.mjs: the A/A column).
//
// A setImmediate storm runs under callgrind twice, with a sampler in each loop timing, and
// callgrind collects only inside the mode's own callback (--toggle-collect): the check
// hook (loopTiming 'iteration', every iteration) or the totals timer (loopTiming 'totals',
// every 10 ms), inclusive of what they call (the clock, libuv's uv_metrics_idle_time() and
// uv_metrics_info(), the histogram). What both modes share (the loop-delay timer, the
// refresh) is left out. Under valgrind a turn takes ~50× longer, so a callback run per unit
// of time (the totals timer; the hook's publication every millisecond) runs ~50× more
// often per iteration than natively: its per-iteration count here is an upper bound, and
// the scaled column divides by the slowdown, measured the same way against a native run.
//   node bench/loop-instructions.mjs [--quick]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchDir, fmt, machine, progress, report } from './harness.mjs';

const quick = process.argv.includes('--quick');
const hops = quick ? 5_000 : 40_000;
const child = `
  const { Sampler } = require(${JSON.stringify(join(benchDir, '..'))});
  const mode = process.argv[1], n = Number(process.argv[2]);
  const s = new Sampler({ loopTiming: mode, v8Histograms: false, threadpoolProbeMs: 0 }).start();
  let i = 0;
  const t0 = process.hrtime.bigint();
  const before = s.read().loop.iterations;
  (function hop() {
    if (++i < n) return setImmediate(hop);
    const ns = Number(process.hrtime.bigint() - t0);
    s.stop();
    console.log(JSON.stringify({ timing: s.loopTiming, iterations: s.read().loop.iterations - before, nsPerTurn: ns / n }));
    s.close();
  })();
`;

function run(mode, valgrind) {
  const nodeArgs = ['-e', child, mode, String(hops)];
  if (!valgrind) {
    const r = spawnSync(process.execPath, nodeArgs, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`native ${mode} run failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  }
  const dir = mkdtempSync(join(tmpdir(), 'rs-callgrind-'));
  try {
    const fn = mode === 'totals' ? '*TotalsTimerCb*' : '*CheckCb*';
    const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'out')}`, `--toggle-collect=${fn}`, process.execPath, ...nodeArgs], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`valgrind ${mode} run failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
    const collected = Number(/Collected : (\d+)/.exec(r.stderr)?.[1]);
    if (!Number.isFinite(collected)) throw new Error(`no instruction count from callgrind: ${r.stderr.slice(-500)}`);
    return { ...JSON.parse(r.stdout.trim().split('\n').pop()), instructions: collected };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (spawnSync('valgrind', ['--version']).status !== 0) {
  report('loop-instructions', '## Loop timing, instructions per iteration\n\nSKIPPED: valgrind is not installed.\n', [], true);
  process.exit(0);
}
const rows = [];
for (const mode of ['iteration', 'totals']) {
  progress(`  ${mode}: native run`);
  const native = run(mode, false);
  progress(`  ${mode}: under callgrind (${hops} hops)`);
  const cg = run(mode, true);
  if (cg.timing !== mode) throw new Error(`asked for loopTiming ${mode}, ran ${cg.timing}`);
  const perIteration = cg.instructions / cg.iterations;
  const slowdown = cg.nsPerTurn / native.nsPerTurn;
  rows.push({
    scenario: 'loop-instructions', contender: `loopTiming ${mode}`, unit: 'instructions/iteration', hops, iterations: cg.iterations,
    instructions: cg.instructions, median: perIteration, nativeNsPerTurn: native.nsPerTurn, valgrindNsPerTurn: cg.nsPerTurn, slowdown,
  });
}
let md = `## Loop timing, instructions per iteration (\`node bench/loop-instructions.mjs${quick ? ' --quick' : ''}\`)\n\n`;
md += `${machine.cpu}, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. A ${hops}-hop setImmediate storm under valgrind's callgrind, collecting only inside the loop timing's own callback, inclusive of what it calls: the check hook (\`loopTiming: 'iteration'\`) or the totals timer (\`'totals'\`). Instruction counts do not depend on the machine's load. Under valgrind a turn is slower (the slowdown column), so work done per unit of time (the totals timer every 10 ms, the hook's publication every millisecond) runs that many times more often per iteration than natively: the count is an upper bound. For the totals timer, all of whose work is per unit of time, the last column divides by the slowdown.\n\n`;
md += '| loop timing | iterations | instructions in its callback | per iteration (under valgrind) | slowdown | per iteration, scaled to a native turn |\n|---|---:|---:|---:|---:|---:|\n';
for (const r of rows) {
  const scaled = r.contender.endsWith('totals') ? fmt(r.median / r.slowdown, 2) : '—';
  md += `| ${r.contender} | ${r.iterations} | ${r.instructions} | ${fmt(r.median, 1)} | ${fmt(r.slowdown, 0)}× | ${scaled} |\n`;
}
report('loop-instructions', md, rows, quick);
