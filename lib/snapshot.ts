// The Snapshot: one typed array of plain numbers, copied out of the shared block in one
// go, and light view objects whose getters name its slots. Filling ~100 fields of nested
// plain objects costs several times the copy itself, so the views are built once per
// Snapshot and read() only refills the array: read(into) allocates nothing.
import { inspect } from 'node:util';
import { LAYOUT_CONSTANTS as C, MainSlot as M, SpaceSlot as S, StallSlot as W } from './layout.generated';
import { native } from './binding';
import { CHANNEL_NAMES, deliveryCounters, ChannelName } from './alerts/stats';

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

/** Where the GC reason counters start: after the runtime's heap spaces. */
export function gcReasonsBase(spaceCount: number): number {
  return M.SPACES_BASE + spaceCount * C.SPACE_SLOTS;
}

/** A V8 enum name (kAllocationFailure) as a key (allocationFailure) and as a label value (allocation_failure). */
function reasonKey(name: string): string {
  const bare = name.replace(/^k(?=[A-Z])/, '');
  return bare[0].toLowerCase() + bare.slice(1);
}
export function reasonLabel(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}
/**
 * V8's GarbageCollectionReason names (as keys) by code, for the V8 this runs on, then
 * `other` for any code past them (the last counter also takes codes beyond its row).
 */
export const GC_REASONS: readonly string[] = Object.freeze([
  ...native.gcReasonNames.slice(0, C.GC_REASON_CODES - 1).map(reasonKey),
  'other',
]);

/**
 * Defines `keys` on `o` as enumerable accessors that read its slots live. The accessor
 * functions are shared by every object with the same `getters` (this.f / this.base, set
 * here as non-enumerable values), so V8 gives them all one shape: creating one costs
 * little, where per-object closures would cost tens of µs a Snapshot.
 */
function defineSlotGetters(o: object, f: Float64Array, base: number, keys: readonly string[], getters: ReadonlyArray<() => number>): void {
  Object.defineProperty(o, 'f', { value: f });
  Object.defineProperty(o, 'base', { value: base });
  for (let i = 0; i < keys.length; i++) Object.defineProperty(o, keys[i], { get: getters[i], enumerable: true });
}
interface SlotHolder { f: Float64Array; base: number }
/** Accessors reading slot base + offset. */
function slotGetters(offsets: readonly number[]): Array<() => number> {
  return offsets.map((off) => function (this: SlotHolder): number { return this.f[this.base + off]; });
}

const REASON_GETTERS: ReadonlyArray<() => number> = [
  ...slotGetters(GC_REASONS.slice(0, -1).map((_, code) => code)),
  // `other`: its own code and every one past the names.
  function (this: SlotHolder): number {
    let n = 0;
    for (let c = GC_REASONS.length - 1; c < C.GC_REASON_CODES; c++) n += this.f[this.base + c];
    return n;
  },
];

/**
 * Collections V8 started, by GarbageCollectionReason (v8Histograms): one counter per
 * reason, keyed by V8's name for it (allocationFailure, memoryPressure, …).
 */
export class GcReasonCounts {
  // Not own enumerable properties: the reasons are this object's keys.
  private declare readonly f: Float64Array;
  private declare readonly base: number;
  /** @internal */ constructor(f: Float64Array, base: number) {
    defineSlotGetters(this, f, base, GC_REASONS, REASON_GETTERS);
  }
  /** The count of one reason code (V8's GarbageCollectionReason value). */
  byCode(code: number): number {
    if (!Number.isInteger(code) || code < 0) throw new RangeError(`byCode(code): code must be an integer >= 0, got ${code}`);
    return code < C.GC_REASON_CODES - 1 ? this.f[this.base + code] : (this as unknown as Record<string, number>).other;
  }
  /** All of them. */
  get total(): number {
    let n = 0;
    for (let c = 0; c < C.GC_REASON_CODES; c++) n += this.f[this.base + c];
    return n;
  }
  toJSON(): Record<string, number> { return plain(this, GC_REASONS); }
}

export class GcReasons {
  /** Mark-compacts (full GCs) by reason: V8.GCMarkCompactReason. */
  readonly markCompact: GcReasonCounts;
  /** Incremental marking cycles started, by reason: V8.GCIncrementalMarkingReason. */
  readonly incrementalMarking: GcReasonCounts;
  /** @internal */ constructor(f: Float64Array, base: number) {
    this.markCompact = new GcReasonCounts(f, base);
    this.incrementalMarking = new GcReasonCounts(f, base + C.GC_REASON_CODES);
  }
  toJSON(): object { return { markCompact: this.markCompact.toJSON(), incrementalMarking: this.incrementalMarking.toJSON() }; }
}

const MC_PHASES = ['mark', 'sweep', 'evacuate', 'clear', 'prologue', 'epilogue', 'finish'] as const;
const MC_PHASE_SLOTS = [
  M.GC_MC_MARK_NS, M.GC_MC_SWEEP_NS, M.GC_MC_EVACUATE_NS, M.GC_MC_CLEAR_NS, M.GC_MC_PROLOGUE_NS,
  M.GC_MC_EPILOGUE_NS, M.GC_MC_FINISH_NS,
];
const SCAVENGE_PHASES = ['main', 'roots'] as const;
const SCAVENGE_PHASE_SLOTS = [M.GC_SCAVENGE_MAIN_NS, M.GC_SCAVENGE_ROOTS_NS];

const MC_PHASE_GETTERS = slotGetters(MC_PHASE_SLOTS);
const SCAVENGE_PHASE_GETTERS = slotGetters(SCAVENGE_PHASE_SLOTS);

/**
 * Mark-compacts as V8 times them (v8Histograms; whole milliseconds per collection,
 * truncated), and the phases of those that finished incremental marking: V8 times no
 * phases of the others.
 */
export class MarkCompactTimes {
  /** Time per phase, ns: mark, sweep, evacuate, clear, prologue, epilogue, finish. */
  readonly phaseNs: Readonly<Record<(typeof MC_PHASES)[number], number>>;
  /** @internal */ constructor(private readonly f: Float64Array) {
    const o = {};
    defineSlotGetters(o, f, 0, MC_PHASES, MC_PHASE_GETTERS);
    this.phaseNs = o as MarkCompactTimes['phaseNs'];
  }
  /** Mark-compacts V8 timed: every one (compare gc.byType.markSweepCompact.count). */
  get count(): number { return this.f[M.GC_MC_COUNT]; }
  /** Their time as V8 measures it, ns. */
  get totalNs(): number { return this.f[M.GC_MC_NS]; }
  /** Mark-compacts timed by phase. */
  get phasedCount(): number { return this.f[M.GC_MC_PHASE_COUNT]; }
  toJSON(): object {
    return { count: this.count, totalNs: this.totalNs, phasedCount: this.phasedCount, phaseNs: plain(this.phaseNs, MC_PHASES) };
  }
}

/** Phases of scavenges as V8 times them (v8Histograms; whole ms per collection, truncated). */
export class ScavengePhases {
  /** Time per phase, ns: main (the parallel scavenge), roots (scanning roots). */
  readonly phaseNs: Readonly<Record<(typeof SCAVENGE_PHASES)[number], number>>;
  /** @internal */ constructor(private readonly f: Float64Array) {
    const o = {};
    defineSlotGetters(o, f, 0, SCAVENGE_PHASES, SCAVENGE_PHASE_GETTERS);
    this.phaseNs = o as ScavengePhases['phaseNs'];
  }
  /** Scavenges timed by phase. */
  get count(): number { return this.f[M.GC_SCAVENGE_PHASE_COUNT]; }
  toJSON(): object { return { count: this.count, phaseNs: plain(this.phaseNs, SCAVENGE_PHASES) }; }
}

/** How long GCs waited for the heap's threads to reach a safepoint (v8Histograms; µs resolution). */
export class SafepointStats {
  /** @internal */ constructor(private readonly f: Float64Array) {}
  get count(): number { return this.f[M.GC_SAFEPOINT_COUNT]; }
  get totalNs(): number { return this.f[M.GC_SAFEPOINT_NS]; }
  get maxNs(): number { return this.f[M.GC_SAFEPOINT_MAX_NS]; }
  toJSON(): Record<string, number> { return plain(this, ['count', 'totalNs', 'maxNs']); }
}

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
  'lastEndNs', 'nestedCount', 'incrementalMarkingSteps', 'incrementalMarkingCycles',
  'incrementalMarkingNs', 'mainThreadNs',
] as const;

export class GcStats {
  readonly byType: Readonly<Record<GcTypeName, GcTypeStats>>;
  // The V8-histogram views are made on first access and kept (a Snapshot refilled by
  // read(into) keeps them): a Snapshot nobody asks them of costs nothing for them.
  private mc?: MarkCompactTimes;
  private sp?: ScavengePhases;
  private tts?: SafepointStats;
  private rs?: GcReasons;
  /** @internal */ constructor(private readonly f: Float64Array, private readonly spaceCount: number) {
    const byType = {} as Record<GcTypeName, GcTypeStats>;
    for (const t of GC_TYPES) byType[t] = new GcTypeStats(f, GC_TYPE_SLOTS[t]);
    this.byType = Object.freeze(byType);
  }
  /** Mark-compacts and their phases as V8 times them (v8Histograms). */
  get markCompact(): MarkCompactTimes { return (this.mc ??= new MarkCompactTimes(this.f)); }
  /** Scavenge phases as V8 times them (v8Histograms). */
  get scavengePhases(): ScavengePhases { return (this.sp ??= new ScavengePhases(this.f)); }
  /** Time to safepoint (v8Histograms). */
  get timeToSafepoint(): SafepointStats { return (this.tts ??= new SafepointStats(this.f)); }
  /** Why V8 collected (v8Histograms). */
  get reasons(): GcReasons { return (this.rs ??= new GcReasons(this.f, gcReasonsBase(this.spaceCount))); }
  /**
   * Incremental marking steps: the slices of marking V8 runs on the JS thread between
   * pauses, which no GC callback sees (v8Histograms).
   */
  get incrementalMarkingSteps(): number { return this.f[M.GC_IM_STEPS]; }
  /** Incremental marking cycles V8 reported the step time of. */
  get incrementalMarkingCycles(): number { return this.f[M.GC_IM_CYCLES]; }
  /**
   * Time of the incremental marking steps, ns, as V8 totals it per cycle in whole
   * milliseconds (truncated: under 1 ms lost per cycle); it arrives when the cycle's
   * mark-compact ends (v8Histograms).
   */
  get incrementalMarkingNs(): number { return this.f[M.GC_IM_NS]; }
  /**
   * GC time on the JS thread, ns: every pause (pauseNs) plus the incremental marking steps
   * between them (incrementalMarkingNs; 0 without v8Histograms).
   */
  get mainThreadNs(): number { return this.f[M.GC_PAUSE_NS] + this.f[M.GC_IM_NS]; }
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
    return {
      ...plain(this, GC_KEYS), byType, markCompact: this.markCompact.toJSON(),
      scavengePhases: this.scavengePhases.toJSON(), timeToSafepoint: this.timeToSafepoint.toJSON(),
      reasons: this.reasons.toJSON(),
    };
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

/** The heap spaces V8 reports fragmentation of, by our key and V8's space name. */
const FRAG_SPACES: ReadonlyArray<[string, number]> = [
  ['old_space', M.HEAP_FRAG_OLD], ['code_space', M.HEAP_FRAG_CODE], ['map_space', M.HEAP_FRAG_MAP],
  ['large_object_space', M.HEAP_FRAG_LO],
];

/**
 * External fragmentation as V8 last reported it after a GC (v8Histograms): the share of a
 * space's committed memory not holding objects, 0–1 in steps of 0.01; NaN until reported.
 */
/** The heap spaces of `spaceNames` whose fragmentation V8 reports. */
export function fragmentationSpaces(spaceNames: readonly string[]): string[] {
  return FRAG_SPACES.map(([name]) => name).filter((name) => spaceNames.includes(name));
}

const FRAG_GETTERS = new Map<string, Array<() => number>>();

export class HeapFragmentation {
  /** Per heap space V8 reports (those of this runtime: old, code, map, large object). */
  readonly spaces: Readonly<Record<string, number>>;
  /** @internal */ constructor(private readonly f: Float64Array, spaceNames: readonly string[]) {
    const names = fragmentationSpaces(spaceNames);
    let getters = FRAG_GETTERS.get(names.join());
    if (!getters) FRAG_GETTERS.set(names.join(), (getters = slotGetters(names.map((n) => FRAG_SPACES.find(([k]) => k === n)![1]))));
    const spaces = {};
    defineSlotGetters(spaces, f, 0, names, getters);
    this.spaces = spaces;
  }
  /** All spaces together. */
  get total(): number { return this.f[M.HEAP_FRAG_TOTAL]; }
  toJSON(): object { return { total: this.total, spaces: plain(this.spaces, Object.keys(this.spaces)) }; }
}

const HEAP_KEYS = [
  'usedBytes', 'totalBytes', 'limitBytes', 'physicalBytes', 'availableBytes', 'externalBytes',
  'mallocedBytes', 'peakMallocedBytes', 'executableBytes', 'nativeContexts', 'detachedContexts',
  'globalHandlesBytes', 'usedGlobalHandlesBytes', 'updatedNs',
] as const;

export class HeapStats {
  /** Per V8 heap space, keyed by V8's own space name (new_space, old_space, …). */
  readonly spaces: Readonly<Record<string, HeapSpaceStats>>;
  private frag?: HeapFragmentation;
  /** @internal */ constructor(private readonly f: Float64Array, private readonly spaceNames: readonly string[]) {
    const spaces: Record<string, HeapSpaceStats> = {};
    spaceNames.forEach((name, i) => {
      spaces[name] = new HeapSpaceStats(f, M.SPACES_BASE + i * 4);
    });
    this.spaces = Object.freeze(spaces);
  }
  /** External fragmentation as V8 reports it (v8Histograms; made on first access). */
  get fragmentation(): HeapFragmentation { return (this.frag ??= new HeapFragmentation(this.f, this.spaceNames)); }
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
    return { ...plain(this, HEAP_KEYS), spaces, fragmentation: this.fragmentation.toJSON() };
  }
}

const LOOP_KEYS = [
  'iterations', 'events', 'eventsPendingAtPoll', 'idleNs', 'busyNs', 'utilization', 'maxIterationNs',
  'lastIterationNs',
] as const;

export class LoopStats {
  /** @internal */ constructor(private readonly f: Float64Array) {}
  /** Loop iterations completed since start(). */
  get iterations(): number { return this.f[M.LOOP_ITERATIONS]; }
  /** Events the loop's poll returned since start() (libuv ≥ 1.45; 0 before). */
  get events(): number { return this.f[M.LOOP_EVENTS]; }
  /**
   * Of `events`, those that were already pending when the loop polled — they arrived while
   * it was busy — since start() (libuv ≥ 1.45's cumulative events_waiting; 0 before). A
   * counter, not a queue length.
   */
  get eventsPendingAtPoll(): number { return this.f[M.LOOP_EVENTS_PENDING_AT_POLL]; }
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
  /** The busiest single iteration's busy time, ns (NaN with loopTiming 'totals': no iteration is timed). */
  get maxIterationNs(): number { return this.f[M.LOOP_MAX_ITERATION_NS]; }
  /** The last completed iteration's busy time, ns (NaN with loopTiming 'totals'). */
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

const CONTAINER_KEYS = [
  'cgroupVersion', 'memoryLimitBytes', 'memoryHighBytes', 'memoryUsageBytes', 'memoryHighEvents',
  'memoryMaxEvents', 'oomEvents', 'oomKillEvents', 'cpuQuotaCores', 'cpuPeriods', 'cpuThrottledPeriods',
  'cpuThrottledNs', 'memoryPressureSomeNs', 'memoryPressureFullNs', 'cpuPressureSomeNs', 'cpuPressureFullNs', 'memoryWorkingSetBytes',
] as const;

/**
 * The process's own cgroup: the container's limits, usage, events and pressure (cgroup v1
 * or v2), as of the last refresh. NaN where the kernel does not say (no such file in this
 * cgroup version, or no cgroup found: cgroupVersion 0); +Infinity where there is no limit.
 * Counters are the kernel's, cumulative since the cgroup was created (not since start()).
 * What each maps to: docs/containers.md.
 */
export class ContainerStats {
  /** @internal */ constructor(private readonly f: Float64Array) {}
  /** 2 (unified), 1 (v1 controllers; a hybrid host's unified hierarchy gives the pressure), 0 (no cgroup found). */
  get cgroupVersion(): number { return this.f[M.CG_VERSION]; }
  /** The hard memory limit, bytes (v2 memory.max, v1 memory.limit_in_bytes); +Infinity: none. */
  get memoryLimitBytes(): number { return this.f[M.CG_MEMORY_LIMIT_BYTES]; }
  /** The memory throttling threshold, bytes (v2 memory.high; +Infinity: none; NaN on v1). */
  get memoryHighBytes(): number { return this.f[M.CG_MEMORY_HIGH_BYTES]; }
  /** Memory the cgroup uses, bytes, page cache included (v2 memory.current, v1 memory.usage_in_bytes). */
  get memoryUsageBytes(): number { return this.f[M.CG_MEMORY_USAGE_BYTES]; }
  /**
   * The cgroup's working set: its usage less the inactive file pages (v2 memory.stat
   * inactive_file, v1 total_inactive_file), as cAdvisor and the kubelet count it — the
   * page cache the kernel reclaims before it OOM-kills anything is left out.
   */
  get memoryWorkingSetBytes(): number { return this.f[M.CG_MEMORY_WORKING_SET_BYTES]; }
  /** Times usage went over memory.high and was throttled (v2 memory.events high; NaN on v1). */
  get memoryHighEvents(): number { return this.f[M.CG_MEMORY_HIGH_EVENTS]; }
  /** Times usage reached the hard limit (v2 memory.events max, v1 memory.failcnt). */
  get memoryMaxEvents(): number { return this.f[M.CG_MEMORY_MAX_EVENTS]; }
  /** Times the cgroup ran out of memory and the OOM killer was invoked (v2 memory.events oom; NaN on v1). */
  get oomEvents(): number { return this.f[M.CG_OOM_EVENTS]; }
  /** Processes of the cgroup the OOM killer killed (v2 memory.events oom_kill, v1 memory.oom_control oom_kill, Linux ≥ 4.13). */
  get oomKillEvents(): number { return this.f[M.CG_OOM_KILL_EVENTS]; }
  /** CPUs the CFS quota allows: quota / period (v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us); +Infinity: no quota. */
  get cpuQuotaCores(): number { return this.f[M.CG_CPU_QUOTA_CORES]; }
  /** CFS enforcement periods that have elapsed with runnable tasks (cpu.stat nr_periods). */
  get cpuPeriods(): number { return this.f[M.CG_CPU_PERIODS]; }
  /** Of them, periods in which the cgroup was throttled (cpu.stat nr_throttled). */
  get cpuThrottledPeriods(): number { return this.f[M.CG_CPU_THROTTLED_PERIODS]; }
  /** Time the cgroup's tasks were throttled, ns (v2 cpu.stat throttled_usec, v1 throttled_time). */
  get cpuThrottledNs(): number { return this.f[M.CG_CPU_THROTTLED_NS]; }
  /** Time some of the cgroup's tasks stalled on memory, ns (PSI memory.pressure some total). */
  get memoryPressureSomeNs(): number { return this.f[M.CG_MEMORY_PRESSURE_SOME_NS]; }
  /** Time all of the cgroup's non-idle tasks stalled on memory at once, ns (PSI memory.pressure full total). */
  get memoryPressureFullNs(): number { return this.f[M.CG_MEMORY_PRESSURE_FULL_NS]; }
  /** Time some of the cgroup's runnable tasks waited for a CPU, ns (PSI cpu.pressure some total). */
  get cpuPressureSomeNs(): number { return this.f[M.CG_CPU_PRESSURE_SOME_NS]; }
  /** Time all of them waited at once, ns (PSI cpu.pressure full total; Linux ≥ 5.13 for a cgroup's). */
  get cpuPressureFullNs(): number { return this.f[M.CG_CPU_PRESSURE_FULL_NS]; }
  toJSON(): Record<string, number> { return plain(this, CONTAINER_KEYS); }
}

const SAMPLER_KEYS = [
  'ringDropped', 'refreshes', 'lastRefreshNs', 'refreshCostNs', 'drains', 'gcEvents', 'v8HistogramSamples',
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
  /** Whether this sampler records V8's GC histograms (the v8Histograms option, and V8 took the callbacks). */
  get v8Histograms(): boolean { return this.f[M.V8_HISTOGRAMS_ENABLED] === 1; }
  /** Samples of V8's histograms this sampler recorded. */
  get v8HistogramSamples(): number { return this.f[M.V8_HISTOGRAM_SAMPLES]; }
  toJSON(): object { return { ...plain(this, SAMPLER_KEYS), v8Histograms: this.v8Histograms }; }
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
    // NaN where nothing watches for stalls at all (the JavaScript backend): unknown, not 0.
    if (Number.isNaN(this.f[M.STALL_COUNT])) return NaN;
    const since = this.w[W.ACTIVE_SINCE_NS];
    return since > 0 && this.f[M.LOOP_ITERATIONS] <= this.w[W.ITERATION] && this.f[M.WRITER_CLOSED] !== 1 ? 1 : 0;
  }
  /** When the stall in progress began (monotonic ns, within one watchdog interval), else 0. */
  get sinceNs(): number {
    const active = this.active;
    return active === 1 ? this.w[W.ACTIVE_SINCE_NS] : active === 0 ? 0 : NaN;
  }
  /** How long the stall in progress has lasted, as of this call (ns), else 0. */
  get durationNs(): number {
    const since = this.sinceNs;
    return since > 0 ? Math.max(0, Number(process.hrtime.bigint()) - since) : since === 0 ? 0 : NaN;
  }
  toJSON(): Record<string, number> { return plain(this, STALL_KEYS); }
}

const DELIVERY_KEYS = ['sent', 'failed', 'dropped', 'retries'] as const;

/** One alert channel kind's delivery counters (every watcher's channels of that kind, in this thread). */
export class DeliveryStats {
  /** @internal */ constructor(private readonly channel: ChannelName) {}
  /** Notifications delivered (2xx; for log, a record written). */
  get sent(): number { return deliveryCounters(this.channel).sent; }
  /** Notifications given up on (refused with a 4xx, or every attempt failed). */
  get failed(): number { return deliveryCounters(this.channel).failed; }
  /** Notifications discarded unsent: the queue was full, or shutdown's time ran out. */
  get dropped(): number { return deliveryCounters(this.channel).dropped; }
  /** Attempts repeated after a timeout, a connection error, a 5xx, 408 or 429. */
  get retries(): number { return deliveryCounters(this.channel).retries; }
  toJSON(): Record<string, number> { return plain(this, DELIVERY_KEYS); }
}

/**
 * Alert delivery (watch(sampler, { channels })), per channel kind. Unlike the rest of the
 * snapshot these are not in the sampler's block: they count this thread's deliveries
 * (the preload's run in its monitor thread, which serves /metrics), read when accessed.
 */
export class AlertDeliveryStats {
  readonly alertmanager = new DeliveryStats('alertmanager');
  readonly webhook = new DeliveryStats('webhook');
  readonly log = new DeliveryStats('log');
  toJSON(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const c of CHANNEL_NAMES) out[c] = this[c].toJSON();
    return out;
  }
}

const THREADPOOL_KEYS = ['probes', 'maxDelayNs', 'inFlight', 'size', 'inFlightSinceNs', 'waitingNs'] as const;

/**
 * libuv's threadpool (fs, dns.lookup, crypto, zlib work), seen by the threadpool probe
 * (threadpoolProbeMs): an empty work item queued every period, never a second while one
 * waits. Each probe's delay — from queuing to a pool thread starting it — is in
 * histograms.threadpoolDelay. The pool is process-wide: every thread's probe measures the
 * same pool.
 */
export class ThreadpoolStats {
  /** @internal */ constructor(private readonly f: Float64Array) {}
  /** Probes that ran (each one's delay is in histograms.threadpoolDelay). */
  get probes(): number { return this.f[M.THREADPOOL_PROBES]; }
  /** The longest delay of a probe that ran, ns. */
  get maxDelayNs(): number { return this.f[M.THREADPOOL_MAX_DELAY_NS]; }
  /** 1 while a probe is queued or running (until its completion reaches the loop), else 0. */
  get inFlight(): number { return this.f[M.THREADPOOL_IN_FLIGHT]; }
  /**
   * The pool's size, as libuv derives it from UV_THREADPOOL_SIZE (4 when unset; 1–1024),
   * read when the sampler started. Reported with the probe off too.
   */
  get size(): number { return this.f[M.THREADPOOL_SIZE]; }
  /** When the probe in flight was queued (monotonic ns), else 0. */
  get inFlightSinceNs(): number {
    return this.f[M.WRITER_CLOSED] === 1 ? 0 : this.f[M.THREADPOOL_IN_FLIGHT_SINCE_NS];
  }
  /**
   * How long the probe in flight has waited so far, as of this call (ns), else 0: a pool
   * stuck for minutes shows here while no probe completes. It includes the time its
   * completion waits for a busy loop.
   */
  get waitingNs(): number {
    const since = this.inFlightSinceNs;
    return since > 0 ? Math.max(0, Number(process.hrtime.bigint()) - since) : since === 0 ? 0 : NaN;
  }
  toJSON(): Record<string, number> { return plain(this, THREADPOOL_KEYS); }
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
  /** The process's cgroup: container limits, usage and pressure. */
  readonly container: ContainerStats;
  readonly sampler: SamplerStats;
  readonly stall: StallStats;
  readonly threadpool: ThreadpoolStats;
  /** Alert delivery counters per channel (this thread's, not the sampler's block). */
  readonly alerts: AlertDeliveryStats;
  /** @internal The watchdog's region (its own sequence word). */
  readonly stallSlots: Float64Array;
  /** @internal */ readonly spaceNames: readonly string[];

  /** @internal Use sampler.read(). */
  constructor(spaceNames: readonly string[]) {
    const f = new Float64Array(MAIN_REGION_SLOTS);
    this.slots = f;
    this.stallSlots = new Float64Array(C.STALL_REGION_SLOTS);
    this.spaceNames = spaceNames;
    this.gc = new GcStats(f, spaceNames.length);
    this.heap = new HeapStats(f, spaceNames);
    this.loop = new LoopStats(f);
    this.process = new ProcessStats(f);
    this.container = new ContainerStats(f);
    this.sampler = new SamplerStats(f);
    this.stall = new StallStats(f, this.stallSlots);
    this.threadpool = new ThreadpoolStats(f);
    this.alerts = new AlertDeliveryStats();
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
      container: this.container.toJSON(),
      sampler: this.sampler.toJSON(),
      stall: this.stall.toJSON(),
      threadpool: this.threadpool.toJSON(),
      alerts: this.alerts.toJSON(),
    };
  }

  [inspect.custom](): object {
    return this.toJSON();
  }
}
