// Running a real Prometheus server (Debian package `prometheus`) in tests.
const { spawn, spawnSync } = require('node:child_process');
const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1 (closed again; good enough for a test). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function getJSON(url) {
  const res = await fetch(url);
  const body = await res.json();
  if (body.status !== 'success') throw new Error(`${url}: ${JSON.stringify(body)}`);
  return body.data;
}

/** Whether the binary `name` runs here. */
function has(name) {
  return !spawnSync(name, ['--version']).error;
}

/**
 * Starts Prometheus with `config` (YAML text; files in `extraFiles` written beside it) and
 * `flags` added to its command line (e.g. --enable-feature=native-histograms).
 * Returns { api, query(q), log(), stop() }.
 */
async function startPrometheus(config, extraFiles = {}, flags = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-prom-'));
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), config);
  for (const [name, text] of Object.entries(extraFiles)) fs.writeFileSync(path.join(dir, name), text);
  const port = await freePort();
  const prom = spawn('prometheus', [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
    ...flags,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prom.stderr.on('data', (d) => { log += d; });
  const api = `http://127.0.0.1:${port}/api/v1`;
  return {
    api,
    dir,
    query: async (q) => (await getJSON(`${api}/query?query=${encodeURIComponent(q)}`)).result,
    log: () => log,
    async stop() {
      prom.kill();
      await new Promise((r) => prom.once('exit', r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { sleep, freePort, getJSON, has, startPrometheus };
