// The monitor thread's entry (started by startMonitorThread): attaches views of the
// samplers it was given and serves them over node:http, from its own event loop, so it
// answers while the threads it reports on are blocked.
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { Sampler } from '../sampler';
import type { SharedSampler, SamplerView } from '../sampler';
import { SamplerAggregate } from '../aggregate';
import { negotiateFormat, toPrometheus } from '../exporters/prometheus';
import { toJSON } from '../exporters/json';

interface MonitorWorkerData {
  handles: SharedSampler[];
  aggregate: boolean;
  port: number;
  host: string;
}

function main(): void {
  const data = workerData as MonitorWorkerData;
  const views: SamplerView[] = data.handles.map((h) => Sampler.attach(h));
  const target = data.aggregate ? new SamplerAggregate(views) : views[0];
  let requests = 0;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    requests++;
    const url = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (url === '/metrics') {
        const { format, contentType } = negotiateFormat(req.headers.accept);
        const body = toPrometheus(target, { format });
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      if (url === '/metrics.json') {
        const body = JSON.stringify(toJSON(target));
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('runtime-sampler monitor: try /metrics or /metrics.json\n');
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`runtime-sampler monitor: ${(e as Error).message}\n`);
    }
  };
  const server = createServer(handler);
  server.on('error', (e: NodeJS.ErrnoException) => {
    parentPort!.postMessage({ type: 'error', message: e.message, code: e.code });
    process.exit(0);
  });
  server.listen(data.port, data.host, () => {
    const addr = server.address();
    parentPort!.postMessage({ type: 'listening', port: typeof addr === 'object' && addr ? addr.port : data.port });
  });
  parentPort!.on('message', (m: unknown) => {
    if (m === 'close') {
      server.close(() => process.exit(0));
      server.closeAllConnections?.();
    } else if (m === 'stats') {
      parentPort!.postMessage({ type: 'stats', requests });
    }
  });
}

main();
