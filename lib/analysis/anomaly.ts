// Anomaly detection: a robust baseline of one metric (median and MAD over a sliding learning
// window) and the test of each new value against it. Median and MAD, not mean and standard
// deviation, so that the outliers a runtime produces all the time (one long GC, one slow
// tick) neither fake an anomaly nor widen the band enough to hide a real one.
import type { History } from './history';

/** MAD × this estimates the standard deviation of normally distributed values. */
export const MAD_SCALE = 1.4826;
/** Values a baseline needs, however long it has learned, before it judges anything. */
export const MIN_BASELINE_SAMPLES = 5;
/** The most values one baseline keeps (bounds memory and the per-sample sort). */
export const MAX_BASELINE_SAMPLES = 4096;

export interface AnomalySettings {
  /** How many deviations (1.4826 × MAD, or the floors) from the median is anomalous. */
  sensitivity: number;
  /** The learning window, ms: the baseline is the values of the last learnMs. */
  learnMs: number;
  /**
   * The smallest deviation, as a fraction of |median|: a metric that hardly moves (MAD ≈ 0)
   * would otherwise flag the slightest change.
   */
  floor: number;
  /** The smallest deviation in the metric's unit (a median of 0 has no relative floor). */
  minDeviation: number;
  /** Which side is anomalous. */
  direction: 'above' | 'below' | 'both';
}

/** One judgement of a value against the baseline. */
export interface AnomalyCheck {
  /** Whether the baseline has learned long enough to judge. */
  ready: boolean;
  /** Whether the value is outside the band (false while not ready or for NaN). */
  anomalous: boolean;
  value: number;
  median: number;
  mad: number;
  /** The deviation unit used: max(1.4826 × MAD, floor × |median|, minDeviation). */
  scale: number;
  /** (value − median) / scale, signed. */
  deviations: number;
}

/**
 * A sliding baseline: the values of the last learnMs in a ring (at most `capacity`, sized
 * from the learning window and the sample interval), median and MAD recomputed per value.
 *
 * Anomalous values do not enter the baseline, so a sustained step stays anomalous rather
 * than becoming normal within a rule's `for`. The normal values of before the step still
 * age out, though: once a step has lasted about learnMs the ring holds fewer than
 * MIN_BASELINE_SAMPLES values, the baseline starts learning again from the new level
 * (judging nothing meanwhile), and the new level is normal from then on.
 */
export class AnomalyBaseline {
  private readonly values: Float64Array;
  private readonly times: Float64Array;
  private readonly scratch: Float64Array;
  private head = 0;
  private count = 0;
  /** When learning (re)started, ns; NaN before the first value. */
  private learnStartNs = NaN;

  constructor(readonly settings: Readonly<AnomalySettings>, intervalMs: number) {
    const capacity = Math.min(MAX_BASELINE_SAMPLES, Math.max(MIN_BASELINE_SAMPLES * 2, Math.ceil(settings.learnMs / Math.max(1, intervalMs)) + 1));
    this.values = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
    this.scratch = new Float64Array(capacity);
  }

  /** Values in the baseline now. */
  get size(): number {
    return this.count;
  }

  /** Forgets everything: the next value starts learning again. */
  reset(): void {
    this.head = 0;
    this.count = 0;
    this.learnStartNs = NaN;
  }

  /** Judges `value` (taken at `timeNs`, a monotonic clock) and, unless anomalous, learns it. */
  update(value: number, timeNs: number): AnomalyCheck {
    const s = this.settings;
    this.expire(timeNs - s.learnMs * 1e6);
    // A baseline that has lost (almost) every value to age (a step that lasted learnMs)
    // learns again from now, rather than judging by the last few values of before.
    if (this.count < MIN_BASELINE_SAMPLES && timeNs - this.learnStartNs >= s.learnMs * 1e6) this.reset();
    const ready = this.count >= MIN_BASELINE_SAMPLES && timeNs - this.learnStartNs >= s.learnMs * 1e6;
    let median = NaN;
    let mad = NaN;
    let scale = NaN;
    let deviations = NaN;
    let anomalous = false;
    if (this.count > 0) {
      median = this.median(this.count, (i) => this.at(i));
      mad = this.median(this.count, (i) => Math.abs(this.at(i) - median));
      scale = Math.max(MAD_SCALE * mad, s.floor * Math.abs(median), s.minDeviation);
      if (Number.isFinite(value)) {
        // scale is 0 only when every floor is 0 and the baseline is constant: any change is a deviation.
        deviations = scale > 0 ? (value - median) / scale : value === median ? 0 : Math.sign(value - median) * Infinity;
        anomalous = ready && (s.direction === 'above' ? deviations > s.sensitivity : s.direction === 'below' ? -deviations > s.sensitivity : Math.abs(deviations) > s.sensitivity);
      }
    }
    if (!Number.isFinite(value) || anomalous) return { ready, anomalous, value, median, mad, scale, deviations };
    if (Number.isNaN(this.learnStartNs)) this.learnStartNs = timeNs;
    this.push(value, timeNs);
    return { ready, anomalous, value, median, mad, scale, deviations };
  }

  private at(i: number): number {
    return this.values[(this.head + i) % this.values.length];
  }

  private push(value: number, timeNs: number): void {
    const cap = this.values.length;
    const i = (this.head + this.count) % cap;
    this.values[i] = value;
    this.times[i] = timeNs;
    if (this.count < cap) this.count++;
    else this.head = (this.head + 1) % cap;
  }

  private expire(beforeNs: number): void {
    while (this.count > 0 && this.times[this.head] < beforeNs) {
      this.head = (this.head + 1) % this.values.length;
      this.count--;
    }
  }

  private median(n: number, get: (i: number) => number): number {
    const a = this.scratch.subarray(0, n);
    for (let i = 0; i < n; i++) a[i] = get(i);
    a.sort();
    const mid = n >> 1;
    return n % 2 === 1 ? a[mid] : (a[mid - 1] + a[mid]) / 2;
  }
}

/** A metric judged anomalous now (pending or firing), as diagnose() lists it. */
export interface CurrentAnomaly {
  /** The rule that judges it. */
  rule: string;
  metric: string;
  severity: 'info' | 'warning' | 'critical';
  /** 'pending' while it has not held for the rule's `for` yet. */
  state: 'pending' | 'firing';
  value: number;
  /** The baseline's median and MAD. */
  median: number;
  mad: number;
  /** (value − median) / max(1.4826 × MAD, the floors), signed. */
  deviations: number;
  /** When it began (Date.now() ms). */
  since: number;
}

// Watchers register here what they judge anomalous, per history, so that diagnose() (which
// has no watcher) lists the anomalies of every watcher of the same sampler.
const sources = new WeakMap<History, Set<() => CurrentAnomaly[]>>();

/** @internal Adds a source of current anomalies to `history`; returns its removal. */
export function registerAnomalies(history: History, list: () => CurrentAnomaly[]): () => void {
  let set = sources.get(history);
  if (set === undefined) sources.set(history, (set = new Set()));
  set.add(list);
  return () => set.delete(list);
}

/** The anomalies every active watcher of `history` judges current, most deviant first. */
export function currentAnomalies(history: History): CurrentAnomaly[] {
  const out: CurrentAnomaly[] = [];
  for (const list of sources.get(history) ?? []) out.push(...list());
  return out.sort((a, b) => Math.abs(b.deviations) - Math.abs(a.deviations));
}
