// Stall profiles (watchdog.profile): a 2 s stall alternating ~70% in `a` and ~30% in `b`
// gives >= 100 samples with those shares (within 15 points); its .cpuprofile passes a
// checker of DevTools' Profiler.Profile (the checker also passes V8's own profile, from
// node:inspector, so it checks the real format), and its folded text names both. Under
// the preload (RUNTIME_SAMPLER_STALL_PROFILE=1), /debug/stalls lists it and
// /debug/stalls/<id>.cpuprofile downloads it, both behind the debug token. Bad option
// values are refused.
const { test } = require('uvu');
const { withPreloaded } = require('./helpers/preloaded');
const assert = require('uvu/assert');
const { performance } = require('node:perf_hooks');
const { Session } = require('node:inspector');
const { Sampler, StallProfile } = require('..');
const { parseEnv } = require('../dist/cjs/server/config');
const { StallStore } = require('../dist/cjs/server/stalls');
const { throwsAll } = require('./helpers/throws');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Profiler.Profile as the DevTools protocol declares it (Profiler.ProfileNode,
// Runtime.CallFrame, Profiler.PositionTickInfo): every field and its type, and the
// structure DevTools' CPUProfileDataModel relies on.
function checkCpuProfile(p, where) {
  const fail = (msg) => assert.unreachable(`${where}: ${msg}`);
  const isInt = (v) => Number.isInteger(v);
  if (p === null || typeof p !== 'object') fail('not an object');
  for (const k of Object.keys(p)) if (!['nodes', 'startTime', 'endTime', 'samples', 'timeDeltas'].includes(k)) fail(`unknown field ${k}`);
  if (!Array.isArray(p.nodes) || p.nodes.length === 0) fail('nodes must be a non-empty array');
  if (typeof p.startTime !== 'number' || typeof p.endTime !== 'number' || p.endTime < p.startTime) fail('startTime <= endTime, numbers');
  const ids = new Map();
  for (const n of p.nodes) {
    for (const k of Object.keys(n)) if (!['id', 'callFrame', 'hitCount', 'children', 'deoptReason', 'positionTicks'].includes(k)) fail(`node field ${k}`);
    if (!isInt(n.id) || ids.has(n.id)) fail(`node id ${n.id} not a unique integer`);
    ids.set(n.id, n);
    const f = n.callFrame;
    if (f === null || typeof f !== 'object') fail(`node ${n.id}: no callFrame`);
    for (const k of Object.keys(f)) if (!['functionName', 'scriptId', 'url', 'lineNumber', 'columnNumber'].includes(k)) fail(`callFrame field ${k}`);
    if (typeof f.functionName !== 'string' || typeof f.scriptId !== 'string' || typeof f.url !== 'string') fail(`node ${n.id}: callFrame strings`);
    if (!isInt(f.lineNumber) || !isInt(f.columnNumber) || f.lineNumber < -1 || f.columnNumber < -1) fail(`node ${n.id}: line/column`);
    if (n.hitCount !== undefined && (!isInt(n.hitCount) || n.hitCount < 0)) fail(`node ${n.id}: hitCount`);
    if (n.children !== undefined && (!Array.isArray(n.children) || !n.children.every(isInt))) fail(`node ${n.id}: children`);
    if (n.positionTicks !== undefined) {
      for (const t of n.positionTicks) if (!isInt(t.line) || t.line < 1 || !isInt(t.ticks) || t.ticks < 1) fail(`node ${n.id}: positionTicks ${JSON.stringify(t)}`);
    }
  }
  // A tree under nodes[0]: every child exists, has one parent, and every node is reached.
  const parent = new Map();
  for (const n of p.nodes) {
    for (const c of n.children ?? []) {
      if (!ids.has(c)) fail(`node ${n.id}: child ${c} does not exist`);
      if (parent.has(c) || c === p.nodes[0].id) fail(`node ${c} has two parents (or is the root)`);
      parent.set(c, n.id);
    }
  }
  const seen = new Set();
  const stack = [p.nodes[0].id];
  while (stack.length > 0) {
    const id = stack.pop();
    seen.add(id);
    stack.push(...(ids.get(id).children ?? []));
  }
  if (seen.size !== p.nodes.length) fail(`${p.nodes.length - seen.size} nodes unreachable from the root`);
  if (p.samples !== undefined || p.timeDeltas !== undefined) {
    if (!Array.isArray(p.samples) || !Array.isArray(p.timeDeltas) || p.samples.length !== p.timeDeltas.length) fail('samples and timeDeltas: arrays of one length');
    for (const s of p.samples) if (!ids.has(s)) fail(`sample ${s} is no node id`);
    if (!p.timeDeltas.every(isInt)) fail('timeDeltas must be integers (µs)');
    const sum = p.timeDeltas.reduce((a, b) => a + b, 0);
    if (p.startTime + sum > p.endTime + 1) fail(`samples run past endTime (${p.startTime} + ${sum} > ${p.endTime})`);
  }
}

function v8Profile() {
  const s = new Session();
  s.connect();
  const post = (m, params = {}) => new Promise((resolve, reject) => s.post(m, params, (e, r) => (e ? reject(e) : resolve(r))));
  return (async () => {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
    const end = performance.now() + 60;
    while (performance.now() < end);
    const { profile } = await post('Profiler.stop');
    s.disconnect();
    return profile;
  })();
}

// Each loops itself (no shared helper): the sampled leaf is a or b.
function a() {
  const end = performance.now() + 7;
  let x = 0;
  while (performance.now() < end) x++;
  return x;
}
function b() {
  const end = performance.now() + 3;
  let x = 0;
  while (performance.now() < end) x++;
  return x;
}
function stallFor(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    a();
    b();
  }
}

// Time in a function includes its callees: performance.now() runs JavaScript of Node's own
// on some lines (the global's lazy getter, a receiver check: up to half the leaves on Node
// 22 and 24), so a sample counts for the innermost of a and b on its stack.
const topShares = (p) => {
  const n = { a: 0, b: 0 };
  for (const s of p.stacks) {
    const inner = s.frames.findLast((f) => f.functionName in n)?.functionName;
    if (inner !== undefined) n[inner] += s.count;
  }
  return { a: n.a / p.samples, b: n.b / p.samples };
};

test('bad watchdog.profile / profileIntervalMs values are refused, naming the option and the range', () => {
  const make = (watchdog) => () => new Sampler({ watchdog });
  throwsAll([
    [make({ profile: 'yes' }), TypeError, /watchdog\.profile must be true or false, got "yes"/],
    [make({ profile: true, profileIntervalMs: 0 }), RangeError, /watchdog\.profileIntervalMs.*1.*1000.*0/],
    [make({ profile: true, profileIntervalMs: 1001 }), RangeError, /watchdog\.profileIntervalMs.*1.*1000.*1001/],
    [make({ profile: true, profileIntervalMs: 2.5 }), RangeError, /watchdog\.profileIntervalMs.*integer.*2\.5/],
    [make({ profile: true, profileIntervalMs: '10' }), TypeError, /watchdog\.profileIntervalMs.*"10"/],
    [make({ profileIntervalMs: 5 }), TypeError, /watchdog\.profileIntervalMs \(5\) needs watchdog\.profile: true/],
    [make({ profile: true, captureStack: false }), TypeError, /captureStack: false contradicts watchdog\.profile: true/],
    [make({ profile: true, profileIntervals: 5 }), TypeError, /profileIntervals/],
  ]);
  const s = new Sampler({ watchdog: { profile: true } });
  assert.equal({ ...s.options.watchdog, thresholdMs: 0, intervalMs: 0 }, { thresholdMs: 0, intervalMs: 0, captureStack: true, profile: true, profileIntervalMs: 10 });
  s.close();
  const off = new Sampler({ watchdog: true });
  assert.is(off.options.watchdog.profile, false);
  off.close();
});

test('a 2 s stall, ~70% in a and ~30% in b: >= 100 samples, shares within 15 points, a valid .cpuprofile, folded text', async () => {
  const reference = await v8Profile();
  checkCpuProfile(reference, 'V8\'s own profile (the checker must accept it)');

  const s = new Sampler({ watchdog: { thresholdMs: 50, profile: true } }).start();
  const events = [];
  s.onStall((e) => events.push(e));
  await sleep(50);
  const t0 = process.hrtime.bigint();
  stallFor(2000);
  const t1 = process.hrtime.bigint();
  await sleep(20);
  s.read(); // drains
  s.close();
  assert.is(events.length, 1, JSON.stringify(events));
  const e = events[0];
  const p = e.profile;
  assert.instance(p, StallProfile);
  assert.match(e.stack, /at (a|b) \(/, 'profile implies captureStack');
  // Watchdog sees it 50 ms in; every 10 ms on average after: ~195 samples.
  assert.ok(p.samples >= 100, `samples ${p.samples}`);
  assert.ok(p.samples <= 1000);
  assert.is(p.intervalNs, 10e6);
  assert.is(p.stacks.reduce((n, st) => n + st.count, 0), p.samples);
  assert.is(p.sampleStacks.length, p.samples);
  assert.ok(p.startNs >= Number(t0) && p.endNs <= Number(t1) + 50e6, 'samples within the stall');
  for (let i = 1; i < p.sampleTimesNs.length; i++) assert.ok(p.sampleTimesNs[i] > p.sampleTimesNs[i - 1]);
  const share = topShares(p);
  assert.ok(Math.abs(share.a - 0.7) <= 0.15, `a: ${share.a}`);
  assert.ok(Math.abs(share.b - 0.3) <= 0.15, `b: ${share.b}`);
  // Root first: stallFor, then a (or b).
  const withA = p.stacks.find((st) => st.frames.some((f) => f.functionName === 'a'));
  const names = withA.frames.map((f) => f.functionName);
  assert.ok(names.indexOf('stallFor') >= 0 && names.indexOf('stallFor') < names.indexOf('a'), names.join(' > '));
  const fa = withA.frames.find((f) => f.functionName === 'a');
  assert.is(fa.url, __filename);
  assert.ok(fa.lineNumber >= 0 && fa.columnNumber >= 0);
  assert.is(p.dropped, 0);

  const cpu = p.toCpuProfile();
  checkCpuProfile(cpu, 'the stall\'s .cpuprofile');
  // The same fields V8 fills, of the same types.
  const typeOf = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? 'array' : typeof v]));
  for (const [k, t] of Object.entries(typeOf(cpu))) assert.is(typeOf(reference)[k], t, k);
  assert.equal(Object.keys(cpu.nodes[1].callFrame).sort(), Object.keys(reference.nodes[1].callFrame).sort());
  assert.is(cpu.samples.length, p.samples);
  const hits = cpu.nodes.reduce((n, x) => n + x.hitCount, 0);
  assert.is(hits, p.samples);
  const byName = (name) => cpu.nodes.filter((x) => x.callFrame.functionName === name).reduce((n, x) => n + x.hitCount, 0);
  // hitCount is self time: the samples whose leaf frame is a.
  assert.is(byName('a'), p.stacks.filter((st) => st.frames.at(-1)?.functionName === 'a').reduce((n, st) => n + st.count, 0));
  const sampledA = cpu.samples.filter((id) => cpu.nodes[id - 1].callFrame.functionName === 'a').length;
  assert.is(sampledA, byName('a'));
  // JSON and back (what a .cpuprofile file holds).
  checkCpuProfile(JSON.parse(JSON.stringify(cpu)), 'the .cpuprofile as JSON');

  const folded = p.toFolded();
  assert.match(folded, /(^|\n)[^\n]*stallFor;a \d+\n/);
  assert.match(folded, /(^|\n)[^\n]*stallFor;b \d+\n/);
  const total = folded.trim().split('\n').reduce((n, l) => n + Number(/ (\d+)$/.exec(l)[1]), 0);
  assert.is(total, p.samples);

  // Plain data round trip (postMessage, JSON), and hostile data refused.
  const back = StallProfile.from(JSON.parse(JSON.stringify(p)));
  assert.equal(back.toCpuProfile(), cpu);
  assert.is(back.toFolded(), folded);
  throwsAll([
    [() => StallProfile.from(null), TypeError, /data must be an object/],
    [() => StallProfile.from({ ...p.toJSON(), samples: 5000 }), TypeError, /samples must be an integer from 0 to 1000, got 5000/],
    [() => StallProfile.from({ ...p.toJSON(), sampleStacks: p.sampleStacks.map(() => 99999) }), TypeError, /sampleStacks\[0\] must be a stack index/],
    [() => StallProfile.from({ ...p.toJSON(), stacks: [{ frames: 'x', count: 1 }] }), TypeError, /stacks\[0\] must be/],
    [() => StallProfile.from({ ...p.toJSON(), endNs: 1 }), TypeError, /endNs must be a time after startNs/],
  ]);
});

test('no stall, no profile; a stall without profile has none', async () => {
  const s = new Sampler({ watchdog: { thresholdMs: 50, captureStack: true } }).start();
  const events = [];
  s.onStall((e) => events.push(e));
  await sleep(30);
  stallFor(200);
  await sleep(20);
  s.read();
  s.close();
  assert.is(events.length, 1);
  assert.is(events[0].profile, undefined);
  assert.ok(events[0].stack);
});

test('StallStore: bounded in count and bytes, oldest evicted; malformed posts refused', () => {
  const profile = {
    intervalNs: 1e7, samples: 1, stacks: [{ frames: [{ functionName: 'f', url: '/x.js', scriptId: 1, lineNumber: 0, columnNumber: 0 }], count: 1 }],
    startNs: 10, endNs: 20, sampleStacks: [0], sampleTimesNs: [10], dropped: 0, truncated: 0, framesLost: 0, missed: 0,
  };
  const msg = { type: 'stall', time: Date.now(), startNs: 5, durationNs: 15, elapsedNs: 15, profile };
  const one = JSON.stringify(StallProfile.from(profile)).length;
  const store = new StallStore({ maxStalls: 3, maxBytes: one * 2 + 1 });
  for (let i = 0; i < 5; i++) assert.ok(store.add(msg));
  let d = store.describe();
  assert.equal(d.stalls.map((s) => s.id), [5, 4], 'the byte bound keeps two');
  assert.is(d.evicted, 3);
  assert.ok(d.bytes <= one * 2 + 1);
  assert.is(store.get(3), undefined);
  assert.is(store.get(5).profile.samples, 1);
  assert.not.ok(store.add({ ...msg, durationNs: -1 }));
  assert.not.ok(store.add({ ...msg, profile: { ...profile, samples: 2 } }));
  assert.not.ok(store.add('stall'));
  const big = new StallStore({ maxStalls: 8, maxBytes: one - 1 });
  assert.not.ok(big.add(msg), 'one profile larger than the bound is refused');
  d = store.describe();
  assert.is(d.refused, 3);
  const count = new StallStore({ maxStalls: 2, maxBytes: 1 << 20 });
  for (let i = 0; i < 4; i++) count.add(msg);
  assert.equal(count.describe().stalls.map((s) => s.id), [4, 3]);
});

test('RUNTIME_SAMPLER_STALL_PROFILE: parsed, needs the watchdog', () => {
  assert.is(parseEnv({ RUNTIME_SAMPLER_STALL_PROFILE: '1' }).config.stallProfile, true);
  assert.is(parseEnv({}).config.stallProfile, false);
  const off = parseEnv({ RUNTIME_SAMPLER_STALL_PROFILE: '1', RUNTIME_SAMPLER_WATCHDOG_MS: '0' });
  assert.is(off.config.stallProfile, false);
  assert.match(off.problems.join('\n'), /RUNTIME_SAMPLER_STALL_PROFILE=1 needs the watchdog/);
  const bad = parseEnv({ RUNTIME_SAMPLER_STALL_PROFILE: 'maybe' });
  assert.match(bad.problems.join('\n'), /RUNTIME_SAMPLER_STALL_PROFILE="maybe" is not valid \(1 or 0\); no stall profiles/);
});

const TOKEN = 'stall-profile-test-token-0123';
// Prints its port, then stalls 1.2 s alternating a and b, then idles.
// Date.now() is a V8 builtin (no JavaScript frame of Node's own under a and b), so the leaf
// frames /debug/stalls ranks are a and b themselves on every Node line.
const APP = `
  function a() { const end = Date.now() + 7; let x = 0; while (Date.now() < end) x++; return x; }
  function b() { const end = Date.now() + 3; let x = 0; while (Date.now() < end) x++; return x; }
  require('runtime-sampler').registered().monitor.then((m) => {
    console.log('PORT ' + m.port);
    setTimeout(function stallInApp() {
      const end = Date.now() + 1200;
      while (Date.now() < end) { a(); b(); }
    }, 200);
  });
  setTimeout(() => {}, 30000);
`;

async function withApp(env, fn) {
  await withPreloaded(APP, { RUNTIME_SAMPLER_PUBLISH: '0', ...env }, async (port) => {
    const get = (p, headers = {}) => fetch(`http://127.0.0.1:${port}${p}`, { headers, signal: AbortSignal.timeout(5000) });
    await fn(get);
  });
}

test('preload: /debug/stalls lists the stall, /debug/stalls/<id>.cpuprofile downloads it; token required', async () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  await withApp({ RUNTIME_SAMPLER_STALL_PROFILE: '1', RUNTIME_SAMPLER_DEBUG: '1', RUNTIME_SAMPLER_TOKEN: TOKEN }, async (get) => {
    assert.is((await get('/debug/stalls')).status, 401);
    assert.is((await get('/debug/stalls', { authorization: 'Bearer wrong-token-wrong-token' })).status, 401);
    assert.is((await get('/debug/stalls/1.cpuprofile')).status, 401);
    // The stall (200 ms → 1.4 s), then the sampler's drain (≤ 1 s) posts it to the monitor.
    let list;
    for (let i = 0; i < 40; i++) {
      await sleep(150);
      list = await (await get('/debug/stalls', auth)).json();
      if (list.stalls.length > 0) break;
    }
    assert.is(list.stalls.length, 1, JSON.stringify(list));
    const st = list.stalls[0];
    assert.is(st.id, 1);
    assert.ok(st.samples >= 50, `samples ${st.samples}`);
    assert.ok(st.durationMs >= 1100);
    const top = Object.fromEntries(st.topFrames.map((f) => [f.functionName, f.share]));
    assert.ok(top.a > top.b && top.b > 0.1, JSON.stringify(st.topFrames));
    assert.is(st.topFrames[0].functionName, 'a');
    assert.is(st.cpuprofile, '/debug/stalls/1.cpuprofile');
    assert.is(list.maxStalls, 8);
    const res = await get(st.cpuprofile, auth);
    assert.is(res.status, 200);
    assert.match(res.headers.get('content-disposition'), /attachment; filename="stall-1-\d+\.cpuprofile"/);
    const cpu = await res.json();
    checkCpuProfile(cpu, 'the downloaded .cpuprofile');
    assert.is(cpu.samples.length, st.samples);
    assert.ok(cpu.nodes.some((n) => n.callFrame.functionName === 'stallInApp'));
    assert.is((await get('/debug/stalls/2.cpuprofile', auth)).status, 404);
    assert.is((await get('/debug/stalls/x.cpuprofile', auth)).status, 404);
    assert.is((await get('/debug/stalls/1.json', auth)).status, 404);
    assert.is((await get('/debug/stalls?x=1', auth)).status, 400);
  });
});

test('preload: without RUNTIME_SAMPLER_DEBUG the stall endpoints are off; without the profile variable there is nothing', async () => {
  await withApp({ RUNTIME_SAMPLER_STALL_PROFILE: '1', RUNTIME_SAMPLER_TOKEN: TOKEN }, async (get) => {
    const r = await get('/debug/stalls', { authorization: `Bearer ${TOKEN}` });
    assert.is(r.status, 404);
    assert.match(await r.text(), /debug endpoints are off/);
  });
  await withApp({ RUNTIME_SAMPLER_DEBUG: '1', RUNTIME_SAMPLER_TOKEN: TOKEN }, async (get) => {
    const r = await get('/debug/stalls', { authorization: `Bearer ${TOKEN}` });
    assert.is(r.status, 404);
    assert.match(await r.text(), /stall profiles are off \(RUNTIME_SAMPLER_STALL_PROFILE=1/);
  });
});

test.run();
