// `runtime-sampler stat <pid> [intervalMs] [count]`: one line per interval, like
// `jstat -gcutil`: fixed columns of plain numbers, for a terminal or a log file.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { localTime } from '../format';
import { Sampler } from '../sampler';
import { out, UsageError, parseCount, parseDir, parseIntervalMs, parsePid, parseThread, sleeper } from './common';
import { Interval, IntervalReader } from './published-table';

const MiB = 2 ** 20;

/** The columns: title, width, value of an interval. */
const COLUMNS: ReadonlyArray<[string, number, (iv: Interval) => string]> = [
  ['TIME', 12, () => localTime(new Date(), true).slice(11)],
  ['HEAP%', 6, ({ now }) => pct(now.heap.usedBytes, now.heap.limitBytes)],
  ['NEW%', 6, ({ now }) => pct(now.heap.spaces.new_space?.usedBytes, now.heap.spaces.new_space?.sizeBytes)],
  ['OLD%', 6, ({ now }) => pct(now.heap.spaces.old_space?.usedBytes, now.heap.spaces.old_space?.sizeBytes)],
  ['HEAP-MB', 8, ({ now }) => (now.heap.usedBytes / MiB).toFixed(1)],
  ['RSS-MB', 8, ({ now }) => (now.process.rssBytes / MiB).toFixed(1)],
  ['SCV', 5, ({ d }) => String(d.gc.byType.scavenge.count)],
  ['MMS', 5, ({ d }) => String(d.gc.byType.minorMarkSweep.count)],
  ['MSC', 5, ({ d }) => String(d.gc.byType.markSweepCompact.count)],
  ['INC', 5, ({ d }) => String(d.gc.byType.incrementalMarking.count)],
  ['GCT-ms', 9, ({ d }) => (d.gc.pauseNs / 1e6).toFixed(2)],
  ['GC%', 6, ({ d }) => (d.intervalNs > 0 ? (d.gcCpuFraction * 100).toFixed(2) : '-')],
  ['ELU%', 6, ({ d }) => (d.loop.busyNs + d.loop.idleNs > 0 ? (d.loop.utilization * 100).toFixed(1) : '-')],
  ['DLY99-ms', 9, ({ loopDelay }) => (loopDelay.count > 0 ? (loopDelay.percentile(99) / 1e6).toFixed(2) : '-')],
  ['STL', 4, ({ now, before }) => (now.stall.enabled ? String(now.stall.count - before.stall.count) : '-')],
  ['STUCK-ms', 9, ({ now }) => (!now.stall.enabled ? '-' : now.stall.active === 1 ? (now.stall.durationNs / 1e6).toFixed(0) : '0')],
];

function pct(part: number | undefined, whole: number | undefined): string {
  return part !== undefined && whole !== undefined && whole > 0 ? ((part / whole) * 100).toFixed(2) : '-';
}

export const statHeader = (): string => COLUMNS.map(([t, w]) => t.padStart(w)).join(' ');
export const statLine = (iv: Interval): string => COLUMNS.map(([, w, f]) => f(iv).padStart(w)).join(' ');

export async function statCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { thread: { type: 'string' }, dir: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length > 3) throw new UsageError(`stat: unexpected argument ${JSON.stringify(positionals[3])} (stat <pid> [intervalMs] [count])`);
  const pid = parsePid('stat', positionals[0]);
  const intervalMs = positionals[1] === undefined ? 1000 : parseIntervalMs('stat', 'intervalMs', positionals[1]);
  const count = positionals[2] === undefined ? Infinity : parseCount('stat', 'count', positionals[2]);
  const threadId = parseThread('stat', values.thread);
  const dir = parseDir('stat', values.dir);
  const view = Sampler.open(pid, dir === undefined ? { threadId } : { threadId, dir });
  const who = `pid ${pid}${threadId === 0 ? '' : ` thread ${threadId}`}`;
  const gone = (): string => (view.alive ? `${who} closed its sampler` : `${who} is not running`);
  if (view.detached) {
    process.stderr.write(`runtime-sampler stat: ${gone()}; runtime-sampler postmortem ${view.path} prints its last state\n`);
    return 1;
  }
  const reader = new IntervalReader(view);
  const s = sleeper();
  const onSignal = (): void => s.stop();
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, onSignal);
  try {
    out(`${statHeader()}\n`);
    for (let n = 1; ; n++) {
      out(`${statLine(reader.next())}\n`);
      if (view.detached) {
        const rest = existsSync(view.path) ? `runtime-sampler postmortem ${view.path} prints the rest` : 'it removed its file as it ended';
        process.stderr.write(`runtime-sampler stat: ${gone()} (the last line is its final state; ${rest})\n`);
        return 1;
      }
      if (n >= count) return 0;
      await s.sleep(intervalMs);
      if (s.stopped) return 0;
    }
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    view.close();
  }
}
