// The OpenTelemetry exporter: instruments on a user's Meter with the names, units and
// attributes of @opentelemetry/instrumentation-runtime-node (0.36), fed from a Sampler, plus
// the sampler's metrics that package lacks. @opentelemetry/api is imported for its types
// only: every runtime object comes from the user's meter, so the package needs no copy of
// the api, and the main entry never loads this file.
import type {
  Attributes,
  BatchObservableCallback,
  BatchObservableResult,
  Histogram as OtelHistogram,
  Meter,
  Observable,
  ValueType,
} from '@opentelemetry/api';
import { Sampler } from '../sampler';
import type { GCEvent, SamplerOptions } from '../sampler';
import type { GcTypeName, Snapshot } from '../snapshot';
import { checkBuckets, checkDetail, checkSampler, families, MONOTONIC_TIMESTAMPS } from './common';
import type { DetailLevel } from '../catalog';
import { LoopWindow, stddev } from '../loop-window';
import { closedError, describeValue, isRecord } from '../errors';
import { checkBoolean, checkKnownOptions, checkObject, checkOptionsObject } from '../options';

const WHAT = 'registerRuntimeMetrics()';

export interface OtelOptions {
  /** A Sampler to read (its lifecycle stays yours). Default: one is created and started, and closed by close(). */
  sampler?: Sampler;
  /** Options of the Sampler created when `sampler` is not given. */
  samplerOptions?: SamplerOptions;
  /** Explicit bucket advice of v8js.gc.duration, seconds (default: the runtime-node instrumentation's). */
  gcDurationBuckets?: number[];
  /**
   * The window of nodejs.eventloop.delay.* and nodejs.eventloop.utilization, ms: 0 (since
   * the sampler started) or 1000–3600000 (default 60000). Values cover the last
   * loopWindowMs to 1.25 × loopWindowMs (since registration until that much has passed),
   * whoever collects and however often.
   */
  loopWindowMs?: number;
  /** Instruments the runtime-node instrumentation lacks: GC counts and totals, whole-heap values, loop iterations, … (default true). */
  extraMetrics?: boolean;
  /** process.cpu.time, process.memory.usage, process.open_file_descriptor.count (default true; turn off next to @opentelemetry/host-metrics). */
  processMetrics?: boolean;
  /** v8js.resource.active from process.getActiveResourcesInfo(), as the runtime-node instrumentation reports it (default true). */
  activeResources?: boolean;
  /**
   * The MeterProvider `meter` comes from (anything with a forceFlush() method): shutdown()
   * calls its forceFlush() so that the last values are exported before the process exits. A
   * Meter does not say which provider made it; without this option shutdown() only closes.
   */
  meterProvider?: FlushableMeterProvider;
  /**
   * Which of the sampler's catalog metrics are observed: 'standard' (the default; the
   * catalog's `detail` says which) or 'full' (every one: reasons, phases, per-type splits).
   * The runtime-node instrumentation's instruments are there at both levels.
   */
  detail?: DetailLevel;
}

/** What shutdown() needs of an OpenTelemetry MeterProvider (the SDK's has it). */
export interface FlushableMeterProvider {
  forceFlush(): Promise<void>;
}

const OPTION_NAMES = [
  'sampler',
  'samplerOptions',
  'gcDurationBuckets',
  'loopWindowMs',
  'extraMetrics',
  'processMetrics',
  'activeResources',
  'meterProvider',
  'detail',
];

export interface RuntimeMetrics {
  /** The sampler the instruments read. */
  readonly sampler: Sampler;
  /** Names of the instruments registered, sorted. */
  readonly instruments: readonly string[];
  /**
   * Removes the batch callback and the GC listener, stops the loop window's timer, and
   * closes the sampler if registerRuntimeMetrics() created it. Idempotent. (An OpenTelemetry
   * meter cannot delete instruments: v8js.gc.duration keeps what it recorded.)
   */
  close(): void;
  /**
   * Exports the last values, then closes: calls meterProvider.forceFlush() (when that option
   * was given) while the instruments are still registered, so the final collection reads the
   * sampler once more, then does what close() does. Idempotent (every call returns the same
   * promise). Rejects only if forceFlush() rejects (the SDK's reports export failures to its
   * global error handler and resolves), and even then has closed.
   */
  shutdown(): Promise<void>;
}

/** @opentelemetry/instrumentation-runtime-node's bucket advice for v8js.gc.duration, seconds. */
export const DEFAULT_GC_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

const DEFAULT_LOOP_WINDOW_MS = 60_000;

const ATTR_GC_TYPE = 'v8js.gc.type';
const ATTR_RESOURCE_TYPE = 'v8js.resource.type';

/**
 * v8js.gc.type values as the runtime-node instrumentation gives them (perf_hooks'
 * NODE_PERFORMANCE_GC_* kinds). Minor mark-sweep (--minor-ms) is a young-generation
 * collection like a scavenge: minor.
 */
const SEMCONV_GC_TYPE: Record<GcTypeName, string> = {
  scavenge: 'minor',
  minorMarkSweep: 'minor',
  markSweepCompact: 'major',
  incrementalMarking: 'incremental',
  processWeakCallbacks: 'weakcb',
};
/** The catalog's v8js.gc.type values (snake_case GC types) to the semantic-convention ones. */
const SEMCONV_GC_TYPE_BY_CATALOG_VALUE: Record<string, string> = {
  scavenge: 'minor',
  minor_mark_sweep: 'minor',
  mark_sweep_compact: 'major',
  incremental_marking: 'incremental',
  process_weak_callbacks: 'weakcb',
};

type InstrumentKind = 'counter' | 'updowncounter' | 'gauge';

interface CatalogInstrument {
  name: string;
  kind: InstrumentKind;
  unit: string;
  /** Catalog value / divisor = the value in `unit` (division keeps ns → s exact to the last digit). */
  divisor: number;
  description: string;
}

/**
 * Catalog families the runtime-node instrumentation also publishes: the semantic
 * conventions' instrument kinds (every v8js.memory.* is an UpDownCounter there; the
 * instrumentation 0.36 publishes three of them as Gauges — see SEMCONV_KIND_DIFFERS) and
 * the instrumentation's descriptions. (The catalog uses the current semantic-convention
 * names, so the names are the same.)
 */
const SEMCONV_FROM_CATALOG: Record<string, { name: string; kind: InstrumentKind; description: string }> = {
  'v8js.memory.heap.space.size': {
    name: 'v8js.memory.heap.space.size',
    kind: 'updowncounter',
    description: 'Total heap memory size pre-allocated for a heap space.',
  },
  'v8js.memory.heap.used': { name: 'v8js.memory.heap.used', kind: 'updowncounter', description: 'Heap Memory size allocated.' },
  'v8js.memory.heap.space.available_size': {
    name: 'v8js.memory.heap.space.available_size',
    kind: 'updowncounter',
    description: 'Heap space available size.',
  },
  'v8js.memory.heap.space.physical_size': {
    name: 'v8js.memory.heap.space.physical_size',
    kind: 'updowncounter',
    description: 'Committed size of a heap space.',
  },
  'nodejs.eventloop.time': {
    name: 'nodejs.eventloop.time',
    kind: 'counter',
    description: 'Cumulative duration of time the event loop has been in each state.',
  },
};

/**
 * Where @opentelemetry/instrumentation-runtime-node 0.36 departs from the semantic
 * conventions' instrument kind (it publishes ObservableGauges): we follow the conventions.
 */
export const SEMCONV_KIND_DIFFERS: readonly string[] = Object.freeze([
  'v8js.memory.heap.used',
  'v8js.memory.heap.space.available_size',
  'v8js.memory.heap.space.physical_size',
]);

/**
 * Catalog families not published as catalog instruments: monotonic-clock timestamps
 * (MONOTONIC_TIMESTAMPS), and utilization, which is published over the loop window.
 */
const NOT_FROM_CATALOG = new Set(['nodejs.eventloop.utilization', ...MONOTONIC_TIMESTAMPS]);

/** Descriptions of families the catalog describes entry by entry. */
const DESCRIPTIONS: Record<string, string> = {
  'process.cpu.time': 'CPU time of the process by mode (user, system), since the process started.',
};

/** Semantic-convention instrument kinds of the process.* values (UpDownCounters there). */
const PROCESS_KINDS: Record<string, InstrumentKind> = {
  'process.memory.usage': 'updowncounter',
  'process.open_file_descriptor.count': 'updowncounter',
};

const DELAY_STATS = [
  ['min', 'Event loop minimum delay.'],
  ['max', 'Event loop maximum delay.'],
  ['mean', 'Event loop mean delay.'],
  ['stddev', 'Event loop standard deviation delay.'],
  ['p50', 'Event loop 50 percentile delay.'],
  ['p90', 'Event loop 90 percentile delay.'],
  ['p99', 'Event loop 99 percentile delay.'],
] as const;
type DelayStat = (typeof DELAY_STATS)[number][0];

function otelUnit(unit: string): { unit: string; divisor: number } {
  if (unit === 'ns') return { unit: 's', divisor: 1e9 };
  if (unit === 'us') return { unit: 's', divisor: 1e6 };
  return { unit, divisor: 1 };
}

function checkMeter(meter: unknown): Meter {
  const m = meter as Record<string, unknown> | null;
  const methods = [
    'createHistogram',
    'createObservableGauge',
    'createObservableCounter',
    'createObservableUpDownCounter',
    'addBatchObservableCallback',
    'removeBatchObservableCallback',
  ];
  if (m === null || typeof m !== 'object' || methods.some((k) => typeof m[k] !== 'function')) {
    throw new TypeError(
      `${WHAT}: meter must be an OpenTelemetry Meter (metrics.getMeter() or meterProvider.getMeter()), got ${describeValue(meter)}`,
    );
  }
  return meter as Meter;
}

function checkMeterProvider(value: unknown): FlushableMeterProvider {
  let flush: unknown;
  try {
    flush = isRecord(value) ? value.forceFlush : undefined;
  } catch {
    // A throwing getter or a revoked Proxy is not a provider.
  }
  if (typeof flush !== 'function') {
    throw new TypeError(`meterProvider must be an OpenTelemetry MeterProvider (an object with forceFlush()), got ${describeValue(value)}`);
  }
  return value as FlushableMeterProvider;
}

function checkLoopWindow(value: unknown): number {
  const accepted = '0 (since the sampler started) or an integer from 1000 to 3600000';
  if (typeof value !== 'number') throw new TypeError(`loopWindowMs must be ${accepted}, got ${describeValue(value)}`);
  if (value !== 0 && !(Number.isInteger(value) && value >= 1000 && value <= 3_600_000)) {
    throw new RangeError(`loopWindowMs must be ${accepted}, got ${String(value)}`);
  }
  return value;
}

/**
 * Registers the runtime metrics on `meter`: the OpenTelemetry Node.js runtime
 * instrumentation's instruments (same names, units, kinds and attributes) and, unless
 * turned off, the sampler's metrics it lacks. v8js.gc.duration is a Histogram fed with
 * every GC; the rest are observed in one batch callback that reads the sampler once.
 */
export function registerRuntimeMetrics(meter: Meter, options?: OtelOptions): RuntimeMetrics {
  const o = checkOptionsObject(WHAT, options);
  checkKnownOptions(WHAT, o, OPTION_NAMES);
  checkMeter(meter);
  let given: Sampler | null = null;
  if (o.sampler !== undefined) {
    given = checkSampler<Sampler>(WHAT, o.sampler, 'a runtime-sampler Sampler');
    if (typeof given.onGC !== 'function' || typeof given.offGC !== 'function') {
      throw new TypeError(`${WHAT}: sampler must be a runtime-sampler Sampler (with onGC), got ${describeValue(o.sampler)}`);
    }
    if (given.closed) throw closedError();
    if (o.samplerOptions !== undefined) {
      throw new TypeError(`${WHAT}: samplerOptions applies only to the sampler registerRuntimeMetrics() creates; configure the given sampler instead`);
    }
  }
  if (o.samplerOptions !== undefined) checkObject('samplerOptions', o.samplerOptions, 'an object of Sampler options');
  const buckets = o.gcDurationBuckets === undefined ? [...DEFAULT_GC_DURATION_BUCKETS] : checkBuckets('gcDurationBuckets', o.gcDurationBuckets);
  const windowMs = o.loopWindowMs === undefined ? DEFAULT_LOOP_WINDOW_MS : checkLoopWindow(o.loopWindowMs);
  const extra = o.extraMetrics === undefined ? true : checkBoolean('extraMetrics', o.extraMetrics);
  const processMetrics = o.processMetrics === undefined ? true : checkBoolean('processMetrics', o.processMetrics);
  const activeResources = o.activeResources === undefined ? true : checkBoolean('activeResources', o.activeResources);
  const provider = o.meterProvider === undefined ? null : checkMeterProvider(o.meterProvider);
  const detail = checkDetail(o.detail);

  const owned = given === null;
  const sampler = given ?? new Sampler(o.samplerOptions as SamplerOptions | undefined).start();
  try {
    return register(meter, sampler, owned, buckets, windowMs, extra, processMetrics, activeResources, provider, detail);
  } catch (err) {
    if (owned) sampler.close();
    throw err;
  }
}

interface Instruments {
  names: string[];
  observables: Observable[];
  /** By catalog name. */
  catalog: Map<string, { spec: CatalogInstrument; inst: Observable }>;
  delay: Record<DelayStat, Observable>;
  utilization: Observable;
  resources: Observable | null;
}

/** The observable instruments, from the catalog families of `snapshot` and the fixed ones. */
function createObservables(
  meter: Meter,
  sampler: Sampler,
  snapshot: Snapshot,
  extra: boolean,
  processMetrics: boolean,
  activeResources: boolean,
  detail: DetailLevel,
): Instruments {
  const names: string[] = [];
  const observables: Observable[] = [];
  const create = (kind: InstrumentKind, name: string, unit: string, description: string): Observable => {
    const opts = { unit, description };
    const inst =
      kind === 'counter'
        ? meter.createObservableCounter(name, opts)
        : kind === 'updowncounter'
          ? meter.createObservableUpDownCounter(name, opts)
          : meter.createObservableGauge(name, opts);
    names.push(name);
    observables.push(inst);
    return inst;
  };

  const catalog = new Map<string, { spec: CatalogInstrument; inst: Observable }>();
  for (const fam of families(sampler, snapshot, detail)) {
    const d = fam.description;
    if (d.kind === 'histogram' || NOT_FROM_CATALOG.has(d.name)) continue;
    const sc = SEMCONV_FROM_CATALOG[d.name];
    const group = sc ? 'semconv' : d.name.startsWith('process.') ? 'process' : 'extra';
    if ((group === 'extra' && !extra) || (group === 'process' && !processMetrics)) continue;
    const { unit, divisor } = otelUnit(d.unit);
    const spec: CatalogInstrument = {
      name: sc?.name ?? d.name,
      kind: sc?.kind ?? PROCESS_KINDS[d.name] ?? (d.kind === 'counter' ? 'counter' : 'gauge'),
      unit,
      divisor,
      description: sc?.description ?? DESCRIPTIONS[d.name] ?? d.description,
    };
    catalog.set(d.name, { spec, inst: create(spec.kind, spec.name, spec.unit, spec.description) });
  }

  const delay = {} as Record<DelayStat, Observable>;
  for (const [stat, description] of DELAY_STATS) {
    delay[stat] = create('gauge', `nodejs.eventloop.delay.${stat}`, 's', description);
  }
  const utilization = create('gauge', 'nodejs.eventloop.utilization', '1', 'Event loop utilization');
  const resources =
    activeResources && typeof process.getActiveResourcesInfo === 'function'
      ? create('gauge', 'v8js.resource.active', '{resource}', 'Count of the active resources that are currently keeping the event loop alive.')
      : null;
  return { names, observables, catalog, delay, utilization, resources };
}

function register(
  meter: Meter,
  sampler: Sampler,
  owned: boolean,
  buckets: number[],
  windowMs: number,
  extra: boolean,
  processMetrics: boolean,
  activeResources: boolean,
  provider: FlushableMeterProvider | null,
  detail: DetailLevel,
): RuntimeMetrics {
  // v8js.gc.duration: every GC's pause, recorded as the sampler drains its event ring.
  const DOUBLE: ValueType = 1;
  const gcDuration: OtelHistogram = meter.createHistogram('v8js.gc.duration', {
    description: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    unit: 's',
    valueType: DOUBLE,
    advice: { explicitBucketBoundaries: buckets },
  });
  const gcAttributes = {} as Record<GcTypeName, Attributes>;
  for (const [type, value] of Object.entries(SEMCONV_GC_TYPE)) gcAttributes[type as GcTypeName] = { [ATTR_GC_TYPE]: value };
  const onGC = (e: GCEvent): void => {
    gcDuration.record(e.pauseNs / 1e9, gcAttributes[e.type]);
  };
  // Before the first read(): for a sampler created here, that is every GC since its start.
  sampler.onGC(onGC);

  let instruments: Instruments;
  const snapshot = sampler.read();
  try {
    instruments = createObservables(meter, sampler, snapshot, extra, processMetrics, activeResources, detail);
  } catch (err) {
    sampler.offGC(onGC);
    throw err;
  }
  const { catalog, delay: delayGauges, utilization, resources, observables } = instruments;
  const loopWindow = windowMs > 0 ? new LoopWindow(sampler, windowMs) : null;
  const knownResourceTypes = new Set<string>();
  let closed = false;
  let shuttingDown: Promise<void> | null = null;

  const callback: BatchObservableCallback = (result: BatchObservableResult) => {
    if (closed || sampler.closed) return;
    // read() drains the GC ring first: every GC up to now is in v8js.gc.duration before
    // the SDK collects it (observable callbacks run before synchronous instruments are
    // collected).
    const snap = sampler.read(snapshot);
    for (const fam of families(sampler, snap, detail)) {
      const entry = catalog.get(fam.description.name);
      if (!entry || !fam.points) continue;
      const { spec, inst } = entry;
      const merged = new Map<string, { attributes: Attributes; value: number }>();
      for (const p of fam.points) {
        // -1: a value this platform cannot provide (open fds). +Infinity: no container
        // limit, which OTLP/JSON cannot carry; the container semantic conventions report
        // a limit only when one is set.
        if (!(p.value >= 0) || p.value === Infinity) continue;
        const attributes: Attributes = { ...p.attributes };
        const gcType = p.attributes[ATTR_GC_TYPE];
        if (gcType !== undefined) attributes[ATTR_GC_TYPE] = SEMCONV_GC_TYPE_BY_CATALOG_VALUE[gcType] ?? gcType;
        const key = JSON.stringify(attributes);
        const prev = merged.get(key);
        const value = p.value / spec.divisor;
        if (!prev) merged.set(key, { attributes, value });
        // Scavenges and minor mark-sweeps are both 'minor': counts and totals add up, maxima do not.
        else prev.value = spec.kind === 'gauge' ? Math.max(prev.value, value) : prev.value + value;
      }
      for (const { attributes, value } of merged.values()) result.observe(inst, value, attributes);
    }

    const delay = loopWindow ? loopWindow.delay() : sampler.histograms.loopDelay;
    if (delay.count > 0) {
      const values: Record<DelayStat, number> = {
        min: delay.min,
        max: delay.max,
        mean: delay.mean,
        stddev: stddev(delay),
        p50: delay.percentile(50),
        p90: delay.percentile(90),
        p99: delay.percentile(99),
      };
      for (const [stat] of DELAY_STATS) result.observe(delayGauges[stat], values[stat] / 1e9);
    }
    const u = loopWindow ? loopWindow.utilization(snap) : snap.loop.busyNs + snap.loop.idleNs > 0 ? snap.loop.utilization : NaN;
    if (!Number.isNaN(u)) result.observe(utilization, u);

    if (resources) {
      const counts = new Map<string, number>();
      for (const type of process.getActiveResourcesInfo()) {
        counts.set(type, (counts.get(type) ?? 0) + 1);
        knownResourceTypes.add(type);
      }
      // Types seen before and gone now report 0, as the runtime-node instrumentation does.
      for (const type of knownResourceTypes) result.observe(resources, counts.get(type) ?? 0, { [ATTR_RESOURCE_TYPE]: type });
    }
  };
  try {
    meter.addBatchObservableCallback(callback, observables);
  } catch (err) {
    sampler.offGC(onGC);
    loopWindow?.stop();
    throw err;
  }

  function close(): void {
    if (closed) return;
    closed = true;
    meter.removeBatchObservableCallback(callback, observables);
    sampler.offGC(onGC);
    loopWindow?.stop();
    if (owned) sampler.close();
  }

  return {
    sampler,
    instruments: Object.freeze(['v8js.gc.duration', ...instruments.names].sort()),
    close,
    shutdown(): Promise<void> {
      shuttingDown ??= (async () => {
        try {
          // Before close(): a collection after it would find no callback to read the sampler.
          if (provider !== null) await provider.forceFlush();
        } finally {
          close();
        }
      })();
      return shuttingDown;
    },
  };
}
