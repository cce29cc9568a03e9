// A drop-in for prom-client's collectDefaultMetrics(): the same metric names, types, label
// names and default buckets, fed by a Sampler — plus metrics prom-client does not have.
//
// Where it differs, on purpose:
//  - nodejs_gc_duration_seconds counts every GC (prom-client's observer reads only the first
//    entry of each batch of GC performance entries and misses most under load);
//  - the loop-lag gauges are never reset by a scrape: they cover a sliding window
//    (default 60 s) whatever the number of scrapers (prom-client resets its
//    monitorEventLoopDelay histogram at every scrape, so two scrapers corrupt each other);
//  - values with a source in the sampler (CPU, RSS, open fds, heap, heap spaces, active
//    handles/requests totals) come from its shared memory, without a syscall per scrape.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import type * as PromClient from 'prom-client';
import { Sampler } from '../sampler';
import { backend } from '../binding';
import { GC_REASONS, GC_TYPES, reasonLabel } from '../snapshot';
import type { GcTypeName, Snapshot } from '../snapshot';
import { Histogram, INDEX_OFFSET, bucketIndex, bucketLowerBound } from '../histogram';
import { STANDARD_DURATION_BOUNDS_NS, MONOTONIC_TIMESTAMPS, bucketBoundMap, checkBuckets, checkDetail, checkLabels, checkSampler, cumulativeCounts, plan } from './common';
import type { DetailLevel } from '../detail';
import { prometheusName } from './prometheus';
import { LoopWindow, stddev } from '../loop-window';
import { describeValue, SamplerError } from '../errors';
import { checkBoolean, checkKnownOptions, checkNumber, checkOptionsObject, checkString } from '../options';

export interface CollectDefaultMetricsConfig {
  /** The prom-client Registry to register into (default: prom-client's global registry). */
  register?: PromClient.Registry;
  /** Prepended to every metric name. */
  prefix?: string;
  /** Labels added to every series. */
  labels?: Record<string, string | number>;
  /** nodejs_gc_duration_seconds bucket upper bounds, seconds (default [0.001, 0.01, 0.1, 1, 2, 5]). */
  gcDurationBuckets?: number[];
  /**
   * The loop-delay timer's period, ms (default 10), as prom-client's monitorEventLoopDelay
   * resolution. Used for a sampler created here; with `sampler`, it must match the sampler's
   * loopDelayResolutionMs.
   */
  eventLoopMonitoringPrecision?: number;
  /** An existing Sampler to read (started if it is not). Default: a new one, started. */
  sampler?: Sampler;
  /** The window the nodejs_eventloop_lag_* gauges and the utilization cover, ms (1000–3600000, default 60000). */
  eventLoopLagWindowMs?: number;
  /** Register the additional metrics (loop utilization, GC by type, allocation, …). Default true. */
  additions?: boolean;
  /**
   * Which additions: 'standard' (the default) those of the catalog's standard level — what
   * the dashboard and alert rules read — or 'full' every one (GC phases, reasons, per-type
   * pause totals, time to safepoint, physical heap-space sizes, …). prom-client's own
   * metrics are always there.
   */
  detail?: DetailLevel;
}

export interface DefaultMetricsHandle {
  /** The sampler the metrics read. */
  readonly sampler: Sampler;
  /** The names of the metrics registered. */
  readonly metricNames: readonly string[];
  /** Removes the metrics from the registry, stops listening, and closes the sampler if it was created here. */
  close(): void;
  /**
   * The same as close(), as a promise, like every exporter's shutdown(): prom-client is
   * scraped, so there is nothing to send; this stops the lag window's timer and the GC
   * listener so that nothing of ours is left running. Idempotent.
   */
  shutdown(): Promise<void>;
}

const OPTIONS = ['register', 'prefix', 'labels', 'gcDurationBuckets', 'eventLoopMonitoringPrecision', 'sampler', 'eventLoopLagWindowMs', 'additions', 'detail'];
const DEFAULT_GC_DURATION_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];
const NAME_PREFIX_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** prom-client's GC kinds for our GC types. */
const PROM_KIND: Record<GcTypeName, string> = {
  scavenge: 'minor',
  minorMarkSweep: 'minor',
  markSweepCompact: 'major',
  incrementalMarking: 'incremental',
  processWeakCallbacks: 'weakcb',
};
const SNAKE: Record<GcTypeName, string> = {
  scavenge: 'scavenge',
  minorMarkSweep: 'minor_mark_sweep',
  markSweepCompact: 'mark_sweep_compact',
  incrementalMarking: 'incremental_marking',
  processWeakCallbacks: 'process_weak_callbacks',
};

function loadPromClient(): typeof PromClient {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer: a missing package becomes ERR_SAMPLER_PEER_MISSING
    return require('prom-client') as typeof PromClient;
  } catch (e) {
    throw new SamplerError(
      'runtime-sampler/prom-client needs the prom-client package: npm install prom-client',
      'ERR_SAMPLER_PEER_MISSING',
      { cause: e },
    );
  }
}

const VM_SIZE_RE = /^VmSize:\s+(\d+) kB/m;
const VM_DATA_RE = /^VmData:\s+(\d+) kB/m;

/**
 * VmSize and VmData from /proc/self/status at each scrape, as prom-client reads them, into
 * a buffer kept for it: no fstat, no string of the whole file. (Keeping the file open
 * would save the open and close too, but a worker terminated without close() would leak
 * the descriptor.)
 */
class ProcStatus {
  private readonly buf = Buffer.allocUnsafe(4096);

  read(): { vmSize?: number; vmData?: number } {
    let n: number;
    let fd = -1;
    try {
      fd = openSync('/proc/self/status', 'r');
      n = readSync(fd, this.buf, 0, this.buf.length, 0);
    } catch {
      return {};
    } finally {
      try {
        if (fd >= 0) closeSync(fd);
      } catch {
        // Nothing to do: the values read are whole either way.
      }
    }
    const text = this.buf.toString('latin1', 0, n);
    const kb = (re: RegExp): number | undefined => {
      const m = re.exec(text);
      return m ? Number(m[1]) * 1024 : undefined;
    };
    return { vmSize: kb(VM_SIZE_RE), vmData: kb(VM_DATA_RE) };
  }
}

function maxFds(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const n = line ? Number(line.split(/  +/)[1]) : NaN;
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function countByName(list: unknown[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of list) {
    const name = (x as { constructor?: { name?: string } } | null)?.constructor?.name;
    if (!name) continue;
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

type Labels = Readonly<Record<string, string | number>>;
/** Receives one series of a metric at a scrape. */
type Emit = (labels: Labels, value: number) => void;
const NO_LABELS: Labels = Object.freeze({});

interface SeriesValue {
  labels: Labels;
  sharedLabels?: Labels;
  value: number;
  metricName?: string;
  exemplar?: undefined;
}
interface MetricData {
  name: string;
  help: string;
  type: string;
  values: SeriesValue[];
  aggregator: string;
}
/** What prom-client's metric classes have at run time beyond their typings. */
interface MetricFields {
  name: string;
  help: string;
  type: string;
  aggregator: string;
}

/**
 * The series of one scrape as values for prom-client. The text path (getForPromString(),
 * prom-client ≥ 15) passes each series' labels as sharedLabels: they are objects built
 * once, and the registry formats such an object once and keeps the string (a WeakMap),
 * where plain labels are formatted again for every series at every scrape. get() (JSON,
 * the cluster aggregator, every prom-client version) gives each value labels of its own.
 */
function emitter(values: SeriesValue[], forText: boolean): Emit {
  return forText
    ? (labels, value) => { values.push(textValue(NO_LABELS, labels, value, undefined)); }
    : (labels, value) => { values.push({ labels: { ...labels }, value }); };
}

/**
 * A value for the registry's text path, in the shape of prom-client's own histogram values
 * (the same keys in the same order): the registry's formatting code then sees one or two
 * object shapes, not three, and stays fast for prom-client's metrics and ours alike.
 */
function textValue(labels: Labels, sharedLabels: Labels, value: number, metricName: string | undefined): SeriesValue {
  return { labels, sharedLabels, value, metricName, exemplar: undefined };
}

/**
 * A prom-client Gauge or Counter whose series `fill` computes at each scrape straight into
 * the values the registry renders: no set()/inc() with their label checks and hashing, no
 * series map to reset. `zero`: an unlabelled metric with no value has a 0 series, as a
 * prom-client Gauge that was never set.
 */
function samplerMetric(
  Base: typeof PromClient.Gauge | typeof PromClient.Counter,
  config: MetricConfig,
  fill: (emit: Emit) => void,
  sharedLabels: boolean,
  zero: boolean,
): void {
  const data = (m: MetricFields, forText: boolean): MetricData => {
    const values: SeriesValue[] = [];
    fill(emitter(values, forText && sharedLabels));
    if (zero && values.length === 0 && config.labelNames.length === 0) values.push(forText && sharedLabels ? textValue(NO_LABELS, NO_LABELS, 0, undefined) : { labels: {}, value: 0 });
    return { name: m.name, help: m.help, type: m.type, values, aggregator: m.aggregator };
  };
  const metric = new (samplerMetricClass(Base, sharedLabels))(config);
  metric[DATA] = data;
}

interface MetricConfig {
  name: string;
  help: string;
  registers: PromClient.Registry[];
  labelNames: string[];
}
const DATA = Symbol('data');
interface SamplerMetricInstance {
  [DATA]: (m: MetricFields, forText: boolean) => MetricData;
}
const metricClasses = new WeakMap<object, new (c: MetricConfig) => SamplerMetricInstance>();

/**
 * One subclass per prom-client class (not one per metric): the registry's calls to get()
 * and getForPromString() then see a handful of shapes, as with prom-client's own metrics.
 */
function samplerMetricClass(Base: typeof PromClient.Gauge | typeof PromClient.Counter, sharedLabels: boolean): new (c: MetricConfig) => SamplerMetricInstance {
  const made = metricClasses.get(Base);
  if (made) return made;
  const Metric = Base as unknown as new (c: MetricConfig) => object;
  class SamplerMetric extends Metric {
    declare [DATA]: SamplerMetricInstance[typeof DATA];
    get(): Promise<MetricData> {
      return Promise.resolve(this[DATA](this as unknown as MetricFields, false));
    }
  }
  // Only where the registry renders sharedLabels (prom-client ≥ 15, the same for every
  // registry of one prom-client): older ones call get().
  if (sharedLabels) {
    (SamplerMetric.prototype as unknown as { getForPromString(): Promise<MetricData> }).getForPromString = function (this: SamplerMetric) {
      return Promise.resolve(this[DATA](this as unknown as MetricFields, true));
    };
  }
  metricClasses.set(Base, SamplerMetric);
  return SamplerMetric;
}

interface SamplerHistogramConfig {
  name: string;
  help: string;
  registers: PromClient.Registry[];
  labelNames: string[];
  labels: Labels;
  /** Upper bounds, ns. */
  boundsNs: readonly number[];
  histogram: () => Histogram;
  /** A value that changes whenever the histogram does (its count from the snapshot): an unchanged one spares the copy. */
  version: () => number;
}

/**
 * Histogram series values, for prom-client: `cum` the cumulative count at each bound, with
 * `bucketLabels` (one more: +Inf), `plain` the labels of _sum and _count. `series`, if
 * any: labels every value also has, given as sharedLabels on the text path (as
 * prom-client's own histograms do: `le` then these) and merged in on get().
 */
function histogramValues(name: string, bucketLabels: readonly Labels[], plain: Labels, series: Labels | null, cum: ArrayLike<number>, count: number, sum: number, forText: boolean, out: SeriesValue[]): void {
  const bucket = `${name}_bucket`;
  const value = forText
    ? (l: Labels, v: number, metricName: string): SeriesValue => textValue(l, series ?? NO_LABELS, v, metricName)
    : (l: Labels, v: number, metricName: string): SeriesValue => ({ labels: { ...l, ...series }, value: v, metricName });
  for (let i = 0; i < cum.length; i++) out.push(value(bucketLabels[i], cum[i], bucket));
  out.push(value(bucketLabels[cum.length], count, bucket), value(plain, sum, `${name}_sum`), value(plain, count, `${name}_count`));
}
/** Bucket labels for `bounds` and +Inf: `first`, then `le`. */
const leLabels = (bounds: readonly number[], first: Labels = NO_LABELS): Labels[] =>
  [...bounds, '+Inf'].map((le) => Object.freeze({ ...first, le }));

/**
 * A prom-client Histogram whose series are the sampler's cumulative histogram, read at
 * each scrape: the same buckets, sum and count as toPrometheus() gives, without replaying
 * every value through observe() (a sampler that has run for a day holds millions).
 */
function samplerHistogram(client: typeof PromClient, c: SamplerHistogramConfig): PromClient.Histogram {
  const factor = 1e-9;
  const bounds = c.boundsNs.map((b) => b * factor);
  // As toPrometheus() writes them: the labels, then `le`.
  const le = leLabels(bounds, c.labels);
  let map: Int32Array | null = null;
  let mapScale = -1;
  // The cumulative counts change only with the histogram's count: most scrapes reuse them.
  let cum: number[] = [];
  let count = 0;
  let sum = 0;
  let version = NaN;
  const data = (m: MetricFields, forText: boolean): MetricData => {
    const v = c.version();
    if (v !== version) {
      const h = c.histogram();
      if (mapScale !== h.scale) {
        map = bucketBoundMap(c.boundsNs, h.scale, h.counts.length);
        mapScale = h.scale;
      }
      cum = cumulativeCounts(h, c.boundsNs, map!);
      count = h.count;
      sum = h.sum * factor;
      version = v;
    }
    const values: SeriesValue[] = [];
    histogramValues(m.name, le, c.labels, null, cum, count, sum, forText, values);
    return { name: m.name, help: m.help, type: 'histogram', values, aggregator: 'sum' };
  };
  class Cumulative extends client.Histogram {
    constructor() {
      super({ name: c.name, help: c.help, registers: c.registers, labelNames: c.labelNames, buckets: bounds });
    }
    override get(): ReturnType<PromClient.Histogram['get']> {
      return Promise.resolve(data(this as unknown as MetricFields, false) as unknown as Awaited<ReturnType<PromClient.Histogram['get']>>);
    }
    // The registry renders getForPromString() when there is one (prom-client ≥ 15), else get().
    getForPromString(): Promise<MetricData> {
      return Promise.resolve(data(this as unknown as MetricFields, true));
    }
  }
  return new Cumulative();
}

/** prom-client's GC kinds, in the order their series are written, and our GC types in each. */
const PROM_KINDS: ReadonlyArray<[string, number[]]> = ['minor', 'major', 'incremental', 'weakcb'].map((kind) => [
  kind,
  GC_TYPES.flatMap((t, i) => (PROM_KIND[t] === kind ? [i] : [])),
]);
const GC_TYPE_INDEX = new Map<string, number>(GC_TYPES.map((t, i) => [t, i]));

/**
 * nodejs_gc_duration_seconds from the sampler's per-type pause histograms, read at each
 * scrape, rather than one prom-client observe() per GC: the count and sum of every GC are
 * the native histograms' (they miss none, even when the event ring overflows), and so is
 * every bucket but the one (base-2, ~1.1% wide at scale 6) that holds a bound. prom-client's
 * bounds (0.001, 0.01, …) fall inside such buckets; for those, the GC events (drained
 * from the ring before each scrape) are tallied per bound as observe() would count them,
 * `pause / 1e9 <= le`: exact. Only GCs in such a bucket that no event delivered — before
 * these metrics were registered with a sampler that had run, or dropped by a full ring
 * (runtime_sampler_ring_dropped_total) — are placed by the bucket's geometric middle.
 */
class GcDurations {
  private readonly bucket: Int32Array;
  /** Whether every value of the bound's bucket is ≤ the bound (a base-2 bound): no tally needed. */
  private readonly whole: Uint8Array;
  /** Whether the bound's bucket's geometric middle is ≤ the bound: where untallied GCs go. */
  private readonly middleBelow: Uint8Array;
  /** bucket → the bounds in it. */
  private readonly boundsIn = new Map<number, number[]>();
  /** Per GC type and bound: events in the bound's bucket ≤ the bound, and > it. */
  private readonly tallies: Float64Array;
  /** The cumulative counts at each bound, summed by add(). */
  readonly cum: Float64Array;

  constructor(private readonly bounds: readonly number[], private readonly scale: number) {
    const n = bounds.length;
    this.bucket = new Int32Array(n);
    this.whole = new Uint8Array(n);
    this.middleBelow = new Uint8Array(n);
    bounds.forEach((b, j) => {
      const index = bucketIndex(b * 1e9, scale);
      const lower = bucketLowerBound(index, scale);
      const upper = bucketLowerBound(index + 1, scale);
      const k = index - INDEX_OFFSET;
      this.bucket[j] = k;
      this.whole[j] = upper / 1e9 <= b ? 1 : 0;
      this.middleBelow[j] = Math.sqrt(lower * upper) / 1e9 <= b ? 1 : 0;
      if (!this.whole[j]) {
        const list = this.boundsIn.get(k);
        if (list) list.push(j);
        else this.boundsIn.set(k, [j]);
      }
    });
    this.tallies = new Float64Array(GC_TYPES.length * n * 2);
    this.cum = new Float64Array(n);
  }

  /** One GC event from the ring. */
  observe(type: string, pauseNs: number): void {
    if (!(pauseNs > 0)) return; // ≤ every bound, like the histograms' zero count
    const list = this.boundsIn.get(bucketIndex(pauseNs, this.scale) - INDEX_OFFSET);
    if (list === undefined) return;
    const t = GC_TYPE_INDEX.get(type);
    if (t === undefined) return;
    const seconds = pauseNs / 1e9;
    const base = t * this.bounds.length;
    for (const j of list) this.tallies[(base + j) * 2 + (seconds <= this.bounds[j] ? 0 : 1)]++;
  }

  /** Adds type `t`'s cumulative counts at each bound, from its histogram `h`, into `this.cum`. */
  add(t: number, h: Histogram): void {
    const n = this.bounds.length;
    const counts = h.counts;
    const min = h.min / 1e9;
    const max = h.max / 1e9;
    let acc = h.zeroCount;
    // Only the buckets from min's up hold values (one of slack: a min on a bucket bound).
    let i = h.min > 0 ? Math.max(0, bucketIndex(h.min, h.scale) - INDEX_OFFSET - 1) : 0;
    for (let j = 0; j < n; j++) {
      const b = this.bounds[j];
      // The exact ends: every value is ≤ a bound at or above max, none ≤ one below min.
      if (max <= b) {
        this.cum[j] += h.count;
        continue;
      }
      if (min > b) continue;
      const k = this.bucket[j];
      for (; i < k; i++) acc += counts[i];
      const inBucket = counts[k];
      let own: number;
      if (this.whole[j]) {
        own = inBucket;
      } else {
        const at = (t * n + j) * 2;
        const below = Math.min(this.tallies[at], inBucket);
        const untallied = Math.max(0, inBucket - below - this.tallies[at + 1]);
        own = below + (this.middleBelow[j] ? untallied : 0);
      }
      this.cum[j] += Math.min(h.count, acc + own);
    }
  }
}

/**
 * Registers prom-client's default metrics — fed by a Sampler — into a prom-client
 * Registry. Same config shape as prom-client's collectDefaultMetrics(), plus `sampler`,
 * `eventLoopLagWindowMs`, `additions` and `detail`.
 */
export function collectDefaultMetrics(config?: CollectDefaultMetricsConfig): DefaultMetricsHandle {
  const o = checkOptionsObject('collectDefaultMetrics()', config);
  checkKnownOptions('collectDefaultMetrics()', o, OPTIONS);
  const client = loadPromClient();
  const register = o.register === undefined ? client.register : o.register;
  if (register === null || typeof register !== 'object' || typeof (register as PromClient.Registry).registerMetric !== 'function') {
    throw new TypeError(`register must be a prom-client Registry, got ${describeValue(o.register)}`);
  }
  const registry = register as PromClient.Registry;
  const prefix = o.prefix === undefined ? '' : checkString('prefix', o.prefix, NAME_PREFIX_RE, 'a metric-name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
  const labels = o.labels === undefined ? {} : checkLabels('labels', o.labels, LABEL_RE, '[a-zA-Z_][a-zA-Z0-9_]*');
  const gcBuckets = o.gcDurationBuckets === undefined ? DEFAULT_GC_DURATION_BUCKETS : checkBuckets('gcDurationBuckets', o.gcDurationBuckets);
  const precision = o.eventLoopMonitoringPrecision === undefined ? undefined : checkNumber('eventLoopMonitoringPrecision', o.eventLoopMonitoringPrecision, 1, 1000);
  if (precision !== undefined && !Number.isInteger(precision)) {
    throw new RangeError(`eventLoopMonitoringPrecision must be an integer number of ms from 1 to 1000, got ${precision}`);
  }
  const windowMs = o.eventLoopLagWindowMs === undefined ? 60_000 : checkNumber('eventLoopLagWindowMs', o.eventLoopLagWindowMs, 1000, 3_600_000);
  const additions = o.additions === undefined ? true : checkBoolean('additions', o.additions);
  const full = checkDetail(o.detail) === 'full';
  let sampler: Sampler;
  let owned = false;
  if (o.sampler !== undefined) {
    sampler = checkSampler('collectDefaultMetrics()', o.sampler, 'a runtime-sampler Sampler');
    if (typeof sampler.onGC !== 'function' || typeof sampler.start !== 'function') {
      // A SamplerView or SamplerAggregate: GC events and start() belong to the owner thread.
      throw new TypeError('collectDefaultMetrics(): sampler must be a Sampler of this thread (a view or an aggregate has no GC events; serve those with toPrometheus())');
    }
    if (precision !== undefined && sampler.options.loopDelayResolutionMs !== precision) {
      throw new RangeError(
        `eventLoopMonitoringPrecision ${precision} differs from the sampler's loopDelayResolutionMs ${sampler.options.loopDelayResolutionMs}; ` +
          'leave it out, or create the sampler with that resolution',
      );
    }
    if (!sampler.started) sampler.start();
  } else {
    sampler = new Sampler(precision === undefined ? {} : { loopDelayResolutionMs: precision }).start();
    owned = true;
  }

  const labelNames = Object.keys(labels);
  const registers = [registry];
  const names: string[] = [];
  // prom-client ≥ 15 renders sharedLabels (what its own Histogram's getForPromString() gives).
  const sharedLabels = typeof (client.Histogram.prototype as { getForPromString?: unknown }).getForPromString === 'function';

  // Every GC, counted from the first one: subscribed before anything drains the ring.
  const gcBounds = new GcDurations(gcBuckets, sampler.options.histogramScale);
  const offGC = sampler.onGC((e) => gcBounds.observe(e.type, e.pauseNs));

  // One scrape's inputs, read once: prom-client's Registry.metrics() and getMetricsAsJSON()
  // call every metric's get() in one synchronous pass before they await anything, so what
  // the first get() of a pass reads is kept until the pass ends (a queued microtask runs
  // only then) and the other metrics reuse it. The next scrape, even in the same tick, is a
  // new pass: values are never stale, and never read twice within a scrape.
  const snap = sampler.read();
  let inPass = false;
  let lagValid = false;
  let gcValid = false;
  let statusValid = false;
  let lagProbed = false;
  const endPass = (): void => {
    inPass = false;
    lagProbed = false;
    lagValid = false;
    gcValid = false;
    statusValid = false;
  };
  const read = (): Snapshot => {
    if (!inPass) {
      sampler.read(snap);
      inPass = true;
      queueMicrotask(endPass);
    }
    return snap;
  };
  const gauge = (name: string, help: string, fill: (emit: Emit) => void, extraLabels: string[] = [], zero = true): void => {
    names.push(prefix + name);
    samplerMetric(client.Gauge, { name: prefix + name, help, registers, labelNames: [...extraLabels, ...labelNames] }, fill, sharedLabels, zero);
  };
  const counter = (name: string, help: string, value: () => number): void => {
    names.push(prefix + name);
    // Our totals are cumulative already: the counter is set to them (a prom-client counter
    // that was reset and never incremented: a 0 series only without labels).
    samplerMetric(client.Counter, { name: prefix + name, help, registers, labelNames }, (emit) => {
      const v = value();
      if (v > 0) emit(labels, v);
    }, sharedLabels, true);
  };
  /** Label objects for the values of one label, built once each (the values come from a small fixed set). */
  const labelsBy = (key: string): ((value: string) => Labels) => {
    const made = new Map<string, Labels>();
    return (value) => {
      let l = made.get(value);
      if (l === undefined) made.set(value, (l = Object.freeze({ [key]: value, ...labels })));
      return l;
    };
  };
  const typed = (emit: Emit, data: Record<string, number>, by: (value: string) => Labels): void => {
    for (const k in data) emit(by(k), data[k]);
  };

  // ---- prom-client's metrics ----
  counter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', () => read().process.cpuUserUs / 1e6);
  counter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', () => read().process.cpuSystemUs / 1e6);
  counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => {
    const s = read();
    return (s.process.cpuUserUs + s.process.cpuSystemUs) / 1e6;
  });
  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', (emit) => emit(labels, startSeconds));
  const procStatusFile = new ProcStatus();
  if (process.platform === 'linux') {
    let status: { vmSize?: number; vmData?: number } = {};
    const vm = (): { vmSize?: number; vmData?: number } => {
      read();
      if (!statusValid) {
        status = procStatusFile.read();
        statusValid = true;
      }
      return status;
    };
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', (emit) => emit(labels, read().process.rssBytes));
    gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.', (emit) => {
      const v = vm().vmSize;
      if (v !== undefined) emit(labels, v);
    });
    gauge('process_heap_bytes', 'Process heap size in bytes.', (emit) => {
      const v = vm().vmData;
      if (v !== undefined) emit(labels, v);
    });
  } else {
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', (emit) => emit(labels, read().process.rssBytes));
  }
  if (process.platform === 'linux') {
    gauge('process_open_fds', 'Number of open file descriptors.', (emit) => {
      const n = read().process.openFds;
      if (n >= 0) emit(labels, n);
    });
  }
  const fdLimit = maxFds();
  if (fdLimit !== undefined) gauge('process_max_fds', 'Maximum number of open file descriptors.', (emit) => emit(labels, fdLimit));

  // Loop lag: setImmediate lag measured at each scrape (reported at the next, as
  // prom-client does) and the delay histogram over a sliding window, never reset. The
  // window's statistics are computed once per scrape, whichever gauge asks first.
  const lagWindow = new LoopWindow(sampler, windowMs);
  let lagSeconds = 0;
  gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', (emit) => {
    read();
    // One probe a pass: scrapers in the same pass get the same value.
    if (!lagProbed) {
      const start = process.hrtime.bigint();
      setImmediate(() => { lagSeconds = Number(process.hrtime.bigint() - start) / 1e9; });
      lagProbed = true;
    }
    emit(labels, lagSeconds);
  });
  const lagStats: Array<[string, string, (h: Histogram) => number]> = [
    ['min', 'The minimum recorded event loop delay.', (h) => h.min],
    ['max', 'The maximum recorded event loop delay.', (h) => h.max],
    ['mean', 'The mean of the recorded event loop delays.', (h) => h.mean],
    ['stddev', 'The standard deviation of the recorded event loop delays.', stddev],
    ['p50', 'The 50th percentile of the recorded event loop delays.', (h) => h.percentile(50)],
    ['p90', 'The 90th percentile of the recorded event loop delays.', (h) => h.percentile(90)],
    ['p99', 'The 99th percentile of the recorded event loop delays.', (h) => h.percentile(99)],
  ];
  const windowDelay = new Histogram(sampler.histograms.loopDelay.scale);
  const lagValues = new Float64Array(lagStats.length);
  const lag = (): Float64Array => {
    read();
    if (!lagValid) {
      const h = lagWindow.delay(windowDelay);
      lagStats.forEach(([, , stat], i) => {
        const v = stat(h);
        lagValues[i] = Number.isNaN(v) ? 0 : v / 1e9;
      });
      lagValid = true;
    }
    return lagValues;
  };
  lagStats.forEach(([k, help], i) => {
    gauge(`nodejs_eventloop_lag_${k}_seconds`, help, (emit) => emit(labels, lag()[i]));
  });

  if (typeof process.getActiveResourcesInfo === 'function') {
    const byType = labelsBy('type');
    gauge('nodejs_active_resources', 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.', (emit) => {
      const counts: Record<string, number> = {};
      for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
      typed(emit, counts, byType);
    }, ['type']);
    gauge('nodejs_active_resources_total', 'Total number of active resources.', (emit) => emit(labels, process.getActiveResourcesInfo().length));
  }
  const proc = process as unknown as { _getActiveHandles?: () => unknown[]; _getActiveRequests?: () => unknown[] };
  if (typeof proc._getActiveHandles === 'function') {
    const byType = labelsBy('type');
    gauge('nodejs_active_handles', 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.', (emit) => typed(emit, countByName(proc._getActiveHandles!()), byType), ['type']);
  }
  // libuv's own counters where the native backend reads them; on the JavaScript backend (NaN)
  // what prom-client itself reports, so that the drop-in never serves NaN for a value it had.
  const orCount = (v: number, list: (() => unknown[]) | undefined): number => (Number.isNaN(v) && list ? list.call(process).length : v);
  gauge('nodejs_active_handles_total', 'Total number of active handles.', (emit) => emit(labels, orCount(read().process.activeHandles, proc._getActiveHandles)));
  if (typeof proc._getActiveRequests === 'function') {
    const byType = labelsBy('type');
    gauge('nodejs_active_requests', 'Number of active libuv requests grouped by request type. Every request type is C++ class name.', (emit) => typed(emit, countByName(proc._getActiveRequests!()), byType), ['type']);
  }
  gauge('nodejs_active_requests_total', 'Total number of active requests.', (emit) => emit(labels, orCount(read().process.activeRequests, proc._getActiveRequests)));

  gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', (emit) => emit(labels, read().heap.totalBytes));
  gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', (emit) => emit(labels, read().heap.usedBytes));
  gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', (emit) => emit(labels, read().heap.externalBytes));
  const spaceLabel = (name: string): string => (name.endsWith('_space') ? name.slice(0, -'_space'.length) : name);
  const bySpace = labelsBy('space');
  // The spaces are fixed for a sampler: [snapshot key, labels] once.
  const spaces = Object.keys(snap.heap.spaces).map((name) => [name, bySpace(spaceLabel(name))] as const);
  const perSpace = (emit: Emit, field: 'sizeBytes' | 'usedBytes' | 'availableBytes' | 'physicalBytes'): void => {
    const all = read().heap.spaces;
    for (const [name, l] of spaces) emit(l, all[name][field]);
  };
  for (const [kind, field] of [['total', 'sizeBytes'], ['used', 'usedBytes'], ['available', 'availableBytes']] as const) {
    gauge(`nodejs_heap_space_size_${kind}_bytes`, `Process heap space size ${kind} from Node.js in bytes.`, (emit) => perSpace(emit, field), ['space']);
  }
  const version = process.version;
  const [major, minor, patch] = version.slice(1).split('.').map(Number);
  const versionLabels: Labels = Object.freeze({ version, major, minor, patch, ...labels });
  gauge('nodejs_version_info', 'Node.js version info.', (emit) => emit(versionLabels, 1), ['version', 'major', 'minor', 'patch']);

  // Every GC, from the sampler's per-type histograms (see GcDurations).
  const gcName = `${prefix}nodejs_gc_duration_seconds`;
  names.push(gcName);
  const gcLe = leLabels(gcBuckets);
  const kindLabels = PROM_KINDS.map(([kind]) => Object.freeze({ kind, ...labels }));
  const gcSeries = { count: new Float64Array(PROM_KINDS.length), sum: new Float64Array(PROM_KINDS.length), cum: PROM_KINDS.map(() => new Float64Array(gcBuckets.length)) };
  const gcDurations = (): typeof gcSeries => {
    read();
    if (gcValid) return gcSeries;
    const byType = sampler.histograms.gcPauseByType;
    // Every event of the histograms' copies tallied: a GC between the drain and a copy
    // (the copies' own allocation can start one) is drained and the copies taken again.
    // A type without a GC in this scrape's snapshot is left out (its histogram is empty).
    const counts = snap.gc.byType;
    let hs: Array<Histogram | null> = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      sampler.drain();
      hs = GC_TYPES.map((t) => (counts[t].count > 0 ? byType[t] : null));
      if (sampler.drain() === 0) break;
    }
    PROM_KINDS.forEach(([, types], k) => {
      gcBounds.cum.fill(0);
      let count = 0;
      let sum = 0;
      for (const t of types) {
        const h = hs[t];
        if (h === null || h.count === 0) continue;
        count += h.count;
        sum += h.sum;
        gcBounds.add(t, h);
      }
      gcSeries.count[k] = count;
      gcSeries.sum[k] = sum / 1e9;
      gcSeries.cum[k].set(gcBounds.cum);
    });
    gcValid = true;
    return gcSeries;
  };
  const gcData = (m: MetricFields, forText: boolean): MetricData => {
    const g = gcDurations();
    const values: SeriesValue[] = [];
    // A kind without a GC has no series, as with prom-client's observe().
    for (let k = 0; k < PROM_KINDS.length; k++) {
      if (g.count[k] > 0) histogramValues(m.name, gcLe, NO_LABELS, kindLabels[k], g.cum[k], g.count[k], g.sum[k], forText, values);
    }
    return { name: m.name, help: m.help, type: 'histogram', values, aggregator: 'sum' };
  };
  class GcDuration extends client.Histogram {
    constructor() {
      super({
        name: gcName,
        help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
        labelNames: ['kind', ...labelNames],
        buckets: gcBuckets,
        registers,
      });
    }
    override get(): ReturnType<PromClient.Histogram['get']> {
      return Promise.resolve(gcData(this as unknown as MetricFields, false) as unknown as Awaited<ReturnType<PromClient.Histogram['get']>>);
    }
    getForPromString(): Promise<MetricData> {
      return Promise.resolve(gcData(this as unknown as MetricFields, sharedLabels));
    }
  }
  new GcDuration();

  // ---- additions ----
  if (additions) {
    gauge('nodejs_eventloop_utilization_ratio', 'Event-loop utilization (busy / (busy + idle)) over the lag window (eventLoopLagWindowMs).', (emit) => {
      const u = lagWindow.utilization(read());
      if (!Number.isNaN(u)) emit(labels, u);
    });
    counter('nodejs_eventloop_busy_seconds_total', 'Time the event loop spent running callbacks.', () => read().loop.busyNs / 1e9);
    counter('nodejs_eventloop_idle_seconds_total', 'Time the event loop spent idle, waiting for events.', () => read().loop.idleNs / 1e9);
    // What only the native backend measures (catalog native: true) is left out on the
    // JavaScript backend: an unlabelled prom-client counter cannot be absent, and 0 would lie.
    const nativeBackend = backend === 'native';
    if (nativeBackend) {
      counter('nodejs_eventloop_iterations_total', 'Event-loop iterations completed.', () => read().loop.iterations);
      if (full) gauge('nodejs_eventloop_iteration_max_seconds', 'Busy time of the busiest event-loop iteration since the sampler started.', (emit) => emit(labels, read().loop.maxIterationNs / 1e9));
    }
    const byGcType = labelsBy('type');
    const gcTypes = GC_TYPES.filter((t) => t in snap.gc.byType).map((t) => [t, byGcType(SNAKE[t])] as const);
    const byType = (name: string, help: string, field: 'count' | 'pauseNs' | 'maxPauseNs', scale: number): void => {
      gauge(name, help, (emit) => {
        const s = read().gc.byType;
        for (const [t, l] of gcTypes) emit(l, s[t][field] * scale);
      }, ['type']);
    };
    // Cumulative values with a label are exported as gauges (prom-client counters cannot be set).
    byType('nodejs_gc_collections', 'Garbage collections since the sampler started, by V8 GC type (cumulative).', 'count', 1);
    // Below, `full` marks what the catalog puts at detail 'full' (nodejs_gc_duration_seconds
    // already has each kind's pause total in its _sum).
    if (full) {
      byType('nodejs_gc_pause_seconds', 'Total GC pause since the sampler started, by V8 GC type (cumulative).', 'pauseNs', 1e-9);
      byType('nodejs_gc_pause_max_seconds', 'Longest single GC pause since the sampler started, by V8 GC type.', 'maxPauseNs', 1e-9);
      counter('nodejs_gc_forced_total', 'Garbage collections forced by gc() or the embedder.', () => read().gc.forcedCount);
    }
    counter('nodejs_heap_allocated_bytes_total', 'Heap bytes allocated since the sampler started.', () => read().gc.allocatedBytes);
    counter('nodejs_heap_reclaimed_bytes_total', 'Heap bytes freed by garbage collections since the sampler started.', () => read().gc.reclaimedBytes);
    gauge('nodejs_heap_size_limit_bytes', 'The V8 heap size limit.', (emit) => emit(labels, read().heap.limitBytes));
    if (full) gauge('nodejs_heap_space_size_physical_bytes', 'Process heap space size backed by physical memory, in bytes.', (emit) => perSpace(emit, 'physicalBytes'), ['space']);
    gauge('nodejs_heap_native_contexts', 'Native contexts alive (vm contexts, realms).', (emit) => emit(labels, read().heap.nativeContexts));
    gauge('nodejs_heap_detached_contexts', 'Contexts detached but not yet collected; non-zero for long is a leak.', (emit) => emit(labels, read().heap.detachedContexts));
    // From V8's own GC histograms (the sampler's v8Histograms option).
    if (nativeBackend) {
      counter('nodejs_gc_main_thread_seconds_total', 'GC time on the JS thread: every pause plus the incremental marking steps between pauses.', () => read().gc.mainThreadNs / 1e9);
      counter('nodejs_gc_incremental_marking_steps_total', 'Incremental marking steps V8 ran on the JS thread between GC pauses.', () => read().gc.incrementalMarkingSteps);
      counter('nodejs_gc_incremental_marking_seconds_total', 'Time of the incremental marking steps (V8 totals it per cycle in whole ms, truncated).', () => read().gc.incrementalMarkingNs / 1e9);
    }
    if (nativeBackend && full) {
      const byPhase = { mark_compact: new Map<string, Labels>(), scavenge: new Map<string, Labels>() };
      const phaseLabels = (collector: 'mark_compact' | 'scavenge', phase: string): Labels => {
        let l = byPhase[collector].get(phase);
        if (l === undefined) byPhase[collector].set(phase, (l = Object.freeze({ collector, phase, ...labels })));
        return l;
      };
      gauge('nodejs_gc_phase_seconds', 'Time per GC phase as V8 times it, by collector and phase, whole ms per collection (cumulative).', (emit) => {
        const gcs = read().gc;
        const mc = gcs.markCompact.phaseNs;
        for (const phase in mc) emit(phaseLabels('mark_compact', phase), mc[phase as keyof typeof mc] / 1e9);
        const sc = gcs.scavengePhases.phaseNs;
        for (const phase in sc) emit(phaseLabels('scavenge', phase), sc[phase as keyof typeof sc] / 1e9);
      }, ['collector', 'phase']);
      counter('nodejs_gc_time_to_safepoint_seconds_total', 'Time GCs waited for the heap\'s threads to reach a safepoint (µs resolution).', () => read().gc.timeToSafepoint.totalNs / 1e9);
      gauge('nodejs_gc_time_to_safepoint_max_seconds', 'Longest wait for a safepoint since the sampler started.', (emit) => emit(labels, read().gc.timeToSafepoint.maxNs / 1e9));
      const reasonLabels = new Map<string, Labels>();
      const byReason = (collector: string, reason: string): Labels => {
        const key = `${collector} ${reason}`;
        let l = reasonLabels.get(key);
        if (l === undefined) reasonLabels.set(key, (l = Object.freeze({ collector, reason: reasonLabel(reason), ...labels })));
        return l;
      };
      gauge('nodejs_gc_reasons', 'Collections by the reason V8 gives, for mark-compacts and incremental marking starts (cumulative).', (emit) => {
        const r = read().gc.reasons;
        for (const [collector, counts] of [['mark_compact', r.markCompact], ['incremental_marking', r.incrementalMarking]] as const) {
          for (const reason of GC_REASONS) {
            const n = (counts as unknown as Record<string, number>)[reason];
            if (n > 0) emit(byReason(collector, reason), n);
          }
        }
      }, ['collector', 'reason']);
    }
    const fragmentationTotal: Labels = Object.freeze({ space: 'total', ...labels });
    gauge('nodejs_heap_fragmentation_ratio', 'External fragmentation after the last GC (share of committed memory not holding objects), by space and in total.', (emit) => {
      const f = read().heap.fragmentation;
      if (full && !Number.isNaN(f.total)) emit(fragmentationTotal, f.total);
      for (const name in f.spaces) {
        const v = f.spaces[name];
        if (!Number.isNaN(v)) emit(bySpace(spaceLabel(name)), v);
      }
    }, ['space']);

    // The container and threadpool families of the catalog, under the names toPrometheus()
    // gives them (prometheusName), so dashboards and alert rules work with either exporter.
    // NaN (the kernel does not say) leaves the series out; +Infinity (no limit) is +Inf.
    for (const f of plan(sampler, snap, full ? 'full' : 'standard')) {
      const d = f.description;
      if (f.histogram || MONOTONIC_TIMESTAMPS.has(d.name) || !/^nodejs\.(container|threadpool)\./.test(d.name)) continue;
      const { name, factor } = prometheusName(d.name, d.unit);
      const points = f.points.map((pt) => {
        const own = Object.fromEntries(Object.entries(pt.attributes).map(([k, v]) => [k.replace(/[^a-zA-Z0-9_]/g, '_'), v]));
        return { own, labels: Object.freeze({ ...own, ...labels }), get: pt.get };
      });
      const attributeNames = Object.keys(points[0]?.own ?? {});
      const each = (emit: Emit): void => {
        const s = read();
        for (const pt of points) {
          const v = pt.get(s, sampler);
          if (typeof v === 'number' && !Number.isNaN(v)) emit(pt.labels, v * factor);
        }
      };
      if (d.kind === 'counter') {
        names.push(`${prefix}${name}_total`);
        samplerMetric(client.Counter, { name: `${prefix}${name}_total`, help: d.description, registers, labelNames: [...attributeNames, ...labelNames] }, each, sharedLabels, false);
      } else {
        gauge(name, d.description, each, attributeNames, false);
      }
    }
    names.push(`${prefix}nodejs_threadpool_delay_seconds`);
    samplerHistogram(client, {
      name: `${prefix}nodejs_threadpool_delay_seconds`,
      help: sampler.catalog().find((d) => d.name === 'nodejs.threadpool.delay')?.description ?? 'Delay of each threadpool probe.',
      registers,
      labelNames,
      labels,
      // toPrometheus()'s standard bounds for it (every power of two over its range): the
      // series the dashboard and alert rules read, 9 fewer than over the default range.
      boundsNs: STANDARD_DURATION_BOUNDS_NS['nodejs.threadpool.delay'],
      histogram: () => sampler.histograms.threadpoolDelay,
      // The probe records its delay and then the probe count, both on this thread.
      version: () => read().threadpool.probes,
    });
  }

  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    offGC();
    lagWindow.stop();
    for (const n of names) registry.removeSingleMetric(n);
    if (owned) sampler.close();
  };
  return {
    sampler,
    metricNames: Object.freeze([...names]),
    close,
    shutdown(): Promise<void> {
      close();
      return Promise.resolve();
    },
  };
}
