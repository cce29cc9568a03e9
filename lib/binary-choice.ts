// Which native binary to load, without loading the library: the runtime loader
// (binding.ts) and the install step (scripts/install.js, in a child process) share this, so
// `npm install` accepts exactly the binary the library will load. No side effects on import.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LAYOUT_HASH } from './layout.generated';

/** The package root: dist/cjs/binary-choice.js → ../.. */
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
/** How a candidate was found: nativeInfo.binaryOrigin. */
export type BinaryOrigin = 'RUNTIME_SAMPLER_BINARY' | 'source build' | 'prebuild';

interface Candidate {
  file: string;
  origin: BinaryOrigin;
}

function binaryCandidates(root: string = packageRoot): Candidate[] {
  const explicit = readEnv('RUNTIME_SAMPLER_BINARY');
  if (explicit) return [{ file: resolve(explicit), origin: 'RUNTIME_SAMPLER_BINARY' }];
  const out: Candidate[] = [];
  const release = join(root, 'build', 'Release', 'runtime_sampler.node');
  if (existsSync(release)) out.push({ file: release, origin: 'source build' });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS package, needed only without RUNTIME_SAMPLER_BINARY
  const ngb = require('node-gyp-build') as NodeGypBuild;
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    files = [];
  }
  const winner = files
    .map((f) => ngb.parseTags(f))
    .filter(ngb.matchTags('node', process.versions.modules))
    .sort(ngb.compareTags('node'))[0];
  if (winner) out.push({ file: join(dir, winner.file), origin: 'prebuild' });
  return out;
}

/**
 * An environment variable, or undefined when unset or unreadable: Deno without --allow-env
 * throws (NotCapable) on process.env reads, and a metrics library must not stop an app
 * from loading over its own optional settings.
 */
export function readEnv(name: string): string | undefined {
  try {
    return process.env[name];
  } catch {
    return undefined;
  }
}

/**
 * Bun or Deno (their name and version), which run Node's API but not Node: null on Node.
 * Both load Node-API addons, but ours also calls V8's C++ API and libuv directly, which
 * neither exports (Bun runs JavaScriptCore; Deno embeds V8 without exporting it). Their
 * dlopen binds lazily, so the load itself succeeds and the first such call ends the
 * process ("symbol lookup error: … undefined symbol: _ZN2v87Isolate…", exit 127) — nothing
 * a try/catch sees. Measured with Bun 1.4.5 and Deno 2.9.6, which both report Node 26's ABI
 * (147), so the Node 26 prebuild would otherwise be chosen: the binary is never tried there.
 */
export function foreignRuntime(): string | null {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun !== undefined) return `Bun ${versions.bun}`;
  const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno;
  if (versions.deno !== undefined || deno !== undefined) return `Deno ${versions.deno ?? deno?.version?.deno ?? '(unknown version)'}`;
  return null;
}

/** The first candidate that loads, matches this Node's ABI and the library's layout; else why each failed. */
export type BinaryChoice<B> =
  | { file: string; origin: BinaryOrigin; binding: B }
  | { file?: undefined; tried: { file: string; problem: string }[]; firstError: unknown };

export function chooseBinary<B extends { moduleVersion: number; constants?: { layoutHash?: string } }>(
  candidates: Candidate[] = binaryCandidates(),
): BinaryChoice<B> {
  const tried: { file: string; problem: string }[] = [];
  let firstError: unknown;
  for (const { file, origin } of candidates) {
    let binding: B;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a .node binary at a path found at run time
      binding = require(file) as B;
    } catch (err) {
      firstError ??= err;
      tried.push({ file, problem: (err as Error).message.split('\n')[0] });
      continue;
    }
    if (String(binding.moduleVersion) !== process.versions.modules) {
      tried.push({ file, problem: `built for Node ABI ${binding.moduleVersion}` });
      continue;
    }
    // A binary of the right ABI but another shared-block layout (a stale build/Release, an
    // older RUNTIME_SAMPLER_BINARY) would be read at wrong offsets without an error.
    const layout = binding.constants?.layoutHash;
    if (layout !== LAYOUT_HASH) {
      tried.push({ file, problem: `built from shared-block layout ${layout ?? '(none recorded: an older build)'}, but this library reads layout ${LAYOUT_HASH} (a stale build)` });
      continue;
    }
    return { file, origin, binding };
  }
  return { tried, firstError };
}
