// Zero-code configuration: the RUNTIME_SAMPLER_* environment variables read by the preload
// (runtime-sampler/register) and set by the CLI. Parsing never throws: a bad value is
// reported (name, value, what is accepted, what happens instead) and monitoring goes on
// with the default, or without the part it configures — it must never stop the app.
import { statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { DEFAULT_THRESHOLDS, ReadinessThresholds, THRESHOLD_LIMITS } from './readiness';
import { checkUrl } from '../alerts/channel';
import { DETAIL_LEVELS, DetailLevel } from '../detail';
import { LOOP_TIMINGS, LoopTiming } from '../loop-timing';

export interface ServerConfig {
  /** Start nothing (RUNTIME_SAMPLER_DISABLE=1). */
  disabled: boolean;
  /** Serve HTTP (false when PORT or HOST is invalid). */
  serve: boolean;
  port: number;
  host: string;
  /** Bearer token for the debug endpoints (and required for them). */
  token: string | null;
  /** Serve /debug/heap-snapshot and /debug/cpu-profile (needs the token). */
  debug: boolean;
  /** Largest heap snapshot served, bytes. */
  debugMaxBytes: number;
  /** Longest CPU profile, seconds. */
  debugMaxSeconds: number;
  /** The stall watchdog's threshold, ms (0: no watchdog). */
  watchdogMs: number;
  /** Capture the JavaScript stack of each stall (watchdog.captureStack). */
  stallStack: boolean;
  /** Profile each stall (watchdog.profile; implies stallStack). */
  stallProfile: boolean;
  /** The readiness window, ms. */
  windowMs: number;
  readiness: ReadinessThresholds;
  /** Publish the sampler's block for other processes (RUNTIME_SAMPLER_PUBLISH, default on). */
  publish: boolean;
  /** Where container limits are read (RUNTIME_SAMPLER_CGROUP_ROOT, absolute), null: the process's own cgroup. */
  cgroupRoot: string | null;
  /** The threadpool probe's period, ms (0: no probe). */
  threadpoolProbeMs: number;
  /** Evaluate the built-in anomaly rules too (RUNTIME_SAMPLER_ANOMALY=1). */
  anomaly: boolean;
  /** Deliver the built-in rules' alerts to this Alertmanager (base URL), null: not. */
  alertmanagerUrl: string | null;
  /** POST each alert and resolution to this URL, null: not. */
  webhookUrl: string | null;
  /** Write each alert and resolution as a JSON line on stderr. */
  alertLog: boolean;
  /** The detail level of /metrics (RUNTIME_SAMPLER_DETAIL, default 'standard'). */
  detail: DetailLevel;
  /** How event-loop time is taken (RUNTIME_SAMPLER_LOOP_TIMING, default 'iteration'): SamplerOptions.loopTiming. */
  loopTiming: LoopTiming;
}

export interface ParsedConfig {
  config: ServerConfig;
  /** One line per rejected variable (for stderr). */
  problems: string[];
}

/** What the monitor's settings accept, [min, max] (the environment and startMonitorThread()). */
export const SETTING_LIMITS = Object.freeze({
  debugMaxBytes: [1 << 20, 2 ** 40] as const,
  debugMaxSeconds: [1, 600] as const,
  watchdogMs: [0, 3_600_000] as const,
  windowMs: [1000, 600_000] as const,
});

/** Why `token` cannot be the debug endpoints' token, or null when it can. */
export function tokenProblem(token: string): string | null {
  return token.length < 16 || /\s/.test(token) ? 'at least 16 characters, no spaces' : null;
}

export const ENV_DEFAULTS = Object.freeze({
  port: 9464,
  host: '127.0.0.1',
  debugMaxBytes: 512 * 2 ** 20,
  debugMaxSeconds: 60,
  watchdogMs: 100,
  windowMs: 10_000,
  threadpoolProbeMs: 1000,
});

/** Every variable we read, with what it accepts (for --help and docs). */
export const ENV_VARS: ReadonlyArray<[string, string]> = [
  ['RUNTIME_SAMPLER_PORT', `TCP port, 0–65535 (default ${ENV_DEFAULTS.port}; 0: any free port)`],
  ['RUNTIME_SAMPLER_HOST', `address to bind (default ${ENV_DEFAULTS.host})`],
  ['RUNTIME_SAMPLER_TOKEN', 'bearer token for /debug/* (at least 16 characters)'],
  ['RUNTIME_SAMPLER_DEBUG', '1 to serve /debug/heap-snapshot and /debug/cpu-profile (needs the token)'],
  ['RUNTIME_SAMPLER_DEBUG_MAX_BYTES', `largest heap snapshot served, bytes (default ${ENV_DEFAULTS.debugMaxBytes})`],
  ['RUNTIME_SAMPLER_DEBUG_MAX_SECONDS', `longest CPU profile, 1–600 s (default ${ENV_DEFAULTS.debugMaxSeconds})`],
  ['RUNTIME_SAMPLER_WATCHDOG_MS', `stall watchdog threshold, ms, 0 for none (default ${ENV_DEFAULTS.watchdogMs})`],
  ['RUNTIME_SAMPLER_STALL_STACK', '1 to capture the JavaScript stack of each stall (shown by /diagnose and /alerts; default 0)'],
  ['RUNTIME_SAMPLER_STALL_PROFILE', '1 to profile each stall (its stack every 10 ms while it lasts; the last 8 at /debug/stalls, which needs RUNTIME_SAMPLER_DEBUG; default 0)'],
  ['RUNTIME_SAMPLER_THREADPOOL_PROBE_MS', `threadpool probe period, ms: 0 for none, or 10–60000 (default ${ENV_DEFAULTS.threadpoolProbeMs})`],
  ['RUNTIME_SAMPLER_WINDOW_MS', `readiness window, 1000–600000 ms (default ${ENV_DEFAULTS.windowMs})`],
  ['RUNTIME_SAMPLER_READY_LOOP_DELAY_P99_MS', '/readyz load shedding: loop delay p99 limit, ms (default: none)'],
  ['RUNTIME_SAMPLER_READY_ELU', '/readyz load shedding: event-loop utilization limit, 0.01–1 (default: none)'],
  ['RUNTIME_SAMPLER_READY_HEAP_USED_RATIO', `/readyz: heap used / limit, 0.01–1 (default ${DEFAULT_THRESHOLDS.heapUsedRatio})`],
  ['RUNTIME_SAMPLER_READY_RSS_BYTES', '/readyz load shedding: RSS limit, bytes (default: none)'],
  ['RUNTIME_SAMPLER_READY_GC_CPU_FRACTION', '/readyz load shedding: GC CPU fraction limit, 0.001–1 (default: none)'],
  ['RUNTIME_SAMPLER_READY_SECONDS_TO_LIMIT', '/readyz fails while the memory forecast reaches a limit sooner, s (default: none)'],
  ['RUNTIME_SAMPLER_READY_STALL', '/readyz: 0 to ignore a stall in progress (default 1)'],
  ['RUNTIME_SAMPLER_READY_HYSTERESIS', `/readyz: recover below threshold × (1 − h), 0–0.5 (default ${DEFAULT_THRESHOLDS.hysteresis})`],
  ['RUNTIME_SAMPLER_PUBLISH', '0 not to publish the sampler for other processes (runtime-sampler ps/top/stat, the cluster primary; default 1)'],
  ['RUNTIME_SAMPLER_DIR', 'where published samplers go (default $XDG_RUNTIME_DIR/runtime-sampler, else /dev/shm/runtime-sampler-<uid>)'],
  ['RUNTIME_SAMPLER_KEEP_DEAD', 'how long a dead process\'s published file is kept for post-mortem reading: ms or a duration such as 30m (default 1h)'],
  ['RUNTIME_SAMPLER_CGROUP_ROOT', 'a directory standing for the cgroup mounts, read for the container metrics instead of the process\'s own cgroup (tests, unusual mounts; layout in docs/containers.md)'],
  ['RUNTIME_SAMPLER_ANOMALY', '1 to add the built-in anomaly rules to /alerts and /diagnose (default 0)'],
  ['RUNTIME_SAMPLER_ALERTMANAGER_URL', 'deliver the built-in rules\' alerts to this Prometheus Alertmanager: its base URL, http(s)://host:9093 (default: none)'],
  ['RUNTIME_SAMPLER_WEBHOOK_URL', 'POST each alert and resolution as JSON to this http(s) URL (default: none)'],
  ['RUNTIME_SAMPLER_ALERT_LOG', '1 to write each alert and resolution as a JSON line on stderr (default 0)'],
  ['RUNTIME_SAMPLER_DETAIL', '/metrics detail level: standard (the dashboard\'s and alert rules\' metrics, ≤ 120 series) or full (every catalog metric; default standard)'],
  ['RUNTIME_SAMPLER_LOOP_TIMING', 'how event-loop time is taken: iteration (every iteration timed, ~30 ns each: iteration histogram, exact stall durations) or totals (no per-iteration hook: busy/idle totals and counts every 10 ms, stalls by the watchdog; libuv 1.45+, Node 20+; default iteration)'],
  ['RUNTIME_SAMPLER_DISABLE', '1 to start nothing'],
];

const KNOWN = new Set(ENV_VARS.map(([n]) => n));

/**
 * Read by the loader and the install script, not the preload (docs/installing.md): known, so
 * never reported as a typo — an image may set them for the install and keep them at run time.
 */
const LOADER_SETTINGS: ReadonlySet<string> = new Set([
  'RUNTIME_SAMPLER_BINARY', 'RUNTIME_SAMPLER_CLOCK', 'RUNTIME_SAMPLER_LOOP_IDLE', 'RUNTIME_SAMPLER_BACKEND', 'RUNTIME_SAMPLER_PREBUILDS_ONLY',
  'RUNTIME_SAMPLER_BUILD_FROM_SOURCE',
]);

/** Parses RUNTIME_SAMPLER_* from `env`; never throws. */
export function parseEnv(env: NodeJS.ProcessEnv): ParsedConfig {
  const problems: string[] = [];
  const config: ServerConfig = {
    disabled: false, serve: true, port: ENV_DEFAULTS.port, host: ENV_DEFAULTS.host, token: null, debug: false,
    debugMaxBytes: ENV_DEFAULTS.debugMaxBytes, debugMaxSeconds: ENV_DEFAULTS.debugMaxSeconds,
    watchdogMs: ENV_DEFAULTS.watchdogMs, stallStack: false, stallProfile: false, windowMs: ENV_DEFAULTS.windowMs, readiness: {},
    publish: true, cgroupRoot: null, threadpoolProbeMs: ENV_DEFAULTS.threadpoolProbeMs, anomaly: false,
    alertmanagerUrl: null, webhookUrl: null, alertLog: false, detail: 'standard', loopTiming: 'iteration',
  };
  const raw = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const bad = (name: string, value: string, accepted: string, instead: string): void => {
    problems.push(`${name}=${JSON.stringify(value)} is not valid (${accepted}); ${instead}`);
  };
  const number = (name: string, min: number, max: number, integer: boolean, instead: string): number | undefined => {
    const v = raw(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v) || !(n >= min && n <= max) || (integer && !Number.isInteger(n))) {
      bad(name, v, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`, instead);
      return undefined;
    }
    return n;
  };
  const flag = (name: string, instead: string): boolean | undefined => {
    const v = raw(name);
    if (v === undefined) return undefined;
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
    bad(name, v, '1 or 0', instead);
    return undefined;
  };

  for (const name of Object.keys(env)) {
    if (name.startsWith('RUNTIME_SAMPLER_') && !KNOWN.has(name) && !LOADER_SETTINGS.has(name)) {
      problems.push(`${name} is not a runtime-sampler setting (ignored); known: ${[...KNOWN].join(', ')}`);
    }
  }
  if (flag('RUNTIME_SAMPLER_DISABLE', 'monitoring stays on') === true) config.disabled = true;
  if (flag('RUNTIME_SAMPLER_PUBLISH', 'publishing stays on') === false) config.publish = false;

  const port = number('RUNTIME_SAMPLER_PORT', 0, 65535, true, 'the HTTP server is not started');
  if (raw('RUNTIME_SAMPLER_PORT') !== undefined && port === undefined) config.serve = false;
  if (port !== undefined) config.port = port;
  const host = raw('RUNTIME_SAMPLER_HOST');
  if (host !== undefined) {
    if (/[\s/?#@]/.test(host)) {
      bad('RUNTIME_SAMPLER_HOST', host, 'an IP address or a host name', 'the HTTP server is not started');
      config.serve = false;
    } else config.host = host;
  }
  const token = raw('RUNTIME_SAMPLER_TOKEN');
  if (token !== undefined) {
    const problem = tokenProblem(token);
    if (problem !== null) bad('RUNTIME_SAMPLER_TOKEN', token.replace(/./g, '*'), problem, 'no token: the debug endpoints stay off');
    else config.token = token;
  }
  const debug = flag('RUNTIME_SAMPLER_DEBUG', 'the debug endpoints stay off');
  if (debug === true) {
    if (config.token === null) problems.push('RUNTIME_SAMPLER_DEBUG=1 needs RUNTIME_SAMPLER_TOKEN (16+ characters); the debug endpoints stay off');
    else config.debug = true;
  }
  const setting = (name: string, key: keyof typeof SETTING_LIMITS): number | undefined =>
    number(name, SETTING_LIMITS[key][0], SETTING_LIMITS[key][1], true, `using ${ENV_DEFAULTS[key]}`);
  config.debugMaxBytes = setting('RUNTIME_SAMPLER_DEBUG_MAX_BYTES', 'debugMaxBytes') ?? config.debugMaxBytes;
  config.debugMaxSeconds = setting('RUNTIME_SAMPLER_DEBUG_MAX_SECONDS', 'debugMaxSeconds') ?? config.debugMaxSeconds;
  config.watchdogMs = setting('RUNTIME_SAMPLER_WATCHDOG_MS', 'watchdogMs') ?? config.watchdogMs;
  config.windowMs = setting('RUNTIME_SAMPLER_WINDOW_MS', 'windowMs') ?? config.windowMs;
  // 0 or 10–60000: one range for the syntax, then the gap.
  const probeRaw = raw('RUNTIME_SAMPLER_THREADPOOL_PROBE_MS');
  const probeInstead = `using ${ENV_DEFAULTS.threadpoolProbeMs}`;
  const probeMs = number('RUNTIME_SAMPLER_THREADPOOL_PROBE_MS', 0, 60_000, true, probeInstead);
  if (probeMs !== undefined && probeMs !== 0 && probeMs < 10) {
    bad('RUNTIME_SAMPLER_THREADPOOL_PROBE_MS', probeRaw ?? '', '0, or an integer from 10 to 60000', probeInstead);
  } else if (probeMs !== undefined) config.threadpoolProbeMs = probeMs;
  const stallStack = flag('RUNTIME_SAMPLER_STALL_STACK', 'no stall stacks');
  if (stallStack === true) {
    if (config.watchdogMs === 0) problems.push('RUNTIME_SAMPLER_STALL_STACK=1 needs the watchdog (RUNTIME_SAMPLER_WATCHDOG_MS is 0); no stall stacks');
    else config.stallStack = true;
  }
  if (flag('RUNTIME_SAMPLER_ANOMALY', 'no anomaly rules') === true) config.anomaly = true;
  const stallProfile = flag('RUNTIME_SAMPLER_STALL_PROFILE', 'no stall profiles');
  if (stallProfile === true) {
    if (config.watchdogMs === 0) problems.push('RUNTIME_SAMPLER_STALL_PROFILE=1 needs the watchdog (RUNTIME_SAMPLER_WATCHDOG_MS is 0); no stall profiles');
    else config.stallProfile = true;
  }
  const cgroupRoot = raw('RUNTIME_SAMPLER_CGROUP_ROOT');
  if (cgroupRoot !== undefined) {
    const path = resolvePath(cgroupRoot);
    let isDir = false;
    try {
      isDir = !cgroupRoot.includes('\0') && Buffer.byteLength(path) <= 1024 && statSync(path).isDirectory();
    } catch {
      // missing or unreadable: reported below
    }
    if (isDir) config.cgroupRoot = path;
    else bad('RUNTIME_SAMPLER_CGROUP_ROOT', cgroupRoot, 'an existing directory standing for the cgroup mounts', 'container metrics come from the process\'s own cgroup');
  }
  const alertUrl = (name: string): string | null => {
    const v = raw(name);
    if (v === undefined) return null;
    try {
      checkUrl(name, v);
      return v;
    } catch {
      bad(name, v, 'an http:// or https:// URL', 'no delivery there');
      return null;
    }
  };
  config.alertmanagerUrl = alertUrl('RUNTIME_SAMPLER_ALERTMANAGER_URL');
  config.webhookUrl = alertUrl('RUNTIME_SAMPLER_WEBHOOK_URL');
  config.alertLog = flag('RUNTIME_SAMPLER_ALERT_LOG', 'no alert log') === true;
  const detail = raw('RUNTIME_SAMPLER_DETAIL');
  if (detail !== undefined) {
    const level = DETAIL_LEVELS.find((l) => l === detail.toLowerCase());
    if (level !== undefined) config.detail = level;
    else bad('RUNTIME_SAMPLER_DETAIL', detail, DETAIL_LEVELS.join(' or '), `using ${config.detail}`);
  }
  const timing = raw('RUNTIME_SAMPLER_LOOP_TIMING');
  if (timing !== undefined) {
    const t = LOOP_TIMINGS.find((l) => l === timing.toLowerCase());
    if (t !== undefined) config.loopTiming = t;
    else bad('RUNTIME_SAMPLER_LOOP_TIMING', timing, LOOP_TIMINGS.join(' or '), `using ${config.loopTiming}`);
  }
  const r: ReadinessThresholds = {};
  const t = (name: string, key: keyof ReadinessThresholds, integer = false): void => {
    const [min, max] = THRESHOLD_LIMITS[key];
    const d = DEFAULT_THRESHOLDS[key];
    const v = number(name, min, max, integer, `using ${d === null ? 'no limit' : d}`);
    if (v !== undefined) (r as Record<string, number>)[key] = v;
  };
  t('RUNTIME_SAMPLER_READY_LOOP_DELAY_P99_MS', 'loopDelayP99Ms');
  t('RUNTIME_SAMPLER_READY_ELU', 'elu');
  t('RUNTIME_SAMPLER_READY_HEAP_USED_RATIO', 'heapUsedRatio');
  t('RUNTIME_SAMPLER_READY_RSS_BYTES', 'rssBytes', true);
  t('RUNTIME_SAMPLER_READY_GC_CPU_FRACTION', 'gcCpuFraction');
  t('RUNTIME_SAMPLER_READY_SECONDS_TO_LIMIT', 'secondsToLimit');
  t('RUNTIME_SAMPLER_READY_HYSTERESIS', 'hysteresis');
  const stall = flag('RUNTIME_SAMPLER_READY_STALL', 'using 1');
  if (stall !== undefined) r.stall = stall;
  config.readiness = r;
  return { config, problems };
}

/** Whether `host` is a loopback address or name. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
