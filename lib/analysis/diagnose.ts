// diagnose(): a GC and event-loop tuning report over a window of the sampler's history,
// each finding judged against documented thresholds (DIAGNOSE_THRESHOLDS) with a one-line
// recommendation where one exists. Nothing here changes a setting: it only advises.
import { threadId as currentThreadId } from 'node:worker_threads';
import { delta, SnapshotDelta } from '../delta';
import { human, plural, span } from '../format';
import type { Histogram } from '../histogram';
import { GC_TYPES, GcTypeName, Snapshot } from '../snapshot';
import type { History } from './history';
// Defines sampler.history (a history attaches to a sampler): loaded wherever one is read.
import './history';
import { detectLeak, LeakOptions, LeakReport, resolveLeakOptions } from './leak';
import { trend } from './stats';
import { CurrentAnomaly, currentAnomalies } from './anomaly';
import { isCounter, isNanoseconds } from './rules';
import { closedError, describeValue } from '../errors';
import { checkInteger, checkKnownOptions, checkNumber, checkObject } from '../options';
import { buildForecast, containerUsed, defaultForecastWindowMs, FORECAST_CONFIDENCE, LimitForecast, MemoryForecast, oldGeneration } from './forecast';

export type Verdict = 'ok' | 'warn' | 'critical';

export interface Finding {
  /** Stable id: 'gc-cpu', 'gc-pause.scavenge', 'heap-limit', 'leak', … */
  id: string;
  /** What was judged, for people. */
  title: string;
  verdict: Verdict;
  /** The judged value in `unit` (null: not measured in this window). */
  value: number | null;
  /** UCUM-style unit of `value` and the thresholds: '1', 'ns', 'By', 'By/s', '{handle}'. */
  unit: string;
  /**
   * The thresholds the value was judged against (absent for informational findings);
   * `below`: the value is bad below them (time left), not above.
   */
  thresholds?: { warn: number; critical?: number; below?: boolean };
  /** One line: the value and what it means. */
  summary: string;
  /** One line of advice, where one exists. */
  recommendation?: string;
  /** Supporting numbers (percentiles, shares, per-space values). */
  details?: Record<string, number | null>;
  /** The stalls finding: the JavaScript stack captured during the last stall, when there is one. */
  stack?: string;
}

export interface DiagnoseThresholds {
  /** GC time on the JS thread / wall time (pauses + incremental marking). */
  gcCpuFraction: { warn: number; critical: number };
  /** p99 GC pause of any one type, ns. */
  gcPauseP99Ns: { warn: number; critical: number };
  /** Old-generation growth between mark-compacts / bytes allocated (promotion ratio). */
  promotionRatio: { warn: number };
  /** Heap used / heap limit. */
  heapUsedRatio: { warn: number; critical: number };
  /** Committed but unused heap memory / committed (with at least fragmentationMinBytes unused). */
  fragmentation: { warn: number };
  fragmentationMinBytes: number;
  /** Event-loop utilization over the window. */
  loopUtilization: { warn: number; critical: number };
  /** Loop delay p99, ns. */
  loopDelayP99Ns: { warn: number; critical: number };
  /** The container's working set (RSS where the cgroup gives none) / its memory limit. */
  containerMemoryRatio: { warn: number; critical: number };
  /** Time the container's CPU quota throttled it / wall time. */
  cpuThrottledShare: { warn: number; critical: number };
  /** p99 delay of the threadpool probe (or the wait of a probe still queued), ns. */
  threadpoolDelayP99Ns: { warn: number; critical: number };
  /** The memory forecast's time to the limit, seconds: bad BELOW these (judged only with a confidence ≥ forecastConfidence). */
  secondsToLimit: { warn: number; critical: number };
  /** The Mann–Kendall confidence a forecast needs to be judged, 0.5–1. */
  forecastConfidence: number;
}

/**
 * The thresholds findings are judged by. GC CPU ~5% is where Go's and the JVM's tuning
 * guides start to care; the heap, pause and loop-delay thresholds are those of the shipped
 * Prometheus rules (alerts/runtime-sampler.rules.yml).
 */
export const DIAGNOSE_THRESHOLDS: Readonly<DiagnoseThresholds> = Object.freeze({
  gcCpuFraction: Object.freeze({ warn: 0.05, critical: 0.25 }),
  gcPauseP99Ns: Object.freeze({ warn: 100e6, critical: 1e9 }),
  promotionRatio: Object.freeze({ warn: 0.3 }),
  heapUsedRatio: Object.freeze({ warn: 0.85, critical: 0.95 }),
  fragmentation: Object.freeze({ warn: 0.5 }),
  fragmentationMinBytes: 32 * 1024 * 1024,
  loopUtilization: Object.freeze({ warn: 0.9, critical: 0.98 }),
  loopDelayP99Ns: Object.freeze({ warn: 200e6, critical: 1e9 }),
  containerMemoryRatio: Object.freeze({ warn: 0.85, critical: 0.95 }),
  cpuThrottledShare: Object.freeze({ warn: 0.05, critical: 0.25 }),
  threadpoolDelayP99Ns: Object.freeze({ warn: 50e6, critical: 1e9 }),
  secondsToLimit: Object.freeze({ warn: 3600, critical: 600 }),
  forecastConfidence: FORECAST_CONFIDENCE,
});

export interface DiagnoseOptions {
  /** The window, ms (1000 to the history's span; default 60000 or the span if shorter). */
  windowMs?: number;
  /** Leak-detection settings. */
  leak?: LeakOptions;
  /** Thresholds to judge by instead of DIAGNOSE_THRESHOLDS' (any subset). */
  thresholds?: Partial<DiagnoseThresholds>;
}

export interface DiagnosisReport {
  verdict: Verdict;
  findings: Finding[];
  leak: LeakReport;
  /** forecastMemory() over the last 10 minutes of history (or the window, if longer). */
  forecast: MemoryForecast;
  /**
   * The anomalies the anomaly rules of this sampler's watchers (watch(), the monitor's)
   * judge current: pending or firing, most deviant first; each is also a finding
   * ('anomaly.<rule>'). Empty without such a watcher.
   */
  anomalies: CurrentAnomaly[];
  window: {
    /** The window asked for, ms. */
    requestedMs: number;
    /** The window measured, ms (shorter while the history is young). */
    ms: number;
    startNs: number;
    endNs: number;
    /** Whether it begins at the sampler's start (the history began later). */
    fromStart: boolean;
  };
  /** Thread whose runtime this is (0: main). */
  threadId: number;
  /** The report as text, one finding a line. */
  format(): string;
  toJSON(): object;
}

/** What diagnose() takes: a Sampler or a SamplerView (anything with a history). */
export interface Diagnosable {
  readonly closed: boolean;
  readonly history: History;
  read(into?: Snapshot): Snapshot;
  lastStallStack(): { id: number; stack: string } | null;
}

/** @internal What buildReport() takes beyond the history: values only some threads can read. */
export interface ReportContext {
  /** Node's ArrayBuffer bytes (process.memoryUsage().arrayBuffers): the sampler's own thread only. */
  arrayBuffersBytes?: number;
  /** The stack captured during the last stall (Sampler#lastStallStack()). */
  stallStack?: string | null;
}

const RANK: Record<Verdict, number> = { ok: 0, warn: 1, critical: 2 };
const worst = (a: Verdict, b: Verdict): Verdict => (RANK[b] > RANK[a] ? b : a);
const judge = (v: number, t: { warn: number; critical?: number }): Verdict =>
  t.critical !== undefined && v > t.critical ? 'critical' : v > t.warn ? 'warn' : 'ok';
const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

function percentiles(h: Histogram): Record<string, number | null> {
  if (h.count === 0) return { count: 0, p50: null, p90: null, p99: null, max: null };
  return { count: h.count, p50: h.percentile(50), p90: h.percentile(90), p99: h.percentile(99), max: h.max };
}

/**
 * @internal Whether `source` is a Sampler (not a SamplerView) on the calling thread: the
 * only case where per-thread Node state (its allocator, its heap snapshot) is the sampled
 * runtime's own.
 */
export function onOwnThread(source: object): boolean {
  return 'start' in source && (source as { threadId?: number }).threadId === currentThreadId;
}

function checkSource(s: unknown): Diagnosable {
  const d = s as Partial<Diagnosable> | null;
  if (d === null || typeof d !== 'object' || typeof d.read !== 'function' || !('history' in d)) {
    throw new TypeError(`diagnose(sampler): sampler must be a Sampler or a SamplerView, got ${describeValue(s)}`);
  }
  if (d.closed) throw closedError();
  return d as Diagnosable;
}

/**
 * A tuning report over the last windowMs of the sampler's history (begun on first use:
 * a first call sees the time since the sampler started for counters and histograms, and
 * the last 32 mark-compacts for leaks).
 */
export function diagnose(sampler: Diagnosable, options: DiagnoseOptions = {}): DiagnosisReport {
  const source = checkSource(sampler);
  checkObject('diagnose(sampler, options): options', options);
  checkKnownOptions('diagnose', options, ['windowMs', 'leak', 'thresholds']);
  const history = source.history;
  const spanMs = history.spanMs;
  const windowMs = options.windowMs === undefined
    ? Math.min(60_000, spanMs)
    : checkInteger('windowMs', options.windowMs, 1000, spanMs);
  const leakOptions = resolveLeakOptions(options.leak);
  const thresholds = resolveDiagnoseThresholds(options.thresholds);
  const end = source.read();
  history.syncMarkCompacts();
  // The ArrayBuffer share of external memory is Node's allocator's count, readable only
  // on the sampler's own thread (a view's thread has an allocator of its own).
  const arrayBuffersBytes = onOwnThread(source) ? process.memoryUsage().arrayBuffers : undefined;
  return buildReport(history, end, windowMs, leakOptions, thresholds, { arrayBuffersBytes, stallStack: source.lastStallStack()?.stack ?? null });
}

/** Validates diagnose thresholds: each a number, or { warn, critical } with warn < critical. */
function resolveDiagnoseThresholds(t: unknown): DiagnoseThresholds {
  const out = JSON.parse(JSON.stringify(DIAGNOSE_THRESHOLDS)) as DiagnoseThresholds;
  if (t === undefined) return out;
  const given = checkObject('thresholds', t);
  checkKnownOptions('thresholds', given, Object.keys(DIAGNOSE_THRESHOLDS));
  const num = (what: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TypeError(`thresholds.${what} must be a finite number ≥ 0, got ${describeValue(v)}`);
    return v;
  };
  for (const [k, v] of Object.entries(given) as [keyof DiagnoseThresholds, unknown][]) {
    if (v === undefined) continue;
    const def = DIAGNOSE_THRESHOLDS[k];
    if (typeof def === 'number') {
      (out as unknown as Record<string, number>)[k] = k === 'forecastConfidence' ? checkNumber(`thresholds.${k}`, v, 0.5, 1) : num(k, v);
      continue;
    }
    const group = checkObject(`thresholds.${k}`, v, `an object of { ${Object.keys(def).join(', ')} }`);
    checkKnownOptions(`thresholds.${k}`, group, Object.keys(def));
    const merged = { ...def, ...group } as { warn: number; critical?: number };
    merged.warn = num(`${k}.warn`, merged.warn);
    if ('critical' in def) {
      merged.critical = num(`${k}.critical`, merged.critical);
      // Time left is bad below its thresholds: critical is the shorter time.
      if (k === 'secondsToLimit' ? !(merged.critical < merged.warn) : !(merged.warn < merged.critical)) {
        throw new RangeError(k === 'secondsToLimit'
          ? `thresholds.${k}: critical (${merged.critical}) must be below warn (${merged.warn}): time left is bad below them`
          : `thresholds.${k}: warn (${merged.warn}) must be below critical (${merged.critical})`);
      }
    }
    (out as unknown as Record<string, object>)[k] = merged;
  }
  return out;
}

/** What every finding is judged from: the window of history and the thresholds. */
interface Judged {
  history: History;
  end: Snapshot;
  /** The window's first sample. */
  start: Snapshot;
  windowMs: number;
  d: SnapshotDelta;
  /** Whether the window has any time in it. */
  measured: boolean;
  /** The samples in the window, ending with `end`. */
  samples: Snapshot[];
  T: DiagnoseThresholds;
  context: ReportContext;
}

function gcCpuFinding({ d, end, measured, T }: Judged): Finding {
  const v8h = end.sampler.v8Histograms;
  const f = d.gcCpuFraction;
  const verdict = measured ? judge(f, T.gcCpuFraction) : 'ok';
  const scavengeShare = d.gc.pauseNs > 0 ? d.gc.byType.scavenge.pauseNs / d.gc.pauseNs : 0;
  const heapRatio = end.heap.limitBytes > 0 ? end.heap.usedBytes / end.heap.limitBytes : 0;
  let recommendation: string | undefined;
  if (verdict !== 'ok') {
    if (scavengeShare > 0.5) {
      recommendation = `scavenges take ${pct(scavengeShare)} of GC pauses: a larger young generation lets more short-lived objects die there; try --max-semi-space-size=64 (MiB) and compare`;
    } else if (heapRatio > 0.7) {
      recommendation = `mark-compacts dominate with the heap at ${pct(heapRatio)} of its limit: raise --max-old-space-size, or retain less`;
    } else {
      recommendation = 'mark-compacts dominate: allocate less long-lived data (caches, buffers kept across requests), or spread the work out';
    }
  }
  return {
    id: 'gc-cpu',
    title: v8h ? 'GC CPU fraction (pauses + incremental marking)' : 'GC CPU fraction (pauses)',
    verdict,
    value: measured ? f : null,
    unit: '1',
    thresholds: T.gcCpuFraction,
    summary: measured
      ? `GC took ${pct(f)} of the JS thread: pauses ${pct(d.gc.cpuFraction)}${v8h ? `, incremental marking ${pct(d.gc.incrementalMarkingNs / d.intervalNs)}` : ''}; ${plural(d.gc.count, 'GC')}`
      : 'no time measured yet',
    recommendation,
    details: { pauseFraction: measured ? d.gc.cpuFraction : null, incrementalMarkingNs: d.gc.incrementalMarkingNs, scavengeShareOfPauses: scavengeShare, gcs: d.gc.count },
  };
}

/** Nothing when no GC of this type ran in the window. */
function gcPauseFinding({ history, windowMs, end, T }: Judged, t: GcTypeName): Finding | null {
  const { histogram } = history.histogram(`gcPauseByType.${t}`, windowMs, end);
  if (histogram.count === 0) return null;
  const p = percentiles(histogram);
  const p99 = p.p99 as number;
  const verdict = judge(p99, T.gcPauseP99Ns);
  return {
    id: `gc-pause.${t}`,
    title: `GC pauses: ${t}`,
    verdict,
    value: p99,
    unit: 'ns',
    thresholds: T.gcPauseP99Ns,
    summary: `${plural(histogram.count, 'pause')}: p50 ${human(p.p50, 'ns')}, p90 ${human(p.p90, 'ns')}, p99 ${human(p99, 'ns')}, max ${human(p.max, 'ns')}`,
    recommendation: verdict === 'ok' ? undefined : pauseAdvice(t),
    details: p,
  };
}

function allocationFinding({ d, measured }: Judged): Finding {
  return {
    id: 'allocation',
    title: 'Allocation rate',
    verdict: 'ok',
    value: measured ? d.allocation.bytesPerSecond : null,
    unit: 'By/s',
    summary: measured ? `${human(d.allocation.bytesPerSecond, 'By')}/s allocated (informational)` : 'no time measured yet',
  };
}

function promotionFinding({ samples, T }: Judged): Finding {
  let grown = 0;
  let scavenges = 0;
  let allocated = 0;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    if (b.gc.byType.markSweepCompact.count !== a.gc.byType.markSweepCompact.count) continue;
    const s = b.gc.byType.scavenge.count - a.gc.byType.scavenge.count + b.gc.byType.minorMarkSweep.count - a.gc.byType.minorMarkSweep.count;
    if (s <= 0) continue;
    grown += Math.max(0, oldGeneration(b) - oldGeneration(a));
    scavenges += s;
    allocated += b.gc.allocatedBytes - a.gc.allocatedBytes;
  }
  const perScavenge = scavenges > 0 ? grown / scavenges : null;
  const ratio = allocated > 0 && scavenges > 0 ? grown / allocated : null;
  const verdict = ratio !== null && scavenges >= 10 ? judge(ratio, T.promotionRatio) : 'ok';
  return {
    id: 'promotion',
    title: 'Promotion (old-generation growth per scavenge)',
    verdict,
    value: ratio,
    unit: '1',
    thresholds: { warn: T.promotionRatio.warn },
    summary: perScavenge === null
      ? 'no scavenge between samples without a mark-compact yet'
      : `${human(perScavenge, 'By')} per scavenge over ${plural(scavenges, 'scavenge')}: ${ratio === null ? '–' : pct(ratio)} of what was allocated reached the old generation`,
    recommendation: verdict === 'ok' ? undefined : 'many objects survive two scavenges and are promoted (medium-lived data): try --max-semi-space-size=64 (MiB) so they die young, or shorten their lives',
    details: { scavenges, promotedBytes: grown, allocatedBytes: allocated, bytesPerScavenge: perScavenge },
  };
}

function heapLimitFinding({ end, T }: Judged): Finding {
  const ratio = end.heap.limitBytes > 0 ? end.heap.usedBytes / end.heap.limitBytes : NaN;
  const verdict = Number.isFinite(ratio) ? judge(ratio, T.heapUsedRatio) : 'ok';
  const limitMiB = Math.round(end.heap.limitBytes / 1048576);
  return {
    id: 'heap-limit',
    title: 'Heap used vs limit',
    verdict,
    value: Number.isFinite(ratio) ? ratio : null,
    unit: '1',
    thresholds: T.heapUsedRatio,
    summary: `${human(end.heap.usedBytes, 'By')} used of a ${human(end.heap.limitBytes, 'By')} limit (${Number.isFinite(ratio) ? pct(ratio) : '–'})`,
    recommendation: verdict === 'ok' ? undefined : `near the limit GC runs more and more, then the process dies with "heap out of memory": if this live heap is legitimate, raise it (--max-old-space-size=${Math.max(limitMiB * 2, 512)}); if not, see the leak finding and take a heap snapshot`,
    details: { usedBytes: end.heap.usedBytes, limitBytes: end.heap.limitBytes },
  };
}

// Fragmentation: size − used, per space.
function fragmentationFinding({ end, T }: Judged): Finding {
  const details: Record<string, number | null> = {};
  let size = 0;
  let unused = 0;
  // The old generation only: the young generation's semi-space is committed and empty
  // after every scavenge by design, which is no fragmentation.
  for (const name of end.spaceNames) {
    if (name.startsWith('new_')) continue;
    const s = end.heap.spaces[name];
    details[name] = s.sizeBytes - s.usedBytes;
    size += s.sizeBytes;
    unused += Math.max(0, s.sizeBytes - s.usedBytes);
  }
  const share = size > 0 ? unused / size : 0;
  const v8Frag = end.heap.fragmentation.total;
  details.v8FragmentationRatio = Number.isNaN(v8Frag) ? null : v8Frag;
  const verdict = unused >= T.fragmentationMinBytes ? judge(share, T.fragmentation) : 'ok';
  const top = Object.entries(details).filter(([k]) => k !== 'v8FragmentationRatio').sort((a, b) => (b[1] as number) - (a[1] as number)).slice(0, 3);
  return {
    id: 'fragmentation',
    title: 'Heap fragmentation (old generation: committed − used)',
    verdict,
    value: share,
    unit: '1',
    thresholds: { warn: T.fragmentation.warn },
    summary: `${human(unused, 'By')} of ${human(size, 'By')} committed holds no objects (${pct(share)}): ${top.map(([k, v]) => `${k} ${human(v, 'By')}`).join(', ')}${Number.isNaN(v8Frag) ? '' : `; V8's own measure ${pct(v8Frag)}`}`,
    recommendation: verdict === 'ok' ? undefined : 'V8 keeps memory it freed until later mark-compacts compact and release it; after a burst this falls by itself. If it stays, a smaller --max-semi-space-size (young-space slack) or fewer large short-lived objects help',
    details,
  };
}

function externalFinding({ samples, end, context: { arrayBuffersBytes } }: Judged): Finding {
  const xs = samples.map((s) => s.timeNs / 1e9);
  const ys = samples.map((s) => s.heap.externalBytes);
  const fit = trend(xs, ys);
  const growth = fit.end - fit.start;
  const growing = samples.length >= 10 && fit.slope > 0 && fit.confidence >= 0.99 && growth >= Math.max(16 * 1048576, 0.5 * Math.max(0, fit.start));
  return {
    id: 'external',
    title: 'External memory (ArrayBuffers, Buffers)',
    verdict: growing ? 'warn' : 'ok',
    value: end.heap.externalBytes,
    unit: 'By',
    summary: `${human(end.heap.externalBytes, 'By')} outside the JS heap${arrayBuffersBytes === undefined ? '' : ` (ArrayBuffers and Buffers: ${human(arrayBuffersBytes, 'By')})`}${Number.isFinite(growth) ? `, ${growth >= 0 ? '+' : ''}${human(growth, 'By')} over the window (trend confidence ${fit.confidence.toFixed(2)})` : ''}`,
    recommendation: growing ? 'memory outside the heap keeps growing: Buffers or ArrayBuffers are retained (caches, unconsumed streams, native addons); the heap limit does not bound it' : undefined,
    details: { externalBytes: end.heap.externalBytes, arrayBuffersBytes: arrayBuffersBytes ?? null, growthBytes: Number.isFinite(growth) ? growth : null },
  };
}

function loopUtilizationFinding({ d, measured, T }: Judged): Finding {
  const u = d.loop.utilization;
  const verdict = measured && d.loop.busyNs + d.loop.idleNs > 0 ? judge(u, T.loopUtilization) : 'ok';
  return {
    id: 'loop-utilization',
    title: 'Event-loop utilization',
    verdict,
    value: measured ? u : null,
    unit: '1',
    thresholds: T.loopUtilization,
    // Iterations are counted by the native backend only (NaN on the JavaScript one).
    summary: measured ? `the loop was busy ${pct(u)} of the time${Number.isNaN(d.loop.iterations) ? '' : ` (${plural(d.loop.iterations, 'iteration')})`}` : 'no time measured yet',
    recommendation: verdict === 'ok' ? undefined : 'the process is saturated: scale out, or move CPU-heavy work to worker threads',
  };
}

function loopDelayFinding({ history, windowMs, end, T }: Judged, throttling: Throttling | null): Finding {
  const { histogram } = history.histogram('loopDelay', windowMs, end);
  const p = percentiles(histogram);
  const p99 = p.p99;
  const dv = p99 === null ? 'ok' : judge(p99, T.loopDelayP99Ns);
  // Throttling is named as the cause when it accounts for most of what the loop lost.
  const throttled = throttling !== null && throttling.share > T.cpuThrottledShare.warn && (throttling.explainedShare ?? 0) >= 0.5;
  return {
    id: 'loop-delay',
    title: 'Event-loop delay',
    verdict: dv,
    value: p99,
    unit: 'ns',
    thresholds: T.loopDelayP99Ns,
    summary: p99 === null
      ? 'no delay samples yet'
      : `p50 ${human(p.p50, 'ns')}, p90 ${human(p.p90, 'ns')}, p99 ${human(p99, 'ns')}, max ${human(p.max, 'ns')}${throttled ? `; the container's CPU throttling explains ~${pct(throttling?.explainedShare ?? 0)} of the time the loop lost` : ''}`,
    recommendation: dv === 'ok'
      ? undefined
      : throttled
        ? `the container's CPU quota throttles the process (see cpu-throttling): it explains ~${pct(throttling?.explainedShare ?? 0)} of this delay. Raise the CPU limit before looking for blocking code`
        : 'callbacks wait this long to run: find the synchronous work that blocks the loop (the watchdog option captures its stack)',
    details: { ...p, explainedByThrottling: throttling?.explainedShare ?? null },
  };
}

/** The container's CPU throttling over the window (null without a CPU quota or its counters). */
interface Throttling {
  quotaCores: number;
  /** Throttled time / wall time, capped at 1 (v1 and v2 sum it over CPUs). */
  share: number;
  throttledNs: number;
  periods: number;
  throttledPeriods: number;
  /** Throttled time per throttled period, ns (summed over CPUs by the kernel: a multi-threaded process can exceed the period). */
  meanFreezeNs: number;
  /** Throttled time / the loop's lost time over the window (delay beyond the timer's period), 0–1; null without delay samples. */
  explainedShare: number | null;
}

/** Container counters run since the cgroup was made: they are differenced between real samples only. */
function throttlingOf({ samples, end, history, windowMs }: Judged): Throttling | null {
  const first = samples[0];
  const c1 = end.container;
  const quota = c1.cpuQuotaCores;
  if (first === undefined || !Number.isFinite(quota) || !(quota > 0)) return null;
  const c0 = first.container;
  const wall = end.timeNs - first.timeNs;
  const throttledNs = c1.cpuThrottledNs - c0.cpuThrottledNs;
  if (!(wall > 0) || !Number.isFinite(throttledNs) || throttledNs < 0) return null;
  const periods = c1.cpuPeriods - c0.cpuPeriods;
  const throttledPeriods = c1.cpuThrottledPeriods - c0.cpuThrottledPeriods;
  // The delay timer records the time between its firings: what the loop lost is their sum
  // beyond the shortest (the timer's own period).
  const { histogram: delay } = history.histogram('loopDelay', windowMs, end);
  const lost = delay.count > 0 ? delay.sum - delay.count * delay.min : 0;
  return {
    quotaCores: quota,
    share: Math.min(1, throttledNs / wall),
    throttledNs,
    periods,
    throttledPeriods,
    meanFreezeNs: throttledPeriods > 0 ? throttledNs / throttledPeriods : 0,
    explainedShare: lost > 0 ? Math.min(1, throttledNs / lost) : null,
  };
}

function cpuThrottlingFinding(t: Throttling | null, { end, T }: Judged): Finding {
  if (t === null) {
    const v = end.container.cgroupVersion;
    return {
      id: 'cpu-throttling',
      title: 'Container CPU throttling',
      verdict: 'ok',
      value: null,
      unit: '1',
      thresholds: T.cpuThrottledShare,
      summary: v > 0 ? `no CPU quota on this cgroup (v${v}): never throttled` : 'not in a cgroup the sampler can read: no CPU quota known',
    };
  }
  const verdict = judge(t.share, T.cpuThrottledShare);
  const explained = t.explainedShare === null ? '' : `; that explains ~${pct(t.explainedShare)} of the time the event loop lost to delay`;
  return {
    id: 'cpu-throttling',
    title: 'Container CPU throttling',
    verdict,
    value: t.share,
    unit: '1',
    thresholds: T.cpuThrottledShare,
    summary: `throttled ${pct(t.share)} of the wall time by a quota of ${t.quotaCores.toPrecision(3)} CPUs, in ${t.throttledPeriods} of ${plural(t.periods, 'period')}, ~${human(t.meanFreezeNs, 'ns')} of throttled time each (the kernel sums it over CPUs)${explained}`,
    recommendation: verdict === 'ok'
      ? undefined
      : `the CPU quota (${t.quotaCores.toPrecision(3)} CPUs) runs out within each period and the kernel freezes every thread of the container until the next: loop delay here comes from the limit, not from the code. Raise the CPU limit (Kubernetes: resources.limits.cpu, or none with a request), or use less CPU per period (fewer threads busy at once: UV_THREADPOOL_SIZE, worker threads)`,
    details: { quotaCores: t.quotaCores, throttledNs: t.throttledNs, periods: t.periods, throttledPeriods: t.throttledPeriods, meanFreezeNs: t.meanFreezeNs, explainedShareOfLoopDelay: t.explainedShare },
  };
}

function containerMemoryFinding({ end, samples, T }: Judged, forecast: MemoryForecast): Finding {
  const c = end.container;
  const limit = c.memoryLimitBytes;
  const rss = end.process.rssBytes;
  if (!Number.isFinite(limit) || !(limit > 0)) {
    return {
      id: 'container-memory',
      title: 'Container memory',
      verdict: 'ok',
      value: null,
      unit: '1',
      thresholds: T.containerMemoryRatio,
      summary: c.cgroupVersion > 0 ? `no memory limit on this cgroup (v${c.cgroupVersion})${Number.isFinite(c.memoryUsageBytes) ? `; it uses ${human(c.memoryUsageBytes, 'By')}` : ''}` : 'not in a cgroup the sampler can read: no container memory limit known',
    };
  }
  const used = containerUsed(end);
  const ws = Number.isFinite(c.memoryWorkingSetBytes) && c.memoryWorkingSetBytes > 0;
  const ratio = used > 0 ? used / limit : NaN;
  const first = samples[0];
  const since = (k: 'oomKillEvents' | 'memoryMaxEvents'): number => {
    const v = c[k] - (first === undefined ? c[k] : first.container[k]);
    return Number.isFinite(v) ? Math.max(0, v) : 0;
  };
  const kills = since('oomKillEvents');
  const atLimit = since('memoryMaxEvents');
  let verdict: Verdict = Number.isFinite(ratio) ? judge(ratio, T.containerMemoryRatio) : 'ok';
  if (kills > 0) verdict = 'critical';
  else if (atLimit > 0) verdict = worst(verdict, 'warn');
  // A heap allowed to outgrow the container: the kernel kills before V8 ever feels pressure.
  const heapAbove = end.heap.limitBytes >= limit;
  if (heapAbove) verdict = worst(verdict, 'warn');
  const cap = Math.floor((limit * 0.75) / 1048576);
  const f = forecast.container;
  const parts = [
    `${ws ? 'working set' : 'RSS'} ${human(used, 'By')} of a ${human(limit, 'By')} container limit (${Number.isFinite(ratio) ? pct(ratio) : '–'})`,
    Number.isFinite(c.memoryUsageBytes) ? `usage ${human(c.memoryUsageBytes, 'By')} with page cache, this process's RSS ${human(rss, 'By')}` : '',
    kills > 0 ? `${plural(kills, 'process', 'processes')} of the container OOM-killed in the window` : '',
    atLimit > 0 ? `usage hit the limit ${plural(atLimit, 'time')}` : '',
    f !== null && Number.isFinite(f.secondsToLimit) ? `at the current trend the limit is reached in ${span(f.secondsToLimit * 1000)} (confidence ${f.confidence.toFixed(2)})` : '',
    heapAbove ? `the V8 heap limit (${human(end.heap.limitBytes, 'By')}) is not below it` : '',
  ].filter((x) => x !== '');
  let recommendation: string | undefined;
  if (verdict !== 'ok') {
    recommendation = heapAbove
      ? `the kernel OOM-kills the process (SIGKILL, no "heap out of memory" message) at the container limit before the heap reaches its own: cap the heap below it, e.g. --max-old-space-size=${cap} (75% of the limit), so that V8 collects harder first`
      : 'the kernel OOM-kills the process (SIGKILL, no "heap out of memory" message) at this limit: raise the container\'s memory limit, or find what grows (the leak and external findings; a heap snapshot)';
  }
  return {
    id: 'container-memory',
    title: 'Container memory',
    verdict,
    value: Number.isFinite(ratio) ? ratio : null,
    unit: '1',
    thresholds: T.containerMemoryRatio,
    summary: parts.join('; '),
    recommendation,
    details: { usedBytes: used, workingSetBytes: ws ? c.memoryWorkingSetBytes : null, rssBytes: rss, limitBytes: limit, usageBytes: Number.isFinite(c.memoryUsageBytes) ? c.memoryUsageBytes : null, oomKills: kills, limitHits: atLimit, heapLimitBytes: end.heap.limitBytes },
  };
}

function threadpoolFinding({ history, windowMs, end, T }: Judged): Finding {
  const { histogram } = history.histogram('threadpoolDelay', windowMs, end);
  const tp = end.threadpool;
  const size = tp.size;
  const waiting = tp.inFlight === 1 ? tp.waitingNs : 0;
  if (Number.isNaN(tp.probes)) {
    return {
      id: 'threadpool', title: 'Threadpool delay', verdict: 'ok', value: null, unit: 'ns', thresholds: T.threadpoolDelayP99Ns,
      summary: 'not measured: the threadpool probe needs the native backend',
    };
  }
  if (histogram.count === 0 && waiting === 0) {
    return {
      id: 'threadpool',
      title: 'Threadpool delay',
      verdict: 'ok',
      value: null,
      unit: 'ns',
      thresholds: T.threadpoolDelayP99Ns,
      summary: tp.probes === 0
        ? `not measured: no threadpool probe has run (off with threadpoolProbeMs: 0, or the sampler is younger than one period); pool of ${plural(size, 'thread')}`
        : `no probe in the window; pool of ${plural(size, 'thread')}`,
    };
  }
  const p = percentiles(histogram);
  // A probe still queued has waited at least this long: a stuck pool completes none.
  const value = Math.max(p.p99 ?? 0, waiting);
  const verdict = judge(value, T.threadpoolDelayP99Ns);
  const advised = Math.min(1024, Math.max(8, size * 2));
  return {
    id: 'threadpool',
    title: 'Threadpool delay',
    verdict,
    value,
    unit: 'ns',
    thresholds: T.threadpoolDelayP99Ns,
    summary: `${plural(histogram.count, 'probe')}: p50 ${human(p.p50, 'ns')}, p99 ${human(p.p99, 'ns')}, max ${human(p.max, 'ns')} before one of the pool's ${plural(size, 'thread')} took work${waiting > 0 ? `; a probe has waited ${human(waiting, 'ns')} so far` : ''}`,
    recommendation: verdict === 'ok'
      ? undefined
      : `fs, dns.lookup, crypto (pbkdf2, scrypt, randomBytes) and zlib work waits this long for one of ${plural(size, 'pool thread')}: start with UV_THREADPOOL_SIZE=${advised} in the environment (read once, at start; up to 1024), move long CPU work to worker threads, and resolve names with dns.resolve*, which does not use the pool`,
    details: { ...p, size, waitingNs: waiting },
  };
}

function forecastFinding(f: MemoryForecast, { T }: Judged): Finding {
  const limits = { warn: T.secondsToLimit.warn, critical: T.secondsToLimit.critical, below: true };
  const finite = Number.isFinite(f.secondsToLimit);
  const sure = f.confidence >= T.forecastConfidence;
  let verdict: Verdict = 'ok';
  if (finite && sure) verdict = f.secondsToLimit < T.secondsToLimit.critical ? 'critical' : f.secondsToLimit < T.secondsToLimit.warn ? 'warn' : 'ok';
  const what = f.limitKind === 'heap' ? 'the old generation after mark-compacts against the heap limit' : 'the container\'s working set against its memory limit';
  return {
    id: 'memory-forecast',
    title: 'Time to the memory limit',
    verdict,
    value: finite ? f.secondsToLimit : null,
    unit: 's',
    thresholds: limits,
    summary: finite
      ? `${what}: ${human(f.usedBytes, 'By')} of ${human(f.limitBytes, 'By')}, growing ${human(Math.round(f.slopeBytesPerSecond), 'By')}/s: the limit in ${span(f.secondsToLimit * 1000)} (confidence ${f.confidence.toFixed(2)}${sure ? '' : `, below the ${T.forecastConfidence} judged`})`
      : `${what}: ${human(f.usedBytes, 'By')} of ${human(f.limitBytes, 'By')}, not growing toward it${f.points < 2 ? ' (too few points yet)' : ''}`,
    recommendation: verdict === 'ok' ? undefined : f.limitKind === 'heap'
      ? 'the heap will run out: see the leak finding; compare two heap snapshots taken minutes apart'
      : 'the kernel will OOM-kill the process at the container limit: find what grows (heap, external memory, native), or raise the limit',
    details: { limitBytes: f.limitBytes, usedBytes: f.usedBytes, slopeBytesPerSecond: Number.isNaN(f.slopeBytesPerSecond) ? null : f.slopeBytesPerSecond, confidence: f.confidence, points: f.points },
  };
}

function stallsFinding({ end, start, context: { stallStack = null } }: Judged): Finding {
  const enabled = end.stall.enabled;
  const count = end.stall.count - start.stall.count;
  const active = enabled && end.stall.active === 1;
  return {
    id: 'stalls',
    title: 'Event-loop stalls',
    verdict: active ? 'critical' : count > 0 ? 'warn' : 'ok',
    value: enabled ? count : null,
    unit: '{stall}',
    summary: !enabled
      ? 'not measured: the sampler has no watchdog (new Sampler({ watchdog: true }))'
      : `${plural(count, 'stall')} ended in the window${active ? `; one is in progress for ${human(end.stall.durationNs, 'ns')}` : ''}; longest since start ${human(end.stall.maxNs, 'ns')}`,
    recommendation: !(active || count > 0)
      ? undefined
      : stallStack !== null
        ? 'an iteration ran past the watchdog threshold: the stack captured during the last stall shows the code that held the loop'
        : 'an iteration ran past the watchdog threshold: capture the stalled code\'s stack with RUNTIME_SAMPLER_STALL_STACK=1 (runtime-sampler run --stall-stack) under the preload, or watchdog.captureStack in code',
    details: { count, active: active ? 1 : 0 },
    ...((active || count > 0) && stallStack !== null ? { stack: stallStack } : {}),
  };
}

/** A suspected leak is critical when the heap is past its own threshold too. */
function leakFinding(leak: LeakReport, heapVerdict: Verdict): Finding {
  return {
    id: 'leak',
    title: 'Leak (old generation after mark-compacts)',
    verdict: leak.suspected ? (heapVerdict === 'ok' ? 'warn' : 'critical') : 'ok',
    value: Number.isNaN(leak.slopeBytesPerSec) ? null : leak.slopeBytesPerSec,
    unit: 'By/s',
    summary: `${leak.suspected ? 'suspected' : 'not suspected'}: ${leak.reason}${Number.isNaN(leak.slopeBytesPerSec) ? '' : ` (slope ${human(leak.slopeBytesPerSec, 'By')}/s)`}`,
    recommendation: leak.suspected ? 'compare two heap snapshots taken minutes apart (Chrome DevTools, "Comparison" view) to see what accumulates' : undefined,
    details: { majorGcs: leak.majorGcs, confidence: leak.confidence, baselineBytes: leak.baselineBytes, growthBytes: leak.growthBytes },
  };
}

// Contexts: native contexts (vm contexts, realms) that keep growing across mark-compacts,
// and detached contexts (an embedder detached them, yet they survive GCs).
function contextsFinding({ samples, d, end }: Judged): Finding {
  const xs = samples.map((s) => s.timeNs / 1e9);
  const native = trend(xs, samples.map((s) => s.heap.nativeContexts));
  const detached = trend(xs, samples.map((s) => s.heap.detachedContexts));
  const mcs = d.gc.byType.markSweepCompact.count;
  const nativeGrowth = native.end - native.start;
  const nativeGrowing = samples.length >= 10 && mcs >= 2 && native.confidence >= 0.99 && nativeGrowth >= Math.max(5, 0.5 * Math.max(0, native.start));
  const firstDetached = samples.length > 0 ? samples[0].heap.detachedContexts : 0;
  const nowDetached = end.heap.detachedContexts;
  const detachedGrowing = nowDetached > firstDetached && mcs >= 2 && detached.confidence >= 0.95;
  const growing = nativeGrowing || detachedGrowing;
  return {
    id: 'contexts',
    title: 'Contexts (native, detached)',
    verdict: growing ? 'warn' : 'ok',
    value: end.heap.nativeContexts,
    unit: '{context}',
    summary: `${plural(end.heap.nativeContexts, 'native context')}${Number.isFinite(nativeGrowth) ? ` (${nativeGrowth >= 0 ? '+' : ''}${Math.round(nativeGrowth)} over the window)` : ''}, ${nowDetached} detached (${firstDetached} at the window's start); ${plural(mcs, 'mark-compact')} between`,
    recommendation: growing ? 'contexts (vm.createContext, realms, jsdom windows) stay reachable after use: something still references their functions or globals' : undefined,
    details: { nativeContexts: end.heap.nativeContexts, nativeGrowth: Number.isFinite(nativeGrowth) ? nativeGrowth : null, detachedContexts: nowDetached },
  };
}

// Active handles (sockets, timers, watchers) that only ever grow.
function activeHandlesFinding({ samples, end }: Judged): Finding {
  if (Number.isNaN(end.process.activeHandles)) {
    return {
      id: 'active-handles', title: 'Active handles', verdict: 'ok', value: null, unit: '{handle}',
      summary: 'not measured: libuv\'s handle count needs the native backend',
    };
  }
  const xs = samples.map((s) => s.timeNs / 1e9);
  const ys = samples.map((s) => s.process.activeHandles);
  const fit = trend(xs, ys);
  const growth = fit.end - fit.start;
  const growing = samples.length >= 10 && fit.confidence >= 0.99 && growth >= Math.max(100, 0.5 * Math.max(0, fit.start));
  return {
    id: 'active-handles',
    title: 'Active handles',
    verdict: growing ? 'warn' : 'ok',
    value: end.process.activeHandles,
    unit: '{handle}',
    summary: `${end.process.activeHandles} active handles${Number.isFinite(growth) ? ` (${growth >= 0 ? '+' : ''}${Math.round(growth)} over the window, trend confidence ${fit.confidence.toFixed(2)})` : ''}`,
    recommendation: growing ? 'sockets, timers or watchers are opened and never closed: process.getActiveResourcesInfo() names their kinds' : undefined,
  };
}

/** @internal The report from a history and its newest snapshot (the HTTP layer uses it too). */
export function buildReport(history: History, end: Snapshot, windowMs: number, leakOptions: Required<LeakOptions>, T: DiagnoseThresholds = DIAGNOSE_THRESHOLDS, context: ReportContext = {}): DiagnosisReport {
  const w = history.window(windowMs, end);
  const d: SnapshotDelta = delta(w.start, end);
  const samples = history.samplesSince(w.start.timeNs).filter((s) => s.timeNs <= end.timeNs);
  if (samples.length === 0 || end.timeNs > samples[samples.length - 1].timeNs) samples.push(end);
  const x: Judged = { history, end, start: w.start, windowMs, d, measured: d.intervalNs > 0, samples, T, context };
  const leak = detectLeak(history.markCompacts(), w.start.timeNs, leakOptions);
  const heap = heapLimitFinding(x);
  const forecast = buildForecast(history, end, Math.max(windowMs, defaultForecastWindowMs(history)));
  const throttling = throttlingOf(x);
  const anomalies = currentAnomalies(history);
  const findings = [
    gcCpuFinding(x),
    ...GC_TYPES.map((t) => gcPauseFinding(x, t)),
    allocationFinding(x),
    promotionFinding(x),
    heap,
    fragmentationFinding(x),
    externalFinding(x),
    loopUtilizationFinding(x),
    loopDelayFinding(x, throttling),
    stallsFinding(x),
    leakFinding(leak, heap.verdict),
    forecastFinding(forecast, x),
    containerMemoryFinding(x, forecast),
    cpuThrottlingFinding(throttling, x),
    threadpoolFinding(x),
    contextsFinding(x),
    activeHandlesFinding(x),
    ...anomalies.map(anomalyFinding),
  ].filter((f): f is Finding => f !== null);

  const verdict = findings.reduce<Verdict>((v, f) => worst(v, f.verdict), 'ok');
  const window = {
    requestedMs: windowMs,
    ms: d.intervalNs / 1e6,
    startNs: w.start.timeNs,
    endNs: end.timeNs,
    fromStart: w.fromStart,
  };
  const threadId = end.threadId;
  const report: DiagnosisReport = {
    verdict,
    findings,
    leak,
    forecast,
    anomalies,
    window,
    threadId,
    format: () => formatReport(report),
    toJSON: () => ({ verdict, window, threadId, leak, forecast: forecastJSON(forecast), findings, anomalies }),
  };
  return report;
}

/**
 * A current anomaly as a finding: informational ('ok') while pending, the rule's
 * severity once it fires (a rule held for its `for` is what the report is about).
 */
function anomalyFinding(a: CurrentAnomaly): Finding {
  const counter = isCounter(a.metric);
  const unit = counter ? (isNanoseconds(a.metric) ? '1' : '{unit}/s') : isNanoseconds(a.metric) ? 'ns' : /Bytes$/.test(a.metric) ? 'By' : '1';
  const show = (v: number): string => (unit === 'ns' ? human(v, 'ns') : unit === 'By' ? human(v, 'By') : Number(v.toPrecision(3)).toString());
  const verdict: Verdict = a.state === 'pending' || a.severity === 'info' ? 'ok' : a.severity === 'critical' ? 'critical' : 'warn';
  return {
    id: `anomaly.${a.rule}`,
    title: `Anomaly: ${counter ? `rate of ${a.metric}` : a.metric}`,
    verdict,
    value: a.value,
    unit,
    summary: `${show(a.value)} against a baseline median of ${show(a.median)} (MAD ${show(a.mad)}): ${a.deviations > 0 ? '+' : ''}${a.deviations.toFixed(1)} deviations since ${new Date(a.since).toISOString()} (${a.state}, rule ${a.rule})`,
    details: { median: a.median, mad: a.mad, deviations: Number.isFinite(a.deviations) ? a.deviations : null, since: a.since },
  };
}

/** JSON has no Infinity: a limit never reached is null there. */
function forecastJSON(f: MemoryForecast): object {
  const one = (l: LimitForecast): object => ({ ...l, secondsToLimit: Number.isFinite(l.secondsToLimit) ? l.secondsToLimit : null, slopeBytesPerSecond: Number.isNaN(l.slopeBytesPerSecond) ? null : l.slopeBytesPerSecond });
  return { ...one(f), limitKind: f.limitKind, heap: one(f.heap), container: f.container === null ? null : one(f.container), window: f.window };
}

function pauseAdvice(t: GcTypeName): string {
  switch (t) {
    case 'scavenge':
    case 'minorMarkSweep':
      return 'young-generation pauses grow with what survives them: fewer medium-lived objects (or a smaller --max-semi-space-size, if latency matters more than throughput)';
    case 'markSweepCompact':
      return 'full GCs this long mean a large live heap: retain less, or split the work across processes';
    default:
      return 'long finalization pauses: many weak references, FinalizationRegistry callbacks or embedder (C++) objects';
  }
}

const MARK: Record<Verdict, string> = { ok: 'ok  ', warn: 'WARN', critical: 'CRIT' };

function formatReport(r: DiagnosisReport): string {
  const lines: string[] = [];
  const win = `${(r.window.ms / 1000).toFixed(1)} s${r.window.fromStart ? ' (since the sampler started)' : ''}`;
  lines.push(`runtime-sampler diagnosis: ${r.verdict.toUpperCase()} — window ${win}, thread ${r.threadId}`);
  for (const f of r.findings) {
    let limits = '';
    if (f.thresholds) {
      const fmt = (v: number): string => (f.unit === '1' ? pct(v) : f.unit === 'ns' || f.unit === 'By' ? human(v, f.unit) : f.unit === 's' ? span(v * 1000) : String(v));
      const op = f.thresholds.below ? '<' : '>';
      limits = `  [warn ${op} ${fmt(f.thresholds.warn)}${f.thresholds.critical === undefined ? '' : `, critical ${op} ${fmt(f.thresholds.critical)}`}]`;
    }
    lines.push(`[${MARK[f.verdict]}] ${f.title}: ${f.summary}${limits}`);
    if (f.recommendation) lines.push(`       → ${f.recommendation}`);
    if (f.stack) lines.push('       stack captured during the last stall:', ...f.stack.split('\n').map((l) => `       ${l}`));
  }
  return lines.join('\n') + '\n';
}
