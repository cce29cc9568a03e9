#!/usr/bin/env node
'use strict';
// The package's install step (npm runs it with the `node` that will run the app).
//
//  - A binary that loads and matches this Node's ABI already present (a prebuild from
//    prebuilds/<platform>-<arch>/, or an earlier source build in build/Release): done.
//  - Otherwise build from source with node-gyp, saying so in one line first.
//  - When the source build fails too, the install still succeeds (exit 0) with one line:
//    the library then runs on its JavaScript backend (lib/js-backend.ts). A metrics library
//    must never be why an app cannot install. RUNTIME_SAMPLER_BACKEND=native makes it an error.
//  - RUNTIME_SAMPLER_PREBUILDS_ONLY=1: a missing prebuild is an error, never a build.
//  - npm_config_build_from_source=true (`npm install --build-from-source`) or
//    RUNTIME_SAMPLER_BUILD_FROM_SOURCE=1: always build from source.
//
// The check runs in a child process, so a binary that cannot load cannot take this process
// down with it.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const truthy = (v) => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
const env = process.env;
const prebuildsOnly = truthy(env.RUNTIME_SAMPLER_PREBUILDS_ONLY);
const needNative = (env.RUNTIME_SAMPLER_BACKEND || '').trim().toLowerCase() === 'native';
const forceSource = env.npm_config_build_from_source === 'true' || truthy(env.RUNTIME_SAMPLER_BUILD_FROM_SOURCE);
// The Node lines with prebuilt binaries: package.json's "nodeTargets" (the one list).
const lines = require('../package.json').nodeTargets.map((v) => v.split('.')[0]);
const where = `${process.platform}-${process.arch}, Node ${process.version} (ABI ${process.versions.modules})`;
// The platforms with prebuilt binaries: what the package ships (prebuilds/<platform>-<arch>/).
const shipped = (() => {
  try {
    return fs.readdirSync(path.join(root, 'prebuilds'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return [];
  }
})();
const platforms = shipped.length > 0 ? `${shipped.join(' and ')} (glibc)` : 'linux-x64 and linux-arm64 (glibc) in the published package';

function say(line) {
  process.stderr.write(`runtime-sampler: ${line}\n`);
}

// The runtime loader's own choice (dist/cjs/binary-choice.js), not a copy of it. The published
// package ships dist/; a git checkout has none on its first `npm install` (npm runs "install"
// before "prepare", which builds dist/), and then nothing can be checked.
const chooser = path.join(root, 'dist', 'cjs', 'binary-choice.js');
const noLoader = 'dist/ is not built yet (a git checkout: npm runs "prepare", which builds it, after "install")';

/**
 * The binary the package would load, checked in a child process with the loader's
 * chooseBinary: build/Release when it matches this ABI and the library's layout, else the
 * prebuild node-gyp-build's tag matching picks for this runtime, ABI and libc.
 */
function probe() {
  if (!fs.existsSync(chooser)) return { ok: false, noLoader: true, reason: noLoader };
  const code = `
    const c = require(${JSON.stringify(chooser)}).chooseBinary();
    console.log(JSON.stringify(c.file !== undefined ? { file: c.file } : { tried: c.tried }));`;
  // RUNTIME_SAMPLER_BINARY points the loader at one file at run time; installing checks the
  // package's own binaries.
  const childEnv = { ...env };
  delete childEnv.RUNTIME_SAMPLER_BINARY;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: root, env: childEnv });
  let got = null;
  try {
    got = JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    // No JSON line: the child failed; stderr says why, below.
  }
  if (!got) {
    const msg = (r.stderr || '').trim().split('\n').find((l) => l.trim()) || `exit ${r.status}`;
    return { ok: false, reason: `loading it failed: ${msg}` };
  }
  if (got.file) return { ok: true, file: got.file };
  const tried = got.tried.map((t) => `${path.relative(root, t.file)}: ${t.problem}`);
  return { ok: false, reason: tried.join('; ') || `none in prebuilds/${process.platform}-${process.arch}` };
}

function buildFromSource(why) {
  say(`${why} — building from source with node-gyp (needs python3, make and a C++17 compiler)`);
  // npm tells scripts where its bundled node-gyp is; otherwise the node-gyp on PATH.
  const gyp = env.npm_config_node_gyp;
  const [cmd, args] = gyp && gyp.endsWith('.js') ? [process.execPath, [gyp, 'rebuild']] : [gyp || 'node-gyp', ['rebuild']];
  // The build's output is shown only when its failure fails the install: otherwise the
  // notice below is all an install without a compiler prints.
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  if (r.error || r.status !== 0) {
    const failed = `the source build failed (${r.error ? r.error.message : `exit ${r.status}`})`;
    if (!needNative) {
      say(`${failed} — installed without a native binary: runtime-sampler runs on its JavaScript backend (fewer metrics; nativeInfo.backend === 'js'). For the native one: python3, make and g++, then npm rebuild runtime-sampler.`);
      process.exit(0);
    }
    process.stderr.write(`${r.stdout || ''}${r.stderr || ''}`.slice(-20000));
    say(`${failed}, and RUNTIME_SAMPLER_BACKEND=native asks for the native backend. ` +
      `Install python3, make and g++ (or clang), or use a Node version with a prebuilt binary (${lines.join(', ')} on ${platforms}).`);
    process.exit(r.status || 1);
  }
  const after = probe();
  if (after.noLoader) {
    const built = path.join(root, 'build', 'Release', 'runtime_sampler.node');
    if (!fs.existsSync(built)) {
      say(`the source build finished without ${path.relative(root, built)}`);
      process.exit(1);
    }
    say(`built ${path.relative(root, built)} for ${where} (${noLoader}: the library checks it when it loads)`);
    return;
  }
  if (!after.ok) {
    say(`the source build finished but its binary does not load: ${after.reason}`);
    process.exit(1);
  }
  say(`built ${path.relative(root, after.file)} for ${where}`);
}

// Bun and Deno run this with their own binary (`bun install` with the package trusted, `deno
// install --allow-scripts`): the addon cannot run there (foreignRuntime in binary-choice.ts),
// so there is nothing to check or build, and a probe would load a binary that ends the process.
const foreign = fs.existsSync(chooser) ? require(chooser).foreignRuntime() : null;
if (foreign) {
  if (needNative) {
    say(`${foreign} cannot run the native addon (it calls V8's C++ API and libuv directly), and RUNTIME_SAMPLER_BACKEND=native asks for it; run the app with Node, or unset RUNTIME_SAMPLER_BACKEND`);
    process.exit(1);
  }
  say(`${foreign}: runtime-sampler runs on its JavaScript backend there (the native addon needs Node: it calls V8's C++ API and libuv directly) — nothing to build`);
  process.exit(0);
}

if (forceSource) {
  if (prebuildsOnly) {
    say('RUNTIME_SAMPLER_PREBUILDS_ONLY and a build from source were both asked for; pick one');
    process.exit(1);
  }
  buildFromSource('a build from source was asked for');
} else {
  const found = probe();
  if (found.ok) {
    say(`using ${path.relative(root, found.file)} for ${where}`);
  } else if (prebuildsOnly) {
    say(`no prebuilt binary for ${where} (${found.reason}), and RUNTIME_SAMPLER_PREBUILDS_ONLY=1 forbids a source build. ` +
      `Prebuilt binaries ship for Node ${lines.slice(0, -1).join(', ')} and ${lines[lines.length - 1]} on ${platforms}; ` +
      'unset RUNTIME_SAMPLER_PREBUILDS_ONLY to build from source.');
    process.exit(1);
  } else {
    buildFromSource(found.noLoader ? `cannot check a binary for ${where}: ${noLoader}` : `no prebuilt binary for ${where}`);
  }
}
