import { afterAll, beforeAll } from 'vitest';
import { ComposedQueryGate } from '../../src/assistant/gate/query-gate.composed.js';
import { PostgresQueryGate } from '../../src/assistant/gate/query-gate.postgres.js';
import { createPostgresCacheStore } from '../../src/cache/cache.store.postgres.js';
import { createPostgresConversationStore } from '../../src/conversations/conversation.store.postgres.js';
import { MemoryConsentRepository } from '../../src/consent/consent.repository.memory.js';
import { PostgresConsentRepository } from '../../src/consent/consent.repository.postgres.js';
import { MemoryCreditRepository } from '../../src/credits/credit.repository.memory.js';
import { MemoryIdempotencyStore } from '../../src/idempotency/idempotency.store.memory.js';
import { PostgresIdempotencyStore } from '../../src/idempotency/idempotency.store.postgres.js';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import { unguarded } from '../../src/platform/storage-guard.js';
import { MemoryRateLimitStore } from '../../src/rate-limit/rate-limit.store.memory.js';
import { PostgresRateLimitStore } from '../../src/rate-limit/rate-limit.store.postgres.js';
import { GATE_POLICY, queryGateContract } from '../contracts/query-gate.contract.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';

queryGateContract('memory (composed)', async (clock) => {
  const consents = new MemoryConsentRepository();
  const credits = new MemoryCreditRepository(GATE_POLICY, clock.now);
  const idempotency = new MemoryIdempotencyStore(clock.now, {}, credits);
  return {
    gate: new ComposedQueryGate({ consents, rateLimits: new MemoryRateLimitStore(clock.now), idempotency }),
    consents,
    credits,
    idempotency,
    dispose: async () => {},
  };
});

let db: MigratedDatabase;
beforeAll(async () => {
  db = await createMigratedDatabase();
});
afterAll(async () => {
  await db?.dispose();
});

queryGateContract('postgres stores (composed)', async (clock) => {
  const { sequelize } = db.database;
  const consents = new PostgresConsentRepository(sequelize, unguarded, clock.now);
  const idempotency = new PostgresIdempotencyStore(sequelize, unguarded, clock.now);
  return {
    gate: new ComposedQueryGate({ consents, rateLimits: new PostgresRateLimitStore(sequelize, unguarded, clock.now), idempotency }),
    consents,
    idempotency,
    credits: new PostgresCreditRepository(sequelize, unguarded, GATE_POLICY, clock.now),
    dispose: async () => {},
  };
});

for (const readsCache of [true, false]) {
  queryGateContract(`postgres (one statement${readsCache ? ', with the cache and the conversations' : ''})`, async (clock) => {
    const { sequelize } = db.database;
    const cache = createPostgresCacheStore(sequelize);
    return {
      gate: new PostgresQueryGate(sequelize, unguarded, GATE_POLICY, { readsCache, keepsTurns: readsCache, clock: clock.now, now: clock.now }),
      conversations: createPostgresConversationStore(sequelize),
      consents: new PostgresConsentRepository(sequelize, unguarded, clock.now),
      idempotency: new PostgresIdempotencyStore(sequelize, unguarded, clock.now),
      credits: new PostgresCreditRepository(sequelize, unguarded, GATE_POLICY, clock.now),
      writeCache: (key, value) => cache.set(key, value as never, 60),
      expireCache: async (key) => {
        await sequelize.query(`UPDATE query_cache SET cached_at = now() - interval '2 seconds', expires_at = now() - interval '1 second' WHERE query_hash = $1`, { bind: [key] });
      },
      dispose: async () => {},
    };
  });
}
