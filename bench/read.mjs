#!/usr/bin/env node
// Read cost: ns/op and bytes/op of taking a full runtime snapshot, each contender in its
// own fresh processes (runs alternate between contenders), median of the runs.
//   node bench/read.mjs [--quick] [--runs N]
import v8 from 'node:v8';
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { benchDir, fmt, peer, machine, measureOp, median, progress, report, runChild, stats } from './harness.mjs';

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);

// Each contender: setup() returns the operation to time. All run after a started sampler
// or the equivalent Node API objects exist, as they would in a service.
const CONTENDERS = {
  'copy 64 doubles (floor)': () => {
    const src = new Float64Array(64).fill(1);
    const dst = new Float64Array(64);
    return () => dst.set(src);
  },
  'sampler.read(into)': () => {
    const { Sampler } = require(join(benchDir, '..'));
    const s = new Sampler().start();
    const snap = s.read();
    return () => s.read(snap);
  },
  // The JavaScript backend (no binary loads: Bun, Deno, a failed source build): the same
  // read(into) over a block its perf_hooks observers write. The child is fresh, so the
  // backend is chosen here, before the package is first required.
  'sampler.read(into), JS backend': () => {
    process.env.RUNTIME_SAMPLER_BACKEND = 'js';
    const { Sampler, nativeInfo } = require(join(benchDir, '..'));
    if (nativeInfo.backend !== 'js') throw new Error(`backend ${nativeInfo.backend}, expected js`);
    const s = new Sampler().start();
    const snap = s.read();
    return () => s.read(snap);
  },
  'sampler.read()': () => {
    const { Sampler } = require(join(benchDir, '..'));
    const s = new Sampler().start();
    return () => s.read();
  },
  'pure JS snapshot (no stddev)': () => pureJs(false),
  'pure JS snapshot (with stddev)': () => pureJs(true),
  'process.memoryUsage()': () => () => process.memoryUsage(),
  'v8.getHeapStatistics()': () => () => v8.getHeapStatistics(),
  'v8.getHeapSpaceStatistics()': () => () => v8.getHeapSpaceStatistics(),
  'performance.eventLoopUtilization()': () => () => performance.eventLoopUtilization(),
  '@datadog/native-metrics stats()': () => {
    const dd = peer('@datadog/native-metrics');
    dd.start();
    return () => dd.stats();
  },
  'prom-client register.metrics() (default metrics)': () => {
    const client = peer('prom-client');
    const register = new client.Registry();
    client.collectDefaultMetrics({ register });
    return () => register.metrics(); // a Promise: timed with await
  },
};

function pureJs(withStddev) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return () => {
    const d = {
      min: h.min, max: h.max, mean: h.mean, p50: h.percentile(50), p90: h.percentile(90), p99: h.percentile(99),
    };
    if (withStddev) d.stddev = h.stddev;
    return {
      mem: process.memoryUsage(),
      heap: v8.getHeapStatistics(),
      spaces: v8.getHeapSpaceStatistics(),
      elu: performance.eventLoopUtilization(),
      delay: d,
    };
  };
}

async function child(name, quick) {
  const r = await measureOp(CONTENDERS[name](), quick);
  console.log('RESULT ' + JSON.stringify(r));
}

async function main() {
  if (args[0] === '--child') return child(args[1], args.includes('--quick'));
  const quick = args.includes('--quick');
  const runsArg = args.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : quick ? 2 : 5;
  const names = Object.keys(CONTENDERS);
  const results = Object.fromEntries(names.map((n) => [n, { ns: [], bytes: [], exact: true, error: null }]));
  for (let r = 0; r < runs; r++) {
    const order = r % 2 ? [...names].reverse() : names;
    for (const name of order) {
      const res = runChild(self, name, quick ? ['--quick'] : [], ['--expose-gc', '--max-semi-space-size=64']);
      if (res.error) {
        results[name].error = res.error;
        progress(`  run ${r + 1}/${runs} ${name}: FAILED ${res.error}`);
        continue;
      }
      results[name].ns.push(res.nsPerOp);
      results[name].bytes.push(res.bytesPerOp);
      results[name].exact &&= res.bytesExact;
      progress(`  run ${r + 1}/${runs} ${name}: ${fmt(res.nsPerOp)} ns/op, ${fmt(res.bytesPerOp)} B/op`);
    }
  }
  const ours = median(results['sampler.read(into)'].ns);
  const rows = [];
  for (const name of names) {
    const x = results[name];
    if (x.ns.length === 0) {
      rows.push({ scenario: 'read', contender: name, skipped: x.error });
      continue;
    }
    const s = stats(x.ns);
    rows.push({
      scenario: 'read', contender: name, unit: 'ns/op', ...s,
      bytesPerOp: median(x.bytes), bytesExact: x.exact,
      ratioVsReadInto: s.median / ours,
    });
  }
  let md = `## Read cost (\`node bench/read.mjs${quick ? ' --quick' : ''}\`)\n\n`;
  md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. `;
  md += `Each contender in ${runs} fresh processes (alternating order); per process the median of ${quick ? 3 : 7} timed batches after warm-up; the table shows the median over processes and the min–max.\n\n`;
  md += '| contender | median ns/op | min–max | bytes/op | × read(into) |\n|---|---:|---:|---:|---:|\n';
  for (const r of rows) {
    if (r.skipped) {
      md += `| ${r.contender} | skipped: ${r.skipped} | | | |\n`;
      continue;
    }
    md += `| ${r.contender} | ${fmt(r.median)} | ${fmt(r.min)}–${fmt(r.max)} | ${fmt(r.bytesPerOp, 0)}${r.bytesExact ? '' : ' (a GC ran: lower bound)'} | ${fmt(r.ratioVsReadInto, 1)} |\n`;
  }
  report('read', md, rows, quick);
}

await main();
