#!/usr/bin/env node
// An HTTP server (node:http, a small JSON response with a little work per request) under
// load from wrk (Debian package) on 127.0.0.1: requests/s, CPU per request and p99 latency
// with each contender. In one process: under one continuous wrk run, the server switches
// the contender on and off itself in short phases (blocks of on/off/off/on), counting
// requests and CPU per phase. Fresh processes: one server per contender, alternating,
// a warm-up and one timed wrk run each (the only method for prom-client, which cannot be
// switched off), with wrk's p99.
//   node bench/http.mjs [--quick] [--only <contender substring>]
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { CONTENDERS } from './contenders.mjs';
import { fmt, machine, median, progress, report } from './harness.mjs';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');

// ---- server child ----
function handler(req, res) {
  const body = JSON.stringify({ path: req.url, t: Date.now(), items: [1, 2, 3].map((i) => ({ i, s: `x${i}` })) });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function serve(name) {
  let c;
  try {
    c = CONTENDERS[name]();
  } catch (e) {
    process.send({ skipped: String(e.message).replace(/^skipped: /, '') });
    return;
  }
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    handler(req, res);
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port, switchable: !!c.off }));
  process.on('message', (m) => {
    if (m === 'on') c.on();
    else if (m === 'off') c.off();
    else if (m === 'exit') process.exit(0);
    else if (m && m.toggle) {
      // Under continuous load, switch the contender itself in phases of m.phaseMs, in
      // blocks of on/off/off/on, and count requests and CPU time per phase.
      const phases = [];
      const pattern = [true, false, false, true];
      let i = 0;
      let r0 = requests;
      let c0 = process.cpuUsage();
      let t0 = process.hrtime.bigint();
      // Loop iterations in the on phases (where the contender counts them), for the hook's
      // cost per request: iterations per request × its cost per iteration.
      let it0 = 0;
      const step = () => {
        const dt = Number(process.hrtime.bigint() - t0) / 1e9;
        const cpu = process.cpuUsage(c0);
        const n = Math.max(1, requests - r0);
        const wasOn = i > 0 && pattern[(i - 1) % 4];
        const iterations = wasOn && c.info ? c.info().iterations : undefined;
        if (i > 0) phases.push({ on: wasOn, rps: (requests - r0) / dt, cpuPerReq: (cpu.user + cpu.system) / n, itersPerReq: iterations === undefined ? undefined : (iterations - it0) / n });
        if (wasOn) c.off();
        if (i === m.phases) {
          process.send({ phases });
          return;
        }
        if (pattern[i % 4]) {
          c.on();
          if (c.info) it0 = c.info().iterations;
        }
        i++;
        r0 = requests;
        c0 = process.cpuUsage();
        t0 = process.hrtime.bigint();
        setTimeout(step, m.phaseMs);
      };
      step();
      return;
    }
    process.send({ ack: m });
  });
}

// ---- parent ----
function wrk(port, seconds) {
  const r = spawnSync('wrk', ['-t1', '-c32', `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  if (r.error) throw new Error(`skipped: wrk is not installed (apt-get install wrk)`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const p99m = /\s99%\s+([\d.]+)(us|ms|s)\b/.exec(r.stdout);
  const scale = { us: 1e-3, ms: 1, s: 1e3 };
  const p99 = p99m ? Number(p99m[1]) * scale[p99m[2]] : NaN;
  if (!Number.isFinite(rps)) throw new Error(`wrk output not understood: ${r.stdout} ${r.stderr}`);
  return { rps, p99 };
}

function startServer(name) {
  const child = spawn(process.execPath, [self, '--serve', name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise((resolve) => child.once('message', resolve));
  return { child, next, send: async (m) => { child.send(m); return next(); } };
}

async function onOff(name, blocks, phaseMs) {
  const srv = startServer(name);
  const hello = await srv.next();
  if (hello.skipped) {
    srv.child.kill();
    return { skipped: hello.skipped };
  }
  if (!hello.switchable) {
    srv.child.send('exit');
    return { skipped: 'cannot be switched off in one process: fresh processes only' };
  }
  wrk(hello.port, 1); // warm up
  const phases = blocks * 4;
  const seconds = Math.ceil((phases * phaseMs) / 1000) + 2;
  const done = srv.next();
  srv.child.send({ toggle: true, phases, phaseMs });
  // Continuous load while the server switches the contender: no connection setup inside
  // a phase, and both sides of a block see the same clients.
  const load = new Promise((resolve) => {
    const w = spawn('wrk', ['-t1', '-c32', `-d${seconds}s`, `http://127.0.0.1:${hello.port}/`], { stdio: 'ignore' });
    w.on('exit', resolve);
  });
  const { phases: got } = await done;
  await load;
  srv.child.send('exit');
  // Per block (on, off, off, on): mean of its on phases over mean of its off phases.
  const rpsRatios = [];
  const cpuRatios = [];
  for (let b = 0; b + 4 <= got.length; b += 4) {
    const blk = got.slice(b, b + 4);
    const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
    const on = blk.filter((x) => x.on);
    const off = blk.filter((x) => !x.on);
    rpsRatios.push(mean(on.map((x) => x.rps)) / mean(off.map((x) => x.rps)));
    cpuRatios.push(mean(on.map((x) => x.cpuPerReq)) / mean(off.map((x) => x.cpuPerReq)));
  }
  progress(`  ${name}: ${rpsRatios.length} blocks, req/s on/off median ${fmt(median(rpsRatios), 3)}, CPU/request on/off median ${fmt(median(cpuRatios), 3)}`);
  const iters = got.filter((x) => x.on && x.itersPerReq !== undefined).map((x) => x.itersPerReq);
  const cpuUsPerRequest = median(got.filter((x) => !x.on).map((x) => x.cpuPerReq));
  return { rpsRatios, cpuRatios, cpuUsPerRequest, iterationsPerRequest: iters.length ? median(iters) : undefined };
}

async function fresh(name, seconds) {
  const srv = startServer(name);
  const hello = await srv.next();
  if (hello.skipped) {
    srv.child.kill();
    return { skipped: hello.skipped };
  }
  await srv.send('on');
  wrk(hello.port, 1); // warm up
  const r = wrk(hello.port, seconds);
  srv.child.send('exit');
  return r;
}

async function main() {
  if (args[0] === '--serve') return serve(args[1]);
  try {
    wrk(1, 1);
  } catch (e) {
    if (String(e.message).startsWith('skipped')) {
      console.log(`## HTTP under load (\`node bench/http.mjs\`)\n\n${e.message}\n`);
      return;
    }
  }
  // Short phases and many blocks: this machine's noise drifts over seconds, so short
  // on/off/off/on blocks cancel more of it, and the median of many blocks is tighter.
  const blocks = Number(process.env.RS_PAIRS) || (quick ? 2 : 100);
  const phaseMs = Number(process.env.RS_PHASE_MS) || 100;
  const seconds = quick ? 1 : 3;
  const freshRuns = Number(process.env.RS_FRESH) || (quick ? 1 : 3);
  const onlyArg = args.indexOf('--only');
  const only = onlyArg >= 0 ? args[onlyArg + 1] : null;
  const names = Object.keys(CONTENDERS).filter((n) => !only || n === 'none' || n.includes(only));
  const rows = [];
  let md = `## HTTP under load (\`node bench/http.mjs${quick ? ' --quick' : ''}\`)\n\n`;
  md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. node:http server (small JSON responses) in one process, \`wrk -t1 -c32 --latency\` on 127.0.0.1. **In one process**: under continuous load, the server switches the contender itself in ${blocks} blocks of four ${phaseMs} ms phases (on, off, off, on); per block, on over off for requests/s and for CPU time per request; medians (min–max). **Fresh processes**: ${freshRuns} server processes per contender, alternating, one ${seconds} s phase each after a 1 s warm-up.\n\n`;
  md += 'The `none` row of the in-process columns switches nothing: it is the A/A control, the noise floor of this machine.\n\n';
  md += '| contender | in one process: req/s on/off (min–max) | in one process: CPU per request on/off (min–max) | fresh: req/s | fresh: × none | fresh: p99 ms |\n|---|---:|---:|---:|---:|---:|\n';
  const freshRes = Object.fromEntries(names.map((n) => [n, []]));
  for (let run = 0; run < freshRuns; run++) {
    for (const name of run % 2 ? [...names].reverse() : names) {
      const r = await fresh(name, seconds);
      freshRes[name].push(r);
      progress(r.skipped ? `  fresh ${name}: skipped: ${r.skipped}` : `  fresh ${run + 1}/${freshRuns} ${name}: ${fmt(r.rps, 0)} req/s, p99 ${fmt(r.p99, 2)} ms`);
    }
  }
  const ok = (xs) => xs.filter((x) => !x.skipped);
  const baseRps = median(ok(freshRes.none).map((x) => x.rps));
  for (const name of names) {
    // For 'none' the switch does nothing: its ratios are the A/A control (the noise floor).
    const oo = await onOff(name, blocks, phaseMs);
    const f = ok(freshRes[name]);
    const fRps = f.length ? median(f.map((x) => x.rps)) : NaN;
    const fP99 = f.length ? median(f.map((x) => x.p99)) : NaN;
    const cell = (xs) => `${fmt(median(xs), 3)} (${fmt(Math.min(...xs), 3)}–${fmt(Math.max(...xs), 3)})`;
    const ooCell = !oo ? '—' : oo.skipped ? `skipped: ${oo.skipped}` : cell(oo.rpsRatios);
    const ooCpu = !oo || oo.skipped ? '' : cell(oo.cpuRatios);
    md += `| ${name} | ${ooCell} | ${ooCpu} | ${f.length ? fmt(fRps, 0) : `skipped: ${freshRes[name][0]?.skipped}`} | ${f.length ? fmt(fRps / baseRps, 3) : ''} | ${f.length ? fmt(fP99, 2) : ''} |\n`;
    rows.push({
      scenario: 'http', contender: name, unit: 'req/s',
      onOff: oo && !oo.skipped ? { runs: oo.rpsRatios.length, median: median(oo.rpsRatios), min: Math.min(...oo.rpsRatios), max: Math.max(...oo.rpsRatios), cpuPerRequestMedian: median(oo.cpuRatios), unit: 'ratio on/off', cpuUsPerRequest: oo.cpuUsPerRequest, iterationsPerRequest: oo.iterationsPerRequest } : undefined,
      runs: f.length, median: fRps, min: f.length ? Math.min(...f.map((x) => x.rps)) : undefined, max: f.length ? Math.max(...f.map((x) => x.rps)) : undefined,
      ratio: fRps / baseRps, p99Ms: fP99,
    });
  }
  const rs = rows.find((r) => r.contender === 'runtime-sampler')?.onOff;
  if (rs?.iterationsPerRequest !== undefined) {
    md += `\nWith runtime-sampler on, the server ran ${fmt(rs.iterationsPerRequest, 3)} loop iterations per request and used ${fmt(rs.cpuUsPerRequest, 1)} µs of CPU per request (off phases): the loop hook's cost per request is its cost per iteration (\`bench/loop-overhead.mjs\`) times ${fmt(rs.iterationsPerRequest, 3)}.\n`;
  }
  report('http', md, rows, quick);
}

await main();
