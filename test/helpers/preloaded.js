// A child started with the preload (`node -r runtime-sampler/register -e <app>`, the monitor on
// a port the OS chooses) whose app prints `PORT <n>` once the monitor listens.
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');

/** Runs `fn(port, child)` with the app running, then kills it. */
async function withPreloaded(app, env, fn) {
  const child = spawn(process.execPath, ['-r', 'runtime-sampler/register', '-e', app], {
    cwd: root, env: { ...process.env, RUNTIME_SAMPLER_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /PORT (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error(`app exited: ${out}`)));
    });
    return await fn(port, child);
  } finally {
    child.kill('SIGKILL');
  }
}

module.exports = { withPreloaded };
