// Alert channels: watch(sampler, { channels }) hands each alert and resolution to them.
import type { Alert } from '../analysis/watcher';
import { checkKnownOptions, checkObject, checkString } from '../options';
import { AlertmanagerChannel, AlertmanagerChannelOptions } from './alertmanager';
import { AlertChannel, AlertIdentity, ChannelStats, defaultIdentity } from './channel';
export { jobOf } from './channel';
import { LogChannel, LogChannelOptions } from './log';
import { ChannelName } from './stats';
import { WebhookChannel, WebhookChannelOptions } from './webhook';

export interface ChannelsOptions {
  /** The job label of every alert (default: the app's script name, e.g. 'server' for node server.js). */
  job?: string;
  alertmanager?: AlertmanagerChannelOptions;
  webhook?: WebhookChannelOptions;
  /** true: JSON lines on stderr; { logger }: to the app's logger. */
  log?: true | LogChannelOptions;
}

export type { AlertmanagerChannelOptions, WebhookChannelOptions, LogChannelOptions, ChannelStats, AlertIdentity };

/** The channels of one watcher. */
export class AlertChannels {
  /** @internal */
  constructor(readonly list: readonly AlertChannel[]) {}

  alert(a: Alert): void {
    for (const c of this.list) c.alert(a);
  }

  resolve(a: Alert): void {
    for (const c of this.list) c.resolve(a);
  }

  stats(): Partial<Record<ChannelName, ChannelStats>> {
    const out: Partial<Record<ChannelName, ChannelStats>> = {};
    for (const c of this.list) out[c.name] = c.stats();
    return out;
  }

  shutdown(timeoutMs: number): Promise<void> {
    return Promise.all(this.list.map((c) => c.shutdown(timeoutMs))).then(() => undefined);
  }

  close(): void {
    for (const c of this.list) c.close();
  }
}

/**
 * Validates `options` (every channel's, before any starts) and builds the channels.
 * `onError` gets delivery failures (never thrown).
 */
export function createChannels(options: unknown, onError: (e: Error) => void): AlertChannels {
  const o = checkObject('channels', options, 'an object of { alertmanager?, webhook?, log?, job? }');
  checkKnownOptions('channels', o, ['alertmanager', 'webhook', 'log', 'job']);
  const job = o.job === undefined ? undefined : checkString('channels.job', o.job, /^\S{1,128}$/, 'a name of 1 to 128 characters without spaces');
  const identity = defaultIdentity(job);
  const list: AlertChannel[] = [];
  try {
    if (o.alertmanager !== undefined) list.push(new AlertmanagerChannel(o.alertmanager, identity, onError));
    if (o.webhook !== undefined) list.push(new WebhookChannel(o.webhook, identity, onError));
    if (o.log !== undefined && o.log !== false) list.push(new LogChannel(o.log, identity, onError));
  } catch (e) {
    for (const c of list) c.close();
    throw e;
  }
  return new AlertChannels(list);
}
