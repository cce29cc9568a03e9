export { Sampler, SamplerView, PublishedView } from './sampler';
export { listPublished, cleanPublished, defaultPublishDir } from './published';
export type { PublishedProcess, ListPublishedOptions, CleanPublishedOptions } from './published';
export type { OpenOptions, PublishSettings, SamplerOptions, WatchdogOptions, HistorySettings, ResolvedSamplerOptions, GCEvent, GCListener, MarkCompactRecord, StallEvent, StallListener, SharedSampler, SamplerHistograms } from './sampler';
export { SamplerAggregate } from './aggregate';
export { StallProfile, STALL_PROFILE_LIMITS } from './stall-profile';
export type { StallProfileData, StallProfileFrame, StallProfileStack, CpuProfile, CpuProfileNode } from './stall-profile';
export { startMonitorThread } from './server/monitor';
export type { MonitorThreadOptions, MonitorThread } from './server/monitor';
export { registered } from './server/preload';
export type { Registered } from './server/preload';
export type { ShutdownOptions, ShutdownHook } from './server/shutdown';
export { ReadinessChecker, DEFAULT_THRESHOLDS } from './server/readiness';
export type { ReadinessThresholds, ReadinessReport, ReadinessCheck } from './server/readiness';
export type { SamplerReaderLike } from './aggregate';
export {
  Snapshot,
  GcStats,
  GcTypeStats,
  HeapStats,
  HeapSpaceStats,
  LoopStats,
  ProcessStats,
  ContainerStats,
  SamplerStats,
  StallStats,
  ThreadpoolStats,
  GC_TYPES,
} from './snapshot';
export type { GcTypeName } from './snapshot';
export { Histogram, bucketIndex, bucketLowerBound } from './histogram';
export type { HistogramJSON } from './histogram';
export { delta } from './delta';
export type { SnapshotDelta } from './delta';
export { SamplerError } from './errors';
export type { SamplerErrorCode } from './errors';
export type { MetricDescription, MetricKind, MetricAttribute, DetailLevel } from './catalog';
export { DETAIL_LEVELS } from './catalog';
export { LOOP_TIMINGS } from './loop-timing';
export type { LoopTiming } from './loop-timing';

import { catalog as buildCatalog, MetricDescription } from './catalog';
import { native, binaryPath, binaryOrigin, backend, fallbackReason } from './binding';

/** The metric catalog for this isolate's heap spaces, sorted by name. */
export function catalog(): MetricDescription[] {
  return buildCatalog(native.heapSpaceNames());
}

/** Versions of what the native side was built against and runs on. */
export const nativeInfo = Object.freeze({
  moduleVersion: native.moduleVersion,
  uvVersion: native.uvVersion,
  v8Version: native.v8Version,
  uvMetricsInfo: native.uvMetricsInfo,
  /** The native binary that was loaded: a prebuild, a source build, or RUNTIME_SAMPLER_BINARY ('' on the JavaScript backend). */
  binaryPath,
  /** How it was chosen: 'RUNTIME_SAMPLER_BINARY', 'source build' (build/Release) or 'prebuild'; null on the JavaScript backend. */
  binaryOrigin,
  /**
   * What measures: 'native' (the addon) or 'js' (node:perf_hooks, node:v8 and process, where
   * no binary loads or RUNTIME_SAMPLER_BACKEND=js; what it cannot see is NaN, catalog() marks it `native: true`).
   */
  backend,
  /** Why the JavaScript backend runs; null on the native one. */
  fallbackReason,
});

export { toPrometheus, toPrometheusGroup, toPrometheusProtobuf, negotiateFormat, PROMETHEUS_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE } from './exporters/prometheus';
export type { PrometheusOptions } from './exporters/prometheus';
export type { LabelledReader } from './exporters/common';
export { toJSON, toJSONGroup, JSON_SCHEMA } from './exporters/json';
export type { JsonOptions, JsonDocument, JsonMetric, JsonValuePoint, JsonHistogramPoint } from './exporters/json';

export { diagnose, DIAGNOSE_THRESHOLDS } from './analysis/diagnose';
export type { DiagnoseOptions, DiagnosisReport, Finding, Verdict, DiagnoseThresholds, Diagnosable } from './analysis/diagnose';
export { forecastMemory } from './analysis/forecast';
export type { ForecastOptions, MemoryForecast, LimitForecast, Forecastable } from './analysis/forecast';
export { History } from './analysis/history';
export type { HistoryWindow } from './analysis/history';
export { DEFAULT_LEAK_OPTIONS } from './analysis/leak';
export type { LeakOptions, LeakReport } from './analysis/leak';
export { watch, Watcher } from './analysis/watcher';
export type { Alert, ActionEvent, WatchOptions, Watchable } from './analysis/watcher';
export type { ChannelsOptions, AlertmanagerChannelOptions, WebhookChannelOptions, LogChannelOptions, ChannelStats } from './alerts';
export type { WebhookPayload } from './alerts/webhook';
export { BUILTIN_RULES, DERIVED_METRICS, parseDuration } from './analysis/rules';
export type { RuleDefinition, Rule, RuleCondition, Severity, Duration } from './analysis/rules';
export { ANOMALY_RULES } from './analysis/rules';
export type { AnomalyDefinition } from './analysis/rules';
export { AnomalyBaseline } from './analysis/anomaly';
export type { AnomalySettings, AnomalyCheck, CurrentAnomaly } from './analysis/anomaly';
