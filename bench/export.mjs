#!/usr/bin/env node
// Export cost: rendering every runtime metric for a scrape or a log line, each contender
// in its own fresh processes (runs alternate), median of the runs. toPrometheus() and
// toJSON() against prom-client's register.metrics() with its collectDefaultMetrics(), and
// our prom-client drop-in in a prom-client registry.
//   node bench/export.mjs [--quick] [--runs N]
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { benchDir, fmt, machine, measureOp, median, peer, progress, report, runChild, stats } from './harness.mjs';

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);

const started = () => {
  const rs = require(join(benchDir, '..'));
  globalThis.gc(); // some GC history, so the GC histograms are not empty
  return { rs, s: new rs.Sampler().start() };
};

const CONTENDERS = {
  'toPrometheus() (text 0.0.4)': () => {
    const { rs, s } = started();
    return () => rs.toPrometheus(s);
  },
  'toPrometheus() (OpenMetrics)': () => {
    const { rs, s } = started();
    return () => rs.toPrometheus(s, { format: 'openmetrics' });
  },
  'JSON.stringify(toJSON())': () => {
    const { rs, s } = started();
    return () => JSON.stringify(rs.toJSON(s));
  },
  'runtime-sampler/prom-client: register.metrics()': () => {
    const client = peer('prom-client');
    const { collectDefaultMetrics } = require(join(benchDir, '..', 'dist', 'cjs', 'exporters', 'prom-client.js'));
    const register = new client.Registry();
    collectDefaultMetrics({ register });
    return () => register.metrics();
  },
  'prom-client collectDefaultMetrics(): register.metrics()': () => {
    const client = peer('prom-client');
    const register = new client.Registry();
    client.collectDefaultMetrics({ register });
    return () => register.metrics();
  },
};
const BASELINE = 'prom-client collectDefaultMetrics(): register.metrics()';

async function main() {
  if (args[0] === '--child') {
    const r = await measureOp(CONTENDERS[args[1]](), args.includes('--quick'));
    console.log('RESULT ' + JSON.stringify(r));
    return;
  }
  const quick = args.includes('--quick');
  const runsArg = args.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : quick ? 1 : 5;
  const names = Object.keys(CONTENDERS);
  const results = Object.fromEntries(names.map((n) => [n, { ns: [], bytes: [], error: null }]));
  for (let r = 0; r < runs; r++) {
    for (const name of r % 2 ? [...names].reverse() : names) {
      const res = runChild(self, name, quick ? ['--quick'] : [], ['--expose-gc']);
      if (res.error) {
        results[name].error = res.error;
        progress(`  run ${r + 1}/${runs} ${name}: ${res.error}`);
        continue;
      }
      results[name].ns.push(res.nsPerOp);
      results[name].bytes.push(res.bytesPerOp);
      progress(`  run ${r + 1}/${runs} ${name}: ${fmt(res.nsPerOp)} ns/op`);
    }
  }
  const base = median(results[BASELINE].ns);
  const rows = names.map((name) => {
    const x = results[name];
    if (x.ns.length === 0) return { scenario: 'export', contender: name, skipped: x.error };
    const st = stats(x.ns);
    return { scenario: 'export', contender: name, unit: 'ns/op', ...st, bytesPerOp: median(x.bytes), speedupVsPromClient: base / st.median };
  });
  let md = `## Export cost (\`node bench/export.mjs${quick ? ' --quick' : ''}\`)\n\n`;
  md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. One full rendering of every runtime metric per operation; each contender in ${runs} fresh processes (alternating order), per process the median of timed batches after warm-up; median over processes and min–max.\n\n`;
  md += '| contender | median µs/op | min–max µs | × faster than prom-client |\n|---|---:|---:|---:|\n';
  for (const r of rows) {
    md += r.skipped ? `| ${r.contender} | skipped: ${r.skipped} | | |\n` : `| ${r.contender} | ${fmt(r.median / 1000, 1)} | ${fmt(r.min / 1000, 1)}–${fmt(r.max / 1000, 1)} | ${fmt(r.speedupVsPromClient, 1)} |\n`;
  }
  report('export', md, rows, quick);
}

await main();
