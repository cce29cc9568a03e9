#!/usr/bin/env node
// Published blocks: what reading another process's sampler costs, and what publishing
// costs the process that publishes.
//  (a) read(into), in one process, every contender timed once per round in rotating order:
//      a local (unpublished) sampler — twice, the second time as an A/A control —, the
//      owner of a published block, a PublishedView of another process (one under load, one
//      idle), a SamplerView over share() in this process, and the two copies that bound
//      them: the main region out of a plain ArrayBuffer and out of a SharedArrayBuffer.
//      Median ns/op over rounds (p10–p90) and the median of per-round ratios to the local
//      read.
//  (b) overhead on the GC-heavy and setImmediate-storm workloads (bench/workloads.mjs): a
//      published sampler against an unpublished one with the same ring, in one process,
//      triples of phases in rotating order — published, unpublished, and unpublished again
//      as the A/A control — each phase after an untimed full GC.
//  (c) the file: its size with the default options and for the preload's sampler, and how
//      many fit in Docker's default 64 MB /dev/shm.
// Files go to a fresh directory in /dev/shm (tmpfs, where the default directory is),
// removed at the end.
//   node bench/published.mjs [--quick]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDir, fmt, machine, median, progress, quantile, report, rotatingTriples, runChild } from './harness.mjs';
import { WORKLOADS } from './workloads.mjs';

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const root = join(benchDir, '..');

function freshDir() {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'rs-bench-'));
}

// ---- children ------------------------------------------------------------------------

/** `--publisher <dir> busy|idle`: publishes; busy ones churn garbage every 5 ms; prints READY <path>; ends when stdin closes. */
function publisher(dir, mode) {
  const { Sampler } = require(root);
  const s = new Sampler({ publish: { dir } }).start();
  let keep = [];
  const churn = () => {
    for (let i = 0; i < 20000; i++) {
      keep.push({ i, a: [i] });
      if (keep.length > 5000) keep = [];
    }
  };
  const timer = mode === 'busy' ? setInterval(churn, 5) : setInterval(() => {}, 1000);
  setTimeout(() => console.log(`READY ${s.publishedPath}`), 200);
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => {
    clearInterval(timer);
    s.close();
  });
}

function startPublisher(dir, mode) {
  const child = spawn(process.execPath, [self, '--publisher', dir, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /^READY (.*)$/m.exec(buf);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`publisher exited (${code}): ${buf}`)));
  });
  return { child, ready, stop: () => new Promise((r) => { child.once('exit', r); child.stdin.end(); }) };
}

/** `--read <rounds>`: (a); prints RESULT { rows, batch, slots }. */
async function readCost(rounds) {
  const { Sampler } = require(root);
  const dir = freshDir();
  const busy = startPublisher(join(dir, 'busy'), 'busy');
  const idle = startPublisher(join(dir, 'idle'), 'idle');
  try {
    const local = new Sampler().start();
    const owner = new Sampler({ publish: { dir: join(dir, 'own') } }).start();
    const busyView = Sampler.open(await busy.ready);
    const idleView = Sampler.open(await idle.ready);
    const attached = Sampler.attach(local.share());
    // Each round reads into fresh snapshots (and copies into fresh arrays): where a
    // destination lies changes a 40 ns copy by up to ±10%, which one allocation per
    // contender would turn into a fixed difference between contenders.
    const slots = local.read().slots.length;
    const plain = new Float64Array(slots).fill(1);
    const shared = new Float64Array(new SharedArrayBuffer(slots * 8)).fill(1);
    const reader = (s) => {
      let snap = s.read();
      return { prepare: () => { snap = s.read(); }, op: () => s.read(snap) };
    };
    const copier = (src) => {
      let dst = new Float64Array(slots);
      return { prepare: () => { dst = new Float64Array(slots); }, op: () => dst.set(src) };
    };
    const contenders = {
      'local read(into)': reader(local),
      'local read(into), again (A/A control)': reader(local),
      'owner of a published block, read(into)': reader(owner),
      'PublishedView of another process (busy writer), read(into)': reader(busyView),
      'PublishedView of another process (idle writer), read(into)': reader(idleView),
      'SamplerView over share() in this process, read(into)': reader(attached),
      [`floor: copy ${slots} doubles out of an ArrayBuffer`]: copier(plain),
      [`floor: copy ${slots} doubles out of a SharedArrayBuffer`]: copier(shared),
    };
    const names = Object.keys(contenders);
    // One batch of the local read takes ~2 ms (~1 ms quick); every contender runs as many.
    const { op } = contenders['local read(into)'];
    let batch = 1000;
    for (;;) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) op();
      const ns = Number(process.hrtime.bigint() - t);
      if (ns > 5e5) {
        batch = Math.max(100, Math.round((batch * (quick ? 1e6 : 2e6)) / ns));
        break;
      }
      batch *= 4;
    }
    const time = ({ op: fn }) => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) fn();
      return Number(process.hrtime.bigint() - t) / batch;
    };
    for (const n of names) for (let w = 0; w < 20; w++) time(contenders[n]); // warm up
    const ns = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      for (const n of names) contenders[n].prepare();
      for (let k = 0; k < names.length; k++) {
        const n = names[(k + r) % names.length];
        ns[n].push(time(contenders[n]));
      }
      // Let the loop turn between rounds, as it would between reads in a service (the
      // local sampler records the iteration; timers run).
      await new Promise((res) => setImmediate(res));
    }
    const base = ns['local read(into)'];
    const rows = names.map((n) => {
      const ratios = ns[n].map((v, i) => v / base[i]);
      return {
        contender: n, unit: 'ns/op', runs: rounds, median: median(ns[n]), min: quantile(ns[n], 0.1), max: quantile(ns[n], 0.9), spread: 'p10–p90',
        ratioVsLocal: median(ratios), ratioP10: quantile(ratios, 0.1), ratioP90: quantile(ratios, 0.9),
      };
    });
    const torn = busyView.tornRegions.length + idleView.tornRegions.length;
    console.log(`RESULT ${JSON.stringify({ rows, batch, slots, torn })}`);
  } finally {
    await Promise.all([busy.stop(), idle.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

/** `--overhead <workload> <triples>`: (b); prints RESULT { ratios, control, on, off, fileBytes, allocatedBytes }. */
async function overhead(workload, triples) {
  const { Sampler } = require(root);
  const dir = freshDir();
  try {
    const w = WORKLOADS[workload];
    const pub = new Sampler({ publish: { dir: join(dir, 'pubs') } });
    if (pub.publishedPath === null) throw new Error(`could not publish in ${dir}`);
    // The same ring as the published one (1024 events): only where the block lives differs.
    const plain = new Sampler({ ringCapacity: pub.layout.ringCapacity });
    const st = statSync(pub.publishedPath);
    const fileBytes = st.size;
    const allocatedBytes = st.blocks * 512;
    for (let i = 0; i < 5; i++) await w.run();
    for (const s of [pub, plain]) {
      s.start();
      for (let i = 0; i < 5; i++) await w.run();
      s.stop();
    }
    const snaps = new Map([[pub, pub.read()], [plain, plain.read()]]);
    const res = await rotatingTriples(triples, async (kind) => {
      global.gc();
      const s = kind === 'on' ? pub : plain;
      s.start();
      // As a service runs it: read every second (a 20 ms phase rarely holds one).
      const reads = setInterval(() => s.read(snaps.get(s)), 1000);
      await new Promise((r) => setTimeout(r, 5));
      const r = await w.run();
      clearInterval(reads);
      s.stop();
      return r.wall;
    });
    pub.close();
    plain.close();
    console.log(`RESULT ${JSON.stringify({
      ratios: res.on.map((v, i) => v / res.off[i]), control: res.control.map((v, i) => v / res.off[i]),
      on: median(res.on), off: median(res.off), fileBytes, allocatedBytes,
    })}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

/** The preload's published file: its size and the bytes it takes (blocks), from a real preload. */
function preloadFile() {
  const dir = freshDir();
  try {
    const r = spawnSync(process.execPath, ['-r', 'runtime-sampler/register', '-e', `
      const { statSync } = require('node:fs');
      const s = require('runtime-sampler').registered().sampler;
      const st = statSync(s.publishedPath);
      console.log('RESULT ' + JSON.stringify({ fileBytes: st.size, allocatedBytes: st.blocks * 512, ringCapacity: s.layout.ringCapacity, watchdog: s.options.watchdog !== false }));
    `], { cwd: root, encoding: 'utf8', env: { ...process.env, RUNTIME_SAMPLER_DIR: join(dir, 'pubs'), RUNTIME_SAMPLER_PORT: '0' } });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) return { error: `exit ${r.status}: ${r.stderr.trim()}` };
    return JSON.parse(line.slice(7));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- main ----------------------------------------------------------------------------

async function main() {
  if (args[0] === '--publisher') return publisher(args[1], args[2]);
  if (args[0] === '--child') {
    const [, mode, a, b] = args;
    if (mode === 'read') return readCost(Number(a));
    return overhead(a, Number(b));
  }
  const rounds = quick ? 20 : 300;
  const triples = quick ? 6 : 150;
  const rows = [];
  const DOCKER_SHM = 64 * 2 ** 20;

  progress('read(into): local, published, cross-process (alternating in one process)');
  const rc = runChild(self, 'read', [String(rounds)]);
  if (rc.error) throw new Error(`read cost: ${rc.error}`);
  for (const r of rc.rows) progress(`  ${r.contender}: ${fmt(r.median)} ns/op (p10–p90 ${fmt(r.min)}–${fmt(r.max)}), × local ${fmt(r.ratioVsLocal, 2)}`);

  const oh = {};
  for (const workload of Object.keys(WORKLOADS)) {
    progress(`${workload}: published vs unpublished sampler, ${triples} triples in one process`);
    const r = runChild(self, 'overhead', [workload, String(triples)], ['--expose-gc']);
    if (r.error) throw new Error(`${workload}: ${r.error}`);
    oh[workload] = r;
    progress(`  published/unpublished median ${fmt(median(r.ratios), 3)} (p10–p90 ${fmt(quantile(r.ratios, 0.1), 3)}–${fmt(quantile(r.ratios, 0.9), 3)}), A/A control ${fmt(median(r.control), 3)}`);
  }
  const lib = oh['gc-heavy'];
  const pre = preloadFile();
  if (pre.error) throw new Error(`preload: ${pre.error}`);

  const date = new Date().toISOString().slice(0, 10);
  let md = `## Published blocks (\`node bench/published.mjs${quick ? ' --quick' : ''}\`)\n\n`;
  md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${date}. Files in a fresh directory of /dev/shm (tmpfs).\n\n`;
  md += `### read(into): local vs another process\n\nIn one process, ${rounds} rounds; each round times a batch of ${rc.batch} calls of every contender, in rotating order; median ns/op over rounds (p10–p90) and the median of the per-round ratios to the local read (p10–p90). Every round reads into fresh snapshots. The busy writer churns garbage every 5 ms (its block changes under the reader); the idle one turns its loop once a second. The main region is ${rc.slots} doubles.\n\n`;
  md += '| contender | median ns/op (p10–p90) | × local read(into) (p10–p90) |\n|---|---:|---:|\n';
  for (const r of rc.rows) {
    md += `| ${r.contender} | ${fmt(r.median)} (${fmt(r.min)}–${fmt(r.max)}) | ${fmt(r.ratioVsLocal, 2)} (${fmt(r.ratioP10, 2)}–${fmt(r.ratioP90, 2)}) |\n`;
    rows.push({ scenario: 'published/read', ...r });
  }
  md += `\n### Publishing overhead: published vs unpublished sampler\n\nIn one process, ${triples} triples of phases in rotating order — the published sampler running, the unpublished one (same ring) running, and the unpublished one again as the A/A control — each after an untimed full GC, each sampler reading itself every second as a service would; median of the per-triple ratios (p10–p90).\n\n`;
  md += '| workload | published ms or ns | unpublished | published / unpublished (p10–p90) | A/A control (p10–p90) |\n|---|---:|---:|---:|---:|\n';
  for (const [workload, r] of Object.entries(oh)) {
    const row = {
      scenario: 'published/overhead', contender: workload, unit: 'ratio published/unpublished', runs: r.ratios.length,
      median: median(r.ratios), min: quantile(r.ratios, 0.1), max: quantile(r.ratios, 0.9), spread: 'p10–p90',
      controlMedian: median(r.control), controlP10: quantile(r.control, 0.1), controlP90: quantile(r.control, 0.9),
      onMedian: r.on, offMedian: r.off, phaseUnit: WORKLOADS[workload].unit,
    };
    rows.push(row);
    md += `| ${workload} | ${fmt(r.on, 2)} ${WORKLOADS[workload].unit} | ${fmt(r.off, 2)} | ${fmt(row.median, 3)} (${fmt(row.min, 3)}–${fmt(row.max, 3)}) | ${fmt(row.controlMedian, 3)} (${fmt(row.controlP10, 3)}–${fmt(row.controlP90, 3)}) |\n`;
  }
  const files = [
    ['new Sampler({ publish: true })', lib.fileBytes, lib.allocatedBytes],
    [`the preload's sampler (ring ${pre.ringCapacity}, watchdog ${pre.watchdog ? 'on' : 'off'})`, pre.fileBytes, pre.allocatedBytes],
  ];
  md += '\n### The file\n\n| sampler | file bytes | bytes taken (blocks) | files in 64 MiB |\n|---|---:|---:|---:|\n';
  for (const [what, bytes, taken] of files) {
    md += `| ${what} | ${bytes.toLocaleString('en')} | ${taken.toLocaleString('en')} | ${Math.floor(DOCKER_SHM / taken)} |\n`;
    rows.push({ scenario: 'published/file', contender: what, fileBytes: bytes, allocatedBytes: taken, filesIn64MiB: Math.floor(DOCKER_SHM / taken) });
  }
  report('published', md, rows, quick);
}

await main();
