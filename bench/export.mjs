#!/usr/bin/env node
// Export cost: one scrape (or log line) of every runtime metric, every contender in the
// same process, alternating in a fresh random order every round, with and without a
// GC-heavy timer running.
// Per round each contender scrapes once after a turn of the event loop (so the timer and
// its GCs run between scrapes, as between real ones); a contender's time is the
// median over rounds with p10–p90, and its ratio to prom-client is the median of the
// per-round ratios (same round, same conditions). prom-client runs twice per round: the
// second copy's ratio to the first is the A/A control — this machine's noise floor.
// Bytes and series per scrape are reported beside the time, and the time per series, so a
// larger exposition cannot hide behind a ratio.
//   node --expose-gc bench/export.mjs [--quick]      (npm run bench -- export)
// (An earlier version ran each contender in its own fresh processes, without GC load:
// there prom-client's GC histogram and observers sat idle, which flattered the ratios.)
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { benchDir, fmt, machine, median, peer, progress, quantile, report } from './harness.mjs';

const require = createRequire(import.meta.url);
const quick = process.argv.includes('--quick');
const ROUNDS = Number(process.env.RS_ROUNDS) || (quick ? 20 : 500);
// Scrapes come seconds apart: by default each is timed alone after a turn of the loop,
// never back to back with its own warm caches (RS_BATCH > 1 times batches).
const BATCH = Number(process.env.RS_BATCH) || 1;

if (typeof globalThis.gc !== 'function') {
  // Re-run with --expose-gc (needed for a first full GC: the histograms have content).
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const rs = require(join(benchDir, '..'));
const dropIn = require(join(benchDir, '..', 'dist', 'cjs', 'exporters', 'prom-client.js'));
let client = null;
let missing = null;
try {
  client = peer('prom-client');
} catch (e) {
  missing = e.message;
}

const s = new rs.Sampler().start();
globalThis.gc(); // some GC history, so the GC histograms are not empty

const BASELINE = 'prom-client collectDefaultMetrics(): register.metrics()';
const CONTROL = 'prom-client collectDefaultMetrics(): register.metrics(), again (A/A control)';
const DROP_IN = 'runtime-sampler/prom-client: register.metrics()';
const contenders = {
  'toPrometheus() (text 0.0.4, detail standard)': () => rs.toPrometheus(s),
  'toPrometheus() (OpenMetrics, detail standard)': () => rs.toPrometheus(s, { format: 'openmetrics' }),
  'toPrometheus() (text 0.0.4, detail full)': () => rs.toPrometheus(s, { detail: 'full' }),
  'toPrometheusProtobuf() (native histograms, detail standard)': () => rs.toPrometheusProtobuf(s),
  'JSON.stringify(toJSON())': () => JSON.stringify(rs.toJSON(s)),
};
if (client) {
  const ours = new client.Registry();
  dropIn.collectDefaultMetrics({ register: ours, sampler: s });
  contenders[DROP_IN] = () => ours.metrics();
  const theirs = new client.Registry();
  client.collectDefaultMetrics({ register: theirs });
  contenders[BASELINE] = () => theirs.metrics();
  contenders[CONTROL] = () => theirs.metrics();
}
const names = Object.keys(contenders);

/** Series (sample lines) of a text exposition; bytes of any. */
function shape(out) {
  if (typeof out !== 'string') return { bytes: out.byteLength, series: null };
  let series = 0;
  for (const line of out.split('\n')) if (line !== '' && line[0] !== '#') series++;
  return { bytes: Buffer.byteLength(out), series };
}

// The GC-heavy timer: short-lived garbage every 2 ms (scavenges, and the GC observers of
// prom-client and of the drop-in see every one), plus a slowly replaced survivor set that
// makes mark-compacts happen now and then.
let load = null;
function startLoad() {
  let keep = [];
  load = setInterval(() => {
    const garbage = [];
    for (let i = 0; i < 4000; i++) garbage.push({ i, s: `x${i}` });
    keep.push(garbage[0], garbage[1]);
    if (keep.length > 200_000) keep = [];
  }, 2);
}
function stopLoad() {
  clearInterval(load);
  load = null;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

// A seeded PRNG (mulberry32), so that a run's orders can be reproduced.
let seed = 0x5eed;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function shuffled(xs) {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

async function timeBatch(op) {
  const t = process.hrtime.bigint();
  for (let k = 0; k < BATCH; k++) {
    const r = op();
    if (r !== null && typeof r === 'object' && typeof r.then === 'function') await r;
  }
  return Number(process.hrtime.bigint() - t) / BATCH;
}

async function phase(label) {
  for (const n of names) for (let k = 0; k < (quick ? 10 : 100); k++) await contenders[n](); // warm-up
  const ns = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    // A fresh random order every round: a fixed rotation keeps each contender's
    // predecessor, and one that leaves garbage (prom-client) would tax the same successor.
    for (const n of shuffled(names)) {
      await turn();
      ns[n].push(await timeBatch(contenders[n]));
    }
    if ((r + 1) % Math.max(1, Math.floor(ROUNDS / 5)) === 0) progress(`  ${label}: round ${r + 1}/${ROUNDS}`);
  }
  const rows = [];
  for (const n of names) {
    const xs = ns[n];
    const sh = shape(await contenders[n]());
    const row = { scenario: 'export', contender: n, load: label, unit: 'ns/op', rounds: ROUNDS, batch: BATCH, median: median(xs), min: quantile(xs, 0.1), max: quantile(xs, 0.9), spread: 'p10–p90', ...sh };
    if (sh.series) row.nsPerSeries = row.median / sh.series;
    if (client) {
      const ratios = xs.map((v, i) => ns[BASELINE][i] / v);
      Object.assign(row, { speedupVsPromClient: median(ratios), speedupP10: quantile(ratios, 0.1), speedupP90: quantile(ratios, 0.9) });
    }
    rows.push(row);
  }
  return rows;
}

const rows = [...(await phase('no load'))];
startLoad();
await turn();
rows.push(...(await phase('GC load')));
stopLoad();
const gcs = s.read().gc.count;
s.close();

let md = `## Export cost (\`npm run bench -- export\`: \`node bench/export.mjs${quick ? ' --quick' : ''}\`)\n\n`;
md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. One scrape of every runtime metric per operation. Every contender in one process, ${ROUNDS} rounds in a random order each, each contender ${BATCH === 1 ? 'scraping once' : `timed over ${BATCH} scrapes`} after a turn of the event loop; median over rounds and p10–p90. "× prom-client" is the median of the per-round ratios of prom-client's time to the contender's (p10–p90). prom-client's second copy is the A/A control. GC load: a timer allocating short-lived objects every 2 ms (${gcs} GCs during the run). Series: sample lines of the text exposition (the protobuf one carries the same families, its histograms native and classic).${missing ? `\n\nprom-client: ${missing}` : ''}\n`;
for (const label of ['no load', 'GC load']) {
  md += `\n### ${label}\n\n| contender | median µs | p10–p90 µs | bytes | series | ns/series | × prom-client (p10–p90) |\n|---|---:|---:|---:|---:|---:|---:|\n`;
  for (const r of rows.filter((x) => x.load === label)) {
    const x = r.speedupVsPromClient === undefined ? '' : `${fmt(r.speedupVsPromClient, 2)} (${fmt(r.speedupP10, 2)}–${fmt(r.speedupP90, 2)})`;
    md += `| ${r.contender} | ${fmt(r.median / 1000, 1)} | ${fmt(r.min / 1000, 1)}–${fmt(r.max / 1000, 1)} | ${r.bytes} | ${r.series ?? '—'} | ${r.nsPerSeries ? fmt(r.nsPerSeries, 0) : '—'} | ${x} |\n`;
  }
}
report('export', md, rows, quick);
