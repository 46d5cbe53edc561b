import { defineConfig } from 'vitest/config';

// Two projects: unit tests touch no I/O; integration tests use real PostgreSQL (TEST_DATABASE_URL,
// or an embedded one per test file when it is unset) and Redis (TEST_REDIS_URL).
export default defineConfig({
  test: {
    // Under CI the counts are also written as JSON, for the one-line summary .ci/run prints.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.unit.test.ts'],
          environment: 'node',
        },
      },
      {
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
    ],
  },
});
