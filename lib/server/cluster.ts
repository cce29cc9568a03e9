// A node:cluster primary's monitor serves the whole cluster (on the monitor thread): its own
// sampler and every worker's published block, read from memory — a worker whose loop is
// stuck is still read, one that exited drops out, and neither fails a scrape (unlike an IPC
// round trip to each worker). The primary's main thread only says which workers were
// forked and which exited (see startMonitorThread's `cluster`); the views are opened and
// checked here, so a stuck primary loop does not stop the scrape either.
import { PublishedView, Sampler, SamplerView } from '../sampler';
import { SamplerAggregate } from '../aggregate';
import { isRecord } from '../errors';
import type { LabelledReader } from '../exporters/common';
import type { ProcessSource } from './http';
import { ProcessState, cleanTitle, readerState, scalarFamily } from './processes';

/** What the primary's main thread posts: a worker forked or exited. */
export interface ClusterEvent {
  type: 'cluster';
  event: 'fork' | 'exit';
  pid: number;
  id: number;
}

/** How often a forked worker's published file is looked for until it is there. */
const OPEN_RETRY_MS = 50;
/** After this long without a published file, a worker is listed as unpublished. */
const OPEN_GIVE_UP_MS = 30_000;
/** Workers tracked at most (a primary that forks without end). */
const MAX_WORKERS = 4096;

interface Worker {
  pid: number;
  id: number;
  view: PublishedView | null;
  forkedAt: number;
  error: string | null;
  /** Exited, or found dead: not served, counted in exits once. */
  gone: boolean;
}

const isId = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0 && v <= max;

/**
 * The processes of a cluster, seen from its primary's monitor thread. Before the first fork
 * it is no set at all (sources() and live() are null: the monitor serves the primary as any
 * process). After it, /metrics has the cluster's aggregate (a SamplerAggregate of the primary
 * and every served worker, without pid labels), then each process's series labelled `pid`
 * and `worker_id` (the primary's worker_id is "0").
 */
export class ClusterMembers implements ProcessSource {
  /** By cluster worker id (unique for the primary's life; a pid may come back). */
  private readonly workers = new Map<number, Worker>();
  private forked = false;
  private exits = 0;
  private generation = 0;
  private total: SamplerAggregate | null = null;
  private totalGeneration = -1;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly primary: SamplerView, private readonly dir: string, private readonly primaryTitle: string) {}

  /** A message from the primary's main thread (anything else is ignored). */
  event(m: unknown): void {
    if (this.closed || !isRecord(m) || m.type !== 'cluster' || !isId(m.pid, 0x7fffffff) || !isId(m.id, 0x7fffffff)) return;
    if (m.event === 'fork') this.fork(m.pid, m.id);
    else if (m.event === 'exit') this.exit(m.id);
  }

  private fork(pid: number, id: number): void {
    if (this.workers.has(id) || this.workers.size >= MAX_WORKERS) return;
    this.forked = true;
    const w: Worker = { pid, id, view: null, forkedAt: performance.now(), error: null, gone: false };
    this.workers.set(id, w);
    this.open(w);
    this.scheduleRetry();
  }

  private exit(id: number): void {
    const w = this.workers.get(id);
    if (w === undefined) return;
    this.retire(w);
    this.workers.delete(id);
  }

  /** Stops serving `w` (it exited or died); counted once. */
  private retire(w: Worker): void {
    if (w.gone) return;
    w.gone = true;
    this.exits++;
    if (w.view !== null) {
      // The aggregate and any window over it read the view: closed first, so that a timer
      // reading it sees it closed rather than a closed member.
      this.total?.close();
      this.total = null;
      this.generation++;
      w.view.close();
      w.view = null;
    }
  }

  /** Opens the worker's published block if it is there (its preload publishes it at start). */
  private open(w: Worker): void {
    let view: PublishedView;
    try {
      view = Sampler.open(w.pid, { dir: this.dir });
    } catch (e) {
      w.error = (e as Error).message;
      return;
    }
    // A file left by an earlier process with this pid: the worker's own comes under another name.
    if (view.detached) {
      view.close();
      w.error = `the published file of pid ${w.pid} is an ended process's`;
      return;
    }
    if (view.heapSpaceNames.join() !== this.primary.heapSpaceNames.join()) {
      view.close();
      w.error = 'it runs another Node version (other heap spaces)';
      w.forkedAt = -Infinity; // no use retrying
      return;
    }
    w.view = view;
    w.error = null;
    this.generation++;
  }

  private pending(w: Worker): boolean {
    return !w.gone && w.view === null && performance.now() - w.forkedAt < OPEN_GIVE_UP_MS;
  }

  private scheduleRetry(): void {
    if (this.retry !== null || this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      let again = false;
      for (const w of this.workers.values()) {
        if (!this.pending(w)) continue;
        this.open(w);
        if (w.view === null) again = true;
      }
      if (again) this.scheduleRetry();
    }, OPEN_RETRY_MS);
    this.retry.unref();
  }

  /** The workers served now, by worker id; ones found dead are retired first. */
  private served(): Worker[] {
    const out: Worker[] = [];
    for (const w of this.workers.values()) {
      if (w.view === null) continue;
      if (w.view.detached) this.retire(w);
      else out.push(w);
    }
    return out.sort((a, b) => a.id - b.id);
  }

  private aggregate(served: Worker[]): SamplerAggregate {
    if (this.total === null || this.totalGeneration !== this.generation) {
      this.total?.close();
      this.total = new SamplerAggregate([this.primary, ...served.map((w) => w.view!)]);
      this.totalGeneration = this.generation;
    }
    return this.total;
  }

  sources(): LabelledReader[] | null {
    if (!this.forked || this.closed) return null;
    const served = this.served();
    return [
      { sampler: this.aggregate(served), labels: {} },
      { sampler: this.primary, labels: { pid: String(process.pid), worker_id: '0' } },
      ...served.map((w) => ({ sampler: w.view!, labels: { pid: String(w.pid), worker_id: String(w.id) } })),
    ];
  }

  live(): { reader: SamplerAggregate; generation: number; processes: number } | null {
    if (!this.forked || this.closed) return null;
    const served = this.served();
    return { reader: this.aggregate(served), generation: this.generation, processes: served.length + 1 };
  }

  describe(): object {
    const served = this.closed ? [] : this.served();
    const processes: ProcessState[] = [
      { pid: process.pid, threadId: 0, workerId: 0, title: cleanTitle(this.primaryTitle), state: 'served', ...readerState(this.primary) },
      ...served.map((w): ProcessState => ({ pid: w.pid, threadId: 0, workerId: w.id, title: cleanTitle(w.view!.title), state: 'served', ...readerState(w.view!) })),
    ];
    for (const w of this.workers.values()) {
      if (w.view !== null || w.gone) continue;
      processes.push({ pid: w.pid, threadId: 0, workerId: w.id, title: '', state: this.pending(w) ? 'starting' : 'unpublished', ...(w.error !== null ? { error: w.error } : {}) });
    }
    return { mode: this.forked ? 'cluster' : 'process', dir: this.dir, processes, exits: this.exits };
  }

  prometheus(openMetrics: boolean): string {
    const served = this.served();
    let starting = 0;
    let unpublished = 0;
    for (const w of this.workers.values()) {
      if (w.view !== null || w.gone) continue;
      if (this.pending(w)) starting++;
      else unpublished++;
    }
    return (
      scalarFamily('runtime_sampler_cluster_workers', 'gauge', 'Cluster workers served (their published samplers are read).', served.length, openMetrics) +
      scalarFamily('runtime_sampler_cluster_workers_starting', 'gauge', 'Cluster workers forked whose published sampler is not there yet.', starting, openMetrics) +
      scalarFamily('runtime_sampler_cluster_workers_unpublished', 'gauge', `Cluster workers without a published sampler ${OPEN_GIVE_UP_MS / 1000} s after their fork (RUNTIME_SAMPLER_PUBLISH=0, no preload).`, unpublished, openMetrics) +
      scalarFamily('runtime_sampler_cluster_worker_exits_total', 'counter', 'Cluster workers that exited (or were found dead) since the monitor started.', this.exits, openMetrics)
    );
  }

  /** Stops looking for workers and closes the views. */
  close(): void {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.total?.close();
    for (const w of this.workers.values()) w.view?.close();
    this.workers.clear();
  }
}
