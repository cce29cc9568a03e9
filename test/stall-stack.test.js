// Stall stacks in zero-code mode: RUNTIME_SAMPLER_STALL_STACK=1 (or `run --stall-stack`)
// turns on the watchdog's stack capture under the preload, and /diagnose and /alerts —
// served from the monitor thread, also while the stall lasts — show the last stall's
// stack. Without it, /diagnose advises the variable, not code the user does not have.
const { test } = require('uvu');
const { withPreloaded } = require('./helpers/preloaded');
const assert = require('uvu/assert');
const { runEnv } = require('../dist/cjs/cli');
const { parseEnv } = require('../dist/cjs/server/config');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Prints its port, then holds the loop in a named function for 1.5 s, then idles.
const APP = `
  require('runtime-sampler').registered().monitor.then((m) => {
    console.log('PORT ' + m.port);
    setTimeout(function holdTheLoopForAWhile() {
      const end = Date.now() + 1500;
      while (Date.now() < end);
    }, 300);
  });
  setTimeout(() => {}, 30000);
`;

async function withApp(env, fn) {
  await withPreloaded(APP, env, async (port) => {
    const get = async (p, headers = {}) => {
      const res = await fetch(`http://127.0.0.1:${port}${p}`, { headers, signal: AbortSignal.timeout(5000) });
      return res.text();
    };
    await fn(get);
  });
}

test('RUNTIME_SAMPLER_STALL_STACK=1: /diagnose and /alerts show the stall\'s stack, during it and after', async () => {
  await withApp({ RUNTIME_SAMPLER_STALL_STACK: '1' }, async (get) => {
    await sleep(900); // inside the stall: it began at ~300 ms, the watchdog marks it after 100 ms
    const during = JSON.parse(await get('/diagnose?format=json'));
    const stalls = during.findings.find((f) => f.id === 'stalls');
    assert.is(stalls.verdict, 'critical', JSON.stringify(stalls));
    assert.match(stalls.stack, /at holdTheLoopForAWhile \(/);
    await sleep(1200); // the stall has ended
    const text = await get('/diagnose');
    assert.match(text, /1 stall/);
    assert.match(text, /stack captured during the last stall:\n\s+at holdTheLoopForAWhile \(/);
    assert.not.match(text, /RUNTIME_SAMPLER_STALL_STACK/, 'no advice to turn on what is on');
    const alerts = JSON.parse(await get('/alerts'));
    assert.match(alerts.lastStallStack, /^\s+at holdTheLoopForAWhile \(/);
  });
});

test('without it: no stack, and /diagnose advises RUNTIME_SAMPLER_STALL_STACK', async () => {
  await withApp({}, async (get) => {
    await sleep(2200);
    const report = JSON.parse(await get('/diagnose', { accept: 'application/json' }));
    const stalls = report.findings.find((f) => f.id === 'stalls');
    assert.is(stalls.value, 1);
    assert.is(stalls.stack, undefined);
    assert.match(stalls.recommendation, /RUNTIME_SAMPLER_STALL_STACK=1 \(runtime-sampler run --stall-stack\)/);
    assert.is(JSON.parse(await get('/alerts')).lastStallStack, null);
  });
});

test('--stall-stack sets the variable; it needs the watchdog', () => {
  assert.equal(runEnv({ 'stall-stack': true }), { RUNTIME_SAMPLER_STALL_STACK: '1' });
  assert.is(parseEnv({ RUNTIME_SAMPLER_STALL_STACK: '1' }).config.stallStack, true);
  assert.is(parseEnv({}).config.stallStack, false);
  const off = parseEnv({ RUNTIME_SAMPLER_STALL_STACK: '1', RUNTIME_SAMPLER_WATCHDOG_MS: '0' });
  assert.is(off.config.stallStack, false);
  assert.match(off.problems.join('\n'), /RUNTIME_SAMPLER_STALL_STACK=1 needs the watchdog/);
  assert.match(parseEnv({ RUNTIME_SAMPLER_STALL_STACK: 'maybe' }).problems.join('\n'), /RUNTIME_SAMPLER_STALL_STACK="maybe" is not valid \(1 or 0\); no stall stacks/);
});

test.run();
