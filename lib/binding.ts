// The one place the native addon is loaded, and the typed description of its surface.
import { join } from 'node:path';
import { SamplerError } from './errors';

export interface NativeLayout {
  ringCapacity: number;
  scale: number;
  mainOffset: number;
  mainSlots: number;
  ringControlOffset: number;
  loopDelayOffset: number;
  loopIterationOffset: number;
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
  CONST: Record<string, number>;
  mainRegionSlots: number;
  histIndexOffset: number;
}

export interface NativeSamplerHandle {
  start(): void;
  stop(): void;
  close(): void;
  refresh(): void;
  alias(): ArrayBuffer | undefined;
}

export interface NativeBinding {
  constants: NativeConstants;
  computeLayout(ringCapacity: number, histogramScale: number): NativeLayout;
  heapSpaceNames(): string[];
  heapSpaceCountTotal: number;
  bucketIndex(value: number, scale: number): number;
  setErrorClass(ctor: new (message: string, code: string) => Error): void;
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
  ) => NativeSamplerHandle;
}

/** The package root: dist/cjs/binding.js → ../.. */
export const packageRoot = join(__dirname, '..', '..');

function load(): NativeBinding {
  let binding: NativeBinding;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  try {
    binding = nodeGypBuild(packageRoot) as NativeBinding;
  } catch (err) {
    throw new SamplerError(
      `runtime-sampler: no native binary for Node ${process.version} ` +
        `(ABI ${process.versions.modules}, ${process.platform}-${process.arch}). ` +
        `Reinstall so that a prebuilt binary is picked or one is built from source ` +
        `(npm rebuild runtime-sampler; needs python3, make and a C++17 compiler). ` +
        `Cause: ${(err as Error).message}`,
      'ERR_SAMPLER_BINARY',
      { cause: err },
    );
  }
  if (String(binding.moduleVersion) !== process.versions.modules) {
    throw new SamplerError(
      `runtime-sampler: the native binary was built for Node ABI ${binding.moduleVersion}, ` +
        `but this is Node ${process.version} (ABI ${process.versions.modules}). ` +
        `It uses V8 and libuv directly, so it must match: rebuild it (npm rebuild runtime-sampler).`,
      'ERR_SAMPLER_BINARY',
    );
  }
  binding.setErrorClass(SamplerError as unknown as new (message: string, code: string) => Error);
  return binding;
}

export const native: NativeBinding = load();
