// What every exporter shares: option checks, the catalog resolved against a snapshot into
// metric families, unit conversion and exponential-to-fixed bucket conversion. Exporters
// read only TypeScript objects (snapshots, histograms, the catalog), never the native layer.
import type { Sampler } from '../sampler';
import type { Snapshot } from '../snapshot';
import type { MetricDescription } from '../catalog';
import { Histogram, INDEX_OFFSET, bucketLowerBound } from '../histogram';

export { checkKnownOptions } from '../errors';

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** The options object itself: undefined or null → {}, anything but a plain object → TypeError. */
export function checkOptionsObject(what: string, options: unknown): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${what}: options must be an object, got ${describeValue(options)}`);
  }
  return options as Record<string, unknown>;
}

export function checkSampler(what: string, sampler: unknown): Sampler {
  // Duck-typed so that a Sampler from another copy of this package works too.
  const s = sampler as Sampler | null;
  if (s === null || typeof s !== 'object' || typeof s.read !== 'function' || typeof s.catalog !== 'function' || !s.histograms) {
    throw new TypeError(`${what}: sampler must be a runtime-sampler Sampler, got ${describeValue(sampler)}`);
  }
  return s;
}

export function checkString(option: string, value: unknown, pattern?: RegExp, accepted?: string): string {
  if (typeof value !== 'string') throw new TypeError(`${option} must be a string, got ${describeValue(value)}`);
  if (pattern && !pattern.test(value)) {
    throw new RangeError(`${option} must be ${accepted ?? `a string matching ${pattern}`}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${option} must be true or false, got ${describeValue(value)}`);
  return value;
}

export function checkNumber(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${option} must be a number from ${min} to ${max}, got ${describeValue(value)}`);
  if (!(value >= min && value <= max)) throw new RangeError(`${option} must be a number from ${min} to ${max}, got ${String(value)}`);
  return value;
}

/** A label or tag map: string keys matching `keyPattern`, string (or number) values. */
export function checkLabels(option: string, value: unknown, keyPattern: RegExp, accepted: string): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${option} must be an object of name → value, got ${describeValue(value)}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (!keyPattern.test(k)) throw new RangeError(`${option}: label name ${JSON.stringify(k)} is not valid; accepted: ${accepted}`);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new TypeError(`${option}.${k} must be a string or a number, got ${describeValue(v)}`);
    }
    out[k] = String(v);
  }
  return out;
}

/**
 * Histogram bucket boundaries: a non-empty array of finite numbers > 0 in strictly
 * increasing order. Returns a copy.
 */
export function checkBuckets(option: string, value: unknown): number[] {
  if (!Array.isArray(value)) throw new TypeError(`${option} must be an array of bucket upper bounds, got ${describeValue(value)}`);
  if (value.length === 0) throw new RangeError(`${option} must have at least one bucket upper bound, got []`);
  value.forEach((b, i) => {
    if (typeof b !== 'number') throw new TypeError(`${option}[${i}] must be a number, got ${describeValue(b)}`);
    if (!Number.isFinite(b) || b <= 0) {
      throw new RangeError(`${option}[${i}] must be a finite number > 0 (+Inf is always added), got ${String(b)}`);
    }
    if (i > 0 && !(b > value[i - 1])) {
      throw new RangeError(`${option} must be sorted in strictly increasing order: [${i - 1}] = ${value[i - 1]}, [${i}] = ${b}`);
    }
  });
  return [...value];
}

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

/**
 * Resolves a catalog entry's path against a snapshot (or the sampler's histograms) into
 * points, one per `*` key, with its attribute.
 */
function resolve(desc: MetricDescription, snap: Snapshot, sampler: Sampler): Array<{ attributes: Record<string, string>; value: unknown }> {
  const isHist = desc.path.startsWith('histograms.');
  const root: unknown = isHist ? sampler.histograms : snap;
  const parts = (isHist ? desc.path.slice('histograms.'.length) : desc.path).split('.');
  const star = parts.indexOf('*');
  if (star < 0) {
    const attributes: Record<string, string> = {};
    for (const a of desc.attributes) attributes[a.name] = a.values[0];
    return [{ attributes, value: walk(root, parts) }];
  }
  const parent = walk(root, parts.slice(0, star)) as Record<string, unknown> | undefined;
  if (!parent) return [];
  const attr = desc.attributes[0];
  return Object.keys(parent).map((key, i) => ({
    attributes: { [attr.name]: attr.values[i] ?? key },
    value: walk(parent[key], parts.slice(star + 1)),
  }));
}

/**
 * The catalog as metric families, values from `snap` and the sampler's histograms. Where a
 * name has series with attributes and one without (gc.count and gc.byType.*.count), only
 * the attributed ones are kept: the other is their sum (or max), and mixing both in one
 * family would double-count in any aggregation.
 */
export function families(sampler: Sampler, snap: Snapshot): Family[] {
  const byName = new Map<string, MetricDescription[]>();
  for (const d of sampler.catalog()) {
    const list = byName.get(d.name);
    if (list) list.push(d);
    else byName.set(d.name, [d]);
  }
  const out: Family[] = [];
  for (const list of byName.values()) {
    const attributed = list.filter((d) => d.attributes.length > 0);
    const use = attributed.length > 0 ? attributed : list;
    // Several single-valued entries of one family (cpu user/system) share one HELP line.
    const description = { ...use[0], description: use.map((d) => d.description).join(' ') };
    if (use[0].kind === 'histogram') {
      const histograms: HistogramPoint[] = [];
      for (const d of use) {
        for (const p of resolve(d, snap, sampler)) {
          if (p.value instanceof Histogram) histograms.push({ attributes: p.attributes, histogram: p.value });
        }
      }
      out.push({ description, histograms });
    } else {
      const points: ValuePoint[] = [];
      for (const d of use) {
        for (const p of resolve(d, snap, sampler)) {
          if (typeof p.value === 'number' && !Number.isNaN(p.value)) points.push({ attributes: p.attributes, value: p.value });
        }
      }
      out.push({ description, points });
    }
  }
  return out;
}

// ---- exponential → fixed buckets ----

/**
 * Default upper bounds for duration histograms, ns: every second power of two from 2^10
 * (1.024 µs) to 2^34 (17.2 s). Powers of two are bucket boundaries of the exponential
 * histograms at every scale, so these counts are exact.
 */
export const DEFAULT_DURATION_BOUNDS_NS: readonly number[] = Object.freeze(
  Array.from({ length: 13 }, (_, k) => 2 ** (10 + 2 * k)),
);

/**
 * Cumulative counts of `h` at each upper bound (same unit as the histogram's values).
 * A bound that falls inside one of the exponential buckets (a relative width of 2^(2^-scale)
 * − 1: 1.1% at scale 6) splits it at its geometric middle: the bucket's values count as ≤
 * the bound when the middle is. The histogram's exact min and max settle the ends: every
 * value is ≤ a bound at or above max, none is ≤ a bound below min.
 */
export function cumulativeCounts(h: Histogram, bounds: readonly number[]): number[] {
  const n = bounds.length;
  const perBound = new Array<number>(n).fill(0);
  // Values ≤ 0 are ≤ every (positive) bound.
  perBound[0] += h.zeroCount;
  const counts = h.counts;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c === 0) continue;
    const index = i + INDEX_OFFSET;
    const middle = Math.sqrt(bucketLowerBound(index, h.scale) * bucketLowerBound(index + 1, h.scale));
    // The first bound ≥ the bucket's middle; past the last bound, only +Inf holds it.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (bounds[m] >= middle) hi = m;
      else lo = m + 1;
    }
    if (lo < n) perBound[lo] += c;
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
