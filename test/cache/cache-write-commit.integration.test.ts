import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresCacheStore } from '../../src/cache/cache.store.postgres.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';

let db: MigratedDatabase;
beforeAll(async () => {
  // One connection: the statement after the cache write runs on the very same session.
  db = await createMigratedDatabase({ poolSize: 1, maxOverflow: 0 });
});
afterAll(async () => {
  await db?.dispose();
});

it('a cache write commits without waiting for the WAL flush, and the session keeps synchronous commits for everything else', async () => {
  const store = createPostgresCacheStore(db.database.sequelize);
  await store.set('k1', { answer: 'boots' }, 60);
  await store.set('k1', { answer: 'boots, again' }, 60);
  await expect(store.get('k1')).resolves.toEqual({ answer: 'boots, again' });
  const [setting] = await db.database.sequelize.query<{ synchronous_commit: string }>('SHOW synchronous_commit', { type: QueryTypes.SELECT });
  expect(setting!.synchronous_commit).toBe('on');
});
