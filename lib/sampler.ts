// The Sampler: owns one shared block, starts the native side that writes it, and reads
// it with no native call.
import { native, NativeLayout, NativeSamplerHandle } from './binding';
import { checkInteger, checkKnownOptions, closedError, SamplerError } from './errors';
import { DEFAULT_SCALE, Histogram } from './histogram';
import { HistSlot as H, LAYOUT_CONSTANTS as C, MainSlot as M, RecordSlot as R } from './layout.generated';
import { GC_TYPES, GcTypeName, JsSlot, MAIN_REGION_SLOTS, Snapshot } from './snapshot';
import { catalog, MetricDescription } from './catalog';

export interface SamplerOptions {
  /** How often heap and process values are refreshed, ms (10–60000, default 1000). */
  refreshIntervalMs?: number;
  /** The loop-delay timer's period, ms (1–1000, default 10), as monitorEventLoopDelay's. */
  loopDelayResolutionMs?: number;
  /** GC events the ring holds between drains: a power of two, 64–65536 (default 4096). */
  ringCapacity?: number;
  /**
   * Histogram precision: 2^scale buckets per power of two (0–8, default 6: percentiles
   * within 0.54%; 5 gives 1.1%, 7 gives 0.27%).
   */
  histogramScale?: number;
}

const OPTION_NAMES = ['refreshIntervalMs', 'loopDelayResolutionMs', 'ringCapacity', 'histogramScale'];

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
 * The seqlock read: runs `copy` until it happened between two equal, even values of the
 * sequence word. Gives up after MAX_SEQ_RETRIES (a writer that died mid-update).
 */
function seqlockRead(seq: Int32Array, copy: () => void, what: string): void {
  for (let attempt = 0; ; attempt++) {
    const before = Atomics.load(seq, 0);
    copy();
    if ((before & 1) === 0 && Atomics.load(seq, 0) === before) return;
    if (attempt === MAX_SEQ_RETRIES) {
      throw new SamplerError(`the writer never finished ${what}`, 'ERR_SAMPLER_TORN_READ');
    }
  }
}

/** Views of one native histogram region of the block (header, buckets, sequence word). */
interface NativeHistogramRegion {
  header: Float64Array;
  buckets: Float64Array;
  seq: Int32Array;
}

function nativeHistogramRegion(buffer: SharedArrayBuffer, offset: number, buckets: number): NativeHistogramRegion {
  return {
    header: new Float64Array(buffer, offset * 8, C.HIST_HEADER_SLOTS),
    buckets: new Float64Array(buffer, (offset + C.HIST_HEADER_SLOTS) * 8, buckets),
    seq: new Int32Array(buffer, offset * 8, 1),
  };
}

/** Only `undefined` means "use the default"; null and every other value are checked. */
function orDefault(value: unknown, fallback: number): unknown {
  return value === undefined ? fallback : value;
}

/** The sampler's histograms. loopDelay and loopIteration are copied from native memory on access. */
export interface SamplerHistograms {
  /** Every GC's pause, ns. */
  readonly gcPause: Histogram;
  /** GC pauses by type, ns. */
  readonly gcPauseByType: Readonly<Record<GcTypeName, Histogram>>;
  /** Loop delay, ns, with monitorEventLoopDelay semantics (the timer's full period). */
  readonly loopDelay: Histogram;
  /** Busy time of each loop iteration, ns. */
  readonly loopIteration: Histogram;
}

export class Sampler {
  readonly options: Readonly<Required<SamplerOptions>>;
  readonly histograms: SamplerHistograms;
  /** V8 heap space names, in V8's order: the keys of snapshot.heap.spaces. */
  readonly heapSpaceNames: readonly string[];

  /** @internal */ readonly buffer: SharedArrayBuffer;
  private readonly layout: NativeLayout;
  private handle: NativeSamplerHandle | null;
  private readonly seq: Int32Array;
  private readonly main: Float64Array;
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
  private readonly gcPause: Histogram;
  private readonly gcPauseByType: Record<GcTypeName, Histogram>;
  private readonly loopDelayHist: Histogram;
  private readonly loopIterationHist: Histogram;
  private readonly loopDelayRegion: NativeHistogramRegion;
  private readonly loopIterationRegion: NativeHistogramRegion;
  private readonly listeners = new Set<GCListener>();
  private drainTimer: NodeJS.Timeout | null = null;
  private drains = 0;
  private gcEvents = 0;
  private running = false;

  constructor(options: SamplerOptions = {}) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError(`Sampler options must be an object, got ${options === null ? 'null' : typeof options}`);
    }
    checkKnownOptions('Sampler', options, OPTION_NAMES);
    const o = {
      refreshIntervalMs: checkInteger('refreshIntervalMs', orDefault(options.refreshIntervalMs, 1000), 10, 60000),
      loopDelayResolutionMs: checkInteger('loopDelayResolutionMs', orDefault(options.loopDelayResolutionMs, 10), 1, 1000),
      ringCapacity: checkInteger('ringCapacity', orDefault(options.ringCapacity, 4096), 64, 65536, true),
      histogramScale: checkInteger('histogramScale', orDefault(options.histogramScale, DEFAULT_SCALE), C.HIST_MIN_SCALE, C.HIST_MAX_SCALE),
    };
    this.options = Object.freeze(o);
    this.layout = native.computeLayout(o.ringCapacity, o.histogramScale);
    this.buffer = new SharedArrayBuffer(this.layout.totalBytes);
    const block = new Float64Array(this.buffer);
    this.heapSpaceNames = Object.freeze(native.heapSpaceNames());
    this.handle = new native.NativeSampler(
      block,
      o.ringCapacity,
      o.histogramScale,
      o.refreshIntervalMs,
      o.loopDelayResolutionMs,
    );
    const L = this.layout;
    this.seq = new Int32Array(this.buffer, 0, 1);
    this.main = new Float64Array(this.buffer, 0, M.SPACES_BASE + this.heapSpaceNames.length * C.SPACE_SLOTS);
    this.ringHead = new Int32Array(this.buffer, (L.ringControlOffset + C.RING_HEAD_SLOT) * 8, 1);
    this.ringTail = new Int32Array(this.buffer, (L.ringControlOffset + C.RING_TAIL_SLOT) * 8, 1);
    // The owning thread reads through a plain ArrayBuffer alias when the runtime allows
    // one: copying out of it is about twice as fast as out of the SharedArrayBuffer.
    const alias: ArrayBufferLike = this.handle.alias() ?? this.buffer;
    this.ownerSeq = new Int32Array(alias, 0, 1);
    this.ownerMain = new Float64Array(alias, 0, this.main.length);
    this.ownerHead = new Int32Array(alias, (L.ringControlOffset + C.RING_HEAD_SLOT) * 8, 1);
    this.records = new Float64Array(this.buffer, L.ringRecordsOffset * 8, L.ringCapacity * C.RECORD_SLOTS);
    this.recordScratch = new Float64Array(C.RECORD_SLOTS);
    this.ringMask = L.ringCapacity - 1;
    this.gcPause = new Histogram(o.histogramScale);
    const byType = {} as Record<GcTypeName, Histogram>;
    for (const t of GC_TYPES) byType[t] = new Histogram(o.histogramScale);
    this.gcPauseByType = byType;
    this.loopDelayHist = new Histogram(o.histogramScale);
    this.loopIterationHist = new Histogram(o.histogramScale);
    this.loopDelayRegion = nativeHistogramRegion(this.buffer, L.loopDelayOffset, L.histBuckets);
    this.loopIterationRegion = nativeHistogramRegion(this.buffer, L.loopIterationOffset, L.histBuckets);
    const self = this;
    this.histograms = Object.freeze({
      gcPause: this.gcPause,
      gcPauseByType: Object.freeze(byType),
      get loopDelay(): Histogram {
        return self.copyNativeHistogram(self.loopDelayRegion, self.loopDelayHist);
      },
      get loopIteration(): Histogram {
        return self.copyNativeHistogram(self.loopIterationRegion, self.loopIterationHist);
      },
    });
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

  /** Stops and releases the native side. Idempotent; reads afterwards throw ERR_SAMPLER_CLOSED. */
  close(): void {
    if (this.handle === null) return;
    this.stop();
    this.handle.close();
    this.handle = null;
    this.listeners.clear();
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
   * Pending GC events are drained into the histograms first.
   */
  read(into?: Snapshot): Snapshot {
    if (this.handle === null) throw closedError();
    let snap: Snapshot;
    if (into === undefined) {
      snap = new Snapshot(this.heapSpaceNames);
    } else {
      if (!(into instanceof Snapshot)) {
        throw new TypeError('read(into): into must be a Snapshot returned by read()');
      }
      if (into.spaceNames !== this.heapSpaceNames && into.spaceNames.join() !== this.heapSpaceNames.join()) {
        throw new SamplerError('read(into): the snapshot belongs to an isolate with other heap spaces', 'ERR_SAMPLER_INCOMPATIBLE');
      }
      snap = into;
    }
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
      if ((before & 1) !== 0 || this.ownerSeq[0] !== before) this.copyConsistent(dst);
      if (this.ownerHead[0] === this.tail) break;
    }
    dst[MAIN_REGION_SLOTS + JsSlot.DRAINS] = this.drains;
    dst[MAIN_REGION_SLOTS + JsSlot.GC_EVENTS] = this.gcEvents;
    return snap;
  }

  /** The seqlock read, with Atomics, for when a writer may run concurrently. */
  private copyConsistent(dst: Float64Array): void {
    seqlockRead(this.seq, () => dst.set(this.main), 'an update of the shared block');
  }

  /** Calls `listener` with every GC event drained from now on (on read(), and at least once a second). */
  onGC(listener: GCListener): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`onGC(listener): listener must be a function, got ${typeof listener}`);
    }
    if (this.handle === null) throw closedError();
    this.listeners.add(listener);
    return () => this.offGC(listener);
  }

  /** Removes a listener added with onGC(). Returns whether it was registered. */
  offGC(listener: GCListener): boolean {
    return this.listeners.delete(listener);
  }

  /** Moves pending GC events from the ring into the histograms and listeners. Returns how many. */
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
    while (tail !== head) {
      // Copy without allocating (no subarray): a GC here would add a record behind the
      // head we are draining to and make read() report it in gc.count but not gcEvents.
      const base = (tail & this.ringMask) * C.RECORD_SLOTS;
      for (let i = 0; i < C.RECORD_SLOTS; i++) rec[i] = records[base + i];
      tail = (tail + 1) >>> 0;
      Atomics.store(this.ringTail, 0, tail | 0);
      n++;
      if (rec[R.KIND] !== C.RECORD_KIND_GC) continue;
      const type = GC_TYPE_BY_BIT[rec[R.GC_TYPE]];
      const pause = rec[R.PAUSE_NS];
      this.gcPause.record(pause);
      if (type !== undefined) this.gcPauseByType[type].record(pause);
      if (this.listeners.size > 0 && type !== undefined) {
        (events ??= []).push(this.toEvent(rec, type));
      }
    }
    this.drains++;
    this.gcEvents += n;
    if (events !== null) {
      for (const e of events) for (const l of this.listeners) l(e);
    }
    return n;
  }

  /** Sorted descriptions of every metric this sampler records. */
  catalog(): MetricDescription[] {
    return catalog(this.heapSpaceNames);
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

  private copyNativeHistogram(region: NativeHistogramRegion, into: Histogram): Histogram {
    if (this.handle === null) throw closedError();
    const { header, buckets, seq } = region;
    seqlockRead(seq, () => {
      into.counts.set(buckets);
      into.setSummary(header[H.COUNT], header[H.SUM], header[H.MIN], header[H.MAX], header[H.ZERO_COUNT]);
    }, 'a histogram update');
    return into;
  }

}
