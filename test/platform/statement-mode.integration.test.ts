import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresCacheStore } from '../../src/cache/cache.store.postgres.js';
import { PostgresConsentRepository } from '../../src/consent/consent.repository.postgres.js';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import { PostgresJobLock } from '../../src/maintenance/job-lock.js';
import { createDatabase, type Database } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import { Migrator } from '../../src/platform/migrator.js';
import { unguarded } from '../../src/platform/storage-guard.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * What DB_PREPARED_STATEMENTS=false leaves on a server session: nothing. Every statement the
 * app's connections send is recorded on its way to the real server (pg's Client.query, wrapped
 * for the length of a test): with `false` none is named and none is a SET outside a transaction,
 * and no connection asks for a startup statement_timeout; with `true` (the default) the hot
 * path's statements are named, as before.
 */
const logger = createLogger({ level: 'silent' });
const policy = { guestAllowance: 10, registeredAllowance: 10, resetPeriodMs: 86_400_000 };

interface Sent {
  name?: string;
  text: string;
}

describe('statement mode', () => {
  let testDb: TestDatabase;
  const original = pg.Client.prototype.query;
  let sent: Sent[] = [];
  const opened: Database[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const migrating = await createDatabase({ ...testConfig().database, url: testDb.url }, logger);
    await new Migrator(migrating.sequelize).up();
    await migrating.close();
    // Records, then sends as pg would: the server answers every statement.
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const [first] = args;
      if (typeof first === 'string') sent.push({ text: first });
      else if (first && typeof first === 'object' && 'text' in first) sent.push({ name: (first as Sent).name, text: (first as Sent).text });
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof pg.Client.prototype.query;
  });
  afterEach(async () => {
    for (const d of opened.splice(0)) await d.close();
    sent = [];
  });
  afterAll(async () => {
    pg.Client.prototype.query = original;
    await testDb?.dispose();
  });

  /** A fresh pool in `prepared` mode, then the hot path's statements, readiness and the job lock. */
  async function exercise(prepared: boolean): Promise<Database> {
    const settings = { ...testConfig({ DB_PREPARED_STATEMENTS: String(prepared) }).database, url: testDb.url, poolSize: 2, maxOverflow: 4 };
    const database = await createDatabase(settings, logger);
    opened.push(database);
    const credits = new PostgresCreditRepository(database.sequelize, unguarded, policy, undefined, database.replicaReads);
    const consents = new PostgresConsentRepository(database.sequelize, unguarded, undefined, database.replicaReads);
    const cache = createPostgresCacheStore(database.sequelize, { reads: database.replicaReads });
    const caller = { userId: `guest_${randomUUID()}`, isGuest: true };
    await Promise.all([credits.getOrCreate(caller), consents.record(caller.userId, { termsAccepted: true, marketingConsent: false })]);
    await Promise.all([credits.charge(caller, { cost: 1, description: 'mode' }), consents.get(caller.userId), cache.set('k'.repeat(64), { a: 1 }, 60)]);
    await Promise.all([credits.listTransactions(caller.userId, { limit: 5 }), consents.list({ limit: 5 }), cache.get('k'.repeat(64)), cache.countEntries()]);
    await database.ping();
    await new PostgresJobLock(testDb.url, settings, 42).tryRun(async () => {});
    return database;
  }

  const sessionSets = () => sent.filter((s) => /^\s*SET\s/i.test(s.text) && !/^\s*SET\s+(LOCAL|TRANSACTION)\s/i.test(s.text));

  it('DB_PREPARED_STATEMENTS=false: no named statement, no SET outside a transaction, no startup statement_timeout', async () => {
    const database = await exercise(false);
    expect(sent.length).toBeGreaterThan(10);
    expect(sent.filter((s) => s.name)).toEqual([]);
    expect(sessionSets()).toEqual([]);
    const connection = (await database.sequelize.connectionManager.getConnection({ type: 'write' })) as unknown as { connectionParameters: { statement_timeout?: unknown } };
    try {
      expect(connection.connectionParameters.statement_timeout).toBeFalsy();
    } finally {
      database.sequelize.connectionManager.releaseConnection(connection as never);
    }
  });

  it('DB_PREPARED_STATEMENTS=true (default): the hot path names its statements, as before', async () => {
    const database = await exercise(true);
    const names = sent.filter((s) => s.name).map((s) => s.name!.replace(/^sa[0-9a-f]+_/, ''));
    expect(names).toEqual(expect.arrayContaining(['credits_read_many', 'consent_get', 'cache_get', 'cache_set', 'ready_probe']));
    expect(sessionSets().length).toBeGreaterThan(0); // Sequelize's SETs on connect
    const connection = (await database.sequelize.connectionManager.getConnection({ type: 'write' })) as unknown as { connectionParameters: { statement_timeout?: unknown } };
    try {
      expect(connection.connectionParameters.statement_timeout).toBe(testConfig().database.queryTimeoutMs);
    } finally {
      database.sequelize.connectionManager.releaseConnection(connection as never);
    }
  });
});
