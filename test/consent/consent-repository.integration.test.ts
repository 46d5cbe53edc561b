import { afterAll, beforeAll } from 'vitest';
import { MemoryConsentRepository } from '../../src/consent/consent.repository.memory.js';
import { PostgresConsentRepository } from '../../src/consent/consent.repository.postgres.js';
import { unguarded } from '../../src/platform/storage-guard.js';
import { consentRepositoryContract } from '../contracts/consent-repository.contract.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';

consentRepositoryContract('memory', async (clock) => ({ repo: new MemoryConsentRepository(clock.now), dispose: async () => {} }));

let db: MigratedDatabase;
beforeAll(async () => {
  db = await createMigratedDatabase();
});
afterAll(async () => {
  await db?.dispose();
});

consentRepositoryContract('postgres', async (clock) => {
  await db.truncate();
  return { repo: new PostgresConsentRepository(db.database.sequelize, unguarded, clock.now), dispose: async () => {} };
});
