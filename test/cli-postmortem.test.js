// versions: current — the CLI over published files
// `runtime-sampler postmortem <pid|path>`: a publisher that forced 3 GCs, then stalled its loop
// allocating and was SIGKILLed in the middle of it, is printed dead with its last heap and GC
// counts (at least what it reported just before), its 3 forced mark-compacts, the stall in
// progress and its stack; the next publisher removes the file only after
// RUNTIME_SAMPLER_KEEP_DEAD; a running process is said to be alive; bad targets fail clearly.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { existsSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { Sampler } = require('..');
const { human } = require('../dist/cjs/format');
const { publishDir, startPublisher, cleanUp, cli, sleep, until } = require('./helpers/publishers');
const { v2Fixture, removeFixture } = require('./helpers/cgroup');

const MiB = 2 ** 20;

const dir = publishDir();
let victim;
/** What the victim reported over IPC just before it started the allocating stall. */
let before;

test.after(cleanUp);

test('a publisher SIGKILLed while allocating in a stalled loop', async () => {
  victim = await startPublisher(dir, { churn: true }, { nodeArgs: ['--expose-gc'] });
  await sleep(300);
  const forced = await victim.send({ gc: 3 });
  assert.is(forced.forcedCount, 3);
  before = await victim.send('allocate-forever');
  assert.ok(before.gcCount >= 3, JSON.stringify(before));
  // Killed once the watchdog has its stack and GCs have happened during the stall.
  const view = Sampler.open(victim.pid, { dir });
  await until('the stall stack and a GC inside the stall', () => {
    const stack = view.lastStallStack();
    return stack !== null && /allocateForever/.test(stack.stack) && view.read().gc.count > before.gcCount;
  });
  const exit = await victim.kill('SIGKILL');
  assert.is(exit.signal, 'SIGKILL');
  assert.ok(existsSync(victim.path));
});

test('postmortem <pid> prints it dead, with its last heap, GC counts, mark-compacts and stall stack', async () => {
  const r = await cli(['postmortem', String(victim.pid), '--dir', dir]);
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, new RegExp(`^runtime-sampler postmortem: pid ${victim.pid} thread 0: DEAD`));
  assert.match(out, /\n {2}title {8}node .*publish-child\.cjs/);
  assert.match(out, new RegExp(`\\n  node {9}${process.version.replace(/\./g, '\\.')}\\n`));
  assert.match(out, /\n {2}uptime {7}[\d.]+ (ms|s) when it died \(at its last update\)\n/);
  const collections = /\n {2}collections {2}(\d+): (.*); forced (\d+)\n/.exec(out);
  assert.ok(collections, out);
  assert.ok(Number(collections[1]) > before.gcCount, `${collections[1]} > ${before.gcCount}`);
  assert.is(Number(collections[3]), 3);
  const scavenges = /scavenge (\d+)/.exec(collections[2]);
  assert.ok(scavenges && Number(scavenges[1]) >= before.byType.scavenge, collections[2]);
  assert.match(out, /\n {2}used \/ limit [\d.]+ (KiB|MiB|GiB) \/ [\d.]+ GiB/);
  assert.match(out, /\n {2}stalls {7}\d+ ended .*; one in progress when it died: since .*, at least [\d.]+ (ms|s)\n/);
  assert.match(out, /last stall's JavaScript stack \(capture #\d+\)\n {2}at allocateForever \(.*publish-child\.cjs:\d+:\d+\)/);
  // The three gc() calls were mark-compacts, logged with the heap after each.
  const forcedMcs = out.split('\n').filter((l) => /^ {2}#\d+ .* forced {2}heap +[\d.]+ (KiB|MiB) {2}old generation/.test(l));
  assert.ok(forcedMcs.length >= 3, out);
  const recent = out.slice(out.indexOf('recent GCs (the last 10, oldest first)\n')).split('\n').slice(1, -1);
  assert.is(recent.length, 10, out);
  for (const l of recent) assert.match(l, /^ {2}\d{4}-\d\d-\d\d [\d:.]+ {2}(scavenge|markSweepCompact|incrementalMarking|minorMarkSweep|processWeakCallbacks)( \(forced\))? +pause +[\d.]+ (ns|µs|ms|s) {2}heap +[\d.]+ (B|KiB|MiB) -> +[\d.]+ (B|KiB|MiB)$/);
  assert.ok(recent.some((l) => / scavenge /.test(l)));

  // The same numbers as JSON, exactly.
  const j = await cli(['postmortem', String(victim.pid), '--json', '--dir', dir]);
  assert.is(j.status, 0, j.stderr);
  const doc = JSON.parse(j.stdout);
  assert.is(doc.state, 'dead');
  assert.is(doc.alive, false);
  assert.is(doc.snapshot.gc.count, Number(collections[1]));
  assert.is(doc.snapshot.gc.forcedCount, 3);
  assert.ok(doc.snapshot.gc.byType.scavenge.count >= before.byType.scavenge);
  const used = doc.snapshot.heap.usedBytes;
  // The child held its churn and the stall's arrays: more than 1 MiB, far from the limit.
  assert.ok(used > 2 ** 20 && used < before.heapUsed + 256 * 2 ** 20, `${used} vs ${before.heapUsed}`);
  assert.is(doc.snapshot.heap.limitBytes, before.heapLimit);
  // The text printed the same heap.
  assert.ok(out.includes(`\n  used / limit ${human(used, 'By')} / ${human(before.heapLimit, 'By')} (`), out);
  assert.ok(doc.markCompacts.filter((m) => m.forced).length >= 3);
  assert.ok(doc.markCompacts.every((m) => m.usedAfterBytes > 0 && typeof m.at === 'string'));
  assert.is(doc.recentGCs.length, 10);
  assert.match(doc.lastStallStack.stack, /allocateForever/);
  assert.ok(doc.stallInProgress.atLeast && doc.stallInProgress.forNs >= 50e6, JSON.stringify(doc.stallInProgress));
  assert.ok(doc.gcPause.all.count >= before.gcCount && doc.gcPause.all.p99 > 0);
  assert.ok(doc.uptimeMs > 300 && doc.uptimeMs < 120_000, String(doc.uptimeMs));
  assert.equal(doc.tornRegions, []);
  // And by path.
  const byPath = await cli(['postmortem', victim.path, '--json']);
  assert.is(byPath.status, 0, byPath.stderr);
  assert.is(JSON.parse(byPath.stdout).snapshot.gc.count, doc.snapshot.gc.count);
});

test('a process killed at its container\'s memory limit: postmortem shows the container and the threadpool, and says OOM', async () => {
  const cg = v2Fixture({ 'memory.max': `${200 * MiB}\n`, 'memory.current': `${199 * MiB}\n`, 'memory.stat': 'anon 1\ninactive_file 0\n', 'cpu.max': '50000 100000\n' });
  try {
    const p = await startPublisher(dir, {}, { env: { RUNTIME_SAMPLER_CGROUP_ROOT: cg } });
    const view = Sampler.open(p.pid, { dir });
    await until('a refresh with the cgroup and a threadpool probe', () => {
      const s = view.read();
      return s.container.cgroupVersion === 2 && s.threadpool.probes > 0;
    });
    view.close();
    assert.is((await p.kill('SIGKILL')).signal, 'SIGKILL');
    const r = await cli(['postmortem', String(p.pid), '--dir', dir]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /\ncontainer \(cgroup v2\)\n {2}memory {7}working set 199\.0 MiB of a 200\.0 MiB limit \(99\.50 %\); usage 199\.0 MiB; limit hit 17 times, OOM kills 1/);
    assert.match(r.stdout, /\n {2}cpu {10}quota 0\.500 CPUs; throttled in 40 of 50 periods, 2\.50 s in all\n/);
    assert.match(r.stdout, /→ it died with its container at 99\.50 % of its memory limit: most likely the kernel's OOM killer \(SIGKILL\)/);
    assert.match(r.stdout, /\nthreadpool\n {2}delay {8}p50 [\d.]+ (ns|µs|ms) {2}p99 .*\(n=\d+\); pool of \d+ threads/);
    const json = JSON.parse((await cli(['postmortem', String(p.pid), '--dir', dir, '--json'])).stdout);
    assert.is(json.threadpoolWaitingNs, 0);
    assert.ok(json.threadpoolDelay.count >= 1);
  } finally {
    removeFixture(cg);
  }
  // Not in a cgroup the sampler reads: no container section, no verdict.
  const r = await cli(['postmortem', String(victim.pid), '--dir', dir]);
  assert.not.match(r.stdout, /most likely the kernel's OOM killer/);
});

test('the next publisher keeps the dead file for RUNTIME_SAMPLER_KEEP_DEAD, then removes it', async () => {
  const keeper = await startPublisher(dir, {}, { env: { RUNTIME_SAMPLER_KEEP_DEAD: '60000' } });
  assert.ok(existsSync(victim.path), 'removed within the keep period');
  const ps = await cli(['ps', '--dir', dir]);
  assert.match(ps.stdout, new RegExp(`\\n${victim.pid}\\s+0\\s+-\\s+dead\\s`));
  keeper.child.send('exit');
  assert.equal(await keeper.exited, { code: 0, signal: null });
  await sleep(20);
  const sweeper = await startPublisher(dir, {}, { env: { RUNTIME_SAMPLER_KEEP_DEAD: '1' } });
  assert.not.ok(existsSync(victim.path), 'kept after the keep period');
  assert.ok(existsSync(sweeper.path));
  const gone = await cli(['postmortem', String(victim.pid), '--dir', dir]);
  assert.is(gone.status, 1);
  assert.match(gone.stderr, /no published sampler of pid \d+ .*\(ERR_SAMPLER_NOT_FOUND\)\n$/);
});

test('postmortem of a running process says it is alive', async () => {
  const live = await startPublisher(dir, { churn: true });
  await sleep(200);
  const r = await cli(['postmortem', String(live.pid), '--dir', dir]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^runtime-sampler postmortem: pid ${live.pid} thread 0: ALIVE: the process is running`));
  assert.match(r.stdout, /\n {2}uptime {7}[\d.]+ (ms|s)\n/);
  assert.not.match(r.stdout, /when it died/);
});

test('postmortem: unknown pid, garbage file, missing file and bad arguments', async () => {
  const unknown = await cli(['postmortem', '2147483646', '--dir', dir]);
  assert.is(unknown.status, 1);
  assert.match(unknown.stderr, /^runtime-sampler postmortem: .*no published sampler of pid 2147483646 thread 0 in .*\(ERR_SAMPLER_NOT_FOUND\)\n$/);
  const garbage = path.join(dir, 'garbage.bin');
  writeFileSync(garbage, Buffer.alloc(8192, 0x41), { mode: 0o600 });
  const g = await cli(['postmortem', garbage]);
  assert.is(g.status, 1);
  assert.match(g.stderr, /^runtime-sampler postmortem: .*garbage\.bin.*not a runtime-sampler block.*\(ERR_SAMPLER_INVALID\)\n$/);
  assert.is(g.stdout, '');
  const missing = await cli(['postmortem', path.join(dir, 'nothing')]);
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /nothing does not exist \(ERR_SAMPLER_NOT_FOUND\)/);
  for (const [args, re] of [
    [['postmortem'], /give one pid or file path/],
    [['postmortem', '1', '2'], /not 2 arguments/],
    [['postmortem', '0'], /pid "0" is not accepted: a process id, an integer from 1 to 2147483647/],
    [['postmortem', '99999999999'], /pid "99999999999" is not accepted/],
    [['postmortem', '123', '--thread', 'main'], /--thread "main" is not accepted: a worker threadId/],
    [['postmortem', garbage, '--thread', '1'], /--thread and --dir go with a pid/],
  ]) {
    const r = await cli(args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, re);
  }
});

test.run();
