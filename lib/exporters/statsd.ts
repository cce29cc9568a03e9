// StatsD / DogStatsD over UDP: every intervalMs, gauges as they are now, counters as what
// they grew by since the previous flush, and each histogram's interval (count, mean, max,
// percentiles), batched into datagrams no larger than maxPacketBytes. Network failures are
// counted in `stats`, never thrown: a metrics exporter must not take the application down.
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import { isIP } from 'node:net';
import { Sampler } from '../sampler';
import type { Snapshot } from '../snapshot';
import type { Histogram } from '../histogram';
import { delta, SnapshotDelta } from '../delta';
import { checkDetail, checkLabels, checkSampler, families, MONOTONIC_TIMESTAMPS } from './common';
import type { DetailLevel } from '../catalog';
import { describeValue, SamplerError } from '../errors';
import { checkBoolean, checkFunction, checkInteger, checkKnownOptions, checkOneOf, checkOptionsObject, checkString } from '../options';

export interface StatsdOptions {
  /** Where to send: a host name or an IP address (default '127.0.0.1'). Looked up once per flush. */
  host?: string;
  /** UDP port, 1–65535 (default 8125). */
  port?: number;
  /**
   * How often to flush, ms: an integer from 100 to 3,600,000 (default 10000), or 0 for no
   * timer (call flush() yourself).
   */
  intervalMs?: number;
  /**
   * Prepended to every metric name (default 'runtime.'): empty, or name characters
   * ([A-Za-z0-9_-], dot-separated) ending in '.', '_' or '-'.
   */
  prefix?: string;
  /** 'statsd' (default: plain Etsy StatsD lines, no tags) or 'dogstatsd' (tags after `|#`). */
  protocol?: 'statsd' | 'dogstatsd';
  /** Tags added to every line (protocol 'dogstatsd' only), e.g. { service: 'api', env: 'prod' }; '' gives a bare tag. */
  tags?: Record<string, string | number | boolean>;
  /** Largest datagram payload, bytes: an integer from 64 to 65507 (default 1432). */
  maxPacketBytes?: number;
  /** Percentiles sent for each histogram: 1–10 numbers, each > 0 and < 100 (default [50, 90, 99]). */
  percentiles?: number[];
  /** The sampler to read (not started or closed by the exporter). Default: a new one, started now and closed by shutdown() or close(). */
  sampler?: Sampler;
  /** 'udp4' or 'udp6' (default: 'udp6' for an IPv6 address, else 'udp4'). */
  socketType?: 'udp4' | 'udp6';
  /** Whether the flush timer lets the process exit (default true). */
  unref?: boolean;
  /** Whether shutdown() and close() send what happened since the last flush first (default true). */
  flushOnClose?: boolean;
  /** Called with every error counted in stats.errors (exceptions it throws are ignored). */
  onError?: (error: Error) => void;
  /**
   * 'standard' (the default): the metrics the catalog marks `detail: 'standard'`; 'full':
   * every catalog metric (reasons, phases, per-type splits).
   */
  detail?: DetailLevel;
}

export interface StatsdStats {
  /** Intervals read from the sampler and rendered into lines (sent or not). */
  flushes: number;
  /** Datagrams the OS accepted. */
  packets: number;
  /** Bytes of those datagrams. */
  bytes: number;
  /** Metric lines in those datagrams. */
  metrics: number;
  /** Lines longer than maxPacketBytes on their own: not sent. */
  dropped: number;
  /** Failed lookups, failed sends, socket errors and failed reads of the sampler. */
  errors: number;
  /** The most recent of those errors, or null. */
  lastError: Error | null;
}

/** The options in effect, defaults filled in. */
export interface StatsdResolvedOptions {
  host: string;
  port: number;
  intervalMs: number;
  prefix: string;
  protocol: 'statsd' | 'dogstatsd';
  tags: Readonly<Record<string, string>>;
  maxPacketBytes: number;
  percentiles: readonly number[];
  socketType: 'udp4' | 'udp6';
  unref: boolean;
  flushOnClose: boolean;
  detail: DetailLevel;
}

const WHAT = 'createStatsdExporter()';
const OPTIONS = [
  'host', 'port', 'intervalMs', 'prefix', 'protocol', 'tags', 'maxPacketBytes', 'percentiles',
  'sampler', 'socketType', 'unref', 'flushOnClose', 'onError', 'detail',
];
export const STATSD_DEFAULT_PREFIX = 'runtime.';
export const STATSD_DEFAULT_MAX_PACKET_BYTES = 1432;
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 3_600_000;
const MIN_PACKET = 64;
/** The largest UDP payload over IPv4 (65535 − 8 UDP − 20 IP header bytes). */
const MAX_PACKET = 65507;
const PREFIX_RE = /^$|^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*[._-]$/;
const TAG_KEY_RE = /^[A-Za-z][A-Za-z0-9_.\-/]*$/;
/** What would end a tag, a tag list or a line: `,`, `|`, `#`, whitespace and control characters. */
const TAG_VALUE_BAD = /[,|#\s\u0000-\u001f\u007f]/;
const NAME_BAD = /[^A-Za-z0-9_.-]/g;
const TAG_BAD = /[,|#\s\u0000-\u001f\u007f]/g;

/**
 * Catalog names sent under another name: the histogram nodejs.threadpool.delay sends its
 * interval max as nodejs.threadpool.delay.max, which is also the since-start maximum's
 * catalog name; one name carrying both would make a server mix two meanings.
 */
const RENAMES: Readonly<Record<string, string>> = {
  'nodejs.threadpool.delay.max': 'nodejs.threadpool.max_delay',
};

/** Gauges whose since-start() value is replaced by the flush interval's. */
const INTERVAL_GAUGES: Readonly<Record<string, (d: SnapshotDelta) => number>> = {
  'nodejs.eventloop.utilization': (d) => d.loop.utilization,
};

/** Catalog unit → factor to the unit sent: durations in milliseconds, everything else as is. */
function unitFactor(unit: string): number {
  if (unit === 'ns') return 1e-6;
  if (unit === 'us') return 1e-3;
  return 1;
}

/** Decimal notation, at most 6 decimals (1 ns in ms); never an exponent for what we send. */
function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 1e6) / 1e6);
}

const sanitizeName = (s: string): string => s.replace(NAME_BAD, '_');
const sanitizeTag = (s: string): string => s.replace(TAG_BAD, '_');

function resolveOptions(options: unknown): { o: StatsdResolvedOptions; sampler?: Sampler; onError?: (e: Error) => void } {
  const raw = checkOptionsObject(WHAT, options);
  checkKnownOptions(WHAT, raw, OPTIONS);
  const host = raw.host === undefined
    ? '127.0.0.1'
    : checkString('host', raw.host, /^[^\s\u0000-\u001f\u007f]{1,253}$/, 'a host name or IP address (1–253 characters, no whitespace)');
  const port = raw.port === undefined ? 8125 : checkInteger('port', raw.port, 1, 65535);
  let intervalMs = 10000;
  if (raw.intervalMs !== undefined) {
    const v = raw.intervalMs;
    const accepted = `0 (no timer) or an integer from ${MIN_INTERVAL_MS} to ${MAX_INTERVAL_MS}`;
    if (typeof v !== 'number') throw new TypeError(`intervalMs must be ${accepted}, got ${describeValue(v)}`);
    if (v !== 0 && !(Number.isInteger(v) && v >= MIN_INTERVAL_MS && v <= MAX_INTERVAL_MS)) {
      throw new RangeError(`intervalMs must be ${accepted}, got ${String(v)}`);
    }
    intervalMs = v;
  }
  const prefix = raw.prefix === undefined
    ? STATSD_DEFAULT_PREFIX
    : checkString('prefix', raw.prefix, PREFIX_RE, "'' or dot-separated [A-Za-z0-9_-] names ending in '.', '_' or '-' (e.g. 'myapp.')");
  const protocol = raw.protocol === undefined ? 'statsd' : checkOneOf('protocol', raw.protocol, ['statsd', 'dogstatsd'] as const);
  let tags: Record<string, string> = {};
  if (raw.tags !== undefined) {
    tags = checkLabels('tags', raw.tags, TAG_KEY_RE, 'a letter, then letters, digits, _ . - /');
    for (const [k, v] of Object.entries(tags)) {
      if (TAG_VALUE_BAD.test(v)) {
        throw new RangeError(`tags.${k} must not contain ',', '|', '#', whitespace or control characters, got ${JSON.stringify(v)}`);
      }
    }
    if (protocol !== 'dogstatsd' && Object.keys(tags).length > 0) {
      throw new RangeError(`tags need protocol: 'dogstatsd' (plain StatsD lines have no tags; use prefix instead), got protocol ${JSON.stringify(protocol)}`);
    }
  }
  const maxPacketBytes = raw.maxPacketBytes === undefined
    ? STATSD_DEFAULT_MAX_PACKET_BYTES
    : checkInteger('maxPacketBytes', raw.maxPacketBytes, MIN_PACKET, MAX_PACKET);
  let percentiles: number[] = [50, 90, 99];
  if (raw.percentiles !== undefined) {
    const p = raw.percentiles;
    if (!Array.isArray(p)) throw new TypeError(`percentiles must be an array of 1 to 10 numbers > 0 and < 100, got ${describeValue(p)}`);
    if (p.length < 1 || p.length > 10) throw new RangeError(`percentiles must have 1 to 10 entries, got ${p.length}`);
    p.forEach((x, i) => {
      if (typeof x !== 'number') throw new TypeError(`percentiles[${i}] must be a number > 0 and < 100, got ${describeValue(x)}`);
      if (!(x > 0 && x < 100)) throw new RangeError(`percentiles[${i}] must be > 0 and < 100 (max is always sent), got ${String(x)}`);
      if (p.indexOf(x) !== i) throw new RangeError(`percentiles[${i}]: ${x} is listed twice`);
    });
    percentiles = [...(p as number[])]; // each checked above
  }
  const family = isIP(host);
  let socketType: 'udp4' | 'udp6' = family === 6 ? 'udp6' : 'udp4';
  if (raw.socketType !== undefined) {
    const t = checkOneOf('socketType', raw.socketType, ['udp4', 'udp6'] as const);
    if (family !== 0 && t !== `udp${family}`) {
      throw new RangeError(`socketType ${JSON.stringify(t)} cannot send to the IPv${family} address ${JSON.stringify(host)}; use 'udp${family}'`);
    }
    socketType = t;
  }
  const unref = raw.unref === undefined ? true : checkBoolean('unref', raw.unref);
  const flushOnClose = raw.flushOnClose === undefined ? true : checkBoolean('flushOnClose', raw.flushOnClose);
  const onError = raw.onError === undefined ? undefined : checkFunction<(e: Error) => void>('onError', raw.onError);
  const sampler = raw.sampler === undefined ? undefined : checkSampler<Sampler>(WHAT, raw.sampler, 'a runtime-sampler Sampler');
  const o: StatsdResolvedOptions = {
    host, port, intervalMs, prefix, protocol, tags: Object.freeze(tags), maxPacketBytes,
    percentiles: Object.freeze(percentiles), socketType, unref, flushOnClose, detail: checkDetail(raw.detail),
  };
  return { o: Object.freeze(o), sampler, onError };
}

/**
 * Lines joined by '\n' into payloads of at most `max` bytes, in order; a line is never
 * split. Lines longer than `max` on their own are left out and counted.
 */
export function packLines(lines: readonly string[], max: number): { packets: string[]; dropped: number } {
  const packets: string[] = [];
  let dropped = 0;
  let cur = '';
  let curBytes = 0;
  for (const line of lines) {
    const n = Buffer.byteLength(line);
    if (n > max) {
      dropped++;
      continue;
    }
    if (curBytes > 0 && curBytes + 1 + n <= max) {
      cur += `\n${line}`;
      curBytes += 1 + n;
    } else {
      if (curBytes > 0) packets.push(cur);
      cur = line;
      curBytes = n;
    }
  }
  if (curBytes > 0) packets.push(cur);
  return { packets, dropped };
}

type Settle = (error: Error | null) => void;

/** What a send resolves with when its socket failed or closed first (that event was counted). */
const GONE = new Error('the socket failed or closed before the send completed');

/** The UDP socket and the sends still waiting for their callback. */
class Channel {
  readonly socket: dgram.Socket;
  private readonly pending = new Set<Settle>();
  private closing = false;

  constructor(type: 'udp4' | 'udp6', onSocketError: (e: Error) => void, onGone: (c: Channel) => void) {
    this.socket = dgram.createSocket({ type });
    // Only ever sends: the socket must not keep the process alive.
    this.socket.unref();
    this.socket.on('error', (err: Error) => {
      onSocketError(err);
      // A failed implicit bind drops dgram's queued sends without calling their callbacks.
      this.settleAll();
    });
    this.socket.on('close', () => {
      this.settleAll();
      if (!this.closing) onGone(this);
    });
  }

  /** Resolves with the send's error, or null once the OS took the datagram. Never rejects. */
  send(payload: Buffer, port: number, address: string): Promise<Error | null> {
    return new Promise((resolve) => {
      let done = false;
      const settle: Settle = (error) => {
        if (done) return;
        done = true;
        this.pending.delete(settle);
        resolve(error);
      };
      this.pending.add(settle);
      try {
        this.socket.send(payload, port, address, (err) => settle(err ?? null));
      } catch (err) {
        settle(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  close(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }

  private settleAll(): void {
    for (const s of [...this.pending]) s(GONE);
  }
}

/**
 * Sends a sampler's metrics to a StatsD or DogStatsD server. Create with
 * createStatsdExporter(); see docs/exporters.md for the line format.
 */
export class StatsdExporter {
  /** The options in effect. */
  readonly options: StatsdResolvedOptions;
  /** The sampler read at every flush. */
  readonly sampler: Sampler;
  private readonly ownsSampler: boolean;
  private readonly onError: ((e: Error) => void) | undefined;
  private readonly counts: StatsdStats = {
    flushes: 0, packets: 0, bytes: 0, metrics: 0, dropped: 0, errors: 0, lastError: null,
  };
  private readonly tagSuffix: string;
  private readonly dogstatsd: boolean;
  private prevSnap: Snapshot;
  private curSnap: Snapshot;
  private readonly prevCounters = new Map<string, number>();
  private readonly prevHistograms = new Map<string, Histogram>();
  private channel: Channel | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private closing: Promise<void> | null = null;

  /** The same as createStatsdExporter(options). */
  constructor(options?: StatsdOptions) {
    const { o, sampler, onError } = resolveOptions(options);
    this.options = o;
    this.onError = onError;
    this.dogstatsd = o.protocol === 'dogstatsd';
    this.tagSuffix = Object.entries(o.tags).map(([k, v]) => (v === '' ? k : `${k}:${v}`)).join(',');
    this.ownsSampler = sampler === undefined;
    this.sampler = sampler ?? new Sampler().start();
    try {
      // The baseline: the first flush sends what happened from now on.
      this.prevSnap = this.sampler.read();
      this.curSnap = this.sampler.read();
      this.render(this.prevSnap, null);
    } catch (err) {
      if (this.ownsSampler) this.sampler.close();
      throw err;
    }
    if (o.intervalMs > 0) {
      this.timer = setInterval(() => this.tick(), o.intervalMs);
      if (o.unref) this.timer.unref();
    }
  }

  /** A copy of the counters of what was sent and what failed. */
  get stats(): StatsdStats {
    return { ...this.counts };
  }

  /** Whether shutdown() or close() has been called. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /** @internal The current socket (tests close it to simulate a failure). */
  get socket(): dgram.Socket | null {
    return this.channel?.socket ?? null;
  }

  /**
   * Reads the sampler and sends the interval since the previous flush now. Resolves once
   * every datagram was handed to the OS or failed; never rejects for network or read
   * failures (they are counted in stats.errors). Rejects with ERR_SAMPLER_CLOSED after
   * shutdown() or close().
   */
  flush(): Promise<void> {
    if (this.closing !== null) {
      return Promise.reject(new SamplerError('the StatsD exporter is closed', 'ERR_SAMPLER_CLOSED'));
    }
    return this.run();
  }

  /**
   * Stops the timer, sends a last flush of what happened since the previous one (unless
   * flushOnClose is false), and resolves once its datagrams were handed to the OS (or
   * failed: counted in stats.errors); then closes the socket, and the sampler if the
   * exporter created it. Idempotent (every call returns the same promise); never rejects.
   * Afterwards flush() rejects with ERR_SAMPLER_CLOSED.
   */
  shutdown(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  /** The same as shutdown() (the name it had first). */
  close(): Promise<void> {
    return this.shutdown();
  }

  private async finish(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.options.flushOnClose) void this.run();
    await Promise.all([...this.inFlight]);
    const channel = this.channel;
    this.channel = null;
    if (channel !== null) await channel.close();
    if (this.ownsSampler) this.sampler.close();
  }

  private tick(): void {
    // A send still waiting (a slow DNS lookup) skips this tick; the next one covers both
    // intervals, since counters and histograms are differenced against the last flush.
    if (this.inFlight.size > 0) return;
    void this.run();
  }

  /** One flush; the promise never rejects. */
  private run(): Promise<void> {
    let lines: string[];
    try {
      this.sampler.read(this.curSnap);
      lines = this.render(this.curSnap, this.prevSnap);
      [this.prevSnap, this.curSnap] = [this.curSnap, this.prevSnap];
    } catch (err) {
      this.fail(err);
      return Promise.resolve();
    }
    this.counts.flushes++;
    const { packets, dropped } = packLines(lines, this.options.maxPacketBytes);
    this.counts.dropped += dropped;
    if (packets.length === 0) return Promise.resolve();
    const p = this.send(packets).catch((err) => this.fail(err));
    this.inFlight.add(p);
    void p.then(() => this.inFlight.delete(p));
    return p;
  }

  private async send(packets: string[]): Promise<void> {
    const { host, port, socketType } = this.options;
    let address = host;
    if (isIP(host) === 0) {
      try {
        address = (await dns.promises.lookup(host, { family: socketType === 'udp6' ? 6 : 4 })).address;
      } catch (err) {
        this.fail(err);
        return;
      }
    }
    this.channel ??= new Channel(socketType, (e) => this.fail(e), (c) => {
      if (this.channel !== c) return;
      this.channel = null;
      this.fail(new Error('the StatsD socket was closed by someone else; the next flush opens a new one'));
    });
    const channel = this.channel;
    await Promise.all(packets.map(async (text) => {
      const payload = Buffer.from(text);
      const error = await channel.send(payload, port, address);
      if (error !== null) {
        if (error !== GONE) this.fail(error);
        return;
      }
      this.counts.packets++;
      this.counts.bytes += payload.length;
      this.counts.metrics += 1 + countNewlines(text);
    }));
  }

  private fail(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.counts.errors++;
    this.counts.lastError = error;
    if (this.onError) {
      try {
        this.onError(error);
      } catch {
        // An exporter's error hook must not turn a counted failure into a crash.
      }
    }
  }

  /**
   * The lines of one interval, and the baselines moved to `snap`. With `prev` null (the
   * baseline at creation) only the baselines are set.
   */
  private render(snap: Snapshot, prev: Snapshot | null): string[] {
    const lines: string[] = [];
    const d = prev === null ? null : delta(prev, snap);
    const { prefix, percentiles } = this.options;
    for (const f of families(this.sampler, snap, this.options.detail)) {
      const desc = f.description;
      if (MONOTONIC_TIMESTAMPS.has(desc.name)) continue;
      const factor = unitFactor(desc.unit);
      if (f.points) {
        for (const pt of f.points) {
          const { name, tags } = this.nameAndTags(prefix + (RENAMES[desc.name] ?? desc.name), pt.attributes);
          if (desc.kind === 'counter') {
            const key = `${name}|${tags}`;
            const before = this.prevCounters.get(key) ?? 0;
            this.prevCounters.set(key, pt.value);
            lines.push(this.line(name, Math.max(0, pt.value - before) * factor, 'c', tags));
          } else {
            const interval = INTERVAL_GAUGES[desc.name];
            const value = interval !== undefined && d !== null ? interval(d) : pt.value * factor;
            // Etsy StatsD reads a leading '-' as "decrease the gauge"; the only negative
            // gauge is open fds where they are not counted (-1), which is not a value.
            if (value < 0 || !Number.isFinite(value)) continue;
            lines.push(this.line(name, value, 'g', tags));
          }
        }
        continue;
      }
      for (const hp of f.histograms ?? []) {
        const { name, tags } = this.nameAndTags(prefix + desc.name, hp.attributes);
        const key = `${name}|${tags}`;
        const cur = hp.histogram;
        const before = this.prevHistograms.get(key);
        if (before === undefined) {
          this.prevHistograms.set(key, cur.clone());
          if (prev === null) continue;
        }
        const h = before === undefined ? cur.clone() : cur.delta(before);
        if (before !== undefined) before.copyFrom(cur);
        lines.push(this.line(`${name}.count`, h.count, 'c', tags));
        if (h.count === 0) continue;
        lines.push(this.line(`${name}.avg`, h.mean * factor, 'g', tags));
        lines.push(this.line(`${name}.max`, h.max * factor, 'g', tags));
        for (const p of percentiles) {
          lines.push(this.line(`${name}.p${String(p).replace('.', '_')}`, h.percentile(p) * factor, 'g', tags));
        }
      }
    }
    return prev === null ? [] : lines;
  }

  /** Plain StatsD folds attribute values into the name; DogStatsD sends them as tags. */
  private nameAndTags(base: string, attributes: Record<string, string>): { name: string; tags: string } {
    const entries = Object.entries(attributes);
    if (!this.dogstatsd) {
      let name = sanitizeName(base);
      for (const [, v] of entries) name += `.${sanitizeName(v)}`;
      return { name, tags: '' };
    }
    const tags = entries.map(([k, v]) => `${sanitizeTag(k).replace(/:/g, '_')}:${sanitizeTag(v)}`);
    if (this.tagSuffix) tags.push(this.tagSuffix);
    return { name: sanitizeName(base), tags: tags.join(',') };
  }

  private line(name: string, value: number, type: 'c' | 'g', tags: string): string {
    return `${name}:${formatNumber(value)}|${type}${tags ? `|#${tags}` : ''}`;
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Starts sending `sampler`'s metrics (or those of a sampler it creates) to a StatsD or
 * DogStatsD server every intervalMs. Bad options throw TypeError or RangeError.
 */
export function createStatsdExporter(options?: StatsdOptions): StatsdExporter {
  return new StatsdExporter(options);
}
