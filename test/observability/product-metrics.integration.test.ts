import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { providerEnv, startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { delta, Scrape } from './prometheus-text.js';
import { guest } from '../support/shoppers.js';

/**
 * The product metrics move by exactly what a scripted session did: credits granted, charged and
 * refunded, cache lookups by result, query responses by status, and the breaker states, read
 * from two scrapes of GET /metrics through a real Prometheus text parser.
 */
const QUERY = '/api/v1/assistant/query';
const ROUTE = { method: 'POST', route: QUERY };
const ADMIN_KEY = 'operator-key-0123456789abcdef';
const GUEST = { user_kind: 'guest' };
const common = {
  SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
  ADMIN_API_KEY: ADMIN_KEY,
  GUEST_SESSIONS_PER_IP_PER_HOUR: '100000',
  STORAGE_BACKEND: 'postgres',
  CACHE_BACKEND: 'postgres',
  GUEST_CREDITS: '2',
  QUERY_COST: '1',
  CACHED_QUERY_COST: '0',
};

async function scrape(app: TestApp): Promise<Scrape> {
  const res = await request(app.app).get('/metrics');
  expect(res.status).toBe(200);
  return new Scrape(res.text);
}


const ask = (app: TestApp, auth: string, query: string, headers: Record<string, string> = {}) =>
  request(app.app).post(QUERY).set('Authorization', auth).set(headers).send({ query });

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.dispose();
});

describe('product metrics on PostgreSQL storage with a PostgreSQL cache', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ ...common, DATABASE_URL: testDb.url });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a scripted session (guest, consent, two queries, one cache hit, one out-of-credits) moves the counters by exactly the right amounts', async () => {
    const word = randomUUID().slice(0, 8);
    const before = await scrape(app);

    const u = await guest(app);
    const first = await ask(app, u.auth, `waterproof hiking boots ${word}`);
    expect(first.status).toBe(200);
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await ask(app, u.auth, `budget laptop ${word}`);
    expect(second.status).toBe(200);
    expect(second.headers['x-cache']).toBe('MISS');
    const hit = await ask(app, u.auth, `Waterproof  hiking BOOTS ${word}`);
    expect(hit.status).toBe(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    const broke = await ask(app, u.auth, `gift under $30 ${word}`);
    expect(broke.status).toBe(402);
    expect(broke.body.error.code).toBe('INSUFFICIENT_CREDITS');

    const after = await scrape(app);
    const moved = (name: string, labels: Record<string, string>) => delta(before, after, name, labels);
    // The new account's grant (GUEST_CREDITS = 2), once, however many requests named the user.
    expect(moved('shopassist_credits_granted_total', GUEST)).toBe(2);
    expect(moved('shopassist_credits_granted_total', { user_kind: 'registered' })).toBe(0);
    // Two fresh answers at QUERY_COST 1; the cache hit costs 0 and the 402 charged nothing.
    expect(moved('shopassist_credits_charged_total', GUEST)).toBe(2);
    expect(moved('shopassist_credits_refunded_total', GUEST)).toBe(0);
    // Three lookups missed (the 402 looked up before it was refused the charge), one hit.
    const cache = (result: string) => moved('shopassist_cache_requests_total', { backend: 'postgres', result });
    expect(cache('miss')).toBe(3);
    expect(cache('hit')).toBe(1);
    expect(cache('bypass')).toBe(0);
    expect(cache('error')).toBe(0);
    expect(moved('http_requests_total', { ...ROUTE, status: '200' })).toBe(3);
    expect(moved('http_requests_total', { ...ROUTE, status: '402' })).toBe(1);
    expect(moved('http_request_duration_seconds_count', { ...ROUTE, status: '402' })).toBe(1);
    // Every breaker of this app is exported, each closed.
    for (const breaker of ['assistant', 'database', 'cache', 'conversations']) expect(after.value('shopassist_breaker_state', { breaker })).toBe(0);
    expect(after.series('shopassist_breaker_state').map((s) => s.labels.breaker).sort()).toEqual(['assistant', 'cache', 'conversations', 'database']);
    expect(after.series('shopassist_breaker_transitions_total').every((s) => s.value === 0 || s.labels.state !== 'open')).toBe(true);
  });

  it('counts Cache-Control: no-cache as a bypass, never as a hit, miss or error', async () => {
    const u = await guest(app);
    const query = `rain jacket ${randomUUID().slice(0, 8)}`;
    expect((await ask(app, u.auth, query)).status).toBe(200);
    const before = await scrape(app);
    const res = await ask(app, u.auth, query, { 'Cache-Control': 'no-cache' });
    expect(res.status).toBe(200);
    expect(res.headers['x-cache']).toBe('BYPASS');
    const after = await scrape(app);
    const cache = (result: string) => delta(before, after, 'shopassist_cache_requests_total', { backend: 'postgres', result });
    expect([cache('bypass'), cache('hit'), cache('miss'), cache('error')]).toEqual([1, 0, 0, 0]);
    expect(delta(before, after, 'shopassist_credits_charged_total', GUEST)).toBe(1);
  });

  it('counts an operator reset that raises a balance as credits granted, by the amount it raised', async () => {
    const u = await guest(app);
    expect((await ask(app, u.auth, `trail socks ${randomUUID()}`)).status).toBe(200);
    expect((await ask(app, u.auth, `tent stakes ${randomUUID()}`)).status).toBe(200);
    const before = await scrape(app);
    const reset = await request(app.app).post(`/api/v1/admin/users/${u.userId}/credits/reset`).set('X-Admin-Key', ADMIN_KEY);
    expect(reset.status).toBe(200);
    expect(reset.body.available).toBe(2);
    // A second reset finds the balance already full: it grants nothing.
    expect((await request(app.app).post(`/api/v1/admin/users/${u.userId}/credits/reset`).set('X-Admin-Key', ADMIN_KEY)).status).toBe(200);
    const after = await scrape(app);
    expect(delta(before, after, 'shopassist_credits_granted_total', GUEST)).toBe(2);
  });
});

describe('product metrics when the assistant fails', () => {
  let openai: FakeOpenAi;
  let app: TestApp;
  beforeAll(async () => {
    openai = await startFakeOpenAi();
    app = await createTestApp({
      ...common,
      STORAGE_BACKEND: 'memory',
      CACHE_BACKEND: 'memory',
      ...providerEnv(openai),
    });
  });
  afterAll(async () => {
    await app?.close();
    await openai?.close();
  });

  it('a failed assistant call counts the charge and its refund, and the 502 under the route template', async () => {
    const u = await guest(app);
    const before = await scrape(app);
    openai.mode = { kind: 'fail' };
    const res = await ask(app, u.auth, `espresso grinder ${randomUUID()}`);
    openai.mode = { kind: 'answer' };
    expect(res.status).toBe(502);
    const ok = await ask(app, u.auth, `espresso grinder ${randomUUID()}`);
    expect(ok.status).toBe(200);
    const after = await scrape(app);
    expect(delta(before, after, 'shopassist_credits_charged_total', GUEST)).toBe(2);
    expect(delta(before, after, 'shopassist_credits_refunded_total', GUEST)).toBe(1);
    expect(delta(before, after, 'shopassist_cache_requests_total', { backend: 'memory', result: 'miss' })).toBe(2);
    expect(delta(before, after, 'http_requests_total', { ...ROUTE, status: '502' })).toBe(1);
    expect(delta(before, after, 'http_requests_total', { ...ROUTE, status: '200' })).toBe(1);
    // Memory storage and a memory cache have no breakers to break: only the assistant's is exported.
    expect(after.series('shopassist_breaker_state').map((s) => s.labels.breaker)).toEqual(['assistant']);
    expect(after.value('shopassist_breaker_state', { breaker: 'assistant' })).toBe(0);
  });
});
