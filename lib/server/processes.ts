// Other processes served by one monitor, from their published blocks: what the cluster
// primary (cluster.ts) and /processes share. Everything read here was written by another
// process: titles are cleaned and bounded before they become labels.
import type { Readable } from '../exporters/common';

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
