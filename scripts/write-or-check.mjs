// Shared by the generators: write a generated file, or with --check fail when the
// committed one differs (so tests catch stale generated files).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const checkOnly = process.argv.includes('--check');

/** Returns false (and reports) when --check finds `file` stale; writes it otherwise. */
export function writeOrCheck(file, text, regenerate) {
  let old = null;
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    // Not written yet: stale under --check, written otherwise.
  }
  if (old === text) return true;
  if (checkOnly) {
    console.error(`stale generated file: ${file} (run: ${regenerate})`);
    return false;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
  return true;
}
