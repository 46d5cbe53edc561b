import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { QueryGate } from '../../src/assistant/gate/query-gate.js';
import type { ConsentRepository } from '../../src/consent/consent.repository.js';
import type { CreditPolicy, CreditRepository } from '../../src/credits/credit.repository.js';
import type { ConversationStore } from '../../src/conversations/conversation.store.js';
import type { Caller } from '../../src/identity/caller.js';
import type { BeginParams, IdempotencyStore } from '../../src/idempotency/idempotency.store.js';
import { TestClock } from './clock.js';

export interface QueryGateHarness {
  gate: QueryGate;
  consents: ConsentRepository;
  credits: CreditRepository;
  /** The idempotency store on the same storage, whose records the gate's claims make. */
  idempotency: IdempotencyStore;
  /** Stores a cache entry the gate may read (gates that read the cache only). */
  writeCache?(key: string, value: object): Promise<void>;
  /** Makes an entry expired, as time passing would. */
  expireCache?(key: string): Promise<void>;
  /** Where a kept turn is read back (gates that keep turns only). */
  conversations?: ConversationStore;
  dispose(): Promise<void>;
}

/** The credit policy every harness builds its credit repository with. */
export const GATE_POLICY: CreditPolicy = { guestAllowance: 5, registeredAllowance: 20, resetPeriodMs: 3_600_000 };

/** The rules of `QueryGate` (src/assistant/gate/query-gate.ts), run against every backend. */
export function queryGateContract(name: string, make: (clock: TestClock) => Promise<QueryGateHarness>): void {
  describe(`${name} query gate`, () => {
    let clock: TestClock;
    let h: QueryGateHarness;
    const shopper = (): Caller => ({ userId: `u-${randomUUID()}`, isGuest: false });
    const accepted = async (caller: Caller) => {
      await h.consents.record(caller.userId, { termsAccepted: true, marketingConsent: false });
      return caller;
    };
    const limit = (caller: Caller, max = 1000) => ({ key: `query:${caller.userId}`, windowSeconds: 60, max });
    beforeEach(async () => {
      clock = new TestClock('2026-03-01T10:15:00.000Z');
      h = await make(clock);
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('reads the consent record as the repository holds it, and none for a shopper without one', async () => {
      const stranger = shopper();
      expect((await h.gate.open({ caller: stranger })).consent).toBeUndefined();
      const caller = await accepted(shopper());
      expect((await h.gate.open({ caller })).consent).toEqual(await h.consents.get(caller.userId));
    });

    it('counts the rate limit only for a shopper who accepted the terms', async () => {
      const stranger = shopper();
      expect((await h.gate.open({ caller: stranger, rateLimit: limit(stranger) })).rateHit).toBeUndefined();
      await h.consents.record(stranger.userId, { termsAccepted: false, marketingConsent: true });
      expect((await h.gate.open({ caller: stranger, rateLimit: limit(stranger) })).rateHit).toBeUndefined();
      // Nothing was counted meanwhile: the first counted question is the first.
      await accepted(stranger);
      expect((await h.gate.open({ caller: stranger, rateLimit: limit(stranger) })).rateHit).toEqual({ count: 1, resetsAt: new Date('2026-03-01T10:16:00.000Z') });
    });

    it('counts each question once, per shopper, and starts a new window from 1', async () => {
      const a = await accepted(shopper());
      const b = await accepted(shopper());
      expect((await h.gate.open({ caller: a, rateLimit: limit(a) })).rateHit?.count).toBe(1);
      expect((await h.gate.open({ caller: a, rateLimit: limit(a) })).rateHit?.count).toBe(2);
      expect((await h.gate.open({ caller: a })).rateHit).toBeUndefined();
      expect((await h.gate.open({ caller: b, rateLimit: limit(b) })).rateHit?.count).toBe(1);
      expect((await h.gate.open({ caller: a, rateLimit: limit(a) })).rateHit?.count).toBe(3);
      clock.advance(60_000);
      expect((await h.gate.open({ caller: a, rateLimit: limit(a) })).rateHit).toEqual({ count: 1, resetsAt: new Date('2026-03-01T10:17:00.000Z') });
    });

    it('gives each of many concurrent questions of one shopper a count of its own', async () => {
      const a = await accepted(shopper());
      const b = await accepted(shopper());
      const opened = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 3 === 2 ? h.gate.open({ caller: b, rateLimit: limit(b) }) : h.gate.open({ caller: a, rateLimit: limit(a) }))));
      const counts = (caller: Caller) => opened.filter((o, i) => (i % 3 === 2 ? b : a) === caller).map((o) => o.rateHit!.count).sort((x, y) => x - y);
      expect(counts(a)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(counts(b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect((await h.gate.open({ caller: a, rateLimit: limit(a) })).rateHit?.count).toBe(21);
    });

    it('reads the balance as it stands when asked, or leaves it to the credit service', async () => {
      const caller = await accepted(shopper());
      // No account yet: the credit service creates it.
      expect((await h.gate.open({ caller, balance: true })).account).toBeUndefined();
      await h.credits.getOrCreate(caller);
      await h.credits.charge(caller, { cost: 3, description: 'test' });
      const account = (await h.gate.open({ caller, balance: true })).account;
      if (account) expect(account).toEqual(await h.credits.find(caller.userId));
      expect((await h.gate.open({ caller })).account).toBeUndefined();
      // A reset is due: never a balance the reset would change.
      clock.advance(GATE_POLICY.resetPeriodMs);
      expect((await h.gate.open({ caller, balance: true })).account).toBeUndefined();
    });

    it('charges nothing and writes no ledger entry', async () => {
      const caller = await accepted(shopper());
      await h.credits.getOrCreate(caller);
      const before = await h.credits.listTransactions(caller.userId, { limit: 50 });
      for (let i = 0; i < 5; i++) await h.gate.open({ caller, rateLimit: limit(caller), balance: true, cacheKey: `k-${randomUUID()}` });
      expect(await h.credits.listTransactions(caller.userId, { limit: 50 })).toEqual(before);
      expect((await h.credits.find(caller.userId))?.available).toBe(GATE_POLICY.registeredAllowance);
      expect(await h.credits.verifyLedger()).toMatchObject({ mismatched: 0, negative: 0 });
    });

    it('reads the cache entry only when it holds the cache and is asked, never an expired one', async () => {
      const caller = await accepted(shopper());
      const key = `k-${randomUUID()}`;
      if (!h.gate.readsCache) {
        expect((await h.gate.open({ caller, cacheKey: key })).cache).toBeUndefined();
        return;
      }
      expect((await h.gate.open({ caller, cacheKey: key })).cache).toEqual({ found: false });
      const value = { answer: 'Two pairs fit.', products: [{ id: 'p-1', price: 89.5 }] };
      await h.writeCache!(key, value);
      expect((await h.gate.open({ caller, cacheKey: key })).cache).toEqual({ found: true, value });
      expect((await h.gate.open({ caller })).cache).toBeUndefined();
      // Concurrent questions for one entry and for others each get their own answer.
      const other = `k-${randomUUID()}`;
      const both = await Promise.all([h.gate.open({ caller, cacheKey: key }), h.gate.open({ caller, cacheKey: other }), h.gate.open({ caller, cacheKey: key })]);
      expect(both.map((o) => o.cache)).toEqual([{ found: true, value }, { found: false }, { found: true, value }]);
      await h.expireCache!(key);
      expect((await h.gate.open({ caller, cacheKey: key })).cache).toEqual({ found: false });
    });

    describe('a new conversation\'s first turn', () => {
      const entry = {
        answer: 'Two pairs fit.',
        products: [
          { id: 'p-2', name: 'Trailmaster', price: 89.5, currency: 'EUR' },
          { id: 'p-1', name: 'Ridge', price: 120, currency: 'EUR' },
        ],
      };
      const firstTurn = (id = `cv_${randomUUID()}`) => ({
        conversationId: id,
        turn: { query: 'waterproof boots', resolvedQuery: { query: 'waterproof boots', filters: { category: 'shoes' } }, createdAt: '2026-03-01T10:15:00.000Z' },
        ttlSeconds: 600,
      });
      /** A shopper with consent and an account, and a cache entry. */
      const ready = async () => {
        const caller = await accepted(shopper());
        await h.credits.getOrCreate(caller);
        const key = `k-${randomUUID()}`;
        if (h.gate.readsCache) await h.writeCache!(key, entry);
        return { caller, key };
      };

      it('is kept with the cached entry\'s products when the answer stands with the gate', async () => {
        const { caller, key } = await ready();
        const first = firstTurn();
        const opened = await h.gate.open({ caller, rateLimit: limit(caller), cacheKey: key, balance: true, firstTurn: first });
        if (!h.gate.keepsTurns) {
          expect(opened.turnKept).toBe(false);
          return;
        }
        expect(opened.turnKept).toBe(true);
        const kept = await h.conversations!.get(caller.userId, first.conversationId);
        expect(kept?.turns).toEqual([{ ...first.turn, productIds: ['p-2', 'p-1'], prices: [89.5, 120], currency: 'EUR' }]);
      });

      it('is not kept when the answer does not stand with the gate', async () => {
        if (!h.gate.keepsTurns) return;
        const { caller, key } = await ready();
        const notKept = async (request: Parameters<QueryGate['open']>[0]) => {
          const opened = await h.gate.open(request);
          expect(opened.turnKept).toBe(false);
          expect(await h.conversations!.get(request.caller.userId, request.firstTurn!.conversationId)).toBeUndefined();
        };
        // No entry.
        await notKept({ caller, cacheKey: `k-${randomUUID()}`, balance: true, firstTurn: firstTurn() });
        // An entry without an answer's shape (the service answers afresh instead of serving it).
        const odd = `k-${randomUUID()}`;
        await h.writeCache!(odd, { answer: 5, products: 'none' });
        await notKept({ caller, cacheKey: odd, balance: true, firstTurn: firstTurn() });
        // No consent.
        const stranger = shopper();
        await h.credits.getOrCreate(stranger);
        await notKept({ caller: stranger, cacheKey: key, balance: true, firstTurn: firstTurn() });
        // No account yet (the credit service creates it, then the turn is kept by the conversation step).
        const newcomer = await accepted(shopper());
        await notKept({ caller: newcomer, cacheKey: key, balance: true, firstTurn: firstTurn() });
        // Past the rate limit: the first question of the window is kept, the second is not.
        expect((await h.gate.open({ caller, rateLimit: limit(caller, 1), cacheKey: key, balance: true, firstTurn: firstTurn() })).turnKept).toBe(true);
        await notKept({ caller, rateLimit: limit(caller, 1), cacheKey: key, balance: true, firstTurn: firstTurn() });
        // A reset is due.
        clock.advance(GATE_POLICY.resetPeriodMs);
        await notKept({ caller, cacheKey: key, balance: true, firstTurn: firstTurn() });
      });
    });

    describe("a fresh answer's charge", () => {
      const COST = 2;
      const charge = (idempotencyKey?: string) => ({ cost: COST, description: 'Assistant answer', holdMs: 60_000, ...(idempotencyKey ? { idempotencyKey } : {}) });
      /** A shopper with consent and an account. */
      const ready = async () => {
        const caller = await accepted(shopper());
        await h.credits.getOrCreate(caller);
        return caller;
      };
      const balance = async (caller: Caller) => (await h.credits.find(caller.userId))!.available;

      it('is taken as a hold when the question is sure to be fresh, and nowhere else', async () => {
        const caller = await ready();
        const missing = `k-${randomUUID()}`;
        const opened = await h.gate.open({ caller, rateLimit: limit(caller), cacheKey: missing, charge: charge() });
        if (!h.gate.chargesFresh) {
          expect(opened.charge).toBeUndefined();
          expect(await balance(caller)).toBe(GATE_POLICY.registeredAllowance);
          return;
        }
        expect(opened.charge).toMatchObject({ kind: 'charged', chargeId: expect.any(String), account: { available: GATE_POLICY.registeredAllowance - COST } });
        expect(await balance(caller)).toBe(GATE_POLICY.registeredAllowance - COST);
        const chargeId = (opened.charge as { chargeId: string }).chargeId;
        // A hold: refunded once, then never settled.
        expect((await h.credits.refund(caller, chargeId, 'test')).kind).toBe('refunded');
        expect(await h.credits.settle(caller.userId, chargeId)).toBe('refunded');
        // No cache read at all (the shopper asked for no cache): charged too.
        const bypass = await h.gate.open({ caller, charge: charge() });
        expect(bypass.charge?.kind).toBe('charged');
        expect(await h.credits.settle(caller.userId, (bypass.charge as { chargeId: string }).chargeId)).toBe('settled');
        expect(await balance(caller)).toBe(GATE_POLICY.registeredAllowance - COST);
        expect(await h.credits.verifyLedger()).toMatchObject({ mismatched: 0, negative: 0 });
      });

      it('is not taken when the answer may not be fresh, or the shopper may not ask', async () => {
        if (!h.gate.chargesFresh) return;
        const notTaken = async (request: Parameters<QueryGate['open']>[0]) => {
          const before = (await h.credits.find(request.caller.userId))?.available;
          expect((await h.gate.open(request)).charge).toBeUndefined();
          expect((await h.credits.find(request.caller.userId))?.available).toBe(before);
        };
        const caller = await ready();
        // A live cache entry (a cached answer costs what the credit service charges for one).
        if (h.gate.readsCache) {
          const key = `k-${randomUUID()}`;
          await h.writeCache!(key, { answer: 'Two pairs fit.', products: [] });
          await notTaken({ caller, cacheKey: key, charge: charge() });
        }
        // No consent, or the terms declined.
        const stranger = shopper();
        await h.credits.getOrCreate(stranger);
        await notTaken({ caller: stranger, charge: charge() });
        await h.consents.record(stranger.userId, { termsAccepted: false, marketingConsent: false });
        await notTaken({ caller: stranger, charge: charge() });
        // No account yet (the credit service creates it, and charges).
        const newcomer = await accepted(shopper());
        await notTaken({ caller: newcomer, charge: charge() });
        expect(await h.credits.find(newcomer.userId)).toBeUndefined();
        // Past the rate limit: the first question of the window is charged, the second is not.
        expect((await h.gate.open({ caller, rateLimit: limit(caller, 1), charge: charge() })).charge?.kind).toBe('charged');
        await notTaken({ caller, rateLimit: limit(caller, 1), charge: charge() });
        // A reset is due (the credit service applies it under the row's lock, and charges).
        // (Read only afterwards: reading the balance applies the reset.)
        clock.advance(GATE_POLICY.resetPeriodMs);
        expect((await h.gate.open({ caller, charge: charge() })).charge).toBeUndefined();
        expect(await balance(caller)).toBe(GATE_POLICY.registeredAllowance);
        expect(await h.credits.verifyLedger()).toMatchObject({ mismatched: 0, negative: 0 });
      });

      it('is refused, changing nothing, when the balance does not cover it', async () => {
        if (!h.gate.chargesFresh) return;
        const caller = await ready();
        const opened = await h.gate.open({ caller, charge: { ...charge(), cost: GATE_POLICY.registeredAllowance + 1 } });
        expect(opened.charge).toMatchObject({ kind: 'insufficient', account: { available: GATE_POLICY.registeredAllowance } });
        expect(await balance(caller)).toBe(GATE_POLICY.registeredAllowance);
        const page = await h.credits.listTransactions(caller.userId, { limit: 50 });
        expect(page.items.map((t) => t.type)).toEqual(['grant']);
      });

      it('replays a charge under its idempotency key, as the credit repository does', async () => {
        if (!h.gate.chargesFresh) return;
        const caller = await ready();
        const key = `query:${randomUUID()}`;
        const first = await h.gate.open({ caller, charge: charge(key) });
        expect(first.charge?.kind).toBe('charged');
        const again = await h.gate.open({ caller, charge: charge(key) });
        expect(again.charge).toMatchObject({ kind: 'replayed', chargeId: (first.charge as { chargeId: string }).chargeId, hold: 'held' });
        // The credit service's own charge under that key finds the same charge.
        expect(await h.credits.charge(caller, { cost: COST, description: 'Assistant answer', idempotencyKey: key, holdMs: 60_000 })).toMatchObject({ kind: 'replayed' });
        expect(await balance(caller)).toBe(GATE_POLICY.registeredAllowance - COST);
      });

      it('charges concurrent questions of many shoppers each once, a shopper\'s further ones left to the credit service', async () => {
        if (!h.gate.chargesFresh) return;
        const shoppers = [await ready(), await ready(), await ready()];
        const asked = Array.from({ length: 12 }, (_, i) => shoppers[i % 3]!);
        const opened = await Promise.all(asked.map((caller) => h.gate.open({ caller, rateLimit: limit(caller), charge: charge() })));
        for (const caller of shoppers) {
          const mine = opened.filter((_, i) => asked[i] === caller);
          const charged = mine.filter((o) => o.charge?.kind === 'charged').length;
          expect(charged).toBeGreaterThanOrEqual(1);
          expect(mine.filter((o) => o.charge !== undefined && o.charge.kind !== 'charged')).toEqual([]);
          expect(await balance(caller)).toBe(GATE_POLICY.registeredAllowance - COST * charged);
        }
        // Every counted question got its own count, charged or not.
        expect(opened.filter((_, i) => asked[i] === shoppers[0]).map((o) => o.rateHit!.count).sort((x, y) => x - y)).toEqual([1, 2, 3, 4]);
        expect(await h.credits.verifyLedger()).toMatchObject({ mismatched: 0, negative: 0 });
      });
    });

    describe('claim: consent and the key together', () => {
      const params = (caller: Caller, over: Partial<BeginParams> = {}): BeginParams => ({
        userId: caller.userId,
        key: 'key-1',
        requestHash: 'hash-a',
        attempt: randomUUID(),
        ttlMs: 86_400_000,
        leaseMs: 30_000,
        ...over,
      });

      it('claims nothing for a shopper without consent, or who declined the terms', async () => {
        const stranger = shopper();
        expect(await h.gate.claim({ caller: stranger, claim: params(stranger) })).toEqual({ consent: undefined, begun: undefined });
        const declined = shopper();
        await h.consents.record(declined.userId, { termsAccepted: false, marketingConsent: false });
        const refused = await h.gate.claim({ caller: declined, claim: params(declined) });
        expect(refused.consent?.termsAccepted).toBe(false);
        expect(refused.begun).toBeUndefined();
        // No record was made: the key is still free for each.
        expect((await h.idempotency.begin(params(stranger))).state).toBe('started');
        expect((await h.idempotency.begin(params(declined))).state).toBe('started');
      });

      it('for a shopper who accepted the terms, claims as the idempotency store does', async () => {
        const caller = await accepted(shopper());
        const first = params(caller);
        const claimed = await h.gate.claim({ caller, claim: first });
        expect(claimed.consent?.termsAccepted).toBe(true);
        expect(claimed.begun).toEqual({ state: 'started', chargeToken: expect.any(String) });
        expect((await h.gate.claim({ caller, claim: { ...first, attempt: randomUUID() } })).begun).toEqual({ state: 'in_progress' });
        expect(await h.idempotency.complete(caller.userId, first.key, first.attempt, { answer: 'kept' })).toBe(true);
        expect((await h.gate.claim({ caller, claim: { ...first, attempt: randomUUID() } })).begun).toEqual({ state: 'completed', response: { answer: 'kept' } });
        expect((await h.gate.claim({ caller, claim: { ...first, attempt: randomUUID(), requestHash: 'hash-b' } })).begun).toEqual({ state: 'conflict' });
      });

      it('claims of several shoppers at once: each by its own consent', async () => {
        const [a, b] = [await accepted(shopper()), await accepted(shopper())];
        const stranger = shopper();
        const results = await Promise.all([a, stranger, b].map((caller) => h.gate.claim({ caller, claim: params(caller) })));
        expect(results.map((r) => r.begun?.state)).toEqual(['started', undefined, 'started']);
        expect((await h.idempotency.begin(params(stranger))).state).toBe('started');
      });
    });
  });
}
