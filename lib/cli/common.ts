// What the commands share: the usage error (exit code 2), output, and the parsing of the
// arguments the published-process commands take. Nothing here loads the native binding, so
// `--help` and usage errors work where no binary loads.
import { parseDuration } from '../duration';
import { printable } from '../format';

/** A usage error: the command line is wrong (exit code 2, with a pointer to --help). */
export class UsageError extends Error {}

export function out(s: string): void {
  process.stdout.write(s);
}

/** A title, path or message from another process's file, as one table cell: printable, one line. */
export function cell(s: string, max = 300): string {
  return printable(s, max).replace(/\s/g, ' ');
}

/** A pid on the command line. */
export function parsePid(cmd: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`${cmd}: which process? give its pid (runtime-sampler ps lists them)`);
  const n = /^[0-9]{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 0x7fffffff)) throw new UsageError(`${cmd}: pid ${JSON.stringify(value)} is not accepted: a process id, an integer from 1 to 2147483647`);
  return n;
}

/** --thread on the command line: a worker threadId (0, the main thread, when absent). */
export function parseThread(cmd: string, value: string | undefined): number {
  if (value === undefined) return 0;
  const n = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${cmd}: --thread ${JSON.stringify(value)} is not accepted: a worker threadId, an integer ≥ 0 (0: the main thread)`);
  return n;
}

/** Interval bounds of top and stat, ms. */
export const INTERVAL_MIN_MS = 100;
export const INTERVAL_MAX_MS = 3_600_000;

/** An interval: milliseconds as a plain number (as jstat takes it), or with a unit (500ms, 2s, 1m). */
export function parseIntervalMs(cmd: string, what: string, value: string): number {
  try {
    if (value.trim() !== value) throw new TypeError('surrounding spaces');
    return parseDuration(what, /^[0-9]+$/.test(value) ? Number(value) : value, INTERVAL_MIN_MS, INTERVAL_MAX_MS);
  } catch {
    throw new UsageError(`${cmd}: ${what} ${JSON.stringify(value)} is not accepted: milliseconds from ${INTERVAL_MIN_MS} to ${INTERVAL_MAX_MS}, as a number (500) or with a unit (500ms, 2s, 1m)`);
  }
}

/** A count of lines or refreshes: an integer from 1 to 2^31 − 1. */
export function parseCount(cmd: string, what: string, value: string): number {
  const n = /^[0-9]{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 0x7fffffff)) throw new UsageError(`${cmd}: ${what} ${JSON.stringify(value)} is not accepted: an integer from 1 to 2147483647`);
  return n;
}

/** --dir on the command line (undefined: the default directory). */
export function parseDir(cmd: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value === '' || value.includes('\0')) throw new UsageError(`${cmd}: --dir ${JSON.stringify(value)} is not accepted: a directory path`);
  return value;
}

/** Where published files are looked for, as the help texts say it. */
export const DIR_HELP = `  --dir <dir>         where published samplers are (default: $RUNTIME_SAMPLER_DIR, else
                      $XDG_RUNTIME_DIR/runtime-sampler, else /dev/shm/runtime-sampler-<uid>)`;

/** Sleeps `ms`, until `stop()`; once stopped, every sleep returns at once. */
export function sleeper(): { sleep(ms: number): Promise<void>; stop(): void; readonly stopped: boolean } {
  let timer: NodeJS.Timeout | undefined;
  let resolveSleep: (() => void) | null = null;
  let stopped = false;
  return {
    sleep(ms: number): Promise<void> {
      if (stopped) return Promise.resolve();
      return new Promise((resolve) => {
        resolveSleep = resolve;
        timer = setTimeout(resolve, Math.max(0, ms));
      });
    },
    stop(): void {
      stopped = true;
      clearTimeout(timer);
      resolveSleep?.();
    },
    get stopped(): boolean {
      return stopped;
    },
  };
}
