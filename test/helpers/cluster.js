// The cluster tests' harness: test/fixtures/cluster-app.cjs started with the preload, its
// monitor's and its app's ports, commands to its workers, and /metrics read as series.
const { spawn } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const APP = path.join(root, 'test', 'fixtures', 'cluster-app.cjs');

/** GET with a fresh connection; resolves { status, body, ms } (ms: request to last byte). */
function get(port, p, headers = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body, ms: performance.now() - t0, headers: res.headers }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${p}: no answer in 10 s`)));
    req.on('error', reject);
  });
}

/** Every sample of family `name` in an exposition: [{ labels, value }]. */
function series(text, name) {
  const out = [];
  const re = new RegExp(`^${name}(?:\\{(.*)\\})? (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const labels = {};
    for (const l of (m[1] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

/** The distinct pids of a family's labelled series, by worker_id. */
function workersIn(text, name = 'v8js_gc_count_total') {
  const byId = new Map();
  for (const s of series(text, name)) if (s.labels.pid !== undefined) byId.set(s.labels.worker_id, Number(s.labels.pid));
  return byId;
}

/** camelCase GC type → the label value (scavenge, mark_sweep_compact, …). */
const snake = (t) => t.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Starts the cluster app with `workers` workers and the preload (RUNTIME_SAMPLER_PORT=0);
 * resolves once the monitor announced its port and every worker listens.
 */
async function startCluster(workers, env = {}) {
  const child = spawn(process.execPath, ['-r', 'runtime-sampler/register', APP], {
    cwd: root,
    env: { ...process.env, RUNTIME_SAMPLER_PORT: '0', WORKERS: String(workers), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  let seq = 0;
  const waiting = new Map();
  child.on('message', (m) => {
    const w = waiting.get(m.seq);
    if (w) {
      waiting.delete(m.seq);
      w(m);
    }
  });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const until = (what, test) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${what} in 20 s; stdout: ${out}; stderr: ${err}`)), 20_000);
    const check = () => {
      const v = test();
      if (v !== null) {
        clearTimeout(t);
        resolve(v);
      } else setTimeout(check, 20);
    };
    check();
    exited.then(() => reject(new Error(`the app exited before its ${what}; stdout: ${out}; stderr: ${err}`)));
  });
  const port = await until('monitor port', () => {
    const m = /monitor listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
    return m ? Number(m[1]) : null;
  });
  const appPort = await until('app port', () => {
    const m = /APP PORT (\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  });
  return {
    child, port, appPort, exited,
    stderr: () => err,
    /** Sends a command to worker `id` that it does not answer (exit). */
    tell(id, cmd) {
      child.send({ ...cmd, worker: id, seq: ++seq });
    },
    /** Sends a command to worker `id`; resolves with its answer. */
    ask(id, cmd) {
      const s = ++seq;
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`worker ${id} did not answer ${JSON.stringify(cmd)} in 10 s`)), 10_000);
        waiting.set(s, (m) => {
          clearTimeout(t);
          if (m.error) reject(new Error(m.error));
          else resolve(m);
        });
        child.send({ ...cmd, worker: id, seq: s });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

module.exports = { get, series, workersIn, snake, startCluster };
