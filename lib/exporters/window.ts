// The loop window shared by the exporters that publish loop-delay statistics and
// utilization as gauges (OpenTelemetry, the prom-client drop-in): nothing is reset by a
// read, so any number of readers see the same values at a given moment.
import type { Sampler } from '../sampler';
import type { Snapshot } from '../snapshot';
import { Histogram } from '../histogram';

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
  for (const [lower, upper, c] of h.buckets()) {
    const v = Math.min(h.max, Math.max(h.min, Math.sqrt(lower * upper)));
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
  private readonly busyNs: Float64Array;
  private readonly idleNs: Float64Array;
  private readonly snap: Snapshot;
  private readonly current: Histogram;
  private oldest = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly sampler: Sampler, windowMs: number) {
    const scale = sampler.histograms.loopDelay.scale;
    this.current = new Histogram(scale);
    this.starts = Array.from({ length: WINDOW_STEPS + 1 }, () => new Histogram(scale));
    this.busyNs = new Float64Array(WINDOW_STEPS + 1);
    this.idleNs = new Float64Array(WINDOW_STEPS + 1);
    this.snap = sampler.read();
    for (let i = 0; i <= WINDOW_STEPS; i++) this.record(i, this.snap);
    this.timer = setInterval(() => this.step(), windowMs / WINDOW_STEPS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The delay histogram of the window, ns. */
  delay(): Histogram {
    copyHistogram(this.current, this.sampler.histograms.loopDelay);
    return this.current.delta(this.starts[this.oldest]);
  }

  /** busy / (busy + idle) over the window; NaN before any loop time. */
  utilization(snap: Snapshot): number {
    const busy = snap.loop.busyNs - this.busyNs[this.oldest];
    const total = busy + snap.loop.idleNs - this.idleNs[this.oldest];
    return total > 0 ? busy / total : NaN;
  }

  private step(): void {
    if (this.sampler.closed) return;
    this.record(this.oldest, this.sampler.read(this.snap));
    this.oldest = (this.oldest + 1) % (WINDOW_STEPS + 1);
  }

  private record(slot: number, snap: Snapshot): void {
    copyHistogram(this.starts[slot], this.sampler.histograms.loopDelay);
    this.busyNs[slot] = snap.loop.busyNs;
    this.idleNs[slot] = snap.loop.idleNs;
  }
}

