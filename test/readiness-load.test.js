// tier: extra — drives an app under load
// /readyz under a real allocation-heavy load: the defaults keep a busy, serving process in
// rotation (a readiness probe that pulls it moves its load onto the other pods: a
// cascade), and each opt-in load-shedding threshold still fails it when set.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('GC-heavy load: /readyz stays 200 with the defaults; every load threshold set fails it', async () => {
  const child = spawn(process.execPath, [join(__dirname, 'fixtures/gc-load-child.cjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const first = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
      });
      child.once('exit', (code) => reject(new Error(`the load child exited (${code}) before listening`)));
    });
    const ready = async (url) => {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: await res.json() };
    };
    // A full 1 s window of load first.
    await sleep(2000);
    const defaults = [];
    const shedding = [];
    for (let i = 0; i < 16; i++) {
      defaults.push(await ready(first.defaults));
      shedding.push(await ready(first.shedding));
      await sleep(250);
    }
    const gc = defaults.map((r) => r.body.checks.find((c) => c.name === 'gcCpuFraction').value);
    const info = `GC CPU fractions seen: ${gc.map((v) => v.toFixed(2)).join(' ')}`;
    // The load is real: its GC work is what the old default (0.5 of wall time) failed on.
    assert.ok(gc.filter((v) => v > 0.05).length >= 12, info);
    for (const r of defaults) assert.is(r.status, 200, `defaults: ${JSON.stringify(r.body.failing)}; ${info}`);
    for (const r of shedding) assert.is(r.status, 503);
    for (const name of Object.keys(first.load)) {
      const failed = shedding.filter((r) => r.body.failing.includes(name)).length;
      assert.ok(failed >= 12, `${name} failed /readyz in ${failed} of 16 polls: ${JSON.stringify(shedding.map((r) => r.body.checks.find((c) => c.name === name).value))}`);
    }
  } finally {
    child.kill('SIGKILL');
  }
});

test.run();
