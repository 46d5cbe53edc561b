import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreditPolicy } from '../../src/credits/credit.repository.js';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import { CreditService } from '../../src/credits/credit.service.js';
import { createDatabase, type Database } from '../../src/platform/db.js';
import { isAppError } from '../../src/platform/errors.js';
import { createLogger } from '../../src/platform/logger.js';
import { unguarded } from '../../src/platform/storage-guard.js';
import { testConfig } from '../support/app.js';
import { createMigratedDatabase, testPoolSettings, type MigratedDatabase } from '../support/credit-storage.js';

const policy: CreditPolicy = { guestAllowance: 10, registeredAllowance: 50, resetPeriodMs: 24 * 3_600_000 };

let db: MigratedDatabase;
let second: Database;
beforeAll(async () => {
  db = await createMigratedDatabase();
  // A second, independent pool on the same database: what a second API process holds.
  second = await createDatabase({ ...testConfig().database, url: db.database.url, ...testPoolSettings() }, createLogger({ level: 'silent' }));
});
afterAll(async () => {
  await second?.close();
  await db?.dispose();
});

/** "available = sum of ledger amounts, never negative", for every user in the database. */
async function expectLedgerInvariantEverywhere(): Promise<void> {
  const broken = await db.database.sequelize.query(
    `SELECT u.user_id, u.available_credits, COALESCE(t.total, 0) AS total
       FROM user_credits u
       LEFT JOIN (SELECT user_id, sum(amount) AS total, min(balance_after) AS lowest FROM credit_transactions GROUP BY user_id) t USING (user_id)
      WHERE u.available_credits <> COALESCE(t.total, 0) OR u.available_credits < 0 OR t.lowest < 0`,
    { type: QueryTypes.SELECT },
  );
  expect(broken).toEqual([]);
}

async function debitRows(userId: string): Promise<number> {
  const [row] = await db.database.sequelize.query<{ n: string }>(
    `SELECT count(*) AS n FROM credit_transactions WHERE user_id = $1 AND transaction_type = 'debit'`,
    { bind: [userId], type: QueryTypes.SELECT },
  );
  return Number(row.n);
}

async function charge200(services: CreditService[], userId: string) {
  const caller = { userId, isGuest: false };
  const outcomes = await Promise.allSettled(
    [...Array(200)].map((_, i) => services[i % services.length].charge(caller, 1, `concurrent ${i}`)),
  );
  const succeeded = outcomes.filter((o) => o.status === 'fulfilled').length;
  const refused = outcomes.filter((o) => o.status === 'rejected' && isAppError(o.reason) && o.reason.code === 'INSUFFICIENT_CREDITS').length;
  const other = outcomes.flatMap((o) => (o.status === 'rejected' && !(isAppError(o.reason) && o.reason.code === 'INSUFFICIENT_CREDITS') ? [String(o.reason)] : []));
  return { succeeded, refused, other: [...new Set(other)] };
}

describe('concurrent charges on PostgreSQL', () => {
  it('200 concurrent charges of 1 against a balance of 50: exactly 50 succeed, 50 debit rows, balance 0', async () => {
    const service = new CreditService(new PostgresCreditRepository(db.database.sequelize, unguarded, policy));
    const userId = `race-${randomUUID()}`;
    await service.get({ userId, isGuest: false });
    const { succeeded, refused, other } = await charge200([service], userId);
    expect(other).toEqual([]);
    expect(succeeded).toBe(50);
    expect(refused).toBe(150);
    expect(await debitRows(userId)).toBe(50);
    expect((await service.get({ userId, isGuest: false })).available).toBe(0);
    await expectLedgerInvariantEverywhere();
  });

  it('the same through two app instances sharing the database, starting from a user without a row', async () => {
    const a = new CreditService(new PostgresCreditRepository(db.database.sequelize, unguarded, policy));
    const b = new CreditService(new PostgresCreditRepository(second.sequelize, unguarded, policy));
    const userId = `race2-${randomUUID()}`;
    const { succeeded, refused, other } = await charge200([a, b], userId);
    expect(other).toEqual([]);
    expect(succeeded).toBe(50);
    expect(refused).toBe(150);
    expect(await debitRows(userId)).toBe(50);
    const [grants] = await db.database.sequelize.query<{ n: string }>(
      `SELECT count(*) AS n FROM credit_transactions WHERE user_id = $1 AND transaction_type = 'grant'`,
      { bind: [userId], type: QueryTypes.SELECT },
    );
    expect(Number(grants.n)).toBe(1);
    expect((await b.get({ userId, isGuest: false })).available).toBe(0);
    await expectLedgerInvariantEverywhere();
  });

  it('charges, refunds and adjustments racing on one balance keep the ledger exact', async () => {
    const a = new CreditService(new PostgresCreditRepository(db.database.sequelize, unguarded, policy));
    const b = new CreditService(new PostgresCreditRepository(second.sequelize, unguarded, policy));
    const caller = { userId: `mix-${randomUUID()}`, isGuest: false };
    await a.get(caller);
    const work = [...Array(120)].map(async (_, i) => {
      const s = i % 2 ? a : b;
      try {
        const charged = await s.charge(caller, 1 + (i % 3), `mix ${i}`, i % 4 === 0 ? `key-${i % 8}` : undefined);
        if (i % 5 === 0 && charged.chargeId) await s.refund(caller, charged.chargeId, 'failed');
        if (i % 7 === 0) await s.adjust(caller.userId, i % 2 ? 3 : -2, 'ops');
      } catch (err) {
        if (!isAppError(err)) throw err;
      }
    });
    await Promise.all(work);
    await expectLedgerInvariantEverywhere();
  });
});
