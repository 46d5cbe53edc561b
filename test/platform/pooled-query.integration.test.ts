import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import { pooledQuery, statement } from '../../src/platform/pooled-query.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const logger = createLogger({ level: 'silent' });
const ECHO = statement('probe_echo', 'SELECT $1::int AS n, pg_backend_pid() AS pid');

describe('pooledQuery (named statements on pooled connections)', () => {
  let testDb: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    database = await createDatabase({ ...testConfig().database, url: testDb.url, poolSize: 3, maxOverflow: 0 }, logger);
  });
  afterAll(async () => {
    await database?.close();
    await testDb?.dispose();
  });

  it('runs one named statement on several connections at once, each answer its own', async () => {
    // On the embedded database every connection shares one backend session, where two
    // connections preparing the same name would clash; on a server each has its own.
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => pooledQuery<{ n: number }>(database.sequelize, ECHO, [i])));
    expect(results.map((rows) => rows[0]!.n)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(database.poolStats().size).toBeGreaterThan(1);
  });

  it('is prepared once per connection: later calls reuse the plan', async () => {
    await pooledQuery(database.sequelize, ECHO, [1]);
    const [{ prepared }] = await pooledQuery<{ prepared: string }>(
      database.sequelize,
      statement('probe_prepared', `SELECT count(*)::int AS prepared FROM pg_prepared_statements WHERE name LIKE '%probe_echo'`),
      [],
    );
    expect(prepared).toBeGreaterThanOrEqual(1);
  });

  it('releases the connection when the statement fails, and a bad statement fails on its own', async () => {
    const broken = statement('probe_broken', 'SELECT 1 / $1::int AS n');
    await expect(pooledQuery(database.sequelize, broken, [0])).rejects.toMatchObject({ code: '22012' });
    expect(database.poolStats().using).toBe(0);
    await expect(pooledQuery<{ n: number }>(database.sequelize, broken, [1])).resolves.toEqual([{ n: 1 }]);
  });

  it('refuses a name that is not lower-case letters, digits and underscores', () => {
    expect(() => statement('Bad-Name', 'SELECT 1')).toThrow(/bad statement name/);
  });
});

describe('named statements on the embedded database', () => {
  it('do not outlive their connection: a renewed connection leaves none of its predecessor\'s behind', async () => {
    // Its one backend session outlives every connection. The pool renews connections (past
    // DB_POOL_RECYCLE, or idle ones it reaps); each new one prepares its statements anew, so the
    // ones it replaced must go with them, or the session gathers copies for as long as it runs.
    const dataDir = mkdtempSync(path.join(tmpdir(), 'shopassist-statements-'));
    const owner = await createDatabase({ ...testConfig().database, url: undefined, dataDir, poolSize: 2, maxOverflow: 0, poolRecycleSeconds: 1 }, logger);
    try {
      const probe = statement('probe_renewed', 'SELECT $1::int AS n');
      const count = statement('probe_count', `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE '%probe\\_renewed'`);
      const prepared = async () => (await pooledQuery<{ n: number }>(owner.sequelize, count, []))[0]!.n;
      const burst = () => Promise.all(Array.from({ length: 8 }, (_, i) => pooledQuery(owner.sequelize, probe, [i])));
      await burst();
      expect(await prepared()).toBeGreaterThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await burst(); // every connection is past its age now: each is replaced, and the new ones prepare again
      await expect.poll(async () => (await prepared()) - owner.poolStats().size).toBeLessThanOrEqual(0);
    } finally {
      await owner.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
