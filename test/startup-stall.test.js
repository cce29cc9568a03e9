// The app's synchronous start-up is no stall: under the preload, the iteration running
// when the sampler starts (module loading, the main script) is not judged — neither by the
// watchdog while it runs nor when it ends — and a real stall right after it still counts.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const block = (ms) => `{ const end = Date.now() + ${ms}; while (Date.now() < end); }`;

function run(app) {
  const r = spawnSync(process.execPath, ['-r', 'runtime-sampler/register', '-e', `
    const { registered } = require('runtime-sampler');
    const sampler = registered().sampler;
    const stall = () => { const s = sampler.read().stall; return { count: s.count, active: s.active, maxMs: s.maxNs / 1e6 }; };
    ${app}`], {
    cwd: root, encoding: 'utf8', timeout: 30000,
    // No HTTP server: only the sampler and its watchdog (100 ms).
    env: { ...process.env, RUNTIME_SAMPLER_PORT: '0', RUNTIME_SAMPLER_WATCHDOG_MS: '100' },
  });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(/RESULT (.*)/.exec(r.stdout)[1]);
}

test('a 300 ms synchronous start-up: not a stall, while it runs or once it ends', () => {
  const got = run(`
    ${block(300)}
    const during = stall();
    setTimeout(() => { console.log('RESULT ' + JSON.stringify({ during, after: stall() })); }, 300);`);
  assert.is(got.during.active, 0, 'the watchdog does not mark the start-up as a stall in progress');
  assert.is(got.after.count, 0, JSON.stringify(got));
});

test('a real stall right after start-up still counts (and is seen while it runs)', () => {
  const got = run(`
    ${block(300)}
    setTimeout(() => {
      ${block(300)}
      const during = stall();
      setTimeout(() => { console.log('RESULT ' + JSON.stringify({ during, after: stall() })); }, 50);
    }, 20);`);
  assert.is(got.during.active, 1, 'the watchdog sees the stall while it runs');
  assert.is(got.after.count, 1, JSON.stringify(got));
  assert.ok(got.after.maxMs >= 290 && got.after.maxMs < 1000, JSON.stringify(got));
});

test.run();
