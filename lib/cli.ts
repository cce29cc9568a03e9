// The `runtime-sampler` command (bin/runtime-sampler.js):
//   runtime-sampler run [options] [--] <script> [args…]   run an app with monitoring preloaded
//   runtime-sampler snapshot <url> [--json]                 print a running process's metrics
//   runtime-sampler diagnose <url> [--json] [--window 60s]  print a running process's diagnosis
//   runtime-sampler bench [scenario…] [--quick]             run the bundled benchmarks
//   runtime-sampler doctor [--json]                         the binary, the runtime, what works here
//   runtime-sampler demo [--duration 2m] [--port 0]         a built-in workload under the preload
//   runtime-sampler ps [--clean] [--json]                   the samplers published on this machine
//   runtime-sampler top [--interval 1000]                   a refreshing table of the running ones
//   runtime-sampler stat <pid> [intervalMs] [count]         one line per interval, like jstat -gcutil
//   runtime-sampler postmortem <pid|path> [--json]          the last state of a (dead) process
//   runtime-sampler serve --all | <pid> [--port 9465]       the sidecar (lib/cli/serve.ts)
// ps, top, stat, postmortem and serve read published blocks (lib/cli/*.ts; `--dir`, default
// defaultPublishDir()); their modules load the native binding, so they are imported only
// once --help has been answered.
// Exit codes: 0 success; 1 a failure (unreachable URL, HTTP error, benchmark failure, no
// such published sampler, a file that cannot be read);
// 2 a usage error (unknown command or option, bad value); `run` exits with the app's code
// (128 + signal number when the app was killed by a signal).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { parseArgs } from 'node:util';
import { ENV_VARS, parseEnv } from './server/config';
import { ROUTES } from './server/routes';
import { human, printable } from './format';
import { DEMO } from './demo/plan';
import { parseDuration } from './duration';
import { DIR_HELP, UsageError } from './cli/common';

export { human };

const root = join(__dirname, '..', '..');
const version = (): string => (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

const MAIN_HELP = `runtime-sampler ${'{version}'}: Node.js runtime vital signs.

Usage:
  runtime-sampler run [options] [--] <script> [args...]   run a Node app with monitoring preloaded
  runtime-sampler snapshot <url> [--json]                 print a running process's metrics
  runtime-sampler diagnose <url> [--json] [--window 60s]  its GC/loop tuning report, leak check, alerts
  runtime-sampler bench [scenario...] [--quick]           run the bundled benchmarks
  runtime-sampler doctor [--json]                         which binary loads, the runtime, what works here
  runtime-sampler demo [--duration <time>] [--port <n>]   a built-in workload to look at: page, /metrics, diagnosis
  runtime-sampler ps [--clean] [--json]                   the processes that publish their sampler here, live and dead
  runtime-sampler top [--interval <ms>] [--once]          a refreshing table of them: heap, RSS, GC, loop, stalls
  runtime-sampler stat <pid> [intervalMs] [count]         one line per interval for one process, like jstat -gcutil
  runtime-sampler postmortem <pid|path> [--json]          the last state of a process that died (or of a running one)
  runtime-sampler serve --all | <pid> [--port <n>]        serve every published process's metrics (a sidecar)
  runtime-sampler <command> --help                        help for a command
  runtime-sampler --version

Exit codes: 0 success, 1 failure, 2 usage error; run exits with the app's code.
`;

// run's options: flag → environment variable (config.ts validates the values).
const RUN_FLAGS: ReadonlyArray<[string, string, string]> = [
  ['port', 'RUNTIME_SAMPLER_PORT', 'HTTP port (default 9464; 0: any free port)'],
  ['host', 'RUNTIME_SAMPLER_HOST', 'address to bind (default 127.0.0.1)'],
  ['token', 'RUNTIME_SAMPLER_TOKEN', 'bearer token for /debug/* (16+ characters)'],
  ['debug', 'RUNTIME_SAMPLER_DEBUG', 'serve /debug/heap-snapshot and /debug/cpu-profile (needs --token)'],
  ['watchdog-ms', 'RUNTIME_SAMPLER_WATCHDOG_MS', 'stall threshold, ms (0: no watchdog; default 100)'],
  ['stall-stack', 'RUNTIME_SAMPLER_STALL_STACK', 'capture the JavaScript stack of each stall (shown by /diagnose and /alerts)'],
  ['stall-profile', 'RUNTIME_SAMPLER_STALL_PROFILE', 'profile each stall (served at /debug/stalls with --debug)'],
  ['loop-timing', 'RUNTIME_SAMPLER_LOOP_TIMING', 'iteration (every loop iteration timed; default) or totals (no per-iteration hook)'],
  ['detail', 'RUNTIME_SAMPLER_DETAIL', '/metrics detail: standard (default, ≤ 120 series) or full'],
  ['threadpool-probe-ms', 'RUNTIME_SAMPLER_THREADPOOL_PROBE_MS', 'threadpool probe period, ms (0: no probe, or 10–60000; default 1000)'],
  ['window-ms', 'RUNTIME_SAMPLER_WINDOW_MS', 'readiness and live-page window, ms (default 10000)'],
  ['ready-loop-delay-p99-ms', 'RUNTIME_SAMPLER_READY_LOOP_DELAY_P99_MS', 'load shedding: /readyz loop delay p99 limit, ms (default: none)'],
  ['ready-elu', 'RUNTIME_SAMPLER_READY_ELU', 'load shedding: /readyz event-loop utilization limit, 0.01–1 (default: none)'],
  ['ready-heap-used-ratio', 'RUNTIME_SAMPLER_READY_HEAP_USED_RATIO', '/readyz heap used / limit, 0.01–1 (default 0.9)'],
  ['ready-rss-bytes', 'RUNTIME_SAMPLER_READY_RSS_BYTES', 'load shedding: /readyz RSS limit, bytes (default: none)'],
  ['ready-gc-cpu-fraction', 'RUNTIME_SAMPLER_READY_GC_CPU_FRACTION', 'load shedding: /readyz GC CPU fraction limit, 0.001–1 (default: none)'],
  ['ready-seconds-to-limit', 'RUNTIME_SAMPLER_READY_SECONDS_TO_LIMIT', '/readyz fails while the memory forecast reaches a limit within this many s (default: none)'],
  ['ready-stall', 'RUNTIME_SAMPLER_READY_STALL', '/readyz fails during a stall: 1 or 0 (default 1)'],
  ['ready-hysteresis', 'RUNTIME_SAMPLER_READY_HYSTERESIS', 'recover below threshold × (1 − h), 0–0.5'],
];

/** run's flags that take no value (they set their variable to 1). */
const BOOLEAN_FLAGS: ReadonlySet<string> = new Set(['debug', 'stall-stack', 'stall-profile']);

const RUN_HELP = `Usage: runtime-sampler run [options] [--] <script> [args...]

Runs \`node -r runtime-sampler/register <script> [args...]\`: a sampler of the main thread with
the stall watchdog, and an HTTP server on its own thread (/, /metrics, /metrics.json,
/healthz, /readyz). Options set the RUNTIME_SAMPLER_* variables (the same ones the preload
reads); a bad value is a usage error here.

Options:
${RUN_FLAGS.map(([f, env, what]) => `  --${f}${BOOLEAN_FLAGS.has(f) ? '' : ' <value>'}`.padEnd(36) + `${what} [${env}]`).join('\n')}
  --node-arg <arg>                  pass an option to node (repeatable), e.g. --node-arg=--max-old-space-size=512

Exit code: the app's (128 + signal number if a signal ended it); 2 for a usage error.
Environment variables: ${ENV_VARS.map(([n]) => n).join(', ')}.
`;

const SNAPSHOT_HELP = `Usage: runtime-sampler snapshot <url> [--json]

Fetches a running monitor's /metrics.json and prints each metric as a table row: name,
attributes, value (durations and sizes in readable units; histograms as count, p50, p99 and
max). --json prints the document as it came. <url> is the monitor's base URL or any of its
endpoints (http://127.0.0.1:9464, …/metrics, …/diagnose all mean the same monitor).

Exit codes: 0 printed; 1 unreachable, not a runtime-sampler monitor, or an HTTP error;
2 usage error.
`;

const DIAGNOSE_HELP = `Usage: runtime-sampler diagnose <url> [--json] [--window <duration>]

Fetches a running monitor's /diagnose (the process was started with runtime-sampler run or
node -r runtime-sampler/register) and prints the report: GC CPU fraction, pause
percentiles by type, allocation and promotion, heap vs limit, fragmentation, external
memory, loop utilization and delay, stalls, the leak check, each with its verdict and
advice, then the alerts of the built-in rules. --window sets the window (e.g. 30s, 5m;
default 60s, at most the monitor's history of 10 minutes). --json prints the JSON report.
<url> is the monitor's base URL or any of its endpoints (http://127.0.0.1:9464, …/metrics,
…/diagnose all mean the same monitor).

Exit codes: 0 printed; 1 unreachable, not a runtime-sampler monitor, or an HTTP error;
2 usage error.
`;

const BENCH_HELP = `Usage: runtime-sampler bench [scenario...] [--quick]

Runs the bundled benchmarks (bench/run.mjs): read cost, overhead (GC-heavy and loop-heavy),
the loop hook, V8 histogram callbacks, GC main-thread time, HTTP under load (needs wrk),
memory, precision and export cost. Scenario names filter by file name (e.g. read overhead).
Contenders that are not installed (prom-client, @datadog/native-metrics, OpenTelemetry) are
reported as skipped. --quick runs everything briefly and records nothing.

Exit codes: 0 every scenario ran; 1 one failed; 2 usage error.
`;

const DOCTOR_HELP = `Usage: runtime-sampler doctor [--json]

Loads the native binary and says which file it is and how it was chosen (a prebuild, a
source build in build/Release, or RUNTIME_SAMPLER_BINARY), the backend, Node's version, ABI,
platform and libc, the libuv and V8 versions (and those the binary was built against), the
loop clock, and what the sampler measures here — each from a real check on a sampler
started for half a second: GC callbacks, V8's GC histograms, heap spaces, loop timing,
loop event counts (libuv ≥ 1.45), the stall watchdog, open file descriptors, RSS and CPU.
--json prints the same as JSON.

Exit codes: 0 the binary loads; 1 it does not (the reason is printed); 2 usage error.
`;

const MiB = 2 ** 20;
const DEMO_HELP = `Usage: runtime-sampler demo [--duration <time>] [--port <n>]

Runs a built-in workload with the preload (node -r runtime-sampler/register): allocation
churn (${DEMO.churnObjects} short-lived objects every 10 ms; ${DEMO.mediumLivedPerTick} more every 10 ms that live ~1 s, for mark-compacts), a
${DEMO.stallMs} ms synchronous stall ${DEMO.stallFirstMs / 1000} s after start and every ${DEMO.stallEveryMs / 1000} s, and a slow leak (${DEMO.leakBytesPerSec / 1024} KiB
retained a second, up to ${DEMO.leakMaxBytes / MiB} MiB). Prints the live page's and /metrics' URLs as soon as
the monitor listens, then the diagnose() report (the monitor's /diagnose) after ${DEMO.reportEveryMs / 1000} s and
every ${DEMO.reportEveryMs / 1000} s after that — or once at the end of --duration, when that is sooner.

Options:
  --duration <time>   stop by itself after this long: seconds (90), or 90s, 2m, 1h; 1 s to 24 h
                      (default: run until Ctrl-C)
  --port <n>          the monitor's port (default 0: any free port)

Exit codes: 0 when it ends by --duration or Ctrl-C; 1 when the workload or the monitor
failed; 2 usage error.
`;

function out(s: string): void {
  process.stdout.write(s);
}

/** Maps run's options to environment variables; validates them as the preload would. */
export function runEnv(values: Record<string, string | boolean | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [flag, name] of RUN_FLAGS) {
    const v = values[flag];
    if (v === undefined) continue;
    env[name] = v === true ? '1' : String(v);
  }
  const { problems } = parseEnv(env);
  // The preload's lines say what it does instead; here a bad value stops before the app runs.
  if (problems.length > 0) throw new UsageError(problems.map((p) => p.replace(/^RUNTIME_SAMPLER_([A-Z_]+)=/, (_, n: string) => `--${n.toLowerCase().replace(/_/g, '-')}=`).replace(/; [^;]*$/, '')).join('\n'));
  return env;
}

async function run(argv: string[]): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' }, 'node-arg': { type: 'string', multiple: true } };
  for (const [f] of RUN_FLAGS) options[f] = { type: BOOLEAN_FLAGS.has(f) ? 'boolean' : 'string' };
  // Our options end at `--` or at the script: what follows is the app's, options included.
  let end = 0;
  while (end < argv.length) {
    const a = argv[end];
    if (a === '--' || !a.startsWith('-')) break;
    const name = a.replace(/^--?/, '').split('=')[0];
    end += options[name]?.type === 'string' && !a.includes('=') ? 2 : 1;
  }
  const appArgs = argv[end] === '--' ? argv.slice(end + 1) : argv.slice(end);
  const { values } = parseArgs({ args: argv.slice(0, end), options, allowPositionals: false, strict: true });
  const positionals = appArgs;
  if (values.help) {
    out(RUN_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('run: which script? runtime-sampler run [options] -- app.js [args...]');
  const env = runEnv(values as Record<string, string | boolean | undefined>);
  const nodeArgs = (values['node-arg'] as string[] | undefined) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, '-r', join(__dirname, 'register.js'), ...positionals], {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  // Signals for the app go to the app; we exit as it does.
  const forward = (sig: NodeJS.Signals): void => { child.kill(sig); };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, forward);
  return new Promise<number>((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`runtime-sampler run: cannot start node: ${e.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      resolve(code ?? 128 + (signal ? (osConstants.signals as Record<string, number>)[signal] ?? 0 : 0));
    });
  });
}

/** A duration as typed: 24 h, 2 m, 90 s, 1500 ms. */
const spoken = (ms: number): string =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;

/**
 * A duration on the command line, in ms: seconds as a plain number, or 500ms, 30s, 2m, 1h
 * (parseDuration's forms).
 */
export function parseCliDuration(cmd: string, option: string, value: string, minMs: number, maxMs: number): number {
  try {
    if (value.trim() !== value) throw new TypeError('surrounding spaces');
    return parseDuration(option, /^\d+(?:\.\d+)?$/.test(value) ? `${value}s` : value, minMs, maxMs);
  } catch {
    throw new UsageError(`${cmd}: ${option} ${JSON.stringify(value)} is not accepted: a duration from ${spoken(minMs)} to ${spoken(maxMs)}, as seconds (90) or with a unit (90s, 2m, 1h)`);
  }
}

async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { duration: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: false, strict: true });
  if (values.help) {
    out(DEMO_HELP);
    return 0;
  }
  const durationMs = values.duration === undefined ? Infinity : parseCliDuration('demo', '--duration', values.duration, 1000, 86_400_000);
  const env = runEnv({ port: values.port ?? '0' });
  const t0 = Date.now();
  // The IPC channel is the workload's lifeline: it exits when we do, however we end.
  const child = spawn(process.execPath, ['-r', join(__dirname, 'register.js'), join(__dirname, 'demo', 'workload.js')], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  // Set by the child's handlers: read through a function so TypeScript does not narrow it.
  let exited: string | null = null;
  const exitedWhy = (): string | null => exited;
  let interrupted = false;
  let wake: () => void = () => {};
  let timer: NodeJS.Timeout | undefined;
  // Sleeps until `ms` from now, the workload's exit or a signal, whichever comes first.
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    wake = resolve;
    timer = setTimeout(resolve, Math.max(0, ms));
  });
  const childGone = new Promise<void>((resolve) => {
    child.on('error', (e) => { exited = `cannot start node: ${e.message}`; resolve(); wake(); });
    child.on('exit', (code, signal) => { exited = `exited with ${signal ?? `code ${code}`}`; resolve(); wake(); });
  });
  const onSignal = (): void => { interrupted = true; wake(); };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  const urlFrom = new Promise<{ url: string | null; why?: string }>((resolve) => {
    child.on('message', (m: { url?: unknown; why?: unknown }) => resolve({ url: typeof m?.url === 'string' ? m.url : null, why: typeof m?.why === 'string' ? m.why : 'no URL' }));
  });
  try {
    const first = await Promise.race([urlFrom, childGone.then(() => null), sleep(30_000).then(() => null)]);
    clearTimeout(timer);
    if (interrupted) return 0;
    if (first === null || first.url === null) {
      process.stderr.write(`runtime-sampler demo: no monitor URL from the workload (${first?.why ?? exited ?? 'none in 30 s'})\n`);
      return 1;
    }
    out(`live page: ${monitorUrl('demo', first.url, '/').href}\nmetrics:   ${monitorUrl('demo', first.url, '/metrics').href}\n`);
    out(`diagnosis: after ${spoken(Math.min(DEMO.reportEveryMs, durationMs))}${durationMs === Infinity ? `, then every ${spoken(DEMO.reportEveryMs)}; Ctrl-C to stop` : `; stops after ${spoken(Math.round(durationMs))}`}\n`);
    const endAt = t0 + durationMs;
    let reportAt = t0 + Math.min(DEMO.reportEveryMs, durationMs);
    for (;;) {
      await sleep(Math.min(reportAt, endAt) - Date.now());
      clearTimeout(timer);
      if (interrupted) return 0;
      const why = exitedWhy();
      if (why !== null) {
        process.stderr.write(`runtime-sampler demo: the workload ${why} before the end\n`);
        return 1;
      }
      if (Date.now() >= reportAt) {
        const url = monitorUrl('demo', first.url, '/diagnose');
        url.searchParams.set('format', 'text');
        const body = await fetchOk('demo', url, (b) => (b.startsWith('runtime-sampler diagnosis:') ? null : `not a diagnosis: ${JSON.stringify(printable(b, 40))}`));
        if (body === null) return 1;
        out(`\n--- diagnose() after ${((Date.now() - t0) / 1000).toFixed(0)} s (${url.href}) ---\n${body}${body.endsWith('\n') ? '' : '\n'}\n`);
        reportAt += DEMO.reportEveryMs;
      }
      if (Date.now() >= endAt) return 0;
    }
  } finally {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, onSignal);
    if (exited === null) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await childGone;
      clearTimeout(kill);
    }
  }
}

/** Bounds of a fetch from a monitor: what comes back is network input. */
const FETCH_LIMITS = Object.freeze({ idleMs: 10_000, totalMs: 30_000, maxBytes: 64 * 2 ** 20 });

/** GETs `url` within `limits` (no byte for idleMs, the whole answer in totalMs, at most maxBytes). */
export function fetchText(url: URL, limits: { idleMs: number; totalMs: number; maxBytes: number } = FETCH_LIMITS): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    const tooBig = (): Error => new Error(`the answer is larger than ${limits.maxBytes} bytes`);
    const req = get(url, { headers: { accept: 'application/json' }, timeout: limits.idleMs }, (res) => {
      if (Number(res.headers['content-length']) > limits.maxBytes) {
        req.destroy(tooBig());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limits.maxBytes) req.destroy(tooBig());
        else chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    // A server that trickles its answer never trips the idle timeout.
    const deadline = setTimeout(() => req.destroy(new Error(`no complete answer in ${limits.totalMs / 1000} s`)), limits.totalMs);
    req.on('timeout', () => req.destroy(new Error(`no answer in ${limits.idleMs / 1000} s`)));
    req.on('error', (e) => {
      clearTimeout(deadline);
      reject(e);
    });
  });
}

interface JsonPoint { attributes: Record<string, string>; value?: number | null; count?: number; sum?: number; max?: number | null; percentiles?: Record<string, number | null> }
interface JsonDoc { metrics: Array<{ name: string; unit: string; kind: string; points: JsonPoint[] }>; timestamp?: string }

/** The rows snapshot prints: [name, attributes, value]. */
function snapshotRows(doc: JsonDoc): string[][] {
  const rows: string[][] = [];
  for (const m of doc.metrics) {
    for (const p of m.points) {
      const attrs = Object.entries(p.attributes ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
      const value = m.kind === 'histogram'
        ? `n=${p.count} p50=${human(p.percentiles?.p50, m.unit)} p99=${human(p.percentiles?.p99, m.unit)} max=${human(p.max, m.unit)}`
        : human(p.value, m.unit);
      rows.push([m.name, attrs, value]);
    }
  }
  return rows;
}

/**
 * The URL of the monitor's `path` from the command line's URL: the monitor's base, or any of
 * its endpoints (the /metrics a scrape config names, say), whose path is replaced; any other
 * path is taken as the base the monitor is served under (behind a proxy).
 */
export function monitorUrl(cmd: string, arg: string | undefined, path: string): URL {
  if (arg === undefined) throw new UsageError(`${cmd}: give one URL, e.g. runtime-sampler ${cmd} http://127.0.0.1:9464`);
  let url: URL;
  try {
    url = new URL(arg);
  } catch {
    throw new UsageError(`${cmd}: ${JSON.stringify(arg)} is not a URL (e.g. http://127.0.0.1:9464)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${cmd}: ${url.protocol} URLs are not supported (http: or https:)`);
  let base = url.pathname.replace(/\/+$/, '');
  const endpoint = Object.keys(ROUTES).find((p) => p !== '/' && base.endsWith(p));
  if (endpoint !== undefined) base = base.slice(0, -endpoint.length);
  url.pathname = base + path;
  url.search = '';
  url.hash = '';
  return url;
}


/** Says (on stderr) that `url` answered, but not as a runtime-sampler monitor would. */
function notMonitor(cmd: string, url: URL, why: string): null {
  process.stderr.write(`runtime-sampler ${cmd}: ${url.href} does not look like a runtime-sampler monitor (${why}); give the monitor's URL, e.g. http://127.0.0.1:9464\n`);
  return null;
}

/**
 * GETs `url`; null (after a message on stderr) unless it answered 200 with a body that
 * `problem` finds nothing wrong with (it says what is wrong, or null).
 */
async function fetchOk(cmd: string, url: URL, problem: (body: string) => string | null): Promise<string | null> {
  let res: { status: number; body: string };
  try {
    res = await fetchText(url);
  } catch (e) {
    process.stderr.write(`runtime-sampler ${cmd}: ${url.href}: ${(e as Error).message}\n`);
    return null;
  }
  // The monitor answers every path of its own; a 404 is someone else's server.
  if (res.status === 404) return notMonitor(cmd, url, 'HTTP 404');
  if (res.status !== 200) {
    process.stderr.write(`runtime-sampler ${cmd}: ${url.href}: HTTP ${res.status}${res.body ? `: ${printable(res.body)}` : ''}\n`);
    return null;
  }
  const why = problem(res.body);
  return why === null ? res.body : notMonitor(cmd, url, why);
}

/** Why `body` is not JSON with `marker` (a description), or null when it is. */
function jsonProblem(body: string, marker: (doc: Record<string, unknown>) => boolean, what: string): string | null {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return `not JSON: ${JSON.stringify(printable(body, 40))}`;
  }
  return doc !== null && typeof doc === 'object' && marker(doc as Record<string, unknown>) ? null : `JSON without ${what}`;
}

const isMetricsDoc = (d: Record<string, unknown>): boolean =>
  typeof d.schema === 'string' && /^runtime-sampler\/metrics\/v\d+$/.test(d.schema) && Array.isArray(d.metrics) &&
  d.metrics.every((m: { name?: unknown; points?: unknown } | null) => m !== null && typeof m === 'object' && typeof m.name === 'string' && Array.isArray(m.points));

async function diagnoseCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, window: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (values.help) {
    out(DIAGNOSE_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError('diagnose: give one URL');
  const url = monitorUrl('diagnose', positionals[0], '/diagnose');
  if (values.window !== undefined) {
    if (!/^\d+(?:\.\d+)?(ms|s|m|h)?$/.test(values.window)) throw new UsageError(`diagnose: --window ${JSON.stringify(values.window)} is not a duration (e.g. 30s, 5m, or ms as a number)`);
    url.searchParams.set('window', values.window);
  }
  url.searchParams.set('format', values.json ? 'json' : 'text');
  const body = await fetchOk('diagnose', url, values.json
    ? (b) => jsonProblem(b, (d) => typeof d.verdict === 'string' && Array.isArray(d.findings), 'a diagnosis (verdict, findings)')
    : (b) => (b.startsWith('runtime-sampler diagnosis:') ? null : `not a diagnosis: ${JSON.stringify(printable(b, 40))}`));
  if (body === null) return 1;
  out(values.json ? `${JSON.stringify(JSON.parse(body), null, 2)}\n` : body);
  return 0;
}

async function snapshot(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (values.help) {
    out(SNAPSHOT_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError('snapshot: give one URL');
  const url = monitorUrl('snapshot', positionals[0], '/metrics.json');
  const body = await fetchOk('snapshot', url, (b) => jsonProblem(b, isMetricsDoc, 'the runtime-sampler/metrics schema'));
  if (body === null) return 1;
  const doc = JSON.parse(body) as JsonDoc;
  if (values.json) {
    out(`${JSON.stringify(doc, null, 2)}\n`);
    return 0;
  }
  const rows = [['metric', 'attributes', 'value'], ...snapshotRows(doc)];
  const w = [0, 1].map((i) => Math.min(60, Math.max(...rows.map((r) => r[i].length))));
  out(`${url.href}${doc.timestamp ? ` at ${doc.timestamp}` : ''}\n`);
  for (const r of rows) out(`${printable(r[0], 200).padEnd(w[0])}  ${printable(r[1], 500).padEnd(w[1])}  ${printable(r[2], 200)}\n`);
  return 0;
}

async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean' } }, allowPositionals: false, strict: true });
  if (values.help) {
    out(DOCTOR_HELP);
    return 0;
  }
  const { doctor, formatDoctor } = await import('./doctor');
  const report = await doctor(version());
  out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctor(report));
  return report.ok ? 0 : 1;
}

function bench(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(BENCH_HELP);
    return 0;
  }
  for (const a of argv) if (a.startsWith('-') && a !== '--quick') throw new UsageError(`bench: unknown option ${a} (accepted: --quick)`);
  const script = join(root, 'bench', 'run.mjs');
  if (!existsSync(script)) {
    process.stderr.write(`runtime-sampler bench: ${script} is missing from this installation\n`);
    return 1;
  }
  const r = spawnSync(process.execPath, [script, ...argv], { stdio: 'inherit' });
  return r.status === 0 ? 0 : 1;
}

const PS_HELP = `Usage: runtime-sampler ps [--clean] [--json] [--dir <dir>]

Lists the samplers published in the directory — by processes started with the preload
(node -r runtime-sampler/register, which publishes unless RUNTIME_SAMPLER_PUBLISH=0) or with
new Sampler({ publish: true }) — one line each: pid, thread (worker threadId; 0: the main
thread), cluster worker id, state, when it started, uptime ("died" for a dead one), Node's
version and the title. States: alive; dead: the process is gone (killed, crashed, exited
with a code other than 0) and its file keeps its last state for runtime-sampler postmortem;
closed: the thread closed its sampler. A file that cannot be read is listed with why.

Options:
  --json              print the list as JSON (listPublished()'s entries); with --clean,
                      { "removed": [paths], "processes": [entries] }
  --clean             first remove the files of every writer that is gone (dead or closed),
                      however recently, and say which (publishers remove them by themselves
                      after RUNTIME_SAMPLER_KEEP_DEAD, default 1h)
${DIR_HELP}

Exit codes: 0 listed (an empty or missing directory too); 1 the directory cannot be read;
2 usage error.
`;

const TOP_HELP = `Usage: runtime-sampler top [--interval <ms>] [--once | -n <count>] [--dir <dir>]

A table of the running processes that publish, refreshed in place: pid, thread, heap used /
limit, RSS, GC% (GC time on the JavaScript thread / wall time: pauses and incremental
marking), the p99 GC pause, event-loop utilization (ELU%), the p99 loop delay, and STALL
(NOW and how long, while the loop is stuck; else the stalls so far; off without a watchdog),
then the title, cut to the terminal's width. Each value covers the last interval; a
process's first row (its pid marked *) covers the time since it started. Processes appear
as they start and go as they exit; the first line counts the dead ones (ps lists them).

Keys: p pid, h heap, r RSS, g GC%, e ELU, d loop delay, s stall (the same key again
reverses the order); q or Ctrl-C quits. The terminal is restored however top ends.

When stdout is not a terminal, or with --once, it prints one plain table after one interval
and exits.

Options:
  --interval <ms>       time between refreshes: ms (1000), or with a unit (500ms, 2s);
                        100 ms to 1 h (default 1000)
  --once                one table after one interval, plain, then exit
  -n, --iterations <n>  refresh n times, then exit (without a terminal: print n tables)
${DIR_HELP}

Exit codes: 0 quit (q, Ctrl-C, a signal, or the iterations done); 1 the directory cannot be
read; 2 usage error.
`;

const STAT_HELP = `Usage: runtime-sampler stat <pid> [intervalMs] [count] [--thread <id>] [--dir <dir>]

Like jstat -gcutil: a header, then one line per interval for a process that publishes its
sampler (ps lists them):
  TIME       the line's local time
  HEAP%      heap used / heap limit
  NEW%       new space used / its size (the young generation)
  OLD%       old space used / its size
  HEAP-MB    heap used, MiB
  RSS-MB     resident set size, MiB
  SCV MMS MSC INC  collections in the interval: scavenges, minor mark-sweeps,
             mark-sweep-compacts (full GCs), incremental marking
  GCT-ms     GC pause time in the interval
  GC%        GC time on the JavaScript thread / wall time (pauses and incremental marking)
  ELU%       event-loop utilization
  DLY99-ms   p99 loop delay in the interval
  STL        stalls that ended in the interval (- without a watchdog)
  STUCK-ms   how long the stall in progress has lasted (0: none)
The first line covers the time since the process's sampler started (as vmstat's first line
does); each next one, the interval before it. intervalMs: ms (default 1000), or with a unit
(500ms, 2s); 100 ms to 1 h. count: lines to print (default: until Ctrl-C).

Options:
  --thread <id>       the worker thread's sampler (threadId; default 0, the main thread)
${DIR_HELP}

Exit codes: 0 count lines printed, or stopped by Ctrl-C; 1 no such published sampler, or the
process exited (after a final line with its last values); 2 usage error.
`;

const POSTMORTEM_HELP = `Usage: runtime-sampler postmortem <pid|path> [--json] [--thread <id>] [--dir <dir>]

The last state of a published sampler, readable: of a process that died (a signal, SIGKILL,
a crash, an out-of-memory kill and an exit code other than 0 leave its file, kept for
RUNTIME_SAMPLER_KEEP_DEAD, default 1h), or of a running one (it says so). It prints whether
the process is alive, its title, Node's version, when it started, its last update and its
uptime then; GC counts, pause totals and p50/p99/max pauses by type, GC CPU; heap used /
limit and each heap space; RSS and CPU; loop iterations, utilization and delay; stalls (one in
progress when it died) and the last stall's JavaScript stack; the heap right after each of the
last mark-compacts; the last 10 GCs; and the regions it died in the middle of updating, if
any (torn: their values may be inconsistent).

<pid> is a number (its main thread's sampler, or --thread's); anything else is a file path
(./123 for a file named 123).

Options:
  --json              the same as JSON
  --thread <id>       with a pid: the worker thread's sampler (threadId; default 0)
${DIR_HELP}

Exit codes: 0 printed; 1 no such published sampler, or the file cannot be read (malformed,
another version's, not yours); 2 usage error.
`;

/**
 * A command whose module loads the native binding: --help is answered first, so that it
 * works where no binary loads (doctor says why).
 */
function published(help: string, load: () => Promise<(argv: string[]) => number | Promise<number>>): (argv: string[]) => Promise<number> {
  return async (argv) => {
    if (argv.includes('--help') || argv.includes('-h')) {
      out(help);
      return 0;
    }
    return (await load())(argv);
  };
}

/** The commands, in the order the messages list them. */
const COMMANDS: Readonly<Record<string, (argv: string[]) => number | Promise<number>>> = {
  run, snapshot, diagnose: diagnoseCommand, bench, doctor: doctorCommand, demo,
  ps: published(PS_HELP, async () => (await import('./cli/ps')).psCommand),
  top: published(TOP_HELP, async () => (await import('./cli/top')).topCommand),
  stat: published(STAT_HELP, async () => (await import('./cli/stat')).statCommand),
  postmortem: published(POSTMORTEM_HELP, async () => (await import('./cli/postmortem')).postmortemCommand),
  serve: async (argv) => (await import('./cli/serve')).serve(argv),
};

/** Runs the command line; resolves to the exit code. */

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd !== undefined && Object.hasOwn(COMMANDS, cmd)) return await COMMANDS[cmd](rest);
    switch (cmd) {
      case '--version': case '-v': out(`${version()}\n`); return 0;
      case undefined: case '--help': case '-h': case 'help':
        out(MAIN_HELP.replace('{version}', version()));
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)} (${Object.keys(COMMANDS).join(', ')}; --help)`);
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    if (e instanceof UsageError || (err.code ?? '').startsWith('ERR_PARSE_ARGS')) {
      const known = cmd !== undefined && Object.hasOwn(COMMANDS, cmd);
      process.stderr.write(`runtime-sampler: ${err.message}\n(runtime-sampler ${known ? `${cmd} ` : ''}--help for usage)\n`);
      return 2;
    }
    // A published sampler that is not there or cannot be read: a failure, said plainly.
    if (typeof err.code === 'string' && err.code.startsWith('ERR_SAMPLER_')) {
      process.stderr.write(`runtime-sampler ${cmd}: ${err.message} (${err.code})\n`);
      return 1;
    }
    throw e;
  }
}
