// The one place the native addon is loaded, and the typed description of its surface.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SamplerError } from './errors';
import { LAYOUT_HASH } from './layout.generated';

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
  watchdogError(): number;
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
  ) => NativeSamplerHandle;
}

/** The package root: dist/cjs/binding.js → ../.. */
export const packageRoot = join(__dirname, '..', '..');

interface NodeGypBuild {
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string): (tags: unknown) => boolean;
  compareTags(runtime: string): (a: unknown, b: unknown) => number;
}

/**
 * Where a binary may come from, in order:
 *  1. `RUNTIME_SAMPLER_BINARY=/path/to/runtime_sampler.node` — exactly that file, nothing else
 *     (for developers: a CMake or debug build);
 *  2. `build/Release/runtime_sampler.node` — a source build (`npm rebuild`, `npm run build:native`);
 *  3. `prebuilds/<platform>-<arch>/node.abi<ABI>[.<libc>].node` — the prebuilt binary for this
 *     Node ABI, picked with node-gyp-build's own tag matching (runtime, ABI, libc).
 * A candidate whose compiled-in ABI is not this Node's is skipped (it uses V8 and libuv
 * directly, so it must match), so a stale source build from another Node version does not
 * hide a matching prebuild.
 */
export function binaryCandidates(root: string = packageRoot): string[] {
  const explicit = process.env.RUNTIME_SAMPLER_BINARY;
  if (explicit) return [resolve(explicit)];
  const out: string[] = [];
  const release = join(root, 'build', 'Release', 'runtime_sampler.node');
  if (existsSync(release)) out.push(release);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const ngb = require('node-gyp-build') as NodeGypBuild;
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    files = [];
  }
  const winner = files
    .map((f) => ngb.parseTags(f))
    .filter(ngb.matchTags('node', process.versions.modules))
    .sort(ngb.compareTags('node'))[0] as { file: string } | undefined;
  if (winner) out.push(join(dir, winner.file));
  return out;
}

/** The binary that was loaded (absolute path). */
export let binaryPath = '';
/** How it was chosen: RUNTIME_SAMPLER_BINARY, a source build (build/Release), or a prebuild. */
export let binaryOrigin: 'RUNTIME_SAMPLER_BINARY' | 'source build' | 'prebuild' = 'prebuild';

function load(): NativeBinding {
  const candidates = binaryCandidates();
  const tried: string[] = [];
  let firstError: unknown;
  for (const file of candidates) {
    let binding: NativeBinding;
    try {
      binding = require(file) as NativeBinding;
    } catch (err) {
      firstError ??= err;
      tried.push(`${file}: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    if (String(binding.moduleVersion) !== process.versions.modules) {
      tried.push(`${file}: built for Node ABI ${binding.moduleVersion}`);
      continue;
    }
    // A binary of the right ABI but another shared-block layout (a stale build/Release, an
    // older RUNTIME_SAMPLER_BINARY) would be read at wrong offsets without an error.
    const layout = binding.constants?.layoutHash;
    if (layout !== LAYOUT_HASH) {
      tried.push(`${file}: built from shared-block layout ${layout ?? '(none recorded: an older build)'}, but this library reads layout ${LAYOUT_HASH} (a stale build)`);
      continue;
    }
    binaryPath = file;
    binaryOrigin = process.env.RUNTIME_SAMPLER_BINARY ? 'RUNTIME_SAMPLER_BINARY' : file === join(packageRoot, 'build', 'Release', 'runtime_sampler.node') ? 'source build' : 'prebuild';
    binding.setErrorClass(SamplerError as unknown as new (message: string, code: string) => Error);
    return binding;
  }
  const where = `Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch})`;
  throw new SamplerError(
    `runtime-sampler: no usable native binary for ${where}. ` +
      (tried.length ? `Tried: ${tried.join('; ')}. ` : 'No prebuilt binary matches and none was built from source. ') +
      `It uses V8 and libuv directly, so the binary must match this Node's ABI: ` +
      `reinstall or rebuild it (npm rebuild runtime-sampler; a source build needs python3, make and a C++17 compiler).`,
    'ERR_SAMPLER_BINARY',
    firstError === undefined ? undefined : { cause: firstError },
  );
}

export const native: NativeBinding = load();
