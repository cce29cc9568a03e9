#!/usr/bin/env node
// The clock decision for the loop hook, measured: ns per read and resolution of
// clock_gettime(CLOCK_MONOTONIC) and of the CPU tick counter, on the host (x64: the TSC)
// and on arm64 (CNTVCT_EL0), the latter cross-built with g++-aarch64-linux-gnu and run
// under qemu-user — so its numbers are the emulator's, not an arm64 CPU's.
//   node bench/clock.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../scripts/node-dist.mjs';

const src = join(root, 'bench', 'native', 'clock_bench.cc');
const out = join(root, '.cache', 'clock-bench');
mkdirSync(out, { recursive: true });
const targets = [
  { name: 'x64 (host)', cxx: 'c++', run: (bin) => [bin, []], env: {} },
  { name: 'arm64 (qemu-user)', cxx: 'aarch64-linux-gnu-g++', run: (bin) => ['qemu-aarch64-static', [bin]], env: { QEMU_LD_PREFIX: '/usr/aarch64-linux-gnu' } },
];
for (const t of targets) {
  const bin = join(out, `clock-${t.cxx.replace(/\W/g, '_')}`);
  const cc = spawnSync(t.cxx, ['-O2', '-std=c++17', src, '-o', bin], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) {
    console.log(`${t.name}: not measured (${t.cxx}: ${cc.error ? cc.error.message : cc.stderr.trim()})`);
    continue;
  }
  const [cmd, args] = t.run(bin);
  const lines = execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...t.env } }).trim().split('\n').map((l) => JSON.parse(l));
  const byClock = Object.fromEntries(lines.filter((l) => l.clock).map((l) => [l.clock, l]));
  const rate = lines.find((l) => l.tickHzMeasured);
  const stepNs = (byClock.ticks.minStepUnits * 1e9) / rate.tickHzMeasured;
  console.log(`${t.name}: monotonic ${byClock.monotonic.nsPerRead.toFixed(1)} ns/read (min step ${byClock.monotonic.minStepUnits} ns); ` +
    `tick counter ${byClock.ticks.nsPerRead.toFixed(1)} ns/read (min step ${byClock.ticks.minStepUnits} ticks = ${stepNs.toFixed(1)} ns), ` +
    `${(rate.tickHzMeasured / 1e6).toFixed(1)} MHz measured${rate.tickHzRegister ? `, CNTFRQ_EL0 ${(rate.tickHzRegister / 1e6).toFixed(1)} MHz` : ''}`);
}
