// Leak detection from what survives mark-compacts. The heap right after a full GC is the
// only honest baseline: in between, garbage that has not been collected yet looks like
// growth. A leak raises that baseline steadily; a warm-up raises it and then stops; a
// steady workload wobbles around it. The test, on the old generation after each
// mark-compact in the window:
//   1. at least minMajorGcs points;
//   2. a robust upward trend: Theil–Sen slope > 0 and Mann–Kendall confidence ≥ confidence;
//   3. material growth: the fitted rise across the window ≥ max(minGrowthBytes,
//      minGrowthRatio × the fitted start);
//   4. still rising: the newer half of the points, fitted alone, rises by that much too
//      (max(minGrowthBytes, minGrowthRatio × start)), at least half as fast as the whole
//      window, and by more than three times its own scatter around its line (median
//      absolute residual): a warm-up that has levelled off fails this even while its ramp
//      is still in the window, and so does a plateau whose baseline wanders. (Half the
//      amount was not enough: objects allocated during incremental marking survive the
//      mark-compact that ends it, so a plateau's baseline wanders by the old-generation
//      allocation rate × the marking time — under load in CI, a warm-up's plateau rose
//      4 MiB across the newer half and was flagged.)
// and all four must hold at each of the last `confirmations` mark-compacts: the slope
// *stays* positive with confidence.
import type { MarkCompactRecord } from '../sampler';
import { medianInPlace, trend } from './stats';
import { plural } from '../format';
import { checkInteger, checkKnownOptions, checkNumber, checkObject } from '../options';

export interface LeakOptions {
  /** Mark-compacts the window needs before anything is suspected (4–256, default 5). */
  minMajorGcs?: number;
  /** Mann–Kendall confidence of the rise, 0.5–0.9999 (default 0.95). */
  confidence?: number;
  /** Fitted growth across the window relative to its fitted start, 0–10 (default 0.1). */
  minGrowthRatio?: number;
  /**
   * Fitted growth across the window and across its newer half, bytes (default 8 MiB: the
   * baseline of a small heap can wander a few MiB; over a 10-minute window this still
   * finds a leak of 28 KiB/s).
   */
  minGrowthBytes?: number;
  /** Consecutive mark-compacts at which every criterion must hold, 1–32 (default 2). */
  confirmations?: number;
}

export const DEFAULT_LEAK_OPTIONS: Readonly<Required<LeakOptions>> = Object.freeze({
  minMajorGcs: 5,
  confidence: 0.95,
  minGrowthRatio: 0.1,
  minGrowthBytes: 8 * 1024 * 1024,
  confirmations: 2,
});

const LIMITS: Record<keyof LeakOptions, [number, number, boolean]> = {
  minMajorGcs: [4, 256, true],
  confidence: [0.5, 0.9999, false],
  minGrowthRatio: [0, 10, false],
  minGrowthBytes: [0, Number.MAX_SAFE_INTEGER, false],
  confirmations: [1, 32, true],
};

/** The newer half of the points must rise at least this share as fast as all of them. */
const RECENT_SHARE = 0.5;

/** The newest mark-compacts fitted at most (the fit is O(n²)). */
const MAX_LEAK_POINTS = 64;

export interface LeakReport {
  /** Whether the old generation keeps growing after mark-compacts. */
  suspected: boolean;
  /** Theil–Sen slope of the old generation after mark-compacts, bytes per second (NaN with < 2). */
  slopeBytesPerSec: number;
  /** Mann–Kendall confidence that it rises, 0–1 (0.5: no trend). */
  confidence: number;
  /** Mark-compacts in the window (the points fitted, at most 64). */
  majorGcs: number;
  /** The fitted old generation after the newest mark-compact, bytes (NaN with none). */
  baselineBytes: number;
  /** The fitted rise across the window, bytes. */
  growthBytes: number;
  /** The slope over the newer half of the points, bytes per second. */
  recentSlopeBytesPerSec: number;
  /** Why it is or is not suspected, one line. */
  reason: string;
}

/** Validates leak options; TypeError / RangeError naming the option and what it accepts. */
export function resolveLeakOptions(o: unknown): Required<LeakOptions> {
  if (o === undefined) return { ...DEFAULT_LEAK_OPTIONS };
  const given = checkObject('leak options', o);
  checkKnownOptions('leak options', given, Object.keys(LIMITS));
  const out = { ...DEFAULT_LEAK_OPTIONS };
  for (const [k, [min, max, integer]] of Object.entries(LIMITS) as [keyof LeakOptions, [number, number, boolean]][]) {
    const v = given[k];
    if (v === undefined) continue;
    out[k] = integer ? checkInteger(`leak.${k}`, v, min, max) : checkNumber(`leak.${k}`, v, min, max);
  }
  return out;
}

interface Verdict {
  ok: boolean;
  reason: string;
}

const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;

function judge(ts: number[], ys: number[], o: Required<LeakOptions>): Verdict & ReturnType<typeof fitOf> {
  const fit = fitOf(ts, ys);
  const n = ts.length;
  if (n < o.minMajorGcs) return { ...fit, ok: false, reason: `${plural(n, 'mark-compact')} in the window, ${o.minMajorGcs} needed` };
  if (!(fit.slope > 0) || fit.confidence < o.confidence) {
    return { ...fit, ok: false, reason: `no steady rise (confidence ${fit.confidence.toFixed(3)} < ${o.confidence})` };
  }
  const needed = Math.max(o.minGrowthBytes, o.minGrowthRatio * fit.start);
  if (fit.growth < needed) {
    return { ...fit, ok: false, reason: `rises ${mib(fit.growth)} across the window, below the ${mib(needed)} that counts` };
  }
  if (!(fit.recent >= RECENT_SHARE * fit.slope) || !(fit.recentGrowth >= Math.max(needed, 3 * fit.recentScatter))) {
    return { ...fit, ok: false, reason: `the rise has levelled off (the newer half of the window rises ${mib(fit.recentGrowth)}): a warm-up?` };
  }
  return {
    ...fit,
    ok: true,
    reason: `the old generation after mark-compacts rose ${mib(fit.growth)} over ${plural(n, 'mark-compact')} (confidence ${fit.confidence.toFixed(3)})`,
  };
}

function fitOf(ts: number[], ys: number[]) {
  const all = trend(ts, ys);
  const half = Math.ceil(ts.length / 2);
  const rt = ts.slice(-half);
  const ry = ys.slice(-half);
  const r = ts.length >= 4 ? trend(rt, ry) : null;
  // The newer half's scatter: the median absolute residual around its own line.
  const scatter = r === null ? NaN : medianInPlace(rt.map((t, i) => Math.abs(ry[i] - (r.start + r.slope * (t - rt[0])))));
  return {
    recentGrowth: r === null ? NaN : r.end - r.start,
    recentScatter: scatter,
    slope: all.slope,
    confidence: all.confidence,
    start: all.start,
    end: all.end,
    growth: all.end - all.start,
    recent: r === null ? NaN : r.slope,
  };
}

/**
 * Judges the mark-compacts (oldest first) that ended at or after `sinceNs`: see the
 * module comment for the test.
 */
export function detectLeak(records: readonly MarkCompactRecord[], sinceNs: number, options: Required<LeakOptions>): LeakReport {
  const inWindow = records.filter((r) => r.endNs >= sinceNs).slice(-MAX_LEAK_POINTS);
  const ts = inWindow.map((r) => r.endNs / 1e9);
  const ys = inWindow.map((r) => r.oldGenerationBytes);
  const last = judge(ts, ys, options);
  let suspected = last.ok;
  for (let k = 1; suspected && k < options.confirmations; k++) {
    if (!judge(ts.slice(0, -k), ys.slice(0, -k), options).ok) suspected = false;
  }
  const n = ts.length;
  return {
    suspected,
    slopeBytesPerSec: n >= 2 ? last.slope : NaN,
    confidence: n >= 2 ? last.confidence : 0.5,
    majorGcs: n,
    baselineBytes: n > 0 ? (n >= 2 ? last.end : ys[0]) : NaN,
    growthBytes: n >= 2 ? last.growth : 0,
    recentSlopeBytesPerSec: last.recent,
    reason: last.ok && !suspected ? `${last.reason}, but not yet at ${plural(options.confirmations, 'mark-compact')} in a row` : last.reason,
  };
}
