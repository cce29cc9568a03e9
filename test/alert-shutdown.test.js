// tier: extra — a 30 s stall (the built-in NodeEventLoopStalled rule's `for`) on a worker thread
// versions: current
// The monitor thread delivers the built-in rules' alerts; closing it (MonitorThread.shutdown(),
// and so the preload's registered().shutdown()) first sends the final resolution of what still
// fires. The stalled loop is a worker's, so that the closing thread is free while it fires.
const { test } = require('uvu');
const assert = require('uvu/assert');
const http = require('node:http');
const { Worker } = require('node:worker_threads');
const { Sampler, startMonitorThread } = require('..');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('closing the monitor resolves a firing alert through its webhook (reason shutdown)', async () => {
  const bodies = [];
  const receiver = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      bodies.push(JSON.parse(b));
      res.end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const { Sampler } = require(${JSON.stringify(require.resolve('..'))});
     const s = new Sampler({ watchdog: { thresholdMs: 100 } }).start();
     parentPort.postMessage(s.share());
     parentPort.once('message', () => { for (;;) {} });`,
    { eval: true },
  );
  let monitor = null;
  try {
    const handle = await new Promise((r) => worker.once('message', r));
    monitor = await startMonitorThread({ sampler: Sampler.attach(handle), port: 0, alerts: { webhook: { url } } });
    worker.postMessage('block');
    const firing = (b) => b.status === 'firing' && b.alert.name === 'NodeEventLoopStalled';
    const deadline = Date.now() + 50_000;
    while (!bodies.some(firing) && Date.now() < deadline) await sleep(200);
    assert.ok(bodies.some(firing), `no firing NodeEventLoopStalled in 50 s: ${JSON.stringify(bodies)}`);
    assert.is(bodies.filter((b) => b.status === 'resolved').length, 0, 'resolved while the loop is still stuck');
    const t0 = Date.now();
    await monitor.shutdown();
    monitor = null;
    const resolved = bodies.filter((b) => b.status === 'resolved');
    assert.is(resolved.length, 1, JSON.stringify(bodies));
    assert.is(resolved[0].alert.name, 'NodeEventLoopStalled');
    assert.is(resolved[0].alert.reason, 'shutdown');
    assert.ok(Date.now() - t0 < 4000, `shutdown took ${Date.now() - t0} ms`);
  } finally {
    if (monitor !== null) await monitor.close();
    await worker.terminate();
    receiver.close();
  }
});

test.run();
