// The metric catalog: every metric's stable name, unit, kind and where it lives. Names
// follow the OpenTelemetry semantic conventions where one exists. docs/metrics.md is
// generated from this list, and a test matches it against the Snapshot both ways.
import type { DetailLevel } from './detail';
import { fragmentationSpaces, GC_REASONS, GC_TYPES, reasonLabel } from './snapshot';
import { CHANNEL_NAMES } from './alerts/stats';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricAttribute {
  name: string;
  /** The attribute's values; for wildcard paths, in the same order as the `*` keys. */
  values: readonly string[];
}

export interface MetricDescription {
  /** Stable name (OpenTelemetry style). */
  name: string;
  /** UCUM-style unit: ns, By, us, 1, {collection}, … */
  unit: string;
  kind: MetricKind;
  /** Whether the value only grows from start() on. */
  cumulative: boolean;
  description: string;
  attributes: readonly MetricAttribute[];
  /**
   * Where the value is read: a Snapshot path (`gc.byType.*.count`, `*` = one key per
   * attribute value) or `histograms.<name>` for histograms.
   */
  path: string;
  /**
   * Whether only the native backend measures it. On the JavaScript backend
   * (`nativeInfo.backend === 'js'`) such a metric reads NaN (a histogram stays empty).
   */
  native: boolean;
  /**
   * The exporters' detail level the metric belongs to: 'standard' (the default level: what
   * the dashboard and the alert rules use, a bounded number of series) or 'full' (only with
   * `detail: 'full'`: per-reason and per-phase counters, per-type splits of totals, the
   * sampler's own bookkeeping).
   */
  detail: DetailLevel;
}

// (In their own module: see detail.ts.)
export { DETAIL_LEVELS } from './detail';
export type { DetailLevel } from './detail';

/**
 * Snapshot paths (exact, or a prefix ending in '.') only the native backend fills: what
 * perf_hooks, node:v8 and process cannot give — V8's GC histograms and reasons, incremental
 * marking, per-iteration loop data, libuv's handles and threadpool, the watchdog, the cgroup
 * reading, fragmentation. test/js-backend.test.js checks each mark against a JS-backend read.
 */
const NATIVE_ONLY: readonly string[] = [
  'gc.nestedCount', 'gc.mainThreadNs', 'gc.incrementalMarkingSteps', 'gc.incrementalMarkingCycles',
  'gc.incrementalMarkingNs', 'gc.markCompact.', 'gc.scavengePhases.',
  'gc.timeToSafepoint.', 'gc.reasons.', 'histograms.gcTimeToSafepoint',
  'heap.fragmentation.',
  'loop.iterations', 'loop.events', 'loop.eventsPendingAtPoll', 'loop.maxIterationNs', 'loop.lastIterationNs',
  'histograms.loopIteration',
  'stall.', 'threadpool.', 'histograms.threadpoolDelay',
  'process.activeHandles', 'process.activeRequests',
  'container.', 'sampler.v8HistogramSamples',
];

function nativeOnly(path: string): boolean {
  return NATIVE_ONLY.some((p) => (p.endsWith('.') ? path.startsWith(p) : path === p));
}

/**
 * Snapshot paths (exact, or a prefix ending in '.') exported only at `detail: 'full'`. The
 * standard level keeps what the dashboard and the alert rules query within a budget of 120
 * series per process (test/detail.test.js counts them): reason and phase counters (58 + 9
 * series, mostly zero) go, totals replace their per-GC-type splits where no query needs the
 * type (a per-type classic histogram alone is 5 × its buckets), and so do the counters a
 * histogram's _count/_sum/max already carry, and the sampler's own bookkeeping.
 */
const FULL_ONLY: readonly string[] = [
  'gc.byType.*.pauseNs', 'gc.byType.*.maxPauseNs', 'histograms.gcPauseByType.*', 'gc.nestedCount',
  'gc.incrementalMarkingCycles', 'gc.markCompact.', 'gc.scavengePhases.', 'gc.timeToSafepoint.', 'gc.reasons.',
  'histograms.gcTimeToSafepoint', 'histograms.loopIteration',
  'heap.physicalBytes', 'heap.availableBytes', 'heap.peakMallocedBytes', 'heap.executableBytes', 'heap.globalHandlesBytes',
  'heap.usedGlobalHandlesBytes', 'heap.spaces.*.sizeBytes', 'heap.spaces.*.availableBytes', 'heap.spaces.*.physicalBytes',
  'heap.fragmentation.total',
  'loop.events', 'loop.eventsPendingAtPoll', 'loop.lastIterationNs', 'loop.maxIterationNs', 'gc.forcedCount',
  'sampler.refreshes', 'sampler.refreshCostNs',
  'threadpool.inFlight',
  'container.cgroupVersion', 'container.oomEvents',
  'alerts.', 'threadId', 'sampler.v8HistogramSamples', 'sampler.drains', 'sampler.gcEvents',
];

function detailOf(path: string): DetailLevel {
  return FULL_ONLY.some((p) => (p.endsWith('.') ? path.startsWith(p) : path === p)) ? 'full' : 'standard';
}

const SNAKE_GC: Record<string, string> = {
  scavenge: 'scavenge',
  minorMarkSweep: 'minor_mark_sweep',
  markSweepCompact: 'mark_sweep_compact',
  incrementalMarking: 'incremental_marking',
  processWeakCallbacks: 'process_weak_callbacks',
};
const GC_TYPE_ATTR: MetricAttribute = {
  name: 'v8js.gc.type',
  values: GC_TYPES.map((t) => SNAKE_GC[t]),
};

const CHANNEL_ATTR: MetricAttribute = { name: 'channel', values: CHANNEL_NAMES };

type Entry = Omit<MetricDescription, 'attributes' | 'native' | 'detail'> & { attributes?: readonly MetricAttribute[] };

function entries(spaceNames: readonly string[]): Entry[] {
  const SPACE_ATTR: MetricAttribute = { name: 'v8js.heap.space.name', values: spaceNames };
  const REASON_ATTR: MetricAttribute = { name: 'v8js.gc.reason', values: GC_REASONS.map(reasonLabel) };
  const g = (name: string, unit: string, path: string, description: string): Entry => ({
    name, unit, kind: 'gauge', cumulative: false, path, description,
  });
  const c = (name: string, unit: string, path: string, description: string): Entry => ({
    name, unit, kind: 'counter', cumulative: true, path, description,
  });
  return [
    // GC
    c('v8js.gc.count', '{collection}', 'gc.count', 'Garbage collections of every type.'),
    { ...c('v8js.gc.count', '{collection}', 'gc.byType.*.count', 'Garbage collections by type.'), attributes: [GC_TYPE_ATTR] },
    c('v8js.gc.pause.time', 'ns', 'gc.pauseNs', 'Total time the JS thread was paused in GC (nested collections counted once).'),
    { ...c('v8js.gc.pause.time', 'ns', 'gc.byType.*.pauseNs', 'Total GC pause by type.'), attributes: [GC_TYPE_ATTR] },
    g('v8js.gc.pause.max', 'ns', 'gc.maxPauseNs', 'Longest single GC pause since start().'),
    { ...g('v8js.gc.pause.max', 'ns', 'gc.byType.*.maxPauseNs', 'Longest single GC pause by type.'), attributes: [GC_TYPE_ATTR] },
    c('v8js.gc.forced.count', '{collection}', 'gc.forcedCount', 'Collections forced by gc() or the embedder.'),
    c('v8js.gc.nested.count', '{collection}', 'gc.nestedCount', 'Collections that began inside another collection\'s callbacks.'),
    c('v8js.gc.reclaimed', 'By', 'gc.reclaimedBytes', 'Heap bytes freed by collections.'),
    g('v8js.gc.last_end_time', 'ns', 'gc.lastEndNs', 'When the last collection ended (monotonic clock).'),
    c('v8js.memory.allocated', 'By', 'gc.allocatedBytes', 'Heap bytes allocated: heap growth between GCs and refreshes.'),
    { name: 'v8js.gc.duration', unit: 'ns', kind: 'histogram', cumulative: true, path: 'histograms.gcPause', description: 'Pause of every garbage collection.' },
    { name: 'v8js.gc.duration', unit: 'ns', kind: 'histogram', cumulative: true, path: 'histograms.gcPauseByType.*', attributes: [GC_TYPE_ATTR], description: 'Pause of every garbage collection, by type.' },
    // GC, from V8's own histograms (the v8Histograms option)
    c('v8js.gc.main_thread.time', 'ns', 'gc.mainThreadNs', 'GC time on the JS thread: every pause plus the incremental marking steps between pauses.'),
    c('v8js.gc.incremental_marking.steps', '{step}', 'gc.incrementalMarkingSteps', 'Incremental marking steps V8 ran on the JS thread between GC pauses (no GC callback sees them).'),
    c('v8js.gc.incremental_marking.cycles', '{cycle}', 'gc.incrementalMarkingCycles', 'Incremental marking cycles whose step time V8 reported.'),
    c('v8js.gc.incremental_marking.time', 'ns', 'gc.incrementalMarkingNs', 'Time of the incremental marking steps, from V8\'s per-cycle total in whole milliseconds (truncated: < 1 ms lost per cycle), counted when the cycle ends.'),
    c('v8js.gc.mark_compact.timed.count', '{collection}', 'gc.markCompact.count', 'Mark-compacts V8 timed (every one).'),
    c('v8js.gc.mark_compact.time', 'ns', 'gc.markCompact.totalNs', 'Time of the mark-compacts as V8 measures it: whole milliseconds per collection, truncated.'),
    c('v8js.gc.mark_compact.phased.count', '{collection}', 'gc.markCompact.phasedCount', 'Mark-compacts V8 timed by phase (those that finished incremental marking).'),
    { ...c('v8js.gc.mark_compact.phase.time', 'ns', 'gc.markCompact.phaseNs.*', 'Time per mark-compact phase as V8 times it: whole milliseconds per collection, truncated.'), attributes: [{ name: 'v8js.gc.phase', values: ['mark', 'sweep', 'evacuate', 'clear', 'prologue', 'epilogue', 'finish'] }] },
    c('v8js.gc.scavenge.phased.count', '{collection}', 'gc.scavengePhases.count', 'Scavenges V8 timed by phase.'),
    { ...c('v8js.gc.scavenge.phase.time', 'ns', 'gc.scavengePhases.phaseNs.*', 'Time per scavenge phase as V8 times it (main: the parallel scavenge, roots: scanning roots): whole milliseconds per collection, truncated.'), attributes: [{ name: 'v8js.gc.phase', values: ['main', 'roots'] }] },
    c('v8js.gc.time_to_safepoint.count', '{safepoint}', 'gc.timeToSafepoint.count', 'Safepoints V8 reached for a GC.'),
    c('v8js.gc.time_to_safepoint.time', 'ns', 'gc.timeToSafepoint.totalNs', 'Time GCs waited for the heap\'s threads to stop (microsecond resolution).'),
    g('v8js.gc.time_to_safepoint.max', 'ns', 'gc.timeToSafepoint.maxNs', 'Longest wait for a safepoint (microsecond resolution).'),
    { name: 'v8js.gc.time_to_safepoint.duration', unit: 'ns', kind: 'histogram', cumulative: true, path: 'histograms.gcTimeToSafepoint', description: 'Each GC\'s wait for a safepoint (microsecond resolution).' },
    { ...c('v8js.gc.mark_compact.reason.count', '{collection}', 'gc.reasons.markCompact.*', 'Mark-compacts (full GCs) by the reason V8 gives (V8.GCMarkCompactReason; V8 13+ leaves some out).'), attributes: [REASON_ATTR] },
    { ...c('v8js.gc.incremental_marking.reason.count', '{cycle}', 'gc.reasons.incrementalMarking.*', 'Incremental marking cycles started, by the reason V8 gives (V8.GCIncrementalMarkingReason).'), attributes: [REASON_ATTR] },
    // Heap
    g('v8js.heap.used', 'By', 'heap.usedBytes', 'Heap bytes in use (all spaces).'),
    g('v8js.heap.total', 'By', 'heap.totalBytes', 'Heap bytes reserved by V8 (all spaces).'),
    g('v8js.heap.limit', 'By', 'heap.limitBytes', 'The heap size limit.'),
    g('v8js.heap.physical', 'By', 'heap.physicalBytes', 'Heap bytes backed by physical memory.'),
    g('v8js.heap.available', 'By', 'heap.availableBytes', 'Heap bytes still available before the limit.'),
    g('v8js.heap.external', 'By', 'heap.externalBytes', 'Memory of external objects (Buffers, ArrayBuffers) V8 is told about.'),
    g('v8js.heap.malloced', 'By', 'heap.mallocedBytes', 'Memory V8 allocated with malloc.'),
    g('v8js.heap.malloced.peak', 'By', 'heap.peakMallocedBytes', 'Peak of V8\'s malloc-ed memory, as V8 reports it (on V8 14 / Node 26 it can read below the current value).'),
    g('v8js.heap.executable', 'By', 'heap.executableBytes', 'Heap bytes of executable code.'),
    g('v8js.heap.native_contexts', '{context}', 'heap.nativeContexts', 'Native contexts alive (vm contexts, realms). A steady rise is a leak.'),
    g('v8js.heap.detached_contexts', '{context}', 'heap.detachedContexts', 'Contexts detached but not yet collected. Non-zero for long is a leak.'),
    g('v8js.heap.global_handles.total', 'By', 'heap.globalHandlesBytes', 'Memory of V8 global handles.'),
    g('v8js.heap.global_handles.used', 'By', 'heap.usedGlobalHandlesBytes', 'Used memory of V8 global handles.'),
    g('v8js.heap.update_time', 'ns', 'heap.updatedNs', 'When the heap values were last taken (monotonic clock).'),
    { ...g('v8js.memory.heap.space.size', 'By', 'heap.spaces.*.sizeBytes', 'Size of a heap space: memory V8 has reserved for it.'), attributes: [SPACE_ATTR] },
    { ...g('v8js.memory.heap.used', 'By', 'heap.spaces.*.usedBytes', 'Used bytes of a heap space.'), attributes: [SPACE_ATTR] },
    { ...g('v8js.memory.heap.space.available_size', 'By', 'heap.spaces.*.availableBytes', 'Available bytes of a heap space.'), attributes: [SPACE_ATTR] },
    { ...g('v8js.memory.heap.space.physical_size', 'By', 'heap.spaces.*.physicalBytes', 'Physical bytes of a heap space.'), attributes: [SPACE_ATTR] },
    g('v8js.heap.fragmentation', '1', 'heap.fragmentation.total', 'External fragmentation of the heap after the last GC: share of committed memory not holding objects, in steps of 0.01 (NaN until V8 reports it).'),
    { ...g('v8js.heap.space.fragmentation', '1', 'heap.fragmentation.spaces.*', 'External fragmentation of a heap space after the last GC, in steps of 0.01 (NaN until V8 reports it).'), attributes: [{ name: 'v8js.heap.space.name', values: fragmentationSpaces(spaceNames) }] },
    // Event loop
    c('nodejs.eventloop.iterations', '{iteration}', 'loop.iterations', 'Event-loop iterations completed.'),
    c('nodejs.eventloop.events', '{event}', 'loop.events', 'Events returned by the loop\'s poll (libuv ≥ 1.45).'),
    c('nodejs.eventloop.events.pending_at_poll', '{event}', 'loop.eventsPendingAtPoll', 'Events that were already pending when the loop polled — they arrived while it was busy — counted over all polls (libuv ≥ 1.45 events_waiting, cumulative: no queue length). Its rate over the events rate is the share of events that waited for a busy loop.'),
    { ...c('nodejs.eventloop.time', 'ns', 'loop.idleNs', 'Time the loop spent idle, waiting for events.'), attributes: [{ name: 'nodejs.eventloop.state', values: ['idle'] }] },
    { ...c('nodejs.eventloop.time', 'ns', 'loop.busyNs', 'Time the loop spent running callbacks.'), attributes: [{ name: 'nodejs.eventloop.state', values: ['active'] }] },
    g('nodejs.eventloop.utilization', '1', 'loop.utilization', 'busy / (busy + idle) since start(); over an interval use delta().'),
    g('nodejs.eventloop.iteration.max', 'ns', 'loop.maxIterationNs', 'Busy time of the busiest iteration since start().'),
    g('nodejs.eventloop.iteration.last', 'ns', 'loop.lastIterationNs', 'Busy time of the last completed iteration.'),
    { name: 'nodejs.eventloop.delay', unit: 'ns', kind: 'histogram', cumulative: true, path: 'histograms.loopDelay', description: 'Loop delay, as monitorEventLoopDelay records it: the full period of a repeating timer.' },
    { name: 'nodejs.eventloop.iteration.duration', unit: 'ns', kind: 'histogram', cumulative: true, path: 'histograms.loopIteration', description: 'Busy time of each loop iteration.' },
    // Stalls (the watchdog option)
    c('nodejs.eventloop.stall.count', '{stall}', 'stall.count', 'Stalls that have ended: iterations busy for at least the watchdog threshold.'),
    c('nodejs.eventloop.stall.time', 'ns', 'stall.totalNs', 'Busy time of the stalls that have ended.'),
    g('nodejs.eventloop.stall.max', 'ns', 'stall.maxNs', 'The longest stall that has ended.'),
    g('nodejs.eventloop.stall.active', '{stall}', 'stall.active', '1 while a stall is in progress (seen by the watchdog thread), else 0.'),
    g('nodejs.eventloop.stall.start_time', 'ns', 'stall.sinceNs', 'When the stall in progress began (monotonic clock), else 0.'),
    g('nodejs.eventloop.stall.duration', 'ns', 'stall.durationNs', 'How long the stall in progress has lasted so far, else 0.'),
    // libuv's threadpool (the threadpoolProbeMs probe)
    { name: 'nodejs.threadpool.delay', unit: 'ns', kind: 'histogram', cumulative: true, path: 'histograms.threadpoolDelay', description: 'Delay of each threadpool probe: from queuing an empty work item on libuv\'s threadpool (fs, dns.lookup, crypto, zlib) to a pool thread starting it.' },
    c('nodejs.threadpool.probes', '{probe}', 'threadpool.probes', 'Threadpool probes that ran.'),
    g('nodejs.threadpool.delay.max', 'ns', 'threadpool.maxDelayNs', 'The longest threadpool probe delay since start().'),
    g('nodejs.threadpool.in_flight', '{probe}', 'threadpool.inFlight', '1 while a threadpool probe is queued or running, else 0 (never more: no second probe is queued while one waits).'),
    g('nodejs.threadpool.in_flight.start_time', 'ns', 'threadpool.inFlightSinceNs', 'When the threadpool probe in flight was queued (monotonic clock), else 0.'),
    g('nodejs.threadpool.in_flight.duration', 'ns', 'threadpool.waitingNs', 'How long the threadpool probe in flight has waited so far, else 0: a stuck pool shows here while no probe completes.'),
    g('nodejs.threadpool.size', '{thread}', 'threadpool.size', 'Threads in libuv\'s threadpool, as libuv derives them from UV_THREADPOOL_SIZE (default 4).'),
    // Process
    g('process.memory.usage', 'By', 'process.rssBytes', 'Resident set size.'),
    { ...c('process.cpu.time', 'us', 'process.cpuUserUs', 'CPU time in user mode.'), attributes: [{ name: 'cpu.mode', values: ['user'] }] },
    { ...c('process.cpu.time', 'us', 'process.cpuSystemUs', 'CPU time in kernel mode.'), attributes: [{ name: 'cpu.mode', values: ['system'] }] },
    g('process.open_file_descriptor.count', '{file_descriptor}', 'process.openFds', 'Open file descriptors (-1 where not counted).'),
    g('nodejs.active_handles', '{handle}', 'process.activeHandles', 'libuv handles active and referenced: what keeps the loop alive.'),
    g('nodejs.active_requests', '{request}', 'process.activeRequests', 'libuv requests in flight.'),
    // The process's cgroup (container limits and pressure): NaN (no point) where the kernel
    // does not say, +Infinity for no limit. Named nodejs.container.* so that Prometheus names
    // never collide with cAdvisor's container_*.
    g('nodejs.container.cgroup.version', '{version}', 'container.cgroupVersion', 'The cgroup version the container values come from: 2, 1 (v1 controllers), or 0 when no cgroup was found.'),
    g('nodejs.container.memory.limit', 'By', 'container.memoryLimitBytes', 'The cgroup\'s hard memory limit (v2 memory.max, v1 memory.limit_in_bytes); +Inf: no limit.'),
    g('nodejs.container.memory.high', 'By', 'container.memoryHighBytes', 'The cgroup\'s memory throttling threshold (v2 memory.high; +Inf: none; not on v1).'),
    g('nodejs.container.memory.usage', 'By', 'container.memoryUsageBytes', 'Memory the cgroup uses, page cache included (v2 memory.current, v1 memory.usage_in_bytes).'),
    g('nodejs.container.memory.working_set', 'By', 'container.memoryWorkingSetBytes', 'The cgroup\'s usage less its inactive file pages (memory.stat inactive_file; v1 total_inactive_file): the working set, as cAdvisor and the kubelet count it.'),
    c('nodejs.container.memory.high_events', '{event}', 'container.memoryHighEvents', 'Times the cgroup went over memory.high and was throttled (v2 memory.events high), since the cgroup was created.'),
    c('nodejs.container.memory.max_events', '{event}', 'container.memoryMaxEvents', 'Times the cgroup\'s usage reached its hard limit (v2 memory.events max, v1 memory.failcnt), since the cgroup was created.'),
    c('nodejs.container.memory.oom', '{event}', 'container.oomEvents', 'Times the cgroup ran out of memory and the OOM killer was invoked (v2 memory.events oom), since the cgroup was created.'),
    c('nodejs.container.memory.oom_kill', '{event}', 'container.oomKillEvents', 'Processes of the cgroup killed by the OOM killer (v2 memory.events oom_kill, v1 memory.oom_control oom_kill), since the cgroup was created.'),
    g('nodejs.container.cpu.quota', '{cpu}', 'container.cpuQuotaCores', 'CPUs the cgroup\'s CFS quota allows, quota / period (v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us); +Inf: no quota.'),
    c('nodejs.container.cpu.periods', '{period}', 'container.cpuPeriods', 'CFS enforcement periods that elapsed with runnable tasks (cpu.stat nr_periods), since the cgroup was created.'),
    c('nodejs.container.cpu.throttled_periods', '{period}', 'container.cpuThrottledPeriods', 'Periods in which the cgroup used its quota and was throttled (cpu.stat nr_throttled), since the cgroup was created.'),
    c('nodejs.container.cpu.throttled_time', 'ns', 'container.cpuThrottledNs', 'Time the cgroup\'s tasks were throttled (v2 cpu.stat throttled_usec, v1 throttled_time), since the cgroup was created.'),
    { ...c('nodejs.container.memory.pressure', 'ns', 'container.memoryPressureSomeNs', 'kind=some: time in which some of the cgroup\'s tasks stalled waiting for memory (PSI memory.pressure, total of the some line).'), attributes: [{ name: 'kind', values: ['some'] }] },
    { ...c('nodejs.container.memory.pressure', 'ns', 'container.memoryPressureFullNs', 'kind=full: time in which all of the cgroup\'s non-idle tasks stalled on memory at once (PSI memory.pressure, total of the full line).'), attributes: [{ name: 'kind', values: ['full'] }] },
    { ...c('nodejs.container.cpu.pressure', 'ns', 'container.cpuPressureSomeNs', 'kind=some: time in which some of the cgroup\'s runnable tasks waited for a CPU (PSI cpu.pressure, total of the some line).'), attributes: [{ name: 'kind', values: ['some'] }] },
    { ...c('nodejs.container.cpu.pressure', 'ns', 'container.cpuPressureFullNs', 'kind=full: time in which all of the cgroup\'s non-idle tasks waited for a CPU at once (PSI cpu.pressure, total of the full line).'), attributes: [{ name: 'kind', values: ['full'] }] },
    // The sampler itself
    { ...c('runtime_sampler.alerts.sent', '{notification}', 'alerts.*.sent', 'Alert notifications (alerts and resolutions) delivered, by channel; counted in the thread that delivers them.'), attributes: [CHANNEL_ATTR] },
    { ...c('runtime_sampler.alerts.failed', '{notification}', 'alerts.*.failed', 'Alert notifications given up on (refused with a 4xx, or every attempt failed), by channel.'), attributes: [CHANNEL_ATTR] },
    { ...c('runtime_sampler.alerts.dropped', '{notification}', 'alerts.*.dropped', 'Alert notifications discarded unsent (queue full, or the shutdown time ran out), by channel.'), attributes: [CHANNEL_ATTR] },
    { ...c('runtime_sampler.alerts.retries', '{attempt}', 'alerts.*.retries', 'Alert delivery attempts repeated after a timeout, a connection error, a 5xx, 408 or 429, by channel.'), attributes: [CHANNEL_ATTR] },
    c('runtime_sampler.ring.dropped', '{event}', 'sampler.ringDropped', 'GC and stall events lost to a full ring (listeners miss them; counters and histograms do not).'),
    g('runtime_sampler.thread.id', '{thread}', 'threadId', 'The worker threadId of the thread the sampler records (0: the main thread).'),
    c('runtime_sampler.v8.samples', '{sample}', 'sampler.v8HistogramSamples', 'Samples of V8\'s GC histograms recorded (v8Histograms).'),
    c('runtime_sampler.refreshes', '{refresh}', 'sampler.refreshes', 'Refreshes of heap and process values.'),
    g('runtime_sampler.refresh.last_time', 'ns', 'sampler.lastRefreshNs', 'When the last refresh ran (monotonic clock).'),
    g('runtime_sampler.refresh.duration', 'ns', 'sampler.refreshCostNs', 'How long the last refresh took.'),
    c('runtime_sampler.drains', '{drain}', 'sampler.drains', 'Drains of the GC event ring.'),
    c('runtime_sampler.gc_events', '{event}', 'sampler.gcEvents', 'GC events drained from the ring to the onGC listeners.'),
    g('runtime_sampler.time', 'ns', 'timeNs', 'Monotonic time the snapshot\'s loop counters are accounted up to.'),
    g('runtime_sampler.start_time', 'ns', 'startNs', 'When the sampler was first started (monotonic clock).'),
  ];
}

/** Sorted by name, then path. */
export function catalog(spaceNames: readonly string[]): MetricDescription[] {
  return entries(spaceNames)
    .map((e) => ({ ...e, attributes: e.attributes ?? [], native: nativeOnly(e.path), detail: detailOf(e.path) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
