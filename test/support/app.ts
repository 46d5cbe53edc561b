import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.js';
import { createContainer, type Container } from '../../src/container.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDatabase } from './database.js';
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

/** Apps sharing one fresh PostgreSQL database, as that many API processes behind a load balancer. */
export interface AppsSharingDatabase {
  apps: TestApp[];
  /** The database's URL, for a test that reads it directly. */
  url: string;
  /** Closes every app, then drops the database. */
  close(): Promise<void>;
}

/** `count` apps, one after the other, on one fresh test database (STORAGE_BACKEND=postgres; `env` says the rest). */
export async function appsSharingDatabase(count: number, env: Record<string, string | undefined>): Promise<AppsSharingDatabase> {
  const testDb = await createTestDatabase();
  const apps: TestApp[] = [];
  const close = async () => {
    for (const app of apps) await app.close();
    await testDb.dispose();
  };
  try {
    for (let i = 0; i < count; i++) apps.push(await createTestApp({ STORAGE_BACKEND: 'postgres', DATABASE_URL: testDb.url, ...env }));
  } catch (err) {
    await close();
    throw err;
  }
  return { apps, url: testDb.url, close };
}
