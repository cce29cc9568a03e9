// A stall's profile (watchdog.profile): the JavaScript stacks the watchdog sampled while
// the stall lasted, aggregated into unique stacks with counts, and converted to the two
// formats profile viewers read: Chrome DevTools' .cpuprofile (Profiler.Profile) and folded
// stacks (speedscope, flamegraph.pl, inferno).
import { describeValue, isArray, isRecord } from './errors';

/**
 * One frame, as in DevTools' Runtime.CallFrame: lineNumber and columnNumber are 0-based
 * and are where that function was executing when sampled (V8's stack frames give that,
 * not where the function begins).
 */
export interface StallProfileFrame {
  functionName: string;
  /** The script's URL or file path ('' for code without one). */
  url: string;
  scriptId: number;
  lineNumber: number;
  columnNumber: number;
}

/** A unique stack and how many samples found it. `frames` are root first (the caller before the callee). */
export interface StallProfileStack {
  frames: StallProfileFrame[];
  count: number;
}

/** What a StallProfile holds: its plain fields (toJSON()'s result; StallProfile.from() takes it back). */
export interface StallProfileData {
  /** The configured mean sampling interval, ns (the intervals are exponentially distributed: Poisson sampling, see the README). */
  intervalNs: number;
  /** Samples taken (the sum of the stacks' counts). */
  samples: number;
  stacks: StallProfileStack[];
  /** When the first sample was taken and when the stall ended (monotonic ns, process.hrtime's clock). */
  startNs: number;
  endNs: number;
  /** Each sample in order: the index of its stack in `stacks`, and its time (monotonic ns). */
  sampleStacks: number[];
  sampleTimesNs: number[];
  /** Samples that did not fit (past 1000 per stall, or the frame buffer full). */
  dropped: number;
  /** Samples whose stack was cut at 64 frames (the root side is missing). */
  truncated: number;
  /** Frames the profile's table had no room for, shown as "(frames not recorded)". */
  framesLost: number;
  /** Times a sample was due while the previous one still waited: the thread was outside JavaScript (native code, a system call). */
  missed: number;
}

/** The binding's raw profile (native/addon.cc stallProfile()). */
export interface NativeStallProfile {
  endNs: number;
  times: Float64Array;
  offsets: Uint32Array;
  ids: Uint16Array;
  /** [name, url, scriptId, line, column], line and column 1-based. */
  frames: Array<[string, string, number, number, number]>;
  dropped: number;
  truncated: number;
  framesLost: number;
  missed: number;
}

/** Chrome DevTools' Profiler.Profile (the .cpuprofile file's content). */
export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** Microseconds. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number };
  hitCount: number;
  children?: number[];
  positionTicks?: Array<{ line: number; ticks: number }>;
}

/** Bounds of a profile taken back from plain data (StallProfile.from), as the native side bounds it. */
export const STALL_PROFILE_LIMITS = Object.freeze({ maxSamples: 1000, maxDepth: 64, maxFrames: 1024, maxStringLength: 512 });

const ROOT_FRAME = Object.freeze({ functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 });

export class StallProfile implements StallProfileData {
  readonly intervalNs: number;
  readonly samples: number;
  readonly stacks: StallProfileStack[];
  readonly startNs: number;
  readonly endNs: number;
  readonly sampleStacks: number[];
  readonly sampleTimesNs: number[];
  readonly dropped: number;
  readonly truncated: number;
  readonly framesLost: number;
  readonly missed: number;

  private constructor(d: StallProfileData) {
    this.intervalNs = d.intervalNs;
    this.samples = d.samples;
    this.stacks = d.stacks;
    this.startNs = d.startNs;
    this.endNs = d.endNs;
    this.sampleStacks = d.sampleStacks;
    this.sampleTimesNs = d.sampleTimesNs;
    this.dropped = d.dropped;
    this.truncated = d.truncated;
    this.framesLost = d.framesLost;
    this.missed = d.missed;
  }

  /** @internal From the binding's raw form: unique stacks, root first. */
  static fromNative(raw: NativeStallProfile, intervalNs: number): StallProfile {
    const frames: StallProfileFrame[] = raw.frames.map(([functionName, url, scriptId, line, column]) => ({
      functionName, url, scriptId, lineNumber: line - 1, columnNumber: column - 1,
    }));
    const n = raw.times.length;
    const byKey = new Map<string, number>();
    const stacks: StallProfileStack[] = [];
    const sampleStacks: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const ids = raw.ids.subarray(raw.offsets[i], raw.offsets[i + 1]);
      const key = ids.join(',');
      let s = byKey.get(key);
      if (s === undefined) {
        s = stacks.length;
        byKey.set(key, s);
        const leafFirst = Array.from(ids, (id) => frames[id]);
        stacks.push({ frames: leafFirst.reverse(), count: 0 });
      }
      stacks[s].count++;
      sampleStacks[i] = s;
    }
    const sampleTimesNs = Array.from(raw.times);
    return new StallProfile({
      intervalNs, samples: n, stacks, startNs: n > 0 ? sampleTimesNs[0] : raw.endNs, endNs: raw.endNs, sampleStacks, sampleTimesNs,
      dropped: raw.dropped, truncated: raw.truncated, framesLost: raw.framesLost, missed: raw.missed,
    });
  }

  /**
   * A StallProfile from its plain data (toJSON()'s, e.g. after postMessage or JSON.parse),
   * checked: a TypeError names the first field that is not what a profile holds.
   */
  static from(data: unknown): StallProfile {
    const L = STALL_PROFILE_LIMITS;
    const fail = (field: string, value: unknown, accepted: string): never => {
      throw new TypeError(`StallProfile.from(): ${field} must be ${accepted}, got ${describeValue(value)}`);
    };
    if (!isRecord(data)) fail('data', data, 'an object (a stall profile\'s toJSON())');
    const d = data as Record<string, unknown>;
    const count = (field: string, max: number): number => {
      const v = d[field];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) fail(field, v, `an integer from 0 to ${max}`);
      return v as number;
    };
    const time = (field: string, v: unknown): number => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(field, v, 'a time in ns (a finite number ≥ 0)');
      return v as number;
    };
    const str = (field: string, v: unknown): string => {
      if (typeof v !== 'string' || v.length > L.maxStringLength) fail(field, v, `a string of at most ${L.maxStringLength} characters`);
      return v as string;
    };
    const int = (field: string, v: unknown, min: number): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(field, v, `an integer ≥ ${min}`);
      return v as number;
    };
    const intervalNs = time('intervalNs', d.intervalNs);
    const samples = count('samples', L.maxSamples);
    if (!isArray(d.stacks) || d.stacks.length > samples) fail('stacks', d.stacks, `an array of at most samples (${samples}) stacks`);
    let frameCount = 0;
    let total = 0;
    const stacks = (d.stacks as unknown[]).map((s, i): StallProfileStack => {
      const r0 = isRecord(s) ? s : {};
      const list = r0.frames;
      if (!isRecord(s) || !isArray(list) || list.length > L.maxDepth) fail(`stacks[${i}]`, s, `{ frames: an array of at most ${L.maxDepth} frames, count }`);
      const c = r0.count;
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 1) fail(`stacks[${i}].count`, c, 'an integer ≥ 1');
      total += c as number;
      frameCount += (list as unknown[]).length;
      if (frameCount > L.maxSamples * L.maxDepth) fail('stacks', d.stacks, 'at most maxSamples × maxDepth frames in all');
      const frames = (list as unknown[]).map((f, j): StallProfileFrame => {
        const at = `stacks[${i}].frames[${j}]`;
        if (!isRecord(f)) fail(at, f, 'a frame object');
        const r = f as Record<string, unknown>;
        return {
          functionName: str(`${at}.functionName`, r.functionName), url: str(`${at}.url`, r.url), scriptId: int(`${at}.scriptId`, r.scriptId, 0),
          lineNumber: int(`${at}.lineNumber`, r.lineNumber, -1), columnNumber: int(`${at}.columnNumber`, r.columnNumber, -1),
        };
      });
      return { frames, count: c as number };
    });
    if (total !== samples) fail('stacks', d.stacks, `stacks whose counts add up to samples (${samples}; they add up to ${total})`);
    if (!isArray(d.sampleStacks) || d.sampleStacks.length !== samples) fail('sampleStacks', d.sampleStacks, `an array of samples (${samples}) stack indexes`);
    if (!isArray(d.sampleTimesNs) || d.sampleTimesNs.length !== samples) fail('sampleTimesNs', d.sampleTimesNs, `an array of samples (${samples}) times`);
    const sampleStacks = (d.sampleStacks as unknown[]).map((v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= stacks.length) fail(`sampleStacks[${i}]`, v, `a stack index from 0 to ${stacks.length - 1}`);
      return v as number;
    });
    let prev = 0;
    const sampleTimesNs = (d.sampleTimesNs as unknown[]).map((v, i) => {
      const t = time(`sampleTimesNs[${i}]`, v);
      if (t < prev) fail(`sampleTimesNs[${i}]`, v, 'a time no earlier than the sample before');
      prev = t;
      return t;
    });
    const startNs = time('startNs', d.startNs);
    const endNs = time('endNs', d.endNs);
    if (endNs < startNs || (samples > 0 && (sampleTimesNs[0] < startNs || prev > endNs))) fail('endNs', endNs, 'a time after startNs and every sample');
    return new StallProfile({
      intervalNs, samples, stacks, startNs, endNs, sampleStacks, sampleTimesNs,
      dropped: count('dropped', Number.MAX_SAFE_INTEGER), truncated: count('truncated', L.maxSamples), framesLost: count('framesLost', Number.MAX_SAFE_INTEGER), missed: count('missed', Number.MAX_SAFE_INTEGER),
    });
  }

  /** The plain data (what postMessage and JSON.stringify carry). */
  toJSON(): StallProfileData {
    return {
      intervalNs: this.intervalNs, samples: this.samples, stacks: this.stacks, startNs: this.startNs, endNs: this.endNs,
      sampleStacks: this.sampleStacks, sampleTimesNs: this.sampleTimesNs,
      dropped: this.dropped, truncated: this.truncated, framesLost: this.framesLost, missed: this.missed,
    };
  }

  /**
   * Chrome DevTools' .cpuprofile (Profiler.Profile): write `JSON.stringify(p.toCpuProfile())`
   * to a file ending in .cpuprofile and open it in DevTools' Performance panel or speedscope.
   * A function's node merges the positions it was sampled at (positionTicks, 1-based lines);
   * its callFrame's lineNumber/columnNumber is the first position seen (0-based). Times are
   * microseconds on the monotonic clock; the first delta is from startTime, the first sample.
   */
  toCpuProfile(): CpuProfile {
    const nodes: CpuProfileNode[] = [{ id: 1, callFrame: { ...ROOT_FRAME }, hitCount: 0, children: [] }];
    const childByKey = new Map<string, number>();
    const lineTicks: Array<Map<number, number> | undefined> = [];
    const leafOfStack = this.stacks.map((s) => {
      let parent = 1;
      for (const f of s.frames) {
        const key = `${parent}\0${f.functionName}\0${f.url}\0${f.scriptId}`;
        let id = childByKey.get(key);
        if (id === undefined) {
          id = nodes.length + 1;
          childByKey.set(key, id);
          nodes.push({ id, callFrame: { functionName: f.functionName, scriptId: String(f.scriptId), url: f.url, lineNumber: f.lineNumber, columnNumber: f.columnNumber }, hitCount: 0, children: [] });
          nodes[parent - 1].children!.push(id);
        }
        parent = id;
      }
      const leaf = nodes[parent - 1];
      leaf.hitCount += s.count;
      const top = s.frames[s.frames.length - 1];
      if (top !== undefined && top.lineNumber >= 0) {
        const m = (lineTicks[parent] ??= new Map());
        m.set(top.lineNumber + 1, (m.get(top.lineNumber + 1) ?? 0) + s.count);
      }
      return parent;
    });
    for (const n of nodes) {
      const m = lineTicks[n.id];
      if (m !== undefined) n.positionTicks = [...m].map(([line, ticks]) => ({ line, ticks }));
    }
    const us = (ns: number): number => Math.round(ns / 1000);
    const startTime = us(this.startNs);
    const samples = this.sampleStacks.map((s) => leafOfStack[s]);
    let last = startTime;
    const timeDeltas = this.sampleTimesNs.map((t) => {
      const d = us(t) - last;
      last += d;
      return d;
    });
    return { nodes, startTime, endTime: Math.max(us(this.endNs), last), samples, timeDeltas };
  }

  /**
   * Folded stacks, one line per unique stack of function names, root first, with its
   * sample count: "main;handle;a 12". Names lose ';' and line breaks (replaced by '_'),
   * which the format cannot carry.
   */
  toFolded(): string {
    const counts = new Map<string, number>();
    for (const s of this.stacks) {
      const line = s.frames.length === 0 ? '(root)' : s.frames.map((f) => f.functionName.replace(/[;\r\n]/g, '_') || '(anonymous)').join(';');
      counts.set(line, (counts.get(line) ?? 0) + s.count);
    }
    let out = '';
    for (const [line, n] of counts) out += `${line} ${n}\n`;
    return out;
  }

  /** The functions most often on top of the stack: self samples, most first. */
  topFrames(limit = 5): Array<{ functionName: string; url: string; lineNumber: number; samples: number; share: number }> {
    const byFn = new Map<string, { functionName: string; url: string; lineNumber: number; samples: number; share: number }>();
    for (const s of this.stacks) {
      const f = s.frames[s.frames.length - 1];
      if (f === undefined) continue;
      const key = `${f.functionName}\0${f.url}`;
      const e = byFn.get(key) ?? { functionName: f.functionName, url: f.url, lineNumber: f.lineNumber, samples: 0, share: 0 };
      e.samples += s.count;
      byFn.set(key, e);
    }
    const out = [...byFn.values()].sort((a, b) => b.samples - a.samples).slice(0, limit);
    for (const e of out) e.share = this.samples > 0 ? e.samples / this.samples : 0;
    return out;
  }
}
