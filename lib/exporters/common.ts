// What every exporter shares: its own option checks (buckets, labels, the sampler; the
// generic ones are lib/options.ts), the catalog resolved against a snapshot into metric
// families, unit conversion and exponential-to-fixed bucket conversion. Exporters read
// only TypeScript objects (snapshots, histograms, the catalog), never the native layer.
import type { SamplerHistograms } from '../sampler';
import type { Snapshot } from '../snapshot';
import { DETAIL_LEVELS, DetailLevel, MetricDescription } from '../catalog';
import { Histogram, INDEX_OFFSET, bucketIndex, bucketLowerBound } from '../histogram';
import { describeValue, isArray, isRecord } from '../errors';
import { checkOneOf } from '../options';

/**
 * What exporters read: a Sampler, a SamplerView of another thread, or a SamplerAggregate
 * (which also has readMembers()). Duck-typed, so that one from another copy of this
 * package works too.
 */
export interface Readable {
  read(into?: Snapshot): Snapshot;
  catalog(): MetricDescription[];
  readonly histograms: SamplerHistograms;
  readonly heapSpaceNames: readonly string[];
  readonly threadId: number;
  readonly closed: boolean;
}

export function checkSampler<T extends Readable = Readable>(what: string, sampler: unknown, accepted = 'a runtime-sampler Sampler, SamplerView or SamplerAggregate'): T {
  const s = sampler as Readable | null;
  if (!isRecord(s) || typeof s.read !== 'function' || typeof s.catalog !== 'function' || !s.histograms) {
    throw new TypeError(`${what}: sampler must be ${accepted}, got ${describeValue(sampler)}`);
  }
  return s as T;
}

/** The members of a SamplerAggregate (each thread's reader), or null for a single sampler. */
export function membersOf(s: Readable): Readable[] | null {
  const m = (s as { members?: unknown }).members;
  return Array.isArray(m) && typeof (s as { readMembers?: unknown }).readMembers === 'function' ? (m as Readable[]) : null;
}

/** A member of an exported group: a reader and the labels (attributes) of its series. */
export interface LabelledReader {
  sampler: Readable;
  labels: Readonly<Record<string, string>>;
}

/**
 * The members of an exported group, checked: an array of { sampler, labels } whose label
 * names match `keyPattern`, with label values of at most 1024 characters (they may come
 * from other processes), no two members with the same labels.
 */
export function checkGroup(what: string, sources: unknown, keyPattern: RegExp, accepted: string): LabelledReader[] {
  if (!isArray(sources)) throw new TypeError(`${what}: sources must be an array of { sampler, labels }, got ${describeValue(sources)}`);
  const seen = new Map<string, number>();
  return sources.map((src, i) => {
    if (!isRecord(src)) throw new TypeError(`${what}: sources[${i}] must be { sampler, labels }, got ${describeValue(src)}`);
    const sampler = checkSampler<Readable>(`${what}: sources[${i}]`, src.sampler);
    const labels = checkLabels(`${what}: sources[${i}].labels`, src.labels ?? {}, keyPattern, accepted);
    for (const [k, v] of Object.entries(labels)) {
      if (v.length > 1024) throw new RangeError(`${what}: sources[${i}].labels.${k} is ${v.length} characters long; at most 1024 are accepted`);
    }
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const other = seen.get(key);
    if (other !== undefined) throw new RangeError(`${what}: sources[${i}] has the same labels as sources[${other}] (${key}): their series would collide`);
    seen.set(key, i);
    return { sampler, labels };
  });
}

/** A label or tag map: string keys matching `keyPattern`, string (or number) values. */
export function checkLabels(option: string, value: unknown, keyPattern: RegExp, accepted: string): Record<string, string> {
  if (!isRecord(value)) {
    throw new TypeError(`${option} must be an object of name → value, got ${describeValue(value)}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!keyPattern.test(k)) throw new RangeError(`${option}: label name ${JSON.stringify(k)} is not valid; accepted: ${accepted}`);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new TypeError(`${option}.${k} must be a string or a number, got ${describeValue(v)}`);
    }
    out[k] = String(v);
  }
  return out;
}

/**
 * The most bucket upper bounds a histogram option takes (every exporter's). Each bound is
 * a series of its own; dashboards use 10–30 (prom-client's defaults have 11, OpenTelemetry's
 * 15), and 100,000 blocked each toPrometheus() call for seconds.
 */
const MAX_BUCKET_BOUNDS = 1000;

/**
 * Histogram bucket boundaries: a non-empty array of at most MAX_BUCKET_BOUNDS finite
 * numbers > 0 in strictly increasing order. Returns a copy.
 */
export function checkBuckets(option: string, value: unknown): number[] {
  if (!isArray(value)) throw new TypeError(`${option} must be an array of bucket upper bounds, got ${describeValue(value)}`);
  const bounds = value;
  // Before anything walks it: a hostile length is refused at once.
  if (bounds.length > MAX_BUCKET_BOUNDS) {
    throw new RangeError(`${option} has ${bounds.length} bucket upper bounds; at most ${MAX_BUCKET_BOUNDS} are accepted`);
  }
  if (bounds.length === 0) throw new RangeError(`${option} must have at least one bucket upper bound, got []`);
  bounds.forEach((b, i) => {
    if (typeof b !== 'number') throw new TypeError(`${option}[${i}] must be a number, got ${describeValue(b)}`);
    if (!Number.isFinite(b) || b <= 0) {
      throw new RangeError(`${option}[${i}] must be a finite number > 0 (+Inf is always added), got ${String(b)}`);
    }
    if (i > 0 && !(b > (bounds[i - 1] as number))) {
      throw new RangeError(`${option} must be sorted in strictly increasing order: [${i - 1}] = ${String(bounds[i - 1])}, [${i}] = ${b}`);
    }
  });
  return [...(bounds as number[])];
}

/**
 * A cache key for an options object: distinct for every distinct value, including the
 * ones JSON would merge (undefined, NaN, ±Infinity, BigInt, functions), so that a cached
 * result never skips the validation of options that differ.
 */
export function optionsKey(options: unknown): string | undefined {
  try {
    return optionsJson(options);
  } catch {
    // A cycle, a throwing getter or toJSON, a revoked Proxy: no key, and the caller's
    // validation says what is wrong (such options are never valid).
    return undefined;
  }
}

function optionsJson(options: unknown): string {
  return JSON.stringify(options ?? null, (_k, v: unknown) => {
    // No option takes a longer array: refuse it before JSON walks it (the caller's
    // validation then names it).
    if (Array.isArray(v) && v.length > MAX_BUCKET_BOUNDS) throw new RangeError('too long to key');
    if (v === undefined) return '\u0000undefined';
    if (typeof v === 'number' && !Number.isFinite(v)) return `\u0000${v}`;
    if (typeof v === 'bigint') return `\u0000${v}n`;
    if (typeof v === 'function' || typeof v === 'symbol') return `\u0000${typeof v}`;
    if (typeof v === 'string') return `s${v}`;
    return v;
  });
}

/**
 * Catalog gauges holding monotonic-clock timestamps (ns since an arbitrary point of this
 * process): exporters that send values to other systems leave them out, because nothing
 * outside the process can relate them to a wall clock.
 */
export const MONOTONIC_TIMESTAMPS: ReadonlySet<string> = new Set([
  'runtime_sampler.time',
  'runtime_sampler.start_time',
  'runtime_sampler.refresh.last_time',
  'v8js.gc.last_end_time',
  'v8js.heap.update_time',
  'nodejs.eventloop.stall.start_time',
  'nodejs.threadpool.in_flight.start_time',
]);

// ---- units ----

export interface UnitConversion {
  /** The base unit's name as a Prometheus suffix ('' for counts). */
  suffix: string;
  /** Multiply a value in the catalog's unit by this to get the base unit. */
  factor: number;
}

/** Catalog units (ns, us, By, 1, {…}) to Prometheus base units. */
export function baseUnit(unit: string): UnitConversion {
  switch (unit) {
    case 'ns': return { suffix: 'seconds', factor: 1e-9 };
    case 'us': return { suffix: 'seconds', factor: 1e-6 };
    case 'By': return { suffix: 'bytes', factor: 1 };
    case '1': return { suffix: 'ratio', factor: 1 };
    default: return { suffix: '', factor: 1 };
  }
}

// ---- the catalog, resolved ----

export interface ValuePoint {
  attributes: Record<string, string>;
  value: number;
}
export interface HistogramPoint {
  attributes: Record<string, string>;
  histogram: Histogram;
}
export interface Family {
  description: MetricDescription;
  /** Set for counters and gauges. */
  points?: ValuePoint[];
  /** Set for histograms. */
  histograms?: HistogramPoint[];
}

function walk(root: unknown, parts: readonly string[]): unknown {
  let v: unknown = root;
  for (const p of parts) {
    if (v === null || v === undefined) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

export interface PlanPoint {
  attributes: Record<string, string>;
  /** The value (a number, or a Histogram for histogram families). */
  get: (snap: Snapshot, sampler: Readable) => unknown;
}
export interface PlanFamily {
  description: MetricDescription;
  histogram: boolean;
  points: PlanPoint[];
}

/**
 * Resolves a catalog entry's path into points, one per `*` key (with its attribute), each
 * with an accessor. The keys (GC types, heap spaces) are fixed for a sampler.
 */
function compile(desc: MetricDescription, snap: Snapshot, sampler: Readable): PlanPoint[] {
  const isHist = desc.path.startsWith('histograms.');
  const parts = (isHist ? desc.path.slice('histograms.'.length) : desc.path).split('.');
  const at = (p: readonly string[]): PlanPoint['get'] => {
    const root = isHist ? (_sn: Snapshot, s: Readable): unknown => s.histograms : (sn: Snapshot): unknown => sn;
    const [a, b, c, d] = p;
    type R = Record<string, Record<string, Record<string, Record<string, unknown>>>>;
    // Fixed-depth accessors (paths are 1–4 keys deep): a rendering calls ~150 of them.
    switch (p.length) {
      case 1: return (sn, s) => (root(sn, s) as R)[a];
      case 2: return (sn, s) => (root(sn, s) as R)[a][b];
      case 3: return (sn, s) => (root(sn, s) as R)[a][b][c];
      case 4: return (sn, s) => (root(sn, s) as R)[a][b][c][d];
      default: return (sn, s) => walk(root(sn, s), p);
    }
  };
  const star = parts.indexOf('*');
  if (star < 0) {
    const attributes: Record<string, string> = {};
    for (const a of desc.attributes) attributes[a.name] = a.values[0];
    return [{ attributes, get: at(parts) }];
  }
  const parent = walk(isHist ? sampler.histograms : snap, parts.slice(0, star)) as Record<string, unknown> | undefined;
  if (!parent) return [];
  const attr = desc.attributes[0];
  return Object.keys(parent).map((key, i) => ({
    attributes: { [attr.name]: attr.values[i] ?? key },
    get: at([...parts.slice(0, star), key, ...parts.slice(star + 1)]),
  }));
}

/** The `detail` option of every exporter: 'standard' (the default) or 'full'. */
export function checkDetail(value: unknown): DetailLevel {
  return value === undefined ? 'standard' : checkOneOf('detail', value, DETAIL_LEVELS);
}

const plans = new WeakMap<Readable, Map<DetailLevel, PlanFamily[]>>();

/** Whether `sampler` times no single iteration: its loopTiming, or (a view) a NaN last iteration. */
function timesNoIterations(sampler: Readable, snap: Snapshot): boolean {
  try {
    const timing = (sampler as { loopTiming?: unknown }).loopTiming;
    if (timing !== undefined) return timing === 'totals';
  } catch {
    // closed: judged by the snapshot
  }
  return Number.isNaN(snap.loop.lastIterationNs);
}

/**
 * The catalog of `sampler` as metric families with accessors, built once per sampler and
 * detail level ('standard' leaves out the catalog's `detail: 'full'` entries). Where a
 * name has series with attributes and one without (gc.count and gc.byType.*.count), only
 * the attributed ones are kept: the other is their sum (or max), and mixing both in one
 * family would double-count in any aggregation.
 */
export function plan(sampler: Readable, snap: Snapshot, detail: DetailLevel = 'full'): PlanFamily[] {
  let cache = plans.get(sampler);
  if (!cache) plans.set(sampler, (cache = new Map<DetailLevel, PlanFamily[]>()));
  let p = cache.get(detail);
  if (p) return p;
  const byName = new Map<string, MetricDescription[]>();
  // Without per-iteration times (loopTiming 'totals', the JavaScript backend) the iteration
  // histogram stays empty: left out, as NaN values are, rather than shown as no iterations.
  const noIterations = timesNoIterations(sampler, snap);
  for (const d of sampler.catalog()) {
    if (noIterations && d.path === 'histograms.loopIteration') continue;
    // A catalog without the field (another copy of this package) counts as standard.
    if (detail === 'standard' && d.detail === 'full') continue;
    const list = byName.get(d.name);
    if (list) list.push(d);
    else byName.set(d.name, [d]);
  }
  p = [];
  for (const list of byName.values()) {
    const attributed = list.filter((d) => d.attributes.length > 0);
    const use = attributed.length > 0 ? attributed : list;
    // Several single-valued entries of one family (cpu user/system) share one HELP line.
    const description = { ...use[0], description: use.map((d) => d.description).join(' ') };
    p.push({ description, histogram: use[0].kind === 'histogram', points: use.flatMap((d) => compile(d, snap, sampler)) });
  }
  cache.set(detail, p);
  return p;
}

/** The catalog as metric families with their values: numbers from `snap`, the sampler's histograms. */
export function families(sampler: Readable, snap: Snapshot, detail: DetailLevel = 'full'): Family[] {
  const out: Family[] = [];
  for (const f of plan(sampler, snap, detail)) {
    if (f.histogram) {
      const histograms: HistogramPoint[] = [];
      for (const pt of f.points) {
        const h = pt.get(snap, sampler);
        if (h instanceof Histogram) histograms.push({ attributes: pt.attributes, histogram: h });
      }
      out.push({ description: f.description, histograms });
    } else {
      const points: ValuePoint[] = [];
      for (const pt of f.points) {
        const v = pt.get(snap, sampler);
        if (typeof v === 'number' && !Number.isNaN(v)) points.push({ attributes: pt.attributes, value: v });
      }
      out.push({ description: f.description, points });
    }
  }
  return out;
}

// ---- exponential → fixed buckets ----

const powersOfTwo = (from: number, to: number): readonly number[] =>
  Object.freeze(Array.from({ length: to - from + 1 }, (_, k) => 2 ** (from + k)));

/**
 * Default upper bounds for duration histograms, ns: every power of two from 2^10 (1.024 µs)
 * to 2^34 (17.2 s). Powers of two are bucket boundaries of the exponential histograms at
 * every scale, so these counts are exact. Not coarser: with bounds a factor of 4 apart,
 * Prometheus' interpolated p99 of a real app's loop delay read 58 ms where it was 41 ms.
 */
export const DEFAULT_DURATION_BOUNDS_NS: readonly number[] = powersOfTwo(10, 34);

/**
 * Upper bounds of the classic histograms at `detail: 'standard'`, ns, per histogram: every
 * power of two (exact and as fine as the default bounds) over the range that histogram's
 * values and the alert rules' thresholds (0.1 s, 0.2 s, 1 s) fall in — GC pauses 131 µs to
 * 1.07 s, loop delay (never below the timer's resolution, default 10 ms) 4.19 ms to 8.59 s,
 * threadpool queueing 32.8 µs to 1.07 s — instead of one range for all: 51 series for the
 * three, what keeps the level within its budget of 120 series. Values past either end fall
 * in the first bucket or +Inf; the native histograms (protobuf) carry every bucket.
 */
export const STANDARD_DURATION_BOUNDS_NS: Readonly<Record<string, readonly number[]>> = Object.freeze({
  'v8js.gc.duration': powersOfTwo(17, 30),
  'nodejs.eventloop.delay': powersOfTwo(22, 33),
  'nodejs.threadpool.delay': powersOfTwo(15, 30),
});

/** The default classic bounds of a histogram at a detail level, ns. */
export function defaultBoundsNs(name: string, detail: DetailLevel): readonly number[] {
  return (detail === 'standard' ? STANDARD_DURATION_BOUNDS_NS[name] : undefined) ?? DEFAULT_DURATION_BOUNDS_NS;
}

/**
 * For each bucket of a histogram at `scale` (counts[i] is bucket i + INDEX_OFFSET): the
 * index of the first bound ≥ the bucket's geometric middle, or bounds.length past the last.
 * Fixed for given bounds and scale, so exporters compute it once.
 */
export function bucketBoundMap(bounds: readonly number[], scale: number, buckets: number): Int32Array {
  const n = bounds.length;
  const map = new Int32Array(buckets);
  for (let i = 0; i < buckets; i++) {
    const index = i + INDEX_OFFSET;
    const middle = Math.sqrt(bucketLowerBound(index, scale) * bucketLowerBound(index + 1, scale));
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (bounds[m] >= middle) hi = m;
      else lo = m + 1;
    }
    map[i] = lo;
  }
  return map;
}

/**
 * Cumulative counts of `h` at each upper bound (same unit as the histogram's values).
 * A bound that falls inside one of the exponential buckets (a relative width of 2^(2^-scale)
 * − 1: 1.1% at scale 6) splits it at its geometric middle: the bucket's values count as ≤
 * the bound when the middle is. The histogram's exact min and max settle the ends: every
 * value is ≤ a bound at or above max, none is ≤ a bound below min. `map` is
 * bucketBoundMap(bounds, h.scale, h.counts.length), computed here if not given.
 */
export function cumulativeCounts(h: Histogram, bounds: readonly number[], map?: Int32Array): number[] {
  const n = bounds.length;
  const m = map ?? bucketBoundMap(bounds, h.scale, h.counts.length);
  const perBound = new Array<number>(n + 1).fill(0);
  // Values ≤ 0 are ≤ every (positive) bound.
  perBound[0] += h.zeroCount;
  const counts = h.counts;
  // Only the buckets between min's and max's hold values (a GC-pause histogram spans a
  // few hundred of its ~2,800).
  let first = 0;
  let last = h.count > 0 ? counts.length - 1 : -1; // (an empty one: none; a probe that is off)
  if (h.count > 0 && h.min > 0) {
    first = Math.max(0, bucketIndex(h.min, h.scale) - INDEX_OFFSET);
    last = Math.min(last, bucketIndex(h.max, h.scale) - INDEX_OFFSET);
  }
  for (let i = first; i <= last; i++) {
    const c = counts[i];
    if (c !== 0) perBound[m[i]] += c;
  }
  const out = new Array<number>(n);
  let acc = 0;
  for (let j = 0; j < n; j++) {
    acc += perBound[j];
    out[j] = acc;
  }
  if (h.count > 0) {
    for (let j = 0; j < n; j++) {
      if (bounds[j] >= h.max) out[j] = h.count;
      else if (bounds[j] < h.min) out[j] = 0;
    }
  }
  return out;
}
