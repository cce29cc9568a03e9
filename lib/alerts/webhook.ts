// A webhook: one JSON POST per alert and per resolution, to a URL of the user's.
import type { Alert } from '../analysis/watcher';
import { AlertChannel, AlertIdentity, AlertStatus, ChannelStats, checkNetworkOptions, NetworkChannelOptions } from './channel';
import { DeliveryQueue } from './queue';
import { deliveryCounters } from './stats';

export type WebhookChannelOptions = NetworkChannelOptions;

/** What a webhook receives (the body of each POST). */
export interface WebhookPayload {
  status: AlertStatus;
  /** When this notification was made (ISO 8601). */
  time: string;
  job: string;
  instance: string;
  pid: number;
  alert: Alert;
}

export class WebhookChannel extends AlertChannel {
  readonly name = 'webhook' as const;
  private readonly queue: DeliveryQueue;

  constructor(options: unknown, private readonly identity: AlertIdentity, onError: (e: Error) => void) {
    super();
    const { settings } = checkNetworkOptions('channels.webhook', options, []);
    this.queue = new DeliveryQueue(`webhook ${settings.url.origin}${settings.url.pathname}`, settings, deliveryCounters('webhook'), onError);
  }

  stats(): ChannelStats {
    return { ...deliveryCounters('webhook'), queued: this.queue.queued, inFlight: this.queue.inFlight, firing: this.firing.size };
  }

  protected deliver(status: AlertStatus, a: Alert, atMs: number): void {
    const payload: WebhookPayload = {
      status, time: new Date(atMs).toISOString(), job: this.identity.job, instance: this.identity.instance, pid: Number(this.identity.pid), alert: a,
    };
    this.queue.push(JSON.stringify(payload));
  }

  protected drain(timeoutMs: number): Promise<void> {
    return this.queue.drain(timeoutMs);
  }

  protected stop(): void {
    this.queue.close();
  }
}
