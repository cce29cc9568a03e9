#!/usr/bin/env node
// Writes dashboards/runtime-sampler.json: a Grafana dashboard over runtime-sampler's
// Prometheus metrics (and prom-client's names where the prom-client drop-in emits them:
// each such query is `ours or theirs`). `--check` fails when the file is stale.
// test/alerts.test.js runs every query against a real Prometheus scraping the preload.
import { writeOrCheck } from './write-or-check.mjs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SEL = '{job=~"$job", instance=~"$instance"}';
const sel = (extra = '') => `{job=~"$job", instance=~"$instance"${extra ? `, ${extra}` : ''}}`;
const RI = '$__rate_interval';
// A quantile from a histogram's classic buckets or, where Prometheus stores the native
// histogram instead (--enable-feature=native-histograms: 2.42 then ingests no _bucket
// series for it), from that. `alt` is another classic source inside the first quantile.
const hq = (q, name, alt = '') =>
  `histogram_quantile(${q}, sum by (instance, le) (rate(${name}_bucket${SEL}[${RI}]))${alt}) or histogram_quantile(${q}, sum by (instance) (rate(${name}${SEL}[${RI}])))`;

let id = 0;
let y = 0;
const panels = [];
function row(title) {
  panels.push({ type: 'row', title, id: ++id, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
}
let x = 0;
const FULL_ONLY = 'Needs detail: full (RUNTIME_SAMPLER_DETAIL=full, or toPrometheus(sampler, { detail: \'full\' })): the standard level leaves these series out to stay within 120 series per process.';
function panel(title, unit, targets, { w = 8, h = 8, type = 'timeseries', description = '', min } = {}) {
  if (x + w > 24) {
    x = 0;
    y += h;
  }
  panels.push({
    type, title, id: ++id, description,
    datasource: { type: 'prometheus', uid: '${datasource}' },
    gridPos: { h, w, x, y },
    fieldConfig: { defaults: { unit, ...(min !== undefined ? { min } : {}) }, overrides: [] },
    options: type === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'] }, colorMode: 'value' } : { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
    targets: targets.map(([expr, legendFormat], i) => ({ refId: String.fromCharCode(65 + i), expr, legendFormat, datasource: { type: 'prometheus', uid: '${datasource}' } })),
  });
  x += w;
}
function newRow(title) {
  x = 0;
  y += 8;
  row(title);
}

row('Overview');
panel('Heap used / limit', 'percentunit', [[`max by (instance) (v8js_heap_used_bytes${SEL} / v8js_heap_limit_bytes${SEL})`, '{{instance}}']], { type: 'stat', w: 6, h: 5 });
panel('GC CPU fraction (pauses + incremental marking)', 'percentunit', [[`sum by (instance) (rate(v8js_gc_main_thread_time_seconds_total${SEL}[${RI}]))`, '{{instance}}']], { type: 'stat', w: 6, h: 5 });
panel('Event-loop delay p99', 's', [[`${hq(0.99, 'nodejs_eventloop_delay_seconds')} or max by (instance) (nodejs_eventloop_lag_p99_seconds${SEL})`, '{{instance}}']], { type: 'stat', w: 6, h: 5 });
panel('Stall in progress', 'none', [[`max by (instance) (nodejs_eventloop_stall_active${SEL})`, '{{instance}}']], { type: 'stat', w: 6, h: 5 });

newRow('Garbage collection');
panel('GC pauses per second by type', 'ops', [[`sum by (instance, v8js_gc_type) (rate(v8js_gc_count_total${SEL}[${RI}]))`, '{{instance}} {{v8js_gc_type}}']]);
panel('GC pause p50 / p99 (all types)', 's', [
  [hq(0.5, 'v8js_gc_duration_seconds', ` or sum by (instance, le) (rate(nodejs_gc_duration_seconds_bucket${SEL}[${RI}]))`), 'p50 {{instance}}'],
  [hq(0.99, 'v8js_gc_duration_seconds', ` or sum by (instance, le) (rate(nodejs_gc_duration_seconds_bucket${SEL}[${RI}]))`), 'p99 {{instance}}'],
]);
panel('GC pause heatmap', 's', [[`sum by (le) (increase(v8js_gc_duration_seconds_bucket${SEL}[${RI}]))`, '{{le}}']], { type: 'heatmap' });
panel('GC time on the JS thread: pauses and incremental marking', 'percentunit', [
  [`sum by (instance) (rate(v8js_gc_pause_time_seconds_total${SEL}[${RI}]))`, 'pauses {{instance}}'],
  [`sum by (instance) (rate(v8js_gc_incremental_marking_time_seconds_total${SEL}[${RI}]))`, 'incremental marking {{instance}}'],
], { min: 0 });
panel('Mark-compact phases (time per second)', 'percentunit', [[`sum by (v8js_gc_phase) (rate(v8js_gc_mark_compact_phase_time_seconds_total${SEL}[${RI}]))`, '{{v8js_gc_phase}}']], { description: FULL_ONLY });
panel('Time to safepoint p99', 's', [[hq(0.99, 'v8js_gc_time_to_safepoint_duration_seconds'), '{{instance}}']], { description: FULL_ONLY });
panel('Why V8 collected (mark-compacts and incremental marking starts)', 'ops', [
  [`sum by (v8js_gc_reason) (rate(v8js_gc_mark_compact_reason_count_total${SEL}[${RI}])) > 0`, 'mark-compact: {{v8js_gc_reason}}'],
  [`sum by (v8js_gc_reason) (rate(v8js_gc_incremental_marking_reason_count_total${SEL}[${RI}])) > 0`, 'incremental: {{v8js_gc_reason}}'],
], { description: FULL_ONLY });
panel('Allocation and reclaim rate', 'Bps', [
  [`sum by (instance) (rate(v8js_memory_allocated_bytes_total${SEL}[${RI}]))`, 'allocated {{instance}}'],
  [`sum by (instance) (rate(v8js_gc_reclaimed_bytes_total${SEL}[${RI}]))`, 'reclaimed {{instance}}'],
]);
panel('Incremental marking steps per second', 'ops', [[`sum by (instance) (rate(v8js_gc_incremental_marking_steps_total${SEL}[${RI}]))`, '{{instance}}']]);

newRow('Heap');
panel('Heap used, total, limit', 'bytes', [
  [`sum by (instance) (v8js_heap_used_bytes${SEL}) or sum by (instance) (nodejs_heap_size_used_bytes${SEL})`, 'used {{instance}}'],
  [`sum by (instance) (v8js_heap_total_bytes${SEL}) or sum by (instance) (nodejs_heap_size_total_bytes${SEL})`, 'total {{instance}}'],
  [`sum by (instance) (v8js_heap_limit_bytes${SEL})`, 'limit {{instance}}'],
]);
panel('Heap used by space', 'bytes', [[`sum by (v8js_heap_space_name) (v8js_memory_heap_used_bytes${SEL})`, '{{v8js_heap_space_name}}']]);
panel('Old space after major GCs (leak watch)', 'bytes', [[`min by (instance) (min_over_time(v8js_memory_heap_used_bytes${sel('v8js_heap_space_name="old_space"')}[15m]))`, '{{instance}}']]);
panel('External memory (Buffers, ArrayBuffers) and malloc', 'bytes', [
  [`sum by (instance) (v8js_heap_external_bytes${SEL}) or sum by (instance) (nodejs_external_memory_bytes${SEL})`, 'external {{instance}}'],
  [`sum by (instance) (v8js_heap_malloced_bytes${SEL})`, 'malloced {{instance}}'],
]);
panel('Fragmentation', 'percentunit', [[`max by (v8js_heap_space_name) (v8js_heap_space_fragmentation_ratio${SEL})`, '{{v8js_heap_space_name}}']]);
panel('Contexts (detached > 0 for long: a leak)', 'none', [
  [`sum by (instance) (v8js_heap_native_contexts${SEL})`, 'native {{instance}}'],
  [`sum by (instance) (v8js_heap_detached_contexts${SEL})`, 'detached {{instance}}'],
]);

newRow('Event loop');
panel('Loop delay p50 / p90 / p99', 's', [
  [hq(0.5, 'nodejs_eventloop_delay_seconds'), 'p50 {{instance}}'],
  [hq(0.9, 'nodejs_eventloop_delay_seconds'), 'p90 {{instance}}'],
  [hq(0.99, 'nodejs_eventloop_delay_seconds'), 'p99 {{instance}}'],
]);
panel('Event-loop utilization', 'percentunit', [[`sum by (instance) (rate(nodejs_eventloop_time_seconds_total${sel('nodejs_eventloop_state="active"')}[${RI}])) / sum by (instance) (rate(nodejs_eventloop_time_seconds_total${SEL}[${RI}]))`, '{{instance}}']], { min: 0 });
panel('Iterations per second and busiest iteration', 'ops', [[`sum by (instance) (rate(nodejs_eventloop_iterations_total${SEL}[${RI}]))`, '{{instance}}']]);
panel('Iteration busy time p99', 's', [[hq(0.99, 'nodejs_eventloop_iteration_duration_seconds'), '{{instance}}']], { description: FULL_ONLY });
panel('Stalls (iterations over the watchdog threshold)', 'ops', [
  [`sum by (instance) (rate(nodejs_eventloop_stall_count_total${SEL}[${RI}]))`, 'stalls/s {{instance}}'],
  [`max by (instance) (nodejs_eventloop_stall_duration_seconds${SEL})`, 'in progress (s) {{instance}}'],
]);
panel('Active handles and requests', 'none', [
  [`sum by (instance) (nodejs_active_handles${SEL}) or sum by (instance) (nodejs_active_handles_total${SEL})`, 'handles {{instance}}'],
  [`sum by (instance) (nodejs_active_requests${SEL}) or sum by (instance) (nodejs_active_requests_total${SEL})`, 'requests {{instance}}'],
]);

// libuv's threadpool (fs, dns.lookup, crypto, zlib), seen by the threadpoolProbeMs probe.
newRow('Threadpool');
panel('Threadpool probe delay p50 / p99', 's', [
  [hq(0.5, 'nodejs_threadpool_delay_seconds'), 'p50 {{instance}}'],
  [hq(0.99, 'nodejs_threadpool_delay_seconds'), 'p99 {{instance}}'],
], { description: 'From queuing an empty work item on the threadpool to a pool thread starting it: how long fs, dns.lookup, crypto and zlib work waits for a thread.' });
panel('Longest probe delay, and the probe waiting now', 's', [
  [`max by (instance) (nodejs_threadpool_delay_max_seconds${SEL})`, 'max since start {{instance}}'],
  [`max by (instance) (nodejs_threadpool_in_flight_duration_seconds${SEL})`, 'waiting now {{instance}}'],
], { description: 'A probe that keeps waiting while none completes is a stuck pool: the histogram sees nothing until it ends.' });
panel('Probes per second and pool size', 'none', [
  [`sum by (instance) (rate(nodejs_threadpool_probes_total${SEL}[${RI}]))`, 'probes/s {{instance}}'],
  [`max by (instance) (nodejs_threadpool_size${SEL})`, 'pool size {{instance}}'],
]);

newRow('Process');
panel('CPU', 'percentunit', [[`sum by (instance, cpu_mode) (rate(process_cpu_time_seconds_total${SEL}[${RI}]))`, '{{instance}} {{cpu_mode}}']]);
panel('Resident set size', 'bytes', [[`max by (instance) (process_memory_usage_bytes${SEL}) or max by (instance) (process_resident_memory_bytes${SEL})`, '{{instance}}']]);
panel('Open file descriptors', 'none', [[`max by (instance) (process_open_fds${SEL})`, '{{instance}}']]);

// The process's cgroup. Processes of one container report the same cgroup: max, not sum.
// A limit of +Inf (none) is left out of the charts (`< +Inf`), so no axis runs to infinity.
newRow('Container');
panel('Memory: working set, usage, high, limit', 'bytes', [
  [`max by (instance) (nodejs_container_memory_working_set_bytes${SEL})`, 'working set {{instance}}'],
  [`max by (instance) (nodejs_container_memory_usage_bytes${SEL})`, 'usage {{instance}}'],
  [`max by (instance) (nodejs_container_memory_high_bytes${SEL} < +Inf)`, 'high {{instance}}'],
  [`max by (instance) (nodejs_container_memory_limit_bytes${SEL} < +Inf)`, 'limit {{instance}}'],
], { description: 'Usage includes page cache; the working set leaves out the inactive part, which the kernel reclaims before an OOM kill.' });
panel('Working set / limit', 'percentunit', [[`max by (instance) (nodejs_container_memory_working_set_bytes${SEL} / (nodejs_container_memory_limit_bytes${SEL} < +Inf))`, '{{instance}}']], { min: 0 });
panel('OOM kills, memory.max and memory.high events', 'none', [
  [`max by (instance) (increase(nodejs_container_memory_oom_kill_total${SEL}[${RI}]))`, 'OOM kills {{instance}}'],
  [`max by (instance) (increase(nodejs_container_memory_max_events_total${SEL}[${RI}]))`, 'max events {{instance}}'],
  [`max by (instance) (increase(nodejs_container_memory_high_events_total${SEL}[${RI}]))`, 'high events {{instance}}'],
], { min: 0 });
panel('CPU quota and CPU used', 'none', [
  [`max by (instance) (nodejs_container_cpu_quota${SEL} < +Inf)`, 'quota (CPUs) {{instance}}'],
  [`sum by (instance) (rate(process_cpu_time_seconds_total${SEL}[${RI}]))`, 'used by the process {{instance}}'],
], { min: 0 });
panel('CPU throttling', 'percentunit', [
  [`max by (instance) (rate(nodejs_container_cpu_throttled_periods_total${SEL}[${RI}]) / rate(nodejs_container_cpu_periods_total${SEL}[${RI}]))`, 'throttled periods / periods {{instance}}'],
  [`max by (instance) (rate(nodejs_container_cpu_throttled_time_seconds_total${SEL}[${RI}]))`, 'throttled time per second {{instance}}'],
], { min: 0, description: 'Share of CFS periods in which the quota ran out; throttled time per second of wall time (above 100% when several threads wait).' });
panel('Pressure stall time (PSI) per second', 'percentunit', [
  [`max by (instance, kind) (rate(nodejs_container_memory_pressure_seconds_total${SEL}[${RI}]))`, 'memory {{kind}} {{instance}}'],
  [`max by (instance, kind) (rate(nodejs_container_cpu_pressure_seconds_total${SEL}[${RI}]))`, 'cpu {{kind}} {{instance}}'],
], { min: 0, description: 'some: share of time some tasks stalled; full: all non-idle tasks at once.' });

const dashboard = {
  __inputs: [{ name: 'DS_PROMETHEUS', label: 'Prometheus', type: 'datasource', pluginId: 'prometheus' }],
  title: 'Node.js runtime (runtime-sampler)',
  uid: 'runtime-sampler',
  description: 'GC pauses and phases, incremental marking, heap per space, event-loop delay and utilization, stalls, threadpool delay, process, container limits and throttling — from runtime-sampler (prom-client names where the drop-in emits them).',
  tags: ['nodejs', 'v8', 'runtime-sampler'],
  schemaVersion: 39,
  version: 1,
  editable: true,
  time: { from: 'now-1h', to: 'now' },
  refresh: '30s',
  templating: {
    list: [
      { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' },
      { name: 'job', type: 'query', datasource: { type: 'prometheus', uid: '${datasource}' }, query: 'label_values(v8js_heap_used_bytes, job)', includeAll: true, multi: true, allValue: '.*', refresh: 2 },
      { name: 'instance', type: 'query', datasource: { type: 'prometheus', uid: '${datasource}' }, query: 'label_values(v8js_heap_used_bytes{job=~"$job"}, instance)', includeAll: true, multi: true, allValue: '.*', refresh: 2 },
    ],
  },
  panels,
};

if (!writeOrCheck(join(root, 'dashboards', 'runtime-sampler.json'), `${JSON.stringify(dashboard, null, 2)}\n`, 'node scripts/gen-dashboard.mjs')) process.exit(1);
