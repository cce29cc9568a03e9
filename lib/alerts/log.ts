// The log channel: one structured record per alert and resolution — a JSON line on stderr,
// or an object handed to the app's logger (a function, or a pino/winston-like object:
// firing → logger.warn(record), resolved → logger.info(record)).
import type { Alert } from '../analysis/watcher';
import { describeValue } from '../errors';
import { checkKnownOptions, checkObject } from '../options';
import { AlertChannel, AlertIdentity, AlertStatus, ChannelStats } from './channel';
import { deliveryCounters } from './stats';

type LogFunction = (record: object) => unknown;
interface LevelLogger {
  warn(record: object): unknown;
  info(record: object): unknown;
}

export interface LogChannelOptions {
  /** Where records go (default: a JSON line on process.stderr). */
  logger?: LogFunction | LevelLogger;
}

export class LogChannel extends AlertChannel {
  readonly name = 'log' as const;
  private readonly logger: LogFunction | LevelLogger | null;

  constructor(options: unknown, private readonly identity: AlertIdentity, private readonly onError: (e: Error) => void) {
    super();
    const o = options === true ? {} : checkObject('channels.log', options, 'true or { logger? }');
    checkKnownOptions('channels.log', o, ['logger']);
    const logger = o.logger;
    if (logger === undefined) this.logger = null;
    else if (typeof logger === 'function') this.logger = logger as LogFunction;
    else if (logger !== null && typeof logger === 'object' && typeof (logger as LevelLogger).warn === 'function' && typeof (logger as LevelLogger).info === 'function') {
      this.logger = logger as LevelLogger;
    } else {
      throw new TypeError(`channels.log.logger must be a function or an object with warn() and info() (pino, winston), got ${describeValue(logger)}`);
    }
  }

  stats(): ChannelStats {
    return { ...deliveryCounters('log'), queued: 0, inFlight: 0, firing: this.firing.size };
  }

  protected deliver(status: AlertStatus, a: Alert, atMs: number): void {
    const counters = deliveryCounters('log');
    const message = `runtime-sampler alert ${a.name} ${status}: ${a.summary}`;
    // msg for pino, message for winston and most JSON log tooling.
    const record = {
      level: status === 'firing' ? (a.severity === 'info' ? 'info' : 'warn') : 'info', time: new Date(atMs).toISOString(), msg: message, message,
      status, job: this.identity.job, instance: this.identity.instance, pid: Number(this.identity.pid), alert: a,
    };
    try {
      const l = this.logger;
      if (l === null) process.stderr.write(`${JSON.stringify(record)}\n`);
      else if (typeof l === 'function') l(record);
      else if (status === 'firing') l.warn(record);
      else l.info(record);
      counters.sent++;
    } catch (e) {
      // The app's logger failing must not fail the app's watcher.
      counters.failed++;
      this.onError(new Error(`log channel: the logger threw (${(e as Error)?.message ?? describeValue(e)})`));
    }
  }

  protected drain(): Promise<void> {
    return Promise.resolve();
  }

  protected stop(): void {}
}
