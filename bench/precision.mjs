#!/usr/bin/env node
// Precision: for the GC-heavy workload, the number of GCs and their total pause each
// contender reports, against V8's own --trace-gc lines printed by the same process during
// the same window (scavenges, minor and full mark-compacts: the GCs --trace-gc prints;
// incremental-marking steps and weak-callback passes are left out on every side). And the
// loop-delay p99 against monitorEventLoopDelay in one process under a loop with blocks.
//   node bench/precision.mjs [--quick]
import { spawnSync } from 'node:child_process';
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver, monitorEventLoopDelay, constants as perfConstants } from 'node:perf_hooks';
import { benchDir, fmt, machine, median, peer, progress, report } from './harness.mjs';

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A reader over cumulative totals: the window's GCs are the difference of two reads. */
function cumulativeReader(read) {
  let a;
  return {
    before: async () => { a = await read(); },
    async after() {
      const b = await read();
      return { count: b.count - a.count, pauseNs: b.pauseNs - a.pauseNs };
    },
  };
}

// Each reader: setup() → { before(), after() → Promise<{ count, pauseNs }> } over the GCs
// --trace-gc prints (minor and major).
const READERS = {
  'runtime-sampler': () => {
    const { Sampler } = require(join(benchDir, '..'));
    const s = new Sampler().start();
    const pick = (snap) => {
      const t = snap.gc.byType;
      return {
        count: t.scavenge.count + t.minorMarkSweep.count + t.markSweepCompact.count,
        pauseNs: t.scavenge.pauseNs + t.minorMarkSweep.pauseNs + t.markSweepCompact.pauseNs,
      };
    };
    let a;
    return {
      before() { a = pick(s.read()); },
      async after() {
        const b = pick(s.read());
        return { count: b.count - a.count, pauseNs: b.pauseNs - a.pauseNs };
      },
    };
  },
  "PerformanceObserver('gc')": () => {
    const entries = [];
    const obs = new PerformanceObserver((list) => entries.push(...list.getEntries()));
    obs.observe({ entryTypes: ['gc'] });
    const kinds = new Set([perfConstants.NODE_PERFORMANCE_GC_MINOR, perfConstants.NODE_PERFORMANCE_GC_MAJOR]);
    let t0 = 0;
    return {
      before() { t0 = performance.now(); },
      async after() {
        const t1 = performance.now();
        await sleep(100); // entries arrive asynchronously, late ones from before t0 too
        const mine = entries.filter((e) => e.startTime >= t0 && e.startTime <= t1 && kinds.has(e.detail ? e.detail.kind : e.kind));
        return { count: mine.length, pauseNs: mine.reduce((x, e) => x + e.duration * 1e6, 0) };
      },
    };
  },
  'prom-client default metrics': () => {
    const client = peer('prom-client');
    const register = new client.Registry();
    client.collectDefaultMetrics({ register });
    const read = async () => {
      await sleep(100);
      const m = (await register.getMetricsAsJSON()).find((x) => x.name === 'nodejs_gc_duration_seconds');
      let count = 0;
      let sum = 0;
      for (const v of m?.values ?? []) {
        if (!['minor', 'major'].includes(v.labels.kind)) continue;
        if (v.metricName === 'nodejs_gc_duration_seconds_count') count += v.value;
        if (v.metricName === 'nodejs_gc_duration_seconds_sum') sum += v.value;
      }
      return { count, pauseNs: sum * 1e9 };
    };
    return cumulativeReader(read);
  },
  '@datadog/native-metrics': () => {
    const dd = peer('@datadog/native-metrics');
    dd.start();
    const types = ['scavenge', 'minor_mark_compact', 'minor_mark_sweep', 'mark_sweep_compact'];
    return {
      before() { dd.stats(); }, // stats() resets the GC counters
      async after() {
        const g = dd.stats().gc;
        let count = 0;
        let pauseNs = 0;
        for (const t of types) {
          if (!g[t]) continue;
          count += g[t].count;
          pauseNs += g[t].sum;
        }
        return { count, pauseNs };
      },
    };
  },
  '@opentelemetry/instrumentation-runtime-node': () => {
    const { RuntimeNodeInstrumentation } = peer('@opentelemetry/instrumentation-runtime-node');
    const sdk = peer('@opentelemetry/sdk-metrics');
    const exporter = new sdk.InMemoryMetricExporter(sdk.AggregationTemporality.CUMULATIVE);
    const reader = new sdk.PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new sdk.MeterProvider({ readers: [reader] });
    const inst = new RuntimeNodeInstrumentation({ monitoringPrecision: 10 });
    inst.setMeterProvider(provider);
    const read = async () => {
      await sleep(100);
      await reader.forceFlush();
      const last = exporter.getMetrics().at(-1);
      let count = 0;
      let sum = 0;
      for (const sm of last?.scopeMetrics ?? []) {
        for (const metric of sm.metrics) {
          if (metric.descriptor.name !== 'v8js.gc.duration') continue;
          for (const dp of metric.dataPoints) {
            if (!['minor', 'major'].includes(dp.attributes['v8js.gc.type'])) continue;
            count += dp.value.count;
            sum += dp.value.sum;
          }
        }
      }
      return { count, pauseNs: sum * 1e9 };
    };
    return cumulativeReader(read);
  },
};

async function gcChild(name, n) {
  let r;
  try {
    r = READERS[name]();
  } catch (e) {
    console.log('RESULT ' + JSON.stringify({ skipped: String(e.message).replace(/^skipped: /, '') }));
    return;
  }
  // Warm up (and let lazy setup settle), then the measured window between markers.
  let keep = [];
  for (let i = 0; i < 200_000; i++) keep.push({ i });
  keep = [];
  await sleep(50);
  await r.before();
  writeSync(1, 'MARK begin\n');
  for (let i = 0; i < n; i++) {
    keep.push({ i, s: `item${i}`, a: [i, i + 1, i + 2] });
    if (keep.length > 40_000) keep = [];
  }
  writeSync(1, 'MARK end\n');
  const got = await r.after();
  writeSync(1, 'RESULT ' + JSON.stringify(got) + '\n');
  process.exit(0);
}

function parseTrace(stdout) {
  const lines = stdout.split('\n');
  const b = lines.indexOf('MARK begin');
  const e = lines.indexOf('MARK end');
  const gcs = lines.slice(b + 1, e).filter((l) => / ms: (Scavenge|Minor Mark-(Sweep|Compact)|(Incremental )?Mark-(Compact|sweep))\b/.test(l));
  const pauseNs = gcs.reduce((x, l) => x + Number(/MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \//.exec(l)?.[1] ?? 0) * 1e6, 0);
  return { count: gcs.length, pauseNs };
}

async function delayChild(seconds) {
  const { Sampler } = require(join(benchDir, '..'));
  const s = new Sampler({ loopDelayResolutionMs: 10 }).start();
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const end = Date.now() + seconds * 1000;
  let x = 1;
  while (Date.now() < end) {
    // Irregular blocks of 0–40 ms between short waits.
    x = (x * 1103515245 + 12345) % 2147483648;
    const block = (x % 41);
    const until = performance.now() + block;
    while (performance.now() < until);
    await sleep(5);
  }
  h.disable();
  const d = s.histograms.loopDelay;
  const out = {
    ours: { count: d.count, mean: d.mean, p50: d.percentile(50), p99: d.percentile(99), max: d.max },
    node: { count: h.count, mean: h.mean, p50: h.percentile(50), p99: h.percentile(99), max: h.max },
  };
  s.close();
  console.log('RESULT ' + JSON.stringify(out));
  process.exit(0);
}

function run(childArgs, flags = []) {
  const r = spawnSync(process.execPath, [...flags, self, ...childArgs], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 600_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`child failed (${r.status}): ${r.stderr.split('\n').slice(-4).join(' | ')}`);
  return { result: JSON.parse(line.slice(7)), stdout: r.stdout };
}

async function main() {
  if (args[0] === '--gc-child') return gcChild(args[1], Number(args[2]));
  if (args[0] === '--delay-child') return delayChild(Number(args[1]));
  const n = quick ? 500_000 : 5_000_000;
  const runs = quick ? 1 : 3;
  const rows = [];
  let md = `## Precision (\`node bench/precision.mjs${quick ? ' --quick' : ''}\`)\n\n`;
  md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. Each contender in its own process with \`--trace-gc\`, the GC-heavy workload (${n.toLocaleString('en-US')} allocations) between two markers; V8's lines between the markers are the reference (scavenges, minor and full mark-compacts; pause = V8's own main-thread time per GC). ${runs} runs, medians.\n\n`;
  md += '| contender | GCs reported | --trace-gc GCs | count ratio | total pause ms | --trace-gc pause ms | pause ratio |\n|---|---:|---:|---:|---:|---:|---:|\n';
  for (const name of Object.keys(READERS)) {
    const got = [];
    let skipped = null;
    for (let i = 0; i < runs; i++) {
      const { result, stdout } = run(['--gc-child', name, String(n)], ['--trace-gc', '--expose-gc']);
      if (result.skipped) {
        skipped = result.skipped;
        break;
      }
      const ref = parseTrace(stdout);
      got.push({ ...result, refCount: ref.count, refPauseNs: ref.pauseNs });
      progress(`  ${name} run ${i + 1}/${runs}: ${result.count} GCs / ${fmt(result.pauseNs / 1e6, 1)} ms vs --trace-gc ${ref.count} / ${fmt(ref.pauseNs / 1e6, 1)} ms`);
    }
    if (skipped) {
      md += `| ${name} | skipped: ${skipped} | | | | | |\n`;
      rows.push({ scenario: 'precision/gc', contender: name, skipped });
      continue;
    }
    const med = (k) => median(got.map((g) => g[k]));
    const countRatio = median(got.map((g) => g.count / g.refCount));
    const pauseRatio = median(got.map((g) => g.pauseNs / g.refPauseNs));
    md += `| ${name} | ${med('count')} | ${med('refCount')} | ${fmt(countRatio, 3)} | ${fmt(med('pauseNs') / 1e6, 1)} | ${fmt(med('refPauseNs') / 1e6, 1)} | ${fmt(pauseRatio, 3)} |\n`;
    rows.push({ scenario: 'precision/gc', contender: name, unit: 'ratio vs --trace-gc', runs, median: countRatio, min: Math.min(...got.map((g) => g.count / g.refCount)), max: Math.max(...got.map((g) => g.count / g.refCount)), pauseRatio, count: med('count'), refCount: med('refCount') });
  }
  const seconds = quick ? 1 : 10;
  const { result: d } = run(['--delay-child', String(seconds)]);
  md += `\nLoop delay over ${seconds} s of irregular 0–40 ms blocks, resolution 10 ms, both in one process:\n\n| | count | mean ms | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n`;
  for (const [label, x] of [['runtime-sampler loopDelay', d.ours], ['monitorEventLoopDelay', d.node]]) {
    md += `| ${label} | ${x.count} | ${fmt(x.mean / 1e6, 2)} | ${fmt(x.p50 / 1e6, 2)} | ${fmt(x.p99 / 1e6, 2)} | ${fmt(x.max / 1e6, 2)} |\n`;
  }
  md += `\np99 ratio: ${fmt(d.ours.p99 / d.node.p99, 3)}; mean ratio: ${fmt(d.ours.mean / d.node.mean, 3)}.\n`;
  rows.push({ scenario: 'precision/loop-delay', contender: 'runtime-sampler', unit: 'ratio vs monitorEventLoopDelay', runs: 1, median: d.ours.p99 / d.node.p99, min: d.ours.p99 / d.node.p99, max: d.ours.p99 / d.node.p99, ours: d.ours, node: d.node });
  report('precision', md, rows, quick);
}

await main();
