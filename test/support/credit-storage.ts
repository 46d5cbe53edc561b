import { createDatabase, type Database } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import { Migrator } from '../../src/platform/migrator.js';
import { testConfig } from './app.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from './database.js';

/**
 * Pool settings for a test database: the configured pool on a server; on the embedded one (a
 * single backend whose socket server takes at most 32 connections) a small pool, so that two
 * pools (two "processes") still fit.
 */
export function testPoolSettings(): { poolSize: number; maxOverflow: number } {
  return TEST_DATABASE_URL ? { poolSize: 10, maxOverflow: 20 } : { poolSize: 2, maxOverflow: 2 };
}

/** One migrated PostgreSQL database (a fresh one per test file) and a way to empty its credit tables. */
export interface MigratedDatabase {
  database: Database;
  truncate(): Promise<void>;
  dispose(): Promise<void>;
}

export async function createMigratedDatabase(overrides: Partial<ReturnType<typeof testConfig>['database']> = {}): Promise<MigratedDatabase> {
  const testDb: TestDatabase = await createTestDatabase();
  const database = await createDatabase({ ...testConfig().database, url: testDb.url, ...testPoolSettings(), ...overrides }, createLogger({ level: 'silent' }));
  await new Migrator(database.sequelize).up();
  return {
    database,
    async truncate() {
      await database.sequelize.query('TRUNCATE user_credits, credit_transactions, credit_holds, user_consents, rate_limit_counters');
    },
    async dispose() {
      await database.close();
      await testDb.dispose();
    },
  };
}
