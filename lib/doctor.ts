// `runtime-sampler doctor`: which binary loads here and how it was chosen, the runtime it
// runs on, and what the sampler can measure here. Each capability comes from a real check —
// a sampler started for a moment, with garbage made, a file read and the loop blocked — so
// the answer is this machine's, not a table's.
import { readFile } from 'node:fs/promises';
import type * as Api from './index';
import { human } from './format';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  /** What was seen (or why not). */
  detail: string;
}

export interface DoctorReport {
  /** Whether the library loaded (on either backend; false: require() threw, see error). */
  ok: boolean;
  version: string;
  runtime: { node: string; abi: string; platform: string; libc: string | null; uv: string; v8: string };
  binary: {
    path: string; origin: string | null; backend: string;
    /** On the JavaScript backend: why no native binary loaded. */
    fallbackReason: string | null;
    builtFor: { abi: number; uv: string; v8: string };
  } | null;
  /** Why no binary loaded. */
  error: { code: string | null; message: string } | null;
  loopClock: string | null;
  loopIdleRead: string | null;
  /** What loopTiming: 'totals' gets here: 'totals', or 'iteration' where libuv is older than 1.45. */
  loopTiming: string | null;
  checks: DoctorCheck[];
}

function libc(): string | null {
  if (process.platform !== 'linux') return null;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'not glibc (musl?)';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the checks (about half a second). */
export async function doctor(version: string): Promise<DoctorReport> {
  const report: DoctorReport = {
    ok: false,
    version,
    runtime: {
      node: process.version, abi: process.versions.modules, platform: `${process.platform}-${process.arch}`,
      libc: libc(), uv: process.versions.uv, v8: process.versions.v8,
    },
    binary: null,
    error: null,
    loopClock: null,
    loopIdleRead: null,
    loopTiming: null,
    checks: [],
  };
  let api: typeof Api;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded here so a failing native load is caught and reported
    api = require('./index') as typeof Api;
  } catch (e) {
    // The loader's error names every file it tried and why each was skipped.
    const err = e as Error & { code?: string };
    report.error = { code: err.code ?? null, message: err.message };
    return report;
  }
  const info = api.nativeInfo;
  report.ok = true;
  report.binary = {
    path: info.binaryPath, origin: info.binaryOrigin, backend: info.backend, fallbackReason: info.fallbackReason,
    builtFor: { abi: info.moduleVersion, uv: info.uvVersion, v8: info.v8Version },
  };
  const js = info.backend === 'js';
  const NEEDS_NATIVE = 'needs the native backend (nativeInfo.backend is js: no native binary loaded)';
  const check = (name: string, ok: boolean, detail: string): void => {
    report.checks.push({ name, ok, detail });
  };

  const thresholdMs = 50;
  let sampler: Api.Sampler;
  // The JavaScript backend has no watchdog (asking for one would only warn).
  let watchdogProblem: string | null = js ? NEEDS_NATIVE : null;
  try {
    sampler = new api.Sampler({ watchdog: js ? false : { thresholdMs } }).start();
  } catch (e) {
    watchdogProblem = (e as Error).message;
    sampler = new api.Sampler({ watchdog: false }).start();
  }
  try {
    // Garbage for a few scavenges, a file read through the threadpool (a loop event), and
    // the clock's calibration (~20 ms after the first start).
    let junk: object[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 20_000; i++) junk.push({ i });
      junk = [];
      await new Promise((r) => setImmediate(r));
    }
    await readFile(__filename);
    await sleep(30);
    for (let i = 0; i < 20 && sampler.loopClock === 'calibrating'; i++) await sleep(10);
    report.loopClock = sampler.loopClock;
    report.loopIdleRead = sampler.loopIdleRead;
    if (!js) {
      const probe = new api.Sampler({ watchdog: false, loopTiming: 'totals', v8Histograms: false, threadpoolProbeMs: 0 });
      try {
        report.loopTiming = probe.loopTiming;
      } finally {
        probe.close();
      }
    }
    // A blocked loop: the watchdog must see the stall while it is still going on.
    let seen = false;
    if (watchdogProblem === null) {
      const end = Date.now() + thresholdMs * 6;
      while (Date.now() < end && !seen) seen = sampler.read().stall.active === 1;
    }
    await sleep(10);
    sampler.refresh();
    const s = sampler.read();
    const gcSource = js ? 'PerformanceObserver gc entries' : 'GC callbacks';
    check('gc', s.gc.count > 0, s.gc.count > 0 ? `${gcSource}: ${s.gc.count} collections seen` : Number.isNaN(s.gc.count) ? 'this runtime reports no GCs' : 'no collection seen while garbage was made');
    check('v8Histograms', s.sampler.v8Histograms && s.sampler.v8HistogramSamples > 0,
      js ? NEEDS_NATIVE : !s.sampler.v8Histograms ? 'V8 did not take the histogram callbacks' : `V8's GC histograms: ${s.sampler.v8HistogramSamples} samples`);
    const spaces = Object.keys(s.heap.spaces);
    check('heapSpaces', spaces.length > 0, `${spaces.length} heap spaces: ${spaces.join(', ')}`);
    if (js) {
      check('loop', s.loop.busyNs > 0, s.loop.busyNs > 0
        ? `busy ${human(s.loop.busyNs, 'ns')}, idle ${human(s.loop.idleNs, 'ns')} from performance.eventLoopUtilization(); iteration timing ${NEEDS_NATIVE}`
        : 'no busy time seen (this runtime\'s eventLoopUtilization() reports none)');
    } else check('loop', s.loop.iterations > 0 && s.loop.busyNs > 0, `${s.loop.iterations} loop iterations timed (${report.loopClock} clock)`);
    check('loopEvents', info.uvMetricsInfo && s.loop.events > 0,
      js ? NEEDS_NATIVE : !info.uvMetricsInfo ? `the binary was built against libuv ${info.uvVersion}; loop event counts need libuv ≥ 1.45` : `uv_metrics_info: ${s.loop.events} events counted, ${s.loop.eventsPendingAtPoll} of them pending at poll`);
    check('watchdog', seen, watchdogProblem ?? (seen ? `a ${thresholdMs * 6} ms block was seen while it ran` : `a ${thresholdMs * 6} ms block was not seen`));
    check('openFds', s.process.openFds >= 0, s.process.openFds >= 0 ? `${s.process.openFds} open file descriptors` : 'not counted on this platform');
    check('publish', ...(js ? [false, NEEDS_NATIVE] as [boolean, string] : publishCheck(api)));
    check('process', s.process.rssBytes > 0 && s.process.cpuUserUs + s.process.cpuSystemUs > 0, `RSS ${human(s.process.rssBytes, 'By')}, CPU ${human(s.process.cpuUserUs + s.process.cpuSystemUs, 'us')}`);
  } finally {
    sampler.close();
  }
  return report;
}

/** Whether a sampler can be published here and read back through its file. */
function publishCheck(api: typeof Api): [boolean, string] {
  const dir = api.defaultPublishDir();
  let p: Api.Sampler | null = null;
  try {
    p = new api.Sampler({ publish: { dir } });
    if (p.publishedPath === null) return [false, `${dir}: ${p.publishError ?? 'refused'}`];
    const view = api.Sampler.open(p.publishedPath);
    view.read();
    view.close();
    const others = api.listPublished({ dir }).filter((e) => e.path !== p?.publishedPath);
    const alive = others.filter((e) => e.alive).length;
    return [true, `${dir}: readable from outside (${alive} other process${alive === 1 ? '' : 'es'} published, ${others.length - alive} dead)`];
  } catch (e) {
    return [false, `${dir}: ${(e as Error).message}`];
  } finally {
    p?.close();
  }
}

/** The report as lines for people. */
export function formatDoctor(r: DoctorReport): string {
  const rows: Array<[string, string]> = [
    ['node', `${r.runtime.node} (ABI ${r.runtime.abi}), ${r.runtime.platform}${r.runtime.libc ? `, ${r.runtime.libc}` : ''}`],
    ['libuv', r.runtime.uv + (r.binary?.path ? ` (binary built against ${r.binary.builtFor.uv})` : '')],
    ['V8', r.runtime.v8 + (r.binary?.path ? ` (binary built against ${r.binary.builtFor.v8})` : '')],
  ];
  if (r.binary) {
    rows.unshift(
      ['binary', r.binary.path || `none: ${r.binary.fallbackReason ?? 'no native binary loaded'}`],
      ['chosen as', r.binary.origin ?? '-'],
      ['backend', r.binary.backend === 'js' ? 'js (the JavaScript backend: perf_hooks, v8, process; fewer metrics)' : r.binary.backend],
    );
    rows.push(['loop clock', r.loopClock ?? '–']);
    rows.push(['idle read', r.loopIdleRead ?? '–']);
    rows.push(['loopTiming totals', r.loopTiming === null ? '–' : r.loopTiming === 'totals' ? 'available' : `not available (libuv ${process.versions.uv} < 1.45): iteration`]);
  } else {
    rows.unshift(['binary', 'none loads']);
  }
  let text = `runtime-sampler ${r.version} doctor\n${rows.map(([k, v]) => `  ${k.padEnd(11)} ${v}\n`).join('')}`;
  if (r.error) return `${text}\n${r.error.message}\n`;
  text += 'What the sampler measures here:\n';
  for (const c of r.checks) text += `  ${c.ok ? 'yes' : 'no '}  ${c.name.padEnd(13)} ${c.detail}\n`;
  return text;
}
