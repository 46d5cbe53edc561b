import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import { BreakerRegistry } from '../../src/platform/breaker.js';
import { DbGuard } from '../../src/platform/db-guard.js';
import { StorageUnavailableError } from '../../src/platform/errors.js';
import { unguarded } from '../../src/platform/storage-guard.js';
import { createLogger } from '../../src/platform/logger.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';
import { TEST_DATABASE_URL } from '../support/database.js';

const POLICY = { guestAllowance: 10, registeredAllowance: 10, resetPeriodMs: 24 * 3600_000 };
const HOLD_MS = 1500;

/**
 * A charge whose request the database guard answered 503 while its statement was already under
 * way still commits when the database gets to it. Before held charges, that debit stayed with
 * nobody to refund it; now it is a hold that nobody settles, and the sweep gives it back.
 */
describe.skipIf(!TEST_DATABASE_URL)('a charge answered 503 by the guard while its statement runs', () => {
  let db: MigratedDatabase;
  let breakers: BreakerRegistry;
  let repo: PostgresCreditRepository;

  beforeAll(async () => {
    // The server lets a statement run 10 s; the guard answers the caller 503 after 300 ms.
    db = await createMigratedDatabase({ queryTimeoutMs: 10_000 });
    breakers = new BreakerRegistry(createLogger({ level: 'silent' }));
    const guard = new DbGuard(breakers, db.database.sequelize, { connectTimeoutMs: 1000, queryTimeoutMs: 200 });
    repo = new PostgresCreditRepository(db.database.sequelize, guard, POLICY);
  });
  afterAll(async () => {
    breakers?.shutdown();
    await db?.dispose();
  });

  it('leaves a hold that the sweep refunds exactly once, so no credit is kept for the 503', async () => {
    const shopper = { userId: 'late-charge-user', isGuest: false };
    await repo.ensure(shopper);
    // Another session holds the shopper's row for 800 ms: the charge statement waits behind it.
    const other = new pg.Client({ connectionString: db.database.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT 1 FROM user_credits WHERE user_id = $1 FOR UPDATE', [shopper.userId]);
      const started = Date.now();
      const charge = repo.charge(shopper, { cost: 1, description: 'answer', holdMs: HOLD_MS });
      await expect(charge).rejects.toBeInstanceOf(StorageUnavailableError);
      expect(Date.now() - started).toBeLessThan(700);
      await new Promise((resolve) => setTimeout(resolve, 800 - (Date.now() - started)));
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    // The statement sent before the deadline lands: debited, and held.
    const landed = await eventually(() => repo.verifyLedger(), (r) => r.openHolds === 1);
    expect(landed).toMatchObject({ mismatched: 0, negative: 0, openHolds: 1 });
    expect((await repo.find(shopper.userId))!.available).toBe(9);
    // Nobody settles it: once past its expiry, the sweep refunds it, and only once.
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    const swept = await Promise.all([repo.refundExpiredHolds(10), repo.refundExpiredHolds(10)]);
    expect(swept.flat()).toHaveLength(1);
    expect((await repo.find(shopper.userId))!.available).toBe(10);
    expect(await repo.verifyLedger()).toMatchObject({ mismatched: 0, negative: 0, openHolds: 0, expiredHolds: 0 });
  });
});

/**
 * A settle or refund that waits on a hold another transaction is ending reports the outcome that
 * transaction gave it, not what the statement's snapshot saw (the hold as open).
 */
describe.skipIf(!TEST_DATABASE_URL)('a settle or refund waiting on a hold that another transaction ends', () => {
  let db: MigratedDatabase;
  let repo: PostgresCreditRepository;
  beforeAll(async () => {
    db = await createMigratedDatabase();
    repo = new PostgresCreditRepository(db.database.sequelize, unguarded, POLICY);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  /** Takes a hold, then ends it as `state` in another session that holds its row for 300 ms while `race` runs. */
  async function endedMeanwhile<T>(state: 'settled' | 'refunded', race: (userId: string, chargeId: string) => Promise<T>): Promise<T> {
    const shopper = { userId: `race-${state}-${Date.now()}`, isGuest: false };
    const charged = await repo.charge(shopper, { cost: 1, description: 'answer', holdMs: 60_000 });
    const chargeId = charged.kind === 'charged' ? charged.chargeId! : '';
    const other = new pg.Client({ connectionString: db.database.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        state === 'settled'
          ? `UPDATE credit_holds SET state = 'settled', settled_at = now() WHERE debit_id = $1`
          : `UPDATE credit_holds SET state = 'refunded', refunded_at = now() WHERE debit_id = $1`,
        [chargeId],
      );
      const racing = race(shopper.userId, chargeId);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await other.query('COMMIT');
      return await racing;
    } finally {
      await other.end();
    }
  }

  it('a settle that waited on a hold settled meanwhile reports it settled, not refunded', async () => {
    await expect(endedMeanwhile('settled', (userId, chargeId) => repo.settle(userId, chargeId))).resolves.toBe('settled');
  });

  it('a settle that waited on a hold refunded meanwhile reports it refunded', async () => {
    await expect(endedMeanwhile('refunded', (userId, chargeId) => repo.settle(userId, chargeId))).resolves.toBe('refunded');
  });

  it('a refund that waited on a hold refunded meanwhile reports it already refunded, and writes no entry', async () => {
    const result = await endedMeanwhile('refunded', (userId, chargeId) => repo.refund({ userId, isGuest: false }, chargeId, 'late'));
    expect(result.kind).toBe('already_refunded');
  });

  it('a refund that waited on a hold settled meanwhile reports it settled, and writes no entry', async () => {
    const result = await endedMeanwhile('settled', (userId, chargeId) => repo.refund({ userId, isGuest: false }, chargeId, 'late'));
    expect(result.kind).toBe('settled');
    expect(result.kind !== 'charge_not_found' && result.account.available).toBe(9);
  });
});

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
