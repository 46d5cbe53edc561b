import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import type { ChargeResult } from '../../src/credits/credit.repository.js';
import { StorageUnavailableError } from '../../src/platform/errors.js';
import { unguarded, type StorageGuard } from '../../src/platform/storage-guard.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';

const POLICY = { guestAllowance: 3, registeredAllowance: 5, resetPeriodMs: 24 * 3600_000 };
const user = (i: number) => ({ userId: `batch-user-${i}`, isGuest: false });

/**
 * Charges of concurrent requests for distinct users go out as one statement (one transaction):
 * their ledger entries share one `xmin`. Every rule of a single charge still holds per user.
 */
describe('charges sent together', () => {
  let db: MigratedDatabase;
  let repo: PostgresCreditRepository;

  beforeAll(async () => {
    db = await createMigratedDatabase();
  });
  afterAll(async () => {
    await db?.dispose();
  });
  beforeEach(async () => {
    await db.truncate();
    repo = new PostgresCreditRepository(db.database.sequelize, unguarded, POLICY);
  });

  const select = <T extends object>(sql: string, bind: unknown[] = []) => db.database.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
  const debitXmins = async (userIds: string[]) =>
    (await select<{ xmin: string }>(`SELECT xmin::text AS xmin FROM credit_transactions WHERE transaction_type = 'debit' AND user_id = ANY($1)`, [userIds])).map((r) => r.xmin);
  const invariantHolds = async () =>
    (
      await select<{ bad: number }>(
        `SELECT count(*)::int AS bad FROM user_credits c
          WHERE c.available_credits <> (SELECT coalesce(sum(amount), 0) FROM credit_transactions t WHERE t.user_id = c.user_id)`,
      )
    )[0]!.bad === 0;

  it('charges distinct users of one turn in one transaction, each by its own rules', async () => {
    const users = Array.from({ length: 12 }, (_, i) => user(i));
    await Promise.all(users.map((u) => repo.ensure(u)));
    // Users 0–3 hold less than they are charged for: refused, with nothing written.
    const results = await Promise.all(users.map((u, i) => repo.charge(u, { cost: i < 4 ? 6 : i % 3 + 1, description: 'answer' })));
    results.forEach((r, i) => {
      if (i < 4) expect(r).toMatchObject({ kind: 'insufficient', account: { available: 5 } });
      else expect(r).toMatchObject({ kind: 'charged', account: { userId: `batch-user-${i}`, available: 5 - ((i % 3) + 1) } });
    });
    const xmins = await debitXmins(users.map((u) => u.userId));
    expect(xmins).toHaveLength(8);
    expect(new Set(xmins).size).toBe(1);
    expect(await invariantHolds()).toBe(true);
  });

  it('charges a user twice in one turn one after the other, never below zero', async () => {
    const users = [user(1), user(2), user(3)];
    await Promise.all(users.map((u) => repo.ensure(u)));
    // Ten charges of 1 for each of three users with 5 credits, all in one turn.
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => repo.charge(users[i % 3]!, { cost: 1, description: 'answer' })));
    for (let u = 0; u < 3; u++) {
      const mine = results.filter((_, i) => i % 3 === u);
      expect(mine.filter((r) => r.kind === 'charged')).toHaveLength(5);
      expect(mine.filter((r) => r.kind === 'insufficient')).toHaveLength(5);
      expect((await repo.find(users[u]!.userId))!.available).toBe(0);
    }
    expect(await invariantHolds()).toBe(true);
  });

  it('replays a repeated idempotency key and refuses one used for another cost, beside fresh charges', async () => {
    const [a, b, c] = [user(1), user(2), user(3)];
    await Promise.all([a, b, c].map((u) => repo.ensure(u)));
    const first = await repo.charge(a, { cost: 2, description: 'answer', idempotencyKey: 'k-a' });
    await repo.charge(b, { cost: 1, description: 'answer', idempotencyKey: 'k-b' });
    const [replay, conflict, fresh] = await Promise.all([
      repo.charge(a, { cost: 2, description: 'answer', idempotencyKey: 'k-a' }),
      repo.charge(b, { cost: 3, description: 'answer', idempotencyKey: 'k-b' }),
      repo.charge(c, { cost: 1, description: 'answer', idempotencyKey: 'k-c' }),
    ]);
    expect(replay).toMatchObject({ kind: 'replayed', chargeId: (first as Extract<ChargeResult, { kind: 'charged' }>).chargeId, balanceAfter: 3 });
    expect(conflict).toMatchObject({ kind: 'conflict', account: { available: 4 } });
    expect(fresh).toMatchObject({ kind: 'charged', account: { available: 4 } });
    expect((await repo.find(a.userId))!.available).toBe(3);
    expect(await invariantHolds()).toBe(true);
  });

  it('creates the account of a first-time user in the turn and applies a due reset to another', async () => {
    const [old, fresh, other] = [user(1), { userId: 'guest_00000000-0000-4000-8000-000000000001', isGuest: true }, user(3)];
    await Promise.all([old, other].map((u) => repo.ensure(u)));
    await repo.charge(old, { cost: 5, description: 'answer' });
    await db.database.sequelize.query(`UPDATE user_credits SET last_reset_timestamp = now() - interval '25 hours' WHERE user_id = $1`, { bind: [old.userId] });
    const [afterReset, firstUse, plain] = await Promise.all([
      repo.charge(old, { cost: 1, description: 'answer' }),
      repo.charge(fresh, { cost: 1, description: 'answer' }),
      repo.charge(other, { cost: 2, description: 'answer' }),
    ]);
    expect(afterReset).toMatchObject({ kind: 'charged', account: { available: 4, max: 5 } });
    expect(firstUse).toMatchObject({ kind: 'charged', account: { available: 2, max: 3, isGuest: true } });
    expect(plain).toMatchObject({ kind: 'charged', account: { available: 3 } });
    const entries = await select<{ transaction_type: string; amount: number }>(
      `SELECT transaction_type, amount FROM credit_transactions WHERE user_id = $1 ORDER BY "timestamp", id`,
      [old.userId],
    );
    expect(entries).toEqual([
      { transaction_type: 'grant', amount: 5 },
      { transaction_type: 'debit', amount: -5 },
      { transaction_type: 'reset', amount: 5 },
      { transaction_type: 'debit', amount: -1 },
    ]);
    expect(await invariantHolds()).toBe(true);
  });

  /**
   * Three users charged in one turn through a guard whose second call is answered 503 once its
   * liveness has been checked `liveChecks` times: only the other two are charged.
   */
  async function chargeWithSecondAnswered503(liveChecks: number) {
    const users = [user(1), user(2), user(3)];
    await Promise.all(users.map((u) => repo.ensure(u)));
    let calls = 0;
    const guard: StorageGuard = {
      run: (_operation, fn) => {
        const late = ++calls === 2;
        let checks = 0;
        return fn({
          assertLive: () => {
            if (late && ++checks > liveChecks) throw new StorageUnavailableError(1);
          },
        });
      },
    };
    const guarded = new PostgresCreditRepository(db.database.sequelize, guard, POLICY);
    const results = await Promise.allSettled(users.map((u) => guarded.charge(u, { cost: 1, description: 'answer' })));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StorageUnavailableError);
    expect(await Promise.all(users.map(async (u) => (await repo.find(u.userId))!.available))).toEqual([4, 5, 4]);
    expect(await invariantHolds()).toBe(true);
  }

  it('never sends the charge of a request already answered 503, and still sends the others', async () => {
    await chargeWithSecondAnswered503(0);
  });

  it('never sends the charge of a request answered 503 while its batch waited for a connection', async () => {
    // Still live when its turn's charges are gathered, answered 503 before the shared statement
    // leaves: its charge must stay out of that statement too.
    await chargeWithSecondAnswered503(1);
  });
});
