// The preload registration's shutdown(): what the app calls from its own SIGTERM handler
// (the library installs none: how the app exits stays the app's choice). Everything the
// preload started stops, in a bounded time, and nothing here can reject or throw into the
// handler once it runs: a failure is one line on stderr, like the preload's other warnings.
import type { Sampler } from '../sampler';
import type { MonitorThread } from './monitor';
import { SamplerError } from '../errors';
import { checkFunction, checkInteger, checkKnownOptions, checkOptionsObject, checkString } from '../options';

export interface ShutdownOptions {
  /**
   * The longest shutdown() waits for the monitor thread and the shutdown hooks, ms: an
   * integer from 1 to 600000 (default 5000). The sampler is closed when it runs out anyway.
   */
  timeoutMs?: number;
}

/** A function shutdown() awaits before it closes the sampler, e.g. an alert channel's final send. */
export type ShutdownHook = () => unknown;

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000;
const MAX_SHUTDOWN_TIMEOUT_MS = 600_000;

export interface Shutdown {
  shutdown(options?: ShutdownOptions): Promise<void>;
  addShutdownHook(name: string, hook: ShutdownHook): void;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The shutdown of what the preload started: the hooks (alert channels' final sends) and the
 * monitor thread in parallel, bounded by timeoutMs, then the sampler (which removes its
 * published file).
 */
export function createShutdown(sampler: Sampler, monitor: Promise<MonitorThread | null>, warn: (message: string) => void): Shutdown {
  const hooks: { name: string; hook: ShutdownHook }[] = [];
  let running: Promise<void> | null = null;

  async function run(timeoutMs: number): Promise<void> {
    const pending = new Set<string>();
    const task = (name: string, work: () => unknown): Promise<void> => {
      pending.add(name);
      return Promise.resolve()
        .then(work)
        .then(
          () => void pending.delete(name),
          (e: unknown) => {
            pending.delete(name);
            warn(`shutdown: ${name} failed (${message(e)})`);
          },
        );
    };
    const tasks = [
      ...hooks.map(({ name, hook }) => task(name, hook)),
      task('the monitor thread', () => monitor.then((m) => m?.close())),
    ];
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
      // Awaiting shutdown() must not be what keeps a process alive that has nothing else to do.
      timer.unref();
    });
    const late = await Promise.race([Promise.all(tasks).then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) warn(`shutdown: gave up after ${timeoutMs} ms waiting for ${[...pending].join(', ')}`);
    try {
      sampler.close();
    } catch (e) {
      warn(`shutdown: closing the sampler failed (${message(e)})`);
    }
  }

  return {
    shutdown(options?: ShutdownOptions): Promise<void> {
      const o = checkOptionsObject('shutdown()', options);
      checkKnownOptions('shutdown()', o, ['timeoutMs']);
      const timeoutMs = o.timeoutMs === undefined ? DEFAULT_SHUTDOWN_TIMEOUT_MS : checkInteger('timeoutMs', o.timeoutMs, 1, MAX_SHUTDOWN_TIMEOUT_MS);
      running ??= run(timeoutMs).catch((e: unknown) => warn(`shutdown failed (${message(e)})`));
      return running;
    },
    addShutdownHook(name: string, hook: ShutdownHook): void {
      checkString('name', name, /^.{1,100}$/su, 'a description of 1 to 100 characters (it names the hook in warnings)');
      checkFunction<ShutdownHook>('hook', hook);
      if (running !== null) throw new SamplerError('addShutdownHook(): shutdown() has already run', 'ERR_SAMPLER_CLOSED');
      hooks.push({ name, hook });
    },
  };
}
