import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import type { Caller } from '../../src/identity/caller.js';
import { unguarded } from '../../src/platform/storage-guard.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';

const policy = { guestAllowance: 10, registeredAllowance: 100, resetPeriodMs: 24 * 3_600_000 };

let db: MigratedDatabase;
beforeAll(async () => {
  db = await createMigratedDatabase();
});
afterAll(async () => {
  await db?.dispose();
});

/**
 * The row's `xmax`: a row lock (FOR UPDATE) or an update stamps the transaction id of whoever
 * took it there, and only a transaction that was given an id has to flush the WAL at commit.
 */
async function xmaxOf(userId: string): Promise<string> {
  const [row] = await db.database.sequelize.query<{ xmax: string }>('SELECT xmax::text AS xmax FROM user_credits WHERE user_id = $1', {
    bind: [userId],
    type: QueryTypes.SELECT,
  });
  return row!.xmax;
}

describe('PostgreSQL credit reads', () => {
  it('reads and charges of 0 of an existing row with no reset due take no row lock (no write, no WAL flush)', async () => {
    const repo = new PostgresCreditRepository(db.database.sequelize, unguarded, policy);
    const caller: Caller = { userId: `user-${randomUUID()}`, isGuest: false };
    await repo.ensure(caller);
    const before = await xmaxOf(caller.userId);
    expect(before).toBe('0');

    await repo.getOrCreate(caller);
    await repo.find(caller.userId);
    await repo.charge(caller, { cost: 0, description: 'cached answer' });
    await repo.charge(caller, { cost: 0, description: 'cached answer', idempotencyKey: 'k' });
    await repo.ensure(caller);
    expect(await xmaxOf(caller.userId)).toBe(before);

    // A real charge still goes through the locking statement.
    await repo.charge(caller, { cost: 1, description: 'fresh answer' });
    expect(await xmaxOf(caller.userId)).not.toBe(before);
  });
});
