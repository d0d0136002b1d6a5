import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Files that still hold a function over 60 lines: warned, not failed, until each is split (then drop it). */
const LONG_FUNCTIONS_TO_SPLIT = [
  'bench/web/run.ts',
  'src/capture/analyze.ts',
  'src/detect/scan-detector.ts',
  'src/export/clickhouse/index.ts',
  'src/firewall/index.ts',
  'src/firewall/tproxy.ts',
  'src/listen/tarpit.ts',
  'src/listen/transparent.ts',
  'src/store/daily-csv.ts',
  'src/store/index.ts',
  'src/store/sqlite/top-ports.ts',
  'src/store/sqlite/writer.ts',
];
const maxFunctionLines = { max: 60, skipBlankLines: true, skipComments: true };

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'src/web/static/vendor/', 'test-artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Functions with one job stay short; tests (long tables of cases) are left out.
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    ignores: ['**/*.test.ts', 'test/**', 'src/web/static/**'],
    rules: { 'max-lines-per-function': ['error', maxFunctionLines] },
  },
  { files: LONG_FUNCTIONS_TO_SPLIT, rules: { 'max-lines-per-function': ['warn', maxFunctionLines] } },
  {
    files: ['src/web/static/**/*.js'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        EventSource: 'readonly',
        location: 'readonly',
        history: 'readonly',
        uPlot: 'readonly',
        localStorage: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        URLSearchParams: 'readonly',
      },
    },
  },
);
