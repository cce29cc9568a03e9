// startMonitorThread(): a worker thread that serves a sampler's metrics over HTTP —
// Prometheus/OpenMetrics text at /metrics and JSON at /metrics.json — from its own event
// loop, reading the sampler's shared memory: it keeps answering while the thread it
// reports on is stuck in synchronous code.
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { Sampler, SamplerView, SharedSampler } from '../sampler';
import { SamplerAggregate } from '../aggregate';
import { ReadinessThresholds, resolveThresholds } from './readiness';
import { ENV_DEFAULTS, SETTING_LIMITS, tokenProblem } from './config';
import { closedError, describeValue, SamplerError } from '../errors';
import { checkBoolean, checkInteger, checkKnownOptions, checkObject } from '../options';

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
}

export interface MonitorThread {
  /** The port it listens on. */
  readonly port: number;
  /** Its base URL, e.g. http://127.0.0.1:9464 */
  readonly url: string;
  /** The worker thread (its threadId, for instance). */
  readonly worker: Worker;
  /** Stops the server and the thread. Idempotent. */
  close(): Promise<void>;
}

const OPTIONS = ['sampler', 'port', 'host', 'unref', 'readiness', 'windowMs', 'token', 'debug', 'debugMaxBytes', 'debugMaxSeconds'];

function sharedOf(s: Sampler | SamplerView): SharedSampler {
  if (s === null || typeof s !== 'object' || typeof (s as Sampler).share !== 'function') {
    throw new TypeError('startMonitorThread(): sampler must be a Sampler, SamplerView or SamplerAggregate');
  }
  if (s.closed) throw closedError();
  return s.share();
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

  const worker = new Worker(join(__dirname, 'monitor-worker.js'), {
    workerData: { handles, aggregate, port, host, readiness, windowMs, token, debug, debugMaxBytes, debugMaxSeconds },
    // A small worker: the server and the views need little heap.
    resourceLimits: { maxOldGenerationSizeMb: 64 },
  });
  // Referenced while starting and while closing, so that awaiting those keeps the process
  // alive; with `unref`, not in between.
  return new Promise<MonitorThread>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
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
        resolve({
          port: bound,
          url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
          worker,
          close(): Promise<void> {
            closing ??= new Promise<void>((done) => {
              worker.ref();
              const t = setTimeout(() => void worker.terminate(), 2000);
              t.unref();
              worker.once('exit', () => {
                clearTimeout(t);
                done();
              });
              worker.postMessage('close');
            });
            return closing;
          },
        });
      }
    });
  });
}
