/**
 * Database round trips per request of POST /api/v1/assistant/query, counted: the statements one
 * request sends to PostgreSQL when it is the only request in flight (batched statements are
 * shared by concurrent requests, so under load a request costs at most this many). Storage,
 * query cache and conversations are all on PostgreSQL, the per-user rate limit is on (its
 * default), and each shopper has asked once before (a first question also opens the credit
 * account: not the steady state).
 *
 * The counts asserted are today's, exactly, so a change to the hot path shows here. Targets:
 * a cached answer in 1 round trip, a fresh one in at most 2 (batched); tighten the counts below
 * as the route gets there.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { countRoundTrips, type RoundTripCounter } from '../support/round-trips.js';
import { guest } from '../support/shoppers.js';

const QUERY = '/api/v1/assistant/query';

/**
 * Today's statements per request kind; targets: cached 1, fresh ≤ 2 (batched).
 * - cached: the gate alone (consent, rate-limit hit, cache entry and balance in one statement: a
 *   cached answer costs 0, and stands with it, so its new conversation's first turn is kept there
 *   too);
 * - fresh (no cache read): the gate, which takes the charge (a hold) too, then the finish: the
 *   settle with the cache write and the turn in one statement;
 * - miss: the same, the gate's cache read finding nothing, so it takes the charge;
 * - with an Idempotency-Key: the key's claim with consent (the gate's claim: the per-user key
 *   bound in the same statement, and nothing claimed without consent), the gate (which takes a
 *   fresh answer's charge under the record's charge key, and a cached answer's first turn);
 *   then a fresh answer's finish (the record's completion with the settle, the cache write and
 *   the turn), or a cached one's completion;
 * - replay: the key's claim with consent (which finds the record and reads it with its answer),
 *   balance read.
 */
const TODAY = {
  cached: 1,
  fresh: 2,
  miss: 2,
  cachedWithKey: 3,
  freshWithKey: 3,
  replay: 2,
};

let testDb: TestDatabase;
let app: TestApp;
let counter: RoundTripCounter;
beforeAll(async () => {
  testDb = await createTestDatabase();
  // Before the app connects: each connection binds the Client's `query` as it is then.
  counter = countRoundTrips();
  app = await createTestApp({
    SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
    GUEST_SESSIONS_PER_IP_PER_HOUR: '100000',
    STORAGE_BACKEND: 'postgres',
    CACHE_BACKEND: 'postgres',
    CONVERSATION_BACKEND: 'postgres',
    DATABASE_URL: testDb.url,
    // No background statement while a request is counted (they run outside its context anyway).
    HOLD_SWEEP_SECONDS: '0',
    CLEANUP_INTERVAL_MINUTES: '0',
    CATALOG_REFRESH_SECONDS: '3600',
  });
});
afterAll(async () => {
  counter?.restore();
  await app?.close();
  await testDb?.dispose();
});

/** A shopper who accepted the terms and has asked once already. */
async function shopper(): Promise<string> {
  const u = await guest(app);
  const warm = await request(app.app).post(QUERY).set('Authorization', u.auth).send({ query: `warm up ${randomUUID()}`, limit: 3 });
  expect(warm.status).toBe(200);
  return u.auth;
}

/** The statements of one request, sent alone; its response is checked by `check`. */
async function statementsOf(auth: string, body: object, headers: Record<string, string>, check: (res: request.Response) => void): Promise<string[]> {
  const { result, statements } = await counter.measure(() => request(counter.wrap(app.app)).post(QUERY).set('Authorization', auth).set(headers).send(body));
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  check(result);
  return statements;
}

/** The count, with the statements in the failure message. */
function expectCount(statements: string[], count: number): void {
  expect(statements.length, `statements sent:\n  ${statements.join('\n  ')}\n`).toBe(count);
}

const cachedQuestion = { query: 'waterproof hiking boots under $150', limit: 5 };

describe('database round trips per query request (PostgreSQL storage, cache and conversations)', () => {
  beforeAll(async () => {
    const auth = await shopper();
    const first = await request(app.app).post(QUERY).set('Authorization', auth).send(cachedQuestion);
    expect(first.status).toBe(200);
  });

  it('a cached answer, its conversation kept for a follow-up', async () => {
    const auth = await shopper();
    let conversationId = '';
    const statements = await statementsOf(auth, cachedQuestion, {}, (res) => {
      expect(res.headers['x-cache']).toBe('HIT');
      conversationId = res.body.conversationId as string;
    });
    expectCount(statements, TODAY.cached);
    const followUp = await request(app.app).post(QUERY).set('Authorization', auth).send({ query: 'cheaper', conversationId, limit: 5 });
    expect(followUp.status, JSON.stringify(followUp.body)).toBe(200);
    expect(followUp.body.resolvedQuery.query).toBe('waterproof hiking boots');
    expect(followUp.body.resolvedQuery.filters.maxPrice).toBeLessThan(150);
  });

  it('a fresh answer (Cache-Control: no-cache: no cache read)', async () => {
    const body = { query: `budget laptop ${randomUUID()}`, limit: 5 };
    const statements = await statementsOf(await shopper(), body, { 'Cache-Control': 'no-cache' }, (res) => expect(res.headers['x-cache']).toBe('BYPASS'));
    expectCount(statements, TODAY.fresh);
  });

  it('a cache miss (the cache read finds nothing)', async () => {
    const body = { query: `budget laptop ${randomUUID()}`, limit: 5 };
    const statements = await statementsOf(await shopper(), body, {}, (res) => expect(res.headers['x-cache']).toBe('MISS'));
    expectCount(statements, TODAY.miss);
  });

  it('a cached answer with an Idempotency-Key', async () => {
    const headers = { 'Idempotency-Key': randomUUID() };
    const statements = await statementsOf(await shopper(), cachedQuestion, headers, (res) => {
      expect(res.headers['x-cache']).toBe('HIT');
      expect(res.headers['idempotent-replayed']).toBeUndefined();
    });
    expectCount(statements, TODAY.cachedWithKey);
  });

  it('a fresh answer with an Idempotency-Key', async () => {
    const body = { query: `budget laptop ${randomUUID()}`, limit: 5 };
    const headers = { 'Cache-Control': 'no-cache', 'Idempotency-Key': randomUUID() };
    const statements = await statementsOf(await shopper(), body, headers, (res) => expect(res.headers['x-cache']).toBe('BYPASS'));
    expectCount(statements, TODAY.freshWithKey);
  });

  it('a replay (the same Idempotency-Key and body again)', async () => {
    const auth = await shopper();
    const body = { query: `budget laptop ${randomUUID()}`, limit: 5 };
    const headers = { 'Cache-Control': 'no-cache', 'Idempotency-Key': randomUUID() };
    const first = await request(app.app).post(QUERY).set('Authorization', auth).set(headers).send(body);
    expect(first.status).toBe(200);
    const statements = await statementsOf(auth, body, headers, (res) => {
      expect(res.headers['idempotent-replayed']).toBe('true');
      expect(res.body).toEqual(first.body);
    });
    expectCount(statements, TODAY.replay);
  });
});
