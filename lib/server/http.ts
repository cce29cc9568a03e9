// The monitor's HTTP server (run on the monitor thread, see monitor-worker.ts):
//   /              the live page
//   /live.json     what the page draws (windowed values)
//   /metrics       Prometheus text, or OpenMetrics or protobuf (native histograms) by Accept negotiation
//   /metrics.json  the JSON exporter's document
//   /healthz       200 while the process lives (cheap: no sampler read)
//   /readyz        200, or 503 with the failing thresholds (JSON)
//   /diagnose      diagnose()'s report: text, or JSON (?format=json or Accept); ?window=60s
//   /alerts        the built-in rules' alerts and every rule's state (JSON)
//   /processes     the processes served with their state (JSON; a cluster primary, the sidecar)
//   /debug/heap-snapshot, /debug/cpu-profile?seconds=N
//                  off unless enabled with a token; bearer auth, one at a time, bounded
//   /debug/stalls, /debug/stalls/<id>.cpuprofile
//                  the last stalls' profiles (watchdog.profile), guarded like the others
// Bad input gets a 4xx or a closed connection: unknown paths and query parameters,
// methods other than GET/HEAD, oversized headers (431 by node:http), slow clients
// (closed: see watchConnections()), too many connections (the longest-waiting one is shed).
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { negotiateFormat, toPrometheus, toPrometheusGroup, toPrometheusProtobuf } from '../exporters/prometheus';
import { toJSON, toJSONGroup } from '../exporters/json';
import type { LabelledReader, Readable } from '../exporters/common';
import { LoopWindow } from '../loop-window';
import { ReadinessChecker, ReadinessReport, ReadinessThresholds } from './readiness';
import { PAGE_HTML } from './page';
import { ROUTES } from './routes';
import { GC_TYPES, Snapshot } from '../snapshot';
import { Histogram } from '../histogram';
import { buildReport, Diagnosable } from '../analysis/diagnose';
import { resolveLeakOptions } from '../analysis/leak';
import { buildForecast, defaultForecastWindowMs, MemoryForecast } from '../analysis/forecast';
import { parseDuration } from '../analysis/rules';
import { Alert, watch, Watchable } from '../analysis/watcher';
import { ChannelsOptions, jobOf } from '../alerts';
import { AlertmanagerChannel } from '../alerts/alertmanager';
import { cleanTitle, readerState } from './processes';
import type { StallStore } from './stalls';
import type { DetailLevel } from '../catalog';

export interface MonitorServerOptions {
  readiness?: ReadinessThresholds;
  windowMs: number;
  token: string | null;
  debug: boolean;
  debugMaxBytes: number;
  debugMaxSeconds: number;
  /** Runs a debug operation on the profiled thread (the inspector, see monitor-worker.ts). */
  inspector?: DebugInspector;
  /** The sampler /diagnose and /alerts analyse (its history and the built-in rules run here). */
  analysis?: Diagnosable & Watchable;
  /** Other processes served with this one (a cluster primary's workers, the sidecar's processes). */
  processes?: ProcessSource;
  /** This process's title, for /processes (the monitor thread's argv is not the app's). */
  title?: string;
  /**
   * What the token guards: 'debug' (the default) the debug endpoints; 'all' every endpoint
   * but /healthz (the sidecar, which shows other processes' command lines and stacks).
   */
  tokenGuards?: 'debug' | 'all';
  /** Also evaluate the built-in anomaly rules (ANOMALY_RULES) on `analysis` (default false). */
  anomaly?: boolean;
  /** The last stalls' profiles (/debug/stalls); undefined: profiles are off. */
  stalls?: StallStore;
  /** Where the built-in rules' alerts are delivered (from this thread). */
  alerts?: ChannelsOptions;
  /** The detail level of /metrics and /metrics.json (default 'standard'; see toPrometheus()). */
  detail?: DetailLevel;
}

/**
 * Processes served together (see cluster.ts and processes.ts). `target` stays the process
 * the server runs in: /healthz, /readyz, /diagnose and /alerts are about it.
 */
export interface ProcessSource {
  /** What /metrics and /metrics.json export now, each reader with its labels; null: `target`. */
  sources(): LabelledReader[] | null;
  /**
   * What the live page shows, with a number that changes whenever its members do (the
   * page's window starts again then); null: `target`.
   */
  live(): { reader: Readable; generation: number; processes: number } | null;
  /** /processes: every process served, with its state (JSON-ready). */
  describe(): object;
  /** Families about the set itself (counts) in the exposition format, written after the others. */
  prometheus(openMetrics: boolean): string;
}

export interface DebugInspector {
  /**
   * Writes a heap snapshot to `fd`, at most `maxBytes`; resolves with the bytes written, or -1
   * when the snapshot was larger (see snapshot.ts).
   */
  heapSnapshot(fd: number, maxBytes: number): Promise<number>;
  /** A CPU profile over `seconds` (JSON text). */
  cpuProfile(seconds: number): Promise<string>;
}

/** Limits that protect the monitor from its clients (see watchConnections()). */
export const SERVER_LIMITS = Object.freeze({
  maxHeaderSize: 8 * 1024,
  /**
   * A connection is closed after this long without progress that waits on the client: no
   * byte received while no request is in flight, or no byte of a response taken.
   */
  idleTimeoutMs: 5000,
  /**
   * A request must arrive whole within this long of the connection being ready for it
   * (accepted, or the previous response done), however steadily it trickles in.
   */
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5000,
  keepAliveTimeoutMs: 5000,
  /** How often node:http checks its own timeouts (its default is 30 s). */
  checkIntervalMs: 1000,
  /**
   * Open connections kept; past it the excess is shed (see watchConnections()) within
   * `shedDelayMs`, or at once past `hardMaxConnections`.
   */
  maxConnections: 64,
  /** Connections accepted at once before shedding waits for nothing (a burst's ceiling). */
  hardMaxConnections: 512,
  /**
   * How long an accepted burst may exceed maxConnections before the excess is shed: long
   * enough for a new client's request (a health probe's) to be read, so that the ones
   * that sent nothing are told apart from it.
   */
  shedDelayMs: 20,
  /**
   * A connection accepted less than this long ago that has sent nothing is shed last, and
   * only past hardMaxConnections: a loaded loop (a burst of hundreds accepted in one go)
   * may not have read a new client's request yet, and that client is likely a probe.
   */
  silentGraceMs: 250,
  /** How often the monitor checks its connections' deadlines. */
  sweepIntervalMs: 250,
});

interface Connection {
  socket: Socket;
  /** Requests received and not yet answered. */
  inFlight: number;
  /** When it was accepted (performance.now()). */
  acceptedAt: number;
  /** Since when it has been waiting for a request (performance.now()). */
  waitingSince: number;
  lastProgress: number;
  read: number;
  written: number;
  pending: number;
}

/**
 * Bounds the server's connections itself: node:http's headersTimeout does not close a
 * socket that sends nothing or one that trickles a header line at a time, and
 * `server.maxConnections` drops new sockets — health probes included — once any 64 are
 * open. So each connection has a deadline for its request and an idle bound, and past the
 * limit the excess is shed: first connections that have sent nothing, then ones still
 * sending a request, oldest first; a request being answered never. Shedding waits
 * shedDelayMs after a burst, and a connection younger than silentGraceMs that has sent
 * nothing is shed only past hardMaxConnections, because a burst is accepted in one go
 * before any new socket is read: a probe accepted early in a burst looks silent until the
 * loop gets to it.
 */
function watchConnections(server: Server): { stats(): object; stop(): void } {
  const conns = new Map<Socket, Connection>();
  let shed = 0;
  let timedOut = 0;
  let refused = 0;
  const close = (c: Connection): void => {
    conns.delete(c.socket);
    c.socket.destroy();
  };
  /** The connection `pick` accepts with the lowest `by` (the oldest), if any. */
  const oldest = (pick: (c: Connection) => boolean, by: (c: Connection) => number): Connection | undefined => {
    let best: Connection | undefined;
    for (const c of conns.values()) if (pick(c) && (best === undefined || by(c) < by(best))) best = c;
    return best;
  };
  const waiting = (c: Connection): number => c.waitingSince;
  const victim = (young: boolean): Connection | undefined => {
    const now = performance.now();
    const silent = (c: Connection): boolean => c.inFlight === 0 && c.socket.bytesRead === 0;
    const grown = (c: Connection): boolean => now - c.acceptedAt >= SERVER_LIMITS.silentGraceMs;
    // Sent nothing for silentGraceMs, then a request still arriving, then (only when
    // `young`) sent nothing yet: oldest first. When every connection has a request in
    // flight: the one longest stuck on its client (bytes waiting to be read), never one
    // whose response the monitor is still making.
    return (
      oldest((c) => silent(c) && grown(c), waiting) ??
      oldest((c) => c.inFlight === 0 && !silent(c), waiting) ??
      (young ? oldest(silent, waiting) : undefined) ??
      oldest((c) => c.socket.writableLength > 0, (c) => c.lastProgress)
    );
  };
  /** Sheds connections down to `limit`; false when none could be shed. */
  const trim = (limit: number, young: boolean): boolean => {
    while (conns.size > limit) {
      const v = victim(young);
      if (v === undefined) return false;
      shed++;
      close(v);
    }
    return true;
  };
  let trimTimer: NodeJS.Timeout | null = null;
  const scheduleTrim = (ms: number): void => {
    if (trimTimer !== null) return;
    trimTimer = setTimeout(() => {
      trimTimer = null;
      // What is left over the limit is young and silent: look again once it has had time
      // to send its request.
      if (!trim(SERVER_LIMITS.maxConnections, false) && conns.size > SERVER_LIMITS.maxConnections) scheduleTrim(SERVER_LIMITS.silentGraceMs);
    }, ms);
    trimTimer.unref();
  };
  server.on('connection', (socket: Socket) => {
    if (conns.size >= SERVER_LIMITS.hardMaxConnections && !trim(SERVER_LIMITS.hardMaxConnections - 1, true)) {
      refused++;
      socket.destroy();
      return;
    }
    const now = performance.now();
    conns.set(socket, { socket, inFlight: 0, acceptedAt: now, waitingSince: now, lastProgress: now, read: 0, written: 0, pending: 0 });
    socket.once('close', () => conns.delete(socket));
    if (conns.size > SERVER_LIMITS.maxConnections) scheduleTrim(SERVER_LIMITS.shedDelayMs);
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const c = conns.get(req.socket);
    if (c === undefined) return;
    c.inFlight++;
    res.once('close', () => {
      c.inFlight--;
      if (c.inFlight === 0) c.waitingSince = c.lastProgress = performance.now();
    });
  });
  const sweep = (): void => {
    const now = performance.now();
    for (const c of conns.values()) {
      const s = c.socket;
      if (s.bytesRead !== c.read || s.bytesWritten !== c.written || s.writableLength !== c.pending) {
        c.read = s.bytesRead;
        c.written = s.bytesWritten;
        c.pending = s.writableLength;
        c.lastProgress = now;
      } else if (c.inFlight > 0 && s.writableLength === 0) {
        // The monitor is making the response (a heap snapshot, a CPU profile): nothing waits
        // on the client, so the time is not the client's.
        c.lastProgress = now;
      }
      if ((c.inFlight === 0 && now - c.waitingSince > SERVER_LIMITS.requestTimeoutMs) || now - c.lastProgress > SERVER_LIMITS.idleTimeoutMs) {
        timedOut++;
        close(c);
      }
    }
  };
  const timer = setInterval(sweep, SERVER_LIMITS.sweepIntervalMs);
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    if (trimTimer !== null) clearTimeout(trimTimer);
  };
  server.once('close', stop);
  return { stats: () => ({ open: conns.size, shed, timedOut, refused }), stop };
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Uint8Array, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function alertsText(alerts: Alert[]): string {
  if (alerts.length === 0) return 'Alerts (built-in rules): none\n';
  return `Alerts (built-in rules):\n${alerts.map((a) => `  ${a.severity.toUpperCase()} ${a.name}: ${a.summary} (value ${Number.isInteger(a.value) ? a.value : a.value.toPrecision(3)}, since ${new Date(a.activeSince).toISOString()})\n`).join('')}`;
}

/** A read-write 0600 temporary file that is already unlinked: its descriptor only. */
function openUnlinked(): number {
  const dir = mkdtempSync(join(tmpdir(), 'runtime-sampler-'));
  try {
    return openSync(join(dir, 'heap.heapsnapshot'), 'wx+', 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function createMonitorServer(target: Readable, o: MonitorServerOptions): { server: Server; stats: () => object; stop: () => void; flushAlerts: (timeoutMs: number) => Promise<void> } {
  const window = new LoopWindow(target, o.windowMs, { threadpool: true });
  const checker = new ReadinessChecker(o.readiness);
  const snap = target.read();
  let requests = 0;
  let rejected = 0;
  let debugBusy = false;
  const tokenDigest = o.token === null ? null : digest(o.token);
  // The built-in rules, evaluated on every sample of the analysed sampler's history.
  const watcher = o.analysis ? watch(o.analysis, { anomaly: o.anomaly === true, ...(o.alerts !== undefined ? { channels: { job: jobOf(o.title ?? ''), ...o.alerts } } : {}) }) : null;
  const leakOptions = resolveLeakOptions(undefined);
  // From the routes themselves, so the list cannot drift from what is served.
  const notFound = `runtime-sampler monitor: ${Object.keys(ROUTES).filter((p) => o.debug || !p.startsWith('/debug/')).join(', ')}\n`;

  const authorized = (req: IncomingMessage): boolean => {
    const h = req.headers.authorization;
    if (tokenDigest === null || typeof h !== 'string' || !/^Bearer /i.test(h)) return false;
    return timingSafeEqual(digest(h.slice(7).trim()), tokenDigest);
  };

  // The memory forecast for /readyz: remade once per history sample, not per probe.
  let forecastCache: { atNs: number; forecast: MemoryForecast } | null = null;
  const forecastNow = (): MemoryForecast | null => {
    if (o.analysis === undefined) return null;
    const history = o.analysis.history;
    const latest = history.latest();
    if (forecastCache === null || forecastCache.atNs !== latest.timeNs) {
      history.syncMarkCompacts();
      forecastCache = { atNs: latest.timeNs, forecast: buildForecast(history, latest, defaultForecastWindowMs(history)) };
    }
    return forecastCache.forecast;
  };
  const readiness = (now: Snapshot, delay: Histogram): ReadinessReport =>
    checker.evaluate({ now, windowStart: window.start(), delay, forecast: forecastNow() });

  // The live page's reader and window: target's, or the process source's (its own window,
  // started again when its members change: a window across a member leaving is no window).
  let shown = { reader: target, window, checker, generation: -1, processes: 0, snap };
  const showing = (): typeof shown => {
    const l = o.processes?.live() ?? null;
    const reader = l?.reader ?? target;
    if (reader !== shown.reader || (l !== null && l.generation !== shown.generation)) {
      if (shown.window !== window) shown.window.stop();
      shown = l === null
        ? { reader: target, window, checker, generation: -1, processes: 0, snap }
        : { reader, window: new LoopWindow(reader, o.windowMs, { threadpool: true }), checker: new ReadinessChecker(o.readiness), generation: l.generation, processes: l.processes, snap: reader.read() };
    }
    return shown;
  };

  const live = (): object => {
    const v = showing();
    const own = v.reader === target;
    const now = v.reader.read(v.snap);
    const start = v.window.start();
    const d = v.window.delay();
    // The window's utilization and GC CPU fraction are the readiness checks' values; the
    // page's ready state is /readyz's, the process the monitor runs in.
    const values = own ? readiness(now, d) : v.checker.evaluate({ now, windowStart: start, delay: d });
    const ready = own ? values : readiness(target.read(snap), window.delay());
    const checked = (name: string): number | null => {
      const c = values.checks.find((x) => x.name === name)?.value;
      return c === undefined || Number.isNaN(c) ? null : c;
    };
    const ms = (ns: number): number | null => (Number.isFinite(ns) ? ns / 1e6 : null);
    const interval = now.timeNs - start.timeNs;
    const pauses: Record<string, Array<[number, number]>> = {};
    for (const t of GC_TYPES) {
      const h = v.reader.histograms.gcPauseByType[t];
      if (h.count === 0) continue;
      // Power-of-two buckets are plenty for a chart.
      pauses[t] = [...new Histogram(0).merge(h).buckets()].map(([, upper, c]) => [upper / 1e6, c]);
    }
    const spaces: Record<string, number> = {};
    for (const [name, s] of Object.entries(now.heap.spaces)) spaces[name] = s.usedBytes;
    // JSON has neither NaN nor Infinity: a value the kernel does not give is null, no
    // limit is 'unlimited'.
    const limit = (x: number): number | 'unlimited' | null => (x === Infinity ? 'unlimited' : Number.isFinite(x) ? x : null);
    const known = (x: number): number | null => (Number.isFinite(x) ? x : null);
    const usedOf = (x: Snapshot['container']): number => (Number.isFinite(x.memoryWorkingSetBytes) ? x.memoryWorkingSetBytes : x.memoryUsageBytes);
    const c = now.container;
    const c0 = start.container;
    const periods = c.cpuPeriods - c0.cpuPeriods;
    // Shown only where a cgroup was found and says something (cgroup v1 hosts without the
    // memory controller give version 1 and NaN everywhere).
    const container = c.cgroupVersion > 0 && (Number.isFinite(c.memoryUsageBytes) || !Number.isNaN(c.memoryLimitBytes) || !Number.isNaN(c.cpuQuotaCores))
      ? {
        cgroupVersion: c.cgroupVersion,
        memoryUsageBytes: known(c.memoryUsageBytes),
        memoryWorkingSetBytes: known(c.memoryWorkingSetBytes),
        memoryLimitBytes: limit(c.memoryLimitBytes),
        memoryHighBytes: limit(c.memoryHighBytes),
        // What the limit is judged by (diagnose, the forecast, the alerts): the working set,
        // or the usage where the cgroup gives none.
        memoryUsedShare: Number.isFinite(c.memoryLimitBytes) && c.memoryLimitBytes > 0 && Number.isFinite(usedOf(c)) ? usedOf(c) / c.memoryLimitBytes : null,
        cpuQuotaCores: limit(c.cpuQuotaCores),
        // Over the window: the share of CFS periods throttled, and throttled time per
        // second of wall time (how many CPUs' worth of runnable time was held back).
        throttledShare: periods > 0 ? known((c.cpuThrottledPeriods - c0.cpuThrottledPeriods) / periods) : null,
        throttledPerSecond: interval > 0 ? known((c.cpuThrottledNs - c0.cpuThrottledNs) / interval) : null,
        oomKills: known(c.oomKillEvents),
      }
      : null;
    const tp = now.threadpool;
    const pd = v.window.threadpoolDelay();
    // The probe is on once it has run or is waiting (a view has no options to ask).
    const threadpool = tp.probes > 0 || tp.inFlight > 0
      ? {
        size: tp.size,
        probes: tp.probes,
        inFlight: tp.inFlight,
        waitingMs: tp.waitingNs / 1e6,
        maxMs: tp.maxDelayNs / 1e6,
        delayMs: pd === null || pd.count === 0
          ? { p50: null, p99: null, max: null }
          : { p50: ms(pd.percentile(50)), p99: ms(pd.percentile(99)), max: ms(pd.max) },
      }
      : null;
    return {
      time: Date.now(),
      threadId: v.reader.threadId,
      ...(own ? {} : { processes: v.processes }),
      windowMs: interval / 1e6,
      elu: checked('elu'),
      // Summed over processes it would be in CPUs: per loop, as for one process.
      gcCpuFraction: own ? checked('gcCpuFraction') : (checked('gcCpuFraction') ?? NaN) / Math.max(1, v.processes),
      loopDelayMs: { p50: ms(d.percentile(50)), p90: ms(d.percentile(90)), p99: ms(d.percentile(99)), max: d.count > 0 ? ms(d.max) : null },
      heap: { usedBytes: now.heap.usedBytes, limitBytes: now.heap.limitBytes, spaces },
      rssBytes: now.process.rssBytes,
      gc: {
        count: now.gc.count,
        pauseMs: now.gc.pauseNs / 1e6,
        mainThreadMs: now.gc.mainThreadNs / 1e6,
        incrementalMarkingSteps: now.gc.incrementalMarkingSteps,
        byType: Object.fromEntries(GC_TYPES.map((t) => [t, now.gc.byType[t].count])),
        pauseHistogramMs: pauses,
      },
      stall: { active: now.stall.active === 1, durationMs: now.stall.durationNs / 1e6, count: now.stall.count },
      container,
      threadpool,
      // The built-in rules' alerts (names are [A-Za-z0-9_.:-]: safe in the page's HTML).
      alerts: watcher === null ? [] : watcher.alerts().map((a) => ({ name: a.name, severity: a.severity })),
      ready,
    };
  };

  const stallsEndpoint = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    if (o.stalls === undefined) return send(req, res, 404, TEXT, 'stall profiles are off (RUNTIME_SAMPLER_STALL_PROFILE=1, or watchdog.profile)\n');
    if (path === '/debug/stalls') return send(req, res, 200, JSON_TYPE, JSON.stringify(o.stalls.describe()));
    const m = /^\/debug\/stalls\/(\d{1,15})\.cpuprofile$/.exec(path);
    const s = m === null ? undefined : o.stalls.get(Number(m[1]));
    if (s === undefined) return send(req, res, 404, TEXT, `no stall profile at ${path}: /debug/stalls lists the ones kept (the last stalls, oldest evicted first)\n`);
    send(req, res, 200, JSON_TYPE, JSON.stringify(s.profile.toCpuProfile()), { 'content-disposition': `attachment; filename="stall-${s.id}-${s.time}.cpuprofile"` });
  };

  const debug = async (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> => {
    const stallsPath = path === '/debug/stalls' || path.startsWith('/debug/stalls/');
    const inspector = o.inspector;
    if (!o.debug || (inspector === undefined && !stallsPath)) return send(req, res, 404, TEXT, 'the debug endpoints are off (RUNTIME_SAMPLER_DEBUG=1 with a token)\n');
    if (!authorized(req)) {
      return send(req, res, 401, TEXT, 'a bearer token is required: Authorization: Bearer <RUNTIME_SAMPLER_TOKEN>\n', { 'www-authenticate': 'Bearer realm="runtime-sampler"' });
    }
    // Made from memory at once: no need to wait for another debug operation.
    if (stallsPath || inspector === undefined) return stallsEndpoint(req, res, path);
    if (debugBusy) return send(req, res, 409, TEXT, 'another debug operation is running; try again when it ends\n');
    let seconds = 10;
    if (path === '/debug/cpu-profile' && query.has('seconds')) {
      const v = query.get('seconds')!;
      seconds = Number(v);
      if (!/^\d+$/.test(v) || seconds < 1 || seconds > o.debugMaxSeconds) {
        return send(req, res, 400, TEXT, `seconds=${JSON.stringify(v)} is not valid: an integer from 1 to ${o.debugMaxSeconds}\n`);
      }
    }
    if (req.method === 'HEAD') return send(req, res, 200, path.endsWith('snapshot') ? 'application/octet-stream' : JSON_TYPE, '');
    debugBusy = true;
    try {
      if (path === '/debug/heap-snapshot') {
        // V8 pushes the snapshot in chunks as fast as it makes them: a thread of its own
        // (snapshot.ts) writes them to a temporary file (bounded by debugMaxBytes), which is
        // then streamed with backpressure, so the monitor's small heap never holds the
        // snapshot. The file is unlinked as soon as it is open: only the descriptor reaches
        // it, so no path — an error, the client leaving, the process killed — leaves a copy of
        // the app's memory on disk.
        const fd = openUnlinked();
        let owned = true;
        try {
          const bytes = await inspector.heapSnapshot(fd, o.debugMaxBytes);
          if (bytes < 0) return send(req, res, 413, TEXT, `the heap snapshot is larger than the limit (${o.debugMaxBytes} bytes; RUNTIME_SAMPLER_DEBUG_MAX_BYTES)\n`);
          // The client left while it was made.
          if (res.destroyed) return;
          res.writeHead(200, {
            'content-type': 'application/octet-stream', 'cache-control': 'no-store', 'content-length': String(bytes),
            'content-disposition': `attachment; filename="heap-${Date.now()}.heapsnapshot"`,
          });
          owned = false;
          // The stream closes the descriptor however it ends; a client that leaves ends it.
          await pipeline(createReadStream('', { fd, start: 0, autoClose: true }), res).catch(() => undefined);
        } finally {
          if (owned) closeSync(fd);
        }
      } else {
        const profile = await inspector.cpuProfile(seconds);
        send(req, res, 200, JSON_TYPE, profile, { 'content-disposition': `attachment; filename="cpu-${Date.now()}.cpuprofile"` });
      }
    } finally {
      debugBusy = false;
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    requests++;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://monitor');
    } catch {
      rejected++;
      return send(req, res, 400, TEXT, 'malformed request target\n');
    }
    const path = url.pathname;
    // /debug/stalls/<id>.cpuprofile: the id is checked by its handler.
    const route = path.startsWith('/debug/stalls/') ? '/debug/stalls' : path;
    const allowed = ROUTES[route];
    if (!Object.prototype.hasOwnProperty.call(ROUTES, route) || (req.url ?? '').length > 2048) {
      rejected++;
      return send(req, res, 404, TEXT, notFound);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      rejected++;
      return send(req, res, 405, TEXT, 'GET or HEAD only\n', { allow: 'GET, HEAD' });
    }
    for (const key of url.searchParams.keys()) {
      if (!allowed.includes(key)) {
        rejected++;
        return send(req, res, 400, TEXT, `unknown query parameter ${JSON.stringify(key)} for ${path}${allowed.length ? `; accepted: ${allowed.join(', ')}` : ' (it takes none)'}\n`);
      }
    }
    if (o.tokenGuards === 'all' && tokenDigest !== null && path !== '/healthz' && !authorized(req)) {
      rejected++;
      return send(req, res, 401, TEXT, 'a bearer token is required: Authorization: Bearer <token>\n', { 'www-authenticate': 'Bearer realm="runtime-sampler"' });
    }
    try {
      switch (path) {
        case '/healthz':
          return send(req, res, 200, TEXT, 'ok\n');
        case '/processes': {
          const own = (): object => ({ pid: process.pid, threadId: target.threadId, workerId: null, title: cleanTitle(o.title ?? ''), state: 'served', ...readerState(target, o.analysis ?? null) });
          return send(req, res, 200, JSON_TYPE, JSON.stringify(o.processes?.describe() ?? { mode: 'process', processes: [own()] }));
        }
        case '/readyz': {
          const r = readiness(target.read(snap), window.delay());
          return send(req, res, r.ready ? 200 : 503, JSON_TYPE, JSON.stringify(r));
        }
        case '/metrics': {
          const group = o.processes?.sources() ?? null;
          const detail = o.detail ?? 'standard';
          // Native histograms need the protobuf format; a cluster's exposition appends the
          // process list as text, so it stays text.
          const { format, contentType } = negotiateFormat(req.headers.accept, { protobuf: group === null });
          if (format === 'protobuf') return send(req, res, 200, contentType, toPrometheusProtobuf(target, { detail }));
          if (group === null) return send(req, res, 200, contentType, toPrometheus(target, { format, detail }));
          const text = toPrometheusGroup(group, { format, detail }).replace(/# EOF\n$/, '') + o.processes!.prometheus(format === 'openmetrics');
          return send(req, res, 200, contentType, format === 'openmetrics' ? `${text}# EOF\n` : text);
        }
        case '/metrics.json': {
          const group = o.processes?.sources() ?? null;
          return send(req, res, 200, JSON_TYPE, JSON.stringify(group === null ? toJSON(target, { detail: o.detail ?? 'standard' }) : toJSONGroup(group, { detail: o.detail ?? 'standard' })));
        }
        case '/live.json':
          return send(req, res, 200, JSON_TYPE, JSON.stringify(live()));
        case '/diagnose':
        case '/alerts': {
          if (o.analysis === undefined || watcher === null) return send(req, res, 404, TEXT, 'no sampler to analyse\n');
          const stallStack = o.analysis.lastStallStack()?.stack ?? null;
          if (path === '/alerts') return send(req, res, 200, JSON_TYPE, JSON.stringify({ alerts: watcher.alerts(), rules: watcher.status(), lastStallStack: stallStack }));
          const history = o.analysis.history;
          let windowMs = Math.min(60_000, history.spanMs);
          const w = url.searchParams.get('window');
          if (w !== null) {
            try {
              windowMs = parseDuration('window', /^\d+$/.test(w) ? Number(w) : w, 1000, history.spanMs);
            } catch (e) {
              return send(req, res, 400, TEXT, `${(e as Error).message}\n`);
            }
          }
          const f = url.searchParams.get('format');
          if (f !== null && f !== 'json' && f !== 'text') return send(req, res, 400, TEXT, `format=${JSON.stringify(f)} is not valid: json or text\n`);
          const json = f === 'json' || (f === null && /application\/json/.test(req.headers.accept ?? ''));
          history.syncMarkCompacts();
          const report = buildReport(history, o.analysis.read(), windowMs, leakOptions, undefined, { stallStack });
          return json ? send(req, res, 200, JSON_TYPE, JSON.stringify({ ...report.toJSON(), alerts: watcher.alerts() })) : send(req, res, 200, TEXT, report.format() + alertsText(watcher.alerts()));
        }
        case '/':
          return send(req, res, 200, 'text/html; charset=utf-8', PAGE_HTML, { 'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'" });
        default:
          debug(req, res, path, url.searchParams).catch((e: Error) => {
            if (!res.headersSent) send(req, res, 500, TEXT, `runtime-sampler monitor: ${e.message}\n`);
            else res.destroy(e);
          });
      }
    } catch (e) {
      if (!res.headersSent) send(req, res, 500, TEXT, `runtime-sampler monitor: ${(e as Error).message}\n`);
      else res.destroy(e as Error);
    }
  };

  const server = createServer({
    maxHeaderSize: SERVER_LIMITS.maxHeaderSize,
    headersTimeout: SERVER_LIMITS.headersTimeoutMs,
    requestTimeout: SERVER_LIMITS.requestTimeoutMs,
    keepAliveTimeout: SERVER_LIMITS.keepAliveTimeoutMs,
    connectionsCheckingInterval: SERVER_LIMITS.checkIntervalMs,
  }, handler);
  const connections = watchConnections(server);
  // Alertmanager links each alert to the page that explains it: this server's /alerts.
  server.on('listening', () => {
    const addr = server.address();
    if (watcher?.channels == null || addr === null || typeof addr !== 'object') return;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    for (const c of watcher.channels.list) if (c instanceof AlertmanagerChannel && c.generatorURL === null) c.generatorURL = `http://${host}:${addr.port}/alerts`;
  });
  // A request with a body is not ours to read: drop it rather than buffer it.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    rejected++;
    if (err.code === 'HPE_HEADER_OVERFLOW' && socket.writable) socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n\r\n');
    else if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  return {
    server, stats: () => ({ requests, rejected, ...connections.stats() }),
    stop: () => { window.stop(); shown.window.stop(); watcher?.close(); connections.stop(); },
    // The delivery channels' final resolutions for what still fires (bounded; never rejects).
    flushAlerts: (timeoutMs: number) => (watcher === null ? Promise.resolve() : watcher.shutdown(timeoutMs)),
  };
}
