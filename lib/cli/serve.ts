// `runtime-sampler serve --all | <pid>`: the sidecar. Serves the published samplers of every
// process of this user (or of one) over the monitor's HTTP server (http.ts, with its
// connection limits and timeouts), from this process's own loop — a node_exporter for Node
// runtimes, one scrape target per host for PM2 apps, systemd units and the like.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { UsageError } from './common';
import { ENV_DEFAULTS, isLoopback, tokenProblem } from '../server/config';

/** The sidecar's default port: the preload's monitor has 9464. */
export const SERVE_DEFAULT_PORT = 9465;
/** How often the directory is listed again, ms. */
export const SERVE_RESCAN_MS = 2000;

export const SERVE_HELP = `Usage: runtime-sampler serve --all [options]
       runtime-sampler serve <pid> [options]

Serves the published samplers of every process of this user (--all), or of one, over HTTP:
a node_exporter for Node runtimes (PM2 apps, systemd units, several services on a host).
Processes publish when started with the preload (node -r runtime-sampler/register) unless
RUNTIME_SAMPLER_PUBLISH=0.
  /metrics       Prometheus text (OpenMetrics by Accept), every series labelled pid and
                 title (thread_id for a worker thread, worker_id for a node:cluster worker),
                 plus runtime_sampler_published_{processes,dead,unreadable,skipped}
  /metrics.json  the same as JSON
  /processes     each process: its stall in progress, last stall stack, GC count (JSON)
  /healthz       200 while this server runs; /readyz, / and /live.json are about this process
The directory is listed again every ${SERVE_RESCAN_MS / 1000} s: processes that start publishing appear, those
that exit drop out. A dead process's file (kept for post-mortem reading) is never served
as live: it is counted in runtime_sampler_published_dead.

Options:
  --all              every published process
  --port <n>         TCP port, 0–65535 (default ${SERVE_DEFAULT_PORT}; the preload's monitor has ${ENV_DEFAULTS.port}; 0: any free port)
  --host <address>   address to bind (default ${ENV_DEFAULTS.host})
  --token <token>    require Authorization: Bearer <token> on every endpoint but /healthz
                     (16+ characters, no spaces; without --token, RUNTIME_SAMPLER_TOKEN is read,
                     which keeps it out of ps)
  --dir <path>       the directory processes publish in (default: RUNTIME_SAMPLER_DIR, else
                     $XDG_RUNTIME_DIR/runtime-sampler, else /dev/shm/runtime-sampler-<uid>)

Prints "runtime-sampler serve: listening on <url>" on stderr once it listens.
Exit codes: 0 stopped by SIGINT or SIGTERM; 1 cannot listen; 2 usage error.
`;

/** serve's command line, checked. */
export function serveOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): { help: true } | {
  help: false; pid: number | undefined; port: number; host: string; token: string | null; dir: string | undefined;
} {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { all: { type: 'boolean' }, port: { type: 'string' }, host: { type: 'string' }, token: { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) return { help: true };
  if (positionals.length > 1) throw new UsageError(`serve: one pid at most, got ${positionals.length} arguments`);
  const pidArg = positionals[0];
  if (values.all && pidArg !== undefined) throw new UsageError('serve: --all or a pid, not both');
  if (!values.all && pidArg === undefined) throw new UsageError('serve: which processes? --all, or a pid');
  let pid: number | undefined;
  if (pidArg !== undefined) {
    pid = Number(pidArg);
    if (!/^[1-9][0-9]{0,9}$/.test(pidArg) || pid > 0x7fffffff) throw new UsageError(`serve: ${JSON.stringify(pidArg)} is not a pid (an integer from 1 to 2147483647)`);
  }
  let port = SERVE_DEFAULT_PORT;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^[0-9]{1,5}$/.test(values.port) || port > 65535) throw new UsageError(`serve: --port ${JSON.stringify(values.port)} is not accepted: an integer from 0 to 65535 (0: any free port)`);
  }
  const host = values.host ?? ENV_DEFAULTS.host;
  if (host === '' || /[\s/?#@]/.test(host)) throw new UsageError(`serve: --host ${JSON.stringify(host)} is not accepted: an IP address or a host name`);
  let token: string | null = null;
  const t = values.token ?? (env.RUNTIME_SAMPLER_TOKEN !== undefined && env.RUNTIME_SAMPLER_TOKEN.trim() !== '' ? env.RUNTIME_SAMPLER_TOKEN.trim() : undefined);
  if (t !== undefined) {
    const problem = tokenProblem(t);
    if (problem !== null) throw new UsageError(`serve: ${values.token !== undefined ? '--token' : 'RUNTIME_SAMPLER_TOKEN'} is not accepted (${t.length} characters): ${problem}`);
    token = t;
  }
  if (values.dir !== undefined && values.dir === '') throw new UsageError('serve: --dir must not be empty');
  return { help: false, pid, port, host, token, dir: values.dir === undefined ? undefined : resolve(values.dir) };
}

export async function serve(argv: string[]): Promise<number> {
  const o = serveOptions(argv);
  if (o.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  // Loaded once the command line is good: they load the native binding.
  const { Sampler } = await import('../sampler');
  const { defaultPublishDir } = await import('../published');
  const { createMonitorServer } = await import('../server/http');
  const { PublishedProcesses } = await import('../server/processes');
  const dir = o.dir ?? defaultPublishDir();
  const say = (s: string): void => void process.stderr.write(`runtime-sampler serve: ${s}\n`);
  if (!isLoopback(o.host) && o.token === null) say(`listening on ${o.host} (not loopback) without a token: anyone who can reach it can read every process's metrics, titles and stacks`);
  // This process's own runtime: /readyz and the page are about the server, as a monitor's are.
  const own = new Sampler().start();
  const processes = new PublishedProcesses({
    dir, rescanMs: SERVE_RESCAN_MS, ...(o.pid !== undefined ? { pid: o.pid } : {}),
    onUnreadable: (path, message) => say(`${path} cannot be read (${message.replace(/[\x00-\x1f\x7f]/g, '?').slice(0, 300)}); counted in runtime_sampler_published_unreadable`),
  });
  const { server, stop } = createMonitorServer(own, {
    windowMs: ENV_DEFAULTS.windowMs, token: o.token, debug: false, debugMaxBytes: ENV_DEFAULTS.debugMaxBytes,
    debugMaxSeconds: ENV_DEFAULTS.debugMaxSeconds, processes, tokenGuards: 'all',
  });
  const shutdown = (): void => {
    stop();
    processes.close();
    own.close();
  };
  return new Promise<number>((done) => {
    const onSignal = (): void => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, onSignal);
      server.close(() => {
        shutdown();
        done(0);
      });
      server.closeAllConnections();
    };
    server.once('error', (e: NodeJS.ErrnoException) => {
      say(`cannot listen on ${o.host}:${o.port}: ${e.message}`);
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, onSignal);
      shutdown();
      done(1);
    });
    server.listen(o.port, o.host, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
      const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
      say(`listening on ${url} (${o.pid === undefined ? 'every process' : `pid ${o.pid}`} published in ${dir})`);
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);
    });
  });
}
