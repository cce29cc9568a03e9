// Processes that publish their sampler (test/fixtures/publish-child.cjs) and the CLI that
// reads them, for the ps/top/stat/postmortem tests. Every wait has a deadline.
const { replies } = require('./ipc');
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');

const BIN = path.join(__dirname, '..', '..', 'bin', 'runtime-sampler.js');
const CHILD = path.join(__dirname, '..', 'fixtures', 'publish-child.cjs');

const dirs = [];
/** A fresh private directory to publish in (mkdtemp makes it 0700, as publishing wants). */
const publishDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rs-cli-'));
  dirs.push(dir);
  return dir;
};

const started = new Set();

/**
 * Starts a publisher in `dir`; resolves once it has published. `send(msg)` resolves to its
 * next report; `kill(sig)` to its exit once it has exited.
 */
function startPublisher(dir, options = {}, { env = {}, nodeArgs = [] } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, CHILD, JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env, RUNTIME_SAMPLER_DIR: dir },
  });
  started.add(child);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { started.delete(child); resolve({ code, signal }); }));
  const next = replies(child, 'publisher');
  return next('ready message').then((ready) => ({
    child,
    pid: ready.pid,
    path: ready.path,
    send: (msg) => { child.send(msg); return next(`answer to ${JSON.stringify(msg)}`).then((m) => m.report); },
    kill: (sig = 'SIGKILL') => { child.kill(sig); return exited; },
    exited,
  }));
}

/** Kills every publisher still running and removes the directories publishDir() made (test.after). */
async function cleanUp() {
  await Promise.all([...started].map((c) => new Promise((r) => { c.once('exit', r); c.kill('SIGKILL'); })));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Runs the CLI; resolves to { status, signal, stdout, stderr }. */
function cli(args, { env = {}, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (status, signal) => { clearTimeout(t); resolve({ status, signal, stdout, stderr }); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy or `ms` pass (then throws with `what`). */
async function until(what, fn, ms = 20_000, every = 50) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

module.exports = { BIN, publishDir, startPublisher, cleanUp, cli, sleep, until };
