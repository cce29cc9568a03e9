#!/usr/bin/env node
// Writes docs/metrics.md from the catalog (sampler.catalog()) and the Snapshot type (its
// declarations in dist/cjs/snapshot.d.ts: fields, their types and doc comments). `--check`
// fails when the committed file differs, so the docs cannot drift from the code.
import { createRequire } from 'node:module';
import { writeOrCheck } from './write-or-check.mjs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { catalog } = require(join(root, 'dist/cjs/catalog.js'));

// Heap space names differ between V8 versions; the docs show them symbolically.
const entries = catalog(['<V8 space name>']);
const esc = (s) => String(s).replace(/\|/g, '\\|');
let md = `# Metric catalog

Generated from \`catalog()\` by \`scripts/gen-docs.mjs\` — do not edit; a test fails when it is stale.

Every metric is read from a \`Snapshot\` (\`sampler.read()\`) at **path**, or from
\`sampler.histograms\` for histograms. A \`*\` in a path stands for one key per attribute
value: GC types are \`${['scavenge', 'minorMarkSweep', 'markSweepCompact', 'incrementalMarking', 'processWeakCallbacks'].join('`, `')}\`
(attribute values in snake_case); heap spaces are V8's own names for the running Node
version (\`sampler.heapSpaceNames\`, e.g. \`new_space\`, \`old_space\`, \`code_space\`,
\`large_object_space\`).

Units: \`ns\` nanoseconds, \`us\` microseconds, \`By\` bytes, \`1\` a ratio, \`{…}\` a count.
Counters are cumulative since \`start()\` (process CPU time: since the process started) and never reset; use
\`delta(prev, cur)\` for rates and interval values.

**native**: *yes* marks what only the native backend measures (\`native: true\` in \`catalog()\`);
on the JavaScript backend (\`nativeInfo.backend === 'js'\`) it reads NaN and its histogram stays empty.

**detail**: the exporters' level the metric belongs to (\`detail\` in \`catalog()\`): *standard*
metrics are exported by default (\`toPrometheus\`, \`toJSON\`, OpenTelemetry, StatsD, the preload's
/metrics) — what the dashboard and the alert rules use, at most 120 series per process;
*full* ones only with \`detail: 'full'\` (\`RUNTIME_SAMPLER_DETAIL=full\`). Where a name has a
standard total and full per-type entries, \`standard\` exports the total and \`full\` the split.

| name | kind | unit | cumulative | native | detail | attributes | path | description |
|---|---|---|---|---|---|---|---|---|
`;
for (const e of entries) {
  const attrs = e.attributes.map((a) => `\`${a.name}\``).join(', ');
  md += `| \`${e.name}\` | ${e.kind} | ${esc(e.unit)} | ${e.cumulative ? 'yes' : 'no'} | ${e.native ? 'yes' : ''} | ${e.detail} | ${attrs} | \`${e.path}\` | ${esc(e.description)} |\n`;
}
md += snapshotFields(entries);

/**
 * The Snapshot's public fields, walked through the type checker from the Snapshot class: a
 * number or boolean is a row; an object is walked into; a record (heap spaces, GC types,
 * phases) is one `*` level. Each row's text is its doc comment, else the catalog's
 * description of that path.
 */
function snapshotFields(catalogEntries) {
  const ts = require('typescript');
  const dts = join(root, 'dist/cjs/snapshot.d.ts');
  const program = ts.createProgram([dts], { strict: true, skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(dts)));
  const snapshot = checker.getDeclaredTypeOfSymbol(exports.find((e) => e.name === 'Snapshot'));
  const byPath = new Map(catalogEntries.map((e) => [e.path, e]));
  const doc = (sym) => ts.displayPartsToString(sym.getDocumentationComment(checker)).replace(/\s+/g, ' ').trim();
  const hidden = ts.ModifierFlags.Private | ts.ModifierFlags.Protected;
  const rows = [];
  const walk = (type, path, depth) => {
    if (depth > 6) throw new Error(`Snapshot type nested too deep at ${path}`);
    const stringIndex = checker.getIndexInfosOfType(type).find((i) => i.keyType.flags & ts.TypeFlags.String);
    if (stringIndex) return visit(null, stringIndex.type, `${path}.*`, depth);
    // Members of a mapped type (a record over a union of names) have no declaration of their own.
    const props = checker.getPropertiesOfType(type).filter((p) => {
      const d = p.valueDeclaration ?? p.declarations?.[0];
      return !(d && ts.getCombinedModifierFlags(d) & hidden) && p.name !== 'toJSON' && !p.name.startsWith('__@');
    });
    // A record over a union of names (GC types, phases): one `*` level, its keys listed.
    if (((type.objectFlags ?? 0) & ts.ObjectFlags.Mapped) && props.length > 0) {
      rows.push({ path: `${path}.*`, type: '', text: `one key each: ${props.map((p) => `\`${p.name}\``).join(', ')}` });
      return visit(null, checker.getTypeOfSymbol(props[0]), `${path}.*`, depth, true);
    }
    for (const p of props) {
      const d = p.valueDeclaration ?? p.declarations[0];
      if (ts.isMethodDeclaration(d) || ts.isMethodSignature(d)) {
        const params = d.parameters.map((x) => x.name.getText()).join(', ');
        rows.push({ path: `${path}.${p.name}(${params})`, type: checker.typeToString(checker.getReturnTypeOfSignature(checker.getSignatureFromDeclaration(d))), text: doc(p) });
        continue;
      }
      visit(p, checker.getTypeOfSymbolAtLocation(p, d), `${path}.${p.name}`, depth);
    }
    // Counters keyed by V8's own names (GC reasons): the keys exist at run time only.
    const cls = type.getSymbol()?.getName();
    if (cls === 'GcReasonCounts') rows.push({ path: `${path}.*`, type: 'number', text: byPath.get(`${path.slice(1)}.*`)?.description ?? '' });
  };
  // `listed`: the path's row is already there (a record's keys).
  const visit = (sym, type, path, depth, listed = false) => {
    const text = sym === null ? '' : doc(sym);
    if (type.flags & (ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike)) {
      const row = { path, type: checker.typeToString(type), text: text || byPath.get(path.slice(1))?.description || '' };
      if (listed) rows[rows.length - 1] = { ...row, text: `${row.text.replace(/\.$/, '')}${row.text ? '; ' : ''}${rows[rows.length - 1].text}` };
      else rows.push(row);
    } else {
      if (text) rows.push({ path, type: '', text });
      walk(type, path, depth + 1);
    }
  };
  walk(snapshot, '', 0);
  let out = `
## Snapshot fields

Every field of a \`Snapshot\` (\`sampler.read()\`; \`snapshot.toJSON()\` gives the same as a plain
nested object), generated from its type declarations: a \`*\` is one key per heap space (V8's
names for the running Node version), GC type, phase or GC reason. What the numbers mean
precisely: [api.md → Snapshot fields](api.md#snapshot-fields).

| field | type | description |
|---|---|---|
`;
  for (const r of rows) out += `| \`${r.path.slice(1)}\` | ${r.type} | ${esc(r.text)} |\n`;
  return out;
}

const file = join(root, 'docs/metrics.md');
if (!writeOrCheck(file, md, 'node scripts/gen-docs.mjs')) process.exit(1);
