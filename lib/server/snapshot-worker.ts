// The heap snapshot thread's entry (see snapshot.ts): takes one snapshot of the main thread
// through node:inspector, writes it to the descriptor it was given, posts the result and ends.
import { parentPort, workerData } from 'node:worker_threads';
import { Session } from 'node:inspector';
import { INSPECTOR_SETTLE_MS, snapshotWriter } from './snapshot';

const { fd, maxBytes } = workerData as { fd: number; maxBytes: number };
const writer = snapshotWriter(fd, maxBytes);
const session = new Session();
// The inspector's answer does not keep the thread's loop alive; this does, until it arrives.
const alive = setInterval(() => {}, 60_000);
// The result goes out at once; the thread ends INSPECTOR_SETTLE_MS later, so that the main
// thread has removed the disconnected session before this thread's inspector is torn down
// (snapshot.ts: Node aborts the process otherwise).
const done = (result: object): void => {
  parentPort!.postMessage(result);
  setTimeout(() => clearInterval(alive), INSPECTOR_SETTLE_MS);
};
try {
  session.connectToMainThread();
  session.on('HeapProfiler.addHeapSnapshotChunk', (m: { params: { chunk: string } }) => {
    writer.chunk(m.params.chunk);
  });
  session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, (err) => {
    session.disconnect();
    done(err ? { error: `the inspector failed: ${err.message}` } : { bytes: writer.result() });
  });
} catch (e) {
  done({ error: `the inspector failed: ${(e as Error).message}` });
}
