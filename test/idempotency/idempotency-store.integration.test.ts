import { Sequelize } from 'sequelize';
import pg from 'pg';
import { createPostgresCacheStore } from '../../src/cache/cache.store.postgres.js';
import { MemoryCreditRepository } from '../../src/credits/credit.repository.memory.js';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import { MemoryIdempotencyStore } from '../../src/idempotency/idempotency.store.memory.js';
import { PostgresIdempotencyStore } from '../../src/idempotency/idempotency.store.postgres.js';
import { Migrator } from '../../src/platform/migrator.js';
import { unguarded } from '../../src/platform/storage-guard.js';
import { TestClock } from '../contracts/clock.js';
import { idempotencyStoreContract, MAX_KEYS } from '../contracts/idempotency-store.contract.js';
import { createTestDatabase } from '../support/database.js';

const policy = { guestAllowance: 10, registeredAllowance: 100, resetPeriodMs: 24 * 3600_000 };

idempotencyStoreContract('memory', async () => {
  const clock = new TestClock();
  const credits = new MemoryCreditRepository(policy, clock.now);
  return { store: new MemoryIdempotencyStore(clock.now, { maxKeysPerUser: MAX_KEYS }, credits), credits, clock };
});

idempotencyStoreContract('postgres', async () => {
  const db = await createTestDatabase();
  const sequelize = new Sequelize(db.url, { dialect: 'postgres', dialectModule: pg, logging: false, pool: { max: 4 } });
  await new Migrator(sequelize).up();
  const clock = new TestClock();
  return {
    store: new PostgresIdempotencyStore(sequelize, unguarded, clock.now, { maxKeysPerUser: MAX_KEYS }),
    credits: new PostgresCreditRepository(sequelize, unguarded, policy, clock.now),
    clock,
    async dispose() {
      await sequelize.close();
      await db.dispose();
    },
  };
});

// CACHE_BACKEND=postgres: answers held by a `query_cache` row are referred to, not copied.
idempotencyStoreContract('postgres referring to query_cache', async () => {
  const db = await createTestDatabase();
  const sequelize = new Sequelize(db.url, { dialect: 'postgres', dialectModule: pg, logging: false, pool: { max: 4 } });
  await new Migrator(sequelize).up();
  const clock = new TestClock();
  return {
    store: new PostgresIdempotencyStore(sequelize, unguarded, clock.now, { maxKeysPerUser: MAX_KEYS, referToCache: true }),
    credits: new PostgresCreditRepository(sequelize, unguarded, policy, clock.now),
    cache: createPostgresCacheStore(sequelize),
    clock,
    async dispose() {
      await sequelize.close();
      await db.dispose();
    },
  };
});
