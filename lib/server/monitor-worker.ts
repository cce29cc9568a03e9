// The monitor thread's entry (started by startMonitorThread): attaches views of the
// samplers it was given and serves them over node:http (see http.ts), from its own event
// loop, so it answers while the threads it reports on are blocked. The debug endpoints
// inspect the main thread through node:inspector's connectToMainThread().
import { parentPort, workerData } from 'node:worker_threads';
import { Session } from 'node:inspector';
import { Sampler } from '../sampler';
import type { SharedSampler, SamplerView } from '../sampler';
import { SamplerAggregate } from '../aggregate';
import { createMonitorServer, DebugInspector, MonitorServerOptions } from './http';
import { ClusterMembers } from './cluster';
import { StallStore } from './stalls';
import { heapSnapshotThread, INSPECTOR_SETTLE_MS, snapshotThreadsExited } from './snapshot';

/** When this thread last disconnected a session of the main thread's inspector (ms, Date.now()). */
let lastDisconnect = -Infinity;

/**
 * Resolves once no inspector session of this thread or of its snapshot threads can still be
 * in the main thread's hands: every snapshot thread has exited, and INSPECTOR_SETTLE_MS have
 * passed since this thread's last disconnect (Node aborts the process when the main thread
 * removes a session of a thread being torn down; see snapshot.ts).
 */
async function inspectorSettled(): Promise<void> {
  await snapshotThreadsExited();
  const wait = lastDisconnect + INSPECTOR_SETTLE_MS - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

interface MonitorWorkerData extends Omit<MonitorServerOptions, 'inspector' | 'processes'> {
  handles: SharedSampler[];
  aggregate: boolean;
  port: number;
  host: string;
  /** A cluster primary's: where its workers publish. */
  cluster: { dir: string } | null;
  /** The sampler's thread posts its stalls' profiles (watchdog.profile). */
  stallProfiles: boolean;
  /** With alert channels: how long closing waits for their final resolutions, ms. */
  alertFlushMs?: number;
}

/** The main thread's inspector, for heap snapshots and CPU profiles. */
function mainThreadInspector(): DebugInspector {
  const post = (session: Session, method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
  const connect = (): Session => {
    const s = new Session();
    s.connectToMainThread();
    return s;
  };
  return {
    heapSnapshot: heapSnapshotThread,
    async cpuProfile(seconds) {
      const s = connect();
      try {
        await post(s, 'Profiler.enable');
        await post(s, 'Profiler.start');
        await new Promise((r) => setTimeout(r, seconds * 1000));
        const { profile } = (await post(s, 'Profiler.stop')) as { profile: object };
        return JSON.stringify(profile);
      } finally {
        s.disconnect();
        lastDisconnect = Date.now();
      }
    },
  };
}

function main(): void {
  const data = workerData as MonitorWorkerData;
  const views: SamplerView[] = data.handles.map((h) => Sampler.attach(h));
  const target = data.aggregate ? new SamplerAggregate(views) : views[0];
  const cluster = data.cluster === null ? null : new ClusterMembers(views[0], data.cluster.dir, data.title ?? '');
  const stalls = data.stallProfiles ? new StallStore() : undefined;
  const { server, stats, stop, flushAlerts } = createMonitorServer(target, {
    ...data, inspector: data.debug ? mainThreadInspector() : undefined, analysis: views[0], ...(cluster !== null ? { processes: cluster } : {}),
    ...(stalls !== undefined ? { stalls } : {}),
  });
  server.on('error', (e: NodeJS.ErrnoException) => {
    parentPort!.postMessage({ type: 'error', message: e.message, code: e.code });
    process.exit(0);
  });
  server.listen(data.port, data.host, () => {
    const addr = server.address();
    parentPort!.postMessage({ type: 'listening', port: typeof addr === 'object' && addr ? addr.port : data.port });
  });
  parentPort!.on('message', (m: unknown) => {
    if (cluster !== null && (m as { type?: unknown } | null)?.type === 'cluster') {
      cluster.event(m);
    } else if (stalls !== undefined && (m as { type?: unknown } | null)?.type === 'stall') {
      stalls.add(m);
    } else if (m === 'close') {
      // Alert channels first: the alerts still firing get their final resolutions (within
      // alertFlushMs: an unreachable Alertmanager cannot hold the close up longer).
      void flushAlerts(data.alertFlushMs ?? 0).finally(() => {
        stop();
        cluster?.close();
        server.close(() => void inspectorSettled().finally(() => process.exit(0)));
        server.closeAllConnections?.();
      });
    } else if (m === 'stats') {
      parentPort!.postMessage({ type: 'stats', ...stats() });
    }
  });
}

main();
