#!/usr/bin/env node
// What reading the process's cgroup costs (snapshot.container): the refresh timer re-reads
// a handful of cgroup files through descriptors it keeps open (a pread each).
//
//  - refresh cost: three samplers in one process — the process's own cgroup read (on),
//    none (cgroupRoot: false, off), and none again (the A/A control) — each refreshed in
//    rounds of rotating order; the native side times each refresh (sampler.refreshCostNs,
//    the whole refresh: heap statistics, RSS, CPU, fds, cgroup). Medians per sampler, the
//    on − off difference, and what one refresh reads (cgroup version, files held).
//  - overhead on/off: a setImmediate storm and a GC-heavy workload with one sampler
//    started per phase, refreshing every 10 ms (100× the default rate, to make the cost
//    visible): reading cgroups (on), not (off), not again (A/A control). Triples in
//    rotating order; the median of the per-triple on/off ratios (p10–p90) beside the A/A.
//   node bench/cgroup.mjs [--quick]        RS_TRIPLES overrides the triple count
import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { benchDir, fmt, machine, median, progress, quantile, report, rotatingTriples } from './harness.mjs';

const require = createRequire(import.meta.url);
const { Sampler } = require(join(benchDir, '..'));
const quick = process.argv.includes('--quick');
const triples = Number(process.env.RS_TRIPLES) || (quick ? 6 : 150);
const rounds = quick ? 200 : 5000;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const fds = () => readdirSync('/proc/self/fd').length;

const rows = [];
let md = `## cgroup reading cost (\`node bench/cgroup.mjs${quick ? ' --quick' : ''}\`)\n\n`;
md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. `;

// ---- refresh cost ----
const before = fds();
const refreshers = { on: new Sampler({ cgroupRoot: null }), off: new Sampler({ cgroupRoot: false }), control: new Sampler({ cgroupRoot: false }) };
const held = fds() - before;
const version = (refreshers.on.refresh(), refreshers.on.read().container.cgroupVersion);
const costs = { on: [], off: [], control: [] };
const ORDERS = [['on', 'off', 'control'], ['off', 'control', 'on'], ['control', 'on', 'off']];
for (let i = 0; i < 200; i++) for (const s of Object.values(refreshers)) s.refresh(); // warm up
const snap = refreshers.on.read();
for (let i = 0; i < rounds; i++) {
  for (const kind of ORDERS[i % 3]) {
    refreshers[kind].refresh();
    costs[kind].push(refreshers[kind].read(snap).sampler.refreshCostNs);
  }
}
for (const s of Object.values(refreshers)) s.close();
const m = { on: median(costs.on), off: median(costs.off), control: median(costs.control) };
progress(`refresh: on ${fmt(m.on / 1e3, 2)} µs, off ${fmt(m.off / 1e3, 2)} µs, control ${fmt(m.control / 1e3, 2)} µs (cgroup v${version}, ${held} files held)`);
rows.push({ scenario: 'cgroup', contender: 'refresh cost, cgroups read', unit: 'ns/refresh', median: m.on, min: quantile(costs.on, 0.1), max: quantile(costs.on, 0.9), spread: 'p10–p90', runs: rounds, cgroupVersion: version, filesHeld: held });
rows.push({ scenario: 'cgroup', contender: 'refresh cost, no cgroups', unit: 'ns/refresh', median: m.off, min: quantile(costs.off, 0.1), max: quantile(costs.off, 0.9), spread: 'p10–p90', runs: rounds });
rows.push({ scenario: 'cgroup', contender: 'refresh cost, no cgroups (A/A)', unit: 'ns/refresh', median: m.control, min: quantile(costs.control, 0.1), max: quantile(costs.control, 0.9), spread: 'p10–p90', runs: rounds });
md += `Refresh cost: three samplers in one process refreshed ${rounds} times each in rotating order, each refresh timed natively (\`sampler.refreshCostNs\`: heap statistics, RSS, CPU time, fds and the cgroup files); this host's cgroup is v${version}, ${held} files held open per sampler.\n\n`;
md += '| sampler | refresh: median µs (p10–p90) |\n|---|---:|\n';
md += `| cgroups read (\`cgroupRoot: null\`) | ${fmt(m.on / 1e3, 2)} (${fmt(quantile(costs.on, 0.1) / 1e3, 2)}–${fmt(quantile(costs.on, 0.9) / 1e3, 2)}) |\n`;
md += `| no cgroups (\`cgroupRoot: false\`) | ${fmt(m.off / 1e3, 2)} (${fmt(quantile(costs.off, 0.1) / 1e3, 2)}–${fmt(quantile(costs.off, 0.9) / 1e3, 2)}) |\n`;
md += `| no cgroups, A/A control | ${fmt(m.control / 1e3, 2)} (${fmt(quantile(costs.control, 0.1) / 1e3, 2)}–${fmt(quantile(costs.control, 0.9) / 1e3, 2)}) |\n`;
md += `| **difference: the cgroup reading** | **${fmt((m.on - m.off) / 1e3, 2)} µs per refresh** (A/A: ${fmt((m.control - m.off) / 1e3, 2)}) |\n\n`;

// ---- overhead on/off ----
const WORKLOADS = {
  'setImmediate storm': () => new Promise((resolve) => {
    let n = 0;
    const hop = () => (++n < 60_000 ? setImmediate(hop) : resolve(n));
    setImmediate(hop);
  }),
  'GC-heavy': async () => {
    let keep = [];
    const old = [];
    for (let i = 0; i < 300_000; i++) {
      keep.push({ i, s: `item${i}` });
      if (keep.length > 20_000) {
        old.push(keep);
        keep = [];
        if (old.length > 12) old.splice(0, 6);
      }
    }
    // A turn of the loop, so that refresh timers due meanwhile run inside the phase.
    await new Promise((r) => setImmediate(r));
    return old.length;
  },
};
const samplers = {
  on: new Sampler({ cgroupRoot: null, refreshIntervalMs: 10 }),
  off: new Sampler({ cgroupRoot: false, refreshIntervalMs: 10 }),
  control: new Sampler({ cgroupRoot: false, refreshIntervalMs: 10 }),
};
md += `Overhead on/off: in one process, ${triples} triples of phases in rotating order, each after an untimed full GC, each with exactly one sampler started, refreshing every 10 ms (100× the default): reading cgroups (on), not (off), not again (A/A control). Median of the per-triple on/off ratios (p10–p90) and the A/A median.\n\n`;
md += '| workload | on/off: median (p10–p90) | A/A control | off: median ms/phase | refreshes per on phase |\n|---|---:|---:|---:|---:|\n';
for (const [name, run] of Object.entries(WORKLOADS)) {
  progress(`${name}: ${triples} triples`);
  for (let i = 0; i < 3; i++) await run();
  const refreshes = [];
  const res = await rotatingTriples(triples, async (kind) => {
    const s = samplers[kind];
    gc();
    s.start();
    const r0 = s.read().sampler.refreshes;
    const t = process.hrtime.bigint();
    await run();
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (kind === 'on') refreshes.push(s.read().sampler.refreshes - r0);
    s.stop();
    return ms;
  });
  const ratios = res.on.map((v, i) => v / res.off[i]);
  const aa = res.control.map((v, i) => v / res.off[i]);
  const row = {
    scenario: 'cgroup', contender: `cgroup reading (${name})`, unit: 'ratio on/off', median: median(ratios), min: quantile(ratios, 0.1),
    max: quantile(ratios, 0.9), spread: 'p10–p90', runs: ratios.length, controlMedian: median(aa), offMsPerPhase: median(res.off), refreshesPerPhase: median(refreshes),
  };
  rows.push(row);
  progress(`  on/off ${fmt(row.median, 3)} (p10–p90 ${fmt(row.min, 3)}–${fmt(row.max, 3)}), A/A ${fmt(row.controlMedian, 3)}, ${fmt(row.offMsPerPhase, 1)} ms/phase, ${row.refreshesPerPhase} refreshes/phase`);
  md += `| ${name} | ${fmt(row.median, 3)} (${fmt(row.min, 3)}–${fmt(row.max, 3)}) | ${fmt(row.controlMedian, 3)} | ${fmt(row.offMsPerPhase, 1)} | ${row.refreshesPerPhase} |\n`;
}
for (const s of Object.values(samplers)) s.close();
report('cgroup', md, rows, quick);
