// The anomaly rules' false-positive figure: a steady workload (test/helpers/anomaly-workload.js,
// the rules of the proof test: 6 s baselines, `for` 1 s) for ANOMALY_SOAK_SECONDS (default 600),
// counting alerts raised, samples evaluated and pending (not yet fired) anomalies.
// node bench/anomaly-soak.mjs  → one JSON line; a run of 600 s or more also writes its
// section of bench/RESULTS.md (`--record <file>` writes it from a saved JSON line instead).
// Not part of `npm run bench`: it takes 10 minutes.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fmt, machine, updateResultsMd } from './harness.mjs';

const require = createRequire(import.meta.url);
const { RULES, startWorkload } = require('../test/helpers/anomaly-workload.js');

function record(r) {
  updateResultsMd('anomaly-soak', `## Anomaly rules on a steady workload (\`node bench/anomaly-soak.mjs\`)

${machine.cpu.split(' ').slice(0, 2).join(' ')}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}.

A steady workload (test/helpers/anomaly-workload.js: a 10 ms timer allocating ${fmt(r.allocatedMBperS, 1)} MiB/s of short-lived strings, ${fmt(r.cpuShareOfOneCore * 100, 1)}% of one core) judged by the proof test's anomaly rules (${r.rules.join(', ')}: 6 s baselines, sensitivity 6, \`for\` 1 s, a 100 ms history) for ${fmt(r.seconds / 60, 1)} minutes:

| history samples | rule evaluations | alerts raised | samples with a pending anomaly |
|---:|---:|---:|---:|
| ${r.historySamples} | ${r.ruleEvaluations} | ${r.alertsRaised} | ${r.pendingSamples}${Object.keys(r.pendingByRule).length ? ` (${Object.entries(r.pendingByRule).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''} |
`);
}

const recordFrom = process.argv.indexOf('--record');
if (recordFrom > 0) {
  record(JSON.parse(readFileSync(process.argv[recordFrom + 1], 'utf8')));
  process.exit(0);
}

const seconds = Number(process.env.ANOMALY_SOAK_SECONDS ?? 600);
const w = startWorkload();
let samples = 0;
let pendingSamples = 0;
const pendingByRule = {};
const maxDeviations = {};
const off = w.sampler.history.onSample(() => {
  samples++;
  for (const a of w.watcher.anomalies()) {
    pendingSamples++;
    pendingByRule[a.rule] = (pendingByRule[a.rule] ?? 0) + 1;
  }
});
// The largest |deviations| any rule saw, from the alerts' and anomalies' view of the baseline.
const probe = setInterval(() => {
  for (const a of w.watcher.anomalies()) maxDeviations[a.rule] = Math.max(maxDeviations[a.rule] ?? 0, Math.abs(a.deviations));
}, 100);
const cpu0 = process.cpuUsage();
const t0 = Date.now();
setTimeout(() => {
  clearInterval(probe);
  off();
  const cpu = process.cpuUsage(cpu0);
  const wallS = (Date.now() - t0) / 1000;
  const alerts = w.events.filter((e) => e.type === 'alert');
  const line = JSON.stringify({
    seconds: wallS,
    rules: RULES.map((r) => r.name),
    historySamples: samples,
    ruleEvaluations: samples * RULES.length,
    alertsRaised: alerts.length,
    alerts: alerts.map((e) => ({ name: e.alert.name, value: e.alert.value, baseline: e.alert.baseline, at: new Date(e.at).toISOString() })),
    pendingSamples,
    pendingByRule,
    maxDeviationsWhilePending: maxDeviations,
    cpuShareOfOneCore: (cpu.user + cpu.system) / 1e6 / wallS,
    allocatedMBperS: w.sampler.read().gc.allocatedBytes / 2 ** 20 / wallS,
  });
  console.log(line);
  w.stop();
  if (seconds >= 600) record(JSON.parse(line));
}, seconds * 1000);
