#!/usr/bin/env node
// Two or more builds of this package's loop hook side by side in one process: each build's
// sampler on in its own phases, between phases with none on (and a second "off" phase as
// the A/A control), in a seeded random order, on a setImmediate storm timed by CPU time.
// Compares hook designs without the noise of separate processes:
//   node bench/loop-ab.mjs old=/path/to/checkout-a new=/path/to/checkout-b
// (each path a checkout with its native build). HOPS, TRIPLES, SPIN_US: phase length,
// phase count, and a spin per hop in µs.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const builds = process.argv.slice(2); // label=path
const samplers = builds.map((b) => { const [label, path] = b.split('='); const { Sampler } = require(path); return { label, s: new Sampler() }; });
const hops = Number(process.env.HOPS) || 100000, triples = Number(process.env.TRIPLES) || 60, spinUs = Number(process.env.SPIN_US) || 0;
const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) * 1000; };
const storm = (n) => new Promise((resolve) => { let i = 0; const t = cpu(); const hop = () => { if (spinUs) { const e = performance.now() + spinUs / 1000; while (performance.now() < e); } if (++i < n) setImmediate(hop); else resolve((cpu() - t) / n); }; setImmediate(hop); });
for (const x of samplers) { x.s.start(); await storm(hops); await new Promise((r) => setTimeout(r, 5)); x.s.refresh(); console.log(x.label, 'clock', x.s.loopClock, 'idleRead', x.s.loopIdleRead ?? '(none)'); x.s.stop(); }
const kinds = ['off', 'off2', ...samplers.map((x) => x.label)];
const res = Object.fromEntries(kinds.map((k) => [k, []]));
let seed = 1; const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
for (let t = 0; t < triples; t++) {
  const order = [...kinds].sort(() => rnd() - 0.5);
  for (const k of order) {
    const x = samplers.find((y) => y.label === k);
    if (x) x.s.start();
    res[k].push(await storm(hops));
    if (x) x.s.stop();
  }
}
const med = (a) => { const b = [...a].sort((p, q) => p - q); return b[Math.floor(b.length / 2)]; };
const q = (a, p) => { const b = [...a].sort((x, y) => x - y); return b[Math.floor(p * (b.length - 1))]; };
console.log(`hops ${hops} triples ${triples} spin ${spinUs} µs; off ${med(res.off).toFixed(1)} ns/hop`);
for (const k of kinds.slice(1)) {
  const d = res[k].map((v, i) => v - res.off[i]);
  console.log(`${k.padEnd(10)} cost ${med(d).toFixed(1)} ns/iter (p25 ${q(d, 0.25).toFixed(1)} p75 ${q(d, 0.75).toFixed(1)})  ratio ${(med(res[k].map((v, i) => v / res.off[i]))).toFixed(4)}`);
}
