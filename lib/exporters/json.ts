// A stable JSON document of every metric, for logs and custom pipelines. The shape is
// documented in docs/exporters.md and versioned by `schema`.
import type { HistogramJSON } from '../histogram';
import { LabelledReader, Readable, checkDetail, checkGroup, checkSampler, families, membersOf } from './common';
import type { DetailLevel } from '../catalog';
import { describeValue } from '../errors';
import { checkBoolean, checkKnownOptions, checkOneOf, checkOptionsObject } from '../options';

export const JSON_SCHEMA = 'runtime-sampler/metrics/v1';

export interface JsonOptions {
  /**
   * 'summary' (default): count, sum, min, max, mean and percentiles per histogram;
   * 'full': the summary plus the exponential buckets (Histogram.fromJSON() takes them back).
   */
  histograms?: 'summary' | 'full';
  /** Percentiles of each histogram summary (0–100, default [50, 90, 99, 99.9]). */
  percentiles?: number[];
  /** Include each metric's description (default false: compact lines for logs). */
  descriptions?: boolean;
  /**
   * 'standard' (the default): the metrics the dashboard and the alert rules use; 'full':
   * every catalog metric (reasons, phases, per-type splits). The catalog's `detail` says
   * which level each belongs to.
   */
  detail?: DetailLevel;
}

export interface JsonHistogramPoint {
  attributes: Record<string, string>;
  count: number;
  sum: number;
  /** null when empty (as are mean and the percentiles). */
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Keyed 'p50', 'p90', 'p99', 'p99.9', … */
  percentiles: Record<string, number | null>;
  /** With histograms: 'full'. */
  buckets?: HistogramJSON;
}

export interface JsonValuePoint {
  attributes: Record<string, string>;
  /**
   * null: +Infinity, which JSON cannot carry — a container limit that is not set
   * (nodejs.container.memory.limit, .memory.high, .cpu.quota). A value nobody knows (NaN)
   * has no point at all.
   */
  value: number | null;
}

export interface JsonMetric {
  /** The catalog name (OpenTelemetry style), e.g. 'v8js.gc.count'. */
  name: string;
  kind: 'counter' | 'gauge' | 'histogram';
  /** The catalog unit of every value: ns, us, By, 1, or a {count}. */
  unit: string;
  /** Counters: cumulative since start() (process CPU: since the process started). */
  cumulative: boolean;
  description?: string;
  points: Array<JsonValuePoint | JsonHistogramPoint>;
}

export interface JsonDocument {
  schema: typeof JSON_SCHEMA;
  /** Wall-clock time of the read, ISO 8601. */
  timestamp: string;
  /** Monotonic time the loop counters are accounted up to, ns. */
  timeNs: number;
  /** When the sampler was first started, monotonic ns. */
  startNs: number;
  running: boolean;
  metrics: JsonMetric[];
}

const OPTIONS = ['histograms', 'percentiles', 'descriptions', 'detail'];
const nullIfNaN = (v: number): number | null => (Number.isNaN(v) ? null : v);

/** The options, checked. */
function resolveOptions(options: unknown): { full: boolean; percentiles: number[]; descriptions: boolean; detail: DetailLevel } {
  const o = checkOptionsObject('toJSON()', options);
  checkKnownOptions('toJSON()', o, OPTIONS);
  const full = o.histograms !== undefined && checkOneOf('histograms', o.histograms, ['summary', 'full']) === 'full';
  let percentiles = [50, 90, 99, 99.9];
  if (o.percentiles !== undefined) {
    if (!Array.isArray(o.percentiles)) throw new TypeError(`percentiles must be an array of numbers from 0 to 100, got ${describeValue(o.percentiles)}`);
    o.percentiles.forEach((p, i) => {
      if (typeof p !== 'number') throw new TypeError(`percentiles[${i}] must be a number from 0 to 100, got ${describeValue(p)}`);
      if (!(p >= 0 && p <= 100)) throw new RangeError(`percentiles[${i}] must be from 0 to 100, got ${String(p)}`);
    });
    percentiles = [...(o.percentiles as number[])]; // each checked above
  }
  const descriptions = o.descriptions === undefined ? false : checkBoolean('descriptions', o.descriptions);
  return { full, percentiles, descriptions, detail: checkDetail(o.detail) };
}

/** The document of `sources` (each reader's points with its labels as attributes); the times are `head`'s. */
function document(head: Readable | null, sources: readonly LabelledReader[], options: unknown): JsonDocument {
  const { full, percentiles, descriptions, detail } = resolveOptions(options);
  const wall = Date.now();
  const snap = head?.read() ?? null;
  const metrics: JsonMetric[] = [];
  const byName = new Map<string, JsonMetric>();
  for (const src of sources) {
    const r = src.sampler;
    const labelled = Object.keys(src.labels).length > 0;
    const attrs = (a: Record<string, string>): Record<string, string> => (labelled ? { ...a, ...src.labels } : a);
    for (const f of families(r, r === head && snap !== null ? snap : r.read(), detail)) {
      const d = f.description;
      let m = byName.get(d.name);
      if (!m) {
        m = { name: d.name, kind: d.kind, unit: d.unit, cumulative: d.cumulative, points: [] };
        if (descriptions) m.description = d.description;
        byName.set(d.name, m);
        metrics.push(m);
      }
      if (f.points) {
        for (const p of f.points) m.points.push({ attributes: attrs(p.attributes), value: Number.isFinite(p.value) ? p.value : null });
      } else {
        for (const hp of f.histograms ?? []) {
          const h = hp.histogram;
          const pcts: Record<string, number | null> = {};
          for (const p of percentiles) pcts[`p${p}`] = nullIfNaN(h.percentile(p));
          const point: JsonHistogramPoint = {
            attributes: attrs(hp.attributes),
            count: h.count,
            sum: h.sum,
            min: nullIfNaN(h.min),
            max: nullIfNaN(h.max),
            mean: nullIfNaN(h.mean),
            percentiles: pcts,
          };
          if (full) point.buckets = h.toJSON();
          m.points.push(point);
        }
      }
    }
  }
  return {
    schema: JSON_SCHEMA,
    timestamp: new Date(wall).toISOString(),
    timeNs: snap?.timeNs ?? 0,
    startNs: snap?.startNs ?? 0,
    running: snap?.running ?? false,
    metrics,
  };
}

/**
 * The metrics of `sampler` at the detail level (default 'standard'), read now, as a plain JSON-ready object. For a
 * SamplerAggregate, each member's points carry a 'thread.id' attribute (and timeNs,
 * startNs, running describe the aggregate).
 */
export function toJSON(sampler: Readable, options?: JsonOptions): JsonDocument {
  const s = checkSampler('toJSON()', sampler);
  const members = membersOf(s);
  return document(s, members === null ? [{ sampler: s, labels: {} }] : members.map((r) => ({ sampler: r, labels: { 'thread.id': String(r.threadId) } })), options);
}

/**
 * Several readers in one document — a cluster's processes, every process a sidecar
 * serves: each reader's points carry its `labels` as attributes (a reader with none, e.g. a
 * cluster's SamplerAggregate beside its members, adds none); timeNs, startNs and running are
 * the first reader's (0, 0 and false without one). Two readers with the same labels are a
 * RangeError.
 */
export function toJSONGroup(sources: readonly LabelledReader[], options?: JsonOptions): JsonDocument {
  const list = checkGroup('toJSONGroup()', sources, /^[a-zA-Z_][a-zA-Z0-9_.]*$/, '[a-zA-Z_][a-zA-Z0-9_.]*');
  return document(list[0]?.sampler ?? null, list, options);
}
