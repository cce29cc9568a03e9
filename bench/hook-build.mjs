// Measuring builds of the loop hook for bench/hook-cycles.mjs and bench/hook-floor.mjs:
// the addon built with extra CXXFLAGS (RS_HOOK_TIMING, RS_HOOK_FLOOR: never in a shipped
// binary) into a package copy of its own under .cache/, loadable with require(dir).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Builds the checkout at `root` with `cxxflags` into `dir`; exits the process on failure. */
export function buildHookVariant(root, dir, cxxflags, label) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
  const b = spawnSync('npx', ['node-gyp', 'rebuild'], { cwd: root, env: { ...process.env, CXXFLAGS: cxxflags }, encoding: 'utf8' });
  if (b.status !== 0) {
    console.error(`${label}: building ${dir} failed:\n${b.stdout}\n${b.stderr}`);
    process.exit(1);
  }
  cpSync(join(root, 'build', 'Release', 'runtime_sampler.node'), join(dir, 'build', 'Release', 'runtime_sampler.node'));
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
}

/** Rebuilds the checkout as shipped (after variants left theirs in build/). */
export function restoreShippedBuild(root, label) {
  const r = spawnSync('npx', ['node-gyp', 'rebuild'], { cwd: root, env: { ...process.env, CXXFLAGS: '' }, encoding: 'utf8' });
  if (r.status !== 0) console.error(`${label}: rebuilding the checkout failed; run npx node-gyp rebuild`);
}
