// The workload `runtime-sampler demo` runs under the preload (node -r runtime-sampler/register),
// so that a first look at the live page, /metrics and diagnose() has something to show:
//   churn  short-lived objects every 10 ms: a steady stream of young-generation GCs, plus a
//          large temporary every 100 ms (old-generation garbage: mark-compacts come regularly,
//          and the leak check needs them: it judges the heap right after each one)
//   stall  a synchronous busy loop of 300 ms, 3 s after start and every 10 s after that
//          (the preload's watchdog flags any iteration over 100 ms)
//   leak   512 KiB more retained each second, up to 128 MiB (plan.ts), so that the
//          demo cannot eat the machine when it is left running
// It reports the monitor's URL to the demo command over the IPC channel, and ends when that
// channel closes: the workload never outlives the command, however the command ends.
import { registered } from '../server/preload';
import { DEMO } from './plan';

const say = (s: string): void => { process.stdout.write(`demo workload: ${s}\n`); };

let churned = 0;
function churn(): void {
  const junk: Array<{ i: number; s: string }> = [];
  for (let i = 0; i < DEMO.churnObjects; i++) junk.push({ i, s: `g${i}` });
  churned += junk.length;
}

// Medium-lived objects: each lives about a second, long enough to survive two scavenges and
// be promoted, then dies in the old generation. That old-generation garbage is what makes V8
// run mark-compacts every few seconds, and the leak check judges the heap after each one.
const ring: Array<{ i: number; s: string } | null> = new Array<{ i: number; s: string } | null>(DEMO.mediumLived).fill(null);
let ringAt = 0;
function mediumLived(): void {
  for (let n = 0; n < DEMO.mediumLivedPerTick; n++) {
    ring[ringAt] = { i: ringAt, s: `m${ringAt}` };
    ringAt = (ringAt + 1) % ring.length;
  }
}

const started = Date.now();
let stalls = 0;
function stall(): void {
  stalls++;
  const t0 = Date.now();
  while (Date.now() - t0 < DEMO.stallMs);
  say(`stall #${stalls}: the loop was blocked for ${Date.now() - t0} ms (at ${((Date.now() - started) / 1000).toFixed(1)} s; ${(churned / 1e6).toFixed(1)} million short-lived objects so far)`);
}

// Arrays of numbers, 1 KiB of elements each (8 bytes a double), kept forever.
const leaked: number[][] = [];
let leakedBytes = 0;
function leak(): void {
  if (leakedBytes >= DEMO.leakMaxBytes) return;
  for (let n = 0; n < DEMO.leakBytesPerSec; n += 8 * 128) leaked.push(new Array<number>(128).fill(leaked.length + 0.5));
  leakedBytes += DEMO.leakBytesPerSec;
  if (leakedBytes >= DEMO.leakMaxBytes) say(`the leak stops at ${DEMO.leakMaxBytes / 2 ** 20} MiB (its bound)`);
}

const timers = [
  setInterval(churn, 10),
  setInterval(mediumLived, 10),
  setInterval(leak, 1000),
];
setTimeout(() => {
  stall();
  timers.push(setInterval(stall, DEMO.stallEveryMs));
}, DEMO.stallFirstMs);

const stop = (): void => {
  for (const t of timers) clearInterval(t);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

const r = registered();
if (process.send !== undefined) {
  process.on('disconnect', stop);
  if (r === null) process.send({ url: null, why: 'the preload did not start (RUNTIME_SAMPLER_DISABLE, or not preloaded)' });
  else void r.monitor.then((m) => process.send?.({ url: m?.url ?? null, why: m === null ? 'the monitor did not start (see above)' : undefined }));
} else {
  say('running (no demo command attached: the preload announces its URL; Ctrl-C to stop)');
}
