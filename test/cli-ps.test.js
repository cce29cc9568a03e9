// versions: current — the CLI over published files
// `runtime-sampler ps [--clean] [--json]`: two running publishers and a SIGKILLed one are
// listed with their states; a file that cannot be read is listed with why; --json is
// listPublished()'s list; --clean removes only the dead writer's file and says so.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { existsSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { publishDir, startPublisher, cleanUp, cli } = require('./helpers/publishers');

const dir = publishDir();
let a;
let b;
let dead;

test.before(async () => {
  [a, b, dead] = await Promise.all([startPublisher(dir), startPublisher(dir), startPublisher(dir)]);
  await dead.kill('SIGKILL');
  // Not a block: ps lists it with the reason; --clean leaves it (not ours to judge).
  writeFileSync(path.join(dir, '2147483647-0'), 'not a runtime-sampler block\n'.repeat(400), { mode: 0o600 });
});
test.after(cleanUp);

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** ps's rows by pid: the cells before the title. */
function rows(stdout) {
  const [header, ...lines] = stdout.trimEnd().split('\n');
  assert.match(header, /^PID\s+THREAD\s+WORKER\s+STATE\s+STARTED\s+UPTIME\s+NODE\s+TITLE$/);
  return new Map(lines.map((l) => [Number(l.split(/\s+/)[0]), l]));
}

test('ps lists the running publishers, the SIGKILLed one as dead, and the unreadable file with why', async () => {
  const r = await cli(['ps', '--dir', dir]);
  assert.is(r.status, 0, r.stderr);
  const byPid = rows(r.stdout);
  assert.equal([...byPid.keys()].sort((x, y) => x - y), [a.pid, b.pid, dead.pid, 2147483647].sort((x, y) => x - y));
  const title = path.join('test', 'fixtures', 'publish-child.cjs');
  for (const p of [a, b]) {
    assert.match(byPid.get(p.pid), new RegExp(`^${p.pid}\\s+0\\s+-\\s+alive\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+[\\d.]+ (ms|s)\\s+${process.version}\\s+node .*${escape(title)}`));
  }
  assert.match(byPid.get(dead.pid), new RegExp(`^${dead.pid}\\s+0\\s+-\\s+dead\\s+\\d{4}-\\S+ \\S+\\s+died\\s+${process.version}\\s+node `));
  assert.match(byPid.get(2147483647), /^2147483647\s+0\s+-\s+error\s+\S*2147483647-0\b.*\(ERR_SAMPLER_INVALID\)$/);
});

test('ps --json is listPublished()\'s list', async () => {
  const r = await cli(['ps', '--json', '--dir', dir]);
  assert.is(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout);
  const byPid = new Map(list.map((p) => [p.pid, p]));
  assert.is(list.length, 4);
  for (const p of [a, b]) {
    const e = byPid.get(p.pid);
    assert.is(e.alive, true);
    assert.is(e.threadId, 0);
    assert.is(e.path, p.path);
    assert.is(e.nodeVersion, process.version);
    assert.ok(Date.now() - Date.parse(e.startedAt) < 120_000, e.startedAt);
  }
  assert.is(byPid.get(dead.pid).alive, false);
  assert.is(byPid.get(2147483647).errorCode, 'ERR_SAMPLER_INVALID');
});

test('ps --clean removes only the dead writer\'s file, says so, and lists the rest', async () => {
  assert.ok(existsSync(dead.path));
  const r = await cli(['ps', '--clean', '--dir', dir]);
  assert.is(r.status, 0, r.stderr);
  const [removedLine, ...rest] = r.stdout.trimEnd().split('\n');
  assert.match(removedLine, new RegExp(`^removed ${escape(dead.path)} \\(pid ${dead.pid} thread 0, dead: node .*publish-child\\.cjs.*\\)$`));
  assert.not.ok(existsSync(dead.path));
  for (const p of [a, b]) assert.ok(existsSync(p.path), p.path);
  assert.ok(existsSync(path.join(dir, '2147483647-0')));
  const left = rows(rest.join('\n'));
  assert.equal([...left.keys()].sort((x, y) => x - y), [a.pid, b.pid, 2147483647].sort((x, y) => x - y));
  // Nothing is left to remove.
  const again = await cli(['ps', '--clean', '--json', '--dir', dir]);
  assert.is(again.status, 0, again.stderr);
  const doc = JSON.parse(again.stdout);
  assert.equal(doc.removed, []);
  assert.is(doc.processes.length, 3);
});

test('ps of an empty or missing directory says so; bad options are usage errors', async () => {
  const missing = path.join(dir, 'nothing-here');
  const r = await cli(['ps', '--dir', missing]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, `no published samplers in ${missing}\n`);
  const bad = await cli(['ps', '--all']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--all/);
  const extra = await cli(['ps', '123']);
  assert.is(extra.status, 2);
  const help = await cli(['ps', '--help']);
  assert.is(help.status, 0);
  assert.match(help.stdout, /^Usage: runtime-sampler ps \[--clean\] \[--json\]/);
  assert.match(help.stdout, /Exit codes/);
});

test.run();
