#!/usr/bin/env node
// An HTTP server (node:http, a small JSON response with a little work per request) under
// load from wrk (Debian package) on 127.0.0.1: requests/s and p99 latency with each
// contender. The server runs in a child process; between load phases the parent switches
// the contender on and off over IPC (alternating order), so on/off pairs share one
// process; a contender that cannot be switched off (prom-client) is measured in fresh
// server processes against 'none'.
//   node bench/http.mjs [--quick]
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { CONTENDERS } from './contenders.mjs';
import { fmt, machine, median, progress, report } from './harness.mjs';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');

// ---- server child ----
async function serve(name) {
  let c;
  try {
    c = CONTENDERS[name]();
  } catch (e) {
    process.send({ skipped: String(e.message).replace(/^skipped: /, '') });
    return;
  }
  const server = createServer((req, res) => {
    const body = JSON.stringify({ path: req.url, t: Date.now(), items: [1, 2, 3].map((i) => ({ i, s: `x${i}` })) });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port, switchable: !!c.off }));
  process.on('message', (m) => {
    if (m === 'on') c.on();
    else if (m === 'off') c.off();
    else if (m === 'exit') process.exit(0);
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

async function onOff(name, pairs, seconds) {
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
  const on = [];
  const off = [];
  for (let p = 0; p < pairs; p++) {
    for (const enabled of p % 2 ? [true, false] : [false, true]) {
      if (enabled) await srv.send('on');
      (enabled ? on : off).push(wrk(hello.port, seconds));
      if (enabled) await srv.send('off');
    }
    progress(`  ${name} pair ${p + 1}/${pairs}: on ${fmt(on[p].rps, 0)} req/s, off ${fmt(off[p].rps, 0)} req/s`);
  }
  srv.child.send('exit');
  return {
    rpsRatios: on.map((x, i) => x.rps / off[i].rps),
    p99Ratios: on.map((x, i) => x.p99 / off[i].p99),
    onRps: median(on.map((x) => x.rps)),
    offRps: median(off.map((x) => x.rps)),
    onP99: median(on.map((x) => x.p99)),
    offP99: median(off.map((x) => x.p99)),
  };
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
  const pairs = quick ? 1 : 6;
  const seconds = quick ? 1 : 3;
  const freshRuns = quick ? 1 : 3;
  const names = Object.keys(CONTENDERS);
  const rows = [];
  let md = `## HTTP under load (\`node bench/http.mjs${quick ? ' --quick' : ''}\`)\n\n`;
  md += `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}. node:http server (small JSON responses) in one process, \`wrk -t1 -c32 --latency\` on 127.0.0.1. **In one process**: ${pairs} on/off pairs of ${seconds} s load phases, median of the per-pair ratios (min–max). **Fresh processes**: ${freshRuns} server processes per contender, alternating, one ${seconds} s phase each after a 1 s warm-up.\n\n`;
  md += '| contender | req/s on/off (min–max) | p99 on/off (min–max) | fresh: req/s | fresh: × none | fresh: p99 ms |\n|---|---:|---:|---:|---:|---:|\n';
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
    const oo = name === 'none' ? null : await onOff(name, pairs, seconds);
    const f = ok(freshRes[name]);
    const fRps = f.length ? median(f.map((x) => x.rps)) : NaN;
    const fP99 = f.length ? median(f.map((x) => x.p99)) : NaN;
    const cell = (xs) => `${fmt(median(xs), 3)} (${fmt(Math.min(...xs), 3)}–${fmt(Math.max(...xs), 3)})`;
    const ooCell = !oo ? '—' : oo.skipped ? `skipped: ${oo.skipped}` : cell(oo.rpsRatios);
    const ooP99 = !oo || oo.skipped ? '' : cell(oo.p99Ratios);
    md += `| ${name} | ${ooCell} | ${ooP99} | ${f.length ? fmt(fRps, 0) : `skipped: ${freshRes[name][0]?.skipped}`} | ${f.length ? fmt(fRps / baseRps, 3) : ''} | ${f.length ? fmt(fP99, 2) : ''} |\n`;
    rows.push({
      scenario: 'http', contender: name, unit: 'req/s',
      onOff: oo && !oo.skipped ? { runs: oo.rpsRatios.length, median: median(oo.rpsRatios), min: Math.min(...oo.rpsRatios), max: Math.max(...oo.rpsRatios), p99Median: median(oo.p99Ratios), unit: 'ratio on/off' } : undefined,
      runs: f.length, median: fRps, min: f.length ? Math.min(...f.map((x) => x.rps)) : undefined, max: f.length ? Math.max(...f.map((x) => x.rps)) : undefined,
      ratio: fRps / baseRps, p99Ms: fP99,
    });
  }
  report('http', md, rows, quick);
}

await main();
