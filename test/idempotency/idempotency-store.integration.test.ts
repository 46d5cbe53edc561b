import { createPostgresCacheStore } from '../../src/cache/cache.store.postgres.js';
import { MemoryCreditRepository } from '../../src/credits/credit.repository.memory.js';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import { MemoryIdempotencyStore } from '../../src/idempotency/idempotency.store.memory.js';
import { PostgresIdempotencyStore } from '../../src/idempotency/idempotency.store.postgres.js';
import { unguarded } from '../../src/platform/storage-guard.js';
import { TestClock } from '../contracts/clock.js';
import { idempotencyStoreContract, MAX_KEYS } from '../contracts/idempotency-store.contract.js';
import { createMigratedDatabase } from '../support/credit-storage.js';

const policy = { guestAllowance: 10, registeredAllowance: 100, resetPeriodMs: 24 * 3600_000 };

idempotencyStoreContract('memory', async () => {
  const clock = new TestClock();
  const credits = new MemoryCreditRepository(policy, clock.now);
  return { store: new MemoryIdempotencyStore(clock.now, { maxKeysPerUser: MAX_KEYS }, credits), credits, clock };
});

idempotencyStoreContract('postgres', async () => {
  // Through createDatabase, as the app connects: behind PgBouncer (the `pgbouncer` project) statements go unnamed.
  const db = await createMigratedDatabase({ poolSize: 4, maxOverflow: 0 });
  const sequelize = db.database.sequelize;
  const clock = new TestClock();
  return {
    store: new PostgresIdempotencyStore(sequelize, unguarded, clock.now, { maxKeysPerUser: MAX_KEYS }),
    credits: new PostgresCreditRepository(sequelize, unguarded, policy, clock.now),
    clock,
    dispose: () => db.dispose(),
  };
});

// CACHE_BACKEND=postgres: answers held by a `query_cache` row are referred to, not copied.
idempotencyStoreContract('postgres referring to query_cache', async () => {
  // Through createDatabase, as the app connects: behind PgBouncer (the `pgbouncer` project) statements go unnamed.
  const db = await createMigratedDatabase({ poolSize: 4, maxOverflow: 0 });
  const sequelize = db.database.sequelize;
  const clock = new TestClock();
  return {
    store: new PostgresIdempotencyStore(sequelize, unguarded, clock.now, { maxKeysPerUser: MAX_KEYS, referToCache: true }),
    credits: new PostgresCreditRepository(sequelize, unguarded, policy, clock.now),
    cache: createPostgresCacheStore(sequelize),
    clock,
    dispose: () => db.dispose(),
  };
});
