// `runtime-sampler top`: the running processes that publish, one row each, refreshed in
// place. Plain ANSI (the alternate screen, the cursor hidden) and raw-mode keys, so it
// works in any terminal and over ssh; everything is restored however it ends (q, Ctrl-C,
// SIGINT/SIGTERM/SIGHUP, an exception). Without a terminal it prints plain tables.
import { parseArgs } from 'node:util';
import { defaultPublishDir } from '../published';
import { localTime } from '../format';
import { cell, parseCount, parseDir, parseIntervalMs, sleeper } from './common';
import { ProcessRow, PublishedTable, TableState } from './published-table';

interface SortKey {
  name: string;
  value: (r: ProcessRow) => number;
  /** Largest first (pid: smallest first). */
  descending: boolean;
}

/** The keys that sort, and what by. */
export const SORT_KEYS: Readonly<Record<string, SortKey>> = Object.freeze({
  p: { name: 'pid', value: (r) => r.pid, descending: false },
  h: { name: 'heap', value: (r) => r.heapUsedBytes, descending: true },
  r: { name: 'RSS', value: (r) => r.rssBytes, descending: true },
  g: { name: 'GC%', value: (r) => r.gcCpuFraction, descending: true },
  e: { name: 'ELU', value: (r) => r.elu, descending: true },
  d: { name: 'loop delay', value: (r) => r.loopDelayP99Ns, descending: true },
  // A stall in progress first (longest first), then the most stalls so far.
  s: { name: 'stall', value: (r) => (r.stallNs > 0 ? 1e18 + r.stallNs : r.watchdog ? r.stalls : NaN), descending: true },
});

/** `rows` in `key`'s order (reversed when asked); rows without a value last, ties by pid. */
export function sortRows(rows: ProcessRow[], key: string, reverse: boolean): ProcessRow[] {
  const k = SORT_KEYS[key] ?? SORT_KEYS.p;
  const sign = k.descending !== reverse ? -1 : 1;
  return [...rows].sort((a, b) => {
    const va = k.value(a);
    const vb = k.value(b);
    if (Number.isNaN(va) !== Number.isNaN(vb)) return Number.isNaN(va) ? 1 : -1;
    if (va !== vb && !Number.isNaN(va)) return sign * (va - vb);
    return a.pid - b.pid || a.threadId - b.threadId;
  });
}

const MiB = 2 ** 20;
/** A number with fewer decimals as it grows: 0.45, 4.50, 45.0, 450. */
function num(v: number): string {
  if (!Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  return v.toFixed(a < 10 ? 2 : a < 100 ? 1 : 0);
}
const ms = (ns: number): string => (Number.isFinite(ns) ? num(ns / 1e6) : '-');
const pct = (f: number): string => (Number.isFinite(f) ? num(f * 100) : '-');

function stallCell(r: ProcessRow): string {
  if (r.stallNs > 0) return `NOW ${(r.stallNs / 1e9).toFixed(1)}s`;
  return r.watchdog ? String(r.stalls) : 'off';
}

// 71 columns before the title: an 80-column terminal still shows some of it.
const COLUMNS: ReadonlyArray<{ title: string; width: number; value: (r: ProcessRow) => string }> = [
  { title: 'PID', width: 8, value: (r) => `${r.pid}${r.fromStart ? '*' : ' '}` },
  { title: 'THR', width: 3, value: (r) => String(r.threadId) },
  { title: 'HEAP MiB', width: 11, value: (r) => `${num(r.heapUsedBytes / MiB)}/${Math.round(r.heapLimitBytes / MiB)}` },
  { title: 'RSS MiB', width: 7, value: (r) => num(r.rssBytes / MiB) },
  { title: 'GC%', width: 5, value: (r) => pct(r.gcCpuFraction) },
  { title: 'GCp99ms', width: 7, value: (r) => ms(r.gcPauseP99Ns) },
  { title: 'ELU%', width: 5, value: (r) => pct(r.elu) },
  { title: 'DLYp99ms', width: 8, value: (r) => ms(r.loopDelayP99Ns) },
  { title: 'STALL', width: 9, value: stallCell },
];

/** Cuts `s` to `width` characters (no cut when width is Infinity). */
const fit = (s: string, width: number): string => (s.length > width ? s.slice(0, Math.max(0, width)) : s);

export interface TopView {
  dir: string;
  intervalMs: number;
  sort: string;
  reverse: boolean;
  /** Terminal columns (Infinity: no cut) and rows for the table (Infinity: all). */
  width: number;
  height: number;
  /** Whether keys work (the key line is shown). */
  interactive: boolean;
  now: Date;
}

/** The screen: a status line, the keys (interactive), the column titles, one row per process. */
export function renderTop(state: TableState, v: TopView): string[] {
  const rows = sortRows(state.rows, v.sort, v.reverse);
  const counts = [`${rows.length} running`];
  if (state.dead > 0) counts.push(`${state.dead} dead`);
  if (state.closed > 0) counts.push(`${state.closed} closed`);
  if (state.unreadable > 0) counts.push(`${state.unreadable} unreadable`);
  const k = SORT_KEYS[v.sort] ?? SORT_KEYS.p;
  const order = k.descending !== v.reverse ? 'largest first' : 'smallest first';
  // The least needed last: a narrow terminal cuts it.
  const lines = [
    `runtime-sampler top  ${counts.join(', ')}  sorted by ${k.name}, ${order}  every ${(v.intervalMs / 1000).toFixed(1)} s  ${localTime(v.now).slice(11)}  ${v.dir}`,
  ];
  if (v.interactive) lines.push('keys: q quit; sort by p pid, h heap, r RSS, g GC%, e ELU, d delay, s stall (again: reversed)');
  lines.push(`${COLUMNS.map((c) => c.title.padStart(c.width)).join(' ')}  TITLE`);
  const note = rows.some((r) => r.fromStart) ? `* first reading: since the process started; next: over the last ${(v.intervalMs / 1000).toFixed(1)} s` : null;
  const room = v.height - lines.length - (note === null ? 0 : 1);
  // Rows that do not fit: as many as do, and a line that says how many more there are.
  const shown = rows.length > room ? rows.slice(0, Math.max(0, room - 1)) : rows;
  for (const r of shown) lines.push(`${COLUMNS.map((c) => c.value(r).padStart(c.width)).join(' ')}  ${cell(r.title, 500)}`);
  if (shown.length < rows.length) lines.push(`... ${rows.length - shown.length} more (a taller terminal shows them)`);
  if (rows.length === 0) lines.push('no running process publishes here (node -r runtime-sampler/register app.js does)');
  if (note !== null) lines.push(note);
  return lines.slice(0, v.height).map((l) => fit(l, v.width));
}

const ENTER = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J';
const LEAVE = '\x1b[?25h\x1b[?1049l';

export async function topCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { interval: { type: 'string' }, once: { type: 'boolean' }, iterations: { type: 'string', short: 'n' }, dir: { type: 'string' } },
    allowPositionals: false,
    strict: true,
  });
  const dirOption = parseDir('top', values.dir);
  const intervalMs = values.interval === undefined ? 1000 : parseIntervalMs('top', '--interval', values.interval);
  let iterations = values.iterations === undefined ? Infinity : parseCount('top', '--iterations', values.iterations);
  const stdout = process.stdout;
  const interactive = stdout.isTTY === true && !values.once;
  if (!interactive && values.iterations === undefined) iterations = 1;
  const dir = dirOption ?? defaultPublishDir();
  const table = new PublishedTable(dirOption);
  const s = sleeper();
  const view: TopView = { dir, intervalMs, sort: 'p', reverse: false, width: Infinity, height: Infinity, interactive, now: new Date() };
  let state = table.refresh();
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (): void => s.stop();
  for (const sig of signals) process.on(sig, onSignal);
  try {
    if (!interactive) {
      for (let i = 0; i < iterations; i++) {
        await s.sleep(intervalMs);
        if (s.stopped) break;
        state = table.refresh();
        view.now = new Date();
        stdout.write(`${i > 0 ? '\n' : ''}${renderTop(state, view).join('\n')}\n`);
      }
      return 0;
    }
    return await interactiveTop(table, state, view, iterations, s);
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    table.close();
  }
}

async function interactiveTop(table: PublishedTable, first: TableState, view: TopView, iterations: number, s: ReturnType<typeof sleeper>): Promise<number> {
  const stdout = process.stdout;
  const stdin = process.stdin;
  let state = first;
  let restored = false;
  const draw = (): void => {
    view.width = stdout.columns > 0 ? stdout.columns : 80;
    view.height = stdout.rows > 0 ? stdout.rows : 24;
    view.now = new Date();
    // Home, each line over the old one (cleared to its end), then the rest cleared: no flicker.
    stdout.write(`\x1b[H${renderTop(state, view).map((l) => `${l}\x1b[K`).join('\r\n')}\x1b[J`);
  };
  const onKey = (data: Buffer): void => {
    for (const ch of data.toString('latin1')) {
      if (ch === 'q' || ch === 'Q' || ch === '\x03' || ch === '\x04') {
        s.stop();
        return;
      }
      const key = ch.toLowerCase();
      if (Object.hasOwn(SORT_KEYS, key)) {
        view.reverse = view.sort === key ? !view.reverse : false;
        view.sort = key;
        draw();
      }
    }
  };
  const restore = (): void => {
    if (restored) return;
    restored = true;
    stdout.off('resize', draw);
    stdin.off('data', onKey);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    stdout.write(LEAVE);
  };
  // Even an exit nobody planned (process.exit elsewhere, an uncaught error) gives the terminal back.
  process.once('exit', restore);
  // A terminal that went away (ssh dropped): stop instead of throwing.
  const onError = (): void => s.stop();
  stdout.on('error', onError);
  try {
    stdout.write(ENTER);
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      stdin.on('data', onKey);
      stdin.resume();
    }
    stdout.on('resize', draw);
    draw();
    for (let i = 0; i < iterations && !s.stopped; i++) {
      await s.sleep(view.intervalMs);
      if (s.stopped) break;
      state = table.refresh();
      draw();
    }
    return 0;
  } finally {
    restore();
    process.off('exit', restore);
    stdout.off('error', onError);
  }
}
