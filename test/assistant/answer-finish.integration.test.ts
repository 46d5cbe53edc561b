/**
 * The rules of `AnswerFinish` (src/assistant/gate/answer-finish.ts) on its one backend, the
 * PostgreSQL statement: the settle exactly as the credit repository's, the cache entry written
 * whatever the settle's outcome, the turn kept only when the hold ends settled, an
 * Idempotency-Key's record completed with the settle (both or neither), and a batch in which one
 * answer was already answered 503 settling the others.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FinishRequest } from '../../src/assistant/gate/answer-finish.js';
import { PostgresAnswerFinish } from '../../src/assistant/gate/answer-finish.postgres.js';
import { createPostgresCacheStore } from '../../src/cache/cache.store.postgres.js';
import { createPostgresConversationStore } from '../../src/conversations/conversation.store.postgres.js';
import type { CreditPolicy } from '../../src/credits/credit.repository.js';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import type { Caller } from '../../src/identity/caller.js';
import { StorageUnavailableError } from '../../src/platform/errors.js';
import { unguarded, type StorageGuard } from '../../src/platform/storage-guard.js';
import { PostgresIdempotencyStore } from '../../src/idempotency/idempotency.store.postgres.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';

const POLICY: CreditPolicy = { guestAllowance: 5, registeredAllowance: 20, resetPeriodMs: 3_600_000 };

let db: MigratedDatabase;
beforeAll(async () => {
  db = await createMigratedDatabase();
});
afterAll(async () => {
  await db?.dispose();
});

describe('postgres answer finish', () => {
  const setup = (guard: StorageGuard = unguarded) => {
    const { sequelize } = db.database;
    return {
      finish: new PostgresAnswerFinish(sequelize, guard),
      keys: new PostgresIdempotencyStore(sequelize, unguarded),
      credits: new PostgresCreditRepository(sequelize, unguarded, POLICY),
      cache: createPostgresCacheStore(sequelize),
      conversations: createPostgresConversationStore(sequelize),
    };
  };
  const shopper = (): Caller => ({ userId: `u-${randomUUID()}`, isGuest: false });
  const turn = (query: string) => ({
    query,
    resolvedQuery: { query, filters: {} },
    productIds: ['p-1', 'p-2'],
    prices: [19.5, 24],
    currency: 'EUR',
    createdAt: '2026-03-01T10:15:00.000Z',
  });
  /** A held charge of 3 for a new shopper, and the finish request that settles it. */
  const held = async (s: ReturnType<typeof setup>, conversationId = `cv_${randomUUID()}`, query = 'tents') => {
    const caller = shopper();
    const charged = await s.credits.charge(caller, { cost: 3, description: 'Assistant answer', holdMs: 60_000 });
    if (charged.kind !== 'charged' || !charged.chargeId) throw new Error('no hold');
    const key = `k-${randomUUID()}`;
    const request: FinishRequest = {
      userId: caller.userId,
      chargeId: charged.chargeId,
      cache: { key, json: JSON.stringify({ answer: query, products: [] }), ttlSeconds: 60 },
      turn: { conversationId, turn: turn(query), ttlSeconds: 600, maxTurns: 20 },
    };
    return { caller, request, key, conversationId };
  };

  it('settles the hold, writes the entry and keeps the turn, in one step', async () => {
    const s = setup();
    const { caller, request, key, conversationId } = await held(s);
    expect(await s.finish.finish(request)).toEqual({ settle: 'settled', recorded: false, turnKept: true });
    expect(await s.cache.get(key)).toEqual({ answer: 'tents', products: [] });
    expect((await s.conversations.get(caller.userId, conversationId))?.turns).toEqual([turn('tents')]);
    // Settled once: the sweep cannot refund it, a second finish finds it settled.
    expect(await s.credits.refund(caller, request.chargeId, 'late refund')).toMatchObject({ kind: 'settled' });
    expect((await s.credits.find(caller.userId))?.available).toBe(17);
    expect(await s.credits.verifyLedger()).toMatchObject({ mismatched: 0, negative: 0 });
  });

  it('keeps no turn for an answer whose hold was refunded, and writes its entry anyway', async () => {
    const s = setup();
    const { caller, request, key, conversationId } = await held(s);
    expect(await s.credits.refund(caller, request.chargeId, 'refund')).toMatchObject({ kind: 'refunded' });
    expect(await s.finish.finish(request)).toEqual({ settle: 'refunded', recorded: false, turnKept: false });
    expect(await s.conversations.get(caller.userId, conversationId)).toBeUndefined();
    expect(await s.cache.get(key)).toEqual({ answer: 'tents', products: [] });
    expect((await s.credits.find(caller.userId))?.available).toBe(20);
  });

  it('never settles another shopper\'s hold', async () => {
    const s = setup();
    const { caller, request } = await held(s);
    expect(await s.finish.finish({ ...request, userId: shopper().userId })).toEqual({ settle: 'not_found', recorded: false, turnKept: false });
    expect(await s.credits.refund(caller, request.chargeId, 'refund')).toMatchObject({ kind: 'refunded' });
    expect(await s.finish.finish({ ...request, chargeId: 'not-a-charge' })).toEqual({ settle: 'not_found', recorded: false, turnKept: false });
  });

  it('keeps each of concurrent turns of one conversation, in call order', async () => {
    const s = setup();
    const first = await held(s);
    // Two answers of the same shopper's conversation finishing at once (one statement cannot change a row twice).
    const charged = await s.credits.charge(first.caller, { cost: 3, description: 'Assistant answer', holdMs: 60_000 });
    if (charged.kind !== 'charged' || !charged.chargeId) throw new Error('no hold');
    const second: FinishRequest = { ...first.request, chargeId: charged.chargeId, turn: { ...first.request.turn!, turn: turn('cheaper tents') } };
    const results = await Promise.all([s.finish.finish(first.request), s.finish.finish(second)]);
    expect(results).toEqual([{ settle: 'settled', recorded: false, turnKept: true }, { settle: 'settled', recorded: false, turnKept: true }]);
    expect((await s.conversations.get(first.caller.userId, first.conversationId))?.turns.map((t) => t.query)).toEqual(['tents', 'cheaper tents']);
  });

  it('settles the others of a batch when one answer is answered 503 while the statement waits to be sent', async () => {
    // The second call made is answered 503 from its third check on: after it joined the batch
    // (first check) and the round took it (second), right before the statement leaves (third).
    let calls = 0;
    const guard: StorageGuard = {
      run: (_operation, fn) => {
        const index = calls++;
        let checks = 0;
        return fn({
          assertLive: () => {
            if (index === 1 && ++checks >= 3) throw new StorageUnavailableError(1);
          },
        });
      },
    };
    const s = setup(guard);
    const live = await held(s);
    const gone = await held(s);
    const [ok, refused] = await Promise.allSettled([s.finish.finish(live.request), s.finish.finish(gone.request)]);
    expect(ok).toEqual({ status: 'fulfilled', value: { settle: 'settled', recorded: false, turnKept: true } });
    expect(refused).toMatchObject({ status: 'rejected', reason: expect.any(StorageUnavailableError) });
    // The refused one's hold is still open (the sweep refunds it); nothing of it was written.
    expect(await s.credits.refund(gone.caller, gone.request.chargeId, 'refund')).toMatchObject({ kind: 'refunded' });
    expect(await s.conversations.get(gone.caller.userId, gone.conversationId)).toBeUndefined();
    expect(await s.cache.get(gone.key)).toBeUndefined();
  });

  describe('with an Idempotency-Key', () => {
    const response = { answer: 'tents', products: [], cached: false, creditsCharged: 3, cache: 'MISS', conversationId: 'cv_1', resolvedQuery: { query: 'tents', filters: {} } };
    /** A held charge with its key's record claimed by `attempt`. */
    const keyed = async (s: ReturnType<typeof setup>) => {
      const h = await held(s);
      const attempt = randomUUID();
      const claim = { userId: h.caller.userId, key: `key-${randomUUID()}`, requestHash: 'hash-a', attempt, ttlMs: 86_400_000, leaseMs: 30_000 };
      expect((await s.keys.begin(claim)).state).toBe('started');
      const record = { key: claim.key, attempt, response: JSON.stringify(response) };
      return { ...h, claim, request: { ...h.request, record } };
    };

    it('records the answer whole and settles its hold together, with the entry and the turn', async () => {
      const s = setup();
      const { caller, request, claim, key, conversationId } = await keyed(s);
      expect(await s.finish.finish(request)).toEqual({ settle: 'settled', recorded: true, turnKept: true });
      // A retry replays the record (a copy of the answer, whatever becomes of the cache entry).
      await s.cache.set(key, { answer: 'another answer', products: [] }, 60);
      expect(await s.keys.begin({ ...claim, attempt: randomUUID() })).toEqual({ state: 'completed', response });
      expect(await s.credits.refund(caller, request.chargeId, 'late refund')).toMatchObject({ kind: 'settled' });
      expect((await s.conversations.get(caller.userId, conversationId))?.turns).toHaveLength(1);
      expect(await s.credits.verifyLedger()).toMatchObject({ mismatched: 0, negative: 0 });
    });

    it('neither records nor settles when the record is no longer this attempt\'s', async () => {
      const s = setup();
      const { caller, request, claim, conversationId } = await keyed(s);
      // The lease ran out and a retry took the record over.
      await s.keys.release(caller.userId, claim.key, claim.attempt);
      expect((await s.keys.begin({ ...claim, attempt: randomUUID() })).state).toBe('started');
      expect(await s.finish.finish(request)).toMatchObject({ recorded: false, turnKept: false });
      // The hold is still open: the attempt that holds the record settles it (or the sweep refunds it).
      expect(await s.credits.refund(caller, request.chargeId, 'refund')).toMatchObject({ kind: 'refunded' });
      expect(await s.conversations.get(caller.userId, conversationId)).toBeUndefined();
    });

    it('a stale attempt finishing beside the one that took its record over neither records nor settles', async () => {
      const s = setup();
      const { caller, request, claim, conversationId } = await keyed(s);
      // The first attempt's lease ran out; a retry took the record over and adopted its hold.
      await s.keys.release(caller.userId, claim.key, claim.attempt);
      const takeover = randomUUID();
      expect((await s.keys.begin({ ...claim, attempt: takeover })).state).toBe('started');
      const retried: FinishRequest = {
        ...request,
        turn: { ...request.turn!, conversationId: `cv_${randomUUID()}` },
        record: { ...request.record!, attempt: takeover, response: JSON.stringify({ ...response, answer: 'the retry' }) },
      };
      // Both finish in the same turn of the event loop, the stale one first.
      const [stale, current] = await Promise.all([s.finish.finish(request), s.finish.finish(retried)]);
      expect(stale).toMatchObject({ recorded: false, turnKept: false });
      expect(current).toEqual({ settle: 'settled', recorded: true, turnKept: true });
      expect(await s.keys.begin({ ...claim, attempt: randomUUID() })).toEqual({ state: 'completed', response: { ...response, answer: 'the retry' } });
      expect(await s.conversations.get(caller.userId, conversationId)).toBeUndefined();
      expect((await s.credits.find(caller.userId))?.available).toBe(17);
    });

    it('one answer PostgreSQL refuses fails only its own finish', async () => {
      const s = setup();
      const good = await keyed(s);
      const bad = await keyed(s);
      // A NUL in a jsonb text: PostgreSQL refuses the statement, which rolls back whole.
      const refused: FinishRequest = { ...bad.request, record: { ...bad.request.record!, response: JSON.stringify({ ...response, answer: 'nul \u0000 here' }) } };
      const [ok, failed] = await Promise.allSettled([s.finish.finish(good.request), s.finish.finish(refused)]);
      expect(ok).toEqual({ status: 'fulfilled', value: { settle: 'settled', recorded: true, turnKept: true } });
      expect(failed.status).toBe('rejected');
      // Nothing of the refused one happened: its hold is still open, its record in progress.
      expect(await s.credits.refund(bad.caller, bad.request.chargeId, 'refund')).toMatchObject({ kind: 'refunded' });
      expect((await s.keys.begin({ ...bad.claim, attempt: randomUUID() })).state).toBe('in_progress');
    });

    it('neither records nor settles when the hold was refunded first', async () => {
      const s = setup();
      const { caller, request, claim } = await keyed(s);
      expect(await s.credits.refund(caller, request.chargeId, 'refund')).toMatchObject({ kind: 'refunded' });
      expect(await s.finish.finish(request)).toEqual({ settle: 'refunded', recorded: false, turnKept: false });
      // Still this attempt's, in progress: nothing was recorded.
      expect((await s.keys.begin({ ...claim, attempt: randomUUID() })).state).toBe('in_progress');
      expect((await s.credits.find(caller.userId))?.available).toBe(20);
    });
  });
});
