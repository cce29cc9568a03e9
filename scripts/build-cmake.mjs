#!/usr/bin/env node
// `npm run build:cmake`: the addon built by cmake-js from CMakeLists.txt (same sources and
// defines as binding.gyp), for developers and IDEs (compile_commands.json). Offline: it uses
// the headers of the Node running it, from npm's nodedir setting when set, else found
// beside the node binary (<prefix>/include/node). Output: build-cmake/Release/runtime_sampler.node,
// checked by loading it here. Use it with RUNTIME_SAMPLER_BINARY=<that path>.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { nodeHeaderDir, root } from './node-dist.mjs';

const nodedir = nodeHeaderDir('build:cmake');
if (!nodedir) process.exit(1);
const out = join(root, 'build-cmake');
const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', out, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: nodedir, CMAKE_EXPORT_COMPILE_COMMANDS: '1' },
});
if (r.status !== 0) process.exit(r.status ?? 1);
const built = join(out, 'Release', 'runtime_sampler.node');
if (!existsSync(built)) {
  console.error(`build:cmake: cmake-js finished but ${built} is missing`);
  process.exit(1);
}
const b = createRequire(import.meta.url)(built);
if (String(b.moduleVersion) !== process.versions.modules) {
  console.error(`build:cmake: ${built} reports ABI ${b.moduleVersion}, this Node is ABI ${process.versions.modules} (headers from ${nodedir})`);
  process.exit(1);
}
console.error(`build:cmake: ${built} (ABI ${b.moduleVersion}, headers from ${nodedir})`);
