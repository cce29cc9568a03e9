// `runtime-sampler postmortem <pid|path>`: the last state a published sampler's block holds —
// of a process that died (a signal, a crash, an OOM kill leave the file), or of one that
// runs (it says so) — readable, or as JSON.
import { parseArgs } from 'node:util';
import { human, localTime, span } from '../format';
import { Histogram } from '../histogram';
import { GC_TYPES, GcTypeName, Snapshot } from '../snapshot';
import { PublishedView, Sampler } from '../sampler';
import type { GCEvent, MarkCompactRecord } from '../sampler';
import { cell, out, parseDir, parsePid, parseThread, UsageError } from './common';

interface Percentiles { count: number; p50: number | null; p99: number | null; max: number | null }
const fin = (v: number): number | null => (Number.isFinite(v) ? v : null);
const percentiles = (h: Histogram): Percentiles => ({ count: h.count, p50: fin(h.percentile(50)), p99: fin(h.percentile(99)), max: fin(h.max) });

/** Monotonic ns (the writer's clock: CLOCK_MONOTONIC, the same for every process of a boot) to a wall-clock date. */
function wallClock(): (ns: number) => Date | null {
  const nowNs = Number(process.hrtime.bigint());
  const nowMs = Date.now();
  return (ns) => (ns > 0 && ns <= nowNs ? new Date(nowMs - (nowNs - ns) / 1e6) : null);
}

/** Everything postmortem says, as --json prints it (times as ISO strings, durations ns unless named ms). */
export interface PostmortemReport {
  pid: number;
  threadId: number;
  path: string;
  /** dead: the process is gone; closed: it runs, the thread closed its sampler; alive. */
  state: 'alive' | 'dead' | 'closed';
  alive: boolean;
  title: string;
  nodeVersion: string;
  workerId: number | null;
  startedAt: string | null;
  /** The block's last sign of life: the loop's last accounting, a GC or a heap refresh. */
  lastUpdateAt: string | null;
  /** From the process's start to lastUpdateAt. */
  uptimeMs: number | null;
  /** GC time on the JS thread / the sampler's time up to lastUpdateAt. */
  gcCpuFraction: number | null;
  snapshot: Snapshot;
  gcPause: { all: Percentiles; byType: Partial<Record<GcTypeName, Percentiles>> };
  loopDelay: Percentiles;
  threadpoolDelay: Percentiles;
  /** How long the threadpool probe in flight had waited (for a dead process: at its last sign of life), else 0. */
  threadpoolWaitingNs: number;
  /** A stall the block says is in progress; for a dead process, how long it had lasted at the last sign of life (atLeast). */
  stallInProgress: { since: string | null; forNs: number; atLeast: boolean } | null;
  lastStallStack: { id: number; stack: string } | null;
  markCompacts: Array<MarkCompactRecord & { at: string | null }>;
  recentGCs: Array<GCEvent & { at: string | null }>;
  tornRegions: string[];
}

export function postmortemReport(view: PublishedView): PostmortemReport {
  const snap: Snapshot = view.read();
  const wall = wallClock();
  const alive = view.alive;
  const state = !alive ? 'dead' : snap.writerClosed ? 'closed' : 'alive';
  // The last sign of life: the loop's accounting, a GC, a heap refresh (a GC can happen
  // while the loop is stuck, after the loop's last update).
  const lastNs = Math.max(snap.timeNs, snap.gc.lastEndNs, snap.heap.updatedNs, snap.sampler.lastRefreshNs);
  const lastAt = wall(lastNs);
  const startedAt = view.startedAt;
  const uptimeMs = lastAt !== null && startedAt !== null ? lastAt.getTime() - startedAt.getTime() : snap.startNs > 0 ? (lastNs - snap.startNs) / 1e6 : null;
  const h = view.histograms;
  const byType: Partial<Record<GcTypeName, Percentiles>> = {};
  for (const t of GC_TYPES) if (h.gcPauseByType[t].count > 0) byType[t] = percentiles(h.gcPauseByType[t]);
  // StallStats.durationNs runs on the reader's clock: for a dead writer the stall ended with it.
  const stallSince = snap.stall.active === 1 ? snap.stall.sinceNs : 0;
  const stallInProgress = stallSince === 0 ? null : {
    since: wall(stallSince)?.toISOString() ?? null,
    // The watchdog saw it only once it had lasted its threshold: at least that, then.
    forNs: alive ? snap.stall.durationNs : Math.max(0, lastNs - stallSince, (view.options.watchdog ? view.options.watchdog.thresholdMs : 0) * 1e6),
    atLeast: !alive,
  };
  const mcs = view.markCompacts();
  const gcs = view.recentGCs(Math.min(10, view.options.ringCapacity));
  return {
    pid: view.pid,
    threadId: view.threadId,
    path: view.path,
    state,
    alive,
    title: view.title,
    nodeVersion: view.nodeVersion,
    workerId: view.workerId,
    startedAt: startedAt?.toISOString() ?? null,
    lastUpdateAt: lastAt?.toISOString() ?? null,
    uptimeMs,
    gcCpuFraction: lastNs > snap.startNs && snap.startNs > 0 ? Math.min(1, snap.gc.mainThreadNs / (lastNs - snap.startNs)) : null,
    snapshot: snap,
    gcPause: { all: percentiles(h.gcPause), byType },
    loopDelay: percentiles(h.loopDelay),
    threadpoolDelay: percentiles(h.threadpoolDelay),
    threadpoolWaitingNs: snap.threadpool.inFlight !== 1 ? 0 : alive ? snap.threadpool.waitingNs : Math.max(0, lastNs - snap.threadpool.inFlightSinceNs),
    stallInProgress,
    lastStallStack: view.lastStallStack(),
    markCompacts: mcs.map((m) => ({ ...m, at: wall(m.endNs)?.toISOString() ?? null })),
    recentGCs: gcs.map((g) => ({ ...g, at: wall(g.startNs)?.toISOString() ?? null })),
    // Read last: the reads above are what find torn regions.
    tornRegions: view.tornRegions,
  };
}

const ns = (v: number | null | undefined): string => human(v, 'ns');
const by = (v: number | null | undefined): string => human(v, 'By');
const at = (iso: string | null): string => (iso === null ? '-' : localTime(new Date(iso), true));

/** The report as text. */
export function formatPostmortem(r: PostmortemReport, nowMs = Date.now()): string {
  const snap = r.snapshot;
  const lines: string[] = [];
  const state = r.state === 'dead' ? 'DEAD: the process is gone; this is its last state'
    : r.state === 'closed' ? 'CLOSED: the process runs, this thread closed its sampler; these are its final values'
      : 'ALIVE: the process is running; these are its current values';
  lines.push(`runtime-sampler postmortem: pid ${r.pid} thread ${r.threadId}: ${state}`);
  const kv = (k: string, v: string): void => {
    lines.push(`  ${k.padEnd(13)}${v}`);
  };
  kv('file', cell(r.path));
  kv('title', cell(r.title));
  kv('node', `${cell(r.nodeVersion, 40)}${r.workerId === null ? '' : `, cluster worker ${r.workerId}`}`);
  kv('started', at(r.startedAt));
  kv('last update', r.lastUpdateAt === null ? '-' : `${at(r.lastUpdateAt)} (${span(nowMs - Date.parse(r.lastUpdateAt))} ago)`);
  kv('uptime', r.uptimeMs === null ? '-' : `${span(r.uptimeMs)}${r.state === 'dead' ? ' when it died (at its last update)' : ''}`);
  kv('torn', r.tornRegions.length === 0 ? 'none: every region was whole' : `${r.tornRegions.join(', ')} (it died in the middle of updating them: their values may be inconsistent)`);

  lines.push('', 'GC');
  const gc = snap.gc;
  const types = GC_TYPES.filter((t) => gc.byType[t].count > 0);
  kv('collections', `${gc.count}${types.length ? `: ${types.map((t) => `${t} ${gc.byType[t].count}`).join(', ')}` : ''}; forced ${gc.forcedCount}`);
  kv('pause total', `${ns(gc.pauseNs)}${types.length ? `: ${types.map((t) => `${t} ${ns(gc.byType[t].pauseNs)}`).join(', ')}` : ''}; longest ${ns(gc.maxPauseNs)}`);
  kv('GC CPU', r.gcCpuFraction === null ? '-' : `${human(r.gcCpuFraction, '1')} of its time (pauses ${ns(gc.pauseNs)}, incremental marking ${ns(gc.incrementalMarkingNs)})`);
  const pl = (x: Percentiles): string => `p50 ${ns(x.p50)}  p99 ${ns(x.p99)}  max ${ns(x.max)}  (n=${x.count})`;
  kv('pauses', `all: ${pl(r.gcPause.all)}`);
  for (const t of GC_TYPES) {
    const x = r.gcPause.byType[t];
    if (x !== undefined) kv('', `${t}: ${pl(x)}`);
  }
  kv('allocated', `${by(gc.allocatedBytes)}, reclaimed ${by(gc.reclaimedBytes)}`);

  lines.push('', 'heap');
  const heap = snap.heap;
  kv('used / limit', `${by(heap.usedBytes)} / ${by(heap.limitBytes)} (${human(heap.limitBytes > 0 ? heap.usedBytes / heap.limitBytes : NaN, '1')}); total ${by(heap.totalBytes)}, external ${by(heap.externalBytes)}, malloced ${by(heap.mallocedBytes)}`);
  const spaces = Object.entries(heap.spaces).filter(([, sp]) => sp.sizeBytes > 0 || sp.usedBytes > 0);
  const w = Math.max(0, ...spaces.map(([n]) => n.length));
  for (const [name, sp] of spaces) kv('', `${name.padEnd(w)}  used ${by(sp.usedBytes).padStart(10)} of ${by(sp.sizeBytes).padStart(10)}`);

  lines.push('', 'process');
  const proc = snap.process;
  kv('RSS', by(proc.rssBytes));
  kv('CPU', `user ${human(proc.cpuUserUs, 'us')}, system ${human(proc.cpuSystemUs, 'us')}`);
  kv('handles', `${proc.activeHandles} active${proc.openFds >= 0 ? `, ${proc.openFds} open fds` : ''}`);

  const c = snap.container;
  if (c.cgroupVersion > 0) {
    lines.push('', `container (cgroup v${c.cgroupVersion})`);
    const limit = c.memoryLimitBytes;
    const ws = Number.isFinite(c.memoryWorkingSetBytes) ? c.memoryWorkingSetBytes : c.memoryUsageBytes;
    const share = Number.isFinite(limit) && limit > 0 && Number.isFinite(ws) ? ws / limit : NaN;
    const events = [
      Number.isFinite(c.memoryMaxEvents) ? `limit hit ${c.memoryMaxEvents} times` : '',
      Number.isFinite(c.oomKillEvents) ? `OOM kills ${c.oomKillEvents}` : '',
    ].filter((x) => x !== '').join(', ');
    kv('memory', `working set ${by(ws)} of ${Number.isFinite(limit) ? `a ${by(limit)} limit (${human(share, '1')})` : 'no limit'}; usage ${by(c.memoryUsageBytes)}${events ? `; ${events} (the cgroup's, since it was made)` : ''}`);
    if (Number.isFinite(c.cpuQuotaCores)) {
      kv('cpu', `quota ${c.cpuQuotaCores.toPrecision(3)} CPUs; throttled in ${c.cpuThrottledPeriods} of ${c.cpuPeriods} periods, ${ns(c.cpuThrottledNs)} in all`);
    }
    // A process SIGKILLed by the OOM killer leaves no other trace in its own block.
    if (r.state === 'dead' && share >= 0.95) kv('', `→ it died with its container at ${human(share, '1')} of its memory limit: most likely the kernel's OOM killer (SIGKILL)`);
  }
  const tp = snap.threadpool;
  if (tp.probes > 0 || tp.inFlight === 1) {
    lines.push('', 'threadpool');
    const waiting = r.threadpoolWaitingNs;
    kv('delay', `${pl(r.threadpoolDelay)}; pool of ${tp.size} threads${waiting > 0 ? `; a probe had waited ${ns(waiting)}${r.state === 'dead' ? ' when it died' : ''}` : ''}`);
  }

  lines.push('', 'event loop');
  const loop = snap.loop;
  kv('iterations', `${loop.iterations}; utilization ${human(loop.utilization, '1')} (busy ${ns(loop.busyNs)}, idle ${ns(loop.idleNs)}); longest iteration ${ns(loop.maxIterationNs)}`);
  kv('delay', pl(r.loopDelay));
  const sip = r.stallInProgress;
  const stall = snap.stall;
  kv('stalls', !stall.enabled ? 'not watched (no watchdog)' : `${stall.count} ended (total ${ns(stall.totalNs)}, longest ${ns(stall.maxNs)})${sip === null ? '' : `; one in progress${r.state === 'dead' ? ' when it died' : ''}: since ${at(sip.since)}, ${sip.atLeast ? 'at least ' : ''}${ns(sip.forNs)}`}`);
  if (r.lastStallStack !== null) {
    lines.push('', `last stall's JavaScript stack (capture #${r.lastStallStack.id})`);
    for (const l of r.lastStallStack.stack.split('\n').slice(0, 40)) lines.push(`  ${cell(l, 500)}`);
  }

  const mcs = r.markCompacts;
  lines.push('', `mark-compacts: the heap right after each (${mcs.length === 0 ? 'none logged' : `the last ${mcs.length}, oldest first`})`);
  const anyForced = mcs.some((m) => m.forced);
  for (const m of mcs) lines.push(`  #${String(m.index).padEnd(5)} ${at(m.at)}  ${anyForced ? (m.forced ? 'forced  ' : '        ') : ''}heap ${by(m.usedAfterBytes).padStart(10)}  old generation ${by(m.oldGenerationBytes).padStart(10)}`);

  const gcs = r.recentGCs;
  lines.push('', `recent GCs (${gcs.length === 0 ? 'none in the ring' : `the last ${gcs.length}, oldest first`})`);
  const label = (g: GCEvent): string => (g.forced ? `${g.type} (forced)` : g.type);
  const tw = Math.max(0, ...gcs.map((g) => label(g).length));
  for (const g of gcs) lines.push(`  ${at(g.at)}  ${label(g).padEnd(tw)}  pause ${ns(g.pauseNs).padStart(9)}  heap ${by(g.usedBeforeBytes).padStart(10)} -> ${by(g.usedAfterBytes).padStart(10)}`);
  return `${lines.join('\n')}\n`;
}

export function postmortemCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, thread: { type: 'string' }, dir: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError(`postmortem: give one pid or file path${positionals.length > 1 ? `, not ${positionals.length} arguments` : ''}`);
  const target = positionals[0];
  const dir = parseDir('postmortem', values.dir);
  let view: PublishedView;
  if (/^[0-9]+$/.test(target)) {
    const threadId = parseThread('postmortem', values.thread);
    view = Sampler.open(parsePid('postmortem', target), dir === undefined ? { threadId } : { threadId, dir });
  } else {
    if (values.thread !== undefined || dir !== undefined) throw new UsageError('postmortem: --thread and --dir go with a pid, not with a file path');
    if (target === '') throw new UsageError('postmortem: "" is not a pid or a file path');
    view = Sampler.open(target);
  }
  try {
    const report = postmortemReport(view);
    out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatPostmortem(report));
    return 0;
  } finally {
    view.close();
  }
}
