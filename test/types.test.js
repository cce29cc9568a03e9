// versions: current — the TypeScript declarations
// The published type declarations, used as a TypeScript user would (strict mode, node16
// resolution of the package's own name and subpaths): test/types/api.ts must compile, and
// its @ts-expect-error lines must be errors.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

test('test/types/api.ts type-checks against dist/*.d.ts', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')], { encoding: 'utf8', cwd: path.join(__dirname, '..') });
  assert.is(r.status, 0, `${r.stdout}${r.stderr}`);
});

test.run();
