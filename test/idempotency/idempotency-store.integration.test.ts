import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PostgresQueryGate } from '../../src/assistant/gate/query-gate.postgres.js';
import { createPostgresCacheStore } from '../../src/cache/cache.store.postgres.js';
import { PostgresConsentRepository } from '../../src/consent/consent.repository.postgres.js';
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

// The query gate's claim (consent and the key's claim in one statement): the same claim steps,
// admitted by consent. Every user begun here has accepted the terms; a claim the gate's
// statement could not decide goes to the store, as the service's does.
idempotencyStoreContract("postgres, claimed through the query gate's statement", async () => {
  const db = await createMigratedDatabase({ poolSize: 4, maxOverflow: 0 });
  const sequelize = db.database.sequelize;
  const clock = new TestClock();
  const store = new PostgresIdempotencyStore(sequelize, unguarded, clock.now, { maxKeysPerUser: MAX_KEYS, referToCache: true });
  const gate = new PostgresQueryGate(sequelize, unguarded, policy, { readsCache: true, now: clock.now, maxKeysPerUser: MAX_KEYS });
  const consents = new PostgresConsentRepository(sequelize, unguarded, clock.now);
  const accepted = new Set<string>();
  const claimed: typeof store = Object.create(store);
  claimed.begin = async (p) => {
    if (!accepted.has(p.userId)) {
      await consents.record(p.userId, { termsAccepted: true, marketingConsent: false });
      accepted.add(p.userId);
    }
    const { consent, begun } = await gate.claim({ caller: { userId: p.userId, isGuest: false }, claim: p });
    if (!consent?.termsAccepted) throw new Error('the terms were accepted, yet the gate read no consent');
    return begun ?? store.begin(p);
  };
  return {
    store: claimed,
    credits: new PostgresCreditRepository(sequelize, unguarded, policy, clock.now),
    cache: createPostgresCacheStore(sequelize),
    clock,
    dispose: () => db.dispose(),
  };
});

describe('postgres: completions sharing one statement', () => {
  const begunWithHold = async (store: PostgresIdempotencyStore, credits: PostgresCreditRepository, key = 'k') => {
    const p = { userId: `user-${randomUUID()}`, key, requestHash: 'h', attempt: randomUUID(), ttlMs: 60_000, leaseMs: 5_000 };
    await store.begin(p);
    const charged = await credits.charge({ userId: p.userId, isGuest: false }, { cost: 1, description: 'held', holdMs: 60_000 });
    if (charged.kind !== 'charged' || !charged.chargeId) throw new Error('no hold taken');
    return { p, hold: charged.chargeId };
  };

  it('an answer PostgreSQL refuses to store fails only its own completion', async () => {
    const db = await createMigratedDatabase({ poolSize: 4, maxOverflow: 0 });
    try {
      const clock = new TestClock();
      const store = new PostgresIdempotencyStore(db.database.sequelize, unguarded, clock.now, { maxKeysPerUser: MAX_KEYS });
      const credits = new PostgresCreditRepository(db.database.sequelize, unguarded, policy, clock.now);
      const [a, bad, b] = [await begunWithHold(store, credits), await begunWithHold(store, credits), await begunWithHold(store, credits)];
      // Half an emoji: jsonb refuses it, and so the whole statement it is sent in.
      const outcomes = await Promise.allSettled([a, bad, b].map(({ p, hold }, i) => store.complete(p.userId, p.key, p.attempt, { answer: i === 1 ? 'cut \ud83d' : 'fine' }, hold)));
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<boolean>).value)).toEqual([true, true]);
      await expect(credits.settle(a.p.userId, a.hold)).resolves.toBe('settled');
      await expect(credits.settle(b.p.userId, b.hold)).resolves.toBe('settled');
      // The refused one recorded nothing and settled nothing: its hold is still open for its refund.
      expect(await store.begin({ ...bad.p, attempt: randomUUID() })).toEqual({ state: 'in_progress' });
      await expect(credits.refund({ userId: bad.p.userId, isGuest: false }, bad.hold, 'not recorded')).resolves.toMatchObject({ kind: 'refunded' });
    } finally {
      await db.dispose();
    }
  });

  it('one hold named by two completions (two keys of one user) records one answer only', async () => {
    const db = await createMigratedDatabase({ poolSize: 4, maxOverflow: 0 });
    try {
      const clock = new TestClock();
      const store = new PostgresIdempotencyStore(db.database.sequelize, unguarded, clock.now, { maxKeysPerUser: MAX_KEYS });
      const credits = new PostgresCreditRepository(db.database.sequelize, unguarded, policy, clock.now);
      const { p, hold } = await begunWithHold(store, credits, 'k1');
      const other = { ...p, key: 'k2', attempt: randomUUID() };
      await store.begin(other);
      const done = await Promise.all([store.complete(p.userId, 'k1', p.attempt, { answer: 'one' }, hold), store.complete(p.userId, 'k2', other.attempt, { answer: 'two' }, hold)]);
      expect(done).toEqual([true, false]);
      expect(await store.begin({ ...other, attempt: randomUUID() })).toEqual({ state: 'in_progress' });
    } finally {
      await db.dispose();
    }
  });
});

describe('postgres: a begin that waited on a takeover of an expired record', () => {
  it('never replays the expired answer: it sees the record as it is once the takeover committed', async () => {
    const db = await createMigratedDatabase({ poolSize: 4, maxOverflow: 0 });
    try {
      const clock = new TestClock();
      const store = new PostgresIdempotencyStore(db.database.sequelize, unguarded, clock.now, { maxKeysPerUser: MAX_KEYS });
      const userId = `user-${randomUUID()}`;
      const old = { userId, key: 'k', requestHash: 'h0', attempt: randomUUID(), ttlMs: 60_000, leaseMs: 5_000 };
      await store.begin(old);
      expect(await store.complete(userId, 'k', old.attempt, { answer: 'the old one' })).toBe(true);
      clock.advance(61_000);
      // Another request (body h1) takes the expired record over, its transaction still open.
      const takeover = await db.database.sequelize.transaction();
      try {
        await db.database.sequelize.query(
          `UPDATE idempotency_keys SET request_hash = 'h1', status = 'in_progress', response = NULL, attempt = $3,
                  created_at = $4, locked_until = $5, expires_at = $6 WHERE user_id = $1 AND key = $2`,
          { bind: [userId, 'k', randomUUID(), clock.now(), new Date(clock.now().getTime() + 5_000), new Date(clock.now().getTime() + 60_000)], transaction: takeover },
        );
        // A retry of the old body waits on that row; the takeover commits meanwhile.
        const waiting = store.begin({ ...old, attempt: randomUUID() });
        await new Promise((resolve) => setTimeout(resolve, 200));
        await takeover.commit();
        expect(await waiting).toEqual({ state: 'conflict' });
      } catch (err) {
        await takeover.rollback().catch(() => {});
        throw err;
      }
    } finally {
      await db.dispose();
    }
  });
});
