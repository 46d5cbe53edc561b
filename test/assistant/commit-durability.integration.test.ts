/**
 * Which of the query route's writes wait for the WAL flush at commit. Money — balances, ledger
 * entries, holds and their settles, and an Idempotency-Key's record of an answer — always does,
 * and so do the guest-session limits' counters. Only writes that no credit depends on may skip
 * it (src/platform/disposable-commit.ts; each use says why): the query route's rate-limit count
 * (the query gate), a key's claim, the cache entry and the conversation turn, unless they share a
 * charge's statement (the gate's, when it takes a fresh answer's charge) or a settle's. Not on the embedded database, which has no WAL writer: there every commit
 * is synchronous (and costs no fsync). A trigger on each table records the synchronous_commit in
 * force inside the writing transaction (the setting its COMMIT obeys).
 */
import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/platform/embedded-postgres.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { guest } from '../support/shoppers.js';

const QUERY = '/api/v1/assistant/query';
const TABLES = ['user_credits', 'credit_transactions', 'credit_holds', 'idempotency_keys', 'rate_limit_counters', 'query_cache', 'conversations'];

const cases = [
  // The test database: a server's (TEST_DATABASE_URL), else an embedded one.
  { name: 'the test database', make: () => createTestDatabase() },
  { name: 'an embedded database', make: () => startEmbeddedPostgres().then((e) => ({ url: e.url, dispose: () => e.stop() })) },
];

describe.each(cases)('commits on $name', ({ make }) => {
  let db: { url: string; dispose(): Promise<void> };
  let app: TestApp;
  /** What a disposable write commits under here: off on a server, on on the embedded database. */
  let disposable: string;
  beforeAll(async () => {
    db = await make();
    app = await createTestApp({
      SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
      STORAGE_BACKEND: 'postgres',
      CACHE_BACKEND: 'postgres',
      CONVERSATION_BACKEND: 'postgres',
      DATABASE_URL: db.url,
      HOLD_SWEEP_SECONDS: '0',
      CLEANUP_INTERVAL_MINUTES: '0',
    });
    const [server] = await app.database!.sequelize.query<{ embedded: boolean }>(`SELECT position('PGlite' IN version()) > 0 AS embedded`, { type: QueryTypes.SELECT });
    disposable = server!.embedded ? 'on' : 'off';
    // This test's own database only.
    await app.database!.sequelize.query(`
      CREATE TABLE commit_seen (tbl text NOT NULL, op text NOT NULL, detail text, synchronous_commit text NOT NULL);
      CREATE FUNCTION commit_seen_record() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO commit_seen VALUES (TG_TABLE_NAME, TG_OP,
          COALESCE(to_jsonb(NEW) ->> 'status', to_jsonb(NEW) ->> 'state', to_jsonb(NEW) ->> 'transaction_type',
                   split_part(to_jsonb(NEW) ->> 'key', ':', 1)),
          current_setting('synchronous_commit'));
        RETURN NEW;
      END $$;
      ${TABLES.map((t) => `CREATE TRIGGER commit_seen_record AFTER INSERT OR UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION commit_seen_record();`).join('\n')}`);
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  /** The settings seen per table, operation and row state (or counter kind). */
  async function settings(): Promise<(tbl: string, op: string, detail: string | null) => string[]> {
    const seen = await app.database!.sequelize.query<{ tbl: string; op: string; detail: string | null; synchronous_commit: string }>(
      'SELECT DISTINCT tbl, op, detail, synchronous_commit FROM commit_seen ORDER BY tbl, op, detail, synchronous_commit',
      { type: QueryTypes.SELECT },
    );
    return (tbl, op, detail) => seen.filter((s) => s.tbl === tbl && s.op === op && s.detail === detail).map((s) => s.synchronous_commit);
  }

  it('money and the guest-session limits wait for the WAL flush; the rate-limit count, a claim, the cache entry and the turn do not on their own', async () => {
    const u = await guest(app);
    const question = { query: `waterproof hiking boots ${randomUUID()}`, limit: 3 };
    // A fresh answer with a key (claim, charge with its hold, cache write, completion that settles, turn),
    // then the same question cached, and a fresh one without a key (settled with its entry and turn).
    for (const [body, headers] of [
      [question, { 'Idempotency-Key': randomUUID() }],
      [question, {}],
      [{ query: `tents ${randomUUID()}`, limit: 3 }, {}],
    ] as const) {
      const res = await request(app.app).post(QUERY).set('Authorization', u.auth).set(headers).send(body);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const setting = await settings();
    // Money: the account, the grant and the debit, the hold and its settle, the completion that settles it.
    expect(setting('user_credits', 'INSERT', null)).toEqual(['on']);
    expect(setting('user_credits', 'UPDATE', null)).toEqual(['on']);
    expect(setting('credit_transactions', 'INSERT', 'grant')).toEqual(['on']);
    expect(setting('credit_transactions', 'INSERT', 'debit')).toEqual(['on']);
    expect(setting('credit_holds', 'INSERT', 'held')).toEqual(['on']);
    expect(setting('credit_holds', 'UPDATE', 'settled')).toEqual(['on']);
    expect(setting('idempotency_keys', 'UPDATE', 'completed')).toEqual(['on']);
    // The guest-session limits (the session the shopper was given).
    expect(setting('rate_limit_counters', 'INSERT', 'guest-sessions')).toEqual(['on']);
    // Not money.
    expect(setting('idempotency_keys', 'INSERT', 'in_progress')).toEqual([disposable]);
    // The query route's count rides on the gate: on its own (the cached answer's gate) it does not
    // wait; where the gate took a fresh answer's charge (the first and last questions), it is in
    // the charge's commit.
    expect(setting('rate_limit_counters', 'INSERT', 'query')).toEqual(['on']);
    expect(setting('rate_limit_counters', 'UPDATE', 'query')).toEqual([...new Set([disposable, 'on'])].sort());
    // On their own (the cached answer's turn kept by the gate) they do not wait; a fresh answer's,
    // with a key or without, ride on its settle, in the settle's commit (the finish). A cache entry
    // written on its own: test/cache/cache-write-commit.integration.test.ts.
    expect(setting('query_cache', 'INSERT', null)).toEqual(['on']);
    expect(setting('conversations', 'INSERT', null)).toEqual([...new Set([disposable, 'on'])].sort());
  });

  it('a key\'s record of an answer that cost nothing waits for the flush too: a replay must not become a charged answer', async () => {
    const u = await guest(app);
    const question = { query: `waterproof hiking boots ${randomUUID()}`, limit: 3 };
    expect((await request(app.app).post(QUERY).set('Authorization', u.auth).send(question)).status).toBe(200);
    await app.database!.sequelize.query('TRUNCATE commit_seen');
    // Cached now: it costs nothing (CACHED_QUERY_COST 0), so the record settles no hold. Were the
    // record forgotten by a crash, a retry after the entry expired would be charged in full.
    for (let i = 0; i < 2; i++) {
      const res = await request(app.app).post(QUERY).set('Authorization', u.auth).set('Idempotency-Key', randomUUID()).send(question);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers['x-cache']).toBe('HIT');
    }
    const setting = await settings();
    expect(setting('idempotency_keys', 'UPDATE', 'completed')).toEqual(['on']);
    expect(setting('credit_holds', 'UPDATE', 'settled')).toEqual([]);
  });
});
