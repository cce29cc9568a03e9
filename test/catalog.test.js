// versions: edges — the catalog against the implementation
// The catalog and the implementation match both ways, and docs/metrics.md is current.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const { Sampler, catalog, Histogram } = require('..');

function resolve(root, path) {
  // Expands `*` over the object's keys; returns [concretePath, value] pairs.
  let nodes = [['', root]];
  for (const part of path.split('.')) {
    const next = [];
    for (const [p, v] of nodes) {
      if (v == null) continue;
      if (part === '*') for (const k of Object.keys(v)) next.push([`${p}.${k}`, v[k]]);
      else next.push([p ? `${p}.${part}` : part, v[part]]);
    }
    nodes = next;
  }
  return nodes;
}

function numericLeaves(obj, prefix = '', out = []) {
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number') out.push(p);
    else if (v && typeof v === 'object') numericLeaves(v, p, out);
  }
  return out;
}

test('catalog entries are complete, sorted and well-formed', () => {
  const s = new Sampler();
  const c = s.catalog();
  assert.equal(c, catalog());
  assert.ok(c.length > 40);
  const keys = c.map((e) => `${e.name} ${e.path}`);
  assert.equal(keys, [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  assert.is(new Set(keys).size, keys.length);
  for (const e of c) {
    assert.ok(/^[a-z0-9_.]+$/.test(e.name), e.name);
    assert.ok(['counter', 'gauge', 'histogram'].includes(e.kind));
    assert.is(typeof e.cumulative, 'boolean');
    assert.ok(e.unit.length > 0 && e.description.length > 10);
    if (e.kind === 'counter') assert.ok(e.cumulative, `${e.name} counter must be cumulative`);
  }
  // A name keeps one kind and unit wherever it appears.
  const byName = new Map();
  for (const e of c) {
    const prev = byName.get(e.name);
    if (prev) assert.equal([prev.kind, prev.unit], [e.kind, e.unit], e.name);
    byName.set(e.name, e);
  }
  s.close();
});

test('every catalog path reads a real value, and every snapshot number is in the catalog', () => {
  const s = new Sampler().start();
  const snap = s.read();
  const json = snap.toJSON();
  const covered = new Set();
  for (const e of s.catalog()) {
    if (e.kind === 'histogram') {
      const found = resolve(s, e.path);
      assert.ok(found.length > 0, e.path);
      for (const [, h] of found) assert.instance(h, Histogram, e.path);
      if (e.path.includes('*')) assert.is(found.length, e.attributes[0].values.length, e.path);
      continue;
    }
    const found = resolve(json, e.path);
    assert.ok(found.length > 0, `${e.name}: ${e.path} resolves to nothing`);
    for (const [p, v] of found) {
      assert.is(typeof v, 'number', `${e.path} → ${p}`);
      assert.ok(Object.is(resolve(snap, p)[0][1], v), `getter and toJSON agree at ${p}`);
      covered.add(p);
    }
    if (e.path.includes('*')) assert.is(found.length, e.attributes[0].values.length, e.path);
  }
  const leaves = numericLeaves(json);
  const missing = leaves.filter((p) => !covered.has(p));
  assert.equal(missing, [], 'snapshot numbers without a catalog entry');
  s.close();
});

test('docs/metrics.md is generated from the current catalog and Snapshot type', () => {
  const r = spawnSync(process.execPath, ['scripts/gen-docs.mjs', '--check'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
});

test.run();
