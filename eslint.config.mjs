// ESLint for the TypeScript library (type-aware typescript-eslint rules) and the plain JS
// around it (scripts, tests, benchmarks, the CLI shim). `npm run lint` runs it together with
// clang-format (scripts/lint.mjs).
import { defineConfig, globalIgnores } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default defineConfig(
  // Build output, binaries, caches and test leftovers (node_modules is ignored by default).
  globalIgnores(['dist/', 'build*/', 'prebuilds/', '.cache/', 'test/artifacts/', 'bench/results/']),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['lib/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: {
      ecmaVersion: 'latest',
      globals: { ...globals.node },
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    // After the shared configs, which turn it on.
    rules: {
      // Control characters in a regex are deliberate here: text from the network is cleaned
      // of them (cli, statsd) and tests strip ANSI colours.
      'no-control-regex': 'off',
    },
  },
);
