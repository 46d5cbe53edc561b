import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresCacheStore } from '../../src/cache/cache.store.postgres.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';

let db: MigratedDatabase;
beforeAll(async () => {
  // One connection: the statement after the cache write runs on the very same session.
  db = await createMigratedDatabase({ poolSize: 1, maxOverflow: 0 });
  // This test's own database only: a trigger records, for every row a cache write inserts or
  // updates, the synchronous_commit in force inside the writing transaction (the setting a
  // COMMIT obeys is the one in force when it runs, and nothing in the statement changes it
  // after its rows are written).
  await db.database.sequelize.query(`
    CREATE TABLE cache_write_commit_seen (query_hash varchar(128) NOT NULL, synchronous_commit text NOT NULL);
    CREATE FUNCTION cache_write_commit_record() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO cache_write_commit_seen VALUES (NEW.query_hash, current_setting('synchronous_commit'));
      RETURN NEW;
    END $$;
    CREATE TRIGGER cache_write_commit_record AFTER INSERT OR UPDATE ON query_cache
      FOR EACH ROW EXECUTE FUNCTION cache_write_commit_record();`);
});
afterAll(async () => {
  await db?.dispose();
});

it('a cache write commits without waiting for the WAL flush, and the session keeps synchronous commits for everything else', async () => {
  const sequelize = db.database.sequelize;
  const store = createPostgresCacheStore(sequelize);
  await store.set('k1', { answer: 'boots' }, 60);
  await store.set('k1', { answer: 'boots, again' }, 60);
  await Promise.all([store.set('k2', { answer: 'tents' }, 60), store.set('k3', { answer: 'stoves' }, 60)]);
  await expect(store.get('k1')).resolves.toEqual({ answer: 'boots, again' });

  const seen = await sequelize.query<{ query_hash: string; synchronous_commit: string }>(
    'SELECT query_hash, synchronous_commit FROM cache_write_commit_seen ORDER BY query_hash',
    { type: QueryTypes.SELECT },
  );
  // The insert, the update of k1, and the batched write of k2 and k3: each inside a transaction
  // whose commit does not wait for the WAL flush, on a server. On the embedded database (no
  // TEST_DATABASE_URL) every commit is synchronous: PGlite has no WAL writer, and its session is
  // started with shopassist.disposable_commit = on (docs/adr/0012-the-query-gate.md).
  const disposable = process.env.TEST_DATABASE_URL ? 'off' : 'on';
  expect(seen).toEqual([
    { query_hash: 'k1', synchronous_commit: disposable },
    { query_hash: 'k1', synchronous_commit: disposable },
    { query_hash: 'k2', synchronous_commit: disposable },
    { query_hash: 'k3', synchronous_commit: disposable },
  ]);

  // A write of any other table on the same (only) connection commits synchronously again.
  const [setting] = await sequelize.query<{ synchronous_commit: string }>('SHOW synchronous_commit', { type: QueryTypes.SELECT });
  expect(setting!.synchronous_commit).toBe('on');
});
