#!/usr/bin/env node
// The runtime-sampler command: see lib/cli.ts (runtime-sampler --help).
'use strict';
// Output piped into `head` and the like: a closed pipe ends us quietly.
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
require('../dist/cjs/cli.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { process.stderr.write(`runtime-sampler: ${e && e.stack ? e.stack : e}\n`); process.exitCode = 1; },
);
