// The delivery queue of a network channel: JSON bodies POSTed one at a time, in order, to
// one URL. Everything is bounded: the queue (oldest dropped first: the newest state of an
// alert is worth more than an old one), each request's time and answer size, the attempts
// (exponential backoff with full jitter between them). Nothing here throws into the
// caller or keeps the process alive, except while shutdown() is awaited.
import { request as httpRequest, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { DeliveryCounters } from './stats';

export interface QueueSettings {
  url: URL;
  headers: Record<string, string>;
  timeoutMs: number;
  maxQueue: number;
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
}

/** Answers longer than this are cut: we read only the status. */
const MAX_ANSWER_BYTES = 64 * 1024;

export class DeliveryQueue {
  private readonly items: string[] = [];
  private busy = false;
  private closed = false;
  /** While shutdown() is awaited, sockets and timers keep the process alive. */
  private holding = false;
  private socket: Socket | null = null;
  private request: ReturnType<typeof httpRequest> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly what: string,
    private readonly s: QueueSettings,
    private readonly counters: DeliveryCounters,
    private readonly onError: (error: Error) => void,
  ) {}

  /** Notifications waiting (the one in flight not included). */
  get queued(): number {
    return this.items.length;
  }

  /** 1 while a notification is being sent or waits for its next attempt, else 0. */
  get inFlight(): number {
    return this.busy && !this.closed ? 1 : 0;
  }

  push(body: string): void {
    if (this.closed) {
      this.counters.dropped++;
      return;
    }
    if (this.items.length >= this.s.maxQueue) {
      this.items.shift();
      this.counters.dropped++;
    }
    this.items.push(body);
    if (!this.busy) this.next();
  }

  /**
   * Waits, keeping the process alive, until the queue is empty or `timeoutMs` has passed;
   * then stops: what is still queued is counted dropped. Resolves, never rejects.
   */
  drain(timeoutMs: number): Promise<void> {
    this.holding = true;
    this.socket?.ref();
    this.retryTimer?.ref();
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(deadline);
        this.close();
        resolve();
      };
      const deadline = setTimeout(finish, timeoutMs);
      if (!this.busy && this.items.length === 0) finish();
      else this.idleWaiters.push(finish);
    });
  }

  /** Stops at once: queued notifications are counted dropped, the one in flight is aborted. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.counters.dropped += this.items.length;
    this.items.length = 0;
    if (this.retryTimer !== null) {
      // The notification waiting for its next attempt.
      clearTimeout(this.retryTimer);
      this.counters.dropped++;
    }
    this.retryTimer = null;
    this.request?.destroy();
    this.holding = false;
  }

  private next(): void {
    const body = this.items.shift();
    if (body === undefined || this.closed) {
      this.busy = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
      return;
    }
    this.busy = true;
    this.attempt(body, 1);
  }

  private attempt(body: string, n: number): void {
    this.post(body, (error, retryable) => {
      if (error === null) {
        this.counters.sent++;
        this.next();
        return;
      }
      if (this.closed) {
        // Aborted by close() (or shutdown's deadline): not the receiver's failure.
        this.counters.dropped++;
        this.next();
        return;
      }
      if (retryable && n < this.s.maxAttempts) {
        this.counters.retries++;
        // Full jitter: a fleet whose alert endpoint went down does not come back in step.
        const cap = Math.min(this.s.maxBackoffMs, this.s.backoffMs * 2 ** (n - 1));
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.attempt(body, n + 1);
        }, Math.random() * cap);
        if (!this.holding) this.retryTimer.unref();
        return;
      }
      this.counters.failed++;
      this.onError(new Error(`${this.what}: ${error.message}${n > 1 ? ` (after ${n} attempts)` : ''}`));
      this.next();
    });
  }

  private post(body: string, done: (error: Error | null, retryable: boolean) => void): void {
    let settled = false;
    const settle = (error: Error | null, retryable: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.socket = null;
      this.request = null;
      done(error, retryable);
    };
    const url = this.s.url;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let req: ReturnType<typeof httpRequest>;
    try {
      req = send(url, {
        method: 'POST',
        // A connection per notification: alerts are rare, and no idle socket outlives one.
        agent: false,
        headers: { ...this.s.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' },
      });
    } catch (e) {
      // Before any timer exists: nothing to clear.
      setImmediate(() => done(e as Error, false));
      return;
    }
    this.request = req;
    const timer = setTimeout(() => {
      settle(new Error(`no answer within ${this.s.timeoutMs} ms`), true);
      req.destroy();
    }, this.s.timeoutMs);
    if (!this.holding) timer.unref();
    req.on('socket', (socket: Socket) => {
      this.socket = socket;
      if (!this.holding) socket.unref();
    });
    req.on('error', (e) => settle(e, true));
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_ANSWER_BYTES) res.destroy();
      });
      res.on('error', () => {});
      res.on('close', () => {
        if (status >= 200 && status < 300) settle(null, false);
        // 408 and 429 say "later"; other 4xx say the notification itself is refused.
        else settle(new Error(`answered HTTP ${status}`), status >= 500 || status === 408 || status === 429);
        req.destroy();
      });
      res.resume();
    });
    req.end(body);
  }
}
