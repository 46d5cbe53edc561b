import { TEST_DATABASE_URL } from './database.js';
import { redisAnswers, TEST_REDIS_URL } from './redis.js';

/** Says once, loudly, what the integration tests run against. */
export default async function setup(): Promise<void> {
  const pgTarget = TEST_DATABASE_URL ? `PostgreSQL server from TEST_DATABASE_URL (a fresh database per test file)` : 'embedded PostgreSQL (one in-memory instance per test file; set TEST_DATABASE_URL to use a server)';
  console.log(`integration tests: ${pgTarget}`);
  if (await redisAnswers()) {
    console.log(`integration tests: Redis at ${TEST_REDIS_URL}`);
  } else if (process.env.CI === 'true') {
    throw new Error(`Redis does not answer at ${TEST_REDIS_URL} and CI=true: a missing service fails the run.`);
  } else {
    console.warn(`\n!!! Redis does not answer at ${TEST_REDIS_URL}: the Redis tests will be SKIPPED !!!\n`);
  }
}
