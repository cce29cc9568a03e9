#!/usr/bin/env node
// Overhead of each contender on two workloads: a GC-heavy allocation churn and a
// setImmediate storm (loop-heavy).
//
// Two methods, both reported:
//  - in one process, the contender switched on and off in many short phases, in triples
//    (on, off, and off again as an A/A control) whose order rotates so drift favours no
//    side: the median of the per-triple on/off ratios with p10–p90, beside the A/A median
//    (the machine's noise floor) — robust to a noisy, shared machine;
//  - fresh processes, alternating between contenders, each running the workload with the
//    contender on from the start (the only method for a contender that cannot be switched
//    off, such as prom-client's default metrics): medians and ratios against 'none'.
// Every contender runs as a real user would run it, including its periodic collection
// (a read/scrape/export every second).
//   node bench/overhead.mjs [--quick] [--only <contender substring>]
import { fileURLToPath } from 'node:url';
import { CONTENDERS } from './contenders.mjs';
import { WORKLOADS } from './workloads.mjs';
import { fmt, machine, median, progress, quantile, report, rotatingTriples, runChild, stats } from './harness.mjs';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');

async function childOnOff(contender, workload, triples) {
  const c = CONTENDERS[contender]();
  if (!c.off) return skip('cannot be switched off in one process: fresh processes only');
  const w = WORKLOADS[workload];
  for (let i = 0; i < 5; i++) await w.run(); // warm up the workload
  c.on();
  for (let i = 0; i < 5; i++) await w.run(); // and the contender
  c.off();
  const res = await rotatingTriples(triples, async (kind) => {
    global.gc(); // every phase starts from the same heap (untimed)
    if (kind === 'on') c.on();
    // The same settling time for every phase after the GC and the switch (concurrent
    // sweeping finishes), so that switching on does not hand 'on' phases a cleaner heap.
    await new Promise((r) => setTimeout(r, 5));
    const r = await w.run();
    if (kind === 'on') c.off();
    return r.wall;
  });
  const ratios = res.on.map((v, i) => v / res.off[i]);
  const control = res.control.map((v, i) => v / res.off[i]);
  const info = c.info ? c.info() : {};
  console.log('RESULT ' + JSON.stringify({ ratios, control, info }));
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
    await new Promise((r) => setTimeout(r, 5));
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
  const pairs = quick ? 6 : 150;
  const freshRuns = quick ? 1 : 5;
  const reps = quick ? 5 : 60;
  const rows = [];
  let md = `## Overhead (\`node bench/overhead.mjs${quick ? ' --quick' : ''}\`)\n\n`;
  md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. `;
  md += `Each contender with its periodic collection (a read/scrape/export every second). **In one process**: ${pairs} triples of short phases (each after an untimed full GC) in rotating order — contender on, off, and off again as an A/A control that shows the noise floor; median of the per-triple on/off ratios (p10–p90), and the A/A median. Phases are ~20 ms, so the contenders' once-a-second collection rarely falls inside one: that cost is in the fresh-process numbers. **Fresh processes**: ${freshRuns} per contender, alternating, each the median of ${reps} phases after warm-up, contender on throughout; ratio of medians against \`none\`.\n\n`;

  for (const workload of Object.keys(WORKLOADS)) {
    const unit = WORKLOADS[workload].unit;
    progress(`${workload}: in-process on/off`);
    const onoff = {};
    for (const name of names.filter((n) => n !== 'none')) {
      const r = runChild(self, 'onoff', [name, workload, String(pairs)], ['--expose-gc']);
      onoff[name] = r;
      if (r.skipped) r.error = `skipped: ${r.skipped}`;
      progress(r.error ? `  ${name}: ${r.error}` : `  ${name}: on/off median ${fmt(median(r.ratios), 3)} (p10–p90 ${fmt(quantile(r.ratios, 0.1), 3)}–${fmt(quantile(r.ratios, 0.9), 3)}), A/A control ${fmt(median(r.control), 3)}`);
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
    md += `### ${workload}\n\n| contender | on/off in one process: median (p10–p90); A/A | fresh: median ${unit} (min–max) | fresh: × none | fresh CPU × none |\n|---|---:|---:|---:|---:|\n`;
    for (const name of names) {
      const o = onoff[name];
      const f = fresh[name];
      let oo = name === 'none' ? '—' : o?.error ? o.error : `${fmt(median(o.ratios), 3)} (${fmt(quantile(o.ratios, 0.1), 3)}–${fmt(quantile(o.ratios, 0.9), 3)}); A/A ${fmt(median(o.control), 3)}`;
      if (o?.info?.loopClock) oo += ` [loop clock: ${o.info.loopClock}]`;
      const fs = f.wall.length ? stats(f.wall) : null;
      md += `| ${name} | ${oo} | ${fs ? `${fmt(fs.median, 2)} (${fmt(fs.min, 2)}–${fmt(fs.max, 2)})` : f.error} | ${fs ? fmt(fs.median / base, 3) : ''} | ${f.cpu.length ? fmt(median(f.cpu) / baseCpu, 3) : ''} |\n`;
      rows.push({
        scenario: `overhead/${workload}`, contender: name, unit,
        onOff: o && !o.error ? { runs: o.ratios.length, median: median(o.ratios), min: quantile(o.ratios, 0.1), max: quantile(o.ratios, 0.9), spread: 'p10–p90', controlMedian: median(o.control), unit: 'ratio on/off' } : undefined,
        ...(fs ?? { skipped: f.error }),
        ratio: fs ? fs.median / base : undefined,
        cpuRatio: f.cpu.length ? median(f.cpu) / baseCpu : undefined,
        loopClock: o?.info?.loopClock,
      });
    }
    md += '\n';
  }
  report('overhead', md, rows, quick);
}

await main();
