import { QueryTypes, UniqueConstraintError } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BreakerRegistry } from '../../src/platform/breaker.js';
import { createDatabase, type Database } from '../../src/platform/db.js';
import { DbGuard } from '../../src/platform/db-guard.js';
import { AppError, StorageUnavailableError } from '../../src/platform/errors.js';
import { createLogger } from '../../src/platform/logger.js';
import { Migrator } from '../../src/platform/migrator.js';
import { pooledQuery, statement } from '../../src/platform/pooled-query.js';
import { guardedOptions } from '../../src/platform/storage-guard.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const logger = createLogger({ level: 'silent' });

describe('the database guard', () => {
  let testDb: TestDatabase;
  let database: Database;
  let breakers: BreakerRegistry;
  let guard: DbGuard;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    // One pool connection, so a call can be made to wait for it.
    const settings = { ...testConfig().database, url: testDb.url, poolSize: 1, maxOverflow: 0, queryTimeoutMs: 1500 };
    database = await createDatabase(settings, logger);
    await new Migrator(database.sequelize).up();
    await database.sequelize.query('CREATE TABLE guard_probe (id text PRIMARY KEY)');
    breakers = new BreakerRegistry(logger);
    guard = new DbGuard(breakers, database.sequelize, settings);
  });
  afterAll(async () => {
    breakers?.shutdown();
    await database?.close();
    await testDb?.dispose();
  });

  const rows = async (id: string) =>
    (await database.sequelize.query('SELECT id FROM guard_probe WHERE id = $1', { type: QueryTypes.SELECT, bind: [id] })).length;

  it('lets business errors through untouched and never counts them against the database', async () => {
    await guard.run('insert', () => database.sequelize.query(`INSERT INTO guard_probe VALUES ('dup')`));
    for (let i = 0; i < 10; i++) {
      await expect(guard.run('insert', () => database.sequelize.query(`INSERT INTO guard_probe VALUES ('dup')`))).rejects.toBeInstanceOf(UniqueConstraintError);
      await expect(guard.run('domain', () => Promise.reject(new AppError('USER_NOT_FOUND', 'no such user')))).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    }
    expect(guard.breaker.state).toBe('closed');
  });

  it('answers 503 within its bound while the only connection is busy, and the late write never lands', async () => {
    // Holds the one pool connection for 2.5 s, longer than the guard's bound (1.6 s). (A timer,
    // not pg_sleep: the embedded PostgreSQL runs in this process and would block its timers.)
    const holder = database.sequelize.transaction(async (transaction) => {
      await database.sequelize.query('SELECT 1', { transaction });
      await new Promise((resolve) => setTimeout(resolve, 2500));
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    const write = guard.run('insert', (call) => database.sequelize.query(`INSERT INTO guard_probe VALUES ('late')`, guardedOptions(call, {})));
    await expect(write).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(performance.now() - started).toBeLessThan(2000);
    await holder;
    // The queued statement got the connection after its caller was told 503: refused.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await rows('late')).toBe(0);
  });

  it('refuses a late write sent outside Sequelize too (pooledQuery with the call\'s assertLive)', async () => {
    const holder = database.sequelize.transaction(async (transaction) => {
      await database.sequelize.query('SELECT 1', { transaction });
      await new Promise((resolve) => setTimeout(resolve, 2500));
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const write = guard.run('insert', (call) =>
      pooledQuery(database.sequelize, statement('probe_insert', 'INSERT INTO guard_probe VALUES ($1)'), ['late-pooled'], call.assertLive),
    );
    await expect(write).rejects.toBeInstanceOf(StorageUnavailableError);
    await holder;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await rows('late-pooled')).toBe(0);
    // Without the check the same late write lands: the check is what keeps it out.
    const holder2 = database.sequelize.transaction(async (transaction) => {
      await database.sequelize.query('SELECT 1', { transaction });
      await new Promise((resolve) => setTimeout(resolve, 2500));
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const unchecked = guard.run('insert', () => pooledQuery(database.sequelize, statement('probe_insert', 'INSERT INTO guard_probe VALUES ($1)'), ['late-unchecked']));
    await expect(unchecked).rejects.toBeInstanceOf(StorageUnavailableError);
    await holder2;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await rows('late-unchecked')).toBe(1);
  });

  it('fails at once with the seconds until the next probe while the breaker is open', async () => {
    // A guard of its own: the calls of the tests above would dilute this one's failure rate.
    const ownBreakers = new BreakerRegistry(logger);
    const guard = new DbGuard(ownBreakers, database.sequelize, testConfig().database);
    const fail = () => guard.run('read', () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
    for (let i = 0; i < 6 && guard.breaker.state !== 'open'; i++) await expect(fail()).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(guard.breaker.state).toBe('open');
    let ran = false;
    const err = await guard
      .run('read', async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect(Number((err as StorageUnavailableError).headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(Number((err as StorageUnavailableError).headers['Retry-After'])).toBeLessThanOrEqual(5);
    await expect(guard.health(() => database.ping())).resolves.toEqual({ status: 'down', latencyMs: null });
    ownBreakers.shutdown();
  });

  it('still makes a call that decides money while the breaker is open: bounded, mapped, and not counted', async () => {
    const ownBreakers = new BreakerRegistry(logger);
    const settings = { ...testConfig().database, queryTimeoutMs: 300 };
    const guard = new DbGuard(ownBreakers, database.sequelize, settings);
    const fail = () => guard.run('read', () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
    for (let i = 0; i < 6 && guard.breaker.state !== 'open'; i++) await expect(fail()).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(guard.breaker.state).toBe('open');
    // The database answers again, but the breaker is still open: a plain call is refused, an urgent one is made.
    await expect(guard.run('refund', () => database.sequelize.query("INSERT INTO guard_probe VALUES ('refused')"))).rejects.toBeInstanceOf(StorageUnavailableError);
    await guard.run('refund', (call) => database.sequelize.query("INSERT INTO guard_probe VALUES ('urgent')", guardedOptions(call, {})), { whileOpen: true });
    expect(await rows('refused')).toBe(0);
    expect(await rows('urgent')).toBe(1);
    // Bounded like any call: a hanging one is answered 503 within the limit, and a statement it
    // had not sent by then never leaves.
    const started = performance.now();
    const hanging = guard.run(
      'refund',
      async (call) => {
        await new Promise((resolve) => setTimeout(resolve, 600));
        await database.sequelize.query("INSERT INTO guard_probe VALUES ('late-urgent')", guardedOptions(call, {}));
      },
      { whileOpen: true },
    );
    await expect(hanging).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(performance.now() - started).toBeLessThan(600);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await rows('late-urgent')).toBe(0);
    // Outages map as usual; business errors pass through.
    await expect(guard.run('refund', () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), { whileOpen: true })).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(guard.run('refund', () => Promise.reject(new AppError('USER_NOT_FOUND', 'no such user')), { whileOpen: true })).rejects.toBeInstanceOf(AppError);
    expect(guard.breaker.state).toBe('open');
    ownBreakers.shutdown();
  });
});
