// Other processes served by one monitor, from their published blocks: what the cluster
// primary (cluster.ts) and the sidecar (PublishedProcesses, `runtime-sampler serve`) share,
// and the sidecar's set. Everything read here was written by another process: titles are
// cleaned and bounded before they become labels, a file that cannot be read is counted,
// never thrown at a scrape.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { PublishedView, Sampler } from '../sampler';
import { listPublished } from '../published';
import type { LabelledReader, Readable } from '../exporters/common';
import type { ProcessSource } from './http';

/** What /processes says of one process. */
export interface ProcessState {
  pid: number;
  threadId: number;
  /** The node:cluster worker id (0: a cluster's primary), or null. */
  workerId: number | null;
  title: string;
  /** served: its series are in /metrics; starting: not published yet; unpublished: gave up; exited. */
  state: 'served' | 'starting' | 'unpublished' | 'exited';
  /** Why it is not served (starting, unpublished). */
  error?: string;
  gcCount?: number;
  heapUsedBytes?: number;
  rssBytes?: number;
  /** The stall in progress (active), and the stalls that ended. */
  stall?: { active: boolean; durationMs: number; count: number };
  /** The JavaScript stack last captured for a stall (RUNTIME_SAMPLER_STALL_STACK=1), or null. */
  lastStallStack?: string | null;
}

/** A title from another process as a label value: control characters replaced, at most 256 characters. */
export function cleanTitle(title: unknown): string {
  if (typeof title !== 'string') return '';
  return [...title.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?')].slice(0, 256).join('');
}

/** What has stall stacks: a Sampler, a SamplerView (an aggregate has none). */
interface StackSource {
  lastStallStack(): { stack: string } | null;
}
const hasStacks = (r: unknown): r is StackSource => typeof (r as { lastStallStack?: unknown }).lastStallStack === 'function';

/** The state of a reader now: its values, and the last stall stack of `stacks` (default: the reader's own). */
export function readerState(
  r: Readable, stacks: StackSource | null = hasStacks(r) ? r : null,
): Pick<ProcessState, 'gcCount' | 'heapUsedBytes' | 'rssBytes' | 'stall' | 'lastStallStack'> {
  const s = r.read();
  return {
    gcCount: s.gc.count,
    heapUsedBytes: s.heap.usedBytes,
    rssBytes: s.process.rssBytes,
    stall: { active: s.stall.active === 1, durationMs: s.stall.durationNs / 1e6, count: s.stall.count },
    lastStallStack: stacks?.lastStallStack()?.stack ?? null,
  };
}

/** One scalar family in the exposition format (a counter's name ends in _total). */
export function scalarFamily(name: string, type: 'gauge' | 'counter', help: string, value: number, openMetrics: boolean): string {
  const family = type === 'counter' && openMetrics ? name.replace(/_total$/, '') : name;
  return `# HELP ${family} ${help}\n# TYPE ${family} ${type}\n${name} ${value}\n`;
}

/** The most processes the sidecar serves (each is a ~420 KB mapping and ~300 series). */
export const MAX_SERVED = 512;

export interface PublishedProcessesOptions {
  /** The directory to serve. */
  dir: string;
  /** Serve only this process (`runtime-sampler serve <pid>`). */
  pid?: number;
  /** How often the directory is listed again, ms. */
  rescanMs: number;
  /** Told once about each file that cannot be read. */
  onUnreadable?: (path: string, message: string) => void;
}

interface Served {
  view: PublishedView;
  labels: Record<string, string>;
  title: string;
}

/**
 * Every process published in a directory (the sidecar): listed again every rescanMs, new
 * ones appear, those whose file went (a clean exit) drop out, and so do dead writers, found
 * at each scrape (alive is checked at most every 100 ms) — a dead process is never served as
 * live; its file is counted in runtime_sampler_published_dead until it is cleaned. Only a
 * thread's first sampler is served (`<pid>-<threadId>`): others record the same runtime.
 */
export class PublishedProcesses implements ProcessSource {
  private readonly served = new Map<string, Served>();
  private readonly told = new Set<string>();
  /** Files of ended writers (as of the last rescan, and those found dead since). */
  private dead = new Set<string>();
  private unreadable: Array<{ path: string; error: string }> = [];
  private skipped = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly o: PublishedProcessesOptions) {
    this.rescan();
    this.timer = setInterval(() => this.rescan(), o.rescanMs);
    this.timer.unref();
  }

  /** Lists the directory again (the timer does it every rescanMs). */
  rescan(): void {
    let list: ReturnType<typeof listPublished>;
    try {
      list = listPublished({ dir: this.o.dir });
    } catch (e) {
      this.tell(this.o.dir, (e as Error).message);
      return;
    }
    const seen = new Set<string>();
    const dead = new Set<string>();
    let skipped = 0;
    const unreadable: Array<{ path: string; error: string }> = [];
    for (const p of list) {
      if (this.o.pid !== undefined && p.pid !== this.o.pid) continue;
      if (basename(p.path) !== `${p.pid}-${p.threadId}`) continue;
      if (p.error !== undefined) {
        unreadable.push({ path: p.path, error: p.error });
        this.tell(p.path, p.error);
        continue;
      }
      if (!p.alive || p.writerClosed) {
        dead.add(p.path);
        continue;
      }
      seen.add(p.path);
      if (this.served.has(p.path)) continue;
      if (this.served.size >= MAX_SERVED) {
        skipped++;
        continue;
      }
      let view: PublishedView;
      try {
        view = Sampler.open(p.path);
      } catch (e) {
        unreadable.push({ path: p.path, error: (e as Error).message });
        this.tell(p.path, (e as Error).message);
        continue;
      }
      if (view.detached) {
        view.close();
        dead.add(p.path);
        continue;
      }
      const title = cleanTitle(view.title);
      const labels: Record<string, string> = { pid: String(view.pid), title };
      if (view.threadId !== 0) labels.thread_id = String(view.threadId);
      if (view.workerId !== null) labels.worker_id = String(view.workerId);
      this.served.set(p.path, { view, labels, title });
    }
    for (const [path, s] of this.served) {
      if (!seen.has(path)) this.drop(path, s);
    }
    this.dead = dead;
    this.unreadable = unreadable;
    this.skipped = skipped;
  }

  private tell(path: string, message: string): void {
    if (this.told.has(path) || this.told.size > 1000) return;
    this.told.add(path);
    this.o.onUnreadable?.(path, message);
  }

  private drop(path: string, s: Served): void {
    this.served.delete(path);
    s.view.close();
  }

  /** The served processes still alive, by pid and thread. */
  private servedNow(): Served[] {
    for (const [path, s] of this.served) {
      if (s.view.detached) {
        this.drop(path, s);
        // A clean exit removes the file: only a dead writer's stays.
        if (existsSync(path)) this.dead.add(path);
      }
    }
    return [...this.served.values()].sort((a, b) => a.view.pid - b.view.pid || a.view.threadId - b.view.threadId);
  }

  sources(): LabelledReader[] {
    return this.servedNow().map((s) => ({ sampler: s.view, labels: s.labels }));
  }

  /** The page shows the sidecar itself: processes of other Node versions do not add up. */
  live(): null {
    return null;
  }

  describe(): object {
    return {
      mode: 'sidecar',
      dir: this.o.dir,
      ...(this.o.pid !== undefined ? { pid: this.o.pid } : {}),
      processes: this.servedNow().map((s): ProcessState => ({
        pid: s.view.pid, threadId: s.view.threadId, workerId: s.view.workerId, title: s.title, state: 'served', ...readerState(s.view),
      })),
      dead: this.dead.size,
      unreadable: this.unreadable.slice(0, 32),
      skipped: this.skipped,
    };
  }

  prometheus(openMetrics: boolean): string {
    const n = this.servedNow().length;
    return (
      scalarFamily('runtime_sampler_published_processes', 'gauge', 'Published processes served here (writer alive).', n, openMetrics) +
      scalarFamily('runtime_sampler_published_dead', 'gauge', 'Published files whose writer has ended (kept for post-mortem reading; not served).', this.dead.size, openMetrics) +
      scalarFamily('runtime_sampler_published_unreadable', 'gauge', 'Published files that cannot be read (another layout version, malformed, not ours).', this.unreadable.length, openMetrics) +
      scalarFamily('runtime_sampler_published_skipped', 'gauge', `Live published processes not served: past the limit of ${MAX_SERVED}.`, this.skipped, openMetrics)
    );
  }

  /** Stops rescanning and closes the views. */
  close(): void {
    clearInterval(this.timer);
    for (const [path, s] of this.served) this.drop(path, s);
  }
}
