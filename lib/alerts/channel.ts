// What every alert channel shares: the alerts it has reported firing (so that shutdown()
// can resolve them), option checks, and the identity labels of this process.
import { hostname } from 'node:os';
import type { Alert } from '../analysis/watcher';
import { describeValue } from '../errors';
import { checkInteger, checkKnownOptions, checkObject } from '../options';
import { QueueSettings } from './queue';
import { ChannelName, DeliveryCounters } from './stats';

export type AlertStatus = 'firing' | 'resolved';

/** Who raised an alert: the labels every channel attaches. */
export interface AlertIdentity {
  job: string;
  instance: string;
  pid: string;
}

/**
 * The app's name from its command line ('node server.js --port 80' → 'server'), as a job
 * label reads; 'node' when there is no script (a REPL, -e).
 */
export function jobOf(title: string): string {
  const script = title.split(/\s+/).slice(1).find((t) => t !== '' && !t.startsWith('-'));
  const name = script === undefined ? '' : (script.split('/').pop() ?? '').replace(/\.[cm]?[jt]s$/, '');
  return name === '' ? 'node' : name;
}

export function defaultIdentity(job?: string): AlertIdentity {
  return { job: job ?? jobOf(['node', ...process.argv.slice(1)].join(' ')), instance: `${hostname()}:${process.pid}`, pid: String(process.pid) };
}

export interface ChannelStats extends DeliveryCounters {
  /** Notifications waiting to be sent (network channels). */
  queued: number;
  /** 1 while a notification is being sent or waits to be retried (network channels), else 0. */
  inFlight: number;
  /** Alerts this channel reported firing and has not resolved. */
  firing: number;
}

export abstract class AlertChannel {
  abstract readonly name: ChannelName;
  protected readonly firing = new Map<string, Alert>();
  protected closed = false;

  alert(a: Alert): void {
    if (this.closed) return;
    this.firing.set(a.name, a);
    this.deliver('firing', a, Date.now());
  }

  resolve(a: Alert): void {
    if (this.closed) return;
    this.firing.delete(a.name);
    this.deliver('resolved', a, Date.now());
  }

  /**
   * Resolves every alert still firing (reason 'shutdown'), then waits until what is queued
   * is delivered or `timeoutMs` has passed. Never rejects. Idempotent.
   */
  async shutdown(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    for (const a of this.firing.values()) this.deliver('resolved', { ...a, reason: 'shutdown' }, now);
    this.firing.clear();
    this.closed = true;
    await this.drain(timeoutMs);
  }

  /** Stops at once (timers, the queue); nothing more is sent. Idempotent. */
  close(): void {
    this.closed = true;
    this.stop();
  }

  abstract stats(): ChannelStats;
  protected abstract deliver(status: AlertStatus, a: Alert, atMs: number): void;
  protected abstract drain(timeoutMs: number): Promise<void>;
  protected abstract stop(): void;
}

/** Options every network channel takes. */
export interface NetworkChannelOptions {
  /** http:// or https:// URL. */
  url: string;
  /** Extra request headers (e.g. authorization), strings. */
  headers?: Record<string, string>;
  /** Per-request timeout, ms (100–60000, default 5000). */
  timeoutMs?: number;
  /** Notifications kept while one is in flight; past it the oldest is dropped (1–10000, default 100). */
  maxQueue?: number;
  /** Attempts per notification, the first included (1–10, default 5). */
  maxAttempts?: number;
  /** First backoff bound, ms: attempt n waits a random time below min(maxBackoffMs, backoffMs × 2^(n−1)) (10–60000, default 500). */
  backoffMs?: number;
  /** Largest backoff bound, ms (10–600000, default 30000). */
  maxBackoffMs?: number;
}

export const NETWORK_OPTIONS = ['url', 'headers', 'timeoutMs', 'maxQueue', 'maxAttempts', 'backoffMs', 'maxBackoffMs'];

/** A header name as RFC 9110 allows it (a token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Set by the channel itself. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'connection', 'host', 'transfer-encoding']);

export function checkUrl(option: string, value: unknown): URL {
  if (typeof value !== 'string') throw new TypeError(`${option} must be an http:// or https:// URL string, got ${describeValue(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RangeError(`${option} must be an http:// or https:// URL, got ${describeValue(value)} (not a URL)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RangeError(`${option} must be an http:// or https:// URL, got ${describeValue(value)} (protocol ${url.protocol})`);
  }
  return url;
}

/** Validates a network channel's options into queue settings (url not yet joined with a path). */
export function checkNetworkOptions(option: string, value: unknown, extra: readonly string[]): { o: Record<string, unknown>; settings: QueueSettings } {
  const o = checkObject(option, value, '{ url, headers?, timeoutMs?, maxQueue?, maxAttempts?, backoffMs?, maxBackoffMs? }');
  checkKnownOptions(option, o, [...NETWORK_OPTIONS, ...extra]);
  if (o.url === undefined) throw new TypeError(`${option}.url is required (an http:// or https:// URL)`);
  const url = checkUrl(`${option}.url`, o.url);
  const headers: Record<string, string> = {};
  if (o.headers !== undefined) {
    const h = checkObject(`${option}.headers`, o.headers, 'an object of header names to string values');
    for (const [k, v] of Object.entries(h)) {
      if (!HEADER_NAME.test(k)) throw new RangeError(`${option}.headers: ${JSON.stringify(k)} is not a valid header name`);
      if (RESERVED_HEADERS.has(k.toLowerCase())) throw new RangeError(`${option}.headers: ${JSON.stringify(k)} is set by the channel itself (it cannot be given)`);
      if (typeof v !== 'string') throw new TypeError(`${option}.headers.${k} must be a string, got ${describeValue(v)}`);
      // CR, LF or NUL would split the request (header injection).
      if (/[\r\n\0]/.test(v)) throw new RangeError(`${option}.headers.${k} must not contain CR, LF or NUL`);
      headers[k] = v;
    }
  }
  const int = (key: string, min: number, max: number, d: number): number => (o[key] === undefined ? d : checkInteger(`${option}.${key}`, o[key], min, max));
  const settings: QueueSettings = {
    url,
    headers,
    timeoutMs: int('timeoutMs', 100, 60_000, 5000),
    maxQueue: int('maxQueue', 1, 10_000, 100),
    maxAttempts: int('maxAttempts', 1, 10, 5),
    backoffMs: int('backoffMs', 10, 60_000, 500),
    maxBackoffMs: int('maxBackoffMs', 10, 600_000, 30_000),
  };
  if (settings.maxBackoffMs < settings.backoffMs) {
    throw new RangeError(`${option}.maxBackoffMs (${settings.maxBackoffMs}) must be at least backoffMs (${settings.backoffMs})`);
  }
  return { o, settings };
}

/** A number as an alert shows it (no 17-digit floats). */
export function formatValue(v: number): string {
  return Number.isInteger(v) || !Number.isFinite(v) ? String(v) : String(Number(v.toPrecision(6)));
}
