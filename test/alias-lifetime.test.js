// The owner thread reads through a plain ArrayBuffer alias of the shared block. Its fields
// are private only to TypeScript, so anyone can keep the alias (or a typed array over it)
// after close() and after the sampler is collected: the memory must outlive every object
// that reaches it. Each case runs in a forked child, so a use-after-free is a failed test
// (exit 139), not a crashed runner.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = JSON.stringify(path.join(__dirname, '..'));

// Keeps the chosen views of every field of a fresh sampler (found by scanning its own
// properties, so a renamed field is still covered), lets `end` close or drop it, collects
// it, reuses the freed memory, then reads every kept view and reports what it saw.
function run(keep, end) {
  const code = `
    const { Sampler } = require(${root});
    const { MAIN_SLOTS } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'cjs', 'layout.generated.js'))});
    // No cgroup: a container limit can be +Infinity, and the sum of every slot must be
    // finite unless freed memory was read.
    let s = new Sampler({ refreshIntervalMs: 10, cgroupRoot: false }).start();
    s.read();
    const totalBytes = s.buffer.byteLength;
    const keepView = ${keep};
    const kept = [];
    for (const name of Object.getOwnPropertyNames(s)) {
      const v = s[name];
      if (ArrayBuffer.isView(v) && keepView(v)) kept.push([name, v]);
      // A view made by the caller over the alias buffer itself, before close.
      if (ArrayBuffer.isView(v) && keepView(v) && !(v.buffer instanceof SharedArrayBuffer) && v.buffer.byteLength === totalBytes) {
        kept.push([name + '.buffer', new Float64Array(v.buffer)]);
        kept.push([name + '.buffer (bytes)', new Uint8Array(v.buffer)]);
      }
    }
    const aliasViews = kept.filter(([, v]) => !(v.buffer instanceof SharedArrayBuffer) && v.buffer.byteLength === totalBytes).length;
    ${end}
    const ownerMain = kept.find(([n]) => n === 'ownerMain.buffer')?.[1];
    const atEnd = ownerMain ? Array.from(ownerMain.subarray(0, 200)) : null;
    s = null;
    const read = () => {
      let sum = 0;
      for (const [, v] of kept) for (let i = 0; i < v.length; i++) sum += Number(v[i]) || 0;
      return { sum, main: ownerMain ? Array.from(ownerMain.subarray(0, 200)) : null };
    };
    (async () => {
      for (let i = 0; i < 8; i++) { gc(); await new Promise((r) => setTimeout(r, 5)); }
      const collected = read();
      // Fill the heap with fresh buffers, so freed memory is reused (or unmapped).
      const junk = [];
      for (let i = 0; i < 64; i++) junk.push(new Float64Array(131072).fill(-7));
      gc();
      const later = read();
      const same = (a, b) => a === null || a.every((x, i) => Object.is(x, b[i]));
      console.log(JSON.stringify({
        views: kept.length, aliasViews, finite: Number.isFinite(later.sum),
        sameAsAtEnd: same(atEnd, later.main),
        stable: same(collected.main, later.main) && Object.is(collected.sum, later.sum),
        writerClosed: ownerMain ? ownerMain[MAIN_SLOTS.WRITER_CLOSED] : null,
      }));
    })();
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', code], { encoding: 'utf8', timeout: 30000 });
  assert.is(r.signal, null, `child died of ${r.signal}: ${r.stderr}`);
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const aliasOnly = '(v) => !(v.buffer instanceof SharedArrayBuffer)';

test('views over the alias stay readable after close() and collection', () => {
  const out = run(aliasOnly, 's.close();');
  assert.ok(out.aliasViews >= 3, `found ${out.aliasViews} views over the alias`);
  assert.ok(out.finite);
  // The block is the one the sampler wrote, frozen at close, and nothing reuses it.
  assert.ok(out.sameAsAtEnd, 'the alias changed after the sampler was collected');
  assert.ok(out.stable, 'the alias changed when the heap was refilled');
  assert.is(out.writerClosed, 1);
});

test('views over the alias stay readable after the sampler is collected without close()', () => {
  // stop() clears the drain timer, the last thing that kept the sampler alive; the native
  // side then closes from its finalizer and marks the block closed.
  const out = run(aliasOnly, 's.stop();');
  assert.ok(out.aliasViews >= 3, `found ${out.aliasViews} views over the alias`);
  assert.ok(out.finite);
  assert.ok(out.stable, 'the alias changed when the heap was refilled');
  assert.is(out.writerClosed, 1, 'the sampler was not collected, or its block was not the one read');
});

test('every field of a closed, collected sampler stays readable', () => {
  const out = run('() => true', 's.close();');
  assert.ok(out.views >= 10, `kept ${out.views} views`);
  assert.ok(out.sameAsAtEnd);
  assert.ok(out.stable);
  assert.is(out.writerClosed, 1);
});

test('a view on another thread reads the final values after the owner closes and exits', async () => {
  const code = `
    const { Worker } = require('node:worker_threads');
    const { Sampler } = require(${root});
    const w = new Worker(\`
      const { parentPort } = require('node:worker_threads');
      const { Sampler } = require(${root});
      // No cgroup: a container limit can be +Infinity, and the sum of every slot must be
    // finite unless freed memory was read.
    let s = new Sampler({ refreshIntervalMs: 10, cgroupRoot: false }).start();
      const a = []; for (let i = 0; i < 20000; i++) a.push({ i });
      const handle = s.share();
      const count = s.read().gc.count;
      s.close();
      parentPort.postMessage({ handle, count });
    \`, { eval: true });
    w.once('message', async ({ handle, count }) => {
      const view = Sampler.attach(handle);
      await new Promise((r) => w.once('exit', r));
      for (let i = 0; i < 6; i++) { gc(); await new Promise((r) => setTimeout(r, 5)); }
      const snap = view.read();
      console.log(JSON.stringify({ detached: view.detached, count: snap.gc.count, expected: count }));
    });
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', code], { encoding: 'utf8', timeout: 30000 });
  assert.is(r.signal, null, r.stderr);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  assert.is(out.detached, true);
  assert.is(out.count, out.expected);
});

test.run();
