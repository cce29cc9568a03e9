// Robust trend statistics for short, noisy series: the Theil–Sen slope (the median of the
// pairwise slopes: one outlier in three points cannot move it) and the Mann–Kendall test
// (is the series monotonic at all, and how sure can we be?). Both are rank-based, so a
// single huge GC outlier or a skewed distribution does not fake a trend.

/**
 * The Mann–Kendall confidence a memory forecast needs before anything acts on it (diagnose,
 * /readyz, the built-in rules). Here, in a module with no imports, so that /readyz's
 * settings can name it without loading the sampler.
 */
export const FORECAST_CONFIDENCE = 0.95;

/** The median of `values` (sorted in place). NaN when empty. */
export function medianInPlace(values: number[]): number {
  const n = values.length;
  if (n === 0) return NaN;
  values.sort((a, b) => a - b);
  const mid = n >> 1;
  return n % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

export interface TrendFit {
  /** Points used. */
  n: number;
  /** Theil–Sen slope: the median of the pairwise slopes, y units per x unit. */
  slope: number;
  /** The line's value at the first x: median(y − slope·x) evaluated at x[0]. */
  start: number;
  /** The line's value at the last x. */
  end: number;
  /** Mann–Kendall S: concordant minus discordant pairs. */
  s: number;
  /**
   * One-sided confidence that y rises with x, 0–1: Φ(Z) of the Mann–Kendall test (normal
   * approximation with continuity and tie correction). 0.5 for no trend at all; near 0
   * for a falling series.
   */
  confidence: number;
}

/** Φ, the standard normal CDF (Abramowitz–Stegun 7.1.26 through erf; error < 1.5e-7). */
export function normalCdf(z: number): number {
  if (z === 0) return 0.5;
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * Theil–Sen slope and Mann–Kendall confidence of y over x (x strictly increasing is not
 * required; pairs with equal x are skipped for the slope). O(n²): meant for at most a few
 * hundred points.
 */
export function trend(xs: ArrayLike<number>, ys: ArrayLike<number>): TrendFit {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) {
    return { n, slope: NaN, start: n === 1 ? ys[0] : NaN, end: n === 1 ? ys[0] : NaN, s: 0, confidence: 0.5 };
  }
  const slopes: number[] = [];
  let s = 0;
  for (let i = 0; i < n - 1; i++) {
    for (let j = i + 1; j < n; j++) {
      const dy = ys[j] - ys[i];
      const dx = xs[j] - xs[i];
      // Kendall's S over time order (x order).
      const sign = Math.sign(dy) * Math.sign(dx);
      s += sign;
      if (dx !== 0) slopes.push(dy / dx);
    }
  }
  const slope = medianInPlace(slopes);
  const residuals: number[] = [];
  for (let i = 0; i < n; i++) residuals.push(ys[i] - slope * xs[i]);
  const intercept = medianInPlace(residuals);
  // Variance of S with the tie correction for groups of equal y.
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(ys[i], (counts.get(ys[i]) ?? 0) + 1);
  let ties = 0;
  for (const t of counts.values()) if (t > 1) ties += t * (t - 1) * (2 * t + 5);
  const variance = (n * (n - 1) * (2 * n + 5) - ties) / 18;
  let z = 0;
  if (variance > 0) {
    if (s > 0) z = (s - 1) / Math.sqrt(variance);
    else if (s < 0) z = (s + 1) / Math.sqrt(variance);
  }
  return {
    n,
    slope: Number.isFinite(slope) ? slope : NaN,
    start: intercept + slope * xs[0],
    end: intercept + slope * xs[n - 1],
    s,
    confidence: normalCdf(z),
  };
}
