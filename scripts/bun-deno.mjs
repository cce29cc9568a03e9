// Bun and Deno for the tests that run the package under them (test/package-bun-deno.test.mjs),
// offline after the first time: each runtime's platform binary comes from its npm package
// (@oven/bun-<platform>, @deno/<platform>: what the `bun` and `deno` packages install as
// optional dependencies), fetched with `npm pack` into the gitignored .cache/runtimes/<name>/
// <version>, as scripts/node-dist.mjs does for Node. Not devDependencies: that would add
// ~200 MB of binaries and two postinstall scripts to every contributor's `npm install`.
//
//   node scripts/bun-deno.mjs            fetch both (if needed) and print where they are
//   node scripts/bun-deno.mjs --sources  measure which of the JavaScript backend's sources
//                                        Node, Bun and Deno provide (test/fixtures/js-sources.cjs):
//                                        the table in README.md, "Bun and Deno"
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packUnpacked, root } from './node-dist.mjs';

/**
 * The pinned versions (the latest of each when this was last updated), and the package
 * holding each platform's binary. Bun's linux-x64 build needs AVX2 (its -baseline package
 * does not); this machine and CI have it.
 */
export const RUNTIMES = {
  bun: {
    version: '1.4.5',
    packages: {
      'linux-x64': '@oven/bun-linux-x64',
      'linux-arm64': '@oven/bun-linux-aarch64',
      'darwin-x64': '@oven/bun-darwin-x64',
      'darwin-arm64': '@oven/bun-darwin-aarch64',
    },
    bin: join('bin', 'bun'),
    reports: (out, v) => out.trim() === v,
  },
  deno: {
    version: '2.9.6',
    packages: {
      'linux-x64': '@deno/linux-x64-glibc',
      'linux-arm64': '@deno/linux-arm64-glibc',
      'darwin-x64': '@deno/darwin-x64',
      'darwin-arm64': '@deno/darwin-arm64',
    },
    bin: 'deno',
    reports: (out, v) => out.startsWith(`deno ${v} `),
  },
};

export const runtimeCacheDir = join(root, '.cache', 'runtimes');

/** Why `name` cannot be had here (no package for this platform), or null. */
export function runtimeUnavailable(name) {
  const rt = RUNTIMES[name];
  if (!rt) throw new RangeError(`runtime must be one of ${Object.keys(RUNTIMES).join(', ')}; got ${JSON.stringify(name)}`);
  const platform = `${process.platform}-${process.arch}`;
  return rt.packages[platform] ? null : `no ${name} package for ${platform} (have: ${Object.keys(rt.packages).join(', ')})`;
}

/**
 * The path of `name`'s executable at its pinned version, fetched into the cache the first
 * time and checked to report that version. Throws with the reason when it cannot be had.
 */
export function ensureRuntime(name, { log = (m) => console.error(m) } = {}) {
  const problem = runtimeUnavailable(name);
  if (problem) throw new Error(problem);
  const rt = RUNTIMES[name];
  const dir = join(runtimeCacheDir, name, rt.version);
  const exe = join(dir, rt.bin);
  if (existsSync(join(dir, '.complete'))) return exe;
  const spec = `${rt.packages[`${process.platform}-${process.arch}`]}@${rt.version}`;
  log(`fetching ${spec} (the ${name} binary) from the npm registry`);
  const tmp = join(dirname(dir), `.tmp-${rt.version}-${process.pid}`);
  const unpacked = packUnpacked(spec, tmp);
  const r = spawnSync(join(unpacked, rt.bin), ['--version'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0 || !rt.reports(r.stdout || '', rt.version)) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`${spec}: its ${rt.bin} --version says ${JSON.stringify((r.stdout || '').trim())} (exit ${r.status}; ${(r.stderr || r.error?.message || '').trim()})`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(unpacked, dir);
  rmSync(tmp, { recursive: true, force: true });
  writeFileSync(join(dir, '.complete'), `${new Date().toISOString()}\n`);
  return exe;
}

/** The arguments that run a script under `name` with GC exposed (Deno: every permission). */
export function runtimeArgs(name, script) {
  if (name === 'node') return ['--expose-gc', script];
  if (name === 'deno') return ['run', '-A', '--v8-flags=--expose-gc', script];
  return [script];
}

function measureSources() {
  const script = join(root, 'test', 'fixtures', 'js-sources.cjs');
  const cols = [['node', process.execPath, process.version]];
  for (const name of Object.keys(RUNTIMES)) cols.push([name, ensureRuntime(name), RUNTIMES[name].version]);
  const results = cols.map(([name, exe]) => {
    const r = spawnSync(exe, runtimeArgs(name, script), { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' } });
    const line = (r.stdout || '').split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`${name}: no result (exit ${r.status}): ${(r.stderr || '').trim()}`);
    return JSON.parse(line);
  });
  console.log(`| source | ${cols.map(([n, , v]) => `${n} ${v}`).join(' | ')} |`);
  console.log(`|---|${cols.map(() => '---').join('|')}|`);
  for (const key of Object.keys(results[0])) console.log(`| ${key} | ${results.map((r) => r[key]).join(' | ')} |`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--sources')) {
    measureSources();
  } else {
    for (const name of Object.keys(RUNTIMES)) {
      const exe = ensureRuntime(name);
      console.log(`${name}\t${RUNTIMES[name].version}\t${exe}`);
    }
  }
}
