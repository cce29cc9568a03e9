// Prometheus Alertmanager: alerts POSTed to its v2 API (/api/v2/alerts) as postable alerts.
// Alertmanager resolves an alert by itself once its endsAt passes, and a firing alert sent
// without endsAt gets now + resolve_timeout (5 minutes by default): so firing alerts are
// re-sent every resendMs (as Prometheus does), and a resolution carries endsAt = now.
import type { Alert } from '../analysis/watcher';
import { checkInteger, checkObject, checkString } from '../options';
import { AlertChannel, AlertIdentity, AlertStatus, ChannelStats, checkNetworkOptions, formatValue, NetworkChannelOptions } from './channel';
import { DeliveryQueue, QueueSettings } from './queue';
import { deliveryCounters } from './stats';

export interface AlertmanagerChannelOptions extends NetworkChannelOptions {
  /** The Alertmanager's base URL, e.g. http://alertmanager:9093 (alerts go to /api/v2/alerts under it). */
  url: string;
  /** How often alerts still firing are sent again, ms (1000–3600000, default 60000; keep it below resolve_timeout). */
  resendMs?: number;
  /** Labels added to every alert (override job and instance here). */
  labels?: Record<string, string>;
  /** Where a person can see the alert: generatorURL of every alert (the preload sets its monitor's /alerts). */
  generatorURL?: string;
}

/** The Prometheus label name syntax. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Resolved {
  settings: QueueSettings;
  resendMs: number;
  labels: Record<string, string>;
  generatorURL: string | null;
}

export function resolveAlertmanagerOptions(value: unknown): Resolved {
  const { o, settings } = checkNetworkOptions('channels.alertmanager', value, ['resendMs', 'labels', 'generatorURL']);
  const base = settings.url.href.replace(/\/+$/, '');
  const url = new URL(`${base}/api/v2/alerts`);
  const labels: Record<string, string> = {};
  if (o.labels !== undefined) {
    for (const [k, v] of Object.entries(checkObject('channels.alertmanager.labels', o.labels, 'an object of label names to string values'))) {
      if (!LABEL_NAME.test(k)) throw new RangeError(`channels.alertmanager.labels: ${JSON.stringify(k)} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)`);
      labels[k] = checkString(`channels.alertmanager.labels.${k}`, v);
    }
  }
  let generatorURL: string | null = null;
  if (o.generatorURL !== undefined) generatorURL = checkString('channels.alertmanager.generatorURL', o.generatorURL, /^https?:\/\/\S+$/, 'an http:// or https:// URL');
  const resendMs = o.resendMs === undefined ? 60_000 : checkInteger('channels.alertmanager.resendMs', o.resendMs, 1000, 3_600_000);
  return { settings: { ...settings, url }, resendMs, labels, generatorURL };
}

export class AlertmanagerChannel extends AlertChannel {
  readonly name = 'alertmanager' as const;
  /** Where a person can see the alerts (the monitor's /alerts); settable once it is known. */
  generatorURL: string | null;
  private readonly queue: DeliveryQueue;
  private readonly labels: Record<string, string>;
  private readonly resendTimer: NodeJS.Timeout;

  constructor(options: unknown, identity: AlertIdentity, onError: (e: Error) => void) {
    super();
    const r = resolveAlertmanagerOptions(options);
    this.labels = { job: identity.job, instance: identity.instance, pid: identity.pid, ...r.labels };
    this.generatorURL = r.generatorURL;
    this.queue = new DeliveryQueue(`alertmanager ${r.settings.url.href}`, r.settings, deliveryCounters('alertmanager'), onError);
    this.resendTimer = setInterval(() => this.resend(), r.resendMs).unref();
  }

  stats(): ChannelStats {
    return { ...deliveryCounters('alertmanager'), queued: this.queue.queued, inFlight: this.queue.inFlight, firing: this.firing.size };
  }

  protected deliver(status: AlertStatus, a: Alert, atMs: number): void {
    this.queue.push(JSON.stringify([this.postable(a, status === 'resolved' ? atMs : null)]));
  }

  protected drain(timeoutMs: number): Promise<void> {
    clearInterval(this.resendTimer);
    return this.queue.drain(timeoutMs);
  }

  protected stop(): void {
    clearInterval(this.resendTimer);
    this.queue.close();
  }

  private resend(): void {
    // One POST for all of them: what is still queued already says they fire.
    if (this.closed || this.firing.size === 0) return;
    this.queue.push(JSON.stringify([...this.firing.values()].map((a) => this.postable(a, null))));
  }

  private postable(a: Alert, endsAtMs: number | null): object {
    const p: Record<string, unknown> = {
      labels: { ...this.labels, alertname: a.name, severity: a.severity, group: a.group, metric: a.metric },
      annotations: {
        summary: a.summary,
        description: `${a.metric} (${a.condition}) is ${formatValue(a.value)}, threshold ${formatValue(a.threshold)}, since ${new Date(a.activeSince).toISOString()}${a.reason !== undefined ? `; resolved: ${a.reason}` : ''}`,
        value: formatValue(a.value),
      },
      startsAt: new Date(a.firedAt).toISOString(),
    };
    if (endsAtMs !== null) p.endsAt = new Date(endsAtMs).toISOString();
    if (this.generatorURL !== null) p.generatorURL = this.generatorURL;
    return p;
  }
}
