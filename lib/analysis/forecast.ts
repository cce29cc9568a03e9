// forecastMemory(): how long until this process runs out of memory, from the trend of the
// memory that counts against each limit over a window of the sampler's history:
//  - the V8 heap: the old generation right after each mark-compact (the leak detector's
//    honest baseline: in between, uncollected garbage looks like growth) against the heap
//    limit less the young generation (what the old generation can grow into before V8
//    gives up with "heap out of memory");
//  - the container: its cgroup's working set (usage less inactive file pages) against the
//    cgroup's hard memory limit (the kernel OOM-kills at that limit, long before the heap's
//    when the heap is large). Not the usage itself: it counts page cache the kernel
//    reclaims before it kills anything, so a service that writes logs would seem forever
//    at its limit. Not the process's RSS alone either: every process of the container is
//    charged, and memory the process touched before it joined the cgroup is not. RSS only
//    where the cgroup gives no working set.
// Each trend is a Theil–Sen slope with a Mann–Kendall confidence (analysis/stats.ts): one
// GC's dip or a spike of RSS cannot move it. The forecast is the limit reached first.
import type { Snapshot } from '../snapshot';
import type { History } from './history';
// Defines sampler.history: loaded wherever one is read.
import './history';
import { FORECAST_CONFIDENCE, trend } from './stats';

export { FORECAST_CONFIDENCE };
import { closedError, describeValue } from '../errors';
import { checkInteger, checkKnownOptions, checkObject } from '../options';

export interface ForecastOptions {
  /** The window the trends are fitted over, ms (1000 to the history's span; default 10 minutes or the span if shorter). */
  windowMs?: number;
}

/** One limit's forecast. */
export interface LimitForecast {
  /** The limit, bytes. */
  limitBytes: number;
  /** What counts against it now, bytes: the old generation after the newest mark-compact (heap), or the cgroup's working set (container; RSS where the cgroup gives none). */
  usedBytes: number;
  /** The fitted growth, bytes per second (NaN: fewer than 2 points). */
  slopeBytesPerSecond: number;
  /** Seconds until the fitted line reaches the limit: Infinity when it does not rise, 0 when at or past it. */
  secondsToLimit: number;
  /** Mann–Kendall confidence that the series rises, 0–1 (0.5: no trend either way; 0: too few points). */
  confidence: number;
  /** The points fitted (mark-compacts, or history samples). */
  points: number;
}

export interface MemoryForecast extends LimitForecast {
  /** Which limit comes first: the V8 heap's or the container's memory limit. */
  limitKind: 'heap' | 'container';
  /** The heap's forecast. */
  heap: LimitForecast;
  /** The container's forecast; null when the process has no container memory limit (or it is not known). */
  container: LimitForecast | null;
  window: {
    /** The window asked for, ms. */
    requestedMs: number;
    /** The time the samples cover, ms (shorter while the history is young). */
    ms: number;
  };
}

/** What forecastMemory() takes: a Sampler, a SamplerView, a PublishedView or an aggregate with a history. */
export interface Forecastable {
  readonly closed: boolean;
  readonly history: History;
  read(into?: Snapshot): Snapshot;
}

/** Points fitted at most per series (the fit is O(n²)); longer series are thinned evenly. */
const MAX_POINTS = 120;
/** The default window: long enough that a warm-up does not read as a trend for long. */
const DEFAULT_WINDOW_MS = 600_000;

/** @internal The default window over `history`: 10 minutes, or its span if shorter. */
export function defaultForecastWindowMs(history: History): number {
  return Math.min(DEFAULT_WINDOW_MS, history.spanMs);
}

function thin<T>(xs: T[]): T[] {
  if (xs.length <= MAX_POINTS) return xs;
  const out: T[] = [];
  for (let i = 0; i < MAX_POINTS; i++) out.push(xs[Math.round((i * (xs.length - 1)) / (MAX_POINTS - 1))]);
  return out;
}

/** The fitted line's time to `limit` from `nowS`, given points (seconds, bytes). */
function fit(ts: number[], ys: number[], limitBytes: number, usedBytes: number, nowS: number): LimitForecast {
  const n = ts.length;
  const f = trend(ts, ys);
  const slope = n >= 2 ? f.slope : NaN;
  const confidence = n >= 2 ? f.confidence : 0;
  let secondsToLimit = Infinity;
  if (usedBytes >= limitBytes) {
    secondsToLimit = 0;
  } else if (slope > 0) {
    // The line at now (its fitted value carries on from the newest point).
    const at = f.end + slope * (nowS - ts[n - 1]);
    secondsToLimit = Math.max(0, (limitBytes - Math.max(at, usedBytes)) / slope);
  }
  return { limitBytes, usedBytes, slopeBytesPerSecond: slope, secondsToLimit, confidence, points: n };
}

/** @internal The old generation: every heap space but the young ones. */
export function oldGeneration(s: Snapshot): number {
  let sum = 0;
  for (const name of s.spaceNames) if (!name.startsWith('new_')) sum += s.heap.spaces[name].usedBytes;
  return sum;
}

/** @internal What counts against the container's limit: its working set, or RSS where the cgroup gives none. */
export function containerUsed(s: Snapshot): number {
  const ws = s.container.memoryWorkingSetBytes;
  return Number.isFinite(ws) && ws > 0 ? ws : s.process.rssBytes;
}

/** What the old generation can grow to: the heap limit less the young generation's size. */
function oldGenerationLimit(s: Snapshot): number {
  let young = 0;
  for (const name of s.spaceNames) if (name.startsWith('new_')) young += s.heap.spaces[name].sizeBytes;
  return Math.max(0, s.heap.limitBytes - young);
}

/** @internal The forecast from a history and its newest snapshot (diagnose() and /readyz use it). */
export function buildForecast(history: History, end: Snapshot, windowMs: number): MemoryForecast {
  const sinceNs = end.timeNs - windowMs * 1e6;
  const nowS = end.timeNs / 1e9;

  const mcs = thin(history.markCompacts(sinceNs).filter((r) => r.endNs <= end.timeNs));
  const heap = fit(
    mcs.map((r) => r.endNs / 1e9),
    mcs.map((r) => r.oldGenerationBytes),
    oldGenerationLimit(end),
    mcs.length > 0 ? mcs[mcs.length - 1].oldGenerationBytes : oldGeneration(end),
    nowS,
  );

  const samples = history.samplesSince(sinceNs).filter((s) => s.timeNs <= end.timeNs);
  if (samples.length === 0 || samples[samples.length - 1].timeNs < end.timeNs) samples.push(end);
  const limit = end.container.memoryLimitBytes;
  const used = containerUsed(end);
  let container: LimitForecast | null = null;
  if (Number.isFinite(limit) && limit > 0 && used > 0) {
    // Both are refreshed by the refresh timer: samples between two refreshes repeat a
    // value, which would add ties, not information.
    const points: Array<[number, number]> = [];
    let lastRefresh = NaN;
    for (const s of samples) {
      const y = containerUsed(s);
      if (s.sampler.lastRefreshNs === lastRefresh || !(s.sampler.lastRefreshNs > 0) || !(y > 0)) continue;
      lastRefresh = s.sampler.lastRefreshNs;
      points.push([s.sampler.lastRefreshNs / 1e9, y]);
    }
    const p = thin(points);
    container = fit(p.map((x) => x[0]), p.map((x) => x[1]), limit, used, nowS);
  }

  // The limit reached first; when neither is approached, the one nearer in share.
  let first: 'heap' | 'container' = 'heap';
  if (container !== null) {
    if (container.secondsToLimit < heap.secondsToLimit) first = 'container';
    else if (container.secondsToLimit === heap.secondsToLimit && container.usedBytes / container.limitBytes > heap.usedBytes / Math.max(1, heap.limitBytes)) first = 'container';
  }
  const chosen = first === 'container' ? (container as LimitForecast) : heap;
  const oldest = Math.min(samples[0].timeNs, mcs.length > 0 ? mcs[0].endNs : Infinity);
  return {
    ...chosen,
    limitKind: first,
    heap,
    container,
    window: { requestedMs: windowMs, ms: Math.max(0, (end.timeNs - oldest) / 1e6) },
  };
}

function checkSource(s: unknown): Forecastable {
  const d = s as Partial<Forecastable> | null;
  if (d === null || typeof d !== 'object' || typeof d.read !== 'function' || !('history' in d)) {
    throw new TypeError(`forecastMemory(sampler): sampler must be a Sampler, a SamplerView or a PublishedView, got ${describeValue(s)}`);
  }
  if (d.closed) throw closedError();
  return d as Forecastable;
}

/**
 * How long until the process runs out of memory, and which limit it meets first: the
 * V8 heap's (the old generation after mark-compacts) or its container's (the cgroup's
 * working set against its memory limit). Fitted over the last windowMs of the sampler's history, which
 * begins on first use: call it (or touch sampler.history) at start-up to have a trend
 * when it matters.
 */
export function forecastMemory(sampler: Forecastable, options: ForecastOptions = {}): MemoryForecast {
  const source = checkSource(sampler);
  checkObject('forecastMemory(sampler, options): options', options);
  checkKnownOptions('forecastMemory', options, ['windowMs']);
  const history = source.history;
  const spanMs = history.spanMs;
  const windowMs = options.windowMs === undefined ? defaultForecastWindowMs(history) : checkInteger('windowMs', options.windowMs, 1000, spanMs);
  const end = source.read();
  history.syncMarkCompacts();
  return buildForecast(history, end, windowMs);
}
