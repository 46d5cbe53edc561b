import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CacheStore } from '../../src/cache/cache.store.js';
import type { CreditRepository } from '../../src/credits/credit.repository.js';
import type { BeginParams, IdempotencyStore } from '../../src/idempotency/idempotency.store.js';
import type { TestClock } from './clock.js';
import { suiteHarness } from './harness.js';

export interface IdempotencyHarness {
  /** A store made with IDEMPOTENCY_MAX_KEYS_PER_USER = MAX_KEYS (see below). */
  store: IdempotencyStore;
  /** The credit repository on the same storage, whose holds `complete` settles. */
  credits: CreditRepository;
  clock: TestClock;
  /**
   * The query cache beside the store, where there is one the store may refer to (PostgreSQL
   * with CACHE_BACKEND=postgres): `complete` told its key replays the same either way.
   */
  cache?: CacheStore;
  dispose?(): Promise<void>;
}

const TTL = 24 * 3600_000;
const LEASE = 30_000;
/** The per-user cap the harness gives its store. */
export const MAX_KEYS = 5;

export function idempotencyStoreContract(name: string, make: () => Promise<IdempotencyHarness>) {
  describe(`${name} idempotency store`, () => {
    const h = suiteHarness(make);

    const params = (over: Partial<BeginParams> = {}): BeginParams => ({
      userId: `user-${randomUUID()}`,
      key: 'key-1',
      requestHash: 'hash-a',
      attempt: randomUUID(),
      ttlMs: TTL,
      leaseMs: LEASE,
      ...over,
    });

    it('starts a first attempt and reports it in progress to a retry', async () => {
      const p = params();
      expect(await h.store.begin(p)).toEqual({ state: 'started', chargeToken: expect.any(String) });
      expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'in_progress' });
    });

    it('replays a completed outcome exactly, with the same body', async () => {
      const p = params();
      await h.store.begin(p);
      const response = { answer: 'Grüße ✓', products: [{ id: 'p1', price: 89.99, score: 0.87 }], cached: false, creditsCharged: 1 };
      await h.store.complete(p.userId, p.key, p.attempt, response);
      expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'completed', response });
    });

    it('replays the same outcome when told the cache key of its answer, whatever becomes of that entry', async () => {
      const p = params();
      await h.store.begin(p);
      const answer = { answer: 'Trail boots, 1.0 and 1 apart', products: [{ id: 'p1', price: 1.5, tags: ['a', 'ü'] }] };
      const response = { ...answer, cached: true, creditsCharged: 0, conversationId: 'c1' };
      const cacheKey = `contract-${randomUUID()}`;
      await h.cache?.set(cacheKey, answer, 60);
      expect(await h.store.complete(p.userId, p.key, p.attempt, response, null, { cacheKey })).toBe(true);
      expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'completed', response });
      await h.cache?.set(cacheKey, { answer: 'another', products: [] }, 60);
      expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'completed', response });
      await h.cache?.clear();
      expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'completed', response });
    });

    it('answers conflict for the same key with a different body, in progress or completed', async () => {
      const p = params();
      await h.store.begin(p);
      expect(await h.store.begin({ ...p, requestHash: 'hash-b', attempt: randomUUID() })).toEqual({ state: 'conflict' });
      await h.store.complete(p.userId, p.key, p.attempt, { ok: true });
      expect(await h.store.begin({ ...p, requestHash: 'hash-b', attempt: randomUUID() })).toEqual({ state: 'conflict' });
    });

    it('keeps keys per user: the same key from another user is another record', async () => {
      const p = params();
      await h.store.begin(p);
      expect(await h.store.begin({ ...p, userId: `user-${randomUUID()}`, requestHash: 'other', attempt: randomUUID() })).toEqual({ state: 'started', chargeToken: expect.any(String) });
    });

    it('does not keep a failed attempt: after abandon a retry starts afresh, with a new charge token', async () => {
      const p = params();
      expect(await h.store.begin(p)).toEqual({ state: 'started', chargeToken: p.attempt });
      await h.store.abandon(p.userId, p.key, p.attempt);
      const retry = { ...p, requestHash: 'hash-b', attempt: randomUUID() };
      expect(await h.store.begin(retry)).toEqual({ state: 'started', chargeToken: retry.attempt });
    });

    it('lets exactly one of many concurrent first attempts start', async () => {
      const p = params();
      const results = await Promise.all(Array.from({ length: 20 }, () => h.store.begin({ ...p, attempt: randomUUID() })));
      expect(results.filter((r) => r.state === 'started')).toHaveLength(1);
      expect(results.filter((r) => r.state === 'in_progress')).toHaveLength(19);
    });

    it('expires a completed record after its time to live', async () => {
      const p = params();
      await h.store.begin(p);
      await h.store.complete(p.userId, p.key, p.attempt, { n: 1 });
      h.clock.advance(TTL - 1);
      expect((await h.store.begin({ ...p, attempt: randomUUID() })).state).toBe('completed');
      h.clock.advance(1);
      expect(await h.store.begin({ ...p, requestHash: 'new-body', attempt: randomUUID() })).toEqual({ state: 'started', chargeToken: expect.any(String) });
    });

    it('takes over an in-progress record whose lease ran out, and ignores the stale attempt afterwards', async () => {
      const p = params();
      await h.store.begin(p);
      h.clock.advance(LEASE);
      const second = { ...p, attempt: randomUUID() };
      // The takeover keeps the crashed attempt's charge token, so its charge is replayed, not repeated.
      expect(await h.store.begin(second)).toEqual({ state: 'started', chargeToken: p.attempt });
      // The crashed first attempt comes back late: it can neither complete nor abandon the new one.
      await h.store.complete(p.userId, p.key, p.attempt, { stale: true });
      await h.store.abandon(p.userId, p.key, p.attempt);
      expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'in_progress' });
      await h.store.complete(second.userId, second.key, second.attempt, { fresh: true });
      expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'completed', response: { fresh: true } });
    });

    describe('recording an answer settles its hold, both or neither', () => {
      const HOLD_MS = 120_000;
      const takeHold = async (userId: string) => {
        const charged = await h.credits.charge({ userId, isGuest: false }, { cost: 1, description: 'held', holdMs: HOLD_MS });
        if (charged.kind !== 'charged' || !charged.chargeId) throw new Error('no hold taken');
        return charged.chargeId;
      };

      it('an open hold: the answer is recorded and the hold settled', async () => {
        const p = params();
        await h.store.begin(p);
        const hold = await takeHold(p.userId);
        expect(await h.store.complete(p.userId, p.key, p.attempt, { answer: 'ok' }, hold)).toBe(true);
        expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'completed', response: { answer: 'ok' } });
        await expect(h.credits.settle(p.userId, hold)).resolves.toBe('settled');
        await expect(h.credits.refund({ userId: p.userId, isGuest: false }, hold, 'late')).resolves.toMatchObject({ kind: 'settled' });
      });

      it('a hold the sweep refunded first: nothing is recorded, and the hold stays refunded', async () => {
        const p = params();
        await h.store.begin(p);
        const hold = await takeHold(p.userId);
        await h.credits.refund({ userId: p.userId, isGuest: false }, hold, 'swept');
        expect(await h.store.complete(p.userId, p.key, p.attempt, { answer: 'late' }, hold)).toBe(false);
        expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'in_progress' });
        await expect(h.credits.settle(p.userId, hold)).resolves.toBe('refunded');
      });

      it('a record taken over by another attempt: the stale attempt records nothing and settles nothing', async () => {
        const p = params();
        await h.store.begin(p);
        const hold = await takeHold(p.userId);
        h.clock.advance(LEASE);
        const second = { ...p, attempt: randomUUID() };
        expect(await h.store.begin(second)).toEqual({ state: 'started', chargeToken: p.attempt });
        expect(await h.store.complete(p.userId, p.key, p.attempt, { stale: true }, hold)).toBe(false);
        // The hold is still open: the attempt that took the record over adopts and settles it.
        expect(await h.store.complete(second.userId, second.key, second.attempt, { fresh: true }, hold)).toBe(true);
        expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'completed', response: { fresh: true } });
      });

      it('several answers recorded at once each settle their own hold; a refunded or foreign hold fails only its own', async () => {
        const ps = [0, 1, 2, 3].map(() => params());
        for (const p of ps) await h.store.begin(p);
        const holds = await Promise.all(ps.map((p) => takeHold(p.userId)));
        await h.credits.refund({ userId: ps[1]!.userId, isGuest: false }, holds[1]!, 'swept');
        // The last one names the first one's hold: not its user's.
        const asked = [holds[0]!, holds[1]!, holds[2]!, holds[0]!];
        // All at once (one statement where completions are batched), the foreign one first in line.
        const done = await Promise.all([3, 0, 1, 2].map((i) => h.store.complete(ps[i]!.userId, ps[i]!.key, ps[i]!.attempt, { i }, asked[i])));
        expect(done).toEqual([false, true, false, true]);
        await expect(h.credits.settle(ps[0]!.userId, holds[0]!)).resolves.toBe('settled');
        await expect(h.credits.settle(ps[1]!.userId, holds[1]!)).resolves.toBe('refunded');
        await expect(h.credits.settle(ps[2]!.userId, holds[2]!)).resolves.toBe('settled');
        expect(await h.store.begin({ ...ps[0]!, attempt: randomUUID() })).toEqual({ state: 'completed', response: { i: 0 } });
        expect(await h.store.begin({ ...ps[1]!, attempt: randomUUID() })).toEqual({ state: 'in_progress' });
        expect(await h.store.begin({ ...ps[2]!, attempt: randomUUID() })).toEqual({ state: 'completed', response: { i: 2 } });
        expect(await h.store.begin({ ...ps[3]!, attempt: randomUUID() })).toEqual({ state: 'in_progress' });
      });

      it("another user's hold, or no such hold, is never settled", async () => {
        const p = params();
        await h.store.begin(p);
        const foreign = await takeHold(`user-${randomUUID()}`);
        expect(await h.store.complete(p.userId, p.key, p.attempt, { x: 1 }, foreign)).toBe(false);
        expect(await h.store.complete(p.userId, p.key, p.attempt, { x: 1 }, '999999999')).toBe(false);
        expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'in_progress' });
      });

      it('without a hold (a charge of 0), the answer is simply recorded', async () => {
        const p = params();
        await h.store.begin(p);
        expect(await h.store.complete(p.userId, p.key, p.attempt, { cached: true }, null)).toBe(true);
        expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'completed', response: { cached: true } });
      });
    });

    it('release: a retry takes the record over at once, keeping its charge token', async () => {
      const p = params();
      await h.store.begin(p);
      expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'in_progress' });
      await h.store.release(p.userId, p.key, p.attempt);
      expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'started', chargeToken: p.attempt });
    });

    it("renewChargeToken: this attempt's record gets a charge token of its own, kept by later takeovers", async () => {
      const p = params();
      await h.store.begin(p);
      h.clock.advance(LEASE);
      const second = { ...p, attempt: randomUUID() };
      await h.store.begin(second);
      expect(await h.store.renewChargeToken(p.userId, p.key, p.attempt)).toBeUndefined();
      expect(await h.store.renewChargeToken(second.userId, second.key, second.attempt)).toBe(second.attempt);
      await h.store.release(second.userId, second.key, second.attempt);
      expect(await h.store.begin({ ...p, attempt: randomUUID() })).toEqual({ state: 'started', chargeToken: second.attempt });
    });

    describe('records per user are capped', () => {
      /** Begins and completes `n` keys k0…k(n-1) of one user, a millisecond apart (oldest first). */
      const completedKeys = async (userId: string, n: number, from = 0) => {
        for (let i = from; i < from + n; i++) {
          const p = params({ userId, key: `k${i}`, requestHash: `h${i}` });
          await h.store.begin(p);
          await h.store.complete(userId, p.key, p.attempt, { i });
          h.clock.advance(1);
        }
      };
      const stateOf = async (userId: string, i: number) => (await h.store.begin(params({ userId, key: `k${i}`, requestHash: `h${i}` }))).state;

      it('drops the oldest completed records past the cap, and keeps the newest', async () => {
        const userId = `user-${randomUUID()}`;
        await completedKeys(userId, MAX_KEYS + 2);
        // k0 and k1 were dropped: a retry with them starts afresh (which drops the next oldest).
        expect(await stateOf(userId, MAX_KEYS + 1)).toBe('completed');
        expect(await stateOf(userId, 2)).toBe('completed');
        expect(await stateOf(userId, 1)).toBe('started');
        expect(await stateOf(userId, 0)).toBe('started');
      });

      it('counts several new records of one user begun at once, each past the cap dropping the oldest', async () => {
        const userId = `user-${randomUUID()}`;
        await completedKeys(userId, MAX_KEYS);
        // Three new keys at once (one statement where claims are batched).
        const fresh = await Promise.all([0, 1, 2].map((i) => h.store.begin(params({ userId, key: `n${i}`, requestHash: `n${i}` }))));
        expect(fresh.map((b) => b.state)).toEqual(['started', 'started', 'started']);
        // The newest two completed ones stay; the three oldest were dropped for the three new ones.
        expect(await stateOf(userId, MAX_KEYS - 1)).toBe('completed');
        expect(await stateOf(userId, MAX_KEYS - 2)).toBe('completed');
        expect(await stateOf(userId, MAX_KEYS - 3)).toBe('started');
      });

      it('trims each user past the cap on its own when several users begin at once', async () => {
        const [full, alsoFull, roomy] = [0, 1, 2].map(() => `user-${randomUUID()}`) as [string, string, string];
        await completedKeys(full, MAX_KEYS);
        await completedKeys(alsoFull, MAX_KEYS);
        await completedKeys(roomy, MAX_KEYS - 2);
        const begun = await Promise.all([
          h.store.begin(params({ userId: full, key: 'n0', requestHash: 'n0' })),
          h.store.begin(params({ userId: full, key: 'n1', requestHash: 'n1' })),
          h.store.begin(params({ userId: alsoFull, key: 'n0', requestHash: 'n0' })),
          h.store.begin(params({ userId: roomy, key: 'n0', requestHash: 'n0' })),
        ]);
        expect(begun.map((b) => b.state)).toEqual(['started', 'started', 'started', 'started']);
        // Two new records drop the two oldest of `full`; one drops the oldest of `alsoFull`; `roomy` keeps all.
        expect(await stateOf(full, 2)).toBe('completed');
        expect(await stateOf(alsoFull, 1)).toBe('completed');
        expect(await stateOf(roomy, 0)).toBe('completed');
        expect(await stateOf(alsoFull, 0)).toBe('started');
        expect(await stateOf(full, 1)).toBe('started');
      });

      it('counts a record replayed beside a new one of the same user', async () => {
        const userId = `user-${randomUUID()}`;
        await completedKeys(userId, MAX_KEYS);
        // The newest record is asked for again while a new key is begun (one statement where claims are batched).
        const [fresh, again] = await Promise.all([
          h.store.begin(params({ userId, key: 'n0', requestHash: 'n0' })),
          h.store.begin(params({ userId, key: `k${MAX_KEYS - 1}`, requestHash: `h${MAX_KEYS - 1}` })),
        ]);
        expect(fresh.state).toBe('started');
        expect(again.state).toBe('completed');
        // The replayed record still counts: the new one dropped the oldest, and only it.
        expect(await stateOf(userId, 1)).toBe('completed');
        expect(await stateOf(userId, 0)).toBe('started');
      });

      it('never drops an in-progress record, whatever its age', async () => {
        const userId = `user-${randomUUID()}`;
        const running = params({ userId, key: 'running', requestHash: 'r' });
        await h.store.begin(running);
        h.clock.advance(1);
        await completedKeys(userId, MAX_KEYS + 3);
        expect(await h.store.begin({ ...running, attempt: randomUUID() })).toEqual({ state: 'in_progress' });
        await h.store.complete(userId, running.key, running.attempt, { done: true });
        expect(await h.store.begin({ ...running, attempt: randomUUID() })).toEqual({ state: 'completed', response: { done: true } });
      });

      it('counts per user: another user keeps all of theirs', async () => {
        const [a, b] = [`user-${randomUUID()}`, `user-${randomUUID()}`];
        await completedKeys(b, MAX_KEYS);
        await completedKeys(a, MAX_KEYS + 3);
        for (let i = 0; i < MAX_KEYS; i++) expect(await stateOf(b, i)).toBe('completed');
      });
    });

    it('cleans up expired records and keeps live ones', async () => {
      const live = params();
      const old = params();
      await h.store.begin(old);
      await h.store.complete(old.userId, old.key, old.attempt, { old: true });
      h.clock.advance(TTL + 1);
      await h.store.begin(live);
      expect(await h.store.cleanupExpired(1)).toBeGreaterThanOrEqual(1);
      expect(await h.store.begin({ ...live, attempt: randomUUID() })).toEqual({ state: 'in_progress' });
      expect(await h.store.begin({ ...old, requestHash: 'x', attempt: randomUUID() })).toEqual({ state: 'started', chargeToken: expect.any(String) });
    });
  });
}
