#!/usr/bin/env node
// GC time on the JS thread: the sampler's gc.mainThreadNs (callback pauses + incremental
// marking from V8's histograms) against V8's own account in --trace-gc-nvp (every GC's
// `pause` + its `incremental` marking time) of the same process, and what a callback-only
// tool (pauses alone) misses. GC-heavy child processes, with concurrent marking (V8's
// default) and without it (--no-concurrent-marking: the marking falls to the JS thread's
// steps, as on a machine without spare cores).
//   node bench/gc-main-thread.mjs [--quick]
import gcTrace from './gc-trace.cjs';
import { fmt, machine, median, progress, report } from './harness.mjs';

const { runGcHeavyChild, nvpLines } = gcTrace;

const quick = process.argv.includes('--quick');
const runs = quick ? 1 : 5;

function once(flags) {
  const { trace, snap } = runGcHeavyChild([...flags, '--trace-gc-nvp'], { RS_ROUNDS: quick ? '3000000' : '6000000' });
  const g = snap.gc;
  const lines = nvpLines(trace);
  const nvpPause = lines.reduce((a, l) => a + (l.pause || 0), 0);
  const nvpIncremental = lines.reduce((a, l) => a + (l.incremental || 0), 0);
  return {
    nvpMs: nvpPause + nvpIncremental, nvpIncrementalMs: nvpIncremental,
    pauseMs: g.pauseNs / 1e6, incrementalMs: g.incrementalMarkingNs / 1e6, mainThreadMs: g.mainThreadNs / 1e6,
    steps: g.incrementalMarkingSteps,
  };
}

const rows = [];
let md = `## GC time on the JS thread against --trace-gc-nvp (\`node bench/gc-main-thread.mjs${quick ? ' --quick' : ''}\`)\n\n`;
md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. `;
md += `The GC-heavy fixture (bench/gc-heavy-child.cjs), ${runs} child process(es) per configuration, medians. V8's account: the sum of every GC's \`pause\` and \`incremental\` fields of --trace-gc-nvp. Callback-only: the pauses the GC callbacks see (what other packages report). Ours: \`gc.mainThreadNs\` = pauses + incremental marking from V8's histograms.\n\n`;
md += '| configuration | V8 nvp: pause + incremental, ms | of it incremental marking | callbacks only: ms (missed) | ours: gc.mainThreadNs, ms (vs nvp) | incremental marking steps |\n|---|---:|---:|---:|---:|---:|\n';
for (const [label, flags] of [['concurrent marking (default)', []], ['--no-concurrent-marking', ['--no-concurrent-marking']]]) {
  const rs = [];
  for (let i = 0; i < runs; i++) rs.push(once(flags));
  const m = (k) => median(rs.map((r) => r[k]));
  const missed = median(rs.map((r) => 1 - r.pauseMs / r.nvpMs));
  const ours = median(rs.map((r) => r.mainThreadMs / r.nvpMs));
  const row = {
    scenario: 'gc-main-thread', contender: label, unit: 'ms', runs,
    nvpMs: m('nvpMs'), nvpIncrementalMs: m('nvpIncrementalMs'), pauseMs: m('pauseMs'), incrementalMs: m('incrementalMs'),
    mainThreadMs: m('mainThreadMs'), steps: m('steps'), callbacksMissedShare: missed, oursVsNvp: ours,
  };
  rows.push(row);
  progress(`${label}: nvp ${fmt(row.nvpMs)} ms (incremental ${fmt(row.nvpIncrementalMs)}), callbacks ${fmt(row.pauseMs)} (missing ${fmt(missed * 100, 1)}%), ours ${fmt(row.mainThreadMs)} (×${fmt(ours, 3)})`);
  md += `| ${label} | ${fmt(row.nvpMs)} | ${fmt(row.nvpIncrementalMs)} (${fmt((100 * row.nvpIncrementalMs) / row.nvpMs, 1)}%) | ${fmt(row.pauseMs)} (${fmt(missed * 100, 1)}%) | ${fmt(row.mainThreadMs)} (×${fmt(ours, 3)}) | ${row.steps} |\n`;
}
md += '\nOurs runs a little above V8\'s nvp sum because the callbacks also time the incremental marking starts, which nvp prints no line for; V8 reports the step time per cycle in whole milliseconds (truncated), so under 1 ms a cycle is lost.\n';
report('gc-main-thread', md, rows, quick);
