import { afterAll, beforeAll } from 'vitest';
import { MemoryCreditRepository } from '../../src/credits/credit.repository.memory.js';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import { unguarded } from '../../src/platform/storage-guard.js';
import { creditRepositoryContract } from '../contracts/credit-repository.contract.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';

creditRepositoryContract('memory', async (policy, clock) => ({
  repo: new MemoryCreditRepository(policy, clock.now),
  dispose: async () => {},
}));

let db: MigratedDatabase;
beforeAll(async () => {
  db = await createMigratedDatabase();
});
afterAll(async () => {
  await db?.dispose();
});

creditRepositoryContract('postgres', async (policy, clock) => {
  await db.truncate();
  return {
    repo: new PostgresCreditRepository(db.database.sequelize, unguarded, policy, clock.now),
    dispose: async () => {},
  };
});
