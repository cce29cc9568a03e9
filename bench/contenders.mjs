// The contenders of the overhead, HTTP and precision benchmarks, each set up the way a
// user would run it, with its periodic collection (a read/scrape/export every second).
// setup() → { on(), off()?, info?() }: off() is missing when the contender cannot be
// switched off in one process. A missing peer package throws 'skipped: …'.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { benchDir, peer } from './harness.mjs';

const require = createRequire(import.meta.url);

export const CONTENDERS = {
  none: () => ({ on() {}, off() {} }),
  'runtime-sampler': () => {
    const { Sampler } = require(join(benchDir, '..'));
    const s = new Sampler();
    const snap = s.read();
    let timer = null;
    return {
      on() {
        s.start();
        timer = setInterval(() => s.read(snap), 1000);
      },
      off() {
        clearInterval(timer);
        s.stop();
      },
      info: () => ({ loopClock: s.loopClock, iterations: s.refresh().read(snap).loop.iterations }),
    };
  },
  "PerformanceObserver('gc')": () => {
    // What an app's observer does at the least: take the entries.
    const obs = new PerformanceObserver((list) => { list.getEntries(); });
    return {
      on() { obs.observe({ entryTypes: ['gc'] }); },
      off() { obs.disconnect(); },
    };
  },
  '@datadog/native-metrics': () => {
    const dd = peer('@datadog/native-metrics');
    let timer = null;
    return {
      on() {
        dd.start();
        timer = setInterval(() => dd.stats(), 1000);
      },
      off() {
        clearInterval(timer);
        dd.stop();
      },
    };
  },
  '@opentelemetry/instrumentation-runtime-node': () => {
    const { RuntimeNodeInstrumentation } = peer('@opentelemetry/instrumentation-runtime-node');
    const sdk = peer('@opentelemetry/sdk-metrics');
    const exporter = new sdk.InMemoryMetricExporter(sdk.AggregationTemporality.CUMULATIVE);
    const provider = new sdk.MeterProvider({
      readers: [new sdk.PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 1000 })],
    });
    const inst = new RuntimeNodeInstrumentation({ monitoringPrecision: 10, enabled: false });
    inst.setMeterProvider(provider);
    return {
      on() { inst.enable(); },
      off() { inst.disable(); exporter.reset(); },
    };
  },
  'prom-client default metrics': () => {
    const client = peer('prom-client');
    const register = new client.Registry();
    return {
      on() {
        client.collectDefaultMetrics({ register });
        setInterval(() => register.metrics(), 1000);
      },
      // No off(): collectDefaultMetrics cannot be undone (its GC observer and loop-delay
      // monitor stay), so it is measured in fresh processes only.
    };
  },
};

