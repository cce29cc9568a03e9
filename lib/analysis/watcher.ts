// Watchers: rules evaluated on every history sample, emitting `alert` when a rule has held
// for its `for` duration and `resolve` when it stops holding (past its hysteresis band).
// Each alert is emitted once while it lasts; of the rules in one group only the most
// severe firing one is reported (a critical supersedes its warning).
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { Snapshot } from '../snapshot';
import { onOwnThread } from './diagnose';
import type { History } from './history';
// Defines sampler.history (a history attaches to a sampler): loaded wherever one is read.
import './history';
import { detectLeak, LeakOptions, LeakReport, resolveLeakOptions } from './leak';
import { buildForecast, containerUsed, FORECAST_CONFIDENCE, MemoryForecast } from './forecast';
import { ANOMALY_RULES, BUILTIN_RULES, isCounter, isNanoseconds, parseDuration, readPath, resolveRules, Rule, RuleDefinition, Severity, SEVERITY_RANK } from './rules';
import { AnomalyBaseline, AnomalyCheck, CurrentAnomaly, registerAnomalies } from './anomaly';
import { trend } from './stats';
import { closedError, describeValue, SamplerError } from '../errors';
import { checkKnownOptions, checkObject } from '../options';
import { AlertChannels, ChannelsOptions, ChannelStats, createChannels } from '../alerts';
import type { ChannelName } from '../alerts/stats';

export interface Alert {
  /** The rule's name. */
  name: string;
  severity: Severity;
  metric: string;
  condition: Rule['condition'];
  /** The value that made it fire (or, on resolve, the value that resolved it). */
  value: number;
  threshold: number;
  summary: string;
  group: string;
  /** When the condition began to hold (Date.now() ms), and when the alert fired. */
  activeSince: number;
  firedAt: number;
  /**
   * On resolve: 'cleared' (the condition ended) or 'superseded' (a more severe rule of its
   * group fired); 'shutdown' in the final resolutions a channel sends on shutdown().
   */
  reason?: 'cleared' | 'superseded' | 'shutdown';
  /**
   * Anomaly rules: the baseline the value was judged against (`threshold` is then the
   * band's edge on the value's side: median ± sensitivity × deviation unit).
   */
  baseline?: { median: number; mad: number; deviations: number };
}

export interface ActionEvent {
  action: 'heap-snapshot';
  /** The alert that triggered it. */
  rule: string;
  /** The file written. */
  path?: string;
  /** Why it failed, when it did. */
  error?: Error;
}

export interface WatchOptions {
  /**
   * The rules (default BUILTIN_RULES; with a history shorter than a built-in rule's
   * window, that rule's window is the whole history).
   */
  rules?: readonly RuleDefinition[];
  /** Leak-detection settings for leak.* metrics. */
  leak?: LeakOptions;
  /**
   * Opt-in: write one heap snapshot (v8.writeHeapSnapshot) into `dir` the first time one
   * of `rules` fires (default ['NodeHeapAtLimit']). Once per watcher; only on the
   * sampler's own thread. Nothing else is changed: no GC setting, no flag.
   */
  heapSnapshot?: { dir: string; rules?: string[] };
  /** Also evaluate ANOMALY_RULES (after `rules`; default false). */
  anomaly?: boolean;
  /**
   * Where alerts and resolutions are delivered (see "Alert delivery" in the README):
   * Alertmanager, a webhook, a log. Delivery never throws into the app; failures are
   * counted (channelStats(), the alerts.* self-metrics) and emitted as 'error' when the
   * watcher has an 'error' listener.
   */
  channels?: ChannelsOptions;
}

interface RuleState {
  rule: Rule;
  /** 0 inactive, 1 pending, 2 firing. */
  state: 0 | 1 | 2;
  pendingSinceNs: number;
  activeSince: number;
  firedAt: number;
  value: number;
  /** Whether its alert is reported (emitted and not resolved). */
  reported: boolean;
  /** Anomaly rules: the metric's baseline and the last judgement against it. */
  baseline: AnomalyBaseline | null;
  check: AnomalyCheck | null;
}

/** What a watcher watches: a Sampler or a SamplerView. */
export interface Watchable {
  readonly closed: boolean;
  readonly history: History;
  readonly threadId: number;
  read(into?: Snapshot): Snapshot;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- only retypes on/once/off, which EventEmitter implements
export interface Watcher {
  on(event: 'alert', listener: (alert: Alert) => void): this;
  on(event: 'resolve', listener: (alert: Alert) => void): this;
  on(event: 'action', listener: (event: ActionEvent) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  once(event: 'alert' | 'resolve', listener: (alert: Alert) => void): this;
  off(event: string, listener: (...args: never[]) => void): this;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class Watcher extends EventEmitter {
  readonly rules: readonly Rule[];
  private readonly states: RuleState[];
  private readonly history: History;
  private readonly leakOptions: Required<LeakOptions>;
  private leakCache: { key: string; report: LeakReport } | null = null;
  private forecastCache: { key: string; forecast: MemoryForecast } | null = null;
  private readonly snapshotDir: string | null;
  private readonly snapshotRules: Set<string>;
  private snapshotTaken = false;
  private unsubscribe: (() => void) | null;
  private unregister: () => void;
  /** @internal The delivery channels (null: none configured). */
  readonly channels: AlertChannels | null;

  /** @internal Use watch(). */
  constructor(private readonly source: Watchable, options: WatchOptions = {}) {
    super();
    if (source === null || typeof source !== 'object' || typeof source.read !== 'function' || !('history' in source)) {
      throw new TypeError(`watch(sampler): sampler must be a Sampler or a SamplerView, got ${describeValue(source)}`);
    }
    if (source.closed) throw closedError();
    checkObject('watch(sampler, options): options', options);
    checkKnownOptions('watch', options, ['rules', 'leak', 'heapSnapshot', 'anomaly', 'channels']);
    if (options.anomaly !== undefined && typeof options.anomaly !== 'boolean') {
      throw new TypeError(`watch: anomaly must be true or false (whether to add ANOMALY_RULES), got ${describeValue(options.anomaly)}`);
    }
    this.history = source.history;
    this.leakOptions = resolveLeakOptions(options.leak);
    const span = this.history.spanMs;
    // The built-in rules' windows (5 and 10 minutes) shrink to a shorter history's span.
    const fit = (r: Readonly<RuleDefinition>): RuleDefinition => (r.window !== undefined && parseDuration('window', r.window) > span ? { ...r, window: span } : r);
    const defs = options.rules ?? BUILTIN_RULES.map(fit);
    this.rules = Object.freeze(resolveRules(options.anomaly === true ? [...defs, ...ANOMALY_RULES.map(fit)] : defs, this.history.latest(), span));
    const intervalMs = this.history.intervalMs;
    this.states = this.rules.map((rule) => ({
      rule, state: 0, pendingSinceNs: 0, activeSince: 0, firedAt: 0, value: NaN, reported: false,
      baseline: rule.anomaly === null ? null : new AnomalyBaseline(rule.anomaly, intervalMs), check: null,
    }));
    const hs = options.heapSnapshot;
    if (hs === undefined) {
      this.snapshotDir = null;
      this.snapshotRules = new Set();
    } else {
      checkObject('heapSnapshot', hs, 'an object of { dir, rules }');
      checkKnownOptions('heapSnapshot', hs, ['dir', 'rules']);
      if (typeof hs.dir !== 'string' || hs.dir === '') {
        throw new TypeError(`heapSnapshot.dir must be a directory path, got ${describeValue(hs.dir)}`);
      }
      const dir = resolvePath(hs.dir);
      try {
        if (!statSync(dir).isDirectory()) throw new Error('not a directory');
        accessSync(dir, fsConstants.W_OK);
      } catch (cause) {
        throw new SamplerError(`heapSnapshot.dir ${JSON.stringify(hs.dir)} must be an existing, writable directory (${(cause as Error).message})`, 'ERR_SAMPLER_DIRECTORY', { cause });
      }
      const names = hs.rules ?? ['NodeHeapAtLimit'];
      if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string')) {
        throw new TypeError(`heapSnapshot.rules must be a non-empty array of rule names, got ${describeValue(names)}`);
      }
      for (const n of names) {
        if (!this.rules.some((r) => r.name === n)) {
          throw new RangeError(`heapSnapshot.rules: no rule named ${JSON.stringify(n)} in this watcher (rules: ${this.rules.map((r) => r.name).join(', ')})`);
        }
      }
      if (!onOwnThread(source)) {
        throw new SamplerError('heapSnapshot: a heap snapshot can only be written on the sampler\'s own thread (a watcher of a Sampler, not of a SamplerView)', 'ERR_SAMPLER_INCOMPATIBLE');
      }
      this.snapshotDir = dir;
      this.snapshotRules = new Set(names);
    }
    // Built last: a channel starts a timer, which nothing would stop if a check above threw.
    // A delivery failure is never thrown; without a listener an 'error' event would be.
    this.channels = options.channels === undefined ? null : createChannels(options.channels, (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
    this.unsubscribe = this.history.onSample((snap) => this.evaluate(snap));
    this.unregister = this.rules.some((r) => r.anomaly !== null) ? registerAnomalies(this.history, () => this.anomalies()) : () => {};
  }

  /** Each channel's delivery counters (this watcher's channels; the counters are per process and thread). */
  channelStats(): Partial<Record<ChannelName, ChannelStats>> {
    return this.channels === null ? {} : this.channels.stats();
  }

  /**
   * Stops evaluating, sends every channel's final resolutions for the alerts still firing,
   * and waits until the channels' queues are delivered or `timeoutMs` (default 5000) has
   * passed. Never rejects. Installs no signal handler: call it from yours.
   */
  shutdown(timeoutMs = 5000): Promise<void> {
    // Thrown, not rejected: a bad argument is the caller's mistake, seen where it is made.
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0 && timeoutMs <= 600_000)) {
      throw new RangeError(`shutdown(timeoutMs): timeoutMs must be a number from 0 to 600000, got ${describeValue(timeoutMs)}`);
    }
    this.stopEvaluating();
    return this.channels === null ? Promise.resolve() : this.channels.shutdown(timeoutMs);
  }

  /** Whether it still evaluates (close() or its sampler's close() ends it). */
  get active(): boolean {
    return this.unsubscribe !== null && !this.source.closed;
  }

  /** The alerts reported now (fired, not resolved, not superseded), most severe first. */
  alerts(): Alert[] {
    return this.states
      .filter((s) => s.reported)
      .sort((a, b) => SEVERITY_RANK[b.rule.severity] - SEVERITY_RANK[a.rule.severity])
      .map((s) => this.alertOf(s));
  }

  /** Every rule with its state and last value. */
  status(): Array<{ name: string; state: 'inactive' | 'pending' | 'firing'; value: number; reported: boolean }> {
    return this.states.map((s) => ({ name: s.rule.name, state: (['inactive', 'pending', 'firing'] as const)[s.state], value: s.value, reported: s.reported }));
  }

  /**
   * The anomaly rules whose metric is outside its baseline now (pending) or whose alert
   * fires, most deviant first.
   */
  anomalies(): CurrentAnomaly[] {
    if (!this.active) return [];
    const out: CurrentAnomaly[] = [];
    for (const s of this.states) {
      if (s.check === null || s.state === 0) continue;
      const r = s.rule;
      const c = s.check;
      out.push({ rule: r.name, metric: r.metric, severity: r.severity, state: s.state === 2 ? 'firing' : 'pending', value: c.value, median: c.median, mad: c.mad, deviations: c.deviations, since: s.activeSince });
    }
    return out.sort((a, b) => Math.abs(b.deviations) - Math.abs(a.deviations));
  }

  /**
   * Stops evaluating. Reported alerts are not resolved (nothing more is known); channels
   * stop at once (shutdown() resolves and drains instead). Idempotent.
   */
  close(): void {
    this.stopEvaluating();
    this.channels?.close();
  }

  private stopEvaluating(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.unregister();
  }

  /** @internal Evaluates every rule on `snap` (the history's newest sample). */
  evaluate(snap: Snapshot): void {
    if (this.source.closed) {
      // The channels stay: shutdown() can still send their final resolutions.
      this.stopEvaluating();
      return;
    }
    // `for` runs on this thread's clock: the snapshot's time stands still while the
    // watched loop is stuck (which is when a watcher on another thread matters most).
    const nowNs = Number(process.hrtime.bigint());
    for (const s of this.states) {
      const r = s.rule;
      const v = this.value(r, snap);
      s.value = v;
      let holds: boolean;
      let clears: boolean;
      if (s.baseline !== null && r.anomaly !== null) {
        const c = (s.check = s.baseline.update(v, snap.timeNs));
        holds = c.anomalous;
        // Hysteresis on the deviations: back within sensitivity × (1 − h) of the median.
        const within = r.anomaly.sensitivity * (1 - r.hysteresis);
        const d = r.anomaly.direction === 'above' ? c.deviations : r.anomaly.direction === 'below' ? -c.deviations : Math.abs(c.deviations);
        clears = !c.ready || Number.isNaN(d) || d <= within;
      } else {
        holds = r.direction === 'above' ? v > r.threshold : v < r.threshold;
        const band = r.hysteresis * Math.abs(r.threshold);
        clears = Number.isNaN(v) || (r.direction === 'above' ? v <= r.threshold - band : v >= r.threshold + band);
      }
      if (s.state === 0 && holds) {
        s.state = 1;
        s.pendingSinceNs = nowNs;
        s.activeSince = Date.now();
      } else if (s.state === 1 && !holds) {
        s.state = 0;
      }
      if (s.state === 1 && nowNs - s.pendingSinceNs >= r.forMs * 1e6) {
        s.state = 2;
        s.firedAt = Date.now();
      } else if (s.state === 2 && clears) {
        s.state = 0;
      }
    }
    // Report, per group, only the most severe firing rule.
    const top = new Map<string, number>();
    for (const s of this.states) {
      if (s.state === 2) top.set(s.rule.group, Math.max(top.get(s.rule.group) ?? -1, SEVERITY_RANK[s.rule.severity]));
    }
    const resolved: Alert[] = [];
    const fired: Alert[] = [];
    for (const s of this.states) {
      const should = s.state === 2 && SEVERITY_RANK[s.rule.severity] === top.get(s.rule.group);
      if (should === s.reported) continue;
      s.reported = should;
      if (should) fired.push(this.alertOf(s));
      else resolved.push({ ...this.alertOf(s), reason: s.state === 2 ? 'superseded' : 'cleared' });
    }
    for (const a of resolved) {
      this.channels?.resolve(a);
      this.emit('resolve', a);
    }
    for (const a of fired) {
      this.channels?.alert(a);
      this.emit('alert', a);
      if (this.snapshotDir !== null && !this.snapshotTaken && this.snapshotRules.has(a.name)) this.writeSnapshot(a.name);
    }
  }

  private writeSnapshot(rule: string): void {
    this.snapshotTaken = true;
    const file = join(this.snapshotDir as string, `runtime-sampler-${process.pid}-${new Date().toISOString().replace(/[:.]/g, '-')}.heapsnapshot`);
    let event: ActionEvent;
    try {
      event = { action: 'heap-snapshot', rule, path: writeHeapSnapshot(file) };
    } catch (error) {
      event = { action: 'heap-snapshot', rule, error: error as Error };
    }
    this.emit('action', event);
  }

  private alertOf(s: RuleState): Alert {
    const r = s.rule;
    const c = s.check;
    if (c !== null && r.anomaly !== null) {
      const edge = c.median + Math.sign(c.deviations || 1) * r.anomaly.sensitivity * c.scale;
      return {
        name: r.name, severity: r.severity, metric: r.metric, condition: r.condition, value: s.value, threshold: edge,
        summary: r.summary, group: r.group, activeSince: s.activeSince, firedAt: s.firedAt,
        baseline: { median: c.median, mad: c.mad, deviations: c.deviations },
      };
    }
    return {
      name: r.name,
      severity: r.severity,
      metric: r.metric,
      condition: r.condition,
      value: s.value,
      threshold: r.threshold,
      summary: r.summary,
      group: r.group,
      activeSince: s.activeSince,
      firedAt: s.firedAt,
    };
  }

  private leak(windowMs: number, end: Snapshot): LeakReport {
    const mcs = this.history.markCompacts();
    const since = end.timeNs - windowMs * 1e6;
    const inWindow = mcs.filter((m) => m.endNs >= since);
    const key = `${windowMs}|${inWindow.length ? inWindow[0].index : 0}|${inWindow.length ? inWindow[inWindow.length - 1].index : 0}`;
    if (this.leakCache?.key !== key) this.leakCache = { key, report: detectLeak(inWindow, since, this.leakOptions) };
    return this.leakCache.report;
  }

  private forecast(windowMs: number, end: Snapshot): MemoryForecast {
    const key = `${windowMs}|${end.timeNs}`;
    if (this.forecastCache?.key !== key) this.forecastCache = { key, forecast: buildForecast(this.history, end, windowMs) };
    return this.forecastCache.forecast;
  }

  private value(r: Rule, snap: Snapshot): number {
    switch (r.metric) {
      case 'container.memoryUsedRatio': {
        const limit = snap.container.memoryLimitBytes;
        return Number.isFinite(limit) && limit > 0 ? containerUsed(snap) / limit : NaN;
      }
      case 'container.secondsToLimit': {
        // A forecast counts only when it is sure: a warm-up rises too, for a while.
        const f = this.forecast(r.windowMs, snap).container;
        return f === null || f.confidence < FORECAST_CONFIDENCE ? NaN : f.secondsToLimit;
      }
      case 'container.throttledPeriodShare': {
        const w = this.history.window(r.windowMs, snap);
        const periods = snap.container.cpuPeriods - w.start.container.cpuPeriods;
        return periods > 0 ? (snap.container.cpuThrottledPeriods - w.start.container.cpuThrottledPeriods) / periods : NaN;
      }
      case 'heap.usedRatio':
        return snap.heap.limitBytes > 0 ? snap.heap.usedBytes / snap.heap.limitBytes : NaN;
      case 'leak.suspected':
        return this.leak(r.windowMs, snap).suspected ? 1 : 0;
      case 'leak.slopeBytesPerSec':
        return this.leak(r.windowMs, snap).slopeBytesPerSec;
    }
    switch (r.condition) {
      case 'anomaly':
        if (r.metric.startsWith('histograms.')) return this.percentileOf(r, snap);
        return isCounter(r.metric) ? this.rateOf(r, snap) : readPath(snap, r.metric) ?? NaN;
      case 'above':
      case 'below':
        return readPath(snap, r.metric) ?? NaN;
      case 'rate':
        return this.rateOf(r, snap);
      case 'trend': {
        const samples = this.history.samplesSince(snap.timeNs - r.windowMs * 1e6);
        if (samples.length < 3) return NaN;
        return trend(samples.map((s) => s.timeNs / 1e9), samples.map((s) => readPath(s, r.metric) ?? NaN)).slope;
      }
      case 'percentile':
        return this.percentileOf(r, snap);
    }
  }

  private rateOf(r: Rule, snap: Snapshot): number {
    const w = this.history.window(r.windowMs, snap);
    if (w.intervalNs <= 0) return NaN;
    const inc = (readPath(snap, r.metric) ?? NaN) - (readPath(w.start, r.metric) ?? NaN);
    return isNanoseconds(r.metric) ? inc / w.intervalNs : (inc * 1e9) / w.intervalNs;
  }

  private percentileOf(r: Rule, snap: Snapshot): number {
    const { histogram } = this.history.histogram(r.metric.slice('histograms.'.length), r.windowMs, snap);
    return histogram.count > 0 ? histogram.percentile(r.percentile) : NaN;
  }
}

/**
 * Evaluates `rules` (default: the built-in set) on every sample of the sampler's history
 * (begun now if it was not) and emits `alert` / `resolve` events.
 */
export function watch(sampler: Watchable, options: WatchOptions = {}): Watcher {
  return new Watcher(sampler, options);
}
