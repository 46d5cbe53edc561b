import { defineConfig } from 'vitest/config';

// The chaos test (`npm run test:chaos`): API processes on one PostgreSQL server
// (TEST_DATABASE_URL) under injected faults, for a few minutes. Apart from `npm test`, whose
// projects (vitest.config.ts) never include these files.
export default defineConfig({
  test: {
    name: 'chaos',
    include: ['test/chaos/**/*.chaos.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // Under CI the counts are also written as JSON (CHAOS_RESULTS names the file: .ci/run runs the
    // test twice, directly and through PgBouncer), for the closing line .ci/run prints.
    reporters: process.env.CI ? ['default', ['json', { outputFile: process.env.CHAOS_RESULTS ?? 'test-results/vitest-chaos.json' }]] : ['default'],
  },
});
