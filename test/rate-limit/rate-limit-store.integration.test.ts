import { afterAll, beforeAll } from 'vitest';
import { unguarded } from '../../src/platform/storage-guard.js';
import { MemoryRateLimitStore } from '../../src/rate-limit/rate-limit.store.memory.js';
import { PostgresRateLimitStore } from '../../src/rate-limit/rate-limit.store.postgres.js';
import { rateLimitStoreContract } from '../contracts/rate-limit-store.contract.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';

rateLimitStoreContract('memory', async (clock) => ({ store: new MemoryRateLimitStore(clock.now), dispose: async () => {} }));

let db: MigratedDatabase;
beforeAll(async () => {
  db = await createMigratedDatabase();
});
afterAll(async () => {
  await db?.dispose();
});

rateLimitStoreContract('postgres', async (clock) => ({
  store: new PostgresRateLimitStore(db.database.sequelize, unguarded, clock.now),
  dispose: async () => {},
}));
