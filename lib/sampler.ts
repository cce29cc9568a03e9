// The Sampler: owns one shared block, starts the native side that writes it, and reads
// it with no native call. A SamplerView reads another thread's sampler through the same
// SharedArrayBuffer (sampler.share() → Sampler.attach(handle)).
import { performance } from 'node:perf_hooks';
import { threadId as currentThreadId } from 'node:worker_threads';
import { native, NativeLayout, NativeSamplerHandle } from './binding';
import { DEFAULT_SCALE, Histogram } from './histogram';
import {
  HistSlot as H, LAYOUT_CONSTANTS as C, MainSlot as M, RecordSlot as R,
} from './layout.generated';
import { GC_TYPES, GcTypeName, gcReasonsBase, MAIN_REGION_SLOTS, Snapshot } from './snapshot';
import { catalog, MetricDescription } from './catalog';
import { closedError, describeValue, isArray, isRecord, SamplerError } from './errors';
import { checkBoolean, checkFunction, checkInteger, checkKnownOptions, checkObject } from './options';

export interface WatchdogOptions {
  /** An iteration busy this long is a stall, ms (1–3600000, default 100). */
  thresholdMs?: number;
  /** How often the watchdog thread looks, ms (1–60000, default thresholdMs / 4, at most 250). */
  intervalMs?: number;
  /** Capture the JavaScript stack of the stalled code (default false). */
  captureStack?: boolean;
}

export interface SamplerOptions {
  /** How often heap and process values are refreshed, ms (10–60000, default 1000). */
  refreshIntervalMs?: number;
  /** The loop-delay timer's period, ms (1–1000, default 10), as monitorEventLoopDelay's. */
  loopDelayResolutionMs?: number;
  /** GC and stall events the ring holds between drains: a power of two, 64–65536 (default 4096). */
  ringCapacity?: number;
  /**
   * Histogram precision: 2^scale buckets per power of two (0–8, default 6: percentiles
   * within 0.54%; 5 gives 1.1%, 7 gives 0.27%).
   */
  histogramScale?: number;
  /**
   * The stall watchdog (off by default): a native thread that sees an event-loop iteration
   * running longer than thresholdMs while it still runs. `true` for the defaults.
   */
  watchdog?: boolean | WatchdogOptions;
  /**
   * Record V8's own GC histograms (default true): incremental marking steps, mark-compact
   * and scavenge phases, time to safepoint, GC reasons, fragmentation. This sets the
   * isolate's histogram callbacks (V8 has one pair per isolate and no getter): pass false
   * in an embedder that sets its own (Electron, Chromium-based runtimes).
   */
  v8Histograms?: boolean;
  /**
   * The history diagnose() and watchers read (sampler.history): a ring of `capacity`
   * snapshots taken every `intervalMs`. It begins the first time it is needed; touch
   * sampler.history at start-up to have it from then on.
   */
  history?: HistorySettings;
}

/** The history's settings (see SamplerOptions.history). */
export interface HistorySettings {
  /** Time between samples, ms (100–60000, default 1000). */
  intervalMs?: number;
  /** Samples kept, 10–100000 (default 600: ten minutes at the default interval; ~3 KB each). */
  capacity?: number;
}

const OPTION_NAMES = ['refreshIntervalMs', 'loopDelayResolutionMs', 'ringCapacity', 'histogramScale', 'watchdog', 'v8Histograms', 'history'];
const HISTORY_OPTION_NAMES = ['intervalMs', 'capacity'];
const WATCHDOG_OPTION_NAMES = ['thresholdMs', 'intervalMs', 'captureStack'];

/** The options as resolved: watchdog is false or every field set. */
export interface ResolvedSamplerOptions {
  refreshIntervalMs: number;
  loopDelayResolutionMs: number;
  ringCapacity: number;
  histogramScale: number;
  watchdog: false | Required<WatchdogOptions>;
  v8Histograms: boolean;
  history: Required<HistorySettings>;
}

/** One GC, as recorded natively at its epilogue. */
export interface GCEvent {
  type: GcTypeName;
  /** Whether the GC was forced (gc(), or the embedder). */
  forced: boolean;
  /** V8's GCCallbackFlags bits. */
  flags: number;
  /** When it began (monotonic ns, process.hrtime clock). */
  startNs: number;
  /** The pause, ns, excluding GCs nested inside it. */
  pauseNs: number;
  /** Wall time from prologue to epilogue, ns, including nested GCs. */
  durationNs: number;
  usedBeforeBytes: number;
  usedAfterBytes: number;
  /** max(0, usedBefore - usedAfter). */
  reclaimedBytes: number;
  /** Used bytes of each heap space after the GC, by V8 space name. */
  spacesUsedAfterBytes: Record<string, number>;
}

export type GCListener = (event: GCEvent) => void;

/** One mark-compact from the block's log (the last 32 are kept there). */
export interface MarkCompactRecord {
  /** Its number: the index-th mark-compact since the sampler started (from 1). */
  index: number;
  /** When it ended (monotonic ns, process.hrtime clock). */
  endNs: number;
  /** Whether it was forced (gc(), or the embedder). */
  forced: boolean;
  /** Heap used right after it, bytes. */
  usedAfterBytes: number;
  /**
   * Old generation used right after it: every heap space but the young ones (new_space,
   * new_large_object_space). What survives mark-compacts: the baseline a leak raises.
   */
  oldGenerationBytes: number;
  /** Used bytes of each heap space right after it, by V8 space name. */
  spacesUsedAfterBytes: Record<string, number>;
}

/** One stall: an event-loop iteration busy for at least the watchdog's threshold. */
export interface StallEvent {
  /** When the iteration began (monotonic ns, process.hrtime clock). */
  startNs: number;
  /** Its busy time, ns (the time it ran, not counting time blocked waiting for events). */
  durationNs: number;
  /** Its wall time, ns. */
  elapsedNs: number;
  /**
   * With watchdog.captureStack: the JavaScript stack while the stall was in progress, in
   * Error.stack's "    at fn (file:line:column)" lines; undefined when none was captured
   * (the stall ended before the capture ran, or it was spent outside JavaScript).
   */
  stack?: string;
}

export type StallListener = (event: StallEvent) => void;

/**
 * What sampler.share() returns: a structured-clonable handle to post to another thread,
 * where Sampler.attach(handle) makes a read-only view of it. The memory is shared, not
 * copied.
 */
export interface SharedSampler {
  readonly kind: 'runtime-sampler/shared';
  readonly version: number;
  readonly buffer: SharedArrayBuffer;
  readonly layout: NativeLayout;
  readonly heapSpaceNames: readonly string[];
  readonly options: ResolvedSamplerOptions;
  readonly threadId: number;
}

const SHARED_KIND = 'runtime-sampler/shared';

const GC_TYPE_BY_BIT: Record<number, GcTypeName> = {
  1: 'scavenge',
  2: 'minorMarkSweep',
  4: 'markSweepCompact',
  8: 'incrementalMarking',
  16: 'processWeakCallbacks',
};
const FORCED_FLAG = 1 << 2;
const MAX_SEQ_RETRIES = 1_000_000;
/**
 * How long a read retries an odd or changing sequence word before it gives up. A writer's
 * section is a few stores; only a writer preempted inside one (or a dead or forged block)
 * holds it longer. The clock is read at the first retry and then every SEQ_CLOCK_EVERY
 * retries, never on the path that succeeds at once.
 */
const SEQ_TIMEOUT_MS = 50;
const SEQ_CLOCK_EVERY = 256;

/**
 * After a failed attempt: returns the time the retries began (`startMs`, or now at the
 * first retry), or throws ERR_SAMPLER_TORN_READ once they have run SEQ_TIMEOUT_MS or
 * MAX_SEQ_RETRIES times.
 */
function retryOrGiveUp(attempt: number, startMs: number, what: string): number {
  if (attempt === 0) return performance.now();
  if (attempt % SEQ_CLOCK_EVERY !== 0 && attempt < MAX_SEQ_RETRIES) return startMs;
  const ms = performance.now() - startMs;
  if (ms < SEQ_TIMEOUT_MS && attempt < MAX_SEQ_RETRIES) return startMs;
  throw new SamplerError(`the writer never finished ${what} (${attempt + 1} attempts over ${ms.toFixed(1)} ms)`, 'ERR_SAMPLER_TORN_READ');
}

/**
 * The seqlock read: runs `copy` until it happened between two equal, even values of the
 * sequence word. Gives up after SEQ_TIMEOUT_MS (a writer that died mid-update, a forged
 * block).
 */
function seqlockRead(seq: Int32Array, copy: () => void, what: string): void {
  let startMs = 0;
  for (let attempt = 0; ; attempt++) {
    const before = Atomics.load(seq, 0);
    copy();
    if ((before & 1) === 0 && Atomics.load(seq, 0) === before) return;
    startMs = retryOrGiveUp(attempt, startMs, what);
  }
}

/** seqlockRead() of one typed-array copy, without a closure (read() must not allocate). */
function seqlockCopy(seq: Int32Array, src: Float64Array, dst: Float64Array, what: string): void {
  let startMs = 0;
  for (let attempt = 0; ; attempt++) {
    const before = Atomics.load(seq, 0);
    dst.set(src);
    if ((before & 1) === 0 && Atomics.load(seq, 0) === before) return;
    startMs = retryOrGiveUp(attempt, startMs, what);
  }
}

/** Views of one native histogram region of the block (header, buckets, sequence word). */
interface NativeHistogramRegion {
  header: Float64Array;
  buckets: Float64Array;
  seq: Int32Array;
}

function nativeHistogramRegion(buffer: ArrayBufferLike, offset: number, buckets: number): NativeHistogramRegion {
  return {
    header: new Float64Array(buffer, offset * 8, C.HIST_HEADER_SLOTS),
    buckets: new Float64Array(buffer, (offset + C.HIST_HEADER_SLOTS) * 8, buckets),
    seq: new Int32Array(buffer, offset * 8, 1),
  };
}

/** Only `undefined` means "use the default"; null and every other value are checked. */
function orDefault<T>(value: unknown, fallback: T): unknown {
  return value === undefined ? fallback : value;
}

function resolveWatchdog(value: unknown): ResolvedSamplerOptions['watchdog'] {
  if (value === undefined || value === false) return false;
  const o = checkObject('watchdog', value === true ? {} : value, 'true, false or an object of { thresholdMs, intervalMs, captureStack }');
  checkKnownOptions('Sampler watchdog', o, WATCHDOG_OPTION_NAMES);
  const w = o as WatchdogOptions;
  const thresholdMs = checkInteger('watchdog.thresholdMs', orDefault(w.thresholdMs, 100), 1, 3_600_000);
  const intervalMs = checkInteger('watchdog.intervalMs', orDefault(w.intervalMs, Math.max(1, Math.min(250, Math.floor(thresholdMs / 4)))), 1, 60_000);
  const captureStack = checkBoolean('watchdog.captureStack', orDefault(w.captureStack, false));
  return { thresholdMs, intervalMs, captureStack };
}

function resolveHistory(value: unknown): Required<HistorySettings> {
  const o = checkObject('history', value === undefined ? {} : value, 'an object of { intervalMs, capacity }');
  checkKnownOptions('Sampler history', o, HISTORY_OPTION_NAMES);
  const h = o as HistorySettings;
  return {
    intervalMs: checkInteger('history.intervalMs', orDefault(h.intervalMs, 1000), 100, 60_000),
    capacity: checkInteger('history.capacity', orDefault(h.capacity, 600), 10, 100_000),
  };
}

const ATTACH = 'Sampler.attach(handle)';
const SHARE_HINT = '(handle must be the object sampler.share() returns)';
/** V8's heap space names ("new_space", …; "" for one V8 did not name): never "__proto__". */
const SPACE_NAME_RE = /^([a-z][a-z0-9_]{0,63})?$/;

/** Reruns a check of a handle's options field, naming it as the handle's. */
function optionField<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof RangeError) throw new RangeError(`${ATTACH}: handle.options: ${e.message}`, { cause: e });
    if (e instanceof TypeError) throw new TypeError(`${ATTACH}: handle.options: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * Validates a share() handle (it may come from another thread, another copy of the
 * package, or be forged) and returns a copy of it, each field read once: the layout must
 * be the one this layout version computes for its ringCapacity and scale, and the buffer
 * large enough for it, so no view can reach outside the buffer.
 */
function checkShared(handle: unknown): SharedSampler {
  if (!isRecord(handle)) {
    throw new TypeError(`${ATTACH}: handle must be the object sampler.share() returns, got ${describeValue(handle)}`);
  }
  const { kind, version, buffer, layout, heapSpaceNames, options, threadId } = handle;
  if (kind !== SHARED_KIND) {
    throw new TypeError(`${ATTACH}: handle.kind must be ${JSON.stringify(SHARED_KIND)}, got ${describeValue(kind)} ${SHARE_HINT}`);
  }
  if (version !== C.LAYOUT_VERSION) {
    throw new SamplerError(`${ATTACH}: the handle has layout version ${describeValue(version)}, this copy of runtime-sampler reads version ${C.LAYOUT_VERSION}`, 'ERR_SAMPLER_INCOMPATIBLE');
  }
  if (!(buffer instanceof SharedArrayBuffer)) {
    throw new TypeError(`${ATTACH}: handle.buffer must be a SharedArrayBuffer, got ${describeValue(buffer)} ${SHARE_HINT}`);
  }
  if (!isRecord(layout)) {
    throw new TypeError(`${ATTACH}: handle.layout must be an object, got ${describeValue(layout)} ${SHARE_HINT}`);
  }
  const l = layout;
  const ringCapacity = checkInteger(`${ATTACH}: handle.layout.ringCapacity`, l.ringCapacity, 64, 65536, true);
  const scale = checkInteger(`${ATTACH}: handle.layout.scale`, l.scale, C.HIST_MIN_SCALE, C.HIST_MAX_SCALE);
  const expected = native.computeLayout(ringCapacity, scale);
  for (const key of Object.keys(expected) as (keyof NativeLayout)[]) {
    const v = l[key];
    if (v !== expected[key]) {
      throw new RangeError(`${ATTACH}: handle.layout.${key} is ${describeValue(v)}; layout version ${C.LAYOUT_VERSION} with ringCapacity ${ringCapacity} and scale ${scale} has ${expected[key]}`);
    }
  }
  if (buffer.byteLength < expected.totalBytes) {
    throw new RangeError(`${ATTACH}: the buffer holds ${buffer.byteLength} bytes, the layout needs ${expected.totalBytes}`);
  }
  if (!isArray(heapSpaceNames)) {
    throw new TypeError(`${ATTACH}: handle.heapSpaceNames must be an array of strings, got ${describeValue(heapSpaceNames)}`);
  }
  const count = heapSpaceNames.length;
  if (count > C.MAX_SPACES) {
    throw new RangeError(`${ATTACH}: handle.heapSpaceNames has ${count} names, the block holds at most ${C.MAX_SPACES} spaces`);
  }
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name: unknown = heapSpaceNames[i];
    if (typeof name !== 'string') {
      throw new TypeError(`${ATTACH}: handle.heapSpaceNames[${i}] must be a string, got ${describeValue(name)}`);
    }
    if (!SPACE_NAME_RE.test(name)) {
      throw new RangeError(`${ATTACH}: handle.heapSpaceNames[${i}] must be a V8 heap space name (${SPACE_NAME_RE}), got ${describeValue(name)}`);
    }
    names.push(name);
  }
  if (!isRecord(options)) {
    throw new TypeError(`${ATTACH}: handle.options must be an object, got ${describeValue(options)}`);
  }
  const o = options;
  const resolved: ResolvedSamplerOptions = {
    refreshIntervalMs: optionField(() => checkInteger('refreshIntervalMs', o.refreshIntervalMs, 10, 60000)),
    loopDelayResolutionMs: optionField(() => checkInteger('loopDelayResolutionMs', o.loopDelayResolutionMs, 1, 1000)),
    ringCapacity: optionField(() => checkInteger('ringCapacity', o.ringCapacity, ringCapacity, ringCapacity)),
    histogramScale: optionField(() => checkInteger('histogramScale', o.histogramScale, scale, scale)),
    watchdog: optionField(() => (o.watchdog === false ? false : resolveWatchdog(checkObject('watchdog', o.watchdog)))),
    v8Histograms: optionField(() => checkBoolean('v8Histograms', o.v8Histograms)),
    history: optionField(() => resolveHistory(checkObject('history', o.history))),
  };
  return {
    kind: SHARED_KIND,
    version: C.LAYOUT_VERSION,
    buffer,
    layout: expected,
    heapSpaceNames: names,
    options: resolved,
    threadId: checkInteger(`${ATTACH}: handle.threadId`, threadId, 0, Number.MAX_SAFE_INTEGER),
  };
}

/**
 * Whether `into` is a Snapshot whose buffers read() may fill. Its fields are readonly only
 * to TypeScript, and an object made from the prototype passes instanceof, so the buffers
 * are checked too; a revoked Proxy's instanceof throws, and is no Snapshot.
 */
function isSnapshot(into: unknown): into is Snapshot {
  try {
    return (
      into instanceof Snapshot &&
      into.slots instanceof Float64Array && into.slots.length === MAIN_REGION_SLOTS &&
      into.stallSlots instanceof Float64Array && into.stallSlots.length === C.STALL_REGION_SLOTS &&
      Array.isArray(into.spaceNames)
    );
  } catch {
    return false;
  }
}

/** Element by element (no join: read(into) allocates nothing, and names may be forged). */
function sameNames(a: readonly unknown[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The sampler's histograms, copied from the shared block on each access. */
export interface SamplerHistograms {
  /** Every GC's pause, ns. */
  readonly gcPause: Histogram;
  /** GC pauses by type, ns. */
  readonly gcPauseByType: Readonly<Record<GcTypeName, Histogram>>;
  /** Loop delay, ns, with monitorEventLoopDelay semantics (the timer's full period). */
  readonly loopDelay: Histogram;
  /** Busy time of each loop iteration, ns. */
  readonly loopIteration: Histogram;
  /**
   * V8's time to safepoint of each GC, ns (microsecond resolution; v8Histograms): how long
   * the GC waited for the threads of the heap to stop.
   */
  readonly gcTimeToSafepoint: Histogram;
}

/** Something analysis attaches to a sampler (its history): made on first use, stopped by close(). */
interface SamplerAttachment {
  stop(): void;
}

/**
 * What a Sampler and a SamplerView share: reading the block. Every histogram lives in the
 * block, so a view on another thread sees exactly what the owner sees. `sampler.history`
 * is defined by analysis/history.ts, which attaches to a sampler (attachment()): the
 * sampler does not depend on analysis.
 */
export abstract class SamplerReader {
  readonly options: Readonly<ResolvedSamplerOptions>;
  readonly histograms: SamplerHistograms;
  /** V8 heap space names, in V8's order: the keys of snapshot.heap.spaces. */
  readonly heapSpaceNames: readonly string[];
  /** The worker threadId of the thread whose runtime this records (0: the main thread). */
  readonly threadId: number;

  /** @internal */ readonly buffer: SharedArrayBuffer;
  /** @internal */ protected readonly layout: NativeLayout;
  protected readonly seq: Int32Array;
  protected readonly main: Float64Array;
  protected readonly stallSeq: Int32Array;
  protected readonly stallRegion: Float64Array;
  private readonly mcLogSeq: Int32Array;
  private readonly mcLog: Float64Array;
  private readonly mcLogCopy: Float64Array;
  private readonly youngSpaces: boolean[];
  private readonly stackHeaders: Float64Array;
  private readonly attachments = new Map<object, SamplerAttachment>();

  protected constructor(buffer: SharedArrayBuffer, layout: NativeLayout, heapSpaceNames: readonly string[], options: ResolvedSamplerOptions, threadId: number) {
    this.buffer = buffer;
    this.layout = layout;
    this.heapSpaceNames = Object.freeze([...heapSpaceNames]);
    this.options = Object.freeze({
      ...options,
      watchdog: options.watchdog && Object.freeze({ ...options.watchdog }),
      history: Object.freeze({ ...options.history }),
    });
    this.threadId = threadId;
    this.seq = new Int32Array(buffer, 0, 1);
    this.main = new Float64Array(buffer, 0, gcReasonsBase(this.heapSpaceNames.length) + C.GC_REASON_KINDS * C.GC_REASON_CODES);
    this.stallSeq = new Int32Array(buffer, layout.stallOffset * 8, 1);
    this.stallRegion = new Float64Array(buffer, layout.stallOffset * 8, C.STALL_REGION_SLOTS);
    const mcLogSlots = C.MC_LOG_HEADER_SLOTS + C.MC_LOG_ENTRIES * C.MC_LOG_ENTRY_SLOTS;
    this.mcLogSeq = new Int32Array(buffer, layout.mcLogOffset * 8, 1);
    this.mcLog = new Float64Array(buffer, layout.mcLogOffset * 8, mcLogSlots);
    this.mcLogCopy = new Float64Array(mcLogSlots);
    this.youngSpaces = this.heapSpaceNames.map((n) => n.startsWith('new_'));
    this.stackHeaders = new Float64Array(buffer, layout.stacksOffset * 8, C.STACK_BUFFERS * C.STACK_BUFFER_SLOTS);
    const scale = options.histogramScale;
    const region = (offset: number): NativeHistogramRegion => nativeHistogramRegion(buffer, offset, layout.histBuckets);
    const fromBlock = (offset: number): (() => Histogram) => {
      const r = region(offset);
      const h = new Histogram(scale);
      return () => this.copyNativeHistogram(r, h);
    };
    const gcAll = fromBlock(layout.gcHistOffset);
    const gcByType = {} as Record<GcTypeName, Histogram>;
    GC_TYPES.forEach((t, i) => {
      const get = fromBlock(layout.gcHistOffset + (i + 1) * layout.histSlots);
      Object.defineProperty(gcByType, t, { get, enumerable: true });
    });
    const loopDelay = fromBlock(layout.loopDelayOffset);
    const loopIteration = fromBlock(layout.loopIterationOffset);
    const safepoint = fromBlock(layout.safepointHistOffset);
    this.histograms = Object.freeze({
      get gcPause(): Histogram { return gcAll(); },
      gcPauseByType: Object.freeze(gcByType),
      get loopDelay(): Histogram { return loopDelay(); },
      get loopIteration(): Histogram { return loopIteration(); },
      get gcTimeToSafepoint(): Histogram { return safepoint(); },
    });
  }

  /** Whether close() has been called on this object. */
  abstract get closed(): boolean;

  /** Whether the writer is gone (its sampler closed, or its thread exited): values are final. */
  get detached(): boolean {
    return this.main[M.WRITER_CLOSED] === 1;
  }

  /**
   * The JavaScript stack most recently captured for a stall (watchdog.captureStack), with
   * its capture number (1, 2, …), or null when none was. Readable from any thread — a view
   * on the monitor thread too — also while that stall is still in progress.
   */
  lastStallStack(): { id: number; stack: string } | null {
    if (this.closed) throw closedError();
    const H = this.stackHeaders;
    for (let attempt = 0; attempt < 4; attempt++) {
      let best = -1;
      for (let i = 0; i < C.STACK_BUFFERS; i++) {
        const id = H[i * C.STACK_BUFFER_SLOTS];
        if (Number.isSafeInteger(id) && id > 0 && (best < 0 || id > H[best * C.STACK_BUFFER_SLOTS])) best = i;
      }
      if (best < 0) return null;
      const id = H[best * C.STACK_BUFFER_SLOTS];
      const stack = this.stackAt(best, id);
      if (stack !== null) return { id, stack };
    }
    return null;
  }

  /**
   * The text of stack buffer `index` if it still holds capture `id`, else null. The writer
   * (a capture on the sampler's thread) zeroes a buffer's id before it rewrites the text
   * and stores the new id last: an id that is the same before and after the copy means the
   * copy is whole (other threads read while it writes).
   */
  protected stackAt(index: number, id: number): string | null {
    const H = this.stackHeaders;
    const base = index * C.STACK_BUFFER_SLOTS;
    const len = H[base + 1];
    if (H[base] !== id || !(Number.isSafeInteger(len) && len >= 0 && len <= (C.STACK_BUFFER_SLOTS - 2) * 8)) return null;
    const bytes = new Uint8Array(this.buffer, (this.layout.stacksOffset + base + 2) * 8, len).slice();
    return H[base] === id ? Buffer.from(bytes).toString('utf8').replace(/\n$/, '') : null;
  }


  /**
   * A consistent copy of every counter and gauge. With `into` (a Snapshot from an earlier
   * read() of a sampler with the same heap spaces) it refills that object in place and
   * allocates nothing.
   */
  read(into?: Snapshot): Snapshot {
    if (this.closed) throw closedError();
    const snap = this.target(into);
    this.copyMain(snap.slots);
    if (snap.slots[M.WATCHDOG_ENABLED] === 1) seqlockCopy(this.stallSeq, this.stallRegion, snap.stallSlots, "the watchdog's update");
    return snap;
  }

  /**
   * The mark-compacts logged after the one numbered `afterIndex` (0: all), oldest first,
   * with the heap right after each. The block logs the last 32, so a caller that looks
   * less often than every 32 mark-compacts misses some (their indexes tell).
   */
  markCompacts(afterIndex = 0): MarkCompactRecord[] {
    if (this.closed) throw closedError();
    if (typeof afterIndex !== 'number' || !Number.isInteger(afterIndex) || afterIndex < 0) {
      throw new TypeError(`markCompacts(afterIndex): afterIndex must be an integer ≥ 0, got ${describeValue(afterIndex)}`);
    }
    const log = this.mcLogCopy;
    seqlockCopy(this.mcLogSeq, this.mcLog, log, 'a mark-compact log update');
    const count = log[C.MC_LOG_COUNT_SLOT];
    const out: MarkCompactRecord[] = [];
    const first = Math.max(afterIndex, count - C.MC_LOG_ENTRIES);
    for (let i = first; i < count; i++) {
      const base = C.MC_LOG_HEADER_SLOTS + (i % C.MC_LOG_ENTRIES) * C.MC_LOG_ENTRY_SLOTS;
      const spaces: Record<string, number> = {};
      let old = 0;
      this.heapSpaceNames.forEach((name, s) => {
        const used = log[base + C.MC_LOG_SPACES_USED_AFTER + s];
        spaces[name] = used;
        if (!this.youngSpaces[s]) old += used;
      });
      out.push({
        index: i + 1,
        endNs: log[base + C.MC_LOG_END_NS],
        forced: (log[base + C.MC_LOG_FLAGS] & FORCED_FLAG) !== 0,
        usedAfterBytes: log[base + C.MC_LOG_USED_AFTER],
        oldGenerationBytes: old,
        spacesUsedAfterBytes: spaces,
      });
    }
    return out;
  }

  /**
   * @internal The attachment of this key, made by `create` on first use; close() stops
   * it. Throws ERR_SAMPLER_CLOSED once closed.
   */
  attachment<T extends SamplerAttachment>(key: object, create: () => T): T {
    if (this.closed) throw closedError();
    let a = this.attachments.get(key);
    if (a === undefined) this.attachments.set(key, (a = create()));
    return a as T;
  }

  /** @internal Stops the attachments' timers (close()). */
  protected stopAttachments(): void {
    for (const a of this.attachments.values()) a.stop();
  }

  /** Sorted descriptions of every metric this sampler records. */
  catalog(): MetricDescription[] {
    return catalog(this.heapSpaceNames);
  }

  /**
   * A handle to this sampler's shared memory, for another thread: post it (postMessage
   * or workerData) and call Sampler.attach(handle) there. Views read; only the owner
   * writes. A view can share onward.
   */
  share(): SharedSampler {
    if (this.closed) throw closedError();
    return Object.freeze({
      kind: SHARED_KIND,
      version: C.LAYOUT_VERSION,
      buffer: this.buffer,
      layout: { ...this.layout },
      heapSpaceNames: [...this.heapSpaceNames],
      options: { ...this.options, watchdog: this.options.watchdog && { ...this.options.watchdog }, history: { ...this.options.history } },
      threadId: this.threadId,
    });
  }

  protected target(into: Snapshot | undefined): Snapshot {
    if (into === undefined) return new Snapshot(this.heapSpaceNames);
    if (!isSnapshot(into)) {
      throw new TypeError(`read(into): into must be a Snapshot returned by read(), got ${describeValue(into)}`);
    }
    const names = into.spaceNames;
    if (names !== this.heapSpaceNames && !sameNames(names, this.heapSpaceNames)) {
      throw new SamplerError('read(into): the snapshot belongs to an isolate with other heap spaces', 'ERR_SAMPLER_INCOMPATIBLE');
    }
    return into;
  }

  /** The seqlock read, with Atomics, for when the writer may run concurrently. */
  protected copyMain(dst: Float64Array): void {
    seqlockCopy(this.seq, this.main, dst, 'an update of the shared block');
  }

  private copyNativeHistogram(region: NativeHistogramRegion, into: Histogram): Histogram {
    if (this.closed) throw closedError();
    const { header, buckets, seq } = region;
    seqlockRead(seq, () => {
      into.counts.set(buckets);
      into.setSummary(header[H.COUNT], header[H.SUM], header[H.MIN], header[H.MAX], header[H.ZERO_COUNT]);
    }, 'a histogram update');
    return into;
  }
}

/**
 * A read-only view of a sampler of another thread (Sampler.attach()): read(), histograms,
 * catalog() and the exporters work as on the owner; starting, stopping and events stay
 * with the owner. When the owner is closed or its thread exits, `detached` turns true and
 * reads return the final values.
 */
export class SamplerView extends SamplerReader {
  private isClosed = false;

  /** @internal Use Sampler.attach(). */
  constructor(handle: SharedSampler) {
    super(handle.buffer, handle.layout, handle.heapSpaceNames, handle.options, handle.threadId);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Stops using the view (the memory is freed once no thread holds it). Idempotent. */
  close(): void {
    this.isClosed = true;
    this.stopAttachments();
  }
}

export class Sampler extends SamplerReader {
  private handle: NativeSamplerHandle | null;
  /** Owner-thread views: over the plain alias of the block when there is one. */
  private readonly ownerSeq: Int32Array;
  private readonly ownerMain: Float64Array;
  private readonly ownerHead: Int32Array;
  /** The ring's head as last drained (signed 32-bit, as the Int32Array view reads it). */
  private tail = 0;
  private readonly ringHead: Int32Array;
  private readonly ringTail: Int32Array;
  private readonly records: Float64Array;
  private readonly recordScratch: Float64Array;
  private readonly ringMask: number;
  private readonly listeners = new Set<GCListener>();
  private readonly stallListeners = new Set<StallListener>();
  private drainTimer: NodeJS.Timeout | null = null;
  private drains = 0;
  private gcEvents = 0;
  private running = false;

  constructor(options: SamplerOptions = {}) {
    checkObject('Sampler options', options);
    checkKnownOptions('Sampler', options, OPTION_NAMES);
    const o: ResolvedSamplerOptions = {
      refreshIntervalMs: checkInteger('refreshIntervalMs', orDefault(options.refreshIntervalMs, 1000), 10, 60000),
      loopDelayResolutionMs: checkInteger('loopDelayResolutionMs', orDefault(options.loopDelayResolutionMs, 10), 1, 1000),
      ringCapacity: checkInteger('ringCapacity', orDefault(options.ringCapacity, 4096), 64, 65536, true),
      histogramScale: checkInteger('histogramScale', orDefault(options.histogramScale, DEFAULT_SCALE), C.HIST_MIN_SCALE, C.HIST_MAX_SCALE),
      watchdog: resolveWatchdog(options.watchdog),
      v8Histograms: checkBoolean('v8Histograms', orDefault(options.v8Histograms, true)),
      history: resolveHistory(options.history),
    };
    const layout = native.computeLayout(o.ringCapacity, o.histogramScale);
    const buffer = new SharedArrayBuffer(layout.totalBytes);
    super(buffer, layout, native.heapSpaceNames(), o, currentThreadId);
    const wd = o.watchdog;
    this.handle = new native.NativeSampler(
      new Float64Array(buffer),
      o.ringCapacity,
      o.histogramScale,
      o.refreshIntervalMs,
      o.loopDelayResolutionMs,
      wd ? wd.thresholdMs : 0,
      wd ? wd.intervalMs : 0,
      wd ? wd.captureStack : false,
      o.v8Histograms,
    );
    const L = layout;
    this.ringHead = new Int32Array(buffer, (L.ringControlOffset + C.RING_HEAD_SLOT) * 8, 1);
    this.ringTail = new Int32Array(buffer, (L.ringControlOffset + C.RING_TAIL_SLOT) * 8, 1);
    // The owning thread reads through a plain ArrayBuffer alias when the runtime allows
    // one: copying out of it is about twice as fast as out of the SharedArrayBuffer.
    const alias: ArrayBufferLike = this.handle.alias() ?? buffer;
    this.ownerSeq = new Int32Array(alias, 0, 1);
    this.ownerMain = new Float64Array(alias, 0, this.main.length);
    this.ownerHead = new Int32Array(alias, (L.ringControlOffset + C.RING_HEAD_SLOT) * 8, 1);
    this.records = new Float64Array(buffer, L.ringRecordsOffset * 8, L.ringCapacity * C.RECORD_SLOTS);
    this.recordScratch = new Float64Array(C.RECORD_SLOTS);
    this.ringMask = L.ringCapacity - 1;
    // This thread is the only writer of these slots (outside the native sequence: each is
    // one aligned 8-byte store).
    this.main[M.THREAD_ID] = currentThreadId;
  }

  /**
   * A read-only view of a shared sampler, usually posted from another thread:
   * `worker.postMessage(sampler.share())` there, `Sampler.attach(handle)` here.
   */
  static attach(handle: SharedSampler): SamplerView {
    return new SamplerView(checkShared(handle));
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.handle === null;
  }
  /** Whether the sampler is recording. */
  get started(): boolean {
    return this.running;
  }

  /** Starts recording. Idempotent; throws ERR_SAMPLER_CLOSED after close(). */
  start(): this {
    if (this.handle === null) throw closedError();
    if (this.running) return this;
    this.handle.start();
    const err = this.options.watchdog ? this.handle.watchdogError() : 0;
    if (err !== 0) {
      this.handle.stop();
      throw new SamplerError(`the watchdog thread could not start (errno ${err})`, 'ERR_SAMPLER_NATIVE');
    }
    this.running = true;
    const period = Math.min(this.options.refreshIntervalMs, 1000);
    this.drainTimer = setInterval(() => this.drain(), period);
    this.drainTimer.unref();
    return this;
  }

  /** Stops recording; counters keep their values and resume on start(). Idempotent. */
  stop(): this {
    if (this.handle === null || !this.running) return this;
    this.handle.stop();
    this.running = false;
    if (this.drainTimer !== null) clearInterval(this.drainTimer);
    this.drainTimer = null;
    this.drain();
    return this;
  }

  /**
   * Stops and releases the native side. Idempotent; reads afterwards throw
   * ERR_SAMPLER_CLOSED here, and views on other threads see `detached`.
   */
  close(): void {
    if (this.handle === null) return;
    this.stop();
    this.stopAttachments();
    this.handle.close();
    this.handle = null;
    this.listeners.clear();
    this.stallListeners.clear();
  }

  /**
   * What times each loop iteration: 'tsc' (the CPU's invariant time-stamp counter,
   * calibrated against the monotonic clock: ~10 ns a read), 'calibrating' (the monotonic
   * clock for the first ~20 ms after the first start), or 'monotonic' (no invariant TSC,
   * or RUNTIME_SAMPLER_CLOCK=monotonic). Timestamps and busy/idle totals always come
   * from the monotonic clock.
   */
  get loopClock(): 'tsc' | 'calibrating' | 'monotonic' {
    if (this.handle === null) throw closedError();
    return this.handle.loopClock();
  }

  /**
   * Refreshes heap and process values now instead of at the next refresh tick, and
   * publishes the loop counters up to now (otherwise at most ~1 ms behind).
   */
  refresh(): this {
    if (this.handle === null) throw closedError();
    this.handle.refresh();
    return this;
  }

  /**
   * A consistent copy of every counter and gauge. With `into` (a Snapshot from an earlier
   * read() of this sampler) it refills that object in place and allocates nothing.
   * Pending GC and stall events are delivered to the listeners first.
   */
  read(into?: Snapshot): Snapshot {
    if (this.handle === null) throw closedError();
    const snap = this.target(into);
    const dst = snap.slots;
    // Drain, then copy; if a GC slipped in between (V8 can collect at any stack check,
    // e.g. to finish incremental marking, not only when allocating), its event is in the
    // ring but its count is in the copy: drain and copy again, so that a snapshot's
    // gcEvents + ringDropped always equals gc.count. This thread is the ring's only
    // consumer, so its tail is known without a load.
    for (let attempt = 0; attempt < 4; attempt++) {
      if (this.ownerHead[0] !== this.tail) this.drain();
      // On the owning thread the writer cannot run during this copy (it writes from GC
      // and loop callbacks; the copy neither allocates nor yields), so one pass suffices.
      // The sequence check stays as a guard and falls back to the full protocol.
      const before = this.ownerSeq[0];
      dst.set(this.ownerMain);
      if ((before & 1) !== 0 || this.ownerSeq[0] !== before) this.copyMain(dst);
      if (this.ownerHead[0] === this.tail) break;
    }
    // The watchdog thread writes its region at any time: the full protocol.
    if (dst[M.WATCHDOG_ENABLED] === 1) seqlockCopy(this.stallSeq, this.stallRegion, snap.stallSlots, "the watchdog's update");
    return snap;
  }

  /** Calls `listener` with every GC event drained from now on (on read(), and at least once a second). */
  onGC(listener: GCListener): () => void {
    checkFunction('onGC(listener): listener', listener);
    if (this.handle === null) throw closedError();
    this.listeners.add(listener);
    return () => this.offGC(listener);
  }

  /** Removes a listener added with onGC(). Returns whether it was registered. */
  offGC(listener: GCListener): boolean {
    return this.listeners.delete(listener);
  }

  /**
   * Calls `listener` with every stall (an iteration busy for at least the watchdog's
   * threshold) once it has ended: on read(), and at least once a second. Needs the
   * `watchdog` option.
   */
  onStall(listener: StallListener): () => void {
    checkFunction('onStall(listener): listener', listener);
    if (this.handle === null) throw closedError();
    if (!this.options.watchdog) {
      throw new SamplerError('onStall() needs the watchdog: new Sampler({ watchdog: { thresholdMs } })', 'ERR_SAMPLER_NO_WATCHDOG');
    }
    this.stallListeners.add(listener);
    return () => this.offStall(listener);
  }

  /** Removes a listener added with onStall(). Returns whether it was registered. */
  offStall(listener: StallListener): boolean {
    return this.stallListeners.delete(listener);
  }

  /** Moves pending events out of the ring to the listeners. Returns how many. */
  drain(): number {
    if (this.handle === null) return 0;
    const head = Atomics.load(this.ringHead, 0) >>> 0;
    let tail = Atomics.load(this.ringTail, 0) >>> 0;
    this.tail = head | 0; // compared with the Int32Array view of head in read()
    if (head === tail) return 0;
    const rec = this.recordScratch;
    const records = this.records;
    let n = 0;
    let events: GCEvent[] | null = null;
    let stalls: StallEvent[] | null = null;
    while (tail !== head) {
      // Copy without allocating (no subarray): a GC here would add a record behind the
      // head we are draining to and make read() report it in gc.count but not gcEvents.
      const base = (tail & this.ringMask) * C.RECORD_SLOTS;
      for (let i = 0; i < C.RECORD_SLOTS; i++) rec[i] = records[base + i];
      tail = (tail + 1) >>> 0;
      Atomics.store(this.ringTail, 0, tail | 0);
      n++;
      if (rec[R.KIND] === C.RECORD_KIND_STALL) {
        (stalls ??= []).push(this.toStall(rec));
        continue;
      }
      if (rec[R.KIND] !== C.RECORD_KIND_GC) continue;
      this.gcEvents++;
      const type = GC_TYPE_BY_BIT[rec[R.GC_TYPE]];
      if (this.listeners.size > 0 && type !== undefined) {
        (events ??= []).push(this.toEvent(rec, type));
      }
    }
    this.drains++;
    // This thread is these slots' only writer (views read them).
    this.main[M.SAMPLER_DRAINS] = this.drains;
    this.main[M.SAMPLER_GC_EVENTS] = this.gcEvents;
    if (events !== null) {
      for (const e of events) for (const l of this.listeners) l(e);
    }
    if (stalls !== null) {
      for (const e of stalls) for (const l of this.stallListeners) l(e);
    }
    return n;
  }

  private toEvent(rec: Float64Array, type: GcTypeName): GCEvent {
    const spaces: Record<string, number> = {};
    this.heapSpaceNames.forEach((name, i) => {
      spaces[name] = rec[R.SPACES_USED_AFTER + i];
    });
    const before = rec[R.USED_BEFORE_BYTES];
    const after = rec[R.USED_AFTER_BYTES];
    return {
      type,
      forced: (rec[R.FLAGS] & FORCED_FLAG) !== 0,
      flags: rec[R.FLAGS],
      startNs: rec[R.START_NS],
      pauseNs: rec[R.PAUSE_NS],
      durationNs: rec[R.DURATION_NS],
      usedBeforeBytes: before,
      usedAfterBytes: after,
      reclaimedBytes: Math.max(0, before - after),
      spacesUsedAfterBytes: spaces,
    };
  }

  private toStall(rec: Float64Array): StallEvent {
    const e: StallEvent = { startNs: rec[R.START_NS], durationNs: rec[R.DURATION_NS], elapsedNs: rec[R.PAUSE_NS] };
    const index = rec[C.RECORD_STALL_STACK_INDEX];
    const id = rec[C.RECORD_STALL_STACK_ID];
    // A later stall's capture may have reused the buffer: the id tells.
    if (Number.isInteger(index) && index >= 0 && index < C.STACK_BUFFERS) {
      const stack = this.stackAt(index, id);
      if (stack !== null) e.stack = stack;
    }
    return e;
  }
}
