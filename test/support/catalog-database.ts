import { PostgresCatalogStore } from '../../src/catalog/catalog.store.postgres.js';
import type { Logger } from '../../src/platform/logger.js';
import { createTestApp, testConfig } from './app.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/**
 * A fresh database as the app leaves it at its first start (migrated, the catalog seeded), and a
 * catalog store of its own on it, as an operator's upload would write through.
 */
export async function seededCatalogDatabase(logger: Logger): Promise<{ testDb: TestDatabase; writer: PostgresCatalogStore }> {
  const testDb = await createTestDatabase();
  const app = await createTestApp({ STORAGE_BACKEND: 'postgres', CACHE_BACKEND: 'memory', DATABASE_URL: testDb.url });
  await app.close();
  return { testDb, writer: new PostgresCatalogStore(testDb.url, testConfig().database, logger) };
}
