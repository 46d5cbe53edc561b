import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { providerEnv, startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { redisAnswers } from '../support/redis.js';
import { guest } from '../support/shoppers.js';

const ADMIN_KEY = 'operator-key-0123456789abcdef';
const QUERY = '/api/v1/assistant/query';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let testDb: TestDatabase;
let redisUp = false;
beforeAll(async () => {
  testDb = await createTestDatabase();
  redisUp = await redisAnswers();
  if (!redisUp && process.env.CI === 'true') throw new Error('Redis does not answer and CI=true');
});
afterAll(async () => {
  await testDb?.dispose();
});

const common = { SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!', ADMIN_API_KEY: ADMIN_KEY, GUEST_SESSIONS_PER_IP_PER_HOUR: '100000' };


const ask = (app: TestApp, auth: string, body: object, headers: Record<string, string> = {}) =>
  request(app.app).post(QUERY).set('Authorization', auth).set(headers).send(body);

async function balance(app: TestApp, auth: string): Promise<number> {
  const res = await request(app.app).get('/api/v1/credits').set('Authorization', auth);
  expect(res.status).toBe(200);
  return res.body.available as number;
}

/** Every ledger entry of the caller, newest first, through the API. */
async function ledger(app: TestApp, auth: string): Promise<{ type: string; amount: number; balanceAfter: number }[]> {
  const items: { type: string; amount: number; balanceAfter: number }[] = [];
  let cursor: string | null = null;
  do {
    const res: request.Response = await request(app.app)
      .get('/api/v1/credits/transactions')
      .query({ limit: 100, ...(cursor ? { cursor } : {}) })
      .set('Authorization', auth);
    expect(res.status).toBe(200);
    items.push(...(res.body.items as typeof items));
    cursor = res.body.nextCursor as string | null;
  } while (cursor);
  return items;
}

/** The ledger invariant: available equals the sum of the entries and is never negative. */
async function expectLedgerHolds(app: TestApp, auth: string): Promise<void> {
  const [available, entries] = await Promise.all([balance(app, auth), ledger(app, auth)]);
  expect(available).toBeGreaterThanOrEqual(0);
  expect(entries.reduce((sum, e) => sum + e.amount, 0)).toBe(available);
  if (entries.length) expect(entries[0].balanceAfter).toBe(available);
}

function expectBalanceHeaders(res: request.Response, available: number, max: number): void {
  expect(res.headers['x-credits-remaining']).toBe(String(available));
  expect(res.headers['x-credits-limit']).toBe(String(max));
  expect(Number(res.headers['x-credits-reset'])).toBeGreaterThan(Date.now() / 1000);
}

const backends = [
  { storage: 'postgres', cache: 'postgres' },
  { storage: 'postgres', cache: 'redis' },
  { storage: 'postgres', cache: 'memory' },
  { storage: 'postgres', cache: 'none' },
  { storage: 'memory', cache: 'redis' },
  { storage: 'memory', cache: 'memory' },
  { storage: 'memory', cache: 'none' },
] as const;

describe.each(backends)('POST /api/v1/assistant/query on $storage storage with a $cache cache', ({ storage, cache }) => {
  let app: TestApp | undefined;
  const cached = cache !== 'none';
  beforeAll(async () => {
    if (cache === 'redis' && !redisUp) {
      console.warn(`!!! Redis does not answer: the ${storage}/redis query tests are SKIPPED !!!`);
      return;
    }
    app = await createTestApp({
      ...common,
      STORAGE_BACKEND: storage,
      CACHE_BACKEND: cache,
      // A PostgreSQL cache only comes with PostgreSQL storage (config rejects it on memory storage).
      DATABASE_URL: storage === 'postgres' ? testDb.url : undefined,
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers a fresh question, charging QUERY_COST, with the balance headers and X-Cache', async ({ skip }) => {
    if (!app) return skip();
    const u = await guest(app);
    const query = `waterproof hiking boots ${randomUUID()}`;
    const res = await ask(app, u.auth, { query, filters: { category: 'shoes' }, limit: 3 });
    expect(res.status).toBe(200);
    expect(res.headers['x-cache']).toBe(cached ? 'MISS' : 'BYPASS');
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect(res.headers['x-conversation']).toBeUndefined();
    expect(res.body).toEqual({
      answer: expect.any(String),
      products: expect.any(Array),
      cached: false,
      creditsCharged: 1,
      credits: { available: 9, max: 10, resetsAt: expect.stringMatching(ISO) },
      conversationId: expect.stringMatching(/^cv_[A-Za-z0-9_-]{22}$/),
      resolvedQuery: { query, filters: { category: 'shoes' } },
    });
    expectBalanceHeaders(res, 9, 10);
    await expectLedgerHolds(app, u.auth);
  });

  it('serves a repeat that differs only in case, spacing and filter key order from the cache at CACHED_QUERY_COST', async ({ skip }) => {
    if (!app) return skip();
    const u = await guest(app);
    const word = randomUUID().slice(0, 8);
    const first = await ask(app, u.auth, { query: `Budget laptop ${word}`, filters: { category: 'Laptops', maxPrice: 900 } });
    expect(first.status).toBe(200);
    const again = await ask(app, u.auth, { query: `  budget   LAPTOP ${word} `, filters: { maxPrice: 900, category: 'laptops' }, limit: 5 });
    expect(again.status).toBe(200);
    if (cached) {
      expect(again.headers['x-cache']).toBe('HIT');
      expect(again.body).toMatchObject({ cached: true, creditsCharged: 0, answer: first.body.answer, products: first.body.products });
      expect(again.body.credits.available).toBe(9);
      expectBalanceHeaders(again, 9, 10);
    } else {
      expect(again.headers['x-cache']).toBe('BYPASS');
      expect(again.body).toMatchObject({ cached: false, creditsCharged: 1 });
      expect(again.body.credits.available).toBe(8);
    }
    await expectLedgerHolds(app, u.auth);
  });

  it('skips the cache read on Cache-Control: no-cache but still writes the fresh answer', async ({ skip }) => {
    if (!app || !cached) return skip();
    const u = await guest(app);
    const body = { query: `gift under $30 ${randomUUID()}` };
    expect((await ask(app, u.auth, body)).headers['x-cache']).toBe('MISS');
    const fresh = await ask(app, u.auth, body, { 'Cache-Control': 'no-cache' });
    expect(fresh.status).toBe(200);
    expect(fresh.headers['x-cache']).toBe('BYPASS');
    expect(fresh.body).toMatchObject({ cached: false, creditsCharged: 1 });
    const hit = await ask(app, u.auth, body);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(await balance(app, u.auth)).toBe(8);
  });

  it('answers 403 CONSENT_REQUIRED, charging nothing, until the terms are accepted', async ({ skip }) => {
    if (!app) return skip();
    const u = await guest(app, { consent: false });
    const res = await ask(app, u.auth, { query: 'running shoes' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('CONSENT_REQUIRED');
    await request(app.app).put('/api/v1/consent').set('Authorization', u.auth).send({ termsAccepted: false, marketingConsent: true });
    expect((await ask(app, u.auth, { query: 'running shoes' })).status).toBe(403);
    expect(await balance(app, u.auth)).toBe(10);
  });

  it('answers 402 INSUFFICIENT_CREDITS with details, Retry-After and the balance headers at zero balance', async ({ skip }) => {
    if (!app) return skip();
    const u = await guest(app);
    const adjust = await request(app.app)
      .post(`/api/v1/admin/users/${u.userId}/credits/adjust`)
      .set('X-Admin-Key', ADMIN_KEY)
      .send({ amount: -10, reason: 'test: spend the allowance' });
    expect(adjust.status).toBe(200);
    const res = await ask(app, u.auth, { query: `headphones ${randomUUID()}` });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({
      code: 'INSUFFICIENT_CREDITS',
      details: { available: 0, required: 1, resetsAt: expect.stringMatching(ISO) },
    });
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(23 * 3600);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
    expectBalanceHeaders(res, 0, 10);
    await expectLedgerHolds(app, u.auth);
  });
});

describe.each(['postgres', 'memory'] as const)('query route rules on %s storage', (storage) => {
  let app: TestApp;
  let openai: FakeOpenAi;
  let viaOpenAi: TestApp;
  beforeAll(async () => {
    openai = await startFakeOpenAi();
    app = await appWith({});
    viaOpenAi = await viaFakeOpenAi({ ASSISTANT_TIMEOUT_MS: '400' });
  });
  afterAll(async () => {
    await app?.close();
    await viaOpenAi?.close();
    await openai?.close();
  });

  /** Another app on this storage (memory cache), for settings of one test. */
  const appWith = (env: Record<string, string>) =>
    createTestApp({ ...common, ...(storage === 'postgres' ? { DATABASE_URL: testDb.url } : {}), STORAGE_BACKEND: storage, CACHE_BACKEND: 'memory', ...env });
  const viaFakeOpenAi = (env: Record<string, string> = {}) =>
    appWith({ ...providerEnv(openai), ...env });

  describe('validation and protocol errors', () => {
    it.each([
      ['a missing body', undefined, '(body)'],
      ['an empty query', { query: '   ' }, 'query'],
      ['a query over 500 characters', { query: 'x'.repeat(501) }, 'query'],
      ['an unknown key', { query: 'boots', colour: 'red' }, '(body)'],
      ['an unknown filter', { query: 'boots', filters: { size: 42 } }, 'filters'],
      ['a limit of 21', { query: 'boots', limit: 21 }, 'limit'],
      ['a fractional limit', { query: 'boots', limit: 2.5 }, 'limit'],
      ['a negative price', { query: 'boots', filters: { maxPrice: -1 } }, 'filters.maxPrice'],
      ['minPrice above maxPrice', { query: 'boots', filters: { minPrice: 50, maxPrice: 10 } }, 'filters.minPrice'],
      ['an empty brand', { query: 'boots', filters: { brand: ' ' } }, 'filters.brand'],
      ['a lone surrogate in the query', { query: 'boots \ud800' }, 'query'],
      ['NUL in the query', { query: 'boots\u0000' }, 'query'],
      ['a lone surrogate in a filter', { query: 'boots', filters: { category: '\udc00' } }, 'filters.category'],
    ])('answers %s with 400 VALIDATION_FAILED naming the field, charging nothing', async (_name, body, path) => {
      const u = await guest(app);
      const req = request(app.app).post(QUERY).set('Authorization', u.auth);
      const res = body === undefined ? await req : await req.send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.details).toContainEqual({ path, message: expect.any(String) });
      expect(await balance(app, u.auth)).toBe(10);
    });

    it('accepts a query of exactly 500 characters after trimming and NFC', async () => {
      const u = await guest(app);
      const res = await ask(app, u.auth, { query: `  ${'e\u0301'.repeat(500)}  ` });
      expect(res.status).toBe(200);
    });

    it('answers a malformed Idempotency-Key with 400', async () => {
      const u = await guest(app);
      const res = await ask(app, u.auth, { query: 'boots' }, { 'Idempotency-Key': 'x'.repeat(256) });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toContainEqual({ path: 'Idempotency-Key', message: expect.any(String) });
    });

    it('answers 401 without a token, 405 for GET, 415 for a text body and 400 for malformed JSON', async () => {
      const noToken = await request(app.app).post(QUERY).send({ query: 'boots' });
      expect(noToken.status).toBe(401);
      expect(noToken.headers['www-authenticate']).toBe('Bearer');
      const get = await request(app.app).get(QUERY);
      expect(get.status).toBe(405);
      expect(get.headers.allow).toBe('POST');
      const u = await guest(app);
      const text = await request(app.app).post(QUERY).set('Authorization', u.auth).set('Content-Type', 'text/plain').send('boots');
      expect(text.status).toBe(415);
      const broken = await request(app.app).post(QUERY).set('Authorization', u.auth).set('Content-Type', 'application/json').send('{"query":');
      expect(broken.status).toBe(400);
      expect(broken.body.error.code).toBe('INVALID_JSON');
    });
  });

  describe('idempotency', () => {
    it('replays the original answer with Idempotent-Replayed, charging once, even at zero balance', async () => {
      const u = await guest(app);
      const key = randomUUID();
      const body = { query: `wireless noise cancelling headphones ${key}`, limit: 2 };
      const first = await ask(app, u.auth, body, { 'Idempotency-Key': key });
      expect(first.status).toBe(200);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      await request(app.app).post(`/api/v1/admin/users/${u.userId}/credits/adjust`).set('X-Admin-Key', ADMIN_KEY).send({ amount: -9, reason: 'test' });
      // Same body with its keys in another order is the same body.
      const again = await ask(app, u.auth, { limit: 2, query: body.query }, { 'Idempotency-Key': key });
      expect(again.status).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.headers['x-cache']).toBe(first.headers['x-cache']);
      expect(again.body).toEqual({ ...first.body, credits: { ...first.body.credits, available: 0 } });
      expectBalanceHeaders(again, 0, 10);
      expect((await ledger(app, u.auth)).filter((e) => e.type === 'debit')).toHaveLength(1);
    });

    it('answers 409 IDEMPOTENCY_CONFLICT for the same key with another body', async () => {
      const u = await guest(app);
      const key = randomUUID();
      expect((await ask(app, u.auth, { query: 'yoga mat' }, { 'Idempotency-Key': key })).status).toBe(200);
      const res = await ask(app, u.auth, { query: 'yoga mat', limit: 3 }, { 'Idempotency-Key': key });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
      expect(await balance(app, u.auth)).toBe(9);
    });

    it('keeps keys per user: another user may use the same key', async () => {
      const [a, b] = [await guest(app), await guest(app)];
      const key = randomUUID();
      expect((await ask(app, a.auth, { query: 'tent' }, { 'Idempotency-Key': key })).status).toBe(200);
      const other = await ask(app, b.auth, { query: 'sleeping bag' }, { 'Idempotency-Key': key });
      expect(other.status).toBe(200);
      expect(other.headers['idempotent-replayed']).toBeUndefined();
    });

    it('charges once for 20 concurrent requests with one key, all answered alike', async () => {
      const u = await guest(app);
      const key = randomUUID();
      const body = { query: `trail running shoes ${key}` };
      const all = await Promise.all(Array.from({ length: 20 }, () => ask(app, u.auth, body, { 'Idempotency-Key': key })));
      expect(all.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(all.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
      expect(new Set(all.map((r) => r.body.answer as string)).size).toBe(1);
      expect(await balance(app, u.auth)).toBe(9);
      expect((await ledger(app, u.auth)).filter((e) => e.type === 'debit')).toHaveLength(1);
      await expectLedgerHolds(app, u.auth);
    });

    it('waits up to 5 s for a running first attempt, then answers 409 IDEMPOTENCY_IN_PROGRESS', async () => {
      openai.mode = { kind: 'slow', delayMs: 300 };
      const slowApp = await viaFakeOpenAi({ ASSISTANT_TIMEOUT_MS: '20000' });
      try {
        const u = await guest(slowApp);
        const key = randomUUID();
        // A first attempt that answers within the wait: the retry gets its outcome.
        const [first, waited] = await Promise.all([
          ask(slowApp, u.auth, { query: 'camping stove' }, { 'Idempotency-Key': key }),
          new Promise((r) => setTimeout(r, 100)).then(() => ask(slowApp, u.auth, { query: 'camping stove' }, { 'Idempotency-Key': key })),
        ]);
        expect([first.status, waited.status]).toEqual([200, 200]);
        expect(waited.headers['idempotent-replayed']).toBe('true');

        // A first attempt that runs longer than 5 s: the retry gives up with 409.
        openai.mode = { kind: 'slow', delayMs: 6500 };
        const slowKey = randomUUID();
        // supertest sends on then(): start the first attempt now.
        const running = ask(slowApp, u.auth, { query: 'camping lantern' }, { 'Idempotency-Key': slowKey }).then((r) => r);
        await new Promise((r) => setTimeout(r, 200));
        const started = Date.now();
        const retry = await ask(slowApp, u.auth, { query: 'camping lantern' }, { 'Idempotency-Key': slowKey });
        const waitedMs = Date.now() - started;
        expect(retry.status).toBe(409);
        expect(retry.body.error.code).toBe('IDEMPOTENCY_IN_PROGRESS');
        expect(waitedMs).toBeGreaterThanOrEqual(4500);
        expect((await running).status).toBe(200);
        expect(await balance(slowApp, u.auth)).toBe(8);
      } finally {
        openai.mode = { kind: 'answer' };
        await slowApp.close();
      }
    });

    it('does not keep a failed attempt: a retry with the same key runs afresh and is charged once', async () => {
      const u = await guest(viaOpenAi);
      const key = randomUUID();
      openai.mode = { kind: 'fail' };
      const failed = await ask(viaOpenAi, u.auth, { query: 'rain jacket' }, { 'Idempotency-Key': key });
      expect(failed.status).toBe(502);
      openai.mode = { kind: 'answer' };
      const retry = await ask(viaOpenAi, u.auth, { query: 'rain jacket' }, { 'Idempotency-Key': key });
      expect(retry.status).toBe(200);
      expect(retry.headers['idempotent-replayed']).toBeUndefined();
      expect(await balance(viaOpenAi, u.auth)).toBe(9);
      await expectLedgerHolds(viaOpenAi, u.auth);
    });
  });

  describe('assistant failures refund the charge', () => {
    it('answers 502 UPSTREAM_ERROR with the balance restored and a refund entry', async () => {
      const u = await guest(viaOpenAi);
      openai.mode = { kind: 'fail' };
      try {
        const res = await ask(viaOpenAi, u.auth, { query: `desk lamp ${randomUUID()}` });
        expect(res.status).toBe(502);
        expect(res.body.error.code).toBe('UPSTREAM_ERROR');
      } finally {
        openai.mode = { kind: 'answer' };
      }
      expect(await balance(viaOpenAi, u.auth)).toBe(10);
      const entries = await ledger(viaOpenAi, u.auth);
      expect(entries.slice(0, 2).map((e) => [e.type, e.amount])).toEqual([
        ['refund', 1],
        ['debit', -1],
      ]);
      await expectLedgerHolds(viaOpenAi, u.auth);
    });

    it('answers 504 UPSTREAM_TIMEOUT after ASSISTANT_TIMEOUT_MS with the charge refunded', async () => {
      const u = await guest(viaOpenAi);
      openai.mode = { kind: 'hang' };
      try {
        const started = Date.now();
        const res = await ask(viaOpenAi, u.auth, { query: `coffee grinder ${randomUUID()}` });
        expect(res.status).toBe(504);
        expect(res.body.error.code).toBe('UPSTREAM_TIMEOUT');
        expect(Date.now() - started).toBeLessThan(3000);
      } finally {
        openai.mode = { kind: 'answer' };
      }
      expect(await balance(viaOpenAi, u.auth)).toBe(10);
      await expectLedgerHolds(viaOpenAi, u.auth);
    });

    it('opens the assistant breaker after repeated failures: 503 with Retry-After, refunded, readiness degraded', async () => {
      const breakerApp = await viaFakeOpenAi();
      openai.mode = { kind: 'fail' };
      try {
        const u = await guest(breakerApp);
        const statuses: number[] = [];
        for (let i = 0; i < 8; i++) statuses.push((await ask(breakerApp, u.auth, { query: `kettle ${i}` })).status);
        expect(statuses.slice(0, 5)).toEqual([502, 502, 502, 502, 502]);
        expect(statuses.at(-1)).toBe(503);
        const callsWhileOpen = openai.calls;
        const open = await ask(breakerApp, u.auth, { query: 'kettle again' });
        expect(open.status).toBe(503);
        expect(open.body.error.code).toBe('SERVICE_UNAVAILABLE');
        expect(Number(open.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(openai.calls).toBe(callsWhileOpen);
        expect(await balance(breakerApp, u.auth)).toBe(10);
        await expectLedgerHolds(breakerApp, u.auth);
        const ready = await request(breakerApp.app).get('/health/ready');
        expect(ready.status).toBe(200);
        expect(ready.body).toMatchObject({ status: 'degraded', checks: { assistant: { status: 'down' } } });
      } finally {
        openai.mode = { kind: 'answer' };
        await breakerApp.close();
      }
    });
  });

  describe('the assistant breaker counts upstream outages only', () => {
    it('replies off the asked-for shape, empty replies and client-side statuses never open it', async () => {
      const breakerApp = await viaFakeOpenAi();
      try {
        const u = await guest(breakerApp);
        // Plain text and JSON without a product list still answer, with the catalog's products.
        openai.mode = { kind: 'content', content: 'These boots are the best pick.' };
        const text = await ask(breakerApp, u.auth, { query: `hiking boots ${randomUUID()}` });
        expect(text.status).toBe(200);
        expect(text.body.answer).toBe('These boots are the best pick.');
        expect(text.body.products.length).toBeGreaterThan(0);
        // Empty replies and a 400 from the model API fail their own request (refunded), eight times over.
        const statuses: number[] = [];
        for (let i = 0; i < 8; i++) {
          openai.mode = i % 2 ? { kind: 'content', content: '  ' } : { kind: 'status', status: 400 };
          statuses.push((await ask(breakerApp, u.auth, { query: `kettle ${i}` })).status);
        }
        expect(statuses).toEqual(Array(8).fill(502));
        openai.mode = { kind: 'answer' };
        const after = await ask(breakerApp, u.auth, { query: `kettle ${randomUUID()}` });
        expect(after.status).toBe(200);
        expect(await balance(breakerApp, u.auth)).toBe(8);
        await expectLedgerHolds(breakerApp, u.auth);
        const ready = await request(breakerApp.app).get('/health/ready');
        expect(ready.body.checks.assistant.status).toBe('up');
      } finally {
        openai.mode = { kind: 'answer' };
        await breakerApp.close();
      }
    });

    it('questions that are names of built-in object properties answer 200 and never open it', async () => {
      const u = await guest(app);
      const words = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'constructor', 'constructor', 'prototype'];
      for (const [i, query] of words.entries()) {
        const res = await ask(app, u.auth, { query }, { 'Cache-Control': 'no-cache', 'Idempotency-Key': `word-${i}` });
        expect(res.status, query).toBe(200);
      }
      const ready = await request(app.app).get('/health/ready');
      expect(ready.body.checks.assistant.status).toBe('up');
    });
  });

  describe('limits', () => {
    it('answers 429 RATE_LIMITED with Retry-After past QUERY_RATE_LIMIT_PER_MINUTE', async () => {
      const limited = await appWith({ QUERY_RATE_LIMIT_PER_MINUTE: '3' });
      try {
        // Stay clear of a minute boundary, where the fixed window starts again.
        const intoMinute = Date.now() % 60_000;
        if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
        const u = await guest(limited);
        const statuses: number[] = [];
        let last: request.Response | undefined;
        for (let i = 0; i < 4; i++) {
          last = await ask(limited, u.auth, { query: `sunglasses ${i}` });
          statuses.push(last.status);
        }
        expect(statuses).toEqual([200, 200, 200, 429]);
        expect(last!.body.error.code).toBe('RATE_LIMITED');
        const retryAfter = Number(last!.headers['retry-after']);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(await balance(limited, u.auth)).toBe(7);
      } finally {
        await limited.close();
      }
    });

    it('gives a guest with 10 credits exactly 10 answers out of 100 concurrent distinct questions', async () => {
      const u = await guest(app);
      const all = await Promise.all(Array.from({ length: 100 }, (_, i) => ask(app, u.auth, { query: `backpack number ${i} ${u.userId}` })));
      const statuses = all.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(10);
      expect(statuses.filter((s) => s === 402)).toHaveLength(90);
      expect(await balance(app, u.auth)).toBe(0);
      expect((await ledger(app, u.auth)).filter((e) => e.type === 'debit')).toHaveLength(10);
      await expectLedgerHolds(app, u.auth);
    });
  });

  describe('maintenance', () => {
    it('cleanup folds old ledger entries into a carryover and keeps available = sum of ledger', async () => {
      const u = await guest(app);
      for (const q of ['socks', 'scarf', 'gloves']) expect((await ask(app, u.auth, { query: `${q} ${u.userId}` })).status).toBe(200);
      const before = await balance(app, u.auth);
      const res = await request(app.app).post('/api/v1/admin/maintenance/cleanup').set('X-Admin-Key', ADMIN_KEY).send({ transactionsOlderThanDays: 0 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ expiredCacheEntriesDeleted: expect.any(Number), transactionsDeleted: expect.any(Number), expiredHoldsRefunded: 0 });
      expect(res.body.transactionsDeleted).toBeGreaterThanOrEqual(4);
      expect(await balance(app, u.auth)).toBe(before);
      const entries = await ledger(app, u.auth);
      expect(entries).toEqual([{ type: 'carryover', amount: before, balanceAfter: before, id: expect.anything(), description: expect.anything(), createdAt: expect.any(String) }]);
      await expectLedgerHolds(app, u.auth);
    });

    it('guards the cleanup route with the operator key and validates its body', async () => {
      expect((await request(app.app).post('/api/v1/admin/maintenance/cleanup').send({})).status).toBe(401);
      const bad = await request(app.app).post('/api/v1/admin/maintenance/cleanup').set('X-Admin-Key', ADMIN_KEY).send({ transactionsOlderThanDays: -1 });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details).toContainEqual({ path: 'transactionsOlderThanDays', message: expect.any(String) });
    });
  });
});
