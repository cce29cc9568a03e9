// Published blocks (the HotSpot hsperfdata model): a sampler with `publish` keeps its block
// in a file-backed shared mapping, `<dir>/<pid>-<threadId>`, that any process of the same
// user can map and read — while the writer runs, while its loop is stuck, and after it
// died. The native side (native/publish.cc, native/core/published.h) owns every file
// operation that matters for safety: the directory is used only when it is ours and
// private, files are created O_EXCL | O_NOFOLLOW 0600 with their space reserved, and a
// reader validates a file before it maps a byte of it. This module chooses names and
// directories, describes files, and cleans up after dead writers.
import { readdirSync } from 'node:fs';
import type { Cluster } from 'node:cluster';
import { join, resolve } from 'node:path';
import { native, NativeLayout } from './binding';
import { LAYOUT_CONSTANTS as C } from './layout.generated';
import { parseDuration } from './duration';
import { describeValue, isRecord, SamplerError } from './errors';
import { checkInteger, checkObject, checkString, checkKnownOptions } from './options';

/** Where published files go: RUNTIME_SAMPLER_DIR, $XDG_RUNTIME_DIR/runtime-sampler, or /dev/shm/runtime-sampler-<uid>. */
export function defaultPublishDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.RUNTIME_SAMPLER_DIR;
  if (explicit !== undefined && explicit !== '') return resolve(explicit);
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg !== undefined && xdg.startsWith('/')) return join(xdg, 'runtime-sampler');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return `/dev/shm/runtime-sampler-${uid}`;
}

/** How long a dead writer's file is kept for post-mortem reading unless RUNTIME_SAMPLER_KEEP_DEAD says otherwise: 1 h. */
export const DEFAULT_KEEP_DEAD_MS = 60 * 60 * 1000;

/** What the header's meta text holds: everything a reader needs to make its view. */
export interface PublishedMeta {
  version: number;
  layout: NativeLayout;
  heapSpaceNames: string[];
  options: unknown;
  threadId: number;
  /** When the writing process started (ms since the epoch). */
  processStartMs: number;
}

/** A published sampler, as listPublished() describes it. */
export interface PublishedProcess {
  pid: number;
  /** The worker threadId of the sampled thread (0: the main thread). */
  threadId: number;
  /** Whether the writing process still runs (pid and start time match: pid reuse is no match). */
  alive: boolean;
  /** Whether the writer closed its sampler (a file left behind by a thread that ended). */
  writerClosed: boolean;
  /** When the process started, or null when the file does not say. */
  startedAt: Date | null;
  /** The process title or main script (`node app.js`). */
  title: string;
  nodeVersion: string;
  /** The node:cluster worker id, or null outside a cluster worker. */
  workerId: number | null;
  path: string;
  /** Why the file cannot be read (another layout version, malformed, not ours); unset when it can. */
  error?: string;
  /** The error's code (ERR_SAMPLER_INCOMPATIBLE, ERR_SAMPLER_INVALID, ERR_SAMPLER_REFUSED). */
  errorCode?: string;
}

/** What native.openPublished returns. */
export interface NativePublished {
  pid: number;
  threadId: number;
  startTicks: number;
  workerId: number;
  abi: number;
  layoutHash: string;
  nodeVersion: string;
  title: string;
  meta: string;
  timeNs: number;
  writerClosed: number;
  buffer?: SharedArrayBuffer;
}

const NAME_RE = /^([1-9][0-9]{0,9})-(0|[1-9][0-9]{0,15})(?:-([2-9]|1[0-6]))?$/;

/** The pid and threadId a published file's name gives, or null for a name that is not one. */
export function parsePublishedName(name: string): { pid: number; threadId: number } | null {
  const m = NAME_RE.exec(name);
  if (m === null) return null;
  return { pid: Number(m[1]), threadId: Number(m[2]) };
}

/** The title recorded for this process: its title when set, else `node <argv…>` (≤ 255 bytes). */
export function processTitle(): string {
  const t = process.title;
  const base = t && t !== 'node' && t !== process.execPath ? t : ['node', ...process.argv.slice(1)].join(' ');
  return truncateUtf8(base, 255);
}

function truncateUtf8(s: string, maxBytes: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= maxBytes) return s;
  // Cut on a character boundary: drop continuation bytes at the cut.
  let end = maxBytes;
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}

/** The node:cluster worker id of this process, or -1. */
function clusterWorkerId(): number {
  // Not NODE_UNIQUE_ID: Node deletes it before any preload or app code runs. node:cluster
  // keeps the id (in a worker it is loaded at start, so this costs nothing there).
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only to publish
  const cluster = require('node:cluster') as Cluster;
  return cluster.isWorker && cluster.worker !== undefined ? cluster.worker.id : -1;
}

/** The result of publishing: the block's buffer, the file, and what the native side removes on close. */
export interface PublishedBlock {
  buffer: SharedArrayBuffer;
  dir: string;
  name: string;
  path: string;
}

/**
 * Creates this thread's published file in `dir` and returns the block's buffer. The first
 * sampler of a thread is `<pid>-<threadId>`, further ones `<pid>-<threadId>-2` … `-16`.
 * A file under our name left by a dead process whose pid we now have is replaced. Throws
 * SamplerError ERR_SAMPLER_PUBLISH when the directory or the file is refused.
 */
export function createPublished(dir: string, layout: NativeLayout, meta: PublishedMeta, threadId: number): PublishedBlock {
  const text = JSON.stringify(meta);
  const base = `${process.pid}-${threadId}`;
  let exists: unknown = null;
  for (let n = 1; n <= 16; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    try {
      const buffer = native.publishBlock(dir, name, layout.totalBytes, threadId, clusterWorkerId(), process.version, processTitle(), text);
      return { buffer, dir, name, path: join(dir, name) };
    } catch (e) {
      // Taken: by another sampler of this thread, by a dead process whose pid we now have,
      // or by a live one in another pid namespace sharing the directory. Never replaced
      // here (the sweep removes dead ones after the keep period): take the next name.
      if (!(e instanceof SamplerError) || !/File exists/.test(e.message)) throw e;
      exists = e;
    }
  }
  throw new SamplerError(`${dir}: ${base} and its 15 alternatives are taken`, 'ERR_SAMPLER_PUBLISH', { cause: exists });
}

/** Reads and validates a header's meta text. Throws ERR_SAMPLER_INVALID. */
export function parseMeta(text: string, path: string): PublishedMeta {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new SamplerError(`${path}: the header's description is not JSON (${(e as Error).message})`, 'ERR_SAMPLER_INVALID');
  }
  if (!isRecord(v)) throw new SamplerError(`${path}: the header's description is ${describeValue(v)}, not an object`, 'ERR_SAMPLER_INVALID');
  if (v.version !== C.LAYOUT_VERSION) {
    throw new SamplerError(`${path}: layout version ${describeValue(v.version)}, this reader's is ${C.LAYOUT_VERSION}`, 'ERR_SAMPLER_INCOMPATIBLE');
  }
  return v as unknown as PublishedMeta;
}

/**
 * The writer's start time from the header's description (ms since the epoch), or null when
 * it is no date: the description is another process's text, and an Invalid Date would
 * throw in toISOString() wherever a reader prints it.
 */
export function startDate(ms: unknown): Date | null {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 && ms <= 8.64e15 ? new Date(ms) : null;
}

/** Whether the writer of a published file is alive. */
export function writerAlive(h: { pid: number; startTicks: number }): boolean {
  return Number.isSafeInteger(h.pid) && h.pid > 0 && h.pid <= 0x7fffffff && native.processAlive(h.pid, h.startTicks);
}

function describe(path: string, h: NativePublished): PublishedProcess {
  let startedAt: Date | null = null;
  let threadId = h.threadId;
  try {
    const meta = parseMeta(h.meta, path);
    startedAt = startDate(meta.processStartMs);
    if (Number.isSafeInteger(meta.threadId)) threadId = meta.threadId;
  } catch {
    // listed all the same, with what the binary header says
  }
  return {
    pid: h.pid,
    threadId,
    alive: writerAlive(h),
    writerClosed: h.writerClosed === 1,
    startedAt,
    title: h.title,
    nodeVersion: h.nodeVersion,
    workerId: h.workerId >= 0 ? h.workerId : null,
    path,
  };
}

/** listPublished()'s options. */
export interface ListPublishedOptions {
  /** The directory (default: as publishing chooses it, RUNTIME_SAMPLER_DIR first). */
  dir?: string;
}

function dirOption(what: string, options: unknown): string {
  const o = checkObject(`${what} options`, options === undefined ? {} : options);
  checkKnownOptions(what, o, ['dir']);
  return o.dir === undefined ? defaultPublishDir() : resolve(checkString(`${what}: dir`, o.dir));
}

/**
 * Every published sampler in the directory, by pid then threadId: running ones and those
 * a dead process left behind. Files that cannot be read are listed with `error`. A missing
 * directory is an empty list.
 */
export function listPublished(options?: ListPublishedOptions): PublishedProcess[] {
  const dir = dirOption('listPublished', options);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new SamplerError(`listPublished: cannot read ${dir}: ${(e as Error).message}`, 'ERR_SAMPLER_REFUSED', { cause: e });
  }
  const out: PublishedProcess[] = [];
  for (const name of names) {
    const ids = parsePublishedName(name);
    if (ids === null) continue;
    const path = join(dir, name);
    try {
      out.push(describe(path, native.openPublished(path, false)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || /No such file/.test((e as Error).message)) continue;
      out.push({
        pid: ids.pid, threadId: ids.threadId, alive: false, writerClosed: false, startedAt: null, title: '', nodeVersion: '',
        workerId: null, path, error: (e as Error).message, errorCode: (e as SamplerError).code,
      });
    }
  }
  out.sort((a, b) => a.pid - b.pid || a.threadId - b.threadId || a.path.localeCompare(b.path));
  return out;
}

/** cleanPublished()'s options. */
export interface CleanPublishedOptions {
  dir?: string;
  /** Remove only files whose writer has been gone at least this long, ms (default 0: every dead one). */
  keepDeadMs?: number;
}

/**
 * Removes the files of writers that are gone (the process ended, or its thread closed the
 * sampler) and have been for keepDeadMs. A writer counts as gone for as long as its block
 * has not changed (the block's clock, or the file's age when that is unusable), so a live
 * process this one cannot see (another pid namespace sharing the directory) keeps its
 * file. Returns the paths removed.
 */
export function cleanPublished(options?: CleanPublishedOptions): string[] {
  const o = checkObject('cleanPublished options', options === undefined ? {} : options);
  checkKnownOptions('cleanPublished', o, ['dir', 'keepDeadMs']);
  const dir = o.dir === undefined ? defaultPublishDir() : resolve(checkString('cleanPublished: dir', o.dir));
  const keepDeadMs = o.keepDeadMs === undefined ? 0 : checkInteger('cleanPublished: keepDeadMs', o.keepDeadMs, 0, Number.MAX_SAFE_INTEGER);
  return cleanDir(dir, keepDeadMs);
}

/** cleanPublished() without option checks (the publisher's own sweep). */
export function cleanDir(dir: string, keepDeadMs: number): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const nowNs = Number(process.hrtime.bigint());
  for (const name of names) {
    const ids = parsePublishedName(name);
    if (ids === null || ids.pid === process.pid) continue;
    const path = join(dir, name);
    let h: NativePublished;
    try {
      h = native.openPublished(path, false);
    } catch {
      continue; // not ours to judge: another version's, or malformed (ps shows it)
    }
    if (writerAlive(h) && h.writerClosed !== 1) continue;
    // How long the block has not changed: its clock is CLOCK_MONOTONIC like ours.
    const idleMs = Number.isFinite(h.timeNs) && h.timeNs > 0 && h.timeNs <= nowNs ? (nowNs - h.timeNs) / 1e6 : Infinity;
    if (idleMs < keepDeadMs) continue;
    if (idleMs === Infinity && keepDeadMs > 0) {
      // No usable clock (a writer that never refreshed, another boot): keep it for now.
      continue;
    }
    if (native.unpublish(dir, name)) removed.push(path);
  }
  return removed;
}

/**
 * RUNTIME_SAMPLER_KEEP_DEAD as ms (ms as a number, or a duration such as "30m"; at most
 * 7 days), with the problem when it is set but not one (the default applies then).
 */
export function keepDeadFromEnv(env: NodeJS.ProcessEnv = process.env): { ms: number; problem: string | null } {
  const v = env.RUNTIME_SAMPLER_KEEP_DEAD;
  if (v === undefined || v === '') return { ms: DEFAULT_KEEP_DEAD_MS, problem: null };
  try {
    return { ms: parseDuration('RUNTIME_SAMPLER_KEEP_DEAD', /^[0-9]+$/.test(v) ? Number(v) : v), problem: null };
  } catch (e) {
    return { ms: DEFAULT_KEEP_DEAD_MS, problem: `${(e as Error).message}; using 1h` };
  }
}
