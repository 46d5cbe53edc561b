import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresCacheStore } from '../../src/cache/cache.store.postgres.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';
import { TEST_DATABASE_URL } from '../support/database.js';

/**
 * A batched cache write is one multi-row upsert, which locks its rows one after the other. Two
 * batches in flight at once (two turns of one process, or two processes) may hold the same keys;
 * unless both take them in one order, each can end up holding a row the other waits for (a
 * deadlock: one write fails after deadlock_timeout). Row locks only contend on a server: the
 * embedded database runs one statement at a time.
 */
describe.skipIf(!TEST_DATABASE_URL)('batched cache writes', () => {
  let db: MigratedDatabase;

  beforeAll(async () => {
    db = await createMigratedDatabase({ poolSize: 4, maxOverflow: 0 });
  });
  afterAll(async () => {
    await db?.dispose();
  });

  it('take their rows in key order, whatever the order of the writes, so two batches never deadlock', async () => {
    const sequelize = db.database.sequelize;
    const store = createPostgresCacheStore(sequelize);
    await Promise.all([store.set('key-a', { v: 0 }, 60), store.set('key-b', { v: 0 }, 60)]);
    // key-a is held elsewhere: the batch waits there. It must not be holding key-b meanwhile.
    const holder = await sequelize.transaction();
    await sequelize.query(`SELECT 1 FROM query_cache WHERE query_hash = 'key-a' FOR UPDATE`, { transaction: holder });
    const batch = Promise.all([store.set('key-b', { v: 1 }, 60), store.set('key-a', { v: 1 }, 60)]);
    let waiting = 0;
    for (let i = 0; waiting === 0 && i < 300; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      [{ waiting }] = await sequelize.query<{ waiting: number }>(
        `SELECT count(*)::int AS waiting FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO query_cache%'`,
        { type: QueryTypes.SELECT },
      );
    }
    expect(waiting).toBe(1);
    const keyB = sequelize.transaction(async (transaction) =>
      sequelize.query(`SELECT 1 FROM query_cache WHERE query_hash = 'key-b' FOR UPDATE NOWAIT`, { transaction, type: QueryTypes.SELECT }),
    );
    const probe = await keyB.then(
      () => 'free',
      (err: unknown) => (err as { parent?: { code?: string } }).parent?.code ?? String(err),
    );
    await holder.commit();
    await batch;
    expect(probe).toBe('free');
    await expect(store.get('key-b')).resolves.toEqual({ v: 1 });
  });
});
