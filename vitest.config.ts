import { defineConfig } from 'vitest/config';

// Three projects: unit tests touch no I/O; integration tests use real PostgreSQL (TEST_DATABASE_URL,
// or an embedded one per test file when it is unset) and Redis (TEST_REDIS_URL); browser tests
// drive the demo page in the system Chromium (playwright-core) against a listening server.
export default defineConfig({
  // Workspace packages (@shopassist/client) resolve to their TypeScript sources (the `source`
  // export condition, ahead of Vite's defaults), so tests need no build first.
  resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
  ssr: { resolve: { conditions: ['source', 'module', 'node', 'development|production'] } },
  test: {
    // Under CI the counts are also written as JSON, for the one-line summary .ci/run prints.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.unit.test.ts'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          environment: 'node',
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/contract-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/**/*.browser.test.ts'],
          environment: 'node',
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Builds dist/web first; the page's API calls are checked against the OpenAPI document too.
          globalSetup: ['test/support/browser-global-setup.ts'],
          setupFiles: ['test/support/contract-setup.ts'],
        },
      },
    ],
  },
});
