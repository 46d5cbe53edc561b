import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379/0';

/** Whether a Redis answers at TEST_REDIS_URL (one PING, 1 s at most). */
export async function redisAnswers(url = TEST_REDIS_URL): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * For Redis test suites: true when Redis answers. Where none does, the suite is skipped with a
 * loud line, except under CI=true, where a missing service fails the run.
 */
export async function requireRedis(suite: string): Promise<boolean> {
  if (await redisAnswers()) return true;
  const line = `!!! Redis does not answer at ${TEST_REDIS_URL}: ${suite} is SKIPPED. Set TEST_REDIS_URL or start Redis to run it.`;
  if (process.env.CI === 'true') throw new Error(`${line} (CI=true: a missing service fails the run)`);
  console.warn(`\n${'!'.repeat(100)}\n${line}\n${'!'.repeat(100)}\n`);
  return false;
}
