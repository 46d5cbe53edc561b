import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CreditPolicy, CreditRepository, CreditTransaction } from '../../src/credits/credit.repository.js';
import type { Caller } from '../../src/identity/caller.js';
import { InvalidCursorError } from '../../src/platform/cursor.js';
import type { TestClock } from './clock.js';

export interface CreditRepositoryHarness {
  repo: CreditRepository;
  dispose(): Promise<void>;
}

/**
 * Makes a repository over empty storage, reading `policy` (which a test may change, as a new
 * config would) and `clock` at every call.
 */
export type CreditRepositoryFactory = (policy: CreditPolicy, clock: TestClock) => Promise<CreditRepositoryHarness>;

const HOUR = 3_600_000;
const PERIOD = 24 * HOUR;
const guest = (): Caller => ({ userId: `guest_${randomUUID()}`, isGuest: true });
const registered = (): Caller => ({ userId: `user-${randomUUID()}`, isGuest: false });

/** Every entry of a user, newest first, read through the repository's own pages. */
export async function allEntries(repo: CreditRepository, userId: string): Promise<CreditTransaction[]> {
  const entries: CreditTransaction[] = [];
  let cursor: string | undefined;
  do {
    const page = await repo.listTransactions(userId, { limit: 7, cursor });
    entries.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return entries;
}

/** The ledger invariant: available = sum of the entries, never negative, every balance_after ≥ 0, no 0 amounts. */
export async function expectLedgerInvariant(repo: CreditRepository, userId: string): Promise<void> {
  const account = await repo.find(userId);
  const entries = await allEntries(repo, userId);
  expect(account).toBeDefined();
  expect(account!.available).toBeGreaterThanOrEqual(0);
  expect(entries.reduce((sum, e) => sum + e.amount, 0)).toBe(account!.available);
  for (const e of entries) {
    expect(e.amount).not.toBe(0);
    expect(e.balanceAfter).toBeGreaterThanOrEqual(0);
  }
  // Entries chain: each one's balance_after is the previous balance plus its amount.
  const oldestFirst = [...entries].reverse();
  let balance = 0;
  for (const e of oldestFirst) {
    balance += e.amount;
    expect(e.balanceAfter).toBe(balance);
  }
}

export function creditRepositoryContract(name: string, make: CreditRepositoryFactory): void {
  describe(`${name} credit repository`, () => {
    let policy: CreditPolicy;
    let clock: TestClock;
    let h: CreditRepositoryHarness;
    let repo: CreditRepository;
    const touched = new Set<string>();
    const track = <C extends Caller>(c: C) => (touched.add(c.userId), c);

    beforeEach(async () => {
      policy = { guestAllowance: 10, registeredAllowance: 100, resetPeriodMs: PERIOD };
      const { TestClock } = await import('./clock.js');
      clock = new TestClock();
      h = await make(policy, clock);
      repo = h.repo;
      touched.clear();
    });
    afterEach(async () => {
      // The ledger invariant holds after every test, for every user the test touched.
      for (const userId of touched) if (await repo.find(userId)) await expectLedgerInvariant(repo, userId);
      await h.dispose();
    });

    describe('first use', () => {
      it('creates the row with the caller allowance and one grant entry', async () => {
        const g = track(guest());
        const r = track(registered());
        const ga = await repo.getOrCreate(g);
        const ra = await repo.getOrCreate(r);
        expect(ga).toEqual({
          userId: g.userId,
          isGuest: true,
          available: 10,
          max: 10,
          lastResetAt: clock.now(),
          resetsAt: new Date(clock.now().getTime() + PERIOD),
        });
        expect(ra).toMatchObject({ isGuest: false, available: 100, max: 100 });
        const entries = await allEntries(repo, g.userId);
        expect(entries).toEqual([
          { id: expect.any(String), type: 'grant', amount: 10, balanceAfter: 10, description: expect.any(String), createdAt: clock.now() },
        ]);
      });

      it('creates exactly one row and one grant under concurrent first uses', async () => {
        const r = track(registered());
        await Promise.all([...Array(12)].map(() => repo.getOrCreate(r)));
        await Promise.all([...Array(5)].map(() => repo.ensure(r)));
        const entries = await allEntries(repo, r.userId);
        expect(entries.map((e) => e.type)).toEqual(['grant']);
      });

      it('a charge on a user without a row creates the row first', async () => {
        const r = track(registered());
        const result = await repo.charge(r, { cost: 3, description: 'first' });
        expect(result).toMatchObject({ kind: 'charged', account: { available: 97 } });
        expect((await allEntries(repo, r.userId)).map((e) => [e.type, e.amount])).toEqual([
          ['debit', -3],
          ['grant', 100],
        ]);
      });

      it('operator reads, adjustments and resets never create a row', async () => {
        const r = registered();
        await expect(repo.find(r.userId)).resolves.toBeUndefined();
        await expect(repo.adjust(r.userId, 5, 'gift')).resolves.toBeUndefined();
        await expect(repo.reset(r.userId)).resolves.toBeUndefined();
        await expect(repo.find(r.userId)).resolves.toBeUndefined();
        await expect(repo.listTransactions(r.userId, { limit: 10 })).resolves.toEqual({ items: [], nextCursor: null });
      });
    });

    describe('charges', () => {
      it('a charge to exactly zero succeeds and the next one is refused', async () => {
        const g = track(guest());
        const result = await repo.charge(g, { cost: 10, description: 'all of it' });
        expect(result).toMatchObject({ kind: 'charged', chargeId: expect.any(String), account: { available: 0 } });
        const next = await repo.charge(g, { cost: 1, description: 'one more' });
        expect(next).toMatchObject({ kind: 'insufficient', account: { available: 0, max: 10 } });
        const entries = await allEntries(repo, g.userId);
        expect(entries.map((e) => [e.type, e.amount, e.balanceAfter])).toEqual([
          ['debit', -10, 0],
          ['grant', 10, 10],
        ]);
      });

      it('a charge beyond the balance changes nothing and writes no entry', async () => {
        const g = track(guest());
        await repo.charge(g, { cost: 4, description: 'a' });
        const result = await repo.charge(g, { cost: 7, description: 'too much' });
        expect(result).toMatchObject({ kind: 'insufficient', account: { available: 6 } });
        expect((await repo.getOrCreate(g)).available).toBe(6);
        expect(await allEntries(repo, g.userId)).toHaveLength(2);
      });

      it('a charge of 0 writes no entry and succeeds at zero balance', async () => {
        const g = track(guest());
        await repo.charge(g, { cost: 10, description: 'all' });
        const result = await repo.charge(g, { cost: 0, description: 'cached answer' });
        expect(result).toMatchObject({ kind: 'charged', chargeId: null, account: { available: 0 } });
        expect(await allEntries(repo, g.userId)).toHaveLength(2);
      });

      it('the debit entry records the description and the balance after it', async () => {
        const r = track(registered());
        const result = await repo.charge(r, { cost: 5, description: 'query: boots' });
        const [debit] = await allEntries(repo, r.userId);
        expect(debit).toMatchObject({ type: 'debit', amount: -5, balanceAfter: 95, description: 'query: boots' });
        expect(result.kind === 'charged' && result.chargeId).toBe(debit.id);
      });
    });

    describe('idempotency keys', () => {
      it('a replay with the same key and cost returns the original charge and charges nothing', async () => {
        const r = track(registered());
        const first = await repo.charge(r, { cost: 2, description: 'q', idempotencyKey: 'k-1' });
        await repo.charge(r, { cost: 5, description: 'other' });
        const again = await repo.charge(r, { cost: 2, description: 'q', idempotencyKey: 'k-1' });
        expect(first.kind).toBe('charged');
        expect(again).toMatchObject({ kind: 'replayed', balanceAfter: 98, account: { available: 93 } });
        expect(again.kind === 'replayed' && again.chargeId).toBe(first.kind === 'charged' && first.chargeId);
        expect((await allEntries(repo, r.userId)).filter((e) => e.type === 'debit')).toHaveLength(2);
      });

      it('a replay succeeds even at zero balance', async () => {
        const g = track(guest());
        await repo.charge(g, { cost: 10, description: 'q', idempotencyKey: 'all' });
        await expect(repo.charge(g, { cost: 10, description: 'q', idempotencyKey: 'all' })).resolves.toMatchObject({ kind: 'replayed' });
      });

      it('the same key with another cost is a conflict and charges nothing', async () => {
        const r = track(registered());
        await repo.charge(r, { cost: 2, description: 'q', idempotencyKey: 'k-2' });
        const clash = await repo.charge(r, { cost: 3, description: 'q', idempotencyKey: 'k-2' });
        expect(clash).toMatchObject({ kind: 'conflict', account: { available: 98 } });
      });

      it('concurrent charges with one key charge once', async () => {
        const r = track(registered());
        const results = await Promise.all([...Array(8)].map(() => repo.charge(r, { cost: 3, description: 'q', idempotencyKey: 'same' })));
        expect(results.filter((x) => x.kind === 'charged')).toHaveLength(1);
        expect(results.filter((x) => x.kind === 'replayed')).toHaveLength(7);
        expect((await repo.getOrCreate(r)).available).toBe(97);
      });

      it('keys are per user', async () => {
        const a = track(registered());
        const b = track(registered());
        await repo.charge(a, { cost: 2, description: 'q', idempotencyKey: 'shared' });
        await expect(repo.charge(b, { cost: 2, description: 'q', idempotencyKey: 'shared' })).resolves.toMatchObject({ kind: 'charged' });
      });

      it('a very long key is still told apart from another', async () => {
        const r = track(registered());
        const long = 'x'.repeat(300);
        await repo.charge(r, { cost: 1, description: 'q', idempotencyKey: long });
        await expect(repo.charge(r, { cost: 1, description: 'q', idempotencyKey: long })).resolves.toMatchObject({ kind: 'replayed' });
        await expect(repo.charge(r, { cost: 1, description: 'q', idempotencyKey: `${long}y` })).resolves.toMatchObject({ kind: 'charged' });
      });
    });

    describe('refunds', () => {
      it('a refund gives a charge back once, with a refund entry', async () => {
        const g = track(guest());
        const charge = await repo.charge(g, { cost: 4, description: 'q' });
        const chargeId = charge.kind === 'charged' ? charge.chargeId! : '';
        const refund = await repo.refund(g, chargeId, 'assistant failed');
        expect(refund).toMatchObject({ kind: 'refunded', refundId: expect.any(String), account: { available: 10 } });
        await expect(repo.refund(g, chargeId, 'again')).resolves.toMatchObject({ kind: 'already_refunded', account: { available: 10 } });
        const [latest] = await allEntries(repo, g.userId);
        expect(latest).toMatchObject({ type: 'refund', amount: 4, balanceAfter: 10, description: 'assistant failed' });
      });

      it('concurrent refunds of one charge give it back once', async () => {
        const r = track(registered());
        const charge = await repo.charge(r, { cost: 6, description: 'q' });
        const chargeId = charge.kind === 'charged' ? charge.chargeId! : '';
        const results = await Promise.all([...Array(6)].map(() => repo.refund(r, chargeId, 'x')));
        expect(results.filter((x) => x.kind === 'refunded')).toHaveLength(1);
        expect((await repo.getOrCreate(r)).available).toBe(100);
      });

      it("a refund of an unknown charge, or of another user's charge, refunds nothing", async () => {
        const a = track(registered());
        const b = track(registered());
        const charge = await repo.charge(a, { cost: 6, description: 'q' });
        await repo.getOrCreate(b);
        const chargeId = charge.kind === 'charged' ? charge.chargeId! : '';
        await expect(repo.refund(b, chargeId, 'steal')).resolves.toEqual({ kind: 'charge_not_found' });
        await expect(repo.refund(a, '999999999', 'none')).resolves.toEqual({ kind: 'charge_not_found' });
        await expect(repo.refund(a, 'not-an-id', 'none')).resolves.toEqual({ kind: 'charge_not_found' });
        expect((await repo.getOrCreate(b)).available).toBe(100);
      });
    });

    describe('lazy reset', () => {
      it('does nothing 1 ms before the boundary and resets exactly at it', async () => {
        const r = track(registered());
        await repo.charge(r, { cost: 30, description: 'q' });
        const createdAt = clock.now();
        clock.advance(PERIOD - 1);
        expect(await repo.getOrCreate(r)).toMatchObject({ available: 70, lastResetAt: createdAt });
        clock.advance(1);
        const account = await repo.getOrCreate(r);
        expect(account).toEqual({
          userId: r.userId,
          isGuest: false,
          available: 100,
          max: 100,
          lastResetAt: clock.now(),
          resetsAt: new Date(clock.now().getTime() + PERIOD),
        });
        const [latest] = await allEntries(repo, r.userId);
        expect(latest).toMatchObject({ type: 'reset', amount: 30, balanceAfter: 100, createdAt: clock.now() });
      });

      it('is anchored per user: the next boundary is one period after the last reset', async () => {
        const r = track(registered());
        await repo.getOrCreate(r);
        clock.advance(PERIOD + 5 * HOUR); // reset happens late, at the first access
        await repo.charge(r, { cost: 1, description: 'q' });
        clock.advance(PERIOD - 1);
        expect((await repo.getOrCreate(r)).available).toBe(99);
        clock.advance(1);
        expect((await repo.getOrCreate(r)).available).toBe(100);
      });

      it('a reset with nothing to restore moves the clock but writes no entry', async () => {
        const r = track(registered());
        await repo.getOrCreate(r);
        clock.advance(PERIOD);
        expect((await repo.getOrCreate(r)).lastResetAt).toEqual(clock.now());
        expect((await allEntries(repo, r.userId)).map((e) => e.type)).toEqual(['grant']);
      });

      it('a reset after an adjustment above max records a negative difference', async () => {
        const r = track(registered());
        await repo.getOrCreate(r);
        await repo.adjust(r.userId, 50, 'goodwill');
        clock.advance(PERIOD);
        expect((await repo.getOrCreate(r)).available).toBe(100);
        const [latest] = await allEntries(repo, r.userId);
        expect(latest).toMatchObject({ type: 'reset', amount: -50, balanceAfter: 100 });
      });

      it('a charge that falls due for a reset is charged against the new allowance, in one step', async () => {
        const g = track(guest());
        await repo.charge(g, { cost: 10, description: 'all' });
        clock.advance(PERIOD);
        const result = await repo.charge(g, { cost: 3, description: 'after reset' });
        expect(result).toMatchObject({ kind: 'charged', account: { available: 7, lastResetAt: clock.now() } });
        const entries = await allEntries(repo, g.userId);
        expect(entries.slice(0, 2).map((e) => [e.type, e.amount, e.balanceAfter])).toEqual([
          ['debit', -3, 7],
          ['reset', 10, 10],
        ]);
      });

      it('an insufficient charge still applies a due reset', async () => {
        const g = track(guest());
        await repo.charge(g, { cost: 10, description: 'all' });
        clock.advance(PERIOD);
        const result = await repo.charge(g, { cost: 11, description: 'too much' });
        expect(result).toMatchObject({ kind: 'insufficient', account: { available: 10, lastResetAt: clock.now() } });
      });

      it('a changed allowance takes effect at the next reset, which resetsAt announces', async () => {
        const r = track(registered());
        const before = await repo.getOrCreate(r);
        policy.registeredAllowance = 250;
        expect(await repo.getOrCreate(r)).toMatchObject({ available: 100, max: 100, resetsAt: before.resetsAt });
        clock.advance(PERIOD);
        expect(await repo.getOrCreate(r)).toMatchObject({ available: 250, max: 250 });
      });
    });

    describe('reads and charges of 0 (answered without a write when nothing is due)', () => {
      it('repeated reads and charges of 0 with no reset due change nothing and write no entry', async () => {
        const r = track(registered());
        await repo.charge(r, { cost: 7, description: 'q' });
        clock.advance(HOUR);
        const expected = { userId: r.userId, isGuest: false, available: 93, max: 100, lastResetAt: new Date(clock.now().getTime() - HOUR) };
        expect(await repo.getOrCreate(r)).toMatchObject(expected);
        expect(await repo.find(r.userId)).toMatchObject(expected);
        expect(await repo.charge(r, { cost: 0, description: 'cached answer' })).toMatchObject({ kind: 'charged', chargeId: null, account: expected });
        expect(await repo.charge(r, { cost: 0, description: 'cached answer', idempotencyKey: 'zero' })).toMatchObject({ kind: 'charged', chargeId: null });
        expect(await repo.getOrCreate(r)).toMatchObject(expected);
        expect((await allEntries(repo, r.userId)).map((e) => e.type)).toEqual(['debit', 'grant']);
      });

      it('a read when a reset is due still applies the reset, with its entry', async () => {
        const g = track(guest());
        await repo.charge(g, { cost: 4, description: 'q' });
        clock.advance(PERIOD);
        expect(await repo.getOrCreate(g)).toMatchObject({ available: 10, lastResetAt: clock.now() });
        const [latest] = await allEntries(repo, g.userId);
        expect(latest).toMatchObject({ type: 'reset', amount: 4, balanceAfter: 10 });
      });

      it('an operator read when a reset is due applies the reset, with its entry', async () => {
        const g = track(guest());
        await repo.charge(g, { cost: 6, description: 'q' });
        clock.advance(PERIOD);
        expect(await repo.find(g.userId)).toMatchObject({ available: 10, lastResetAt: clock.now() });
        const [latest] = await allEntries(repo, g.userId);
        expect(latest).toMatchObject({ type: 'reset', amount: 6, balanceAfter: 10 });
      });

      it('a charge of 0 when a reset is due applies the reset and reports the new balance', async () => {
        const g = track(guest());
        await repo.charge(g, { cost: 10, description: 'all' });
        clock.advance(PERIOD);
        const result = await repo.charge(g, { cost: 0, description: 'cached answer' });
        expect(result).toMatchObject({ kind: 'charged', chargeId: null, account: { available: 10, lastResetAt: clock.now() } });
        expect((await allEntries(repo, g.userId)).map((e) => [e.type, e.amount, e.balanceAfter])).toEqual([
          ['reset', 10, 10],
          ['debit', -10, 0],
          ['grant', 10, 10],
        ]);
      });

      it('a charge of 0 on a user without a row creates the row with its grant', async () => {
        const g = track(guest());
        const result = await repo.charge(g, { cost: 0, description: 'cached answer' });
        expect(result).toMatchObject({ kind: 'charged', chargeId: null, account: { userId: g.userId, available: 10, max: 10 } });
        expect((await allEntries(repo, g.userId)).map((e) => e.type)).toEqual(['grant']);
      });

      it('a charge of 0 under a key a real charge used is a conflict and charges nothing', async () => {
        const r = track(registered());
        await repo.charge(r, { cost: 2, description: 'q', idempotencyKey: 'k-0' });
        const clash = await repo.charge(r, { cost: 0, description: 'q', idempotencyKey: 'k-0' });
        expect(clash).toMatchObject({ kind: 'conflict', account: { available: 98 } });
        expect((await allEntries(repo, r.userId)).map((e) => e.type)).toEqual(['debit', 'grant']);
      });
    });

    describe('operator adjustments and resets', () => {
      it('an adjustment writes an adjustment entry and may lift the balance above max', async () => {
        const r = track(registered());
        await repo.getOrCreate(r);
        const result = await repo.adjust(r.userId, 500, 'apology');
        expect(result).toMatchObject({ kind: 'adjusted', account: { available: 600, max: 100 } });
        const [latest] = await allEntries(repo, r.userId);
        expect(latest).toMatchObject({ type: 'adjustment', amount: 500, balanceAfter: 600, description: 'apology' });
      });

      it('an adjustment below zero is refused and changes nothing', async () => {
        const g = track(guest());
        await repo.getOrCreate(g);
        await expect(repo.adjust(g.userId, -11, 'too much')).resolves.toMatchObject({ kind: 'would_be_negative', account: { available: 10 } });
        await expect(repo.adjust(g.userId, -10, 'exactly')).resolves.toMatchObject({ kind: 'adjusted', account: { available: 0 } });
        expect(await allEntries(repo, g.userId)).toHaveLength(2);
      });

      it('an operator reset applies the current allowance at once and restarts the period', async () => {
        const r = track(registered());
        await repo.charge(r, { cost: 40, description: 'q' });
        clock.advance(HOUR);
        policy.registeredAllowance = 120;
        const account = await repo.reset(r.userId);
        expect(account).toMatchObject({ available: 120, max: 120, lastResetAt: clock.now() });
        const [latest] = await allEntries(repo, r.userId);
        expect(latest).toMatchObject({ type: 'reset', amount: 60, balanceAfter: 120 });
        clock.advance(HOUR);
        await repo.reset(r.userId);
        expect((await allEntries(repo, r.userId)).filter((e) => e.type === 'reset')).toHaveLength(1);
      });
    });

    describe('transaction pages', () => {
      it('lists newest first and walks every entry exactly once', async () => {
        const r = track(registered());
        for (let i = 1; i <= 9; i++) {
          await repo.charge(r, { cost: 1, description: `q${i}` });
          if (i % 3 === 0) clock.advance(1000);
        }
        const page1 = await repo.listTransactions(r.userId, { limit: 4 });
        expect(page1.items.map((e) => e.description)).toEqual(['q9', 'q8', 'q7', 'q6']);
        expect(page1.nextCursor).toEqual(expect.any(String));
        const all = await allEntries(repo, r.userId);
        expect(all.map((e) => e.description)).toEqual(['q9', 'q8', 'q7', 'q6', 'q5', 'q4', 'q3', 'q2', 'q1', 'Initial allowance']);
        const last = await repo.listTransactions(r.userId, { limit: 10 });
        expect(last.nextCursor).toBeNull();
      });

      it('pages stay stable while new entries arrive', async () => {
        const r = track(registered());
        for (let i = 1; i <= 6; i++) await repo.charge(r, { cost: 1, description: `old${i}` });
        const page1 = await repo.listTransactions(r.userId, { limit: 3 });
        expect(page1.items.map((e) => e.description)).toEqual(['old6', 'old5', 'old4']);
        // New entries, at the same instant and later.
        await repo.charge(r, { cost: 1, description: 'new1' });
        clock.advance(10);
        await repo.charge(r, { cost: 1, description: 'new2' });
        const page2 = await repo.listTransactions(r.userId, { limit: 3, cursor: page1.nextCursor! });
        expect(page2.items.map((e) => e.description)).toEqual(['old3', 'old2', 'old1']);
        const page3 = await repo.listTransactions(r.userId, { limit: 3, cursor: page2.nextCursor! });
        expect(page3).toEqual({ items: [expect.objectContaining({ type: 'grant' })], nextCursor: null });
      });

      it('refuses a cursor it did not make', async () => {
        const r = track(registered());
        await repo.getOrCreate(r);
        for (const bad of ['nonsense!', 'bm9wZQ', Buffer.from('["x","1"]').toString('base64url'), Buffer.from('{"t":"1"}').toString('base64url')]) {
          await expect(repo.listTransactions(r.userId, { limit: 5, cursor: bad })).rejects.toBeInstanceOf(InvalidCursorError);
        }
      });
    });

    describe('held charges', () => {
      const HOLD_MS = 120_000;
      const held = async (c: Caller, cost = 1, key?: string) => {
        const result = await repo.charge(c, { cost, description: 'held answer', holdMs: HOLD_MS, ...(key ? { idempotencyKey: key } : {}) });
        expect(result.kind).toBe('charged');
        return result.kind === 'charged' ? result.chargeId! : '';
      };

      it('a held charge debits at once, with its entry, and its hold is open until settled', async () => {
        const r = track(registered());
        const chargeId = await held(r, 3);
        expect((await repo.find(r.userId))!.available).toBe(97);
        expect((await allEntries(repo, r.userId))[0]).toMatchObject({ id: chargeId, type: 'debit', amount: -3 });
        expect(await repo.verifyLedger()).toMatchObject({ mismatched: 0, negative: 0, openHolds: 1, expiredHolds: 0 });
        await expect(repo.settle(r.userId, chargeId)).resolves.toBe('settled');
        await expect(repo.settle(r.userId, chargeId)).resolves.toBe('settled');
        expect(await repo.verifyLedger()).toMatchObject({ openHolds: 0, expiredHolds: 0 });
        expect((await repo.find(r.userId))!.available).toBe(97);
      });

      it('a settled hold is never refunded, and a refunded one never settled', async () => {
        const r = track(registered());
        const settled = await held(r, 2);
        await repo.settle(r.userId, settled);
        await expect(repo.refund(r, settled, 'too late')).resolves.toMatchObject({ kind: 'settled' });
        const refunded = await held(r, 5);
        await expect(repo.refund(r, refunded, 'assistant failed')).resolves.toMatchObject({ kind: 'refunded', account: { available: 98 } });
        await expect(repo.settle(r.userId, refunded)).resolves.toBe('refunded');
        await expect(repo.refund(r, refunded, 'again')).resolves.toMatchObject({ kind: 'already_refunded' });
        const entries = await allEntries(repo, r.userId);
        expect(entries.filter((e) => e.type === 'refund').map((e) => e.amount)).toEqual([5]);
        expect(await repo.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 0 });
      });

      it("settling another user's hold, or no hold at all, changes nothing", async () => {
        const a = track(registered());
        const b = track(registered());
        const chargeId = await held(a);
        await expect(repo.settle(b.userId, chargeId)).resolves.toBe('not_found');
        await expect(repo.settle(a.userId, '999999999')).resolves.toBe('not_found');
        await expect(repo.settle(a.userId, 'not-an-id')).resolves.toBe('not_found');
        expect(await repo.verifyLedger()).toMatchObject({ openHolds: 1 });
      });

      it('a settle racing a refund of the same hold: exactly one of them takes effect', async () => {
        const r = track(registered());
        const ids = await Promise.all([...Array(8)].map(() => held(r)));
        const outcomes = await Promise.all(ids.map((id) => Promise.all([repo.settle(r.userId, id), repo.refund(r, id, 'race')])));
        // Settled first: the refund finds it settled. Refunded first: the settle finds it refunded.
        for (const [settled, refunded] of outcomes) expect(refunded.kind).toBe(settled);
        const refunds = (await allEntries(repo, r.userId)).filter((e) => e.type === 'refund').length;
        expect(refunds).toBe(outcomes.filter(([settled]) => settled === 'refunded').length);
        expect((await repo.find(r.userId))!.available).toBe(100 - 8 + refunds);
        expect(await repo.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 0 });
      });

      it('the sweep refunds each hold past its expiry exactly once, however many sweep at once', async () => {
        const users = [track(registered()), track(guest()), track(registered())];
        const ids = await Promise.all(users.map((u, i) => held(u, i + 1)));
        const settledOne = ids[2]!;
        await repo.settle(users[2]!.userId, settledOne);
        await expect(repo.refundExpiredHolds(100)).resolves.toEqual([]);
        clock.advance(HOLD_MS - 1);
        await expect(repo.refundExpiredHolds(100)).resolves.toEqual([]);
        expect(await repo.verifyLedger()).toMatchObject({ openHolds: 2, expiredHolds: 0 });
        clock.advance(1);
        expect(await repo.verifyLedger()).toMatchObject({ openHolds: 2, expiredHolds: 2, examples: [users[0]!.userId, users[1]!.userId].sort() });
        const sweeps = await Promise.all([...Array(4)].map(() => repo.refundExpiredHolds(100)));
        const swept = sweeps.flat();
        expect(swept.map((h) => h.chargeId).sort()).toEqual([ids[0], ids[1]].sort());
        expect(swept.find((h) => h.chargeId === ids[1])).toEqual({ userId: users[1]!.userId, chargeId: ids[1], amount: 2 });
        expect((await repo.find(users[0]!.userId))!.available).toBe(100);
        expect((await repo.find(users[1]!.userId))!.available).toBe(10);
        expect((await repo.find(users[2]!.userId))!.available).toBe(97);
        expect(await repo.verifyLedger()).toMatchObject({ mismatched: 0, negative: 0, openHolds: 0, expiredHolds: 0, examples: [] });
        await expect(repo.refundExpiredHolds(100)).resolves.toEqual([]);
        await expect(repo.settle(users[0]!.userId, ids[0]!)).resolves.toBe('refunded');
      });

      it('the sweep takes at most `limit` holds a call, oldest first', async () => {
        const r = track(registered());
        const first = await held(r);
        clock.advance(10);
        await held(r);
        clock.advance(HOLD_MS);
        const once = await repo.refundExpiredHolds(1);
        expect(once.map((h) => h.chargeId)).toEqual([first]);
        expect(await repo.refundExpiredHolds(10)).toHaveLength(1);
      });

      it('a replayed charge reports its hold as it stands', async () => {
        const r = track(registered());
        const chargeId = await held(r, 1, 'answer-1');
        const again = () => repo.charge(r, { cost: 1, description: 'held answer', idempotencyKey: 'answer-1', holdMs: HOLD_MS });
        await expect(again()).resolves.toMatchObject({ kind: 'replayed', chargeId, hold: 'held' });
        await repo.settle(r.userId, chargeId);
        await expect(again()).resolves.toMatchObject({ kind: 'replayed', chargeId, hold: 'settled' });
        const other = await held(r, 1, 'answer-2');
        await repo.refund(r, other, 'failed');
        await expect(repo.charge(r, { cost: 1, description: 'x', idempotencyKey: 'answer-2', holdMs: HOLD_MS })).resolves.toMatchObject({ kind: 'replayed', hold: 'refunded' });
        await repo.charge(r, { cost: 1, description: 'plain', idempotencyKey: 'plain' });
        await expect(repo.charge(r, { cost: 1, description: 'plain', idempotencyKey: 'plain' })).resolves.toMatchObject({ kind: 'replayed', hold: null });
      });

      it('concurrent held charges of many users each get their own hold', async () => {
        const users = [...Array(20)].map(() => track(guest()));
        const ids = await Promise.all(users.map((u) => held(u)));
        expect(new Set(ids).size).toBe(20);
        expect(await repo.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 20 });
        const settled = await Promise.all(users.map((u, i) => repo.settle(u.userId, ids[i]!)));
        expect(settled).toEqual(Array(20).fill('settled'));
        expect(await repo.verifyLedger()).toMatchObject({ openHolds: 0 });
      });

      it('retention deletes holds with an outcome and keeps open ones', async () => {
        const r = track(registered());
        const open = await held(r);
        await repo.settle(r.userId, await held(r));
        clock.advance(100 * 24 * HOUR);
        await repo.cleanupTransactions(new Date(clock.now().getTime() - 90 * 24 * HOUR), 10);
        expect(await repo.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 1 });
        const swept = await repo.refundExpiredHolds(10);
        expect(swept.map((h) => h.chargeId)).toEqual([open]);
        expect(await repo.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 0 });
      });
    });

    describe('retention cleanup', () => {
      it('replaces old entries by one carryover with their sum, keeping the balance provable', async () => {
        const a = track(registered());
        const b = track(guest());
        const c = track(registered());
        await repo.charge(a, { cost: 5, description: 'old' });
        await repo.charge(a, { cost: 7, description: 'old' });
        await repo.charge(b, { cost: 2, description: 'old' });
        clock.advance(100 * 24 * HOUR);
        await repo.charge(a, { cost: 1, description: 'new' }); // due reset + debit, both recent
        await repo.getOrCreate(c); // only recent entries
        const deleted = await repo.cleanupTransactions(new Date(clock.now().getTime() - 90 * 24 * HOUR), 1);
        expect(deleted).toBe(5); // a: grant + 2 debits; b: grant + debit
        const aEntries = await allEntries(repo, a.userId);
        expect(aEntries.map((e) => [e.type, e.amount])).toEqual([
          ['debit', -1],
          ['reset', 12],
          ['carryover', 88],
        ]);
        expect((await allEntries(repo, b.userId)).map((e) => [e.type, e.amount, e.balanceAfter])).toEqual([['carryover', 8, 8]]);
        expect((await allEntries(repo, c.userId)).map((e) => e.type)).toEqual(['grant']);
        await expect(repo.cleanupTransactions(new Date(clock.now().getTime() - 90 * 24 * HOUR), 1)).resolves.toBe(0);

        // A later run folds the earlier carryover into the new one: one carryover per user, not one per run.
        clock.advance(100 * 24 * HOUR);
        await repo.charge(b, { cost: 1, description: 'later' });
        clock.advance(HOUR);
        await expect(repo.cleanupTransactions(new Date(clock.now().getTime() - HOUR / 2), 2)).resolves.toBe(5);
        expect((await allEntries(repo, b.userId)).map((e) => [e.type, e.amount, e.balanceAfter])).toEqual([['carryover', 9, 9]]);
      });

      it('writes no carryover when the deleted entries sum to 0', async () => {
        const g = track(guest());
        await repo.charge(g, { cost: 10, description: 'all' });
        clock.advance(100 * 24 * HOUR);
        await repo.cleanupTransactions(new Date(clock.now().getTime() - HOUR), 10);
        expect(await allEntries(repo, g.userId)).toEqual([]);
        expect((await repo.find(g.userId))!.available).toBe(10); // the due reset, with its entry
        clock.advance(2 * HOUR);
        await repo.charge(g, { cost: 1, description: 'x' });
        clock.advance(2 * HOUR);
        await repo.cleanupTransactions(new Date(clock.now().getTime() - HOUR), 10);
        expect((await allEntries(repo, g.userId)).map((e) => [e.type, e.amount])).toEqual([['carryover', 9]]);
      });
    });

    describe('idle guest accounts', () => {
      it('picks guests untouched since the cutoff, oldest first, and never a registered user or a touched guest', async () => {
        const oldest = guest();
        const old = guest();
        const active = track(guest());
        const member = track(registered());
        await repo.getOrCreate(oldest);
        clock.advance(HOUR);
        await repo.charge(old, { cost: 1, description: 'once' });
        await repo.getOrCreate(active);
        await repo.getOrCreate(member);
        clock.advance(40 * 24 * HOUR);
        await repo.charge(active, { cost: 1, description: 'recent' }); // the due reset and the debit touch it
        const cutoff = new Date(clock.now().getTime() - 30 * 24 * HOUR);
        expect(await repo.idleGuests(cutoff, 10)).toEqual([oldest.userId, old.userId]);
        expect(await repo.idleGuests(cutoff, 1)).toEqual([oldest.userId]);
      });

      it('deletes idle guests with their ledger, keeps one touched meanwhile, and leaves other users as they were', async () => {
        const idle = guest();
        const touchedMeanwhile = track(guest());
        const member = track(registered());
        const neighbour = track(guest());
        await repo.charge(idle, { cost: 3, description: 'old' });
        await repo.getOrCreate(touchedMeanwhile);
        await repo.charge(member, { cost: 5, description: 'old' });
        clock.advance(40 * 24 * HOUR);
        await repo.charge(neighbour, { cost: 2, description: 'recent' });
        const cutoff = new Date(clock.now().getTime() - 30 * 24 * HOUR);
        const picked = await repo.idleGuests(cutoff, 10);
        expect(picked.sort()).toEqual([idle.userId, touchedMeanwhile.userId].sort());
        await repo.charge(touchedMeanwhile, { cost: 1, description: 'just now' });
        // A registered id passed in by mistake is never deleted.
        expect(await repo.deleteIdleGuests([...picked, member.userId], cutoff)).toBe(1);
        expect(await repo.find(idle.userId)).toBeUndefined();
        expect(await allEntries(repo, idle.userId)).toEqual([]);
        expect((await repo.find(touchedMeanwhile.userId))?.available).toBe(9);
        expect((await allEntries(repo, member.userId)).map((e) => e.type)).toEqual(['debit', 'grant']); // newest first; its reset is still to come
        expect((await repo.find(neighbour.userId))?.available).toBe(8);
        // A deleted guest that comes back is a new account with a new grant.
        expect((await repo.getOrCreate(idle)).available).toBe(10);
        track(idle);
      });

      it('keeps a guest whose charge is still held until the sweep has ended it; deletes settled holds with the ledger', async () => {
        const settledGuest = guest();
        const heldGuest = track(guest());
        const charged = await repo.charge(settledGuest, { cost: 1, description: 'answer', holdMs: 120_000 });
        await repo.settle(settledGuest.userId, charged.kind === 'charged' ? charged.chargeId! : '');
        await repo.charge(heldGuest, { cost: 1, description: 'answer', holdMs: 120_000 });
        clock.advance(40 * 24 * HOUR);
        const cutoff = new Date(clock.now().getTime() - 30 * 24 * HOUR);
        expect(await repo.deleteIdleGuests([settledGuest.userId, heldGuest.userId], cutoff)).toBe(1);
        expect(await repo.find(settledGuest.userId)).toBeUndefined();
        expect(await repo.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 1, expiredHolds: 1 });
        expect(await repo.refundExpiredHolds(10)).toHaveLength(1);
        // The due reset comes first (back to 10), then the refund of the old period's charge.
        expect((await repo.find(heldGuest.userId))?.available).toBe(11);
        expect(await repo.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 0, expiredHolds: 0 });
      });
    });
  });
}
