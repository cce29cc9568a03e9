// Prometheus text exposition (0.0.4) and OpenMetrics 1.0 text, straight from a sampler —
// no prom-client needed. Every catalog metric of the detail level but the monotonic-clock timestamps is exported: names are the catalog's with
// dots as underscores and the base unit as a suffix (ns → _seconds, By → _bytes, ratios →
// _ratio), counters end in _total, attribute names become label names the same way.
// Histograms get cumulative `le` buckets derived from the exponential histograms.
import type { Snapshot } from '../snapshot';
import type { Histogram } from '../histogram';
import {
  defaultBoundsNs, checkDetail, LabelledReader, PlanFamily, PlanPoint, Readable, baseUnit, bucketBoundMap, checkBuckets, checkGroup,
  cumulativeCounts, membersOf, checkLabels, checkSampler, MONOTONIC_TIMESTAMPS, optionsKey, plan,
} from './common';
import { catalog, DetailLevel } from '../catalog';
import { describeValue, isArray, isRecord } from '../errors';
import { checkKnownOptions, checkOneOf, checkOptionsObject, checkString } from '../options';
import { ProtoWriter, nativeHistogram } from './protobuf';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
/** The protobuf exposition (length-delimited MetricFamily messages): the one with native histograms. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

export interface PrometheusOptions {
  /** 'prometheus' (text format 0.0.4, the default) or 'openmetrics' (OpenMetrics 1.0). */
  format?: 'prometheus' | 'openmetrics';
  /** Prepended to every metric name, e.g. 'myapp_'. */
  prefix?: string;
  /** Labels added to every series, e.g. { service: 'api' }. */
  labels?: Record<string, string | number>;
  /**
   * Histogram bucket upper bounds in the metric's base unit (seconds): one array for every
   * histogram, or an object keyed by catalog name ('v8js.gc.duration',
   * 'nodejs.eventloop.delay', 'nodejs.eventloop.iteration.duration'). Default: every
   * power of two from 2^10 ns (1.024 µs) to 2^34 ns (17.2 s), exact on the
   * exponential histograms; other bounds are resolved to within one exponential bucket.
   */
  buckets?: number[] | Record<string, number[]>;
  /**
   * 'standard' (the default): the metrics the dashboard and the alert rules use, at most
   * 120 series per process, histograms with every power of two over each one's range
   * (STANDARD_DURATION_BOUNDS_NS) unless `buckets` says otherwise; 'full': every catalog metric (reasons, phases, per-type splits),
   * histograms with the default buckets.
   */
  detail?: DetailLevel;
}

const OPTIONS = ['format', 'prefix', 'labels', 'buckets', 'detail'];
const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const PREFIX_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Prepared {
  openMetrics: boolean;
  prefix: string;
  constLabels: string;
  /** The names in constLabels. */
  constNames: string[];
  /** constLabels as name/value pairs (the protobuf format's). */
  constPairs: [string, string][];
  bucketsFor: (catalogName: string) => readonly number[] | undefined;
  detail: DetailLevel;
}

function prepare(options: unknown, histogramNames: readonly string[]): Prepared {
  const o = checkOptionsObject('toPrometheus()', options);
  checkKnownOptions('toPrometheus()', o, OPTIONS);
  const openMetrics = o.format !== undefined && checkOneOf('format', o.format, ['prometheus', 'openmetrics']) === 'openmetrics';
  const prefix = o.prefix === undefined ? '' : checkString('prefix', o.prefix, PREFIX_RE, 'a metric-name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
  let constLabels = '';
  let constNames: string[] = [];
  let constPairs: [string, string][] = [];
  if (o.labels !== undefined) {
    const labels = checkLabels('labels', o.labels, LABEL_RE, '[a-zA-Z_][a-zA-Z0-9_]*');
    constLabels = labelText(labels);
    constNames = Object.keys(labels);
    constPairs = Object.entries(labels);
  }
  let bucketsFor: Prepared['bucketsFor'] = () => undefined;
  if (o.buckets !== undefined) {
    if (isArray(o.buckets)) {
      const b = checkBuckets('buckets', o.buckets).map((s) => s * 1e9);
      bucketsFor = () => b;
    } else if (isRecord(o.buckets)) {
      const map = new Map<string, number[]>();
      for (const [k, v] of Object.entries(o.buckets)) {
        if (!histogramNames.includes(k)) {
          throw new RangeError(`buckets: unknown histogram ${JSON.stringify(k)}; accepted: ${histogramNames.join(', ')}`);
        }
        map.set(k, checkBuckets(`buckets[${JSON.stringify(k)}]`, v).map((s) => s * 1e9));
      }
      bucketsFor = (name) => map.get(name);
    } else {
      throw new TypeError(`buckets must be an array of upper bounds (seconds) or an object of histogram name → array, got ${describeValue(o.buckets)}`);
    }
  }
  const detail = checkDetail(o.detail);
  return { openMetrics, prefix, constLabels, constNames, constPairs, bucketsFor, detail };
}

/** A sample value in the exposition formats' float syntax. */
export function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string, openMetrics: boolean): string {
  const s = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return openMetrics ? s.replace(/"/g, '\\"') : s;
}

// Catalog names whose direct translation breaks Prometheus conventions (a gauge may not
// end in _count, which promtool's lint reserves for histograms and summaries).
const RENAMES: Record<string, string> = {
  'process.open_file_descriptor.count': 'process_open_fds',
};

/** Catalog name → Prometheus family name (counters: without _total) and the unit conversion. */
export function prometheusName(catalogName: string, unit: string, prefix = ''): { name: string; unit: string; factor: number } {
  const { suffix, factor } = baseUnit(unit);
  let name = RENAMES[catalogName];
  if (name === undefined) {
    name = catalogName.replace(/[^a-zA-Z0-9_:]/g, '_');
    if (suffix && !name.endsWith(`_${suffix}`)) name += `_${suffix}`;
  }
  name = prefix + name;
  if (!NAME_RE.test(name)) name = `_${name}`;
  return { name, unit: suffix, factor };
}

/**
 * The exposition format a scraper asks for in its Accept header: OpenMetrics when it
 * accepts application/openmetrics-text (Prometheus does, first), else the 0.0.4 text format.
 * With `{ protobuf: true }` (for callers that can serve toPrometheusProtobuf()'s bytes):
 * the protobuf format when the header lists it (with proto=io.prometheus.client.MetricFamily
 * and encoding=delimited) at a quality no other entry beats, as Prometheus ≥ 2.40 does with
 * --enable-feature=native-histograms.
 */
export function negotiateFormat(accept: string | undefined): { format: 'prometheus' | 'openmetrics'; contentType: string };
export function negotiateFormat(accept: string | undefined, options: { protobuf: boolean }): { format: 'prometheus' | 'openmetrics' | 'protobuf'; contentType: string };
export function negotiateFormat(accept: string | undefined, options?: { protobuf: boolean }): { format: 'prometheus' | 'openmetrics' | 'protobuf'; contentType: string } {
  if (options !== undefined) {
    if (!isRecord(options) || typeof options.protobuf !== 'boolean') {
      throw new TypeError(`negotiateFormat(): options must be { protobuf: boolean }, got ${describeValue(options)}`);
    }
    if (options.protobuf && typeof accept === 'string' && prefersProtobuf(accept)) {
      return { format: 'protobuf', contentType: PROTOBUF_CONTENT_TYPE };
    }
  }
  return typeof accept === 'string' && /application\/openmetrics-text/i.test(accept)
    ? { format: 'openmetrics', contentType: OPENMETRICS_CONTENT_TYPE }
    : { format: 'prometheus', contentType: PROMETHEUS_CONTENT_TYPE };
}

/** Whether `accept` lists the MetricFamily protobuf with q > 0 and no other entry's q higher. */
function prefersProtobuf(accept: string): boolean {
  let protobuf = 0;
  let other = 0;
  // A header is bounded by Node's header limit; the entries looked at are bounded too.
  for (const entry of accept.split(',', 64)) {
    const [type, ...params] = entry.split(';').map((x) => x.trim().toLowerCase());
    let q = 1;
    const p: Record<string, string> = {};
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      const k = param.slice(0, eq).trim();
      const v = param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      if (k === 'q') q = Number(v);
      else p[k] = v;
    }
    if (!(q >= 0 && q <= 1)) continue; // an unreadable q: ignore the entry
    if (type === 'application/vnd.google.protobuf' && p.proto === 'io.prometheus.client.metricfamily' && p.encoding === 'delimited') {
      protobuf = Math.max(protobuf, q);
    } else if (type !== '') other = Math.max(other, q);
  }
  return protobuf > 0 && protobuf >= other;
}

function labelString(attributes: Record<string, string>, constLabels: string, extra?: string): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(attributes)) parts.push(`${k.replace(/[^a-zA-Z0-9_]/g, '_')}="${escapeLabel(v)}"`);
  if (constLabels) parts.push(constLabels);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

// A renderer compiled once per sampler and options: every line's text up to its value is
// a constant; rendering reads the snapshot and appends the values.
interface ValueOp {
  prefix: string; // 'name{labels} '
  factor: number;
  get: PlanPoint['get'];
}
interface HistogramOp {
  bucketPrefixes: string[];
  infPrefix: string;
  sumPrefix: string;
  countPrefix: string;
  factor: number;
  bounds: readonly number[];
  get: PlanPoint['get'];
  map: Int32Array | null;
  mapScale: number;
}
type Op = string | ValueOp | HistogramOp;

interface FamilyOps {
  /** The family's name (the key that joins readers' families in a group). */
  name: string;
  header: string;
  ops: Op[];
}

function compileFamily(f: PlanFamily, p: Prepared): FamilyOps {
  const d = f.description;
  const { name, unit, factor } = prometheusName(d.name, d.unit, p.prefix);
  const counter = d.kind === 'counter';
  // OpenMetrics: a counter family is named without _total, its sample with it.
  const sample = counter ? `${name}_total` : name;
  const type = f.histogram ? 'histogram' : counter ? 'counter' : 'gauge';
  const helpName = p.openMetrics ? name : sample;
  let header = `# HELP ${helpName} ${escapeHelp(d.description, p.openMetrics)}\n# TYPE ${helpName} ${type}\n`;
  if (p.openMetrics && unit) header += `# UNIT ${name} ${unit}\n`;
  const ops: Op[] = [];
  if (!f.histogram) {
    for (const pt of f.points) ops.push({ prefix: `${sample}${labelString(pt.attributes, p.constLabels)} `, factor, get: pt.get });
    return { name, header, ops };
  }
  const bounds = p.bucketsFor(d.name) ?? defaultBoundsNs(d.name, p.detail);
  for (const pt of f.points) {
    ops.push({
      bucketPrefixes: bounds.map((b) => `${name}_bucket${labelString(pt.attributes, p.constLabels, `le="${formatValue(b * factor)}"`)} `),
      infPrefix: `${name}_bucket${labelString(pt.attributes, p.constLabels, 'le="+Inf"')} `,
      sumPrefix: `${name}_sum${labelString(pt.attributes, p.constLabels)} `,
      countPrefix: `${name}_count${labelString(pt.attributes, p.constLabels)} `,
      factor,
      bounds,
      get: pt.get,
      map: null,
      mapScale: -1,
    });
  }
  return { name, header, ops };
}

function renderOps(ops: Op[], s: Readable, snap: Snapshot): string {
  let out = '';
  for (const op of ops) {
    if ((op as ValueOp).prefix !== undefined) {
      const vo = op as ValueOp;
      const v = vo.get(snap, s);
      if (typeof v === 'number' && !Number.isNaN(v)) out += `${vo.prefix}${formatValue(v * vo.factor)}\n`;
    } else {
      const ho = op as HistogramOp;
      const h = ho.get(snap, s) as Histogram;
      if (ho.mapScale !== h.scale) {
        ho.map = bucketBoundMap(ho.bounds, h.scale, h.counts.length);
        ho.mapScale = h.scale;
      }
      const cum = cumulativeCounts(h, ho.bounds, ho.map!);
      for (let i = 0; i < cum.length; i++) out += `${ho.bucketPrefixes[i]}${cum[i]}\n`;
      out += `${ho.infPrefix}${h.count}\n${ho.sumPrefix}${formatValue(h.sum * ho.factor)}\n${ho.countPrefix}${h.count}\n`;
    }
  }
  return out;
}

function histogramNames(s: Readable | null): string[] {
  return [...new Set((s === null ? catalog([]) : s.catalog()).filter((d) => d.kind === 'histogram').map((d) => d.name))];
}

interface Compiled {
  families: FamilyOps[];
  openMetrics: boolean;
  snap: Snapshot;
}
const compiled = new WeakMap<Readable, Map<string, Compiled>>();

/** Labels as they follow a series' own: `a="x",b="y"`. */
function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
}

/** The renderer of `s` for these options, with `labels` on every series too, built once. */
function compiledFor(s: Readable, options: unknown, key: string, labels: Readonly<Record<string, string>>): Compiled {
  let cache = compiled.get(s);
  if (!cache) compiled.set(s, (cache = new Map<string, Compiled>()));
  const extra = labelText(labels);
  const k = extra === '' ? key : `${key}|${extra}`;
  let c = cache.get(k);
  if (!c) {
    const p = prepare(options, histogramNames(s));
    if (extra !== '') {
      // A label given twice would make every series invalid.
      const twice = Object.keys(labels).find((n) => p.constNames.includes(n));
      if (twice !== undefined) throw new RangeError(`labels: ${JSON.stringify(twice)} is also a member's label (${extra})`);
      p.constLabels = [p.constLabels, extra].filter(Boolean).join(',');
    }
    const snap = s.read();
    const families = plan(s, snap, p.detail).filter((f) => !MONOTONIC_TIMESTAMPS.has(f.description.name)).map((f) => compileFamily(f, p));
    c = { families, openMetrics: p.openMetrics, snap };
    if (cache.size >= 16) cache.clear(); // options built per call: keep the cache bounded
    cache.set(k, c);
  }
  return c;
}

/** The options' key, or a TypeError naming what cannot be read as plain data. */
function keyOf(options: unknown, s: Readable | null): string {
  const key = optionsKey(options);
  if (key === undefined) {
    prepare(options, histogramNames(s)); // names what is wrong, if it can
    throw new TypeError('toPrometheus(): options must be plain data (objects, arrays, strings, numbers); these cannot be read as such');
  }
  return key;
}

/**
 * Renders readers with their labels as one exposition: each family once (its HELP and
 * TYPE), followed by every reader's series of it, in the order of first appearance.
 * Readers may have different catalogs (heap spaces of other Node versions).
 */
function render(sources: readonly LabelledReader[], options: unknown, key: string): string {
  if (sources.length === 0) return prepare(options, histogramNames(null)).openMetrics ? '# EOF\n' : '';
  const parts = sources.map(({ sampler, labels }) => {
    const c = compiledFor(sampler, options, key, labels);
    return { c, r: sampler, snap: sampler.read(c.snap) };
  });
  const openMetrics = parts[0].c.openMetrics;
  let out = '';
  if (parts.length === 1) {
    const { c, r, snap } = parts[0];
    for (const f of c.families) out += f.header + renderOps(f.ops, r, snap);
    return openMetrics ? `${out}# EOF\n` : out;
  }
  const byName = new Map<string, { header: string; text: string }>();
  for (const { c, r, snap } of parts) {
    for (const f of c.families) {
      const text = renderOps(f.ops, r, snap);
      const family = byName.get(f.name);
      if (family === undefined) byName.set(f.name, { header: f.header, text });
      else family.text += text;
    }
  }
  for (const f of byName.values()) out += f.header + f.text;
  return openMetrics ? `${out}# EOF\n` : out;
}

/**
 * The metrics of `sampler` at the detail level (read now) as Prometheus text exposition (default) or
 * OpenMetrics text (`format: 'openmetrics'`, ends with `# EOF`). Serve it with
 * PROMETHEUS_CONTENT_TYPE or OPENMETRICS_CONTENT_TYPE (see negotiateFormat()). The text
 * up to each value is built once per sampler and options, so repeated calls only read
 * and format numbers. `sampler` may be a Sampler, a SamplerView of another thread, or a
 * SamplerAggregate: then every member's series carry a `thread_id` label.
 */
export function toPrometheus(sampler: Readable, options?: PrometheusOptions): string {
  const s = checkSampler('toPrometheus()', sampler);
  const key = keyOf(options, s);
  const members = membersOf(s);
  return render(members === null ? [{ sampler: s, labels: {} }] : members.map((m) => ({ sampler: m, labels: { thread_id: String(m.threadId) } })), options, key);
}

/**
 * Several readers in one exposition — a cluster's processes, every process a sidecar
 * serves: each family's HELP and TYPE once, then every reader's series, labelled with its
 * `labels` (after the options' labels; a reader with no labels is written without, e.g. a
 * cluster's SamplerAggregate beside its members). Readers may come from other Node
 * versions (other heap spaces). Two readers with the same labels are a RangeError.
 */
export function toPrometheusGroup(sources: readonly LabelledReader[], options?: PrometheusOptions): string {
  const list = checkGroup('toPrometheusGroup()', sources, LABEL_RE, '[a-zA-Z_][a-zA-Z0-9_]*');
  return render(list, options, keyOf(options, list[0]?.sampler ?? null));
}

// metrics.proto's MetricType values.
const PROTO_TYPE = { counter: 0, gauge: 1, histogram: 4 } as const;
const boundMaps = new WeakMap<readonly number[], Map<number, Int32Array>>();

/** A family of one reader, compiled for the protobuf exposition. */
interface PbFamily {
  name: string;
  /** MetricFamily fields 1–3 (name, help, type), encoded. */
  head: Uint8Array;
  histogram: boolean;
  /** Metric's field for the value: 2 (gauge) or 3 (counter). */
  valueField: number;
  factor: number;
  bounds: readonly number[];
  points: { labels: Uint8Array; get: PlanPoint['get'] }[];
}
interface PbCompiled {
  families: PbFamily[];
  snap: Snapshot;
}
const pbCompiled = new WeakMap<Readable, Map<string, PbCompiled>>();

/** Metric field 1 (LabelPair) for each label, encoded once per compilation. */
function encodeLabels(pairs: [string, string][]): Uint8Array {
  const w = new ProtoWriter();
  for (const [k, v] of pairs) {
    const at = w.begin(1);
    w.stringField(1, k).stringField(2, v).end(at);
  }
  return w.finish().slice();
}

/** The protobuf renderer of `s` for these options and labels, built once (as compiledFor()). */
function pbCompiledFor(s: Readable, options: unknown, key: string, labels: Readonly<Record<string, string>>): PbCompiled {
  let cache = pbCompiled.get(s);
  if (!cache) pbCompiled.set(s, (cache = new Map<string, PbCompiled>()));
  const extra = Object.entries(labels);
  const k = extra.length === 0 ? key : `${key}|${labelText(labels)}`;
  let c = cache.get(k);
  if (c) return c;
  const p = prepare(options, histogramNames(s));
  const twice = extra.find(([n]) => p.constNames.includes(n));
  if (twice !== undefined) throw new RangeError(`labels: ${JSON.stringify(twice[0])} is also a member's label`);
  const snap = s.read();
  const families: PbFamily[] = [];
  for (const f of plan(s, snap, p.detail)) {
    const d = f.description;
    if (MONOTONIC_TIMESTAMPS.has(d.name)) continue;
    const { name, factor } = prometheusName(d.name, d.unit, p.prefix);
    const counter = d.kind === 'counter' && !f.histogram;
    const familyName = counter ? `${name}_total` : name;
    const type = f.histogram ? PROTO_TYPE.histogram : counter ? PROTO_TYPE.counter : PROTO_TYPE.gauge;
    families.push({
      name: familyName,
      head: new ProtoWriter().stringField(1, familyName).stringField(2, d.description).uintField(3, type).finish().slice(),
      histogram: f.histogram,
      valueField: counter ? 3 : 2,
      factor,
      bounds: p.bucketsFor(d.name) ?? defaultBoundsNs(d.name, p.detail),
      points: f.points.map((pt) => ({
        labels: encodeLabels([...Object.entries(pt.attributes).map(([an, av]): [string, string] => [an.replace(/[^a-zA-Z0-9_]/g, '_'), av]), ...p.constPairs, ...extra]),
        get: pt.get,
      })),
    });
  }
  c = { families, snap };
  if (cache.size >= 16) cache.clear(); // options built per call: keep the cache bounded
  cache.set(k, c);
  return c;
}

/** One Metric message (field 4 of its MetricFamily in `w`); false when its value is NaN (none written). */
function encodeMetric(w: ProtoWriter, f: PbFamily, labels: Uint8Array, value: unknown): boolean {
  if (!f.histogram && (typeof value !== 'number' || Number.isNaN(value))) return false;
  const metric = w.begin(4);
  w.raw(labels);
  if (!f.histogram) {
    const at = w.begin(f.valueField);
    w.doubleField(1, (value as number) * f.factor).end(at).end(metric);
    return true;
  }
  const h = value as Histogram;
  const { bounds, factor } = f;
  let maps = boundMaps.get(bounds);
  if (!maps) boundMaps.set(bounds, (maps = new Map<number, Int32Array>()));
  let map = maps.get(h.scale);
  if (!map) maps.set(h.scale, (map = bucketBoundMap(bounds, h.scale, h.counts.length)));
  const hist = w.begin(7);
  w.uintField(1, h.count).doubleField(2, h.sum * factor);
  // The classic buckets too, for scrapers that read protobuf but not native histograms.
  const cum = cumulativeCounts(h, bounds, map);
  for (let i = 0; i < cum.length; i++) {
    const at = w.begin(3);
    w.uintField(1, cum[i]).doubleField(2, bounds[i] * factor).end(at);
  }
  const n = nativeHistogram(h, factor);
  w.sintField(5, n.schema).doubleField(6, n.zeroThreshold).uintField(7, n.zeroCount);
  for (const span of n.spans) {
    const at = w.begin(12);
    w.sintField(1, span.offset).uintField(2, span.length).end(at);
  }
  w.packedSint(13, n.deltas).end(hist).end(metric);
  return true;
}

// One writer for every protobuf scrape (a thread renders one at a time); its buffer grows
// to the exposition's size once and is reused, and the result is a copy.
const pbWriter = new ProtoWriter();

function renderProtobuf(sources: readonly LabelledReader[], options: unknown, key: string): Uint8Array {
  const parts = sources.map(({ sampler, labels }) => {
    const c = pbCompiledFor(sampler, options, key, labels);
    return { c, r: sampler, snap: sampler.read(c.snap) };
  });
  // Each family once, in the order of first appearance: an aggregate's members add their
  // series to the same family.
  const byName = new Map<string, { f: PbFamily; r: Readable; snap: Snapshot }[]>();
  for (const { c, r, snap } of parts) {
    for (const f of c.families) {
      const list = byName.get(f.name);
      if (list === undefined) byName.set(f.name, [{ f, r, snap }]);
      else list.push({ f, r, snap });
    }
  }
  const w = pbWriter;
  w.length = 0;
  for (const list of byName.values()) {
    const at = w.begin(); // the delimited format: each MetricFamily after its length
    w.raw(list[0].f.head);
    let metrics = 0;
    for (const { f, r, snap } of list) {
      for (const pt of f.points) if (encodeMetric(w, f, pt.labels, pt.get(snap, r))) metrics++;
    }
    // A family without a sample (every value NaN) is left out, as the text has no line for it.
    if (metrics > 0) w.end(at);
    else w.length = at;
  }
  return w.finish().slice();
}

const PROTOBUF_OPTIONS = ['prefix', 'labels', 'buckets', 'detail'];

/**
 * Every metric of `sampler` (read now) in the Prometheus protobuf exposition format: the
 * bytes to serve with PROTOBUF_CONTENT_TYPE when negotiateFormat(accept, { protobuf: true })
 * says 'protobuf'. Every family is there (counters and gauges too); each histogram carries
 * both a native (sparse) histogram — the exponential buckets in seconds, at the finest
 * schema with at most 160 populated buckets — and the classic `le` buckets (the `buckets`
 * option), so one exposition serves Prometheus with and without native histograms. Same
 * options as toPrometheus() but `format`; a SamplerAggregate's members get `thread_id`.
 */
export function toPrometheusProtobuf(sampler: Readable, options?: Omit<PrometheusOptions, 'format'>): Uint8Array {
  const s = checkSampler('toPrometheusProtobuf()', sampler);
  const o = checkOptionsObject('toPrometheusProtobuf()', options);
  checkKnownOptions('toPrometheusProtobuf()', o, PROTOBUF_OPTIONS);
  const key = keyOf(o, s);
  const members = membersOf(s);
  return renderProtobuf(members === null ? [{ sampler: s, labels: {} }] : members.map((m) => ({ sampler: m, labels: { thread_id: String(m.threadId) } })), o, key);
}
