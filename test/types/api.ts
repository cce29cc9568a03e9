// Compiled (never run) by test/types.test.js: the published declarations, imported the way
// users import them (the package's own name and subpaths), must type-check under strict mode.
import { Sampler, SamplerView, SamplerAggregate, startMonitorThread, Snapshot, Histogram, delta, toPrometheus, toPrometheusGroup, toJSON, toJSONGroup, negotiateFormat, SamplerError } from 'runtime-sampler';
import type { SharedSampler, StallEvent, MonitorThread, Registered } from 'runtime-sampler';
import { registered } from 'runtime-sampler';
import { toPrometheusProtobuf, PROTOBUF_CONTENT_TYPE } from 'runtime-sampler';
import { StallProfile } from 'runtime-sampler';
import type { CpuProfile, StallProfileData } from 'runtime-sampler';
import type { PrometheusOptions, JsonDocument } from 'runtime-sampler';
import { diagnose, watch, BUILTIN_RULES, DIAGNOSE_THRESHOLDS, forecastMemory } from 'runtime-sampler';
import type { MemoryForecast, LimitForecast } from 'runtime-sampler';
import type { DiagnosisReport, Finding, Alert, RuleDefinition, MarkCompactRecord, LeakReport, Verdict } from 'runtime-sampler';
import { collectDefaultMetrics } from 'runtime-sampler/prom-client';
import { registerRuntimeMetrics } from 'runtime-sampler/otel';
import { createStatsdExporter } from 'runtime-sampler/statsd';
import { Registry } from 'prom-client';
import { metrics } from '@opentelemetry/api';

const sampler: Sampler = new Sampler({ refreshIntervalMs: 1000, histogramScale: 6 }).start();
const snap: Snapshot = sampler.read();
sampler.read(snap);
const used: number = snap.heap.usedBytes;
const scavenges: number = snap.gc.byType.scavenge.count;
const d = delta(snap, sampler.read());
const util: number = d.loop.utilization;
const p99: number = sampler.histograms.loopDelay.percentile(99);
const h: Histogram = sampler.histograms.gcPauseByType.markSweepCompact.clone();
const inContainer = new Sampler({ cgroupRoot: '/sys/fs/cgroup' });
const limit: number = inContainer.read().container.memoryLimitBytes;
const cgroupRoot: string | null | false = inContainer.options.cgroupRoot;
inContainer.close();
void new Sampler({ cgroupRoot: null }).close();
void new Sampler({ cgroupRoot: false }).close();
// A JSON value point is null for +Infinity (a limit that is not set).
const firstPoint = toJSON(sampler).metrics[0].points[0];
const pointValue: number | null = 'value' in firstPoint ? firstPoint.value : 0;

const opts: PrometheusOptions = { format: 'openmetrics', prefix: 'app_', labels: { pod: 'a', shard: 3 }, buckets: { 'v8js.gc.duration': [0.001, 0.01] } };
const text: string = toPrometheus(sampler, opts);
const { format, contentType } = negotiateFormat('application/openmetrics-text');
const f: 'prometheus' | 'openmetrics' = format;
const negotiated = negotiateFormat(undefined, { protobuf: true });
const body: string | Uint8Array = negotiated.format === 'protobuf' ? toPrometheusProtobuf(sampler, { labels: { a: 'b' } }) : toPrometheus(sampler, { format: negotiated.format });
const pbType: string = PROTOBUF_CONTENT_TYPE;
void [body, pbType];
// @ts-expect-error: the protobuf format has no format option
toPrometheusProtobuf(sampler, { format: 'openmetrics' });
const doc: JsonDocument = toJSON(sampler, { histograms: 'full', percentiles: [50, 99.9] });
const schema: string = doc.schema;

const handle = collectDefaultMetrics({ register: new Registry(), prefix: 'x_', gcDurationBuckets: [0.1], sampler });
handle.close();
const rm = registerRuntimeMetrics(metrics.getMeter('types'), { sampler, loopWindowMs: 0 });
const names: readonly string[] = rm.instruments;
rm.close();
const statsd = createStatsdExporter({ protocol: 'dogstatsd', tags: { env: 'test' }, intervalMs: 0, sampler });
void statsd.flush().then(() => statsd.close());
const errors: number = statsd.stats.errors;
// Flush on shutdown: every exporter's shutdown() and the preload's registration's.
const flushed: Promise<void>[] = [
  statsd.shutdown(),
  handle.shutdown(),
  registerRuntimeMetrics(metrics.getMeter('types'), { sampler, meterProvider: { forceFlush: () => Promise.resolve() } }).shutdown(),
];
const reg: Registered | null = registered();
reg?.addShutdownHook('alert channels', () => Promise.resolve());
const regDone: Promise<void> | undefined = reg?.shutdown({ timeoutMs: 1000 });
void startMonitorThread({ sampler, port: 0 }).then((m: MonitorThread) => m.shutdown());

const wd = new Sampler({ watchdog: { thresholdMs: 200, captureStack: true } }).start();
wd.onStall((e: StallEvent) => { const s2: string | undefined = e.stack; void s2; });
const profiled = new Sampler({ watchdog: { thresholdMs: 200, profile: true, profileIntervalMs: 5 } });
profiled.onStall((e: StallEvent) => {
  const p: StallProfile | undefined = e.profile;
  if (p === undefined) return;
  const cpu: CpuProfile = p.toCpuProfile();
  const folded: string = p.toFolded();
  const data: StallProfileData = p.toJSON();
  const again: StallProfile = StallProfile.from(JSON.parse(JSON.stringify(data)));
  void [cpu.nodes[0].callFrame.functionName, cpu.timeDeltas.length, folded, again.stacks[0].frames[0].lineNumber, p.intervalNs];
});
profiled.close();
const shared: SharedSampler = wd.share();
const view: SamplerView = Sampler.attach(shared);
const detached: boolean = view.detached;
const agg = new SamplerAggregate([wd, view]);
const aggText: string = toPrometheus(agg);
const active: number = agg.read().stall.active;
void startMonitorThread({ sampler: agg, port: 0 }).then((m: MonitorThread) => m.close());
void startMonitorThread({ sampler: wd, port: 0, cluster: { dir: '/tmp/x' } });
const groupText: string = toPrometheusGroup([{ sampler: agg, labels: {} }, { sampler: view, labels: { pid: '1' } }], { format: 'openmetrics' });
const groupDoc: number = toJSONGroup([{ sampler: view, labels: { pid: '1' } }]).metrics.length;
void [detached, aggText, active, groupText, groupDoc];
// @ts-expect-error: labels are strings
toPrometheusGroup([{ sampler: view, labels: { pid: 1 } }]);

try {
  sampler.close();
} catch (e) {
  if (e instanceof SamplerError) {
    const code: string = e.code;
    void code;
  }
}

// Analysis: history, diagnose(), watchers.
const hs = new Sampler({ history: { intervalMs: 500, capacity: 120 } }).start();
const report: DiagnosisReport = diagnose(hs, { windowMs: 30_000, leak: { confidence: 0.99 }, thresholds: { gcCpuFraction: { warn: 0.1, critical: 0.3 } } });
const verdict: Verdict = report.verdict;
const firstFinding: Finding | undefined = report.findings[0];
const leak: LeakReport = report.leak;
const reportText: string = report.format();
const mcs: MarkCompactRecord[] = hs.markCompacts();
const oldGen: number | undefined = mcs[0]?.oldGenerationBytes;
const rule: RuleDefinition = { name: 'Heap', metric: 'heap.usedRatio', condition: 'above', threshold: 0.8, for: '1m', severity: 'critical' };
const watcher = watch(hs, { rules: [...BUILTIN_RULES, rule], heapSnapshot: { dir: '/tmp' } });
watcher.on('alert', (a: Alert) => { const sev: 'info' | 'warning' | 'critical' = a.severity; void sev; });
watcher.on('action', (e) => { const p: string | undefined = e.path; void p; });
const warnAt: number = DIAGNOSE_THRESHOLDS.heapUsedRatio.warn;
watcher.close();
void [verdict, firstFinding, leak, reportText, oldGen, warnAt];
// @ts-expect-error: condition is one of above, below, rate, trend, percentile
const badRule: RuleDefinition = { name: 'x', metric: 'heap.usedBytes', condition: 'over', threshold: 1 };
void badRule;
// @ts-expect-error: unknown diagnose option
diagnose(hs, { window: 5 });
// The memory forecast, alone and in the report.
const forecast: MemoryForecast = forecastMemory(hs, { windowMs: 60_000 });
const kind: 'heap' | 'container' = forecast.limitKind;
const toLimit: number = report.forecast.secondsToLimit;
const containerForecast: LimitForecast | null = forecast.container;
const workingSet: number = hs.read().container.memoryWorkingSetBytes;
const poolSize: number = hs.read().threadpool.size;
void [kind, toLimit, containerForecast, workingSet, poolSize];
// @ts-expect-error: unknown forecast option
forecastMemory(hs, { window: 5 });

// @ts-expect-error: format is 'prometheus' | 'openmetrics'
toPrometheus(sampler, { format: 'json' });
// @ts-expect-error: unknown option
toJSON(sampler, { histogram: 'full' });

void [used, scavenges, util, p99, h, text, contentType, f, schema, names, errors, limit, cgroupRoot, pointValue];
