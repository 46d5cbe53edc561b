import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The storage contract suites, the batching tests and the query route tests, run a second time
 * through PgBouncer in transaction mode with DB_PREPARED_STATEMENTS=false (the `pgbouncer`
 * project; TEST_PGBOUNCER_URL from .ci/scale-services). Without it the project is left out with
 * one loud line; under CI=true that fails the run.
 */
const THROUGH_PGBOUNCER = [
  'test/credits/credit-repository.integration.test.ts',
  'test/credits/credit-batched-charges.integration.test.ts',
  'test/credits/credit-holds.integration.test.ts',
  'test/consent/consent-repository.integration.test.ts',
  'test/idempotency/idempotency-store.integration.test.ts',
  'test/assistant/query-gate.integration.test.ts',
  'test/assistant/answer-finish.integration.test.ts',
  'test/rate-limit/rate-limit-store.integration.test.ts',
  'test/cache/cache-store.integration.test.ts',
  'test/cache/cache-batched-writes.integration.test.ts',
  'test/conversations/conversation-store.integration.test.ts',
  'test/conversations/conversation-batched-appends.integration.test.ts',
  'test/assistant/assistant-query.integration.test.ts',
];

function pgbouncerProject(): TestProjectInlineConfiguration[] {
  if (!process.env.TEST_PGBOUNCER_URL || !process.env.TEST_DATABASE_URL) {
    const line = '!!! TEST_PGBOUNCER_URL or TEST_DATABASE_URL unset: the `pgbouncer` test project (suites through PgBouncer) is SKIPPED.';
    if (process.env.CI === 'true') throw new Error(`${line} CI=true: a missing service fails the run.`);
    console.warn(`\n${line}\n`);
    return [];
  }
  return [
    {
      extends: true,
      test: {
        name: 'pgbouncer',
        include: THROUGH_PGBOUNCER,
        environment: 'node',
        pool: 'forks',
        testTimeout: 60_000,
        hookTimeout: 120_000,
        env: { TEST_DB_VIA_PGBOUNCER: 'true' },
        globalSetup: ['test/support/global-setup.ts'],
        setupFiles: ['test/support/contract-setup.ts'],
      },
    },
  ];
}

// Three projects (and `pgbouncer`, see above): unit tests touch no I/O; integration tests use real PostgreSQL (TEST_DATABASE_URL,
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
      ...pgbouncerProject(),
    ],
  },
});
