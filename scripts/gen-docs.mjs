#!/usr/bin/env node
// Writes docs/metrics.md from the catalog (sampler.catalog()). `--check` fails when the
// committed file differs, so the docs cannot drift from the code.
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

| name | kind | unit | cumulative | attributes | path | description |
|---|---|---|---|---|---|---|
`;
for (const e of entries) {
  const attrs = e.attributes.map((a) => `\`${a.name}\``).join(', ');
  md += `| \`${e.name}\` | ${e.kind} | ${esc(e.unit)} | ${e.cumulative ? 'yes' : 'no'} | ${attrs} | \`${e.path}\` | ${esc(e.description)} |\n`;
}
const file = join(root, 'docs/metrics.md');
if (!writeOrCheck(file, md, 'node scripts/gen-docs.mjs')) process.exit(1);
