// What `node -r runtime-sampler/register` (or `--import`) starts: a sampler of the main
// thread with the stall watchdog, and the monitor thread serving it over HTTP, configured
// by RUNTIME_SAMPLER_* variables (config.ts). Monitoring must never take the app down:
// every problem is one line on stderr, and the app goes on.
import { isMainThread } from 'node:worker_threads';
import { dirname } from 'node:path';
import type { Cluster } from 'node:cluster';
import { Sampler } from '../sampler';
import { backend } from '../binding';
import { MonitorAlertChannels, MonitorThread, startMonitorThread } from './monitor';
import { isLoopback, parseEnv, ServerConfig } from './config';
import { createShutdown, ShutdownHook, ShutdownOptions } from './shutdown';

export interface Registered {
  /** The preload's sampler (the main thread's). */
  sampler: Sampler;
  /** The configuration it started with. */
  config: ServerConfig;
  /** Resolves to the monitor thread once it listens, or null if it could not start. */
  monitor: Promise<MonitorThread | null>;
  /**
   * The monitor's base URL (e.g. http://127.0.0.1:9464) and port once it listens — with
   * RUNTIME_SAMPLER_PORT=0, the port the OS chose; null before (await `monitor`) and when
   * it did not start.
   */
  url: string | null;
  port: number | null;
  /**
   * Stops what the preload started, for the app's own SIGTERM handler (the library installs
   * none): runs the shutdown hooks and stops the monitor thread, waiting at most timeoutMs
   * (default 5000) for them, then closes the sampler, which removes its published file.
   * Idempotent (every call returns the first call's promise); never rejects: a failure or
   * the timeout is one line on stderr. Bad options throw TypeError or RangeError.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /**
   * Adds a function shutdown() awaits (within its timeout) before it closes the sampler:
   * where what delivers alerts sends its last resolutions. `name` says which in warnings.
   * Throws ERR_SAMPLER_CLOSED once shutdown() has been called.
   */
  addShutdownHook(name: string, hook: ShutdownHook): void;
}

const KEY = Symbol.for('runtime-sampler.registered');
type Global = typeof globalThis & { [KEY]?: Registered | null };

/** What the preload started in this process (null: nothing, e.g. disabled or in a worker). */
export function registered(): Registered | null {
  return (globalThis as Global)[KEY] ?? null;
}

function warn(message: string): void {
  process.stderr.write(`runtime-sampler: ${message}\n`);
}

/** The monitor's alert channels from RUNTIME_SAMPLER_ALERTMANAGER_URL, _WEBHOOK_URL, _ALERT_LOG. */
function alertChannels(config: ServerConfig): { alerts?: MonitorAlertChannels } {
  const alerts: MonitorAlertChannels = {};
  if (config.alertmanagerUrl !== null) alerts.alertmanager = { url: config.alertmanagerUrl };
  if (config.webhookUrl !== null) alerts.webhook = { url: config.webhookUrl };
  if (config.alertLog) alerts.log = true;
  return Object.keys(alerts).length > 0 ? { alerts } : {};
}

/** Starts the preload's sampler and monitor once per process (main thread only). */
export function startPreload(env: NodeJS.ProcessEnv = process.env): Registered | null {
  const g = globalThis as Global;
  if (g[KEY] !== undefined) return g[KEY] ?? null;
  g[KEY] = null;
  if (!isMainThread) return null;
  try {
    const { config, problems } = parseEnv(env);
    for (const p of problems) warn(p);
    if (config.disabled) return null;
    // The JavaScript backend has neither a watchdog nor publishing: the defaults ask for
    // neither there (nothing printed); a setting that asks explicitly still gets its warning.
    const js = backend === 'js';
    const watchdogMs = js && env.RUNTIME_SAMPLER_WATCHDOG_MS === undefined ? 0 : config.watchdogMs;
    const sampler = new Sampler({
      watchdog: watchdogMs > 0 ? { thresholdMs: watchdogMs, captureStack: config.stallStack || config.stallProfile, ...(config.stallProfile ? { profile: true } : {}) } : false,
      publish: config.publish && !(js && env.RUNTIME_SAMPLER_PUBLISH === undefined),
      // Checked by parseEnv: an unusable RUNTIME_SAMPLER_CGROUP_ROOT was reported, and null
      // reads the process's own cgroup instead of failing in the Sampler.
      cgroupRoot: config.cgroupRoot,
      threadpoolProbeMs: config.threadpoolProbeMs,
      loopTiming: config.loopTiming,
    }).start();
    let monitor: Promise<MonitorThread | null> = Promise.resolve(null);
    // A node:cluster worker that publishes leaves the port to the primary, which serves
    // every worker's published block (one scrape target for the whole cluster). Asked of
    // node:cluster: Node deletes NODE_UNIQUE_ID before preloads run.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at start in a worker; a primary's monitor loads it anyway
    const clusterWorker = (require('node:cluster') as Cluster).isWorker;
    if (config.serve && !(clusterWorker && sampler.publishedPath !== null)) {
      if (!isLoopback(config.host) && config.token === null) {
        warn(`listening on ${config.host} (not loopback) without RUNTIME_SAMPLER_TOKEN: anyone who can reach it can read the metrics`);
      }
      monitor = startMonitorThread({
        sampler, port: config.port, host: config.host, readiness: config.readiness, windowMs: config.windowMs,
        ...(config.token !== null ? { token: config.token } : {}), debug: config.debug,
        debugMaxBytes: config.debugMaxBytes, debugMaxSeconds: config.debugMaxSeconds, anomaly: config.anomaly,
        detail: config.detail,
        // Any process may turn out to be a node:cluster primary: once it forks, its monitor
        // serves the workers too (they inherit the preload and publish in the same place).
        ...alertChannels(config),
        ...(!clusterWorker && config.publish ? { cluster: sampler.publishedPath !== null ? { dir: dirname(sampler.publishedPath) } : true } : {}),
      }).catch((e: Error) => {
        warn(`the HTTP server did not start (${e.message}); the app runs without it`);
        return null;
      });
    }
    const r: Registered = { sampler, config, monitor, url: null, port: null, ...createShutdown(sampler, monitor, warn) };
    void monitor.then((m) => {
      if (m === null) return;
      r.url = m.url;
      r.port = m.port;
      // Nobody else could know where to connect.
      if (config.port === 0) warn(`monitor listening on ${m.url} (port chosen by the OS)`);
    });
    g[KEY] = r;
    return r;
  } catch (e) {
    warn(`monitoring did not start (${(e as Error).message}); the app runs without it`);
    return null;
  }
}
