// A sampler's history: a fixed-size ring of periodic snapshots, sparse copies of the
// window-able histograms, and the mark-compacts with the heap right after each (from the
// block's mark-compact log, so a view on another thread has them too). diagnose() and
// watchers read windows of it; nothing here is allocated per sample once the ring is full
// except the sparse histogram copies, which are small.
import { Histogram } from '../histogram';
import { GC_TYPES, Snapshot } from '../snapshot';
import { startOf } from '../delta';
import { SamplerReader } from '../sampler';
import type { MarkCompactRecord, SamplerHistograms } from '../sampler';

/** What a history reads: a Sampler or a SamplerView. */
export interface HistorySource {
  readonly closed: boolean;
  readonly heapSpaceNames: readonly string[];
  readonly histograms: SamplerHistograms;
  read(into?: Snapshot): Snapshot;
  markCompacts(afterIndex?: number): MarkCompactRecord[];
}

export interface HistoryOptions {
  /** Time between samples, ms. */
  intervalMs: number;
  /** Samples kept: the longest window is capacity × intervalMs. */
  capacity: number;
}

/** The histograms a window can be taken of (names as in sampler.histograms). */
export const WINDOW_HISTOGRAMS: readonly string[] = Object.freeze([
  'gcPause',
  ...GC_TYPES.map((t) => `gcPauseByType.${t}`),
  'loopDelay',
  'loopIteration',
  'threadpoolDelay',
]);

/** Histograms are copied every HISTOGRAM_EVERY samples (a window's start rounds down to one). */
export const HISTOGRAM_EVERY = 5;
/** Mark-compacts kept (with the heap after each), however long ago. */
export const MARK_COMPACTS_KEPT = 256;

/** A histogram's non-empty buckets and summary at one moment. */
interface SparseHistogram {
  count: number;
  sum: number;
  zeroCount: number;
  index: Uint32Array;
  counts: Float64Array;
}

interface Checkpoint {
  timeNs: number;
  histograms: SparseHistogram[];
}

function histogramOf(h: SamplerHistograms, name: string): Histogram {
  if (name.startsWith('gcPauseByType.')) return h.gcPauseByType[name.slice(14) as keyof SamplerHistograms['gcPauseByType']];
  return h[name as 'gcPause' | 'loopDelay' | 'loopIteration' | 'threadpoolDelay'];
}

function sparse(h: Histogram): SparseHistogram {
  let n = 0;
  const c = h.counts;
  for (let i = 0; i < c.length; i++) if (c[i] !== 0) n++;
  const index = new Uint32Array(n);
  const counts = new Float64Array(n);
  n = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] !== 0) {
      index[n] = i;
      counts[n++] = c[i];
    }
  }
  return { count: h.count, sum: h.sum, zeroCount: h.zeroCount, index, counts };
}

/** One window of history: its first and last sample (the first may be the sampler's start). */
export interface HistoryWindow {
  /** The sample the window starts at (a zeroed snapshot at the sampler's start when `fromStart`). */
  start: Snapshot;
  end: Snapshot;
  /** Whether the window begins at the sampler's start (counters from 0). */
  fromStart: boolean;
  /** end.timeNs − start.timeNs. */
  intervalNs: number;
}

export class History {
  readonly intervalMs: number;
  readonly capacity: number;
  private readonly snaps: Snapshot[] = [];
  /** Index of the oldest sample in `snaps` once the ring is full. */
  private head = 0;
  private readonly checkpoints: Checkpoint[] = [];
  private readonly maxCheckpoints: number;
  private samples = 0;
  private readonly mcs: MarkCompactRecord[] = [];
  private lastMcIndex = 0;
  private missedMcs = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(snap: Snapshot) => void>();

  /** @internal Use sampler.history. */
  constructor(private readonly source: HistorySource, options: HistoryOptions) {
    this.intervalMs = options.intervalMs;
    this.capacity = options.capacity;
    this.maxCheckpoints = Math.ceil(this.capacity / HISTOGRAM_EVERY) + 1;
    this.sample();
    this.timer = setInterval(() => {
      if (this.source.closed) {
        this.stop();
        return;
      }
      this.sample();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Whether it is still sampling (it stops when its sampler closes). */
  get active(): boolean {
    return this.timer !== null;
  }

  /** Samples held (at most capacity). */
  get length(): number {
    return this.snaps.length;
  }

  /** The longest window it serves, ms: capacity × intervalMs (the oldest sample is one interval younger). */
  get spanMs(): number {
    return this.capacity * this.intervalMs;
  }

  /** Mark-compacts the log overwrote before they were taken (more than 32 between two samples). */
  get missedMarkCompacts(): number {
    return this.missedMcs;
  }

  /** The i-th sample, oldest first. */
  at(i: number): Snapshot {
    return this.snaps[(this.head + i) % this.snaps.length];
  }

  /** The newest sample. */
  latest(): Snapshot {
    return this.at(this.snaps.length - 1);
  }

  /**
   * Takes a sample now (the timer does this every intervalMs) and calls the listeners
   * (watchers) with it. Returns the sample; it is reused once the ring wraps around.
   */
  sample(): Snapshot {
    let snap: Snapshot;
    if (this.snaps.length < this.capacity) {
      snap = this.source.read();
      this.snaps.push(snap);
    } else {
      snap = this.source.read(this.snaps[this.head]);
      this.head = (this.head + 1) % this.capacity;
    }
    if (this.samples % HISTOGRAM_EVERY === 0) this.checkpoint(snap.timeNs);
    this.samples++;
    this.takeMarkCompacts();
    for (const l of this.listeners) l(snap);
    return snap;
  }

  /** Calls `listener` after every sample. Returns a function that removes it. */
  onSample(listener: (snap: Snapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops sampling; what was taken stays readable. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * The window that ends at the newest sample (or `end`, a newer snapshot) and starts windowMs earlier: at the oldest
   * sample at least windowMs old, or at the sampler's start (counters from 0) when that
   * is within the window and older than every sample, or else at the oldest sample.
   */
  window(windowMs: number, end: Snapshot = this.latest()): HistoryWindow {
    const target = end.timeNs - windowMs * 1e6;
    const first = this.at(0);
    let start: Snapshot;
    let fromStart = false;
    if (first.timeNs > target && this.preferStart(end, first.timeNs, windowMs)) {
      start = startOf(end);
      fromStart = true;
    } else {
      // The newest sample at or before the target (samples are in time order).
      let lo = 0;
      let hi = this.snaps.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.at(mid).timeNs <= target) lo = mid;
        else hi = mid - 1;
      }
      start = this.at(lo);
    }
    return { start, end, fromStart, intervalNs: end.timeNs - start.timeNs };
  }

  /**
   * When the history does not reach back windowMs: whether the sampler's start (counters
   * from 0) is a better start than the oldest copy at `oldestNs` — the one whose span is
   * nearer the window's, by ratio.
   */
  private preferStart(end: Snapshot, oldestNs: number, windowMs: number): boolean {
    if (!(end.startNs > 0) || end.startNs >= oldestNs) return false;
    const want = windowMs * 1e6;
    const fromOldest = end.timeNs - oldestNs;
    const fromStart = end.timeNs - end.startNs;
    if (fromOldest <= 0) return true;
    return Math.abs(Math.log(fromStart / want)) < Math.abs(Math.log(fromOldest / want));
  }

  /** The samples taken at or after `sinceNs`, oldest first. */
  samplesSince(sinceNs: number): Snapshot[] {
    const out: Snapshot[] = [];
    for (let i = 0; i < this.snaps.length; i++) {
      const s = this.at(i);
      if (s.timeNs >= sinceNs) out.push(s);
    }
    return out;
  }

  /**
   * A histogram of what was recorded in the window: now minus the newest copy at or
   * before windowMs ago (or the sampler's start, or the oldest copy). `startNs` says
   * where it begins.
   */
  histogram(name: string, windowMs: number, end: Snapshot = this.latest()): { histogram: Histogram; startNs: number } {
    const current = histogramOf(this.source.histograms, name);
    if (current === undefined) throw new RangeError(`no window histogram named ${JSON.stringify(name)}; one of ${WINDOW_HISTOGRAMS.join(', ')}`);
    const target = end.timeNs - windowMs * 1e6;
    let cp: Checkpoint | undefined;
    for (const c of this.checkpoints) {
      if (c.timeNs <= target) cp = c;
      else break;
    }
    if (cp === undefined) {
      const oldest = this.checkpoints[0];
      if (oldest === undefined || this.preferStart(end, oldest.timeNs, windowMs)) {
        return { histogram: current, startNs: end.startNs };
      }
      cp = oldest;
    }
    const older = cp.histograms[WINDOW_HISTOGRAMS.indexOf(name)];
    const base = new Histogram(current.scale);
    for (let i = 0; i < older.index.length; i++) base.counts[older.index[i]] = older.counts[i];
    base.setSummary(older.count, older.sum, current.min, current.max, older.zeroCount);
    // A histogram that had more in an older copy belongs to another sampler: start over.
    if (older.count > current.count) return { histogram: current, startNs: end.startNs };
    return { histogram: current.delta(base), startNs: cp.timeNs };
  }

  /** Mark-compacts that ended at or after `sinceNs` (all kept ones without it), oldest first. */
  markCompacts(sinceNs = 0): MarkCompactRecord[] {
    return this.mcs.filter((m) => m.endNs >= sinceNs);
  }

  private checkpoint(timeNs: number): void {
    const histograms = WINDOW_HISTOGRAMS.map((n) => sparse(histogramOf(this.source.histograms, n)));
    this.checkpoints.push({ timeNs, histograms });
    if (this.checkpoints.length > this.maxCheckpoints) this.checkpoints.shift();
  }

  /** Takes the mark-compacts logged since the last sample (diagnose() does, before it reads). */
  syncMarkCompacts(): void {
    this.takeMarkCompacts();
  }

  private takeMarkCompacts(): void {
    const fresh = this.source.markCompacts(this.lastMcIndex);
    if (fresh.length === 0) return;
    const first = fresh[0].index;
    if (this.lastMcIndex > 0 && first > this.lastMcIndex + 1) this.missedMcs += first - this.lastMcIndex - 1;
    for (const m of fresh) this.mcs.push(m);
    this.lastMcIndex = fresh[fresh.length - 1].index;
    if (this.mcs.length > MARK_COMPACTS_KEPT) this.mcs.splice(0, this.mcs.length - MARK_COMPACTS_KEPT);
  }
}

const HISTORY = {};

/** A sampler's (or view's) history, made on first use and stopped when the sampler closes. */
export function historyOf(source: SamplerReader): History {
  return source.attachment(HISTORY, () => new History(source, source.options.history));
}

// `sampler.history`, the public name, is defined here: analysis attaches to a sampler and the
// sampler does not depend on analysis. Every module that reads a history imports this one.
declare module '../sampler' {
  interface SamplerReader {
    /**
     * The history diagnose() and watchers read: snapshots every options.history.intervalMs,
     * the last options.history.capacity of them. Created (and begun) on first access; it
     * stops when this object closes.
     */
    readonly history: History;
  }
}
Object.defineProperty(SamplerReader.prototype, 'history', {
  get(this: SamplerReader): History {
    return historyOf(this);
  },
  configurable: true,
});
