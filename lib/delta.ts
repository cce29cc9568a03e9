// Rates and interval values from two snapshots. Everything at the source is cumulative,
// so any number of readers can each keep their own previous snapshot.
import { GC_TYPES, GcTypeName, Snapshot } from './snapshot';
import { MainSlot as M } from './layout.generated';

export interface SnapshotDelta {
  /** cur.timeNs - prev.timeNs. */
  intervalNs: number;
  /**
   * GC time on the JS thread / wall time over the interval (0–1): pauses plus incremental
   * marking steps (gc.mainThreadNs), Go's GC CPU fraction for Node. Incremental marking
   * time arrives when its cycle ends, so a short interval can see it late. Where incremental
   * marking is not measured (the JavaScript backend: gc.mainThreadNs is NaN), pauses alone —
   * the GC time that is known (NaN only where GC pauses are unknown too: Bun, Deno).
   */
  gcCpuFraction: number;
  gc: {
    count: number;
    perSecond: number;
    pauseNs: number;
    /** GC pause time / wall time over the interval (0–1): pauses only (see gcCpuFraction). */
    cpuFraction: number;
    /** Pauses plus incremental marking steps, ns (gc.mainThreadNs). */
    mainThreadNs: number;
    incrementalMarkingSteps: number;
    incrementalMarkingNs: number;
    forcedCount: number;
    reclaimedBytes: number;
    byType: Record<GcTypeName, { count: number; pauseNs: number }>;
  };
  allocation: {
    bytes: number;
    bytesPerSecond: number;
  };
  loop: {
    iterations: number;
    iterationsPerSecond: number;
    events: number;
    eventsPerSecond: number;
    /** Of `events`, those already pending when the loop polled (they waited for a busy loop). */
    eventsPendingAtPoll: number;
    busyNs: number;
    idleNs: number;
    /** Event-loop utilization over the interval: busy / (busy + idle). */
    utilization: number;
  };
  process: {
    cpuUserUs: number;
    cpuSystemUs: number;
    /** CPU time (user + system) / wall time over the interval; can exceed 1 with threads. */
    cpuFraction: number;
  };
}

/** What happened between two snapshots of the same sampler (`prev` taken first). */
export function delta(prev: Snapshot, cur: Snapshot): SnapshotDelta {
  if (!(prev instanceof Snapshot) || !(cur instanceof Snapshot)) {
    throw new TypeError('delta(prev, cur) takes two Snapshots from sampler.read()');
  }
  if (prev === cur) {
    throw new TypeError('delta(prev, cur): prev and cur are the same object; read into two snapshots');
  }
  const intervalNs = cur.timeNs - prev.timeNs;
  if (intervalNs < 0) {
    throw new RangeError('delta(prev, cur): prev is newer than cur; pass the older snapshot first');
  }
  const perSecond = (n: number): number => (intervalNs > 0 ? (n * 1e9) / intervalNs : 0);
  const byType = {} as Record<GcTypeName, { count: number; pauseNs: number }>;
  for (const t of GC_TYPES) {
    byType[t] = {
      count: cur.gc.byType[t].count - prev.gc.byType[t].count,
      pauseNs: cur.gc.byType[t].pauseNs - prev.gc.byType[t].pauseNs,
    };
  }
  const gcCount = cur.gc.count - prev.gc.count;
  const pauseNs = cur.gc.pauseNs - prev.gc.pauseNs;
  const mainThreadNs = cur.gc.mainThreadNs - prev.gc.mainThreadNs;
  const allocated = cur.gc.allocatedBytes - prev.gc.allocatedBytes;
  const busyNs = cur.loop.busyNs - prev.loop.busyNs;
  const idleNs = cur.loop.idleNs - prev.loop.idleNs;
  const iterations = cur.loop.iterations - prev.loop.iterations;
  const events = cur.loop.events - prev.loop.events;
  const cpuUserUs = cur.process.cpuUserUs - prev.process.cpuUserUs;
  const cpuSystemUs = cur.process.cpuSystemUs - prev.process.cpuSystemUs;
  return {
    intervalNs,
    gcCpuFraction: intervalNs > 0 ? Math.min(1, (Number.isNaN(mainThreadNs) ? pauseNs : mainThreadNs) / intervalNs) : 0,
    gc: {
      count: gcCount,
      perSecond: perSecond(gcCount),
      pauseNs,
      cpuFraction: intervalNs > 0 ? Math.min(1, pauseNs / intervalNs) : 0,
      mainThreadNs,
      incrementalMarkingSteps: cur.gc.incrementalMarkingSteps - prev.gc.incrementalMarkingSteps,
      incrementalMarkingNs: cur.gc.incrementalMarkingNs - prev.gc.incrementalMarkingNs,
      forcedCount: cur.gc.forcedCount - prev.gc.forcedCount,
      reclaimedBytes: cur.gc.reclaimedBytes - prev.gc.reclaimedBytes,
      byType,
    },
    allocation: { bytes: allocated, bytesPerSecond: perSecond(allocated) },
    loop: {
      iterations,
      iterationsPerSecond: perSecond(iterations),
      events,
      eventsPerSecond: perSecond(events),
      eventsPendingAtPoll: cur.loop.eventsPendingAtPoll - prev.loop.eventsPendingAtPoll,
      busyNs,
      idleNs,
      utilization: busyNs + idleNs > 0 ? busyNs / (busyNs + idleNs) : 0,
    },
    process: {
      cpuUserUs,
      cpuSystemUs,
      cpuFraction: intervalNs > 0 ? ((cpuUserUs + cpuSystemUs) * 1e3) / intervalNs : 0,
    },
  };
}

/**
 * A snapshot of `like`'s sampler as it was when it first started: every counter 0, the
 * clock at its start. delta(startOf(s), s) is what happened since the start.
 */
export function startOf(like: Snapshot): Snapshot {
  const z = new Snapshot(like.spaceNames);
  z.slots[M.TIME_NS] = like.startNs;
  z.slots[M.START_NS] = like.startNs;
  return z;
}
