import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface StorageBackendCase {
  name: 'memory' | 'postgres';
  /** The app settings of this backend (read after the file's test database exists). */
  env: () => Record<string, string>;
}

/**
 * Both STORAGE_BACKENDs for a route test file, for `describe.each`: memory, and PostgreSQL on a
 * test database made for this file (before its tests, dropped after them). `postgresCache`
 * puts the query cache in PostgreSQL too; otherwise it is in memory.
 */
export function storageBackends(options: { postgresCache?: boolean } = {}): StorageBackendCase[] {
  let testDb: TestDatabase | undefined;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb?.dispose();
  });
  return [
    { name: 'memory', env: () => ({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory' }) },
    {
      name: 'postgres',
      env: () => ({ STORAGE_BACKEND: 'postgres', CACHE_BACKEND: options.postgresCache ? 'postgres' : 'memory', DATABASE_URL: testDb!.url }),
    },
  ];
}
