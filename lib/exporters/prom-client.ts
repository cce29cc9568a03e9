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
import { readFileSync } from 'node:fs';
import type * as PromClient from 'prom-client';
import { Sampler } from '../sampler';
import { backend } from '../binding';
import { reasonLabel } from '../snapshot';
import type { GcTypeName, Snapshot } from '../snapshot';
import type { Histogram } from '../histogram';
import { DEFAULT_DURATION_BOUNDS_NS, MONOTONIC_TIMESTAMPS, bucketBoundMap, checkBuckets, checkLabels, checkSampler, cumulativeCounts, plan } from './common';
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

const OPTIONS = ['register', 'prefix', 'labels', 'gcDurationBuckets', 'eventLoopMonitoringPrecision', 'sampler', 'eventLoopLagWindowMs', 'additions'];
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

function procStatus(): { vmSize?: number; vmData?: number } {
  try {
    const text = readFileSync('/proc/self/status', 'utf8');
    const kb = (key: string): number | undefined => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
      return m ? Number(m[1]) * 1024 : undefined;
    };
    return { vmSize: kb('VmSize'), vmData: kb('VmData') };
  } catch {
    return {};
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

interface SamplerHistogramConfig {
  name: string;
  help: string;
  registers: PromClient.Registry[];
  labelNames: string[];
  labels: Record<string, string>;
  /** Upper bounds, ns. */
  boundsNs: readonly number[];
  histogram: () => Histogram;
}

interface HistogramData {
  name: string;
  help: string;
  type: 'histogram';
  values: PromClient.MetricValueWithName<string>[];
  aggregator: 'sum';
}

/**
 * A prom-client Histogram whose series are the sampler's cumulative histogram, read at
 * each scrape: the same buckets, sum and count as toPrometheus() gives, without replaying
 * every value through observe() (a sampler that has run for a day holds millions).
 */
function samplerHistogram(client: typeof PromClient, c: SamplerHistogramConfig): PromClient.Histogram {
  const factor = 1e-9;
  const bounds = c.boundsNs.map((b) => b * factor);
  class Cumulative extends client.Histogram {
    private map: Int32Array | null = null;
    private mapScale = -1;
    constructor() {
      super({ name: c.name, help: c.help, registers: c.registers, labelNames: c.labelNames, buckets: bounds });
    }
    private data(): HistogramData {
      const h = c.histogram();
      if (this.mapScale !== h.scale) {
        this.map = bucketBoundMap(c.boundsNs, h.scale, h.counts.length);
        this.mapScale = h.scale;
      }
      const cum = cumulativeCounts(h, c.boundsNs, this.map!);
      const values: PromClient.MetricValueWithName<string>[] = cum.map((n, i) => ({ labels: { ...c.labels, le: bounds[i] }, value: n, metricName: `${c.name}_bucket` }));
      values.push(
        { labels: { ...c.labels, le: '+Inf' }, value: h.count, metricName: `${c.name}_bucket` },
        { labels: { ...c.labels }, value: h.sum * factor, metricName: `${c.name}_sum` },
        { labels: { ...c.labels }, value: h.count, metricName: `${c.name}_count` },
      );
      return { name: c.name, help: c.help, type: 'histogram', values, aggregator: 'sum' };
    }
    // The registry renders getForPromString() when there is one, else get(); both carry
    // the labels whole (no sharedLabels), as get() does in every prom-client version.
    override get(): ReturnType<PromClient.Histogram['get']> {
      return Promise.resolve(this.data() as unknown as Awaited<ReturnType<PromClient.Histogram['get']>>);
    }
    getForPromString(): Promise<HistogramData> {
      return Promise.resolve(this.data());
    }
  }
  return new Cumulative();
}

/**
 * Registers prom-client's default metrics — fed by a Sampler — into a prom-client
 * Registry. Same config shape as prom-client's collectDefaultMetrics(), plus `sampler`,
 * `eventLoopLagWindowMs` and `additions`.
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
  const snap = sampler.read();
  const read = (): Snapshot => sampler.read(snap);
  const names: string[] = [];
  const gauge = (name: string, help: string, collect?: (g: PromClient.Gauge) => void, extraLabels: string[] = []): PromClient.Gauge => {
    names.push(prefix + name);
    return new client.Gauge({
      name: prefix + name, help, registers, labelNames: [...extraLabels, ...labelNames],
      collect: collect ? function (this: PromClient.Gauge) { collect(this); } : undefined,
    });
  };
  const counter = (name: string, help: string, value: () => number): void => {
    names.push(prefix + name);
    new client.Counter({
      name: prefix + name, help, registers, labelNames,
      collect(this: PromClient.Counter) {
        // Our totals are cumulative already: set the counter to them.
        this.reset();
        const v = value();
        if (v > 0) this.inc(labels, v);
      },
    });
  };
  const typed = (g: PromClient.Gauge, data: Record<string, number>, key: string): void => {
    g.reset();
    for (const [k, v] of Object.entries(data)) g.set({ [key]: k, ...labels }, v);
  };

  // ---- prom-client's metrics ----
  counter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', () => read().process.cpuUserUs / 1e6);
  counter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', () => read().process.cpuSystemUs / 1e6);
  counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => {
    const s = read();
    return (s.process.cpuUserUs + s.process.cpuSystemUs) / 1e6;
  });
  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', (g) => g.set(labels, startSeconds));
  if (process.platform === 'linux') {
    let status: { vmSize?: number; vmData?: number } = {};
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', (g) => {
      g.set(labels, read().process.rssBytes);
      status = procStatus();
    });
    gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.', (g) => {
      if (status.vmSize !== undefined) g.set(labels, status.vmSize);
    });
    gauge('process_heap_bytes', 'Process heap size in bytes.', (g) => {
      if (status.vmData !== undefined) g.set(labels, status.vmData);
    });
  } else {
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', (g) => g.set(labels, read().process.rssBytes));
  }
  if (process.platform === 'linux') {
    gauge('process_open_fds', 'Number of open file descriptors.', (g) => {
      const n = read().process.openFds;
      if (n >= 0) g.set(labels, n);
    });
  }
  const fdLimit = maxFds();
  if (fdLimit !== undefined) gauge('process_max_fds', 'Maximum number of open file descriptors.', (g) => g.set(labels, fdLimit));

  // Loop lag: setImmediate lag measured at each scrape (reported at the next, as
  // prom-client does) and the delay histogram over a sliding window, never reset. Each
  // gauge computes its own value, so any subset of them can be read in any order.
  const lagWindow = new LoopWindow(sampler, windowMs);
  let lagSeconds = 0;
  gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', (g) => {
    const start = process.hrtime.bigint();
    setImmediate(() => { lagSeconds = Number(process.hrtime.bigint() - start) / 1e9; });
    g.set(labels, lagSeconds);
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
  for (const [k, help, stat] of lagStats) {
    gauge(`nodejs_eventloop_lag_${k}_seconds`, help, (g) => {
      const v = stat(lagWindow.delay());
      g.set(labels, Number.isNaN(v) ? 0 : v / 1e9);
    });
  }

  if (typeof process.getActiveResourcesInfo === 'function') {
    gauge('nodejs_active_resources', 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.', (g) => {
      const counts: Record<string, number> = {};
      for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
      typed(g, counts, 'type');
    }, ['type']);
    gauge('nodejs_active_resources_total', 'Total number of active resources.', (g) => g.set(labels, process.getActiveResourcesInfo().length));
  }
  const proc = process as unknown as { _getActiveHandles?: () => unknown[]; _getActiveRequests?: () => unknown[] };
  if (typeof proc._getActiveHandles === 'function') {
    gauge('nodejs_active_handles', 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.', (g) => typed(g, countByName(proc._getActiveHandles!()), 'type'), ['type']);
  }
  // libuv's own counters where the native backend reads them; on the JavaScript backend (NaN)
  // what prom-client itself reports, so that the drop-in never serves NaN for a value it had.
  const orCount = (v: number, list: (() => unknown[]) | undefined): number => (Number.isNaN(v) && list ? list.call(process).length : v);
  gauge('nodejs_active_handles_total', 'Total number of active handles.', (g) => g.set(labels, orCount(read().process.activeHandles, proc._getActiveHandles)));
  if (typeof proc._getActiveRequests === 'function') {
    gauge('nodejs_active_requests', 'Number of active libuv requests grouped by request type. Every request type is C++ class name.', (g) => typed(g, countByName(proc._getActiveRequests!()), 'type'), ['type']);
  }
  gauge('nodejs_active_requests_total', 'Total number of active requests.', (g) => g.set(labels, orCount(read().process.activeRequests, proc._getActiveRequests)));

  gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', (g) => g.set(labels, read().heap.totalBytes));
  gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', (g) => g.set(labels, read().heap.usedBytes));
  gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', (g) => g.set(labels, read().heap.externalBytes));
  const spaceLabel = (name: string): string => (name.endsWith('_space') ? name.slice(0, -'_space'.length) : name);
  for (const [kind, field] of [['total', 'sizeBytes'], ['used', 'usedBytes'], ['available', 'availableBytes']] as const) {
    gauge(`nodejs_heap_space_size_${kind}_bytes`, `Process heap space size ${kind} from Node.js in bytes.`, (g) => {
      const spaces = read().heap.spaces;
      for (const [name, s] of Object.entries(spaces)) g.set({ space: spaceLabel(name), ...labels }, s[field]);
    }, ['space']);
  }
  const version = process.version;
  const [major, minor, patch] = version.slice(1).split('.').map(Number);
  gauge('nodejs_version_info', 'Node.js version info.', (g) => g.set({ version, major, minor, patch, ...labels } as PromClient.LabelValues<string>, 1), ['version', 'major', 'minor', 'patch']);

  // Every GC, from the sampler's event ring (drained before each scrape).
  names.push(`${prefix}nodejs_gc_duration_seconds`);
  const gcHistogram = new client.Histogram({
    name: `${prefix}nodejs_gc_duration_seconds`,
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind', ...labelNames],
    buckets: gcBuckets,
    registers,
    collect() { sampler.drain(); },
  });
  const offGC = sampler.onGC((e) => gcHistogram.observe({ kind: PROM_KIND[e.type], ...labels }, e.pauseNs / 1e9));

  // ---- additions ----
  if (additions) {
    gauge('nodejs_eventloop_utilization_ratio', 'Event-loop utilization (busy / (busy + idle)) over the lag window (eventLoopLagWindowMs).', (g) => {
      const u = lagWindow.utilization(read());
      if (!Number.isNaN(u)) g.set(labels, u);
    });
    counter('nodejs_eventloop_busy_seconds_total', 'Time the event loop spent running callbacks.', () => read().loop.busyNs / 1e9);
    counter('nodejs_eventloop_idle_seconds_total', 'Time the event loop spent idle, waiting for events.', () => read().loop.idleNs / 1e9);
    // What only the native backend measures (catalog native: true) is left out on the
    // JavaScript backend: an unlabelled prom-client counter cannot be absent, and 0 would lie.
    const nativeBackend = backend === 'native';
    if (nativeBackend) {
      counter('nodejs_eventloop_iterations_total', 'Event-loop iterations completed.', () => read().loop.iterations);
      gauge('nodejs_eventloop_iteration_max_seconds', 'Busy time of the busiest event-loop iteration since the sampler started.', (g) => g.set(labels, read().loop.maxIterationNs / 1e9));
    }
    const byType = (name: string, help: string, field: 'count' | 'pauseNs' | 'maxPauseNs', scale: number): void => {
      gauge(name, help, (g) => {
        const s = read();
        for (const [t, v] of Object.entries(s.gc.byType)) g.set({ type: SNAKE[t as GcTypeName], ...labels }, v[field] * scale);
      }, ['type']);
    };
    // Cumulative values with a label are exported as gauges (prom-client counters cannot be set).
    byType('nodejs_gc_collections', 'Garbage collections since the sampler started, by V8 GC type (cumulative).', 'count', 1);
    byType('nodejs_gc_pause_seconds', 'Total GC pause since the sampler started, by V8 GC type (cumulative).', 'pauseNs', 1e-9);
    byType('nodejs_gc_pause_max_seconds', 'Longest single GC pause since the sampler started, by V8 GC type.', 'maxPauseNs', 1e-9);
    counter('nodejs_gc_forced_total', 'Garbage collections forced by gc() or the embedder.', () => read().gc.forcedCount);
    counter('nodejs_heap_allocated_bytes_total', 'Heap bytes allocated since the sampler started.', () => read().gc.allocatedBytes);
    counter('nodejs_heap_reclaimed_bytes_total', 'Heap bytes freed by garbage collections since the sampler started.', () => read().gc.reclaimedBytes);
    gauge('nodejs_heap_size_limit_bytes', 'The V8 heap size limit.', (g) => g.set(labels, read().heap.limitBytes));
    gauge('nodejs_heap_space_size_physical_bytes', 'Process heap space size backed by physical memory, in bytes.', (g) => {
      for (const [name, s] of Object.entries(read().heap.spaces)) g.set({ space: spaceLabel(name), ...labels }, s.physicalBytes);
    }, ['space']);
    gauge('nodejs_heap_native_contexts', 'Native contexts alive (vm contexts, realms).', (g) => g.set(labels, read().heap.nativeContexts));
    gauge('nodejs_heap_detached_contexts', 'Contexts detached but not yet collected; non-zero for long is a leak.', (g) => g.set(labels, read().heap.detachedContexts));
    // From V8's own GC histograms (the sampler's v8Histograms option).
    if (nativeBackend) {
      counter('nodejs_gc_main_thread_seconds_total', 'GC time on the JS thread: every pause plus the incremental marking steps between pauses.', () => read().gc.mainThreadNs / 1e9);
      counter('nodejs_gc_incremental_marking_steps_total', 'Incremental marking steps V8 ran on the JS thread between GC pauses.', () => read().gc.incrementalMarkingSteps);
      counter('nodejs_gc_incremental_marking_seconds_total', 'Time of the incremental marking steps (V8 totals it per cycle in whole ms, truncated).', () => read().gc.incrementalMarkingNs / 1e9);
      gauge('nodejs_gc_phase_seconds', 'Time per GC phase as V8 times it, by collector and phase, whole ms per collection (cumulative).', (g) => {
        const gcs = read().gc;
        for (const [phase, ns] of Object.entries(gcs.markCompact.phaseNs)) g.set({ collector: 'mark_compact', phase, ...labels }, ns / 1e9);
        for (const [phase, ns] of Object.entries(gcs.scavengePhases.phaseNs)) g.set({ collector: 'scavenge', phase, ...labels }, ns / 1e9);
      }, ['collector', 'phase']);
      counter('nodejs_gc_time_to_safepoint_seconds_total', 'Time GCs waited for the heap\'s threads to reach a safepoint (µs resolution).', () => read().gc.timeToSafepoint.totalNs / 1e9);
      gauge('nodejs_gc_time_to_safepoint_max_seconds', 'Longest wait for a safepoint since the sampler started.', (g) => g.set(labels, read().gc.timeToSafepoint.maxNs / 1e9));
      gauge('nodejs_gc_reasons', 'Collections by the reason V8 gives, for mark-compacts and incremental marking starts (cumulative).', (g) => {
        const r = read().gc.reasons;
        for (const [collector, counts] of [['mark_compact', r.markCompact], ['incremental_marking', r.incrementalMarking]] as const) {
          for (const [reason, n] of Object.entries(counts.toJSON())) if (n > 0) g.set({ collector, reason: reasonLabel(reason), ...labels }, n);
        }
      }, ['collector', 'reason']);
    }
    gauge('nodejs_heap_fragmentation_ratio', 'External fragmentation after the last GC (share of committed memory not holding objects), by space and in total.', (g) => {
      const f = read().heap.fragmentation;
      if (!Number.isNaN(f.total)) g.set({ space: 'total', ...labels }, f.total);
      for (const [name, v] of Object.entries(f.spaces)) if (!Number.isNaN(v)) g.set({ space: spaceLabel(name), ...labels }, v);
    }, ['space']);

    // The container and threadpool families of the catalog, under the names toPrometheus()
    // gives them (prometheusName), so dashboards and alert rules work with either exporter.
    // NaN (the kernel does not say) leaves the series out; +Infinity (no limit) is +Inf.
    for (const f of plan(sampler, snap)) {
      const d = f.description;
      if (f.histogram || MONOTONIC_TIMESTAMPS.has(d.name) || !/^nodejs\.(container|threadpool)\./.test(d.name)) continue;
      const { name, factor } = prometheusName(d.name, d.unit);
      const points = f.points.map((pt) => ({
        labels: Object.fromEntries(Object.entries(pt.attributes).map(([k, v]) => [k.replace(/[^a-zA-Z0-9_]/g, '_'), v])),
        get: pt.get,
      }));
      const attributeNames = Object.keys(points[0]?.labels ?? {});
      const each = (set: (l: PromClient.LabelValues<string>, v: number) => void): void => {
        const s = read();
        for (const pt of points) {
          const v = pt.get(s, sampler);
          if (typeof v === 'number' && !Number.isNaN(v)) set({ ...pt.labels, ...labels }, v * factor);
        }
      };
      if (d.kind === 'counter') {
        names.push(`${prefix}${name}_total`);
        new client.Counter({
          name: `${prefix}${name}_total`, help: d.description, registers, labelNames: [...attributeNames, ...labelNames],
          collect(this: PromClient.Counter) {
            // reset() gives a metric without labels a 0 series; an unknown value has none.
            this.reset();
            this.remove({});
            each((l, v) => this.inc(l, v));
          },
        });
      } else {
        gauge(name, d.description, (g) => {
          g.reset();
          g.remove({});
          each((l, v) => g.set(l, v));
        }, attributeNames);
      }
    }
    names.push(`${prefix}nodejs_threadpool_delay_seconds`);
    samplerHistogram(client, {
      name: `${prefix}nodejs_threadpool_delay_seconds`,
      help: sampler.catalog().find((d) => d.name === 'nodejs.threadpool.delay')?.description ?? 'Delay of each threadpool probe.',
      registers,
      labelNames,
      labels,
      boundsNs: DEFAULT_DURATION_BOUNDS_NS,
      histogram: () => sampler.histograms.threadpoolDelay,
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
