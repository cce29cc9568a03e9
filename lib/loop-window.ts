// The loop window shared by the exporters that publish loop-delay statistics and
// utilization as gauges (OpenTelemetry, the prom-client drop-in) and by the monitor server's
// readiness checks: nothing is reset by a read, so any number of readers see the same values
// at a given moment. It lives outside exporters/ because the server uses it too.
import type { Readable } from './exporters/common';
import type { Snapshot } from './snapshot';
import { Histogram, INDEX_OFFSET, bucketIndex, bucketLowerBound } from './histogram';

/** The window advances in quarters: it always holds at least windowMs of data. */
const WINDOW_STEPS = 4;

/** Copies `src` (a histogram of this or another copy of the package) into `dst`, same scale. */
function copyHistogram(dst: Histogram, src: Histogram): Histogram {
  dst.counts.set(src.counts);
  const empty = src.count === 0;
  dst.setSummary(src.count, src.sum, empty ? 0 : src.min, empty ? 0 : src.max, src.zeroCount);
  return dst;
}

/** Standard deviation from the buckets (each value at its bucket's geometric middle) and the exact mean. */
export function stddev(h: Histogram): number {
  if (h.count === 0) return NaN;
  const mean = h.sum / h.count;
  let squares = h.zeroCount * mean * mean;
  const { counts, scale } = h;
  const min = h.min;
  const max = h.max;
  // Only min's to max's buckets can hold values (a window of loop delays spans a few dozen
  // of the ~2,800): a scrape computes this for every scraper.
  const from = min > 1 ? Math.max(0, bucketIndex(min, scale) - INDEX_OFFSET - 1) : 0;
  // One bucket of slack each way: a min or max on a bucket's lower bound belongs to the bucket below.
  const to = Math.min(counts.length - 1, bucketIndex(max, scale) - INDEX_OFFSET + 1);
  for (let i = from; i <= to; i++) {
    const c = counts[i];
    if (c === 0) continue;
    const index = i + INDEX_OFFSET;
    const v = Math.min(max, Math.max(min, Math.sqrt(bucketLowerBound(index, scale) * bucketLowerBound(index + 1, scale))));
    squares += c * (v - mean) * (v - mean);
  }
  return Math.sqrt(squares / h.count);
}

/**
 * The loop window: copies of the delay histogram and the busy/idle totals taken every
 * windowMs / 4; the oldest of WINDOW_STEPS + 1 copies is the window's start. Nothing is
 * reset, so any number of readers see the same values.
 */
export class LoopWindow {
  private readonly starts: Histogram[];
  private readonly startSnaps: Snapshot[];
  private readonly snap: Snapshot;
  private readonly current: Histogram;
  private oldest = 0;
  private readonly timer: NodeJS.Timeout;
  /** With the threadpool option: copies of the threadpool-delay histogram, as starts. */
  private readonly poolStarts: Histogram[] | null;
  private readonly poolCurrent: Histogram | null;

  constructor(private readonly sampler: Readable, windowMs: number, options: { threadpool?: boolean } = {}) {
    const scale = sampler.histograms.loopDelay.scale;
    this.current = new Histogram(scale);
    this.starts = Array.from({ length: WINDOW_STEPS + 1 }, () => new Histogram(scale));
    // Opt-in: five more histogram copies (~110 KB) that only the live page draws.
    const pool = options.threadpool === true ? sampler.histograms.threadpoolDelay : undefined;
    this.poolStarts = pool ? Array.from({ length: WINDOW_STEPS + 1 }, () => new Histogram(pool.scale)) : null;
    this.poolCurrent = pool ? new Histogram(pool.scale) : null;
    this.snap = sampler.read();
    this.startSnaps = Array.from({ length: WINDOW_STEPS + 1 }, () => sampler.read());
    for (let i = 0; i <= WINDOW_STEPS; i++) this.record(i, this.snap);
    this.timer = setInterval(() => this.step(), windowMs / WINDOW_STEPS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The delay histogram of the window, ns: a new histogram, or `into` overwritten (same scale). */
  delay(into?: Histogram): Histogram {
    const now = this.sampler.histograms.loopDelay;
    // The sampler's own copy when it is of this package's class (it stays as it is until
    // the next read of that histogram); else one more copy, into ours.
    const from = now instanceof Histogram && into !== undefined ? now : copyHistogram(this.current, now);
    return from.delta(this.starts[this.oldest], into);
  }

  /** The threadpool-delay histogram of the window, ns; null without the threadpool option. */
  threadpoolDelay(): Histogram | null {
    if (this.poolStarts === null || this.poolCurrent === null) return null;
    copyHistogram(this.poolCurrent, this.sampler.histograms.threadpoolDelay);
    return this.poolCurrent.delta(this.poolStarts[this.oldest]);
  }

  /** busy / (busy + idle) over the window; NaN before any loop time. */
  utilization(snap: Snapshot): number {
    const start = this.startSnaps[this.oldest];
    const busy = snap.loop.busyNs - start.loop.busyNs;
    const total = busy + snap.loop.idleNs - start.loop.idleNs;
    return total > 0 ? busy / total : NaN;
  }

  /** The snapshot at the window's start (for other interval values: delta(start(), now)). */
  start(): Snapshot {
    return this.startSnaps[this.oldest];
  }

  private step(): void {
    if (this.sampler.closed) return;
    this.record(this.oldest, this.sampler.read(this.snap));
    this.oldest = (this.oldest + 1) % (WINDOW_STEPS + 1);
  }

  private record(slot: number, snap: Snapshot): void {
    copyHistogram(this.starts[slot], this.sampler.histograms.loopDelay);
    if (this.poolStarts !== null) copyHistogram(this.poolStarts[slot], this.sampler.histograms.threadpoolDelay);
    this.startSnaps[slot].slots.set(snap.slots);
    this.startSnaps[slot].stallSlots.set(snap.stallSlots);
  }
}

