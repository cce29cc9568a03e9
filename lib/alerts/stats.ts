// Delivery counters of the alert channels, per process (per thread: the preload's channels
// run in the monitor thread, which also serves /metrics). A module-level registry, so a
// Snapshot can expose them as self-metrics without the channels knowing about samplers.

/** The channels, in the order the catalog's `channel` attribute lists them. */
export const CHANNEL_NAMES = ['alertmanager', 'webhook', 'log'] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

export interface DeliveryCounters {
  /** Notifications delivered (a 2xx answer; for the log channel, a line written). */
  sent: number;
  /** Notifications given up on: a permanent error (4xx), or every attempt failed. */
  failed: number;
  /** Notifications discarded unsent because the channel's queue was full. */
  dropped: number;
  /** Attempts repeated after a timeout, a connection error, a 5xx, 408 or 429. */
  retries: number;
}

const totals: Record<ChannelName, DeliveryCounters> = {
  alertmanager: { sent: 0, failed: 0, dropped: 0, retries: 0 },
  webhook: { sent: 0, failed: 0, dropped: 0, retries: 0 },
  log: { sent: 0, failed: 0, dropped: 0, retries: 0 },
};

/** @internal The live counters of a channel kind (every channel of that kind adds to them). */
export function deliveryCounters(name: ChannelName): DeliveryCounters {
  return totals[name];
}

/** A copy of every channel kind's counters in this thread. */
export function deliveryTotals(): Record<ChannelName, DeliveryCounters> {
  return {
    alertmanager: { ...totals.alertmanager },
    webhook: { ...totals.webhook },
    log: { ...totals.log },
  };
}
