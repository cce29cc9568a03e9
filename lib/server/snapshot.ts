// Heap snapshots for /debug/heap-snapshot, made in a thread of their own.
//
// The monitor thread asks the main thread's inspector for the snapshot, and V8 pushes it back
// in chunks of ~100 KB as fast as it makes them. Node 18 delivers the chunks that queued up
// while the receiving thread was busy in one batch, and keeps every chunk of a batch alive
// until the batch ends: measured, a 63 MB snapshot arrived in batches of up to 424 chunks
// and held 55 MB of the receiver's heap at once. In the monitor thread (64 MB of heap) that
// killed the monitor now and then. So each snapshot gets a short-lived thread with a heap as
// large as the largest snapshot served; it writes the chunks straight to the monitor's
// (unlinked) file and exits. If it runs out of memory anyway, only that request fails: the
// monitor goes on serving.
import { Worker } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import { join } from 'node:path';

/** The snapshot thread's heap beyond what a batch of chunks can hold, MB. */
const SNAPSHOT_HEAP_BASE_MB = 64;

/**
 * How long a thread lives on after it disconnected an inspector session of the main thread,
 * ms. Node's inspector aborts the whole process when the main thread removes a worker's
 * session while that worker's inspector is being torn down (`MainThreadInterface::Post`
 * calls `shared_from_this()` on the worker's interface under destruction: std::bad_weak_ptr,
 * built without exceptions, is abort()). Seen in 1 of 4 runs of test/monitor-http.test.js
 * beside a CPU hog: the snapshot thread disconnected and ended at once. The main thread
 * removes the session at its next interrupt, inside JavaScript too, so a thread that waits
 * this long after its disconnect is not torn down while that happens (unless the main thread
 * spends all of it in one native call).
 */
export const INSPECTOR_SETTLE_MS = 500;

/** Snapshot threads not yet exited. */
const liveThreads = new Set<Promise<void>>();

/** Resolves when every snapshot thread started so far has exited. */
export function snapshotThreadsExited(): Promise<void> {
  return Promise.all([...liveThreads]).then(() => undefined);
}

export interface SnapshotWriter {
  /** Writes one chunk; once the snapshot has passed maxBytes, nothing more is written. */
  chunk(s: string): void;
  /** Bytes written, or -1 when the snapshot was larger than maxBytes. */
  result(): number;
}

/** Writes chunks to `fd`, up to `maxBytes` in all. */
export function snapshotWriter(fd: number, maxBytes: number): SnapshotWriter {
  let bytes = 0;
  let over = false;
  return {
    chunk(s) {
      if (over) return;
      const b = Buffer.from(s);
      bytes += b.length;
      if (bytes > maxBytes) over = true;
      else writeSync(fd, b);
    },
    result: () => (over ? -1 : bytes),
  };
}

/** The thread's result message. */
interface SnapshotResult {
  bytes?: number;
  error?: string;
}

/**
 * Writes a heap snapshot of the main thread to `fd` (at most `maxBytes`) from a thread of its
 * own; resolves with the bytes written, or -1 when the snapshot was larger than `maxBytes`.
 * Only a worker thread can reach the main thread's inspector.
 */
export function heapSnapshotThread(fd: number, maxBytes: number): Promise<number> {
  const heapMb = SNAPSHOT_HEAP_BASE_MB + Math.ceil(maxBytes / 2 ** 20);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (e: Error | null, bytes = 0): void => {
      if (settled) return;
      settled = true;
      if (e === null) resolve(bytes);
      else reject(e);
    };
    const worker = new Worker(join(__dirname, 'snapshot-worker.js'), {
      workerData: { fd, maxBytes },
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    // The result arrives first; the thread exits INSPECTOR_SETTLE_MS later (see above).
    worker.on('message', (m: SnapshotResult) => {
      if (m.error !== undefined) settle(new Error(m.error));
      else settle(null, m.bytes ?? 0);
    });
    worker.on('error', (e: NodeJS.ErrnoException) => {
      settle(e.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? new Error(`the heap snapshot thread ran out of memory (its heap limit: ${heapMb} MB)`)
        : e);
    });
    const exited = new Promise<void>((done) => {
      worker.once('exit', (code) => {
        settle(new Error(`the heap snapshot thread exited (code ${code}) without a result`));
        liveThreads.delete(exited);
        done();
      });
    });
    liveThreads.add(exited);
  });
}
