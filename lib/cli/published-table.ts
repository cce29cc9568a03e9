// What `top` and `stat` show of published processes: each value over the interval between
// two readings of a process's block — delta() for the counters (GC CPU fraction, loop
// utilization, GC counts and time), the histograms' own delta() for the interval's
// percentiles — as diagnose() and the live page compute their windows. A process's first
// reading has nothing before it: its values then cover the time since its sampler started.
import { delta, startOf, SnapshotDelta } from '../delta';
import { Histogram } from '../histogram';
import { listPublished } from '../published';
import { PublishedView, Sampler } from '../sampler';
import type { Snapshot } from '../snapshot';

/** One reading of a process and what happened since the one before. */
export interface Interval {
  /** The reading now. */
  now: Snapshot;
  /** The reading before it, or the sampler's start (counters 0) when `fromStart`. */
  before: Snapshot;
  /** What happened in between. */
  d: SnapshotDelta;
  /** Whether this is the first reading: the interval began when the sampler started. */
  fromStart: boolean;
  /** GC pauses of the interval, ns. */
  gcPause: Histogram;
  /** Loop delay samples of the interval, ns. */
  loopDelay: Histogram;
}

/**
 * Reads one process's block at each next() and returns the interval since the previous
 * one. The snapshots it returns are reused by the call after next: use them before then.
 */
export class IntervalReader {
  private before: Snapshot | null = null;
  private spare: Snapshot | undefined;
  private gcBefore: Histogram | null = null;
  private delayBefore: Histogram | null = null;
  private readonly gcNow: Histogram;
  private readonly delayNow: Histogram;

  constructor(readonly view: PublishedView) {
    this.gcNow = new Histogram(view.options.histogramScale);
    this.delayNow = new Histogram(view.options.histogramScale);
  }

  next(): Interval {
    const now = this.view.read(this.spare);
    this.gcNow.copyFrom(this.view.histograms.gcPause);
    this.delayNow.copyFrom(this.view.histograms.loopDelay);
    let iv: Interval | null = null;
    const before = this.before;
    if (before !== null && this.gcBefore !== null && this.delayBefore !== null) {
      try {
        iv = { now, before, d: delta(before, now), fromStart: false, gcPause: this.gcNow.delta(this.gcBefore), loopDelay: this.delayNow.delta(this.delayBefore) };
      } catch {
        // Counters that went backwards (a block someone rewrote): start over from its start.
        iv = null;
      }
    }
    if (iv === null) {
      const start = startOf(now);
      iv = { now, before: start, d: delta(start, now), fromStart: true, gcPause: this.gcNow.clone(), loopDelay: this.delayNow.clone() };
    }
    // The reading now is the next one's `before`; the old `before` is refilled next time.
    this.spare = this.before ?? undefined;
    this.before = now;
    (this.gcBefore ??= new Histogram(this.gcNow.scale)).copyFrom(this.gcNow);
    (this.delayBefore ??= new Histogram(this.delayNow.scale)).copyFrom(this.delayNow);
    return iv;
  }
}

/** A process's line in top. NaN where the interval has no value (no GC, no loop time). */
export interface ProcessRow {
  pid: number;
  threadId: number;
  title: string;
  path: string;
  heapUsedBytes: number;
  heapLimitBytes: number;
  rssBytes: number;
  /** GC time on the JS thread / wall time (pauses and incremental marking), 0–1. */
  gcCpuFraction: number;
  gcPauseP99Ns: number;
  /** Event-loop utilization, 0–1. */
  elu: number;
  loopDelayP99Ns: number;
  /** Whether a watchdog watches the loop (stalls are only seen then). */
  watchdog: boolean;
  /** How long the stall in progress has lasted, ns (0: none). */
  stallNs: number;
  /** Stalls that have ended, since the start. */
  stalls: number;
  /** Whether the values cover the time since the sampler started (a first reading). */
  fromStart: boolean;
}

export function rowOf(view: PublishedView, iv: Interval): ProcessRow {
  const { now, d } = iv;
  const loopNs = d.loop.busyNs + d.loop.idleNs;
  return {
    pid: view.pid,
    threadId: view.threadId,
    title: view.title,
    path: view.path,
    heapUsedBytes: now.heap.usedBytes,
    heapLimitBytes: now.heap.limitBytes,
    rssBytes: now.process.rssBytes,
    gcCpuFraction: d.intervalNs > 0 ? d.gcCpuFraction : NaN,
    gcPauseP99Ns: iv.gcPause.percentile(99),
    elu: loopNs > 0 ? d.loop.utilization : NaN,
    loopDelayP99Ns: iv.loopDelay.percentile(99),
    watchdog: now.stall.enabled,
    stallNs: now.stall.active === 1 ? now.stall.durationNs : 0,
    stalls: now.stall.count,
    fromStart: iv.fromStart,
  };
}

/** What one refresh of the directory found. */
export interface TableState {
  /** Running processes' rows, in no particular order. */
  rows: ProcessRow[];
  /** Files left by processes that are gone (postmortem reads them). */
  dead: number;
  /** Files of threads that closed their sampler while their process runs on. */
  closed: number;
  /** Files that cannot be read (another version's, malformed, not ours), and processes that vanished mid-read. */
  unreadable: number;
}

/**
 * The running published processes of a directory, each with its own IntervalReader:
 * processes appear and disappear between refreshes, a file that cannot be read or a
 * process that exits mid-read is counted, never thrown.
 */
export class PublishedTable {
  private readonly readers = new Map<string, IntervalReader>();

  constructor(private readonly dir: string | undefined) {}

  refresh(): TableState {
    const state: TableState = { rows: [], dead: 0, closed: 0, unreadable: 0 };
    const seen = new Set<string>();
    for (const p of listPublished(this.dir === undefined ? {} : { dir: this.dir })) {
      if (p.error !== undefined) {
        state.unreadable++;
        continue;
      }
      if (!p.alive) {
        state.dead++;
        continue;
      }
      if (p.writerClosed) {
        state.closed++;
        continue;
      }
      // The same name may be a new process's after pid reuse: the start time tells.
      const key = `${p.path}@${p.startedAt?.getTime() ?? 0}`;
      seen.add(key);
      try {
        let reader = this.readers.get(key);
        if (reader === undefined) this.readers.set(key, (reader = new IntervalReader(Sampler.open(p.path))));
        const iv = reader.next();
        if (reader.view.detached) {
          // It exited (or closed its sampler) after the listing: gone from the table.
          this.readers.delete(key);
          if (reader.view.alive) state.closed++;
          else state.dead++;
          continue;
        }
        state.rows.push(rowOf(reader.view, iv));
      } catch {
        this.readers.delete(key);
        state.unreadable++;
      }
    }
    for (const [key, reader] of this.readers) {
      if (seen.has(key)) continue;
      reader.view.close();
      this.readers.delete(key);
    }
    return state;
  }

  close(): void {
    for (const reader of this.readers.values()) reader.view.close();
    this.readers.clear();
  }
}
