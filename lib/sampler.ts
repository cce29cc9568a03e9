// The Sampler: owns one shared block, starts the native side that writes it, and reads
// it with no native call. A SamplerView reads another thread's sampler through the same
// SharedArrayBuffer (sampler.share() → Sampler.attach(handle)).
import { performance } from 'node:perf_hooks';
import { threadId as currentThreadId } from 'node:worker_threads';
import { native, NativeLayout, NativeSamplerHandle } from './binding';
import { readEnv } from './binary-choice';
import { DEFAULT_SCALE, Histogram, INDEX_OFFSET, bucketIndex } from './histogram';
import {
  HistSlot as H, LAYOUT_CONSTANTS as C, MainSlot as M, RecordSlot as R,
} from './layout.generated';
import { GC_TYPES, GcTypeName, gcReasonsBase, MAIN_REGION_SLOTS, Snapshot } from './snapshot';
import { catalog, MetricDescription } from './catalog';
import { closedError, describeValue, isArray, isRecord, SamplerError } from './errors';
import { StallProfile } from './stall-profile';
import { LOOP_TIMINGS, LoopTiming } from './loop-timing';
export { LOOP_TIMINGS } from './loop-timing';
export type { LoopTiming } from './loop-timing';
import { checkBoolean, checkFunction, checkInteger, checkKnownOptions, checkObject, checkOneOf, checkString } from './options';
import { join as joinPath, resolve as resolvePath } from 'node:path';
import {
  cleanDir, createPublished, defaultPublishDir, keepDeadFromEnv, NativePublished, parseMeta, PublishedBlock, PublishedMeta, startDate, writerAlive,
} from './published';

export interface WatchdogOptions {
  /** An iteration busy this long is a stall, ms (1–3600000, default 100). */
  thresholdMs?: number;
  /** How often the watchdog thread looks, ms (1–60000, default thresholdMs / 4, at most 250). */
  intervalMs?: number;
  /** Capture the JavaScript stack of the stalled code (default false; true with profile). */
  captureStack?: boolean;
  /**
   * Profile each stall (default false): while it lasts, sample the JavaScript stack every
   * profileIntervalMs; the stall event then carries `profile` (a StallProfile). Implies
   * captureStack.
   */
  profile?: boolean;
  /** The profile's mean sampling interval, ms (1–1000, default 10; the intervals are exponentially distributed around it). Needs profile: true (resolved options say 0 without). */
  profileIntervalMs?: number;
}

export interface SamplerOptions {
  /** How often heap and process values are refreshed, ms (10–60000, default 1000). */
  refreshIntervalMs?: number;
  /** The loop-delay timer's period, ms (1–1000, default 10), as monitorEventLoopDelay's. */
  loopDelayResolutionMs?: number;
  /**
   * How event-loop time is taken (default 'iteration'). 'iteration': a check hook times
   * every iteration (~30 ns each): the iteration histogram, last/max iteration, stalls
   * measured to the iteration, counters published every millisecond. 'totals': no
   * per-iteration hook at all (0 ns an iteration): busy/idle totals, iterations and events
   * from libuv every 10 ms (exact all the same), no iteration histogram or last/max
   * iteration (NaN), stalls seen by the watchdog only, their durations bounded to within
   * 10 ms. Needs libuv 1.45 (Node 20+); below it the sampler keeps 'iteration'
   * (`sampler.loopTiming` says which runs).
   */
  loopTiming?: LoopTiming;
  /** GC and stall events the ring holds between drains: a power of two, 64–65536 (default 4096; 1024 when published). */
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
   * The threadpool probe's period, ms: 0 (off) or 10–60000 (default 1000). Every period an
   * empty work item is queued on libuv's threadpool (fs, dns.lookup, crypto, zlib) and the
   * time until a pool thread starts it is recorded (histograms.threadpoolDelay,
   * snapshot.threadpool); never a second while one waits. The pool size
   * (snapshot.threadpool.size, from UV_THREADPOOL_SIZE) is reported either way.
   */
  threadpoolProbeMs?: number;
  /**
   * The history diagnose() and watchers read (sampler.history): a ring of `capacity`
   * snapshots taken every `intervalMs`. It begins the first time it is needed; touch
   * sampler.history at start-up to have it from then on.
   */
  history?: HistorySettings;
  /**
   * Publish the block in a file other processes of this user can read
   * (Sampler.open(pid), `runtime-sampler top`), also after this process died: `true`, or
   * `{ dir }`. The directory defaults to RUNTIME_SAMPLER_DIR, else
   * $XDG_RUNTIME_DIR/runtime-sampler, else /dev/shm/runtime-sampler-<uid>. Writing costs the
   * same. When the directory or the file is refused (not ours, not private, no space) the
   * sampler runs unpublished and one process warning says why (`publishedPath` is null).
   * Off by default; the preload publishes unless RUNTIME_SAMPLER_PUBLISH=0.
   */
  publish?: boolean | PublishSettings;
  /**
   * Where the container limits and pressure (snapshot.container) are read from. By default
   * (undefined) RUNTIME_SAMPLER_CGROUP_ROOT if set, else the process's own cgroup, found
   * from /proc/self/cgroup and /proc/self/mountinfo (cgroup v1, v2 or both). A path: a
   * directory standing for the cgroup mounts (a test's fixture tree, an unusual mount; its
   * layout is in docs/containers.md). null: the process's own cgroup whatever the
   * environment says. false: none (snapshot.container is all NaN). Resolved once, when the
   * sampler is made; the refresh timer re-reads the files. A path that holds no cgroup is
   * no error: cgroupVersion is 0 and the values NaN.
   */
  cgroupRoot?: string | null | false;
}

/** Where to publish (see SamplerOptions.publish). */
export interface PublishSettings {
  /** The directory (made 0700 when missing; used only when it is ours and private). */
  dir?: string;
}

/** The history's settings (see SamplerOptions.history). */
export interface HistorySettings {
  /** Time between samples, ms (100–60000, default 1000). */
  intervalMs?: number;
  /** Samples kept, 10–100000 (default 600: ten minutes at the default interval; ~3 KB each). */
  capacity?: number;
}

const OPTION_NAMES = ['refreshIntervalMs', 'loopDelayResolutionMs', 'loopTiming', 'ringCapacity', 'histogramScale', 'watchdog', 'v8Histograms', 'threadpoolProbeMs', 'history', 'publish', 'cgroupRoot'];
const HISTORY_OPTION_NAMES = ['intervalMs', 'capacity'];
const WATCHDOG_OPTION_NAMES = ['thresholdMs', 'intervalMs', 'captureStack', 'profile', 'profileIntervalMs'];

/** The options as resolved: watchdog is false or every field set. */
export interface ResolvedSamplerOptions {
  refreshIntervalMs: number;
  loopDelayResolutionMs: number;
  /** As asked; `sampler.loopTiming` says which runs. */
  loopTiming: LoopTiming;
  ringCapacity: number;
  histogramScale: number;
  watchdog: false | Required<WatchdogOptions>;
  v8Histograms: boolean;
  threadpoolProbeMs: number;
  history: Required<HistorySettings>;
  /** The cgroup root read (an absolute path), null for the process's own cgroup, false for none. */
  cgroupRoot: string | null | false;
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
  /**
   * With watchdog.profile: the stacks sampled while the stall lasted (from when the watchdog
   * saw it, one threshold in), with toCpuProfile() and toFolded(); undefined when no sample
   * was taken (the stall was spent outside JavaScript), and for the oldest when more than 4
   * profiled stalls ended between two drains (the native side keeps 4).
   */
  profile?: StallProfile;
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
/** A backstop behind the time bound: far more attempts than 50 ms allows (~30 ns each). */
const MAX_SEQ_RETRIES = 10_000_000;
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
function seqlockRead(seq: Int32Array, copy: () => void, what: string, torn: TornRegions | null): void {
  let startMs = 0;
  for (let attempt = 0; ; attempt++) {
    const before = Atomics.load(seq, 0);
    copy();
    if ((before & 1) === 0 && Atomics.load(seq, 0) === before) return;
    if (attempt === 0 && torn !== null && torn.writerGone()) return torn.note(what);
    startMs = retryOrGiveUp(attempt, startMs, what);
  }
}

/** The bucket range a histogram copy holds (copyNativeHistogram). */
interface CopiedRange {
  first: number;
  last: number;
  count: number;
}

/** seqlockRead() of one typed-array copy, without a closure (read() must not allocate). */
function seqlockCopy(seq: Int32Array, src: Float64Array, dst: Float64Array, what: string, torn: TornRegions | null): void {
  let startMs = 0;
  for (let attempt = 0; ; attempt++) {
    const before = Atomics.load(seq, 0);
    dst.set(src);
    if ((before & 1) === 0 && Atomics.load(seq, 0) === before) return;
    if (attempt === 0 && torn !== null && torn.writerGone()) return torn.note(what);
    startMs = retryOrGiveUp(attempt, startMs, what);
  }
}

/**
 * A reader of a writer that may be dead (a published block): a writer killed inside an
 * update leaves that region's sequence word odd forever. Once the writer is known gone the
 * region cannot change any more: it is copied once as it is and named here, not retried.
 */
interface TornRegions {
  writerGone(): boolean;
  note(what: string): void;
}

/** The GC event of a ring record. */
function gcEventOf(rec: Float64Array, type: GcTypeName, spaceNames: readonly string[]): GCEvent {
  const spaces: Record<string, number> = {};
  spaceNames.forEach((name, i) => {
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
  const o = checkObject('watchdog', value === true ? {} : value, 'true, false or an object of { thresholdMs, intervalMs, captureStack, profile, profileIntervalMs }');
  checkKnownOptions('Sampler watchdog', o, WATCHDOG_OPTION_NAMES);
  const w = o as WatchdogOptions;
  const thresholdMs = checkInteger('watchdog.thresholdMs', orDefault(w.thresholdMs, 100), 1, 3_600_000);
  const intervalMs = checkInteger('watchdog.intervalMs', orDefault(w.intervalMs, Math.max(1, Math.min(250, Math.floor(thresholdMs / 4)))), 1, 60_000);
  const profile = checkBoolean('watchdog.profile', orDefault(w.profile, false));
  const captureStack = checkBoolean('watchdog.captureStack', orDefault(w.captureStack, profile));
  if (profile && !captureStack) {
    throw new TypeError('watchdog.captureStack: false contradicts watchdog.profile: true (a profile captures the stack); leave captureStack out');
  }
  // Resolved options say 0 without a profile (a view re-resolves its owner's options).
  if (!profile && w.profileIntervalMs !== undefined && w.profileIntervalMs !== 0) {
    throw new TypeError(`watchdog.profileIntervalMs (${describeValue(w.profileIntervalMs)}) needs watchdog.profile: true`);
  }
  const profileIntervalMs = profile ? checkInteger('watchdog.profileIntervalMs', orDefault(w.profileIntervalMs, 10), 1, 1000) : 0;
  return { thresholdMs, intervalMs, captureStack, profile, profileIntervalMs };
}

/** The threadpool probe's period: 0 (off) or an integer from 10 to 60000 ms. */
function checkThreadpoolProbeMs(value: unknown): number {
  if (value === 0) return 0;
  if (typeof value !== 'number') {
    throw new TypeError(`threadpoolProbeMs must be a number (0 for no probe, or an integer from 10 to 60000), got ${describeValue(value)}`);
  }
  if (!Number.isInteger(value) || value < 10 || value > 60_000) {
    throw new RangeError(`threadpoolProbeMs must be 0 (no probe) or an integer from 10 to 60000, got ${describeValue(value)}`);
  }
  return value;
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
    // (A handle from a version before loopTiming has none: 'iteration' then.)
    loopTiming: optionField(() => checkOneOf('loopTiming', orDefault(o.loopTiming, 'iteration'), LOOP_TIMINGS)),
    ringCapacity: optionField(() => checkInteger('ringCapacity', o.ringCapacity, ringCapacity, ringCapacity)),
    histogramScale: optionField(() => checkInteger('histogramScale', o.histogramScale, scale, scale)),
    watchdog: optionField(() => (o.watchdog === false ? false : resolveWatchdog(checkObject('watchdog', o.watchdog)))),
    v8Histograms: optionField(() => checkBoolean('v8Histograms', o.v8Histograms)),
    threadpoolProbeMs: optionField(() => checkThreadpoolProbeMs(o.threadpoolProbeMs)),
    history: optionField(() => resolveHistory(checkObject('history', o.history))),
    cgroupRoot: optionField(() => checkCgroupRoot('cgroupRoot', o.cgroupRoot)),
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
 * The longest cgroupRoot: the cgroup files' paths under it must stay below PATH_MAX, and it
 * travels in a published block's 2 KiB description (the options).
 */
const MAX_CGROUP_ROOT_BYTES = 1024;
const CGROUP_ROOT_ACCEPTED = 'a directory path (at most 1024 bytes, no NUL), null (the process\'s own cgroup) or false (none)';

/** A cgroupRoot value, checked: an absolute path, null or false. `option` names where it came from. */
export function checkCgroupRoot(option: string, value: unknown): string | null | false {
  if (value === null || value === false) return value;
  if (typeof value !== 'string') throw new TypeError(`${option} must be ${CGROUP_ROOT_ACCEPTED}, got ${describeValue(value)}`);
  const path = value === '' || value.includes('\0') ? '' : resolvePath(value);
  if (path === '' || Buffer.byteLength(path) > MAX_CGROUP_ROOT_BYTES) {
    throw new RangeError(`${option} must be ${CGROUP_ROOT_ACCEPTED}, got ${describeValue(value)}`);
  }
  return path;
}

/** The cgroupRoot option as resolved: the option, else RUNTIME_SAMPLER_CGROUP_ROOT, else null. */
function resolveCgroupRoot(value: unknown): string | null | false {
  if (value !== undefined) return checkCgroupRoot('cgroupRoot', value);
  const env = readEnv('RUNTIME_SAMPLER_CGROUP_ROOT')?.trim();
  return env === undefined || env === '' ? null : checkCgroupRoot('RUNTIME_SAMPLER_CGROUP_ROOT', env);
}

/** The directory `publish` asks for, or null when it does not. */
function resolvePublish(value: unknown): string | null {
  if (value === undefined || value === false) return null;
  if (value === true) return defaultPublishDir();
  const o = checkObject('publish', value, 'true, false or an object of { dir }');
  checkKnownOptions('Sampler publish', o, ['dir']);
  if (o.dir === undefined) return defaultPublishDir();
  const dir = checkString('publish.dir', o.dir, /^[^\0]+$/, 'a directory path');
  return resolvePath(dir);
}

const warned = new Set<string>();
function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(message, { type: 'RuntimeSamplerWarning', code: 'RUNTIME_SAMPLER_PUBLISH' });
}

const swept = new Set<string>();

/** Publishes a new block in `dir`, or warns once and returns why not (the sampler runs unpublished). */
function tryPublish(dir: string, layout: NativeLayout, heapSpaceNames: string[], options: ResolvedSamplerOptions): PublishedBlock | string {
  const meta: PublishedMeta = {
    version: C.LAYOUT_VERSION,
    layout,
    heapSpaceNames,
    options,
    threadId: currentThreadId,
    processStartMs: Math.round(performance.timeOrigin),
  };
  let block: PublishedBlock;
  try {
    block = createPublished(dir, layout, meta, currentThreadId);
  } catch (e) {
    warnOnce(`publish ${dir}`, `runtime-sampler: not publishing (${(e as Error).message}); the sampler runs unpublished`);
    return (e as Error).message;
  }
  if (!swept.has(dir)) {
    swept.add(dir);
    const keep = keepDeadFromEnv();
    if (keep.problem !== null) warnOnce('keep-dead', `runtime-sampler: ${keep.problem}`);
    try {
      cleanDir(dir, keep.ms);
    } catch {
      // a sweep that fails leaves files for the next one
    }
  }
  return block;
}

/** Published files of this thread still open at exit (close() removes its own). */
const publishedAtExit = new Map<string, { block: PublishedBlock; handle: NativeSamplerHandle }>();
let exitHookInstalled = false;
function removeAtExit(block: PublishedBlock, handle: NativeSamplerHandle): void {
  publishedAtExit.set(block.path, { block, handle });
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // An exit with code 0 removes the files (process.exit(0) included; the native side also
  // removes them when a worker's environment is torn down). Any other exit code — an
  // uncaught exception, a failure — keeps them for post-mortem reading, as a crash, a
  // signal or an OOM kill does; the next publisher removes them after the keep period.
  process.once('exit', (code) => {
    for (const { block, handle } of publishedAtExit.values()) {
      if (code === 0) native.unpublish(block.dir, block.name);
      else handle.keepPublished();
    }
    publishedAtExit.clear();
  });
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
  /**
   * The threadpool probe's delay, ns (threadpoolProbeMs): from queuing an empty work item
   * on libuv's threadpool to a pool thread starting it.
   */
  readonly threadpoolDelay: Histogram;
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
  private readonly ringHeadView: Int32Array;
  private readonly ringRecords: Float64Array;
  /** Set by readers of a writer that may die (published blocks); null: retry, then throw. */
  protected torn: TornRegions | null = null;
  private readonly tornSeen = new Set<string>();

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
    this.ringHeadView = new Int32Array(buffer, (layout.ringControlOffset + C.RING_HEAD_SLOT) * 8, 1);
    this.ringRecords = new Float64Array(buffer, layout.ringRecordsOffset * 8, layout.ringCapacity * C.RECORD_SLOTS);
    const scale = options.histogramScale;
    const region = (offset: number): NativeHistogramRegion => nativeHistogramRegion(buffer, offset, layout.histBuckets);
    const fromBlock = (offset: number, name: string): (() => Histogram) => {
      const r = region(offset);
      const h = new Histogram(scale);
      const what = `an update of the ${name} histogram`;
      const copied: CopiedRange = { first: 0, last: -1, count: 0 };
      return () => this.copyNativeHistogram(r, h, what, copied);
    };
    const gcAll = fromBlock(layout.gcHistOffset, 'gcPause');
    const gcByType = {} as Record<GcTypeName, Histogram>;
    GC_TYPES.forEach((t, i) => {
      const get = fromBlock(layout.gcHistOffset + (i + 1) * layout.histSlots, `gcPauseByType.${t}`);
      Object.defineProperty(gcByType, t, { get, enumerable: true });
    });
    const loopDelay = fromBlock(layout.loopDelayOffset, 'loopDelay');
    const loopIteration = fromBlock(layout.loopIterationOffset, 'loopIteration');
    const safepoint = fromBlock(layout.safepointHistOffset, 'gcTimeToSafepoint');
    const threadpoolDelay = fromBlock(layout.threadpoolHistOffset, 'threadpoolDelay');
    this.histograms = Object.freeze({
      get gcPause(): Histogram { return gcAll(); },
      gcPauseByType: Object.freeze(gcByType),
      get loopDelay(): Histogram { return loopDelay(); },
      get loopIteration(): Histogram { return loopIteration(); },
      get gcTimeToSafepoint(): Histogram { return safepoint(); },
      get threadpoolDelay(): Histogram { return threadpoolDelay(); },
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
    if (snap.slots[M.WATCHDOG_ENABLED] === 1) seqlockCopy(this.stallSeq, this.stallRegion, snap.stallSlots, "the watchdog's update", this.torn);
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
    seqlockCopy(this.mcLogSeq, this.mcLog, log, 'a mark-compact log update', this.torn);
    const count = log[C.MC_LOG_COUNT_SLOT];
    const out: MarkCompactRecord[] = [];
    // The count comes from the block (another process's file, maybe forged): past 2^53,
    // `i++` stops advancing and the loop below would never end.
    if (!Number.isSafeInteger(count) || count < 0) return out;
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
    seqlockCopy(this.seq, this.main, dst, 'an update of the shared block', this.torn);
  }

  /**
   * Copies a native histogram into `into`: only the buckets between those of its min and
   * max (a loop-delay histogram fills a few dozen of its ~2,800; the exporters read three
   * or more histograms per scrape), zeroing what an earlier copy left outside that range.
   * `copied` remembers the range `into` holds; if `into` was changed since (its count is
   * not the one copied), the whole histogram is copied.
   */
  private copyNativeHistogram(region: NativeHistogramRegion, into: Histogram, what: string, copied: CopiedRange): Histogram {
    if (this.closed) throw closedError();
    const { header, buckets, seq } = region;
    const n = buckets.length;
    seqlockRead(seq, () => {
      const count = header[H.COUNT];
      const min = header[H.MIN];
      const max = header[H.MAX];
      let first = 0;
      let last = n - 1;
      if (!(count > 0)) {
        last = -1;
      } else if (min > 1 && max >= min && max < Infinity) {
        // One bucket of slack each side: the native and JS bucket index of a value on a
        // boundary may differ by one.
        first = Math.max(0, bucketIndex(min, into.scale) - INDEX_OFFSET - 1);
        last = Math.min(n - 1, bucketIndex(max, into.scale) - INDEX_OFFSET + 1);
      }
      const counts = into.counts;
      if (into.count !== copied.count) {
        counts.fill(0);
      } else {
        if (copied.first < first) counts.fill(0, copied.first, Math.min(first, copied.last + 1));
        if (copied.last > last) counts.fill(0, Math.max(last + 1, copied.first), copied.last + 1);
      }
      if (last >= first) counts.set(buckets.subarray(first, last + 1), first);
      into.setSummary(count, header[H.SUM], min, max, header[H.ZERO_COUNT]);
      copied.first = first;
      copied.last = last;
      copied.count = into.count;
    }, what, this.torn);
    return into;
  }


  /**
   * Regions a dead writer left in the middle of an update (its sequence word odd for
   * good), as found by reads so far: their values were read as they are and may be
   * inconsistent; every other region is whole. Empty for a live writer.
   */
  get tornRegions(): string[] {
    return [...this.tornSeen];
  }

  /** @internal For TornRegions.note(). */
  protected noteTorn(what: string): void {
    this.tornSeen.add(what);
  }

  /**
   * The last `count` GCs the ring holds (1–ringCapacity, default 10; at most ringCapacity − 1
   * are returned), oldest first, read
   * without consuming them: the owner's listeners still get every event. What a reader in
   * another thread or process (a post-mortem included) sees of individual GCs; the ring
   * keeps the last ringCapacity events.
   */
  recentGCs(count = 10): GCEvent[] {
    if (this.closed) throw closedError();
    const cap = this.layout.ringCapacity;
    const n0 = checkInteger('recentGCs(count): count', count, 1, cap);
    const head = Atomics.load(this.ringHeadView, 0) >>> 0;
    // Not the slot of index head - cap: the writer may be writing the next record into it.
    const n = Math.min(n0, head, cap - 1);
    const rec = new Float64Array(C.RECORD_SLOTS);
    const out: { index: number; event: GCEvent }[] = [];
    for (let k = n; k >= 1; k--) {
      const index = (head - k) >>> 0;
      const base = (index & (cap - 1)) * C.RECORD_SLOTS;
      rec.set(this.ringRecords.subarray(base, base + C.RECORD_SLOTS));
      if (rec[R.KIND] !== C.RECORD_KIND_GC) continue;
      const type = GC_TYPE_BY_BIT[rec[R.GC_TYPE]];
      if (type === undefined) continue;
      out.push({ index, event: gcEventOf(rec, type, this.heapSpaceNames) });
    }
    // A record the writer may have reused while it was copied (its slot holds index + cap
    // once the head passed index + cap) is dropped.
    const after = Atomics.load(this.ringHeadView, 0) >>> 0;
    return out.filter((e) => ((after - e.index) >>> 0) <= cap).map((e) => e.event);
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

/** Sampler.open()'s options. */
export interface OpenOptions {
  /** The thread of that process whose sampler to read (default 0: the main thread). Only with a pid. */
  threadId?: number;
  /** The directory to look in (default: as publishing chooses it). Only with a pid. */
  dir?: string;
}

/**
 * A read-only view of a sampler published by another process (Sampler.open()): read(),
 * histograms, markCompacts(), recentGCs(), lastStallStack(), catalog(), every exporter,
 * diagnose() and SamplerAggregate work on it as on a local view — while the process runs,
 * while its loop is stuck, and after it died (`alive` false: the last state stays
 * readable; `tornRegions` names any region it died in the middle of updating).
 */
export class PublishedView extends SamplerView {
  /** The writing process. */
  readonly pid: number;
  /** The published file. */
  readonly path: string;
  /** The process title or main script. */
  readonly title: string;
  readonly nodeVersion: string;
  /** Its node:cluster worker id, or null. */
  readonly workerId: number | null;
  /** When the process started, or null when the file does not say. */
  readonly startedAt: Date | null;
  private readonly startTicks: number;
  private aliveCheckedMs = -Infinity;
  private aliveCached = true;

  /** @internal Use Sampler.open(). */
  constructor(handle: SharedSampler, header: NativePublished, path: string, startedAt: Date | null) {
    super(handle);
    this.pid = header.pid;
    this.path = path;
    this.title = header.title;
    this.nodeVersion = header.nodeVersion;
    this.workerId = header.workerId >= 0 ? header.workerId : null;
    this.startedAt = startedAt;
    this.startTicks = header.startTicks;
    this.torn = {
      writerGone: () => !this.checkAlive(),
      note: (what) => this.noteTorn(what),
    };
    // Reads of the main region copy out of a plain alias of the mapping: about twice as fast
    // as out of the SharedArrayBuffer (the sequence word, read with Atomics, still tells a
    // torn copy).
    const alias = native.aliasOf(handle.buffer);
    this.aliasSeq = alias === undefined ? this.seq : new Int32Array(alias, 0, 1);
    this.aliasMain = alias === undefined ? this.main : new Float64Array(alias, 0, this.main.length);
  }

  private readonly aliasSeq: Int32Array;
  private readonly aliasMain: Float64Array;

  protected override copyMain(dst: Float64Array): void {
    seqlockCopy(this.aliasSeq, this.aliasMain, dst, 'an update of the shared block', this.torn);
  }

  private checkAlive(): boolean {
    this.aliveCheckedMs = performance.now();
    this.aliveCached = writerAlive({ pid: this.pid, startTicks: this.startTicks });
    return this.aliveCached;
  }

  /** Whether the writing process still runs (checked at most every 100 ms). */
  get alive(): boolean {
    if (performance.now() - this.aliveCheckedMs < 100) return this.aliveCached;
    return this.checkAlive();
  }

  /** Whether the writer is gone: its sampler closed, its thread ended, or the process died. */
  override get detached(): boolean {
    return super.detached || !this.alive;
  }
}

/** The published file of `pid`'s thread `threadId` in `dir`: its own name, or an alternative name whose writer is alive. */
function publishedPathOf(dir: string, pid: number, threadId: number): string {
  const base = `${pid}-${threadId}`;
  const existing: string[] = [];
  for (let n = 1; n <= 16; n++) {
    const path = joinPath(dir, n === 1 ? base : `${base}-${n}`);
    let h: NativePublished;
    try {
      h = native.openPublished(path, false);
    } catch (e) {
      if (/No such file/.test((e as Error).message)) {
        if (n === 1) continue;
        break;
      }
      existing.push(path);
      continue;
    }
    existing.push(path);
    if (h.writerClosed !== 1 && writerAlive(h)) return path;
  }
  if (existing.length > 0) return existing[0];
  throw new SamplerError(
    `Sampler.open(${pid}): no published sampler of pid ${pid} thread ${threadId} in ${dir} (start it with publish: true, or with the preload and without RUNTIME_SAMPLER_PUBLISH=0; runtime-sampler ps lists what is there)`,
    'ERR_SAMPLER_NOT_FOUND',
  );
}

/** Opens a published file as a view. */
function openView(path: string): PublishedView {
  let h: NativePublished;
  try {
    h = native.openPublished(path, true);
  } catch (e) {
    if (e instanceof SamplerError && /: No such file or directory$/.test(e.message)) {
      throw new SamplerError(`Sampler.open(path): ${path} does not exist`, 'ERR_SAMPLER_NOT_FOUND', { cause: e });
    }
    throw e;
  }
  const buffer = h.buffer as SharedArrayBuffer;
  if (h.layoutHash !== native.constants.layoutHash) {
    throw new SamplerError(`${path}: written with block layout ${h.layoutHash}, this copy of runtime-sampler reads ${native.constants.layoutHash ?? 'another'} (same layout version, different build)`, 'ERR_SAMPLER_INCOMPATIBLE');
  }
  const meta = parseMeta(h.meta, path);
  let handle: SharedSampler;
  try {
    handle = checkShared({
      kind: SHARED_KIND, version: meta.version, buffer, layout: meta.layout, heapSpaceNames: meta.heapSpaceNames,
      options: meta.options, threadId: meta.threadId,
    });
  } catch (e) {
    if (e instanceof SamplerError) throw new SamplerError(`${path}: ${e.message}`, e.code, { cause: e });
    throw new SamplerError(`${path}: the header's description is invalid: ${(e as Error).message}`, 'ERR_SAMPLER_INVALID', { cause: e });
  }
  return new PublishedView(handle, h, path, startDate(meta.processStartMs));
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
  /** Stalls drained whose profile is still to be taken: [event, slot, id]. */
  private readonly pendingProfiles: Array<[StallEvent, number, number]> = [];
  private drainTimer: NodeJS.Timeout | null = null;
  private drains = 0;
  private gcEvents = 0;
  private running = false;
  /** The file this sampler's block is published in, or null (not asked, or refused). Removed by close() and at exit. */
  readonly publishedPath: string | null;
  /** Why publishing was refused (the directory is not private, no space, …), or null. */
  readonly publishError: string | null;

  constructor(options: SamplerOptions = {}) {
    checkObject('Sampler options', options);
    checkKnownOptions('Sampler', options, OPTION_NAMES);
    const o: ResolvedSamplerOptions = {
      refreshIntervalMs: checkInteger('refreshIntervalMs', orDefault(options.refreshIntervalMs, 1000), 10, 60000),
      loopDelayResolutionMs: checkInteger('loopDelayResolutionMs', orDefault(options.loopDelayResolutionMs, 10), 1, 1000),
      loopTiming: checkOneOf('loopTiming', orDefault(options.loopTiming, 'iteration'), LOOP_TIMINGS),
      // A published block is a file in a small tmpfs (Docker's /dev/shm is 64 MB): its ring
      // is 1024 events (drained at least every second), which makes the file 420 KB, not 1 MB.
      ringCapacity: checkInteger('ringCapacity', orDefault(options.ringCapacity, options.publish === undefined || options.publish === false ? 4096 : 1024), 64, 65536, true),
      histogramScale: checkInteger('histogramScale', orDefault(options.histogramScale, DEFAULT_SCALE), C.HIST_MIN_SCALE, C.HIST_MAX_SCALE),
      watchdog: resolveWatchdog(options.watchdog),
      v8Histograms: checkBoolean('v8Histograms', orDefault(options.v8Histograms, true)),
      threadpoolProbeMs: checkThreadpoolProbeMs(orDefault(options.threadpoolProbeMs, 1000)),
      history: resolveHistory(options.history),
      cgroupRoot: resolveCgroupRoot(options.cgroupRoot),
    };
    const publishDir = resolvePublish(options.publish);
    const layout = native.computeLayout(o.ringCapacity, o.histogramScale);
    const spaceNames = native.heapSpaceNames();
    const attempt = publishDir === null ? null : tryPublish(publishDir, layout, spaceNames, o);
    const published = typeof attempt === 'string' ? null : attempt;
    const buffer = published?.buffer ?? new SharedArrayBuffer(layout.totalBytes);
    super(buffer, layout, spaceNames, o, currentThreadId);
    this.publishedPath = published?.path ?? null;
    this.publishError = typeof attempt === 'string' ? attempt : null;
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
      published?.dir,
      published?.name,
      o.cgroupRoot,
      o.threadpoolProbeMs,
      wd && wd.profile ? wd.profileIntervalMs : 0,
      o.loopTiming,
    );
    if (published !== null) removeAtExit(published, this.handle);
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

  /**
   * A read-only view of the sampler another process published (publish option, or the
   * preload): `Sampler.open(pid)` for its main thread, `{ threadId }` for a worker's,
   * `{ dir }` for another directory, or the file's path. Works on a process that has died
   * (post-mortem). Throws SamplerError: ERR_SAMPLER_NOT_FOUND, ERR_SAMPLER_REFUSED (not this
   * user's, a symlink), ERR_SAMPLER_INVALID (malformed), ERR_SAMPLER_INCOMPATIBLE (another
   * layout).
   */
  static open(target: number | string, options: OpenOptions = {}): PublishedView {
    const o = checkObject('Sampler.open options', options);
    checkKnownOptions('Sampler.open', o, ['threadId', 'dir']);
    if (typeof target === 'string') {
      if (o.threadId !== undefined || o.dir !== undefined) {
        throw new TypeError('Sampler.open(path): threadId and dir apply to a pid, not to a path');
      }
      return openView(resolvePath(checkString('Sampler.open(path): path', target, /^[^\0]+$/, 'a file path')));
    }
    const pid = checkInteger('Sampler.open(pid): pid', target, 1, 0x7fffffff);
    const threadId = checkInteger('Sampler.open: threadId', orDefault(o.threadId, 0), 0, Number.MAX_SAFE_INTEGER);
    const dir = o.dir === undefined ? defaultPublishDir() : resolvePath(checkString('Sampler.open: dir', o.dir, /^[^\0]+$/, 'a directory path'));
    return openView(publishedPathOf(dir, pid, threadId));
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
    this.handle.close(); // removes the published file
    if (this.publishedPath !== null) publishedAtExit.delete(this.publishedPath);
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
   * How the loop hook reads libuv's idle time each iteration: 'direct' (its field in the
   * loop's private state, on the loop thread, without libuv's mutex: ~1 ns), 'verifying'
   * (the field of this libuv version is known but has not yet agreed with
   * uv_metrics_idle_time() on a non-zero value) or 'locked' (uv_metrics_idle_time() only,
   * for iterations of 5 µs or more: a libuv newer than the layouts checked, the field
   * disagreed once, the JS backend, or RUNTIME_SAMPLER_LOOP_IDLE=locked). Busy/idle totals
   * are exact either way.
   */
  /**
   * How event-loop time is taken, as it runs: 'iteration' (the check hook) or 'totals' (no
   * hook; see SamplerOptions.loopTiming). 'iteration' where 'totals' was asked but libuv
   * is older than 1.45 (Node 18); 'totals' on the JS backend, which has no hook.
   */
  get loopTiming(): LoopTiming {
    if (this.handle === null) throw closedError();
    return this.handle.loopTiming();
  }

  get loopIdleRead(): 'direct' | 'verifying' | 'locked' {
    if (this.handle === null) throw closedError();
    return this.handle.loopIdleRead();
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
    if (dst[M.WATCHDOG_ENABLED] === 1) seqlockCopy(this.stallSeq, this.stallRegion, snap.stallSlots, "the watchdog's update", this.torn);
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
      this.attachProfiles();
      for (const e of stalls) for (const l of this.stallListeners) l(e);
    }
    return n;
  }

  private toEvent(rec: Float64Array, type: GcTypeName): GCEvent {
    return gcEventOf(rec, type, this.heapSpaceNames);
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
    const slot = rec[C.RECORD_STALL_PROFILE_SLOT];
    // Taken once the ring is drained (attachProfiles): it allocates much more than this.
    if (Number.isInteger(slot) && slot >= 0) this.pendingProfiles.push([e, slot, rec[C.RECORD_STALL_PROFILE_ID]]);
    return e;
  }

  /** The profiles of the stalls just drained, from the native side's slots (watchdog.profile). */
  private attachProfiles(): void {
    const wd = this.options.watchdog;
    for (const [e, slot, id] of this.pendingProfiles) {
      const raw = wd && wd.profile && this.handle !== null ? this.handle.stallProfile(slot, id) : null;
      if (raw !== null && wd) e.profile = StallProfile.fromNative(raw, wd.profileIntervalMs * 1e6);
    }
    this.pendingProfiles.length = 0;
  }
}
