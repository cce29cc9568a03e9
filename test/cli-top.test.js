// versions: current — a terminal UI driven through tmux: the same under every Node
// `runtime-sampler top`: driven in tmux (send-keys, capture-pane), it shows a row per running
// publisher, sorts on its keys, follows processes that start and die, quits on `q` and on
// SIGTERM with the terminal restored (main screen, cursor shown, cooked mode); without a
// terminal it prints plain tables; the screen fits the terminal's width and height.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const { readdirSync, readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { testUnless } = require('./helpers/skip');
const { BIN, publishDir, startPublisher, cleanUp, cli, until } = require('./helpers/publishers');
const { renderTop, sortRows } = require('../dist/cjs/cli/top');

const dir = publishDir();
/** Publishers holding 8, 40 and 80 MiB more heap: top's heap order is theirs. */
let pubs = [];

test.before(async () => {
  pubs = await Promise.all([80, 8, 40].map((retainMb) => startPublisher(dir, { retainMb })));
  for (const [p, mb] of pubs.map((p, i) => [p, [80, 8, 40][i]])) p.retainMb = mb;
  // A malformed file: counted, never fatal.
  writeFileSync(path.join(dir, '2147483647-0'), Buffer.alloc(8192, 0x41), { mode: 0o600 });
});
test.after(cleanUp);

/** The pids of a screen's rows, top to bottom. */
const rowPids = (screen) => [...screen.matchAll(/^ *(\d+)[* ] +\d+ +[\d.]+\/\d+ /gm)].map((m) => Number(m[1]));
const byPid = () => pubs.map((p) => p.pid).sort((a, b) => a - b);
const byHeap = () => [...pubs].sort((a, b) => b.retainMb - a.retainMb).map((p) => p.pid);

test('without a terminal: one plain table after one interval, a row per publisher', async () => {
  const t0 = Date.now();
  const r = await cli(['top', '--dir', dir, '--interval', '200']);
  assert.is(r.status, 0, r.stderr);
  assert.ok(Date.now() - t0 >= 200);
  assert.not.match(r.stdout, /\x1b/);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], new RegExp(`^runtime-sampler top  3 running, 1 unreadable  sorted by pid, smallest first  every 0\\.2 s  \\d\\d:\\d\\d:\\d\\d  ${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`));
  assert.match(lines[1], /^ +PID +THR +HEAP MiB +RSS MiB +GC% +GCp99ms +ELU% +DLYp99ms +STALL {2}TITLE$/);
  assert.equal(rowPids(r.stdout), byPid());
  // Interval values (no first-reading mark), the heap each holds, the watchdog on.
  for (const p of pubs) {
    const row = lines.find((l) => new RegExp(`^ *${p.pid} `).test(l));
    const [, used] = /^ *\d+ +0 +([\d.]+)\//.exec(row);
    assert.ok(Number(used) > p.retainMb && Number(used) < p.retainMb + 40, row);
    assert.match(row, / +\d+ {2}node .*publish-child\.cjs/);
  }
  const two = await cli(['top', '--dir', dir, '--interval', '100', '-n', '2']);
  assert.is(two.status, 0, two.stderr);
  assert.is(two.stdout.split('runtime-sampler top ').length - 1, 2);
});

test('the screen: sorted by each key, missing values last, cut to the width and height', () => {
  const row = (pid, o = {}) => ({
    pid, threadId: 0, title: `node app-${pid}.js \x1b[31mred\n`, path: `/x/${pid}-0`, heapUsedBytes: 10 * 2 ** 20, heapLimitBytes: 4096 * 2 ** 20,
    rssBytes: 50 * 2 ** 20, gcCpuFraction: 0.01, gcPauseP99Ns: 2e6, elu: 0.5, loopDelayP99Ns: 11e6, watchdog: true, stallNs: 0, stalls: 0, fromStart: false, ...o,
  });
  const rows = [row(3, { heapUsedBytes: 1, elu: NaN }), row(1, { heapUsedBytes: 3, elu: 0.9 }), row(2, { heapUsedBytes: 2, stallNs: 2.5e9, elu: 0.1 })];
  assert.equal(sortRows(rows, 'p', false).map((r) => r.pid), [1, 2, 3]);
  assert.equal(sortRows(rows, 'h', false).map((r) => r.pid), [1, 2, 3]);
  assert.equal(sortRows(rows, 'h', true).map((r) => r.pid), [3, 2, 1]);
  assert.equal(sortRows(rows, 'e', false).map((r) => r.pid), [1, 2, 3]);
  assert.equal(sortRows(rows, 'e', true).map((r) => r.pid), [2, 1, 3]);
  assert.equal(sortRows(rows, 's', false).map((r) => r.pid), [2, 1, 3]);
  const view = { dir: '/x', intervalMs: 1000, sort: 'p', reverse: false, width: 80, height: 24, interactive: true, now: new Date() };
  const state = { rows, dead: 1, closed: 0, unreadable: 2 };
  const lines = renderTop(state, view);
  assert.ok(lines.every((l) => l.length <= 80), lines.join('\n'));
  assert.match(lines[0], /1 dead, 2 unreadable/);
  assert.match(lines[1], /^keys: q quit; sort by p pid, h heap/);
  const stalled = lines.find((l) => /^ +2 /.test(l));
  assert.match(stalled, /NOW 2\.5s/);
  const noElu = lines.find((l) => /^ +3 /.test(l));
  assert.match(noElu, / - {2}/);
  // The title: cut to the width, its control characters made harmless.
  const wide = renderTop(state, { ...view, width: 200 });
  assert.match(wide.find((l) => /^ +1 /.test(l)), / {2}node app-1\.js \?\[31mred$/);
  // A short terminal: as many rows as fit, and how many more there are.
  const short = renderTop(state, { ...view, height: 5 });
  assert.ok(short.length <= 5, short.join('\n'));
  assert.match(short.at(-1), /^\.\.\. 2 more/);
});

/** The pid of `parent`'s only child (from /proc). */
function childOf(parent) {
  const kids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return Number(readFileSync(`/proc/${d}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]) === parent;
    } catch {
      return false;
    }
  });
  assert.is(kids.length, 1, `children of ${parent}: ${kids}`);
  return Number(kids[0]);
}

const tmuxMissing = spawnSync('tmux', ['-V']).error ? 'tmux is not installed (apt-get install tmux)' : null;

testUnless(test, tmuxMissing, 'in tmux: a row per publisher, sort keys, processes come and go, q quits and restores the terminal', async () => {
  const conf = path.join(dir, 'tmux.conf');
  writeFileSync(conf, 'set -g remain-on-exit on\n');
  const socket = `rs-top-test-${process.pid}`;
  const tmux = (...args) => {
    const r = spawnSync('tmux', ['-L', socket, '-f', conf, ...args], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
  const top = `${q(process.execPath)} ${q(BIN)} top --dir ${q(dir)} --interval 250`;
  try {
    // A shell runs top, then says how top exited and how the terminal is set, and stays:
    // tmux reports a dead pane's cursor as hidden, whatever the program left.
    const shell = (name, x, y) => tmux('new-session', '-d', '-x', String(x), '-y', String(y), '-s', name, `${top}; echo "top exited $?"; stty -a; exec sleep 600`);
    shell('keys', 200, 50);
    const screen = (t = 'keys') => tmux('capture-pane', '-p', '-t', t);
    const flags = (t = 'keys') => tmux('display-message', '-p', '-t', t, '#{alternate_on} #{cursor_flag}').trim();
    await until('a row per publisher', () => rowPids(screen()).length === 3);
    assert.equal(rowPids(screen()), byPid());
    assert.is(flags(), '1 0', 'top runs on the alternate screen, cursor hidden');
    assert.match(screen(), /^keys: q quit; sort by p pid, h heap, r RSS, g GC%, e ELU, d delay, s stall \(again: reversed\)$/m);

    tmux('send-keys', '-t', 'keys', 'h');
    await until('the heap order', () => JSON.stringify(rowPids(screen())) === JSON.stringify(byHeap()));
    assert.match(screen(), /sorted by heap, largest first/);
    tmux('send-keys', '-t', 'keys', 'h');
    await until('the heap order reversed', () => JSON.stringify(rowPids(screen())) === JSON.stringify([...byHeap()].reverse()));
    assert.match(screen(), /sorted by heap, smallest first/);
    tmux('send-keys', '-t', 'keys', 'p');
    await until('the pid order', () => JSON.stringify(rowPids(screen())) === JSON.stringify(byPid()));

    // A process that starts gets a row; one that dies loses it and is counted dead.
    const late = await startPublisher(dir);
    await until('the new publisher\'s row', () => rowPids(screen()).includes(late.pid));
    await late.kill('SIGKILL');
    await until('the dead publisher gone', () => !rowPids(screen()).includes(late.pid) && /3 running, 1 dead, 1 unreadable/.test(screen()));

    tmux('send-keys', '-t', 'keys', 'q');
    await until('top to quit', () => /^top exited \d+$/m.test(screen()));
    const after = screen();
    assert.match(after, /^top exited 0$/m);
    assert.is(flags(), '0 1', 'main screen, cursor shown');
    assert.not.match(after, /HEAP MiB/);
    // Cooked mode again: canonical input, echo and signals.
    for (const mode of ['icanon', 'echo', 'isig']) assert.match(after, new RegExp(`(^|\\s)${mode}(\\s|$)`), mode);

    // SIGTERM (to top, not its shell): the same restoration, exit 0. A narrow terminal cuts lines.
    shell('term', 100, 20);
    await until('top\'s rows', () => rowPids(screen('term')).length === 3);
    assert.ok(screen('term').split('\n').every((l) => l.length <= 100));
    const shellPid = Number(tmux('display-message', '-p', '-t', 'term', '#{pane_pid}'));
    const topPid = childOf(shellPid);
    process.kill(topPid, 'SIGTERM');
    await until('top to end on SIGTERM', () => /^top exited \d+$/m.test(screen('term')));
    assert.match(screen('term'), /^top exited 0$/m);
    assert.is(flags('term'), '0 1');
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  }
});

test.run();
