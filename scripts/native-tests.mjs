#!/usr/bin/env node
// Builds and runs the native core tests (native/core/, no Node or V8 headers) through
// CMake/ctest, once under AddressSanitizer + UndefinedBehaviorSanitizer and once under
// ThreadSanitizer (the ring and seqlock tests run a second thread). It ends with one line
// `N passed, N failed` (`npm run test:all` runs it).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const configs = [
  { name: 'asan+ubsan', sanitize: 'address' },
  { name: 'tsan', sanitize: 'thread' },
];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', ...opts });
  return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? ''), error: r.error };
}

function finish(summary) {
  if (summary.skipped && process.env.CI) {
    // .ci/run installs cmake: under CI these tests must run.
    console.log(`✗ native core tests: ${summary.reason} (CI must run them)`);
    console.log('0 passed, 1 failed');
    summary.failed = 1;
  } else if (summary.skipped) {
    console.log(`SKIP native core tests: ${summary.reason}`);
    console.log('0 passed, 0 failed, 1 skipped');
  } else console.log(`${summary.passed} passed, ${summary.failed} failed`);
  process.exitCode = summary.failed > 0 ? 1 : 0;
}

const probe = run('cmake', ['--version']);
if (probe.error || probe.status !== 0) {
  finish({ skipped: true, reason: 'cmake not found', passed: 0, failed: 0, configs: [] });
} else {
  let passed = 0;
  let failed = 0;
  for (const cfg of configs) {
    const dir = join(root, 'build-native-tests', cfg.name);
    const steps = [
      ['cmake', ['-S', root, '-B', dir, '-DRS_BUILD_TESTS=ON', `-DRS_SANITIZE=${cfg.sanitize}`, '-DCMAKE_BUILD_TYPE=Debug']],
      ['cmake', ['--build', dir, '-j', '2']],
    ];
    let ok = true;
    for (const [cmd, args] of steps) {
      const r = run(cmd, args);
      if (r.status !== 0) {
        process.stdout.write(r.out);
        console.log(`✗ ${cfg.name}: ${cmd} ${args.join(' ')} failed`);
        ok = false;
        break;
      }
    }
    if (!ok) {
      failed++;
      continue;
    }
    const t = run('ctest', ['--test-dir', dir, '--output-on-failure', '-V'], { env: { ...process.env } });
    const m = /(\d+)% tests passed, (\d+) tests failed out of (\d+)/.exec(t.out);
    if (!m) {
      process.stdout.write(t.out);
      failed++;
      continue;
    }
    const total = Number(m[3]);
    const f = Number(m[2]);
    passed += total - f;
    failed += f;
    if (f > 0) process.stdout.write(t.out);
    console.log(`${f > 0 ? '✗' : '✓'} ${cfg.name}: ${total - f}/${total} passed`);
  }
  finish({ skipped: false, passed, failed, configs: configs.map((c) => c.name) });
}
