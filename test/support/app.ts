import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.js';
import { createContainer, type Container } from '../../src/container.js';
import { createLogger } from '../../src/platform/logger.js';
import { withContractCheck } from './openapi-contract.js';
import { TEST_DB_VIA_PGBOUNCER } from './scale.js';

/**
 * A Config as the server would parse it from these variables (quiet logs, test defaults).
 * Through PgBouncer (TEST_DB_VIA_PGBOUNCER) statements are unnamed unless `env` says otherwise.
 */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...(TEST_DB_VIA_PGBOUNCER ? { DB_PREPARED_STATEMENTS: 'false' } : {}), ...env });
}

export interface TestApp extends Container {
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
}

/** Builds a whole app (any backend) from env-style settings, capturing its log lines. */
export async function createTestApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  // Test apps keep small pools (a file may build several apps on one database); a test that
  // needs more says so in `env`.
  const config = testConfig({ LOG_LEVEL: 'info', DB_POOL_SIZE: '2', DB_MAX_OVERFLOW: '8', ...env });
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination });
  // Each app keeps its Redis cache keys under a prefix of its own, so a test never touches keys it did not make.
  const prefix = `shopassist:test:${randomUUID()}:`;
  const container = await createContainer(config, { logger, redisKeyPrefix: prefix, conversationKeyPrefix: `${prefix.slice(0, -1)}-conv:` });
  // Every response is checked against the OpenAPI document (see test/support/contract-setup.ts).
  return Object.assign(container, { logs, app: await withContractCheck(container.app) });
}
