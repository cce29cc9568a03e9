// The Snapshot: one typed array of plain numbers, copied out of the shared block in one
// go, and light view objects whose getters name its slots. Filling ~100 fields of nested
// plain objects costs several times the copy itself, so the views are built once per
// Snapshot and read() only refills the array: read(into) allocates nothing.
import { inspect } from 'node:util';
import { LAYOUT_CONSTANTS as C, MainSlot as M, SpaceSlot as S, StallSlot as W } from './layout.generated';
import { native } from './binding';

/** GC types, in the order of V8's GCType bits (1, 2, 4, 8, 16). */
export const GC_TYPES = [
  'scavenge',
  'minorMarkSweep',
  'markSweepCompact',
  'incrementalMarking',
  'processWeakCallbacks',
] as const;
export type GcTypeName = (typeof GC_TYPES)[number];

const GC_TYPE_SLOTS: Record<GcTypeName, number> = {
  scavenge: M.GC_SCAVENGE_COUNT,
  minorMarkSweep: M.GC_MINOR_MS_COUNT,
  markSweepCompact: M.GC_MSC_COUNT,
  incrementalMarking: M.GC_INCREMENTAL_COUNT,
  processWeakCallbacks: M.GC_WEAK_COUNT,
};

export const MAIN_REGION_SLOTS: number = native.constants.mainRegionSlots;

function plain(view: object, keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (view as Record<string, number>)[k];
  return out;
}

export class GcTypeStats {
  /** @internal */ constructor(private readonly f: Float64Array, private readonly base: number) {}
  /** Collections of this type since start(). */
  get count(): number { return this.f[this.base]; }
  /** Total pause of this type, ns (nested GCs' time excluded). */
  get pauseNs(): number { return this.f[this.base + 1]; }
  /** Longest single pause of this type, ns. */
  get maxPauseNs(): number { return this.f[this.base + 2]; }
  toJSON(): Record<string, number> { return plain(this, ['count', 'pauseNs', 'maxPauseNs']); }
}

const GC_KEYS = [
  'count', 'pauseNs', 'maxPauseNs', 'forcedCount', 'reclaimedBytes', 'allocatedBytes',
  'lastEndNs', 'nestedCount',
] as const;

export class GcStats {
  readonly byType: Readonly<Record<GcTypeName, GcTypeStats>>;
  /** @internal */ constructor(private readonly f: Float64Array) {
    const byType = {} as Record<GcTypeName, GcTypeStats>;
    for (const t of GC_TYPES) byType[t] = new GcTypeStats(f, GC_TYPE_SLOTS[t]);
    this.byType = Object.freeze(byType);
  }
  /** All collections since start(). */
  get count(): number { return this.f[M.GC_COUNT]; }
  /** Total GC pause, ns: the wall time the JS thread spent stopped in GC. */
  get pauseNs(): number { return this.f[M.GC_PAUSE_NS]; }
  get maxPauseNs(): number { return this.f[M.GC_MAX_PAUSE_NS]; }
  /** Collections forced by the embedder or by gc() (--expose-gc). */
  get forcedCount(): number { return this.f[M.GC_FORCED_COUNT]; }
  /** Heap bytes freed by collections. */
  get reclaimedBytes(): number { return this.f[M.GC_RECLAIMED_BYTES]; }
  /** Heap bytes allocated: heap growth between observations (GCs and refreshes). */
  get allocatedBytes(): number { return this.f[M.GC_ALLOCATED_BYTES]; }
  /** When the last collection ended (monotonic ns), 0 if none yet. */
  get lastEndNs(): number { return this.f[M.GC_LAST_END_NS]; }
  /** Collections that began inside another collection's callbacks. */
  get nestedCount(): number { return this.f[M.GC_NESTED_COUNT]; }
  toJSON(): object {
    const byType: Record<string, object> = {};
    for (const t of GC_TYPES) byType[t] = this.byType[t].toJSON();
    return { ...plain(this, GC_KEYS), byType };
  }
}

export class HeapSpaceStats {
  /** @internal */ constructor(private readonly f: Float64Array, private readonly base: number) {}
  get sizeBytes(): number { return this.f[this.base + S.SIZE_BYTES]; }
  get usedBytes(): number { return this.f[this.base + S.USED_BYTES]; }
  get availableBytes(): number { return this.f[this.base + S.AVAILABLE_BYTES]; }
  get physicalBytes(): number { return this.f[this.base + S.PHYSICAL_BYTES]; }
  toJSON(): Record<string, number> {
    return plain(this, ['sizeBytes', 'usedBytes', 'availableBytes', 'physicalBytes']);
  }
}

const HEAP_KEYS = [
  'usedBytes', 'totalBytes', 'limitBytes', 'physicalBytes', 'availableBytes', 'externalBytes',
  'mallocedBytes', 'peakMallocedBytes', 'executableBytes', 'nativeContexts', 'detachedContexts',
  'globalHandlesBytes', 'usedGlobalHandlesBytes', 'updatedNs',
] as const;

export class HeapStats {
  /** Per V8 heap space, keyed by V8's own space name (new_space, old_space, …). */
  readonly spaces: Readonly<Record<string, HeapSpaceStats>>;
  /** @internal */ constructor(private readonly f: Float64Array, spaceNames: readonly string[]) {
    const spaces: Record<string, HeapSpaceStats> = {};
    spaceNames.forEach((name, i) => {
      spaces[name] = new HeapSpaceStats(f, M.SPACES_BASE + i * 4);
    });
    this.spaces = Object.freeze(spaces);
  }
  get usedBytes(): number { return this.f[M.HEAP_USED_BYTES]; }
  get totalBytes(): number { return this.f[M.HEAP_TOTAL_BYTES]; }
  get limitBytes(): number { return this.f[M.HEAP_LIMIT_BYTES]; }
  get physicalBytes(): number { return this.f[M.HEAP_PHYSICAL_BYTES]; }
  get availableBytes(): number { return this.f[M.HEAP_AVAILABLE_BYTES]; }
  get externalBytes(): number { return this.f[M.HEAP_EXTERNAL_BYTES]; }
  get mallocedBytes(): number { return this.f[M.HEAP_MALLOCED_BYTES]; }
  get peakMallocedBytes(): number { return this.f[M.HEAP_PEAK_MALLOCED_BYTES]; }
  get executableBytes(): number { return this.f[M.HEAP_EXECUTABLE_BYTES]; }
  get nativeContexts(): number { return this.f[M.HEAP_NATIVE_CONTEXTS]; }
  get detachedContexts(): number { return this.f[M.HEAP_DETACHED_CONTEXTS]; }
  get globalHandlesBytes(): number { return this.f[M.HEAP_GLOBAL_HANDLES_BYTES]; }
  get usedGlobalHandlesBytes(): number { return this.f[M.HEAP_USED_GLOBAL_HANDLES_BYTES]; }
  /** When these heap values were taken (monotonic ns): the last GC or refresh. */
  get updatedNs(): number { return this.f[M.HEAP_UPDATED_NS]; }
  toJSON(): object {
    const spaces: Record<string, object> = {};
    for (const [name, s] of Object.entries(this.spaces)) spaces[name] = s.toJSON();
    return { ...plain(this, HEAP_KEYS), spaces };
  }
}

const LOOP_KEYS = [
  'iterations', 'events', 'eventsWaiting', 'idleNs', 'busyNs', 'utilization', 'maxIterationNs',
  'lastIterationNs',
] as const;

export class LoopStats {
  /** @internal */ constructor(private readonly f: Float64Array) {}
  /** Loop iterations completed since start(). */
  get iterations(): number { return this.f[M.LOOP_ITERATIONS]; }
  /** Events the loop's poll returned since start() (libuv ≥ 1.45; 0 before). */
  get events(): number { return this.f[M.LOOP_EVENTS]; }
  /** Events waiting in the last poll (libuv ≥ 1.45; 0 before). */
  get eventsWaiting(): number { return this.f[M.LOOP_EVENTS_WAITING]; }
  /** Time the loop spent blocked waiting for events since start(), ns. */
  get idleNs(): number { return this.f[M.LOOP_IDLE_NS]; }
  /** Time the loop spent running since start(), ns. */
  get busyNs(): number { return this.f[M.LOOP_BUSY_NS]; }
  /** busy / (busy + idle) since start(): performance.eventLoopUtilization()'s number. */
  get utilization(): number {
    const busy = this.f[M.LOOP_BUSY_NS];
    const total = busy + this.f[M.LOOP_IDLE_NS];
    return total > 0 ? busy / total : 0;
  }
  /** The busiest single iteration's busy time, ns. */
  get maxIterationNs(): number { return this.f[M.LOOP_MAX_ITERATION_NS]; }
  /** The last completed iteration's busy time, ns. */
  get lastIterationNs(): number { return this.f[M.LOOP_LAST_ITERATION_NS]; }
  toJSON(): Record<string, number> { return plain(this, LOOP_KEYS); }
}

const PROCESS_KEYS = [
  'rssBytes', 'cpuUserUs', 'cpuSystemUs', 'openFds', 'activeHandles', 'activeRequests',
] as const;

export class ProcessStats {
  /** @internal */ constructor(private readonly f: Float64Array) {}
  get rssBytes(): number { return this.f[M.PROC_RSS_BYTES]; }
  /** CPU time in user mode since the process started, µs. */
  get cpuUserUs(): number { return this.f[M.PROC_CPU_USER_US]; }
  /** CPU time in kernel mode since the process started, µs. */
  get cpuSystemUs(): number { return this.f[M.PROC_CPU_SYSTEM_US]; }
  /** Open file descriptors (-1 where the platform cannot count them cheaply). */
  get openFds(): number { return this.f[M.PROC_OPEN_FDS]; }
  /** libuv handles that are active and referenced (what keeps the loop alive). */
  get activeHandles(): number { return this.f[M.PROC_ACTIVE_HANDLES]; }
  /** libuv requests in flight. */
  get activeRequests(): number { return this.f[M.PROC_ACTIVE_REQUESTS]; }
  toJSON(): Record<string, number> { return plain(this, PROCESS_KEYS); }
}

const SAMPLER_KEYS = [
  'ringDropped', 'refreshes', 'lastRefreshNs', 'refreshCostNs', 'drains', 'gcEvents',
] as const;

export class SamplerStats {
  /** @internal */ constructor(private readonly f: Float64Array) {}
  /** GC events lost because the ring was full (histograms miss them; counters do not). */
  get ringDropped(): number { return this.f[M.SAMPLER_RING_DROPPED]; }
  get refreshes(): number { return this.f[M.SAMPLER_REFRESHES]; }
  get lastRefreshNs(): number { return this.f[M.SAMPLER_LAST_REFRESH_NS]; }
  /** How long the last refresh took, ns. */
  get refreshCostNs(): number { return this.f[M.SAMPLER_REFRESH_COST_NS]; }
  /** Times the owning thread drained the event ring. */
  get drains(): number { return this.f[M.SAMPLER_DRAINS]; }
  /** GC events drained from the ring (delivered to onGC listeners). */
  get gcEvents(): number { return this.f[M.SAMPLER_GC_EVENTS]; }
  toJSON(): Record<string, number> { return plain(this, SAMPLER_KEYS); }
}

const STALL_KEYS = ['count', 'totalNs', 'maxNs', 'active', 'sinceNs', 'durationNs'] as const;

/**
 * Event-loop stalls, seen by the watchdog (new Sampler({ watchdog })): iterations busy
 * for at least its threshold. count/totalNs/maxNs count stalls as they end; active,
 * sinceNs and durationNs describe one still in progress — visible from other threads
 * (views, the monitor thread) while the loop is stuck.
 */
export class StallStats {
  /** @internal */ constructor(private readonly f: Float64Array, private readonly w: Float64Array) {}
  /** Whether a watchdog is watching this loop. */
  get enabled(): boolean { return this.f[M.WATCHDOG_ENABLED] === 1; }
  /** Stalls that have ended. */
  get count(): number { return this.f[M.STALL_COUNT]; }
  /** Busy time of the stalls that have ended, ns. */
  get totalNs(): number { return this.f[M.STALL_TOTAL_NS]; }
  /** The longest stall that has ended, ns. */
  get maxNs(): number { return this.f[M.STALL_MAX_NS]; }
  /**
   * 1 while a stall is in progress (the watchdog saw no progress for its threshold and the
   * loop has not completed that iteration yet), else 0.
   */
  get active(): number {
    const since = this.w[W.ACTIVE_SINCE_NS];
    return since > 0 && this.f[M.LOOP_ITERATIONS] <= this.w[W.ITERATION] && this.f[M.WRITER_CLOSED] !== 1 ? 1 : 0;
  }
  /** When the stall in progress began (monotonic ns, within one watchdog interval), else 0. */
  get sinceNs(): number { return this.active === 1 ? this.w[W.ACTIVE_SINCE_NS] : 0; }
  /** How long the stall in progress has lasted, as of this call (ns), else 0. */
  get durationNs(): number {
    const since = this.sinceNs;
    return since > 0 ? Math.max(0, Number(process.hrtime.bigint()) - since) : 0;
  }
  toJSON(): Record<string, number> { return plain(this, STALL_KEYS); }
}

/**
 * A consistent copy of a sampler's counters and gauges. Every field is a plain number;
 * counters are cumulative since start() and never reset.
 */
export class Snapshot {
  /** @internal The raw slots: the native main region, then the TypeScript ones. */
  readonly slots: Float64Array;
  readonly gc: GcStats;
  readonly heap: HeapStats;
  readonly loop: LoopStats;
  readonly process: ProcessStats;
  readonly sampler: SamplerStats;
  readonly stall: StallStats;
  /** @internal The watchdog's region (its own sequence word). */
  readonly stallSlots: Float64Array;
  /** @internal */ readonly spaceNames: readonly string[];

  /** @internal Use sampler.read(). */
  constructor(spaceNames: readonly string[]) {
    const f = new Float64Array(MAIN_REGION_SLOTS);
    this.slots = f;
    this.stallSlots = new Float64Array(C.STALL_REGION_SLOTS);
    this.spaceNames = spaceNames;
    this.gc = new GcStats(f);
    this.heap = new HeapStats(f, spaceNames);
    this.loop = new LoopStats(f);
    this.process = new ProcessStats(f);
    this.sampler = new SamplerStats(f);
    this.stall = new StallStats(f, this.stallSlots);
  }

  /**
   * Monotonic time (process.hrtime clock, ns) the loop counters are accounted up to: the
   * end of the last loop iteration, the last refresh, or start()/stop().
   */
  get timeNs(): number { return this.slots[M.TIME_NS]; }
  /** When the sampler was first started (monotonic ns). */
  get startNs(): number { return this.slots[M.START_NS]; }
  /** Whether the sampler was running when this snapshot was taken. */
  get running(): boolean { return this.slots[M.STARTED] === 1; }
  /** The worker threadId of the thread this sampler records (0: the main thread). */
  get threadId(): number { return this.slots[M.THREAD_ID]; }
  /** Whether the sampler's writer is gone (closed, or its thread exited): the values are final. */
  get writerClosed(): boolean { return this.slots[M.WRITER_CLOSED] === 1; }

  toJSON(): object {
    return {
      timeNs: this.timeNs,
      startNs: this.startNs,
      running: this.running,
      threadId: this.threadId,
      writerClosed: this.writerClosed,
      gc: this.gc.toJSON(),
      heap: this.heap.toJSON(),
      loop: this.loop.toJSON(),
      process: this.process.toJSON(),
      sampler: this.sampler.toJSON(),
      stall: this.stall.toJSON(),
    };
  }

  [inspect.custom](): object {
    return this.toJSON();
  }
}
