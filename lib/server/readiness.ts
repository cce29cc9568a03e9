// Readiness: thresholds on the runtime's vital signs over a recent window, with hysteresis
// so that a value hovering at a threshold does not flap /readyz between 200 and 503.
// By default only "cannot serve now" fails it — a stall in progress, the heap at its limit.
// Load signals (loop delay, utilization, GC CPU, RSS) are opt-in: a busy service that is
// serving fine must stay in rotation, or a readiness probe moves its load onto the other
// pods and the cascade begins. Set them for load shedding.
import type { Snapshot } from '../snapshot';
import type { Histogram } from '../histogram';
import { checkBoolean, checkKnownOptions, checkNumber, checkObject } from '../options';
import { FORECAST_CONFIDENCE } from '../analysis/stats';

export interface ReadinessThresholds {
  /** Loop delay p99 over the window, ms (default: none — opt-in load shedding). */
  loopDelayP99Ms?: number | null;
  /** Event-loop utilization over the window, 0–1 (default: none — opt-in load shedding). */
  elu?: number | null;
  /** Heap used / heap limit, 0–1 (default 0.9; null: no check). */
  heapUsedRatio?: number | null;
  /** Resident set size, bytes (default: none — opt-in load shedding). */
  rssBytes?: number | null;
  /** GC time on the JS thread / wall time over the window, 0–1 (default: none — opt-in load shedding). */
  gcCpuFraction?: number | null;
  /**
   * Seconds: fail while the memory forecast (forecastMemory()) reaches the heap's or the
   * container's limit sooner than this, with a confidence of at least 0.95 (default: none).
   * Bad BELOW the threshold; it passes again above threshold × (1 + hysteresis).
   */
  secondsToLimit?: number | null;
  /**
   * Fail while a stall is in progress (needs the sampler's watchdog), and while the loop
   * has not completed an iteration since the sampler started — under the preload, the app's
   * synchronous start-up, which is no stall but cannot serve either (default true).
   */
  stall?: boolean;
  /**
   * Hysteresis, 0–0.5 (default 0.1): a failing check passes again only once its value is
   * below threshold × (1 − hysteresis).
   */
  hysteresis?: number;
}

export type ResolvedThresholds = Required<ReadinessThresholds>;

/** The numeric thresholds; null means the value is reported but never fails readiness. */
export type ThresholdName = 'loopDelayP99Ms' | 'elu' | 'heapUsedRatio' | 'rssBytes' | 'gcCpuFraction' | 'secondsToLimit';

export const DEFAULT_THRESHOLDS: Readonly<ResolvedThresholds> = Object.freeze({
  loopDelayP99Ms: null,
  elu: null,
  heapUsedRatio: 0.9,
  rssBytes: null,
  gcCpuFraction: null,
  secondsToLimit: null,
  stall: true,
  hysteresis: 0.1,
});

const NAMES = ['loopDelayP99Ms', 'elu', 'heapUsedRatio', 'rssBytes', 'gcCpuFraction', 'secondsToLimit', 'stall', 'hysteresis'];
/** What each numeric threshold accepts, [min, max] (the environment's parsing uses them too). */
export const THRESHOLD_LIMITS: Readonly<Record<string, readonly [number, number]>> = {
  loopDelayP99Ms: [1, 3_600_000],
  elu: [0.01, 1],
  heapUsedRatio: [0.01, 1],
  rssBytes: [1, Number.MAX_SAFE_INTEGER],
  gcCpuFraction: [0.001, 1],
  secondsToLimit: [1, 31_536_000],
  hysteresis: [0, 0.5],
};

/** Validates thresholds; TypeError / RangeError naming the threshold, the value and what is accepted. */
export function resolveThresholds(t: ReadinessThresholds | undefined): ResolvedThresholds {
  if (t === undefined) return { ...DEFAULT_THRESHOLDS };
  checkObject('readiness thresholds', t);
  checkKnownOptions('readiness thresholds', t, NAMES);
  const out: ResolvedThresholds = { ...DEFAULT_THRESHOLDS };
  for (const [k, v] of Object.entries(t)) {
    if (v === undefined) continue;
    if (k === 'stall') {
      out.stall = checkBoolean('readiness.stall', v);
      continue;
    }
    const [min, max] = THRESHOLD_LIMITS[k];
    if (v === null && k !== 'hysteresis') {
      (out as unknown as Record<string, null>)[k] = null;
      continue;
    }
    (out as unknown as Record<string, number>)[k] = checkNumber(`readiness.${k}`, v, min, max, k === 'hysteresis' ? '' : ' (or null: no check)');
  }
  return out;
}

export interface ReadinessCheck {
  name: ThresholdName | 'stall' | 'startup';
  /** The value now (NaN when not measurable yet, e.g. no loop delay recorded). */
  value: number;
  /** null: reported only, no threshold set (it never fails). */
  threshold: number | null;
  ok: boolean;
}

export interface ReadinessReport {
  ready: boolean;
  /** The names of the failing checks. */
  failing: string[];
  checks: ReadinessCheck[];
}

/** What a window gives the checker: the delay histogram and the start of the window. */
export interface ReadinessInputs {
  now: Snapshot;
  /** The snapshot at the window's start (for ELU and the GC fraction). */
  windowStart: Snapshot;
  /** Loop delay recorded over the window, ns. */
  delay: Histogram;
  /** The memory forecast (forecastMemory()), when there is a history to make it from. */
  forecast?: { secondsToLimit: number; confidence: number } | null;
}

/** Evaluates the thresholds with hysteresis; keeps which checks are failing between calls. */
export class ReadinessChecker {
  readonly thresholds: ResolvedThresholds;
  private readonly failingNow = new Set<string>();

  constructor(thresholds?: ReadinessThresholds) {
    this.thresholds = resolveThresholds(thresholds);
  }

  evaluate({ now, windowStart, delay, forecast = null }: ReadinessInputs): ReadinessReport {
    const t = this.thresholds;
    const checks: ReadinessCheck[] = [];
    const add = (name: ThresholdName, value: number, threshold: number | null, below = false): void => {
      if (threshold === null) {
        checks.push({ name, value, threshold, ok: true });
        return;
      }
      const was = this.failingNow.has(name);
      // NaN (nothing measured yet) never fails a check.
      const failing = below
        ? (was ? !(value > threshold * (1 + t.hysteresis)) && !Number.isNaN(value) : value < threshold)
        : (was ? !(value < threshold * (1 - t.hysteresis)) && !Number.isNaN(value) : value > threshold);
      if (failing) this.failingNow.add(name);
      else this.failingNow.delete(name);
      checks.push({ name, value, threshold, ok: !failing });
    };
    add('loopDelayP99Ms', delay.count > 0 ? delay.percentile(99) / 1e6 : NaN, t.loopDelayP99Ms);
    const busy = now.loop.busyNs - windowStart.loop.busyNs;
    const idle = now.loop.idleNs - windowStart.loop.idleNs;
    add('elu', busy + idle > 0 ? busy / (busy + idle) : NaN, t.elu);
    add('heapUsedRatio', now.heap.limitBytes > 0 ? now.heap.usedBytes / now.heap.limitBytes : NaN, t.heapUsedRatio);
    add('rssBytes', now.process.rssBytes > 0 ? now.process.rssBytes : NaN, t.rssBytes);
    const interval = now.timeNs - windowStart.timeNs;
    // Pauses alone where incremental marking is not measured (the JavaScript backend).
    const gcNs = (s: Snapshot): number => (Number.isNaN(s.gc.mainThreadNs) ? s.gc.pauseNs : s.gc.mainThreadNs);
    add('gcCpuFraction', interval > 0 ? (gcNs(now) - gcNs(windowStart)) / interval : NaN, t.gcCpuFraction);
    // An unsure forecast is no forecast: a warm-up's rise must not take a pod out of rotation.
    if (forecast !== null) add('secondsToLimit', forecast.confidence >= FORECAST_CONFIDENCE ? forecast.secondsToLimit : NaN, t.secondsToLimit, true);
    if (t.stall && now.running && now.loop.iterations === 0) {
      checks.push({ name: 'startup', value: (now.timeNs - now.startNs) / 1e6, threshold: 0, ok: false });
    }
    if (t.stall && now.stall.enabled) {
      // No hysteresis: a stall is in progress or not.
      const active = now.stall.active;
      if (active) this.failingNow.add('stall');
      else this.failingNow.delete('stall');
      checks.push({ name: 'stall', value: active ? now.stall.durationNs / 1e6 : 0, threshold: 0, ok: !active });
    }
    const failing = checks.filter((c) => !c.ok).map((c) => c.name);
    return { ready: failing.length === 0, failing, checks };
  }
}
