// startMonitorThread(): a worker thread that serves a sampler's metrics over HTTP —
// Prometheus/OpenMetrics text at /metrics and JSON at /metrics.json — from its own event
// loop, reading the sampler's shared memory: it keeps answering while the thread it
// reports on is stuck in synchronous code.
import { isMainThread, Worker } from 'node:worker_threads';
import { join, resolve as resolvePath } from 'node:path';
import type { Cluster, Worker as ClusterWorker } from 'node:cluster';
import type { Sampler, SamplerView, SharedSampler } from '../sampler';
import { SamplerAggregate } from '../aggregate';
import { ReadinessThresholds, resolveThresholds } from './readiness';
import { ENV_DEFAULTS, SETTING_LIMITS, tokenProblem } from './config';
import { closedError, describeValue, SamplerError } from '../errors';
import { checkBoolean, checkInteger, checkKnownOptions, checkObject, checkString } from '../options';
import { checkDetail } from '../exporters/common';
import type { DetailLevel } from '../catalog';
import { defaultPublishDir, processTitle } from '../published';
import type { StallMessage } from './stalls';
import { ChannelsOptions, createChannels } from '../alerts';

/** Checked here, where a mistake can be thrown to the caller; copied to the monitor thread. */
function checkMonitorChannels(value: unknown): MonitorAlertChannels {
  const o = checkObject('alerts', value, 'an object of { alertmanager?, webhook?, log?, job? }');
  if (o.log !== undefined && o.log !== true) {
    throw new TypeError(`alerts.log must be true (a logger cannot cross to the monitor thread; use watch() for one), got ${describeValue(o.log)}`);
  }
  // Building them checks every option the way watch() does; they start nothing that stays.
  createChannels(o, () => {}).close();
  return structuredClone(o);
}

export interface MonitorThreadOptions {
  /** What to serve: a Sampler, a SamplerView, or a SamplerAggregate (series labelled by thread_id). */
  sampler: Sampler | SamplerView | SamplerAggregate;
  /** TCP port (0: any free port; the promise says which). */
  port: number;
  /** Address to listen on (default '127.0.0.1'). */
  host?: string;
  /** Whether the monitor thread lets the process exit (default true). */
  unref?: boolean;
  /** /readyz thresholds (see ReadinessThresholds; defaults documented there). */
  readiness?: ReadinessThresholds;
  /** The window of /readyz and the live page, ms (1000–600000, default 10000). */
  windowMs?: number;
  /** Bearer token for the debug endpoints (16+ characters, no spaces). */
  token?: string;
  /** Serve /debug/heap-snapshot and /debug/cpu-profile of the main thread (needs token; default false). */
  debug?: boolean;
  /** Largest heap snapshot served, bytes (≥ 1 MiB, default 512 MiB). */
  debugMaxBytes?: number;
  /** Longest CPU profile, seconds (1–600, default 60). */
  debugMaxSeconds?: number;
  /**
   * Serve this node:cluster primary's workers too, once it forks one: /metrics gets the
   * cluster's aggregate and each process's series labelled pid and worker_id, /processes
   * each process's state, read from the workers' published samplers in `dir` (default: as
   * publishing chooses it). Only in a primary's main thread; the preload sets it. Default
   * false.
   */
  cluster?: boolean | { dir?: string };
  /** Also evaluate the built-in anomaly rules (ANOMALY_RULES) in /alerts and /diagnose (default false). */
  anomaly?: boolean;
  /** The detail level of /metrics and /metrics.json: 'standard' (default) or 'full' (see toPrometheus()). */
  detail?: DetailLevel;
  /**
   * Deliver the built-in rules' alerts from the monitor thread (never the app's):
   * watch()'s channels, minus what cannot cross threads (log: true only, no logger).
   */
  alerts?: MonitorAlertChannels;
}

export type MonitorAlertChannels = Omit<ChannelsOptions, 'log'> & { log?: true };

export interface MonitorThread {
  /** The port it listens on. */
  readonly port: number;
  /** Its base URL, e.g. http://127.0.0.1:9464 */
  readonly url: string;
  /** The worker thread (its threadId, for instance). */
  readonly worker: Worker;
  /**
   * Stops the server and the thread; resolves once the thread has exited (it is terminated
   * if it has not within 2 s, plus the alert channels' 3 s to send their final resolutions).
   * Idempotent; never rejects.
   */
  close(): Promise<void>;
  /** The same as close(), named like every exporter's shutdown(). */
  shutdown(): Promise<void>;
}

/**
 * How long a closing monitor thread waits for the alert channels' final resolutions before
 * it exits; close() allows it that much more before it terminates the thread.
 */
const ALERT_FLUSH_MS = 3000;

const OPTIONS = ['sampler', 'port', 'host', 'unref', 'readiness', 'windowMs', 'token', 'debug', 'debugMaxBytes', 'debugMaxSeconds', 'cluster', 'anomaly', 'alerts', 'detail'];

/** node:cluster, loaded when asked for: a monitor without `cluster` does not load it. */
function loadCluster(): Cluster {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when asked for (cluster: true)
  return require('node:cluster') as Cluster;
}

/** The cluster option resolved: the directory workers publish in, or null. */
function clusterOption(value: unknown): { dir: string } | null {
  if (value === undefined || value === false) return null;
  let dir = defaultPublishDir();
  if (value !== true) {
    const o = checkObject('cluster', value, 'true, false or { dir }');
    checkKnownOptions('startMonitorThread(): cluster', o, ['dir']);
    if (o.dir !== undefined) dir = resolvePath(checkString('cluster.dir', o.dir));
  }
  const cluster = loadCluster();
  if (!isMainThread || !cluster.isPrimary) {
    throw new TypeError('cluster: only a node:cluster primary\'s main thread has workers to serve (this is a worker or a worker thread)');
  }
  return { dir };
}

/**
 * Tells the monitor thread which workers the primary forks and which exit, from the
 * cluster's events (on this thread's loop: they are emitted there). Returns the function
 * that stops listening.
 */
function followCluster(worker: Worker): () => void {
  const cluster = loadCluster();
  const post = (event: 'fork' | 'exit') => (w: ClusterWorker): void => {
    const pid = w.process?.pid;
    if (typeof pid === 'number') worker.postMessage({ type: 'cluster', event, pid, id: w.id });
  };
  const onFork = post('fork');
  const onExit = post('exit');
  // Workers forked before the monitor started (the preload starts first, but an API user may not).
  for (const w of Object.values(cluster.workers ?? {})) if (w !== undefined && !w.isDead()) onFork(w);
  cluster.on('fork', onFork);
  cluster.on('exit', onExit);
  return () => {
    cluster.off('fork', onFork);
    cluster.off('exit', onExit);
  };
}

function sharedOf(s: Sampler | SamplerView): SharedSampler {
  if (s === null || typeof s !== 'object' || typeof (s as Sampler).share !== 'function') {
    throw new TypeError('startMonitorThread(): sampler must be a Sampler, SamplerView or SamplerAggregate');
  }
  if (s.closed) throw closedError();
  return s.share();
}

/**
 * Posts each stall's profile from the sampler's thread (where its events are drained) to
 * the monitor thread, for /debug/stalls. Returns the function that stops it.
 */
function forwardStallProfiles(sampler: Sampler, worker: Worker): () => void {
  return sampler.onStall((e) => {
    if (e.profile === undefined) return;
    const m: StallMessage = { type: 'stall', time: Date.now(), startNs: e.startNs, durationNs: e.durationNs, elapsedNs: e.elapsedNs, profile: e.profile.toJSON() };
    worker.postMessage(m);
  });
}

/**
 * Starts a monitoring worker thread serving `sampler` at http://host:port/metrics
 * (Prometheus text, or OpenMetrics when the scraper asks for it) and /metrics.json.
 * Resolves once it listens; rejects (and stops the thread) if it cannot, e.g. when the
 * port is taken (the error's `code` is the system's, e.g. EADDRINUSE).
 */
export function startMonitorThread(options: MonitorThreadOptions): Promise<MonitorThread> {
  checkObject('startMonitorThread(options): options', options, 'an object with sampler and port');
  checkKnownOptions('startMonitorThread()', options, OPTIONS);
  const o = options;
  if (o.sampler === undefined) throw new TypeError('startMonitorThread(): sampler is required (a Sampler, SamplerView or SamplerAggregate)');
  const aggregate = o.sampler instanceof SamplerAggregate;
  const handles = aggregate ? (o.sampler as SamplerAggregate).members.map((m) => sharedOf(m)) : [sharedOf(o.sampler as Sampler)];
  if (o.port === undefined) throw new TypeError('startMonitorThread(): port is required (an integer from 0 to 65535; 0 picks a free port)');
  const port = checkInteger('port', o.port, 0, 65535);
  const host = o.host === undefined ? '127.0.0.1' : o.host;
  if (typeof host !== 'string' || host.length === 0) {
    throw new TypeError(`host must be a non-empty string (an address or a name), got ${describeValue(host)}`);
  }
  const unref = o.unref === undefined ? true : checkBoolean('unref', o.unref);
  const readiness = resolveThresholds(o.readiness);
  const setting = (key: keyof typeof SETTING_LIMITS, value: unknown): number =>
    (value === undefined ? ENV_DEFAULTS[key] : checkInteger(key, value, SETTING_LIMITS[key][0], SETTING_LIMITS[key][1]));
  const windowMs = setting('windowMs', o.windowMs);
  let token: string | null = null;
  if (o.token !== undefined) {
    if (typeof o.token !== 'string' || tokenProblem(o.token) !== null) {
      throw new TypeError(`token must be a string of at least 16 characters without spaces, got ${typeof o.token === 'string' ? `${o.token.length} characters` : describeValue(o.token)}`);
    }
    token = o.token;
  }
  const debug = o.debug === undefined ? false : checkBoolean('debug', o.debug);
  if (debug && token === null) throw new TypeError('debug: true needs a token (the debug endpoints always require Authorization: Bearer <token>)');
  const debugMaxBytes = setting('debugMaxBytes', o.debugMaxBytes);
  const debugMaxSeconds = setting('debugMaxSeconds', o.debugMaxSeconds);
  const cluster = clusterOption(o.cluster);
  const alerts = o.alerts === undefined ? null : checkMonitorChannels(o.alerts);
  const anomaly = o.anomaly === undefined ? false : checkBoolean('anomaly', o.anomaly);
  const detail = checkDetail(o.detail);
  // Stall events (and their profiles) are drained on the sampler's own thread, this one:
  // only a Sampler made here can forward them.
  const owner = aggregate ? null : (o.sampler as Sampler);
  const wd = owner?.options.watchdog;
  const stallProfiles = owner !== null && typeof owner.onStall === 'function' && !owner.closed && wd !== undefined && wd !== false && wd.profile;

  const worker = new Worker(join(__dirname, 'monitor-worker.js'), {
    workerData: { handles, aggregate, port, host, readiness, windowMs, token, debug, debugMaxBytes, debugMaxSeconds, cluster, anomaly, detail, title: processTitle(), stallProfiles, ...(alerts !== null ? { alerts, alertFlushMs: ALERT_FLUSH_MS } : {}) },
    // A small worker: the server and the views need little heap.
    resourceLimits: { maxOldGenerationSizeMb: 64 },
  });
  // Posted before the thread runs, the events wait for it in its queue.
  const unfollow = cluster === null ? () => {} : followCluster(worker);
  worker.once('exit', unfollow);
  let exited = false;
  worker.once('exit', () => {
    exited = true;
  });
  if (stallProfiles) worker.once('exit', forwardStallProfiles(owner, worker));
  // Referenced while starting and while closing, so that awaiting those keeps the process
  // alive; with `unref`, not in between.
  return new Promise<MonitorThread>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      unfollow();
      void worker.terminate();
      reject(e);
    };
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new SamplerError(`the monitor thread exited (code ${code}) before listening`, 'ERR_SAMPLER_NATIVE')));
    worker.on('message', (m: { type: string; port?: number; message?: string; code?: string }) => {
      if (m.type === 'error') {
        const e = new Error(`startMonitorThread(): cannot listen on ${host}:${port}: ${m.message}`) as NodeJS.ErrnoException;
        e.code = m.code;
        fail(e);
      } else if (m.type === 'listening' && !settled) {
        settled = true;
        if (unref) worker.unref();
        let closing: Promise<void> | null = null;
        const bound = m.port!;
        const thread: MonitorThread = {
          port: bound,
          url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
          worker,
          shutdown: () => thread.close(),
          close(): Promise<void> {
            closing ??= new Promise<void>((done) => {
              // A thread that already died (its heap limit, a terminate() by the app) will
              // not emit 'exit' again: waiting for it would never end.
              if (exited) {
                done();
                return;
              }
              worker.ref();
              const t = setTimeout(() => void worker.terminate(), 2000 + (alerts !== null ? ALERT_FLUSH_MS : 0));
              t.unref();
              worker.once('exit', () => {
                clearTimeout(t);
                done();
              });
              worker.postMessage('close');
            });
            return closing;
          },
        };
        resolve(thread);
      }
    });
  });
}
