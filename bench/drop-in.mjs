#!/usr/bin/env node
// The prom-client drop-in against prom-client's own collectDefaultMetrics(), in ONE process:
// both registered side by side, scraped in rotating order (prom-client, drop-in, prom-client
// again as the A/A control), each scrape timed alone, with a GC-heavy timer running and
// not. A scrape is `await register.metrics()`; between scrapes the loop turns, so that the
// timer and its GCs run between them (both contenders scrape the same process and workload).
// At the end, the drop-in's nodejs_gc_duration_seconds count is checked against the
// sampler's GC count: the speed must not come from counting fewer GCs.
//   node bench/drop-in.mjs [--quick] [--rounds N]   (or: npm run bench -- drop-in)
// dropInBench() is exported for bench/export.mjs (`npm run bench -- export`).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchDir, fmt, machine, median, peer, progress, quantile, report } from './harness.mjs';

const require = createRequire(import.meta.url);
const yieldLoop = () => new Promise((r) => setImmediate(r));

/**
 * Each scrape alone, the loop turned before each; returns the median ns per scrape (a
 * scrape preempted by another process on a shared machine moves a mean, not a median).
 */
async function phase(register, scrapes) {
  const times = new Array(scrapes);
  for (let i = 0; i < scrapes; i++) {
    await yieldLoop();
    const t = process.hrtime.bigint();
    await register.metrics();
    times[i] = Number(process.hrtime.bigint() - t);
  }
  return median(times);
}

/** Allocation that keeps V8 collecting: ~4 MB of short-lived objects every 2 ms, some kept a while. */
function gcLoad() {
  let keep = [];
  const timer = setInterval(() => {
    const garbage = [];
    for (let i = 0; i < 20000; i++) garbage.push({ i, s: `x${i}` });
    keep.push(garbage.slice(0, 2000));
    if (keep.length > 50) keep = [];
  }, 2);
  return () => clearInterval(timer);
}

const row = (xs) => ({ median: median(xs), p10: quantile(xs, 0.1), p90: quantile(xs, 0.9) });

/**
 * Runs the comparison; returns { rows, md }. `rounds` rotations per load condition, each
 * phase `scrapes` scrapes long.
 */
export async function dropInBench({ quick = false, rounds = quick ? 6 : 40, scrapes = quick ? 20 : 50 } = {}) {
  const client = peer('prom-client');
  const { collectDefaultMetrics } = require(join(benchDir, '..', 'dist', 'cjs', 'exporters', 'prom-client.js'));
  const theirs = new client.Registry();
  client.collectDefaultMetrics({ register: theirs });
  const ours = new client.Registry();
  const handle = collectDefaultMetrics({ register: ours });
  const registers = { promClient: theirs, dropIn: ours, control: theirs };
  const ORDERS = [['promClient', 'dropIn', 'control'], ['dropIn', 'control', 'promClient'], ['control', 'promClient', 'dropIn']];
  // Warm-up: every code path compiled before the first timed phase.
  for (const r of [theirs, ours]) await phase(r, quick ? 200 : 300);
  const rows = [];
  for (const load of ['idle', 'gc-heavy']) {
    const stop = load === 'gc-heavy' ? gcLoad() : () => {};
    await phase(theirs, 20);
    const res = { promClient: [], dropIn: [], control: [] };
    for (let p = 0; p < rounds; p++) {
      for (const kind of ORDERS[p % 3]) res[kind].push(await phase(registers[kind], scrapes));
    }
    stop();
    // Ratios per round (the three phases of a round ran within milliseconds of each other).
    const speedup = res.promClient.map((a, i) => a / res.dropIn[i]);
    const aa = res.control.map((a, i) => a / res.promClient[i]);
    rows.push({
      scenario: 'drop-in', contender: `runtime-sampler/prom-client (${load})`, load, unit: 'ns/scrape', rounds, scrapes,
      promClient: row(res.promClient), dropIn: row(res.dropIn), control: row(res.control),
      speedup: row(speedup), aaRatio: row(aa),
      series: { promClient: countSeries(await theirs.metrics()), dropIn: countSeries(await ours.metrics()) },
    });
    progress(`  ${load}: prom-client ${fmt(median(res.promClient) / 1000)} µs, drop-in ${fmt(median(res.dropIn) / 1000)} µs, ×${fmt(median(speedup), 2)}, A/A ${fmt(median(aa), 3)}`);
  }
  // Exactness: every GC the sampler saw is in nodejs_gc_duration_seconds (a scrape drains first).
  const gcCount = async (register) => (await register.getSingleMetric('nodejs_gc_duration_seconds').get()).values
    .filter((v) => v.metricName === 'nodejs_gc_duration_seconds_count').reduce((a, v) => a + v.value, 0);
  const counted = await gcCount(ours);
  const sampled = handle.sampler.read().gc.count;
  await yieldLoop(); // prom-client's GC observer reports later
  const theirsCounted = await gcCount(theirs);
  handle.close();
  if (counted !== sampled) throw new Error(`drop-in counted ${counted} GCs, the sampler ${sampled}`);
  const us = (x) => `${fmt(x.median / 1000)} (${fmt(x.p10 / 1000)}–${fmt(x.p90 / 1000)})`;
  const x = (r) => `${fmt(r.median, 2)} (${fmt(r.p10, 2)}–${fmt(r.p90, 2)})`;
  let md = `## prom-client drop-in (\`node bench/drop-in.mjs${quick ? ' --quick' : ''}\`)\n\n`;
  md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, prom-client ${require('prom-client/package.json').version}, ${new Date().toISOString().slice(0, 10)}. `;
  md += `One process: prom-client's collectDefaultMetrics() and runtime-sampler/prom-client in two registries; ${rounds} rounds of three phases in rotating order (prom-client, drop-in, prom-client again as the A/A control), ${scrapes} scrapes (\`await register.metrics()\`) a phase, each timed alone with a loop turn before it; a phase's value is the median of its scrapes. µs per scrape: median over rounds (p10–p90); ratios per round. `;
  md += `GC-heavy: a 2 ms timer allocating ~4 MB. The drop-in counted all ${counted} GCs the sampler saw (prom-client's nodejs_gc_duration_seconds: ${theirsCounted}).\n\n`;
  md += '| load | prom-client µs | drop-in µs | A/A control µs | × faster (drop-in) | A/A ratio | series (prom-client / drop-in) |\n|---|---:|---:|---:|---:|---:|---:|\n';
  for (const r of rows) md += `| ${r.load} | ${us(r.promClient)} | ${us(r.dropIn)} | ${us(r.control)} | ${x(r.speedup)} | ${x(r.aaRatio)} | ${r.series.promClient} / ${r.series.dropIn} |\n`;
  for (const r of rows) Object.assign(r, { gcCounted: counted, gcSampled: sampled, gcPromClient: theirsCounted });
  return { rows, md };
}

function countSeries(text) {
  let n = 0;
  for (const l of text.split('\n')) if (l && l[0] !== '#') n++;
  return n;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const i = args.indexOf('--rounds');
  const { rows, md } = await dropInBench({ quick, ...(i >= 0 ? { rounds: Number(args[i + 1]) } : {}) });
  report('drop-in', md, rows, quick);
}
