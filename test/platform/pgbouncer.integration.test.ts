import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import { PostgresJobLock } from '../../src/maintenance/job-lock.js';
import { createDatabase, type Database } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import { Migrator } from '../../src/platform/migrator.js';
import { unguarded } from '../../src/platform/storage-guard.js';
import { createTestApp, testConfig } from '../support/app.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/database.js';
import { requireScaleService, TEST_PGBOUNCER_URL } from '../support/scale.js';

/**
 * PgBouncer in transaction mode (.ci/scale-services) in front of the TEST_DATABASE_URL server:
 * named statements break there (the failure DB_PREPARED_STATEMENTS=false exists for), and
 * readiness says so; unnamed ones, the job lock and readiness work.
 */
const up = requireScaleService('the PgBouncer tests', { TEST_PGBOUNCER_URL, TEST_DATABASE_URL });
const logger = createLogger({ level: 'silent' });
const policy = { guestAllowance: 1000, registeredAllowance: 1000, resetPeriodMs: 86_400_000 };
const NAMED_STATEMENT_MISSING = /prepared statement "sa[0-9a-f]+_\w+" does not exist/;

describe.skipIf(!up)('through PgBouncer in transaction mode', () => {
  let testDb: TestDatabase;
  let bouncerUrl: string;
  const opened: Database[] = [];

  const open = async (prepared: boolean) => {
    const database = await createDatabase(
      { ...testConfig({ DB_PREPARED_STATEMENTS: String(prepared) }).database, url: bouncerUrl, poolSize: 4, maxOverflow: 12 },
      logger,
    );
    opened.push(database);
    return database;
  };

  /** 40 concurrent shoppers, five rounds of balance reads and charges: the hot path under load. */
  const load = async (database: Database) => {
    const repo = new PostgresCreditRepository(database.sequelize, unguarded, policy);
    const callers = Array.from({ length: 40 }, () => ({ userId: `guest_${randomUUID()}`, isGuest: true }));
    const failures: string[] = [];
    let ok = 0;
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        callers.map(async (caller) => {
          try {
            await repo.getOrCreate(caller);
            await repo.charge(caller, { cost: 1, description: 'load' });
            ok++;
          } catch (err) {
            failures.push((err as Error).message);
          }
        }),
      );
    }
    return { ok, failures };
  };

  beforeAll(async () => {
    testDb = await createTestDatabase();
    // The database is made on the server; the apps here reach it through PgBouncer.
    const url = new URL(TEST_PGBOUNCER_URL!);
    url.pathname = new URL(testDb.url).pathname;
    bouncerUrl = url.toString();
    const migrating = await open(false);
    await new Migrator(migrating.sequelize).up();
  });
  afterAll(async () => {
    for (const d of opened) await d.close().catch(() => {});
    await testDb?.dispose();
  });

  it('breaks named statements (DB_PREPARED_STATEMENTS=true): the hot path fails under load', async () => {
    const database = await open(true);
    const { failures } = await load(database);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.find((m) => NAMED_STATEMENT_MISSING.test(m))).toBeDefined();
  });

  it('fails the readiness probe with named statements, every time, even with no load', async () => {
    const database = await open(true);
    for (let i = 0; i < 3; i++) await expect(database.ping()).rejects.toThrow(NAMED_STATEMENT_MISSING);
  });

  it('runs the same load clean with DB_PREPARED_STATEMENTS=false, and readiness answers', async () => {
    const database = await open(false);
    const { ok, failures } = await load(database);
    expect(failures).toEqual([]);
    expect(ok).toBe(200);
    for (let i = 0; i < 3; i++) await expect(database.ping()).resolves.toBeTypeOf('number');
  });

  it('GET /health/ready: unavailable with named statements, ready without', async () => {
    const env = { STORAGE_BACKEND: 'postgres', CACHE_BACKEND: 'postgres', DATABASE_URL: bouncerUrl, MIGRATE_ON_START: 'false' };
    const named = await createTestApp({ ...env, DB_PREPARED_STATEMENTS: 'true' });
    const unnamed = await createTestApp({ ...env, DB_PREPARED_STATEMENTS: 'false' });
    try {
      const broken = await request(named.app).get('/health/ready');
      expect(broken.status).toBe(503);
      expect(broken.body).toMatchObject({ status: 'unavailable', checks: { database: { status: 'down' } } });
      const fine = await request(unnamed.app).get('/health/ready');
      expect(fine.status).toBe(200);
      expect(fine.body).toMatchObject({ status: 'ready', checks: { database: { status: 'up' } } });
    } finally {
      await named.close();
      await unnamed.close();
    }
  });

  it('keeps the cleanup job to one holder at a time through the pooler, and releases it', async () => {
    const settings = testConfig({ DB_PREPARED_STATEMENTS: 'false' }).database;
    const key = 0x5ca1e;
    const [a, b, c] = [0, 1, 2].map(() => new PostgresJobLock(bouncerUrl, settings, key));
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const first = a!.tryRun(async () => {
      started();
      await holding;
    });
    await running;
    // Other work through the pooler meanwhile, so that server sessions change hands.
    const busy = await open(false);
    await Promise.all(Array.from({ length: 10 }, () => busy.ping()));
    await expect(b!.tryRun(async () => {})).resolves.toBe(false);
    release();
    await expect(first).resolves.toBe(true);
    await expect(c!.tryRun(async () => {})).resolves.toBe(true);
  });
});
