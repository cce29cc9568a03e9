// Declarative alert rules: definitions, their validation (every error names the rule, the
// field, the value and what is accepted), and the built-in set that mirrors the shipped
// Prometheus rules (alerts/runtime-sampler.rules.yml).
import { Snapshot } from '../snapshot';
import { WINDOW_HISTOGRAMS } from './history';
import { describeValue } from '../errors';
import { parseDuration } from '../duration';
import { checkKnownOptions, checkNumber, checkObject, checkOneOf } from '../options';
import { catalog } from '../catalog';
import type { AnomalySettings } from './anomaly';

export type RuleCondition = 'above' | 'below' | 'rate' | 'trend' | 'percentile' | 'anomaly';
export type Severity = 'info' | 'warning' | 'critical';

/** A duration: milliseconds, or a string such as '500ms', '2s', '5m', '1h'. */
export type Duration = number | string;

export interface RuleDefinition {
  /** Unique name, [A-Za-z_][A-Za-z0-9_.:-]* (the alert's name). */
  name: string;
  /**
   * What is judged: a Snapshot path ('heap.usedBytes', 'loop.utilization',
   * 'heap.spaces.old_space.usedBytes', 'stall.active'); a derived value ('heap.usedRatio',
   * 'leak.suspected', 'leak.slopeBytesPerSec'); for 'percentile', a histogram
   * ('histograms.gcPause', 'histograms.gcPauseByType.scavenge', 'histograms.loopDelay', …).
   */
  metric: string;
  /**
   * above / below: the newest value against the threshold.
   * rate: the metric's increase over `window` per second; for a time counter (a path
   *   ending in Ns) the fraction of wall time instead (ns per ns: 0.1 = 10%).
   * trend: the Theil–Sen slope of the metric over `window`, per second.
   * percentile: the `percentile`-th percentile of the histogram over `window` (ns).
   * anomaly: the value against the metric's own baseline (see `anomaly`); implied by
   *   `anomaly`, so it may be left out.
   */
  condition?: RuleCondition;
  /** The limit, in the metric's unit; for ns-valued metrics also a duration ('200ms'). Not for anomaly rules. */
  threshold?: number | string;
  /**
   * Makes it an anomaly rule: instead of a threshold, the value is judged against a robust
   * baseline of its own recent values (median and MAD over the last `learnMs`). The value is
   * a histogram's `percentile` (default 99) over `window`, a counter's rate over `window`
   * (per second; a time counter's fraction of wall time), or a gauge's value. It holds while
   * |value − median| > sensitivity × max(1.4826 × MAD, floor × |median|, minDeviation) on
   * the `direction` side ('above', 'below' or, the default, 'both'), once the baseline has
   * learned for learnMs. Anomalous values do not enter the baseline.
   */
  anomaly?: AnomalyDefinition;
  /** For rate / trend / percentile: the window (default '1m'; at most the history's span). */
  window?: Duration;
  /** For percentile: which one, (0, 100]. */
  percentile?: number;
  /** How long the condition must hold before the alert fires (default 0). */
  for?: Duration;
  /** Default 'warning'. */
  severity?: Severity;
  /**
   * 0–1 (default 0.1): a firing alert resolves only once the value is past the threshold
   * by this fraction of it the other way (above: ≤ threshold × (1 − h)).
   */
  hysteresis?: number;
  /**
   * For rate / trend / percentile: fire when the value is 'above' (default) or 'below' the
   * threshold. For anomaly: which side of the baseline is anomalous ('both', the default).
   */
  direction?: 'above' | 'below' | 'both';
  /**
   * Rules of one group report only their most severe firing alert (default group: the
   * same metric, condition, direction and percentile).
   */
  group?: string;
  /** A line for people (the alert carries it). */
  summary?: string;
}

/** An anomaly rule's baseline settings. */
export interface AnomalyDefinition {
  /** Deviations from the median that are anomalous, 1–100 (default 4). */
  sensitivity?: number;
  /** The learning window (default '10m'; 1 s to 24 h; at most 4096 values are kept). */
  learnMs?: Duration;
  /** The smallest deviation unit as a fraction of |median|, 0–1 (default 0.05). */
  floor?: number;
  /**
   * The smallest deviation unit in the metric's unit (default 0); for ns-valued metrics also
   * a duration ('10ms'). Needed where the median can be 0 (a rate of something rare).
   */
  minDeviation?: number | string;
}

/** A validated rule: every field resolved, durations in ms, the threshold a number. */
export interface Rule {
  readonly name: string;
  readonly metric: string;
  readonly condition: RuleCondition;
  readonly threshold: number;
  readonly windowMs: number;
  readonly percentile: number;
  readonly forMs: number;
  readonly severity: Severity;
  readonly hysteresis: number;
  readonly direction: 'above' | 'below';
  readonly group: string;
  readonly summary: string;
  /** For anomaly rules, the baseline's settings (threshold is NaN); null otherwise. */
  readonly anomaly: Readonly<AnomalySettings> | null;
}

const FIELDS = ['name', 'metric', 'condition', 'threshold', 'window', 'percentile', 'for', 'severity', 'hysteresis', 'direction', 'group', 'summary', 'anomaly'];
const ANOMALY_FIELDS = ['sensitivity', 'learnMs', 'floor', 'minDeviation'];
const CONDITIONS: readonly RuleCondition[] = ['above', 'below', 'rate', 'trend', 'percentile', 'anomaly'];
const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };
/** Values computed from a snapshot and the history rather than read from a path. */
/**
 * Values computed from more than one field: heap.usedRatio (used / limit);
 * leak.suspected and leak.slopeBytesPerSec (the leak detector over `window`);
 * container.memoryUsedRatio (the working set, or RSS, / the container's memory limit);
 * container.secondsToLimit (forecastMemory()'s container forecast over `window`, when its
 * confidence is at least 0.95); container.throttledPeriodShare (throttled CFS periods /
 * periods over `window`).
 */
export const DERIVED_METRICS: readonly string[] = ['heap.usedRatio', 'leak.suspected', 'leak.slopeBytesPerSec', 'container.memoryUsedRatio', 'container.secondsToLimit', 'container.throttledPeriodShare'];
/** The derived metrics computed over a rule's window. */
const WINDOWED_DERIVED: readonly string[] = ['leak.suspected', 'leak.slopeBytesPerSec', 'container.secondsToLimit', 'container.throttledPeriodShare'];
export { parseDuration };
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;
/** Whether the metric's values are nanoseconds (a time counter or gauge, or any histogram). */
export function isNanoseconds(metric: string): boolean {
  return metric.startsWith('histograms.') || /Ns$/.test(metric);
}

/** Reads `path` from a snapshot (numbers; booleans as 0/1); undefined when it is no number. */
export function readPath(snap: Snapshot, path: string): number | undefined {
  let v: unknown = snap;
  for (const part of path.split('.')) {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return undefined;
    if (part === '' || part === '__proto__' || part === 'constructor' || part === 'slots' || part === 'stallSlots') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  return typeof v === 'number' ? v : undefined;
}

/** What every rule kind has: `for`, severity, hysteresis, group and summary, checked. */
function commonFields(at: string, d: RuleDefinition): { forMs: number; severity: Severity; hysteresis: number } {
  const forMs = d.for === undefined ? 0 : parseDuration(`${at}: for`, d.for);
  const severity = d.severity ?? 'warning';
  if (!SEVERITIES.includes(severity)) {
    throw new TypeError(`${at}: severity must be one of ${SEVERITIES.join(', ')}; got ${describeValue(d.severity)}`);
  }
  const hysteresis = d.hysteresis ?? 0.1;
  if (typeof hysteresis !== 'number' || !(hysteresis >= 0 && hysteresis < 1)) {
    throw new RangeError(`${at}: hysteresis must be a number in [0, 1), got ${describeValue(d.hysteresis)}`);
  }
  if (d.group !== undefined && (typeof d.group !== 'string' || d.group === '')) {
    throw new TypeError(`${at}: group must be a non-empty string, got ${describeValue(d.group)}`);
  }
  if (d.summary !== undefined && typeof d.summary !== 'string') {
    throw new TypeError(`${at}: summary must be a string, got ${describeValue(d.summary)}`);
  }
  return { forMs, severity, hysteresis };
}
/**
 * Validates one definition against a snapshot of the sampler it will watch (so that a
 * path that does not exist there is an error now, not a silent NaN later).
 */
function resolveRule(def: unknown, sample: Snapshot, maxWindowMs: number, index = 0): Rule {
  const d = checkObject(`rules[${index}]`, def, 'an object of { name, metric, condition, threshold, … }') as unknown as RuleDefinition;
  const at = typeof d.name === 'string' && d.name !== '' ? `rule ${JSON.stringify(d.name)}` : `rules[${index}]`;
  checkKnownOptions(at, d, FIELDS);
  if (typeof d.name !== 'string' || !NAME_RE.test(d.name)) {
    throw new TypeError(`${at}: name must be a string matching ${NAME_RE.source}, got ${describeValue(d.name)}`);
  }
  if (d.anomaly !== undefined || d.condition === 'anomaly') return resolveAnomalyRule(d, at, sample, maxWindowMs);
  if (d.condition === undefined || !CONDITIONS.includes(d.condition)) {
    throw new TypeError(`${at}: condition must be one of ${CONDITIONS.join(', ')}; got ${describeValue(d.condition)}`);
  }
  if (typeof d.metric !== 'string' || d.metric === '') {
    throw new TypeError(`${at}: metric must be a non-empty string (a Snapshot path such as 'heap.usedBytes'), got ${describeValue(d.metric)}`);
  }
  const histogramNames = WINDOW_HISTOGRAMS.map((n) => `histograms.${n}`);
  if (d.condition === 'percentile') {
    if (!histogramNames.includes(d.metric)) {
      throw new RangeError(`${at}: a percentile rule's metric must be a histogram: one of ${histogramNames.join(', ')}; got ${JSON.stringify(d.metric)}`);
    }
  } else if (!DERIVED_METRICS.includes(d.metric)) {
    if (histogramNames.includes(d.metric)) {
      throw new RangeError(`${at}: ${d.metric} is a histogram: use condition 'percentile' with it`);
    }
    if (readPath(sample, d.metric) === undefined) {
      throw new RangeError(`${at}: metric ${JSON.stringify(d.metric)} is not a number in a Snapshot; use a path such as 'heap.usedBytes', 'loop.utilization', 'gc.byType.scavenge.count', or one of ${DERIVED_METRICS.join(', ')}`);
    }
  }
  const ns = isNanoseconds(d.metric) && d.condition !== 'rate';
  let threshold: number;
  if (typeof d.threshold === 'string' && ns) {
    threshold = parseDuration(`${at}: threshold`, d.threshold) * 1e6;
  } else if (typeof d.threshold === 'number' && Number.isFinite(d.threshold)) {
    threshold = d.threshold;
  } else {
    throw new TypeError(`${at}: threshold must be a finite number${ns ? ' or a duration such as \'200ms\'' : ''} (in the metric's unit), got ${describeValue(d.threshold)}`);
  }
  const windowed = d.condition === 'rate' || d.condition === 'trend' || d.condition === 'percentile' || WINDOWED_DERIVED.includes(d.metric);
  if (!windowed && d.window !== undefined) {
    throw new TypeError(`${at}: window applies to rate, trend and percentile rules (and to ${WINDOWED_DERIVED.join(', ')}), not to ${d.condition}`);
  }
  const windowMs = windowed
    ? d.window === undefined
      ? Math.min(60_000, maxWindowMs)
      : parseDuration(`${at}: window`, d.window, 1000, maxWindowMs)
    : 0;
  let percentile = 0;
  if (d.condition === 'percentile') {
    if (typeof d.percentile !== 'number' || !(d.percentile > 0 && d.percentile <= 100)) {
      throw new RangeError(`${at}: percentile must be a number in (0, 100], got ${describeValue(d.percentile)}`);
    }
    percentile = d.percentile;
  } else if (d.percentile !== undefined) {
    throw new TypeError(`${at}: percentile applies to percentile rules only`);
  }
  const { forMs, severity, hysteresis } = commonFields(at, d);
  let direction: 'above' | 'below' = d.condition === 'below' ? 'below' : 'above';
  if (d.direction !== undefined) {
    if (d.condition === 'above' || d.condition === 'below') {
      throw new TypeError(`${at}: direction applies to rate, trend and percentile rules (above and below say it themselves)`);
    }
    direction = checkOneOf(`${at}: direction`, d.direction, ['above', 'below'] as const);
  }
  return Object.freeze({
    name: d.name,
    metric: d.metric,
    condition: d.condition,
    threshold,
    windowMs,
    percentile,
    forMs,
    severity,
    hysteresis,
    direction,
    anomaly: null,
    group: d.group ?? `${d.metric}|${d.condition}|${direction}|${percentile}`,
    summary: d.summary ?? `${d.metric} ${d.condition === 'rate' || d.condition === 'trend' || d.condition === 'percentile' ? `${d.condition}${percentile ? ` p${percentile}` : ''} ` : ''}${direction} ${d.threshold}`,
  });
}

let counterPatterns: RegExp[] | null = null;
/**
 * Whether `metric` is a counter in the catalog (cumulative, not a histogram): an anomaly
 * rule judges its rate, since its value only grows.
 */
export function isCounter(metric: string): boolean {
  counterPatterns ??= catalog([])
    .filter((e) => e.cumulative && e.kind !== 'histogram')
    .map((e) => new RegExp(`^${e.path.replace(/\./g, '\\.').replace(/\*/g, '[^.]+')}$`));
  return counterPatterns.some((re) => re.test(metric));
}

/** The tail of resolveRule() for anomaly rules (`d` is an object with a valid name and known keys). */
function resolveAnomalyRule(d: RuleDefinition, at: string, sample: Snapshot, maxWindowMs: number): Rule {
  if (d.condition !== undefined && d.condition !== 'anomaly') {
    throw new TypeError(`${at}: an anomaly rule's condition is 'anomaly' (or left out), got ${describeValue(d.condition)}`);
  }
  if (d.threshold !== undefined) throw new TypeError(`${at}: an anomaly rule has no threshold (its baseline is the limit); remove threshold or anomaly`);
  if (typeof d.metric !== 'string' || d.metric === '') {
    throw new TypeError(`${at}: metric must be a non-empty string (a Snapshot path such as 'heap.usedBytes'), got ${describeValue(d.metric)}`);
  }
  const histogram = WINDOW_HISTOGRAMS.map((n) => `histograms.${n}`).includes(d.metric);
  if (!histogram && !DERIVED_METRICS.includes(d.metric) && readPath(sample, d.metric) === undefined) {
    throw new RangeError(`${at}: metric ${JSON.stringify(d.metric)} is not a number in a Snapshot; use a path such as 'process.rssBytes', 'gc.allocatedBytes', a histogram such as 'histograms.loopDelay', or one of ${DERIVED_METRICS.join(', ')}`);
  }
  const a = checkObject(`${at}: anomaly`, d.anomaly ?? {}, 'an object of { sensitivity, learnMs, floor, minDeviation }') as AnomalyDefinition;
  checkKnownOptions(`${at}: anomaly`, a, ANOMALY_FIELDS);
  const sensitivity = a.sensitivity === undefined ? 4 : checkNumber(`${at}: anomaly.sensitivity`, a.sensitivity, 1, 100);
  const learnMs = a.learnMs === undefined ? 600_000 : parseDuration(`${at}: anomaly.learnMs`, a.learnMs, 1000, 86_400_000);
  const floor = a.floor === undefined ? 0.05 : checkNumber(`${at}: anomaly.floor`, a.floor, 0, 1);
  const ns = isNanoseconds(d.metric) && !isCounter(d.metric);
  let minDeviation = 0;
  if (typeof a.minDeviation === 'string' && ns) {
    minDeviation = parseDuration(`${at}: anomaly.minDeviation`, a.minDeviation) * 1e6;
  } else if (a.minDeviation !== undefined) {
    if (typeof a.minDeviation !== 'number' || !Number.isFinite(a.minDeviation) || a.minDeviation < 0) {
      throw new TypeError(`${at}: anomaly.minDeviation must be a finite number ≥ 0${ns ? ' or a duration such as \'10ms\'' : ''} (in the metric's unit), got ${describeValue(a.minDeviation)}`);
    }
    minDeviation = a.minDeviation;
  }
  const windowed = histogram || isCounter(d.metric) || WINDOWED_DERIVED.includes(d.metric);
  if (!windowed && d.window !== undefined) {
    throw new TypeError(`${at}: window applies to anomaly rules on a histogram, a counter or ${WINDOWED_DERIVED.join(', ')}; ${d.metric} is judged by its value`);
  }
  const windowMs = windowed
    ? d.window === undefined
      ? Math.min(10_000, maxWindowMs)
      : parseDuration(`${at}: window`, d.window, 1000, maxWindowMs)
    : 0;
  let percentile = 0;
  if (histogram) {
    percentile = d.percentile === undefined ? 99 : d.percentile;
    if (typeof percentile !== 'number' || !(percentile > 0 && percentile <= 100)) {
      throw new RangeError(`${at}: percentile must be a number in (0, 100], got ${describeValue(d.percentile)}`);
    }
  } else if (d.percentile !== undefined) {
    throw new TypeError(`${at}: percentile applies to anomaly rules on a histogram only`);
  }
  const direction = d.direction === undefined ? 'both' : checkOneOf(`${at}: direction`, d.direction, ['above', 'below', 'both'] as const);
  const { forMs, severity, hysteresis } = commonFields(at, d);
  const of = histogram ? `p${percentile} of ${d.metric}` : isCounter(d.metric) ? `rate of ${d.metric}` : d.metric;
  return Object.freeze({
    name: d.name,
    metric: d.metric,
    condition: 'anomaly' as const,
    threshold: NaN,
    windowMs,
    percentile,
    forMs,
    severity,
    hysteresis,
    direction: direction === 'below' ? 'below' : 'above',
    anomaly: Object.freeze({ sensitivity, learnMs, floor, minDeviation, direction }),
    group: d.group ?? `${d.metric}|anomaly|${direction}|${percentile}`,
    summary: d.summary ?? `${of} ${direction === 'both' ? 'off' : direction} its baseline by over ${sensitivity} deviations`,
  });
}

/** Validates a rule list: each rule, and that names are unique. */
export function resolveRules(defs: unknown, sample: Snapshot, maxWindowMs: number): Rule[] {
  if (!Array.isArray(defs)) throw new TypeError(`rules must be an array of rule definitions, got ${describeValue(defs)}`);
  const rules = defs.map((d, i) => resolveRule(d, sample, maxWindowMs, i));
  const seen = new Set<string>();
  for (const r of rules) {
    if (seen.has(r.name)) throw new RangeError(`rules: the name ${JSON.stringify(r.name)} is used twice; names must be unique`);
    seen.add(r.name);
  }
  return rules;
}

/**
 * The built-in rules: the shipped Prometheus rules (alerts/runtime-sampler.rules.yml),
 * same names, thresholds, durations and severities (Prometheus's "warning" is severity
 * 'warning' here). NodeOldSpaceGrowing uses the in-process leak detector (which needs its
 * trend to hold over several mark-compacts) instead of the rule's hour-apart comparison;
 * NodeContainerMemoryLimitWithinAnHour uses forecastMemory()'s container forecast (a
 * Theil–Sen trend of the working set, sure at a confidence of 0.95) over the default
 * history's 10 minutes instead of predict_linear over 30.
 */
export const BUILTIN_RULES: readonly Readonly<RuleDefinition>[] = Object.freeze([
  { name: 'NodeHeapNearLimit', metric: 'heap.usedRatio', condition: 'above', threshold: 0.85, for: '5m', severity: 'warning', summary: 'V8 heap close to its limit' },
  { name: 'NodeHeapAtLimit', metric: 'heap.usedRatio', condition: 'above', threshold: 0.95, for: '2m', severity: 'critical', summary: 'V8 heap at its limit: an out-of-memory crash is imminent' },
  { name: 'NodeOldSpaceGrowing', metric: 'leak.suspected', condition: 'above', threshold: 0.5, window: '10m', for: '30m', severity: 'warning', hysteresis: 0, summary: 'Old space keeps growing after major GCs (a leak?)' },
  { name: 'NodeGcPauseP99High', metric: 'histograms.gcPause', condition: 'percentile', percentile: 99, threshold: '100ms', window: '5m', for: '10m', severity: 'warning', summary: 'p99 GC pause above 100 ms' },
  { name: 'NodeGcCpuFractionHigh', metric: 'gc.mainThreadNs', condition: 'rate', threshold: 0.1, window: '5m', for: '10m', severity: 'warning', summary: 'GC takes over 10% of the JS thread' },
  { name: 'NodeGcCpuFractionCritical', metric: 'gc.mainThreadNs', condition: 'rate', threshold: 0.25, window: '5m', for: '5m', severity: 'critical', summary: 'GC takes over 25% of the JS thread' },
  { name: 'NodeEventLoopDelayHigh', metric: 'histograms.loopDelay', condition: 'percentile', percentile: 99, threshold: '200ms', window: '5m', for: '5m', severity: 'warning', summary: 'Event-loop delay p99 above 200 ms' },
  { name: 'NodeEventLoopDelayCritical', metric: 'histograms.loopDelay', condition: 'percentile', percentile: 99, threshold: '1s', window: '5m', for: '5m', severity: 'critical', summary: 'Event-loop delay p99 above 1 s' },
  { name: 'NodeEventLoopStalled', metric: 'stall.active', condition: 'above', threshold: 0.5, for: '30s', severity: 'critical', hysteresis: 0, summary: 'The event loop is stuck (needs the watchdog)' },
  { name: 'NodeContainerMemoryNearLimit', metric: 'container.memoryUsedRatio', condition: 'above', threshold: 0.9, for: '5m', severity: 'warning', summary: 'Container memory (working set) above 90% of its limit' },
  { name: 'NodeContainerMemoryLimitWithinAnHour', metric: 'container.secondsToLimit', condition: 'below', threshold: 3600, window: '10m', for: '10m', severity: 'warning', summary: 'At the current trend the container reaches its memory limit within an hour' },
  { name: 'NodeContainerCpuThrottled', metric: 'container.throttledPeriodShare', condition: 'above', threshold: 0.25, window: '5m', for: '10m', severity: 'warning', summary: 'CPU throttled in over a quarter of the CFS periods' },
  { name: 'NodeThreadpoolDelayHigh', metric: 'histograms.threadpoolDelay', condition: 'percentile', percentile: 99, threshold: '100ms', window: '5m', for: '10m', severity: 'warning', summary: 'Threadpool delay p99 above 100 ms' },
  { name: 'NodeThreadpoolStuck', metric: 'threadpool.waitingNs', condition: 'above', threshold: '10s', for: '1m', severity: 'critical', hysteresis: 0, summary: 'A threadpool probe has waited over 10 s for a thread' },
].map((r) => Object.freeze(r as RuleDefinition)));

/**
 * Built-in anomaly rules, off unless asked for (watch(sampler, { anomaly: true }),
 * RUNTIME_SAMPLER_ANOMALY=1): allocation rate, GC CPU, loop delay p99 and RSS, each above
 * its own baseline of the last 30 minutes. The minimum deviations keep a quiet process
 * (a rate or a delay near 0) from flagging the first bit of work.
 */
export const ANOMALY_RULES: readonly Readonly<RuleDefinition>[] = Object.freeze([
  { name: 'NodeAllocationRateAnomaly', metric: 'gc.allocatedBytes', anomaly: { sensitivity: 6, learnMs: '30m', minDeviation: 1 << 20 }, window: '30s', direction: 'above', for: '2m', severity: 'warning', summary: 'Heap allocation rate far above its baseline' },
  { name: 'NodeGcCpuAnomaly', metric: 'gc.mainThreadNs', anomaly: { sensitivity: 6, learnMs: '30m', minDeviation: 0.02 }, window: '1m', direction: 'above', for: '5m', severity: 'warning', summary: 'GC share of the JS thread far above its baseline' },
  { name: 'NodeEventLoopDelayAnomaly', metric: 'histograms.loopDelay', anomaly: { sensitivity: 6, learnMs: '30m', minDeviation: '20ms' }, percentile: 99, window: '1m', direction: 'above', for: '5m', severity: 'warning', summary: 'Event-loop delay p99 far above its baseline' },
  { name: 'NodeRssAnomaly', metric: 'process.rssBytes', anomaly: { sensitivity: 6, learnMs: '30m', floor: 0.1, minDeviation: 64 * 2 ** 20 }, direction: 'above', for: '10m', severity: 'warning', summary: 'RSS far above its baseline' },
].map((r) => Object.freeze(r as RuleDefinition)));
