// The one place the native addon is loaded, and the typed description of its surface.
import { SamplerError } from './errors';
import { BinaryOrigin, chooseBinary, foreignRuntime, readEnv } from './binary-choice';
import { jsBinding } from './js-backend';
import type { NativeStallProfile } from './stall-profile';

export interface NativeLayout {
  ringCapacity: number;
  scale: number;
  mainOffset: number;
  mainSlots: number;
  ringControlOffset: number;
  loopDelayOffset: number;
  loopIterationOffset: number;
  gcHistOffset: number;
  safepointHistOffset: number;
  threadpoolHistOffset: number;
  stallOffset: number;
  mcLogOffset: number;
  stacksOffset: number;
  histSlots: number;
  histBuckets: number;
  ringRecordsOffset: number;
  totalSlots: number;
  totalBytes: number;
}

export interface NativeConstants {
  MAIN: Record<string, number>;
  SPACE: Record<string, number>;
  HIST: Record<string, number>;
  RECORD: Record<string, number>;
  STALL: Record<string, number>;
  CONST: Record<string, number>;
  mainRegionSlots: number;
  histIndexOffset: number;
  /** The fingerprint of the slots.def the binary was compiled from (layout_hash.h). */
  layoutHash?: string;
}

export interface NativeSamplerHandle {
  start(): void;
  stop(): void;
  close(): void;
  refresh(): void;
  alias(): ArrayBuffer | undefined;
  loopClock(): 'tsc' | 'calibrating' | 'monotonic';
  loopIdleRead(): 'direct' | 'verifying' | 'locked';
  loopTiming(): 'iteration' | 'totals';
  watchdogError(): number;
  keepPublished(): void;
  /** The finished stall profile a stall record names (slot, id), or null once its slot is reused. */
  stallProfile(slot: number, id: number): NativeStallProfile | null;
}

export interface NativeBinding {
  constants: NativeConstants;
  computeLayout(ringCapacity: number, histogramScale: number): NativeLayout;
  heapSpaceNames(): string[];
  heapSpaceCountTotal: number;
  bucketIndex(value: number, scale: number): number;
  setErrorClass(ctor: new (message: string, code: string) => Error): void;
  /** Returns freed heap memory to the system where the C library can (tests measuring RSS). */
  trimMemory(): boolean;
  /** NativeSampler objects, the shared blocks they hold and native monitors alive in the process (tests of teardown). */
  liveObjects(): { samplers: number; blocks: number; monitors: number; v8HistogramUnattributedSamples: number };
  /** V8's GarbageCollectionReason names by code, for the V8 the addon was built against. */
  gcReasonNames: string[];
  gcReasonMaxValue: number;
  moduleVersion: number;
  uvVersion: string;
  v8Version: string;
  uvMetricsInfo: boolean;
  /** Creates <dir>/<name> and returns a SharedArrayBuffer over its block (native/publish.cc). */
  publishBlock(dir: string, name: string, blockBytes: number, threadId: number, workerId: number, nodeVersion: string, title: string, meta: string): SharedArrayBuffer;
  /** Removes <dir>/<name> if the directory is still ours; whether it did. */
  unpublish(dir: string, name: string): boolean;
  /** Validates and maps a published file; its header, and with withBuffer its block. */
  openPublished(path: string, withBuffer?: boolean): import('./published').NativePublished;
  /** A plain ArrayBuffer over a SharedArrayBuffer's memory (undefined under a V8 sandbox). */
  aliasOf(buffer: SharedArrayBuffer): ArrayBuffer | undefined;
  /** Whether the process (pid, start ticks) still runs. */
  processAlive(pid: number, startTicks: number): boolean;
  publishHeaderBytes: number;
  publishMaxFileBytes: number;
  NativeSampler: new (
    block: Float64Array,
    ringCapacity: number,
    histogramScale: number,
    refreshIntervalMs: number,
    loopDelayResolutionMs: number,
    watchdogThresholdMs: number,
    watchdogIntervalMs: number,
    captureStack: boolean,
    v8Histograms: boolean,
    publishedDir?: string,
    publishedName?: string,
    /** false: no cgroup; null: the process's own as mounted; a path: the root standing for the mounts. */
    cgroupRoot?: string | null | false,
    /** 0: no threadpool probe. */
    threadpoolProbeMs?: number,
    /** 0: no stall profiles. */
    profileIntervalMs?: number,
    /** 'iteration' (default) or 'totals'. */
    loopTiming?: 'iteration' | 'totals',
  ) => NativeSamplerHandle;
}

/** The binary that was loaded (absolute path); '' on the JavaScript backend. */
export let binaryPath = '';
/** How it was chosen: RUNTIME_SAMPLER_BINARY, a source build (build/Release), or a prebuild; null on the JavaScript backend. */
export let binaryOrigin: BinaryOrigin | null = 'prebuild';
/** What measures: the native addon, or the JavaScript backend (lib/js-backend.ts) where no binary loads. */
export type Backend = 'native' | 'js';
export let backend: Backend = 'native';
/** Why the JavaScript backend runs (no binary loaded, or RUNTIME_SAMPLER_BACKEND=js); null on the native one. */
export let fallbackReason: string | null = null;

const BACKENDS = ['auto', 'native', 'js'];

/**
 * RUNTIME_SAMPLER_BACKEND: 'auto' (unset: the native addon when a binary loads, else the
 * JavaScript backend), 'native' (a missing binary is an error: for those who need what only
 * the addon measures) or 'js'. RUNTIME_SAMPLER_BINARY names one file to load: it means native.
 */
function requestedBackend(): string {
  const raw = readEnv('RUNTIME_SAMPLER_BACKEND');
  const value = raw === undefined ? '' : raw.trim().toLowerCase();
  if (value === '') return readEnv('RUNTIME_SAMPLER_BINARY') ? 'native' : 'auto';
  if (!BACKENDS.includes(value)) {
    throw new SamplerError(`RUNTIME_SAMPLER_BACKEND must be one of ${BACKENDS.join(', ')} (or unset: auto), got ${JSON.stringify(raw)}`, 'ERR_SAMPLER_BINARY');
  }
  return value;
}

function load(): NativeBinding {
  const wanted = requestedBackend();
  if (wanted === 'js') {
    backend = 'js';
    binaryOrigin = null;
    fallbackReason = 'RUNTIME_SAMPLER_BACKEND=js';
    return jsBinding;
  }
  const foreign = foreignRuntime();
  if (foreign !== null) {
    const problem = `runtime-sampler: ${foreign} cannot run the native addon: it calls V8's C++ API and libuv directly, ` +
      `which ${foreign.split(' ')[0]} does not provide (loading it would end the process with an undefined symbol), so no binary is loaded`;
    if (wanted === 'auto') {
      backend = 'js';
      binaryOrigin = null;
      fallbackReason = problem;
      return jsBinding;
    }
    throw new SamplerError(`${problem}. Unset RUNTIME_SAMPLER_BACKEND=native${readEnv('RUNTIME_SAMPLER_BINARY') ? ' and RUNTIME_SAMPLER_BINARY' : ''} to run on the JavaScript backend (fewer metrics).`, 'ERR_SAMPLER_BINARY');
  }
  const choice = chooseBinary<NativeBinding>();
  if (choice.file !== undefined) {
    const { file, origin, binding } = choice;
    binaryPath = file;
    binaryOrigin = origin;
    binding.setErrorClass(SamplerError as unknown as new (message: string, code: string) => Error);
    return binding;
  }
  const tried = choice.tried.map((t) => `${t.file}: ${t.problem}`);
  const { firstError } = choice;
  const where = `Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch})`;
  const problem = `runtime-sampler: no usable native binary for ${where}. ` +
    (tried.length ? `Tried: ${tried.join('; ')}. ` : 'No prebuilt binary matches and none was built from source. ');
  if (wanted === 'auto') {
    backend = 'js';
    binaryOrigin = null;
    fallbackReason = problem.trim();
    return jsBinding;
  }
  throw new SamplerError(
    problem +
      `It uses V8 and libuv directly, so the binary must match this Node's ABI: ` +
      `reinstall or rebuild it (npm rebuild runtime-sampler; a source build needs python3, make and a C++17 compiler), ` +
      `or unset RUNTIME_SAMPLER_BACKEND=native to run on the JavaScript backend (fewer metrics).`,
    'ERR_SAMPLER_BINARY',
    firstError === undefined ? undefined : { cause: firstError },
  );
}

export const native: NativeBinding = load();
