// Several threads' samplers as one — of one process, or of several (a cluster's processes,
// read from their published blocks): counters and per-loop gauges summed, maxima and
// timestamps combined, process-wide values summed across processes, histograms merged.
// Exporters given an aggregate label each thread's series with its thread id instead (see
// toPrometheus, toJSON).
import type { Sampler, SamplerView, SamplerHistograms } from './sampler';
import { Histogram } from './histogram';
import { closedError, SamplerError } from './errors';
import { MAIN_COMBINE, MainSlot as M, SlotCombine, StallSlot as W } from './layout.generated';
import { GC_TYPES, GcTypeName, MAIN_REGION_SLOTS, Snapshot } from './snapshot';
import type { MetricDescription } from './catalog';

/** A sampler of this thread, or a view of another thread's. */
export type SamplerReaderLike = Sampler | SamplerView;

// How each main slot combines across threads is declared in native/core/slots.def
// (`// combine: RULE`, generated into MAIN_COMBINE); heap spaces (after SPACES_BASE) sum.
const RULES: SlotCombine[] = (() => {
  const rules = new Array<SlotCombine>(MAIN_REGION_SLOTS).fill('sum');
  MAIN_COMBINE.forEach((rule, index) => (rules[index] = rule));
  return rules;
})();
const MAX_KNOWN: number[] = RULES.flatMap((r, k) => (r === 'maxKnown' ? [k] : []));
const PER_PROCESS: number[] = RULES.flatMap((r, k) => (r === 'perProcess' ? [k] : []));

/** The process a member records: a published view's writer, else this process. */
function processOf(m: SamplerReaderLike): number {
  const pid = (m as { pid?: unknown }).pid;
  return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0 ? pid : process.pid;
}

/**
 * Several samplers (this thread's, and views of other threads' from Sampler.attach()) read
 * as one: read() sums counters and per-loop gauges (heap, loop, GC, stalls), takes the
 * maximum of maxima, timestamps and process-wide values (RSS, CPU, fds), and histograms
 * merge. Members may be views of other processes' published blocks (Sampler.open()):
 * process-wide values (RSS, CPU time, open fds) are then the largest among the threads of
 * each process, summed across processes. `threadId` of the aggregate is -1. Exporters label
 * each member's series with its thread id.
 */
export class SamplerAggregate {
  readonly members: readonly SamplerReaderLike[];
  readonly heapSpaceNames: readonly string[];
  readonly histograms: SamplerHistograms;
  readonly threadId = -1;
  private readonly scratch: Snapshot[];
  /** Each member's process, as an index into `perProcess` (see processOf()). */
  private readonly processIndex: Int32Array;
  private readonly perProcess: Float64Array;
  private isClosed = false;

  constructor(members: readonly SamplerReaderLike[]) {
    // Checked through an unknown alias: Array.isArray(members) would narrow members to any[].
    const list: unknown = members;
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError('SamplerAggregate(members): members must be a non-empty array of Samplers or SamplerViews');
    }
    members.forEach((m, i) => {
      if (m === null || typeof m !== 'object' || typeof m.read !== 'function' || typeof m.share !== 'function') {
        throw new TypeError(`SamplerAggregate(members): members[${i}] must be a Sampler or a SamplerView`);
      }
    });
    const names = members[0].heapSpaceNames;
    members.forEach((m, i) => {
      if (m.heapSpaceNames.join() !== names.join()) {
        throw new SamplerError(`SamplerAggregate(members): members[${i}] has other heap spaces (another Node version?)`, 'ERR_SAMPLER_INCOMPATIBLE');
      }
    });
    this.members = Object.freeze([...members]);
    this.heapSpaceNames = names;
    this.scratch = members.map((m) => m.read());
    const pids = [...new Set(members.map(processOf))];
    this.processIndex = Int32Array.from(members, (m) => pids.indexOf(processOf(m)));
    this.perProcess = new Float64Array(pids.length);
    const merged = (pick: (m: SamplerReaderLike) => Histogram) => (): Histogram => {
      let out: Histogram | null = null;
      for (const m of this.members) {
        const h = pick(m);
        out = out === null ? h.clone() : out.merge(h);
      }
      return out!;
    };
    const byType = {} as Record<GcTypeName, Histogram>;
    for (const t of GC_TYPES) Object.defineProperty(byType, t, { get: merged((m) => m.histograms.gcPauseByType[t]), enumerable: true });
    const gcPause = merged((m) => m.histograms.gcPause);
    const loopDelay = merged((m) => m.histograms.loopDelay);
    const loopIteration = merged((m) => m.histograms.loopIteration);
    const safepoint = merged((m) => m.histograms.gcTimeToSafepoint);
    const threadpoolDelay = merged((m) => m.histograms.threadpoolDelay);
    this.histograms = Object.freeze({
      get gcPause(): Histogram { return gcPause(); },
      gcPauseByType: Object.freeze(byType),
      get loopDelay(): Histogram { return loopDelay(); },
      get loopIteration(): Histogram { return loopIteration(); },
      get gcTimeToSafepoint(): Histogram { return safepoint(); },
      get threadpoolDelay(): Histogram { return threadpoolDelay(); },
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Stops using the aggregate (its members stay as they are). */
  close(): void {
    this.isClosed = true;
  }

  /** The members' snapshots, read now, with their thread ids (for per-thread exports). */
  readMembers(): Array<{ threadId: number; member: SamplerReaderLike; snapshot: Snapshot }> {
    if (this.isClosed) throw closedError();
    return this.members.map((member, i) => ({ threadId: member.threadId, member, snapshot: member.read(this.scratch[i]) }));
  }

  /** The combined snapshot (see the class comment). */
  read(into?: Snapshot): Snapshot {
    if (this.isClosed) throw closedError();
    const out = into ?? new Snapshot(this.heapSpaceNames);
    if (!(out instanceof Snapshot)) throw new TypeError('read(into): into must be a Snapshot returned by read()');
    const dst = out.slots;
    const w = out.stallSlots;
    dst.fill(0);
    w.fill(0);
    for (const k of MAX_KNOWN) dst[k] = NaN;
    let anyActiveSince = 0;
    this.members.forEach((m, i) => {
      const s = m.read(this.scratch[i]);
      const f = s.slots;
      for (let k = 0; k < f.length; k++) {
        const v = f[k];
        switch (RULES[k]) {
          case 'sum': dst[k] += v; break;
          case 'max': if (v > dst[k]) dst[k] = v; break;
          case 'maxKnown': if (v === v && !(v <= dst[k])) dst[k] = v; break;
          case 'minNonZero': if (v > 0 && (dst[k] === 0 || v < dst[k])) dst[k] = v; break;
          case 'all': dst[k] = i === 0 ? v : Math.min(dst[k], v); break;
          default: break;
        }
      }
      // A stall in progress on any member is one here, from the earliest start.
      const since = s.stall.sinceNs;
      if (since > 0 && (anyActiveSince === 0 || since < anyActiveSince)) anyActiveSince = since;
    });
    const per = this.perProcess;
    for (const k of PER_PROCESS) {
      per.fill(0);
      for (let i = 0; i < this.scratch.length; i++) {
        const v = this.scratch[i].slots[k];
        const p = this.processIndex[i];
        if (v > per[p]) per[p] = v;
      }
      let sum = 0;
      for (const v of per) sum += v;
      dst[k] = sum;
    }
    dst[M.THREAD_ID] = -1;
    if (anyActiveSince > 0) {
      w[W.ACTIVE_SINCE_NS] = anyActiveSince;
      w[W.ITERATION] = Number.MAX_VALUE; // active for the summed iteration count too
    }
    return out;
  }

  /** The members' catalog (they share one: same heap spaces). */
  catalog(): MetricDescription[] {
    return this.members[0].catalog();
  }
}
