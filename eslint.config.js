import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', 'clients/*/dist/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config.ts (loadConfig).' },
      ],
    },
  },
  {
    // The demo page (web/) runs in browsers.
    files: ['web/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // The entry points hand process.env to loadConfig; tests and benches read their own settings.
    files: ['src/main.ts', 'src/platform/migrate.cli.ts', 'test/**', 'bench/**', 'vitest.config.ts', 'vitest.chaos.config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
