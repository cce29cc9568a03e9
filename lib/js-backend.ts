// The JavaScript backend: the NativeBinding surface implemented on node:perf_hooks, node:v8
// and process, for where no native binary loads (no prebuild and no compiler, another
// platform, Bun, Deno). It writes the same shared block as the addon, under the same
// seqlock words, so Sampler, Snapshot, histograms, catalog, exporters, server and analysis
// read it unchanged. What it cannot see is NaN there (catalog(): `native: true`);
// docs/js-backend.md says where each value comes from.
import { readdirSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import type { NativeBinding, NativeLayout, NativeSamplerHandle } from './binding';
import { foreignRuntime } from './binary-choice';
import { SamplerError } from './errors';
import { bucketCount as histBucketCount, bucketIndex, INDEX_OFFSET as HIST_INDEX_OFFSET } from './histogram';
import {
  HIST_SLOTS, HistSlot as H, LAYOUT_CONSTANTS as C, LAYOUT_HASH, MAIN_SLOTS, MainSlot as M, RECORD_SLOTS, RecordSlot as R,
  SPACE_SLOTS, SpaceSlot as S, STALL_SLOTS,
} from './layout.generated';
import { checkInteger } from './options';

const CACHE_LINE_SLOTS = 8;
const roundUp = (n: number): number => Math.ceil(n / CACHE_LINE_SLOTS) * CACHE_LINE_SLOTS;
/** As native/core/layout.h kMainRegionSlots. */
const MAIN_REGION_SLOTS = roundUp(M.SPACES_BASE + C.MAX_SPACES * C.SPACE_SLOTS + C.GC_REASON_KINDS * C.GC_REASON_CODES);
const MC_LOG_SLOTS = roundUp(C.MC_LOG_HEADER_SLOTS + C.MC_LOG_ENTRIES * C.MC_LOG_ENTRY_SLOTS);

/** native/core/layout.h ComputeLayout, region by region (a test compares the two). */
export function computeLayout(ringCapacity: number, scale: number): NativeLayout {
  checkInteger('ringCapacity', ringCapacity, 64, 65536, true);
  checkInteger('histogramScale', scale, C.HIST_MIN_SCALE, C.HIST_MAX_SCALE);
  const histSlots = roundUp(C.HIST_HEADER_SLOTS + histBucketCount(scale));
  const ringControlOffset = MAIN_REGION_SLOTS;
  const loopDelayOffset = ringControlOffset + roundUp(C.RING_CONTROL_SLOTS);
  const loopIterationOffset = loopDelayOffset + histSlots;
  const gcHistOffset = loopIterationOffset + histSlots;
  const safepointHistOffset = gcHistOffset + C.GC_HISTOGRAMS * histSlots;
  const threadpoolHistOffset = safepointHistOffset + histSlots;
  const stallOffset = threadpoolHistOffset + histSlots;
  const mcLogOffset = stallOffset + C.STALL_REGION_SLOTS;
  const stacksOffset = mcLogOffset + MC_LOG_SLOTS;
  const ringRecordsOffset = stacksOffset + C.STACK_BUFFERS * C.STACK_BUFFER_SLOTS;
  const totalSlots = ringRecordsOffset + ringCapacity * C.RECORD_SLOTS;
  return {
    ringCapacity, scale, mainOffset: 0, mainSlots: MAIN_REGION_SLOTS, ringControlOffset, loopDelayOffset,
    loopIterationOffset, gcHistOffset, safepointHistOffset, threadpoolHistOffset, stallOffset, mcLogOffset,
    stacksOffset, histSlots, histBuckets: histBucketCount(scale), ringRecordsOffset, totalSlots, totalBytes: totalSlots * 8,
  };
}

function heapSpaceNames(): string[] {
  return v8.getHeapSpaceStatistics().slice(0, C.MAX_SPACES).map((s) => s.space_name);
}

/**
 * Main slots only the native backend fills (NaN here). The catalog's `native: true`
 * marks are checked against this list by test/js-backend.test.js.
 */
export const NATIVE_ONLY_SLOTS: readonly number[] = [
  M.GC_NESTED_COUNT,
  M.LOOP_ITERATIONS, M.LOOP_EVENTS, M.LOOP_EVENTS_PENDING_AT_POLL, M.LOOP_MAX_ITERATION_NS, M.LOOP_LAST_ITERATION_NS,
  M.PROC_ACTIVE_HANDLES, M.PROC_ACTIVE_REQUESTS,
  M.STALL_COUNT, M.STALL_TOTAL_NS, M.STALL_MAX_NS,
  M.V8_HISTOGRAM_SAMPLES, M.GC_IM_STEPS, M.GC_IM_CYCLES, M.GC_IM_NS,
  M.GC_MC_COUNT, M.GC_MC_NS, M.GC_MC_PHASE_COUNT, M.GC_MC_MARK_NS, M.GC_MC_SWEEP_NS, M.GC_MC_EVACUATE_NS,
  M.GC_MC_CLEAR_NS, M.GC_MC_PROLOGUE_NS, M.GC_MC_EPILOGUE_NS, M.GC_MC_FINISH_NS,
  M.GC_SCAVENGE_PHASE_COUNT, M.GC_SCAVENGE_MAIN_NS, M.GC_SCAVENGE_ROOTS_NS,
  M.GC_SAFEPOINT_COUNT, M.GC_SAFEPOINT_NS, M.GC_SAFEPOINT_MAX_NS,
  M.HEAP_FRAG_TOTAL, M.HEAP_FRAG_OLD, M.HEAP_FRAG_CODE, M.HEAP_FRAG_MAP, M.HEAP_FRAG_LO,
  M.CG_VERSION, M.CG_MEMORY_LIMIT_BYTES, M.CG_MEMORY_HIGH_BYTES, M.CG_MEMORY_USAGE_BYTES, M.CG_MEMORY_HIGH_EVENTS,
  M.CG_MEMORY_MAX_EVENTS, M.CG_OOM_EVENTS, M.CG_OOM_KILL_EVENTS, M.CG_CPU_QUOTA_CORES, M.CG_CPU_PERIODS,
  M.CG_CPU_THROTTLED_PERIODS, M.CG_CPU_THROTTLED_NS, M.CG_MEMORY_PRESSURE_SOME_NS, M.CG_MEMORY_PRESSURE_FULL_NS,
  M.CG_CPU_PRESSURE_SOME_NS, M.CG_CPU_PRESSURE_FULL_NS, M.CG_MEMORY_WORKING_SET_BYTES,
  M.THREADPOOL_SIZE, M.THREADPOOL_PROBES, M.THREADPOOL_MAX_DELAY_NS, M.THREADPOOL_IN_FLIGHT, M.THREADPOOL_IN_FLIGHT_SINCE_NS,
];

/**
 * Which of its sources this runtime really provides. Node provides all of them; Bun and Deno
 * implement node:perf_hooks, node:v8 and process partly, some parts as stubs that answer
 * with plausible numbers, and a stub's 0 must not pass for a measurement: what is missing is
 * NaN. Measured with Bun 1.4.5 and Deno 2.9.6 (README, "Bun and Deno").
 */
interface JsSources {
  /** PerformanceObserver delivers 'gc' entries. */
  gcEntries: boolean;
  /**
   * v8.getHeapStatistics()/getHeapSpaceStatistics() come from V8. Bun's come from
   * JavaScriptCore: used heap and external memory are its heap's, but total (= used), the
   * limit (10 × physical), executable (used / 2), malloced (= used), physical and peak
   * malloced (≈ RSS) and global handles (constants) are made up, and its whole heap is reported as
   * old_space with the other V8 spaces at 0: those are NaN.
   */
  v8Heap: boolean;
}

const runtime = foreignRuntime()?.split(' ')[0];
const isBun = runtime === 'Bun';
const isDeno = runtime === 'Deno';

const SOURCES: JsSources = {
  // Deno lists 'gc' in supportedEntryTypes but nothing emits such entries (its node:perf_hooks
  // only forwards http2/http/dns/net ones), so the list cannot be trusted there; Bun does not list it.
  gcEntries: !isDeno && ((PerformanceObserver as { supportedEntryTypes?: readonly string[] }).supportedEntryTypes ?? []).includes('gc'),
  v8Heap: !isBun,
};

/** Slots the GC observer fills: NaN (unknown, not 0) where it delivers nothing. */
const GC_ENTRY_SLOTS: readonly number[] = [
  M.GC_COUNT, M.GC_PAUSE_NS, M.GC_MAX_PAUSE_NS, M.GC_FORCED_COUNT, M.GC_LAST_END_NS,
  M.GC_SCAVENGE_COUNT, M.GC_SCAVENGE_PAUSE_NS, M.GC_SCAVENGE_MAX_PAUSE_NS,
  M.GC_MINOR_MS_COUNT, M.GC_MINOR_MS_PAUSE_NS, M.GC_MINOR_MS_MAX_PAUSE_NS,
  M.GC_MSC_COUNT, M.GC_MSC_PAUSE_NS, M.GC_MSC_MAX_PAUSE_NS,
  M.GC_INCREMENTAL_COUNT, M.GC_INCREMENTAL_PAUSE_NS, M.GC_INCREMENTAL_MAX_PAUSE_NS,
  M.GC_WEAK_COUNT, M.GC_WEAK_PAUSE_NS, M.GC_WEAK_MAX_PAUSE_NS,
];

/** Heap statistics only V8 reports (see JsSources.v8Heap). */
const V8_HEAP_SLOTS: readonly number[] = [
  M.HEAP_TOTAL_BYTES, M.HEAP_LIMIT_BYTES, M.HEAP_AVAILABLE_BYTES, M.HEAP_PHYSICAL_BYTES, M.HEAP_EXECUTABLE_BYTES, M.HEAP_MALLOCED_BYTES,
  M.HEAP_PEAK_MALLOCED_BYTES, M.HEAP_GLOBAL_HANDLES_BYTES, M.HEAP_USED_GLOBAL_HANDLES_BYTES,
];

/**
 * Whether performance.eventLoopUtilization() measures (Bun's and Deno's always answer
 * { idle: 0, active: 0 }). Known once it answered non-zero, or answered 0 while the loop runs
 * (a timer callback); undefined until then. Node answers 0 before its loop starts too, but
 * says so (nodeTiming.loopStart is -1), so Node is known from the start.
 */
let eluWorks: boolean | undefined;

function checkElu(loopRunning: boolean): boolean | undefined {
  if (eluWorks !== undefined) return eluWorks;
  const elu = readElu();
  if (elu === null) return (eluWorks = false);
  if (elu.idle + elu.active > 0) return (eluWorks = true);
  const timing = (performance as { nodeTiming?: { loopStart?: unknown } }).nodeTiming;
  if (!isBun && !isDeno && timing?.loopStart === -1) return (eluWorks = true);
  if (loopRunning) eluWorks = false;
  return eluWorks;
}

function readElu(): { idle: number; active: number } | null {
  try {
    const elu = performance.eventLoopUtilization();
    return typeof elu?.idle === 'number' && typeof elu.active === 'number' ? elu : null;
  } catch {
    return null;
  }
}

/** A process vital, NaN where the runtime does not provide it or refuses (Deno without --allow-sys). */
function vital<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

/** GCType bit → the first of its three per-type slots (count, pause, max pause). */
const TYPE_SLOT: Record<number, number> = {
  1: M.GC_SCAVENGE_COUNT,
  2: M.GC_MINOR_MS_COUNT,
  4: M.GC_MSC_COUNT,
  8: M.GC_INCREMENTAL_COUNT,
  16: M.GC_WEAK_COUNT,
};
const MARK_SWEEP_COMPACT = 4;

let liveSamplers = 0;
let liveBlocks = 0;
let warnedWatchdog = false;

interface GcDetail {
  kind?: number;
  flags?: number;
}

/** One histogram region of the block, written as native BlockHistogram::Record writes it. */
class RegionHistogram {
  private readonly seq: Int32Array;
  constructor(private readonly f: Float64Array, private readonly base: number, private readonly scale: number, buffer: ArrayBufferLike) {
    this.seq = new Int32Array(buffer, base * 8, 1);
    f[base + H.SCALE] = scale;
    f[base + H.INDEX_OFFSET] = HIST_INDEX_OFFSET;
    f[base + H.BUCKETS] = histBucketCount(scale);
  }

  record(value: number): void {
    const f = this.f;
    const b = this.base;
    const index = value > 0 ? bucketIndex(value, this.scale) : 0;
    Atomics.add(this.seq, 0, 1);
    const count = f[b + H.COUNT];
    if (count === 0 || value < f[b + H.MIN]) f[b + H.MIN] = value;
    if (count === 0 || value > f[b + H.MAX]) f[b + H.MAX] = value;
    f[b + H.COUNT] = count + 1;
    f[b + H.SUM] += value;
    if (value > 0) f[b + C.HIST_HEADER_SLOTS + (index - HIST_INDEX_OFFSET)] += 1;
    else f[b + H.ZERO_COUNT] += 1;
    Atomics.add(this.seq, 0, 1);
  }
}

/** The writer of one block: what native Monitor does, from JavaScript callbacks. */
class JsSampler implements NativeSamplerHandle {
  private readonly f: Float64Array;
  private readonly seq: Int32Array;
  private readonly layout: NativeLayout;
  private readonly spaceCount: number;
  private readonly gcHist: RegionHistogram[] = [];
  private readonly loopDelay: RegionHistogram;
  private readonly ringHead: Int32Array;
  private readonly ringTail: Int32Array;
  private readonly mcLogSeq: Int32Array;
  private readonly refreshMs: number;
  private readonly delayMs: number;
  /** process.hrtime's clock (ns) minus performance.now()'s (ms → ns): block times are hrtime ns. */
  private readonly originNs: number;
  private observer: PerformanceObserver | null = null;
  private delayTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private prevDelayNs = 0;
  /** performance.now() at start(): an entry of a GC before it is not this run's. */
  private startMs = 0;
  private lastHeapUsed = 0;
  private running = false;
  private closed = false;
  private eluBase = { idle: 0, active: 0 };
  private idleBaseNs = 0;
  private busyBaseNs = 0;
  private idleTotalNs = 0;
  private busyTotalNs = 0;

  constructor(
    block: Float64Array, ringCapacity: number, histogramScale: number, refreshIntervalMs: number, loopDelayResolutionMs: number,
    watchdogThresholdMs: number,
  ) {
    if (!(block instanceof Float64Array)) throw new TypeError('block must be a Float64Array');
    const layout = computeLayout(ringCapacity, histogramScale);
    this.refreshMs = checkInteger('refreshIntervalMs', refreshIntervalMs, 10, 60000);
    this.delayMs = checkInteger('loopDelayResolutionMs', loopDelayResolutionMs, 1, 1000);
    if (block.byteOffset !== 0 || block.length * 8 < layout.totalBytes) {
      throw new RangeError(`block is smaller than the layout needs (${layout.totalBytes} bytes)`);
    }
    this.layout = layout;
    this.f = block;
    const buffer = block.buffer;
    this.seq = new Int32Array(buffer, 0, 1);
    this.spaceCount = heapSpaceNames().length;
    const f = block;
    f.fill(0, 0, layout.totalSlots);
    f[M.LAYOUT_VERSION] = C.LAYOUT_VERSION;
    f[layout.ringControlOffset + C.RING_CAPACITY_SLOT] = ringCapacity;
    this.ringHead = new Int32Array(buffer, (layout.ringControlOffset + C.RING_HEAD_SLOT) * 8, 1);
    this.ringTail = new Int32Array(buffer, (layout.ringControlOffset + C.RING_TAIL_SLOT) * 8, 1);
    this.loopDelay = new RegionHistogram(f, layout.loopDelayOffset, histogramScale, buffer);
    // Written by nobody here, but initialised as native does so that readers see an empty histogram of the right scale.
    new RegionHistogram(f, layout.loopIterationOffset, histogramScale, buffer);
    new RegionHistogram(f, layout.safepointHistOffset, histogramScale, buffer);
    new RegionHistogram(f, layout.threadpoolHistOffset, histogramScale, buffer);
    for (let i = 0; i < C.GC_HISTOGRAMS; i++) {
      this.gcHist.push(new RegionHistogram(f, layout.gcHistOffset + i * layout.histSlots, histogramScale, buffer));
    }
    this.mcLogSeq = new Int32Array(buffer, layout.mcLogOffset * 8, 1);
    for (const s of NATIVE_ONLY_SLOTS) f[s] = NaN;
    if (!SOURCES.gcEntries) for (const s of GC_ENTRY_SLOTS) f[s] = NaN;
    if (checkElu(false) !== true) f[M.LOOP_IDLE_NS] = f[M.LOOP_BUSY_NS] = NaN;
    // GC reasons by code: V8 reports them only to the native histogram callbacks.
    const reasons = M.SPACES_BASE + this.spaceCount * C.SPACE_SLOTS;
    f.fill(NaN, reasons, reasons + C.GC_REASON_KINDS * C.GC_REASON_CODES);
    f[M.V8_HISTOGRAMS_ENABLED] = 0;
    f[M.WATCHDOG_ENABLED] = 0;
    f[M.LOOP_METRICS_AVAILABLE] = 0;
    if (watchdogThresholdMs !== 0 && !warnedWatchdog) {
      warnedWatchdog = true;
      process.emitWarning('runtime-sampler: the stall watchdog needs the native backend; the JavaScript backend runs without it (stall metrics are NaN)', {
        type: 'RuntimeSamplerWarning', code: 'RUNTIME_SAMPLER_JS_BACKEND',
      });
    }
    this.originNs = Number(process.hrtime.bigint()) - performance.now() * 1e6;
    liveSamplers++;
    liveBlocks++;
  }

  private nowNs(): number {
    return Math.round(this.originNs + performance.now() * 1e6);
  }

  private live(): void {
    if (this.closed) throw new SamplerError('the sampler is closed', 'ERR_SAMPLER_CLOSED');
  }

  private begin(): void {
    Atomics.add(this.seq, 0, 1);
  }

  private end(): void {
    Atomics.add(this.seq, 0, 1);
  }

  start(): void {
    this.live();
    if (this.running) return;
    const now = this.nowNs();
    const f = this.f;
    this.begin();
    if (f[M.START_NS] === 0) f[M.START_NS] = now;
    f[M.STARTED] = 1;
    f[M.TIME_NS] = now;
    this.lastHeapUsed = this.writeHeap(now);
    this.end();
    this.eluBase = readElu() ?? { idle: 0, active: 0 };
    this.idleBaseNs = this.idleTotalNs;
    this.busyBaseNs = this.busyTotalNs;
    // The first tick measures from here, as a libuv timer started now would: a block right
    // after start() is then a sample, not the baseline.
    this.prevDelayNs = now;
    this.startMs = performance.now();
    if (SOURCES.gcEntries) {
      const observer = new PerformanceObserver((list) => this.onGcEntries(list.getEntries()));
      observer.observe({ entryTypes: ['gc'] });
      this.observer = observer;
    }
    this.delayTimer = setInterval(() => this.onDelayTimer(), this.delayMs);
    this.delayTimer.unref();
    this.refreshTimer = setInterval(() => this.refresh(), this.refreshMs);
    this.refreshTimer.unref();
    this.running = true;
    this.refresh();
  }

  stop(): void {
    if (!this.running) return;
    const observer = this.observer;
    this.observer = null;
    if (observer !== null) {
      // Entries of GCs that happened before stop() but are not delivered yet are counted.
      if (typeof observer.takeRecords === 'function') this.onGcEntries(observer.takeRecords());
      observer.disconnect();
    }
    if (this.delayTimer !== null) clearInterval(this.delayTimer);
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    this.delayTimer = this.refreshTimer = null;
    this.publishLoop(this.nowNs());
    this.running = false;
    this.begin();
    this.f[M.STARTED] = 0;
    this.end();
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    this.closed = true;
    this.begin();
    this.f[M.WRITER_CLOSED] = 1;
    this.f[M.STARTED] = 0;
    this.end();
    liveSamplers--;
    liveBlocks--;
  }

  refresh(): void {
    this.live();
    const begin = this.nowNs();
    const rss = vital(() => process.memoryUsage.rss()) ?? NaN;
    const cpu = vital(() => process.cpuUsage()) ?? { user: NaN, system: NaN };
    const fds = openFds();
    if (this.running) this.publishLoop(begin);
    const f = this.f;
    this.begin();
    const used = this.writeHeap(begin);
    if (this.running) this.observeHeapUsed(used);
    f[M.PROC_RSS_BYTES] = rss;
    f[M.PROC_CPU_USER_US] = cpu.user;
    f[M.PROC_CPU_SYSTEM_US] = cpu.system;
    f[M.PROC_OPEN_FDS] = fds;
    const end = this.nowNs();
    f[M.SAMPLER_REFRESHES] += 1;
    f[M.SAMPLER_LAST_REFRESH_NS] = end;
    f[M.SAMPLER_REFRESH_COST_NS] = end - begin;
    this.end();
  }

  alias(): ArrayBuffer | undefined {
    this.live();
    return undefined;
  }

  loopClock(): 'monotonic' {
    this.live();
    return 'monotonic';
  }

  loopIdleRead(): 'locked' {
    this.live();
    return 'locked';
  }

  /** No per-iteration hook here: totals from perf_hooks. */
  loopTiming(): 'totals' {
    this.live();
    return 'totals';
  }

  watchdogError(): number {
    this.live();
    return 0;
  }

  /** No watchdog here, so no stall profiles. */
  stallProfile(): null {
    this.live();
    return null;
  }

  keepPublished(): void {
    // Never published.
  }

  /** Heap statistics into the block (inside a write section); returns the used bytes. */
  private writeHeap(now: number): number {
    const f = this.f;
    const h = v8.getHeapStatistics();
    f[M.HEAP_USED_BYTES] = h.used_heap_size;
    f[M.HEAP_TOTAL_BYTES] = h.total_heap_size;
    f[M.HEAP_LIMIT_BYTES] = h.heap_size_limit;
    f[M.HEAP_PHYSICAL_BYTES] = h.total_physical_size;
    f[M.HEAP_AVAILABLE_BYTES] = h.total_available_size;
    f[M.HEAP_EXTERNAL_BYTES] = h.external_memory ?? NaN;
    f[M.HEAP_MALLOCED_BYTES] = h.malloced_memory;
    f[M.HEAP_PEAK_MALLOCED_BYTES] = h.peak_malloced_memory;
    f[M.HEAP_EXECUTABLE_BYTES] = h.total_heap_size_executable;
    f[M.HEAP_NATIVE_CONTEXTS] = h.number_of_native_contexts;
    f[M.HEAP_DETACHED_CONTEXTS] = h.number_of_detached_contexts;
    f[M.HEAP_GLOBAL_HANDLES_BYTES] = h.total_global_handles_size ?? NaN;
    f[M.HEAP_USED_GLOBAL_HANDLES_BYTES] = h.used_global_handles_size ?? NaN;
    f[M.HEAP_UPDATED_NS] = now;
    f[M.HEAP_SPACE_COUNT] = this.spaceCount;
    if (!SOURCES.v8Heap) {
      for (const s of V8_HEAP_SLOTS) f[s] = NaN;
      f.fill(NaN, M.SPACES_BASE, M.SPACES_BASE + this.spaceCount * C.SPACE_SLOTS);
      return h.used_heap_size;
    }
    const spaces = v8.getHeapSpaceStatistics();
    const n = Math.min(this.spaceCount, spaces.length);
    for (let i = 0; i < n; i++) {
      const s = spaces[i];
      const base = M.SPACES_BASE + i * C.SPACE_SLOTS;
      f[base + S.SIZE_BYTES] = s.space_size;
      f[base + S.USED_BYTES] = s.space_used_size;
      f[base + S.AVAILABLE_BYTES] = s.space_available_size;
      f[base + S.PHYSICAL_BYTES] = s.physical_space_size;
    }
    return h.used_heap_size;
  }

  /** Growth since the last observation is allocation, a drop is reclaim (native ObserveHeapUsed). */
  private observeHeapUsed(used: number): void {
    const f = this.f;
    if (used > this.lastHeapUsed) f[M.GC_ALLOCATED_BYTES] += used - this.lastHeapUsed;
    else f[M.GC_RECLAIMED_BYTES] += this.lastHeapUsed - used;
    this.lastHeapUsed = used;
  }

  /** Every entry of a batch (not only the first): each one is a GC. */
  private onGcEntries(entries: PerformanceEntry[]): void {
    if (!this.running || this.closed || entries.length === 0) return;
    const f = this.f;
    const L = this.layout;
    const mask = L.ringCapacity - 1;
    const now = this.nowNs();
    let markCompacts = 0;
    let mcFlags = 0;
    let lastEnd = 0;
    this.begin();
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.entryType !== 'gc' || e.startTime < this.startMs) continue;
      // Node ≥ 16 puts kind and flags in detail; older releases on the entry itself.
      const d = ((e as PerformanceEntry & { detail?: unknown }).detail ?? e) as GcDetail;
      const kind = typeof d.kind === 'number' ? d.kind : 0;
      const flags = typeof d.flags === 'number' ? d.flags : 0;
      const pause = Math.max(0, Math.round(e.duration * 1e6));
      const start = Math.round(this.originNs + e.startTime * 1e6);
      lastEnd = Math.max(lastEnd, start + pause);
      f[M.GC_COUNT] += 1;
      f[M.GC_PAUSE_NS] += pause;
      if (pause > f[M.GC_MAX_PAUSE_NS]) f[M.GC_MAX_PAUSE_NS] = pause;
      if ((flags & 4) !== 0) f[M.GC_FORCED_COUNT] += 1;
      const ts = TYPE_SLOT[kind];
      if (ts !== undefined) {
        f[ts] += 1;
        f[ts + 1] += pause;
        if (pause > f[ts + 2]) f[ts + 2] = pause;
      }
      this.gcHist[0].record(pause);
      const bit = Math.log2(kind);
      if (Number.isInteger(bit) && bit + 1 < C.GC_HISTOGRAMS) this.gcHist[bit + 1].record(pause);
      if (kind === MARK_SWEEP_COMPACT) {
        markCompacts++;
        mcFlags = flags;
      }
      const head = Atomics.load(this.ringHead, 0) >>> 0;
      const tail = Atomics.load(this.ringTail, 0) >>> 0;
      if (((head - tail) >>> 0) > mask) {
        f[M.SAMPLER_RING_DROPPED] += 1;
        continue;
      }
      const rec = L.ringRecordsOffset + (head & mask) * C.RECORD_SLOTS;
      f[rec + R.KIND] = C.RECORD_KIND_GC;
      f[rec + R.GC_TYPE] = kind;
      f[rec + R.FLAGS] = flags;
      f[rec + R.START_NS] = start;
      f[rec + R.PAUSE_NS] = pause;
      f[rec + R.DURATION_NS] = pause;
      // The entry does not say what the heap held around the GC.
      f.fill(NaN, rec + R.USED_BEFORE_BYTES, rec + C.RECORD_SLOTS);
      Atomics.store(this.ringHead, 0, (head + 1) | 0);
    }
    if (lastEnd > f[M.GC_LAST_END_NS]) f[M.GC_LAST_END_NS] = lastEnd;
    const used = this.writeHeap(now);
    this.observeHeapUsed(used);
    this.end();
    if (markCompacts > 0) this.logMarkCompacts(markCompacts, mcFlags, lastEnd);
  }

  /**
   * The mark-compact log, one entry per mark-compact of the batch, with the heap as it is
   * when the batch is delivered (allocation since the GC included): the observer says nothing
   * of the heap at the GC's end.
   */
  private logMarkCompacts(count: number, flags: number, endNs: number): void {
    const f = this.f;
    const log = this.layout.mcLogOffset;
    Atomics.add(this.mcLogSeq, 0, 1);
    for (let k = 0; k < count; k++) {
      const n = f[log + C.MC_LOG_COUNT_SLOT];
      const e = log + C.MC_LOG_HEADER_SLOTS + (n % C.MC_LOG_ENTRIES) * C.MC_LOG_ENTRY_SLOTS;
      f[e + C.MC_LOG_END_NS] = endNs;
      f[e + C.MC_LOG_FLAGS] = flags;
      f[e + C.MC_LOG_USED_AFTER] = f[M.HEAP_USED_BYTES];
      for (let i = 0; i < C.MAX_SPACES; i++) {
        f[e + C.MC_LOG_SPACES_USED_AFTER + i] = i < this.spaceCount ? f[M.SPACES_BASE + i * C.SPACE_SLOTS + S.USED_BYTES] : 0;
      }
      f[log + C.MC_LOG_COUNT_SLOT] = n + 1;
    }
    Atomics.add(this.mcLogSeq, 0, 1);
  }

  /** monitorEventLoopDelay's measure: the full time between two timer callbacks. */
  private onDelayTimer(): void {
    const now = this.nowNs();
    if (this.prevDelayNs !== 0 && now > this.prevDelayNs) this.loopDelay.record(now - this.prevDelayNs);
    this.prevDelayNs = now;
    if (eluWorks === undefined) checkElu(true);
    this.publishLoop(now);
  }

  /** Busy and idle time since start() from eventLoopUtilization, added to the totals of earlier runs; they only grow. */
  private publishLoop(now: number): void {
    const elu = eluWorks === true ? readElu() : null;
    if (elu === null) {
      this.begin();
      this.f[M.TIME_NS] = now;
      this.end();
      return;
    }
    const runIdle = Math.max(0, Math.round((elu.idle - this.eluBase.idle) * 1e6));
    const runBusy = Math.max(0, Math.round((elu.active - this.eluBase.active) * 1e6));
    if (this.idleBaseNs + runIdle > this.idleTotalNs) this.idleTotalNs = this.idleBaseNs + runIdle;
    if (this.busyBaseNs + runBusy > this.busyTotalNs) this.busyTotalNs = this.busyBaseNs + runBusy;
    const f = this.f;
    this.begin();
    f[M.LOOP_IDLE_NS] = this.idleTotalNs;
    f[M.LOOP_BUSY_NS] = this.busyTotalNs;
    f[M.TIME_NS] = now;
    this.end();
  }
}

/** Open descriptors where the platform lists them cheaply (Linux), else NaN. */
function openFds(): number {
  if (process.platform !== 'linux') return NaN;
  try {
    // readdir's own descriptor is listed too.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return NaN;
  }
}

function unsupported(what: string): never {
  throw new SamplerError(`${what} needs the native backend (nativeInfo.backend is 'js': no native binary loaded)`, 'ERR_SAMPLER_BINARY');
}

/** The NativeBinding surface on the JavaScript backend. */
export const jsBinding: NativeBinding = {
  constants: {
    MAIN: MAIN_SLOTS,
    SPACE: SPACE_SLOTS,
    HIST: HIST_SLOTS,
    RECORD: RECORD_SLOTS,
    STALL: STALL_SLOTS,
    CONST: C,
    mainRegionSlots: MAIN_REGION_SLOTS,
    histIndexOffset: HIST_INDEX_OFFSET,
    layoutHash: LAYOUT_HASH,
  },
  computeLayout,
  heapSpaceNames,
  heapSpaceCountTotal: v8.getHeapSpaceStatistics().length,
  bucketIndex,
  setErrorClass: () => undefined,
  trimMemory: () => false,
  liveObjects: () => ({ samplers: liveSamplers, blocks: liveBlocks, monitors: liveSamplers, v8HistogramUnattributedSamples: 0 }),
  // V8's GarbageCollectionReason names are compiled into the addon; the reasons are NaN here.
  gcReasonNames: [],
  gcReasonMaxValue: -1,
  moduleVersion: Number(process.versions.modules),
  uvVersion: process.versions.uv ?? '',
  v8Version: process.versions.v8 ?? '',
  uvMetricsInfo: false,
  publishBlock: () => unsupported('publishing a sampler'),
  unpublish: () => false,
  openPublished: () => unsupported('reading a published sampler'),
  aliasOf: () => undefined,
  processAlive: (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  publishHeaderBytes: 0,
  publishMaxFileBytes: 0,
  NativeSampler: JsSampler,
};
