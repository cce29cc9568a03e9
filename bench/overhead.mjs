#!/usr/bin/env node
// Overhead of each contender on two workloads: a GC-heavy allocation churn and a
// setImmediate storm (loop-heavy).
//
// Two methods, both reported:
//  - in one process, the contender switched on and off in many short alternating phases
//    (the order alternates every pair, so drift favours neither side): the median of the
//    per-pair on/off ratios, with its min–max — robust to a noisy, shared machine;
//  - fresh processes, alternating between contenders, each running the workload with the
//    contender on from the start (the only method for a contender that cannot be switched
//    off, such as prom-client's default metrics): medians and ratios against 'none'.
// Every contender runs as a real user would run it, including its periodic collection
// (a read/scrape/export every second).
//   node bench/overhead.mjs [--quick] [--only <contender substring>]
import { fileURLToPath } from 'node:url';
import { CONTENDERS } from './contenders.mjs';
import { fmt, machine, median, progress, runChild, stats, updateResultsMd, writeNdjson } from './harness.mjs';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');

// Workloads: one phase of each is ~150-200 ms here (~20-30 ms with --quick): long enough
// that a phase holds many scavenges and some mark-compacts, so GC timing evens out.
const WORKLOADS = {
  'gc-heavy': {
    unit: 'ms/phase',
    run() {
      // Allocation churn: short-lived objects (scavenges) and a retained set that is
      // replaced now and then (old-space growth, mark-compacts).
      const n = quick ? 200_000 : 2_000_000;
      const t = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      let keep = [];
      for (let i = 0; i < n; i++) {
        keep.push({ i, s: `item${i}`, a: [i, i + 1, i + 2] });
        if (keep.length > 40_000) keep = [];
      }
      const c = process.cpuUsage(c0);
      return { wall: Number(process.hrtime.bigint() - t) / 1e6, cpu: (c.user + c.system) / 1e3, sink: keep.length };
    },
  },
  'setImmediate storm': {
    unit: 'ns/hop',
    run() {
      const hops = quick ? 30_000 : 200_000;
      return new Promise((resolve) => {
        let i = 0;
        const t = process.hrtime.bigint();
        const c0 = process.cpuUsage();
        const hop = () => {
          if (++i < hops) return setImmediate(hop);
          const c = process.cpuUsage(c0);
          resolve({ wall: Number(process.hrtime.bigint() - t) / hops, cpu: ((c.user + c.system) * 1e3) / hops });
        };
        setImmediate(hop);
      });
    },
  },
};

async function childOnOff(contender, workload, pairs) {
  const c = CONTENDERS[contender]();
  if (!c.off) return skip('cannot be switched off in one process: fresh processes only');
  const w = WORKLOADS[workload];
  for (let i = 0; i < 3; i++) await w.run(); // warm up the workload
  c.on();
  await w.run();
  c.off();
  const on = [];
  const off = [];
  const phase = async (enabled) => {
    global.gc(); // every phase starts from the same heap (untimed)
    if (enabled) c.on();
    const r = await w.run();
    if (enabled) c.off();
    (enabled ? on : off).push(r.wall);
  };
  for (let p = 0; p < pairs; p++) {
    if (p % 2) {
      await phase(true);
      await phase(false);
    } else {
      await phase(false);
      await phase(true);
    }
  }
  const ratios = on.map((v, i) => v / off[i]);
  const info = c.info ? c.info() : {};
  console.log('RESULT ' + JSON.stringify({ ratios, on, off, info }));
  process.exit(0); // some contenders keep handles (timers, observers)
}

async function childFresh(contender, workload, reps) {
  const c = CONTENDERS[contender]();
  const w = WORKLOADS[workload];
  c.on();
  for (let i = 0; i < 3; i++) await w.run();
  const wall = [];
  const cpu = [];
  for (let i = 0; i < reps; i++) {
    global.gc();
    const r = await w.run();
    wall.push(r.wall);
    cpu.push(r.cpu);
  }
  console.log('RESULT ' + JSON.stringify({ wall: median(wall), cpu: median(cpu) }));
  process.exit(0);
}

function skip(reason) {
  console.log('RESULT ' + JSON.stringify({ skipped: reason }));
  process.exit(0);
}

async function main() {
  if (args[0] === '--child') {
    const [, mode, contender, workload, count] = args;
    try {
      if (mode === 'onoff') return await childOnOff(contender, workload, Number(count));
      return await childFresh(contender, workload, Number(count));
    } catch (e) {
      if (String(e.message).startsWith('skipped: ')) return skip(e.message.slice(9));
      throw e;
    }
  }
  const onlyArg = args.indexOf('--only');
  const only = onlyArg >= 0 ? args[onlyArg + 1] : null;
  const names = Object.keys(CONTENDERS).filter((n) => !only || n === 'none' || n.includes(only));
  const pairs = quick ? 3 : 20;
  const freshRuns = quick ? 1 : 5;
  const reps = quick ? 3 : 7;
  const rows = [];
  let md = `## Overhead (\`node bench/overhead.mjs${quick ? ' --quick' : ''}\`)\n\n`;
  md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. `;
  md += `Each contender with its periodic collection (a read/scrape/export every second). **In one process**: ${pairs} alternating on/off pairs of phases, median of the per-pair on/off ratios (min–max). **Fresh processes**: ${freshRuns} per contender, alternating, each the median of ${reps} phases after warm-up; ratio of medians against \`none\`.\n\n`;

  for (const workload of Object.keys(WORKLOADS)) {
    const unit = WORKLOADS[workload].unit;
    progress(`${workload}: in-process on/off`);
    const onoff = {};
    for (const name of names.filter((n) => n !== 'none')) {
      const r = runChild(self, 'onoff', [name, workload, String(pairs)], ['--expose-gc']);
      onoff[name] = r;
      if (r.skipped) r.error = `skipped: ${r.skipped}`;
      progress(r.error ? `  ${name}: ${r.error}` : `  ${name}: on/off median ${fmt(median(r.ratios), 3)} (${fmt(Math.min(...r.ratios), 3)}–${fmt(Math.max(...r.ratios), 3)})`);
    }
    progress(`${workload}: fresh processes`);
    const fresh = Object.fromEntries(names.map((n) => [n, { wall: [], cpu: [], error: null }]));
    for (let run = 0; run < freshRuns; run++) {
      const order = run % 2 ? [...names].reverse() : names;
      for (const name of order) {
        const r = runChild(self, 'fresh', [name, workload, String(reps)], ['--expose-gc']);
        if (r.skipped) r.error = `skipped: ${r.skipped}`;
        if (r.error) {
          fresh[name].error = r.error;
          continue;
        }
        fresh[name].wall.push(r.wall);
        fresh[name].cpu.push(r.cpu);
        progress(`  run ${run + 1}/${freshRuns} ${name}: ${fmt(r.wall, 2)} ${unit}`);
      }
    }
    const base = fresh.none.wall.length ? median(fresh.none.wall) : NaN;
    const baseCpu = fresh.none.cpu.length ? median(fresh.none.cpu) : NaN;
    md += `### ${workload}\n\n| contender | on/off in one process: median (min–max) | fresh: median ${unit} (min–max) | fresh: × none | fresh CPU × none |\n|---|---:|---:|---:|---:|\n`;
    for (const name of names) {
      const o = onoff[name];
      const f = fresh[name];
      let oo = name === 'none' ? '—' : o?.error ? o.error : `${fmt(median(o.ratios), 3)} (${fmt(Math.min(...o.ratios), 3)}–${fmt(Math.max(...o.ratios), 3)})`;
      if (o?.info?.loopClock) oo += ` [loop clock: ${o.info.loopClock}]`;
      const fs = f.wall.length ? stats(f.wall) : null;
      md += `| ${name} | ${oo} | ${fs ? `${fmt(fs.median, 2)} (${fmt(fs.min, 2)}–${fmt(fs.max, 2)})` : f.error} | ${fs ? fmt(fs.median / base, 3) : ''} | ${f.cpu.length ? fmt(median(f.cpu) / baseCpu, 3) : ''} |\n`;
      rows.push({
        scenario: `overhead/${workload}`, contender: name, unit,
        onOff: o && !o.error ? { runs: o.ratios.length, median: median(o.ratios), min: Math.min(...o.ratios), max: Math.max(...o.ratios), unit: 'ratio on/off' } : undefined,
        ...(fs ?? { skipped: f.error }),
        ratio: fs ? fs.median / base : undefined,
        cpuRatio: f.cpu.length ? median(f.cpu) / baseCpu : undefined,
        loopClock: o?.info?.loopClock,
      });
    }
    md += '\n';
  }
  console.log(md);
  if (!quick) {
    const file = writeNdjson(rows);
    updateResultsMd('overhead', md);
    progress(`results appended to ${file}`);
  }
}

await main();
