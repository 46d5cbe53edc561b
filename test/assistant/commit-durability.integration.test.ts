/**
 * Which of the query route's writes wait for the WAL flush at commit. Money — balances, ledger
 * entries, holds and their settles, and the record that settles a hold with its answer — always
 * does. Only writes that no credit depends on may skip it (each says why where it is written):
 * the rate-limit counter (the query gate), a key's claim, the cache entry and the conversation
 * turn, unless they share a settle's statement. A trigger on each table records the synchronous_commit in force inside the writing
 * transaction (the setting its COMMIT obeys).
 */
import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { guest } from '../support/shoppers.js';

const QUERY = '/api/v1/assistant/query';
const TABLES = ['user_credits', 'credit_transactions', 'credit_holds', 'idempotency_keys', 'rate_limit_counters', 'query_cache', 'conversations'];

let testDb: TestDatabase;
let app: TestApp;
beforeAll(async () => {
  testDb = await createTestDatabase();
  app = await createTestApp({
    SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
    STORAGE_BACKEND: 'postgres',
    CACHE_BACKEND: 'postgres',
    CONVERSATION_BACKEND: 'postgres',
    DATABASE_URL: testDb.url,
    HOLD_SWEEP_SECONDS: '0',
    CLEANUP_INTERVAL_MINUTES: '0',
  });
  // This test's own database only.
  await app.database!.sequelize.query(`
    CREATE TABLE commit_seen (tbl text NOT NULL, op text NOT NULL, detail text, synchronous_commit text NOT NULL);
    CREATE FUNCTION commit_seen_record() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO commit_seen VALUES (TG_TABLE_NAME, TG_OP,
        COALESCE(to_jsonb(NEW) ->> 'status', to_jsonb(NEW) ->> 'state', to_jsonb(NEW) ->> 'transaction_type'),
        current_setting('synchronous_commit'));
      RETURN NEW;
    END $$;
    ${TABLES.map((t) => `CREATE TRIGGER commit_seen_record AFTER INSERT OR UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION commit_seen_record();`).join('\n')}`);
});
afterAll(async () => {
  await app?.close();
  await testDb?.dispose();
});

it('money waits for the WAL flush; the rate-limit count, a claim, the cache entry and the turn do not on their own', async () => {
  const u = await guest(app);
  const question = { query: `waterproof hiking boots ${randomUUID()}`, limit: 3 };
  // A fresh answer with a key (claim, charge with its hold, cache write, completion that settles, turn),
  // then the same question cached, and a fresh one without a key (settled on its own).
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
  // Not money.
  expect(setting('idempotency_keys', 'INSERT', 'in_progress')).toEqual(['off']);
  expect(setting('rate_limit_counters', 'INSERT', null)).toEqual(['off']);
  expect(setting('rate_limit_counters', 'UPDATE', null)).toEqual(['off']);
  // On their own (the keyed answer's, the cached answer's turn kept by the gate) they do not wait;
  // a fresh answer's without a key ride on its settle, in the settle's commit.
  expect(setting('query_cache', 'INSERT', null)).toEqual(['off', 'on']);
  expect(setting('conversations', 'INSERT', null)).toEqual(['off', 'on']);
});

it('a key\'s record of an answer that cost nothing (no hold) does not wait for the flush', async () => {
  const u = await guest(app);
  const question = { query: `waterproof hiking boots ${randomUUID()}`, limit: 3 };
  expect((await request(app.app).post(QUERY).set('Authorization', u.auth).send(question)).status).toBe(200);
  await app.database!.sequelize.query('TRUNCATE commit_seen');
  // Cached now: it costs nothing (CACHED_QUERY_COST 0), so the record settles no hold.
  for (let i = 0; i < 2; i++) {
    const res = await request(app.app).post(QUERY).set('Authorization', u.auth).set('Idempotency-Key', randomUUID()).send(question);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers['x-cache']).toBe('HIT');
  }
  const setting = await settings();
  expect(setting('idempotency_keys', 'UPDATE', 'completed')).toEqual(['off']);
  expect(setting('credit_holds', 'UPDATE', 'settled')).toEqual([]);
});

/** The settings seen per table, operation and row state. */
async function settings(): Promise<(tbl: string, op: string, detail: string | null) => string[]> {
  const seen = await app.database!.sequelize.query<{ tbl: string; op: string; detail: string | null; synchronous_commit: string }>(
    'SELECT DISTINCT tbl, op, detail, synchronous_commit FROM commit_seen ORDER BY tbl, op, detail',
    { type: QueryTypes.SELECT },
  );
  return (tbl, op, detail) => seen.filter((s) => s.tbl === tbl && s.op === op && s.detail === detail).map((s) => s.synchronous_commit);
}
