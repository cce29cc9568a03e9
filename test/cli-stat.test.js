// versions: current — the CLI over published files
// `runtime-sampler stat <pid> [intervalMs] [count]`: like jstat -gcutil, a header and one
// line per interval whose GC counts move in a process that allocates; a process that dies
// gets a final line and exit 1; bad arguments are usage errors naming the value.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { publishDir, startPublisher, cleanUp, cli, until, BIN } = require('./helpers/publishers');
const { spawn } = require('node:child_process');

const dir = publishDir();
let churner;

test.before(async () => {
  churner = await startPublisher(dir, { churn: true });
  await until('a young GC in the churner', async () => (await churner.send('report')).gcCount > 0);
});
test.after(cleanUp);

const HEADER = ['TIME', 'HEAP%', 'NEW%', 'OLD%', 'HEAP-MB', 'RSS-MB', 'SCV', 'MMS', 'MSC', 'INC', 'GCT-ms', 'GC%', 'ELU%', 'DLY99-ms', 'STL', 'STUCK-ms'];

/** stat's lines as records keyed by the header's columns. */
function parse(stdout) {
  const [header, ...lines] = stdout.trimEnd().split('\n');
  assert.equal(header.trim().split(/\s+/), HEADER);
  return lines.map((l) => {
    const cells = l.trim().split(/\s+/);
    assert.is(cells.length, HEADER.length, l);
    // '-': no value for the interval (no loop time accounted: a starved or stuck process).
    return Object.fromEntries(HEADER.map((h, i) => [h, i === 0 ? cells[i] : cells[i] === '-' ? null : Number(cells[i])]));
  });
}

test('stat <pid> 200 3: a header and 3 lines, GCs counted in each interval', async () => {
  const t0 = Date.now();
  const r = await cli(['stat', String(churner.pid), '200', '3', '--dir', dir]);
  const took = Date.now() - t0;
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, '');
  const lines = parse(r.stdout);
  assert.is(lines.length, 3);
  // The first line covers the time since start; two intervals of 200 ms follow.
  assert.ok(took >= 400, `${took} ms`);
  for (const l of lines) {
    assert.match(l.TIME, /^\d\d:\d\d:\d\d\.\d{3}$/);
    assert.ok(l['HEAP%'] > 0 && l['HEAP%'] < 100, String(l['HEAP%']));
    assert.ok(l['HEAP-MB'] > 1 && l['RSS-MB'] > l['HEAP-MB'], JSON.stringify(l));
    for (const k of ['SCV', 'MMS', 'MSC', 'INC', 'STL', 'STUCK-ms']) assert.ok(Number.isInteger(l[k]) && l[k] >= 0, k);
    for (const k of ['ELU%', 'GC%']) assert.ok(l[k] === null || (l[k] >= 0 && l[k] <= 100), `${k}: ${l[k]}`);
  }
  // The churner allocates all the time: young collections in the intervals, with their time.
  const intervals = lines.slice(1);
  assert.ok(intervals.reduce((n, l) => n + l.SCV, 0) > 0, JSON.stringify(intervals));
  assert.ok(intervals.reduce((n, l) => n + l['GCT-ms'], 0) > 0, JSON.stringify(intervals));
  assert.ok(lines[0].SCV > 0, 'the first line counts the GCs since the start');
  assert.ok(lines[0].TIME < lines[2].TIME || lines[2].TIME < '00:00:01', 'time moves');
});

test('stat of a process that dies: a final line, then exit 1 saying so', async () => {
  const victim = await startPublisher(dir, { churn: true });
  const child = spawn(process.execPath, [BIN, 'stat', String(victim.pid), '100', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await until('two lines of stat', () => stdout.split('\n').length >= 4);
  await victim.kill('SIGKILL');
  const deadline = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(deadline);
  assert.is(code, 1, stderr);
  const lines = parse(stdout);
  assert.ok(lines.length >= 3);
  assert.match(stderr, new RegExp(`^runtime-sampler stat: pid ${victim.pid} is not running \\(the last line is its final state; runtime-sampler postmortem .*${victim.pid}-0 prints the rest\\)\\n$`));
});

test('stat: unknown pid, a dead one, bad intervalMs, count and pid', async () => {
  const unknown = await cli(['stat', '2147483646', '--dir', dir]);
  assert.is(unknown.status, 1);
  assert.match(unknown.stderr, /^runtime-sampler stat: .*no published sampler of pid 2147483646 thread 0 .*\(ERR_SAMPLER_NOT_FOUND\)\n$/);
  const dead = await startPublisher(dir);
  await dead.kill('SIGKILL');
  const d = await cli(['stat', String(dead.pid), '--dir', dir]);
  assert.is(d.status, 1);
  assert.match(d.stderr, new RegExp(`^runtime-sampler stat: pid ${dead.pid} is not running; runtime-sampler postmortem .*${dead.pid}-0 prints its last state\\n$`));
  assert.is(d.stdout, '');
  for (const [args, re] of [
    [['stat', 'abc'], /stat: pid "abc" is not accepted: a process id, an integer from 1 to 2147483647/],
    [['stat'], /stat: which process\? give its pid/],
    [['stat', '1', '5'], /stat: intervalMs "5" is not accepted: milliseconds from 100 to 3600000/],
    [['stat', '1', 'soon'], /stat: intervalMs "soon" is not accepted/],
    [['stat', '1', '100', '0'], /stat: count "0" is not accepted: an integer from 1 to 2147483647/],
    [['stat', '1', '100', '2.5'], /stat: count "2\.5" is not accepted/],
    [['stat', '1', '100', '3', '4'], /stat: unexpected argument "4"/],
    [['stat', '1', '--thread=-1'], /stat: --thread "-1" is not accepted: a worker threadId, an integer ≥ 0/],
    [['stat', '1', '--thread', 'x'], /stat: --thread "x" is not accepted: a worker threadId/],
    [['stat', '1', '--interval', '5'], /--interval/],
  ]) {
    const r = await cli(args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  // With a unit, the interval is accepted.
  const ok = await cli(['stat', String(churner.pid), '0.1s', '1', '--dir', dir]);
  assert.is(ok.status, 0, ok.stderr);
  assert.is(parse(ok.stdout).length, 1);
});

test.run();
