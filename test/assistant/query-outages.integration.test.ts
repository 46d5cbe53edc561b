import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { delta, Scrape } from '../observability/prometheus-text.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { providerEnv, startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { requireRedis, TEST_REDIS_URL } from '../support/redis.js';
import { TcpProxy, type ProxyMode } from '../support/tcp-proxy.js';
import { OUTAGE_BUDGET_MS, RECOVERY_MS, closeCutSuite, eventually, timed } from '../support/outage.js';
import { guest } from '../support/shoppers.js';

/**
 * Real outages under POST /api/v1/assistant/query: a TCP proxy between the app and Redis or
 * PostgreSQL refuses or blackholes connections. A cache outage never stops answers (they flow
 * uncached); a database outage answers 503 with Retry-After at once; both heal by themselves;
 * and no credit is ever lost or given away: the balance moves by exactly the charges of the
 * answers that were given.
 */
const QUERY = '/api/v1/assistant/query';
const ADMIN_KEY = 'operator-key-0123456789abcdef';
const common = {
  ADMIN_API_KEY: ADMIN_KEY,
  SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
  GUEST_SESSIONS_PER_IP_PER_HOUR: '100000',
  // Recovery polls ask many questions: no per-minute limit, and credits enough for all of them.
  QUERY_RATE_LIMIT_PER_MINUTE: '0',
  GUEST_CREDITS: '1000',
  QUERY_COST: '1',
  CACHED_QUERY_COST: '0',
};




const ask = (app: TestApp, auth: string, query: string) => request(app.app).post(QUERY).set('Authorization', auth).send({ query });

async function balance(app: TestApp, auth: string): Promise<number> {
  const res = await request(app.app).get('/api/v1/credits').set('Authorization', auth);
  expect(res.status).toBe(200);
  return res.body.available as number;
}

async function scrape(app: TestApp): Promise<Scrape> {
  return new Scrape((await request(app.app).get('/metrics')).text);
}

/** Counts what the answers charged: the only legitimate moves of a balance in these tests. */
class Charges {
  total = 0;
  answers = 0;
  note(res: request.Response): request.Response {
    if (res.status === 200) {
      this.answers++;
      this.total += res.body.creditsCharged as number;
    }
    return res;
  }
}

const redisUp = await requireRedis('the query route Redis outage tests');

describe.skipIf(!redisUp).each(['memory', 'postgres'] as const)('POST /api/v1/assistant/query with Redis cut (%s storage)', (storage) => {
  let testDb: TestDatabase | undefined;
  let proxy: TcpProxy;
  let app: TestApp;

  beforeAll(async () => {
    if (storage === 'postgres') testDb = await createTestDatabase();
    proxy = await TcpProxy.forUrl(TEST_REDIS_URL).start();
    app = await createTestApp({
      ...common,
      STORAGE_BACKEND: storage,
      CACHE_BACKEND: 'redis',
      REDIS_URL: proxy.rewrite(TEST_REDIS_URL),
      DATABASE_URL: testDb?.url,
    });
  });
  // A failed test must not leave the next one behind a cut connection.
  afterEach(() => proxy?.setMode('pass'));
  afterAll(() => closeCutSuite(proxy, [app], testDb));

  for (const mode of ['refuse', 'blackhole'] as ProxyMode[]) {
    it(`${mode}: queries keep answering 200 with X-Cache: BYPASS within ${OUTAGE_BUDGET_MS} ms, readiness is degraded, and hits return after the cut heals`, async () => {
      const u = await guest(app);
      const charges = new Charges();
      const query = `waterproof hiking boots ${randomUUID().slice(0, 8)}`;
      const startBalance = await balance(app, u.auth);
      expect(charges.note(await ask(app, u.auth, query)).headers['x-cache']).toBe('MISS');
      await eventually('a hit before the cut', async () => charges.note(await ask(app, u.auth, query)), (r) => r.headers['x-cache'] === 'HIT');
      const before = await scrape(app);

      proxy.setMode(mode);

      for (let i = 0; i < 6; i++) {
        // The cached question and fresh ones alike: answered, uncached, within the budget.
        for (const q of [query, `${query} ${i}`]) {
          const { value: res, ms } = await timed(() => ask(app, u.auth, q));
          charges.note(res);
          expect(res.status).toBe(200);
          expect(res.headers['x-cache']).toBe('BYPASS');
          expect(res.body).toMatchObject({ cached: false, creditsCharged: 1 });
          expect(ms).toBeLessThan(OUTAGE_BUDGET_MS);
        }
      }
      const ready = await timed(() => request(app.app).get('/health/ready'));
      expect(ready.ms).toBeLessThan(OUTAGE_BUDGET_MS);
      expect(ready.value.status).toBe(200);
      expect(ready.value.body).toMatchObject({ status: 'degraded', checks: { cache: { status: 'down' } } });

      // The outage shows in the metrics: failed lookups count as `error`, the cache breaker is open.
      const during = await scrape(app);
      expect(delta(before, during, 'shopassist_cache_requests_total', { backend: 'redis', result: 'error' })).toBe(12);
      expect(delta(before, during, 'shopassist_cache_requests_total', { backend: 'redis', result: 'hit' })).toBe(0);
      expect(during.value('shopassist_breaker_state', { breaker: 'cache' })).toBe(2);
      expect(delta(before, during, 'shopassist_breaker_transitions_total', { breaker: 'cache', state: 'open' })).toBe(1);

      proxy.setMode('pass');

      await eventually('X-Cache: HIT after the cut healed', async () => charges.note(await ask(app, u.auth, query)), (r) => r.headers['x-cache'] === 'HIT');
      await eventually('readiness ready', () => request(app.app).get('/health/ready'), (r) => r.body.status === 'ready');
      // Every answer was charged exactly once, and nothing else moved the balance.
      expect(await balance(app, u.auth)).toBe(startBalance - charges.total);
    });
  }
});

describe('POST /api/v1/assistant/query with PostgreSQL cut', () => {
  let testDb: TestDatabase;
  let proxy: TcpProxy;
  let openai: FakeOpenAi;
  let app: TestApp;

  /**
   * An API process on the database through the proxy, answering through the fake model. Short
   * enough that a held charge nobody settles is refunded within a test: the request budget
   * (2 s + 6 × 0.6 s + 1.75 s) stays under the 8 s hold.
   */
  const processEnv = (env: { CACHE_BACKEND: string; HOLD_SWEEP_SECONDS: string }) => ({
    ...common,
    STORAGE_BACKEND: 'postgres',
    DATABASE_URL: proxy.rewrite(testDb.url),
    ...providerEnv(openai),
    ASSISTANT_TIMEOUT_MS: '2000',
    DB_QUERY_TIMEOUT_MS: '500',
    CHARGE_HOLD_SECONDS: '8',
    ...env,
  });

  /** The balance, the sum of the ledger, and its entries by type, read through the app's own pool. */
  const books = async (userId: string) => {
    const [row] = await app.database!.sequelize.query<{ available: number; total: number; debits: number; refunds: number; entries: number }>(
      `SELECT c.available_credits AS available,
              (SELECT COALESCE(SUM(amount), 0)::int FROM credit_transactions t WHERE t.user_id = c.user_id) AS total,
              (SELECT count(*)::int FROM credit_transactions t WHERE t.user_id = c.user_id AND transaction_type = 'debit') AS debits,
              (SELECT count(*)::int FROM credit_transactions t WHERE t.user_id = c.user_id AND transaction_type = 'refund') AS refunds,
              (SELECT count(*)::int FROM credit_transactions t WHERE t.user_id = c.user_id) AS entries
         FROM user_credits c WHERE c.user_id = $1`,
      { type: QueryTypes.SELECT, bind: [userId] },
    );
    return row!;
  };

  beforeAll(async () => {
    testDb = await createTestDatabase();
    proxy = await TcpProxy.forUrl(testDb.url).start();
    openai = await startFakeOpenAi();
    // This process sweeps each second.
    app = await createTestApp(processEnv({ CACHE_BACKEND: 'postgres', HOLD_SWEEP_SECONDS: '1' }));
  });
  // A failed test must not leave the next one behind a cut connection.
  afterEach(() => proxy?.setMode('pass'));
  afterAll(async () => {
    await closeCutSuite(proxy, [app], testDb);
    await openai?.close();
  });

  const waitUntilReady = () => eventually('readiness ready', () => request(app.app).get('/health/ready'), (r) => r.status === 200);

  /**
   * Sends a request, cuts the database (`cut`) once the assistant has the question (answering as
   * `assistant` says), and resolves the response. The assistant answers normally again after.
   */
  async function cutWhileAssistantWorks(send: () => request.Test, cut: ProxyMode, assistant: FakeOpenAi['mode']): Promise<request.Response> {
    const callsBefore = openai.calls;
    openai.mode = assistant;
    try {
      // supertest sends on then(): start the request now, cut once the provider has it.
      const inFlight = send().then((r) => r);
      await eventually('the assistant call started', async () => openai.calls, (calls) => calls > callsBefore, 5000);
      proxy.setMode(cut);
      return await inFlight;
    } finally {
      openai.mode = { kind: 'answer' };
    }
  }

  for (const mode of ['refuse', 'blackhole'] as ProxyMode[]) {
    it(`${mode}: each query answers 503 SERVICE_UNAVAILABLE with Retry-After within ${OUTAGE_BUDGET_MS} ms, readiness 503, answers return within ${RECOVERY_MS / 1000} s, and the balance moves by exactly the answers' charges`, async () => {
      await waitUntilReady();
      const u = await guest(app);
      const charges = new Charges();
      expect(charges.note(await ask(app, u.auth, `trail socks ${randomUUID()}`)).status).toBe(200);
      const start = await books(u.userId);
      const startCharges = charges.total;
      const metricsBefore = await scrape(app);

      proxy.setMode(mode);

      for (let i = 0; i < 6; i++) {
        const { value: res, ms } = await timed(() => ask(app, u.auth, `camping stove ${randomUUID()}`));
        charges.note(res);
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
        expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
        expect(ms).toBeLessThan(OUTAGE_BUDGET_MS);
        expect(JSON.stringify(res.body)).not.toMatch(/postgres:|SELECT|ECONN|at .*\.ts/);
      }
      const ready = await timed(() => request(app.app).get('/health/ready'));
      expect(ready.ms).toBeLessThan(OUTAGE_BUDGET_MS);
      expect(ready.value.status).toBe(503);
      expect(ready.value.body).toMatchObject({ status: 'unavailable', checks: { database: { status: 'down' } } });
      // (The database breaker may stay closed here: refused connections fail at once, and the
      // window still holds the successes from before the cut.)
      const during = await scrape(app);
      expect(delta(metricsBefore, during, 'shopassist_credits_charged_total', { user_kind: 'guest' })).toBe(0);

      proxy.setMode('pass');

      // Every poll is a real question; those answered count in `charges`.
      await eventually('a query answers 200 again', async () => charges.note(await ask(app, u.auth, `tent stakes ${randomUUID()}`)), (r) => r.status === 200);
      await waitUntilReady();
      const end = await books(u.userId);
      const charged = charges.total - startCharges;
      expect(charged).toBeGreaterThanOrEqual(1);
      expect(end.available).toBe(start.available - charged);
      expect(end.total).toBe(end.available);
      // One debit per answer given; no refund was needed, so none was written.
      expect(end.debits - start.debits).toBe(charges.answers - 1);
      expect(end.refunds).toBe(start.refunds);
      expect(await balance(app, u.auth)).toBe(end.available);
    });
  }

  for (const mode of ['refuse', 'blackhole'] as ProxyMode[]) {
    it(`${mode} during a slow assistant call: the answer cannot be recorded, so no 200 goes out, and the held charge is refunded by the sweep`, async () => {
      await waitUntilReady();
      const u = await guest(app);
      const start = await books(u.userId);
      const res = await cutWhileAssistantWorks(() => ask(app, u.auth, `espresso grinder ${randomUUID()}`), mode, { kind: 'slow', delayMs: 1000 });
      // Charged before the cut; recording the answer (and settling its hold) needs the database.
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
      proxy.setMode('pass');
      await waitUntilReady();
      const held = await books(u.userId);
      expect(held.debits).toBe(start.debits + 1);
      expect(held.total).toBe(held.available);
      // Nobody settles that hold: the sweep gives it back, once.
      const end = await eventually('the sweep refunded the hold', () => books(u.userId), (b) => b.refunds === start.refunds + 1, 15_000);
      expect(end.available).toBe(start.available);
      expect(end.total).toBe(end.available);
      const verify = await request(app.app).get('/api/v1/admin/ledger/verify').set('X-Admin-Key', ADMIN_KEY);
      expect(verify.body).toMatchObject({ mismatched: 0, negative: 0, expiredHolds: 0 });
    });
  }

  it('refuse during a failing assistant call: the refund finds the database gone, and the sweep makes it once the database is back', async () => {
    await waitUntilReady();
    const u = await guest(app);
    const start = await books(u.userId);
    // Charged already; the refund after the failure finds the database gone.
    const res = await cutWhileAssistantWorks(() => ask(app, u.auth, `hiking poles ${randomUUID()}`), 'refuse', { kind: 'fail', delayMs: 500 });
    // The assistant's own failure is what the shopper hears; the refund is owed, not lost.
    expect(res.status).toBe(502);
    proxy.setMode('pass');
    await waitUntilReady();
    const end = await eventually('the sweep refunded the hold', () => books(u.userId), (b) => b.refunds === start.refunds + 1, 15_000);
    expect(end.available).toBe(start.available);
    expect(end.total).toBe(end.available);
    expect(end.debits).toBe(start.debits + 1);
    // Exactly once: later sweeps find nothing more to give back.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await books(u.userId)).refunds).toBe(start.refunds + 1);
  });

  it('with an Idempotency-Key: a retry of a request whose answer could not be recorded is charged once in all', async () => {
    await waitUntilReady();
    const u = await guest(app);
    const key = randomUUID();
    const question = `trail runners ${randomUUID()}`;
    const askWithKey = () => request(app.app).post(QUERY).set('Authorization', u.auth).set('Idempotency-Key', key).send({ query: question });
    const start = await books(u.userId);
    // Charged; the answer and its idempotency record cannot be saved.
    const first = await cutWhileAssistantWorks(askWithKey, 'blackhole', { kind: 'slow', delayMs: 1000 });
    expect(first.status).toBe(503);
    proxy.setMode('pass');
    await waitUntilReady();
    // The shopper retries with the same key until answered (409 while the first attempt's lease runs).
    const answered = await eventually('the retry is answered', askWithKey, (r) => r.status === 200, 20_000);
    expect(answered.body.creditsCharged).toBe(1);
    const replay = await askWithKey();
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.answer).toBe(answered.body.answer);
    // Once every hold has had its chance to expire and be swept: one answer, one credit.
    await new Promise((resolve) => setTimeout(resolve, 9000));
    const end = await books(u.userId);
    expect(end.debits - end.refunds - (start.debits - start.refunds)).toBe(1);
    expect(end.available).toBe(start.available - 1);
    expect(end.total).toBe(end.available);
    const verify = await request(app.app).get('/api/v1/admin/ledger/verify').set('X-Admin-Key', ADMIN_KEY);
    expect(verify.body).toMatchObject({ mismatched: 0, negative: 0, expiredHolds: 0 });
  });

  it('a refund pending when its process shuts down is made by another process\'s sweep', async () => {
    await waitUntilReady();
    // A second "process" on the same database that never sweeps, so only the first can refund.
    const leaving = await createTestApp(processEnv({ CACHE_BACKEND: 'none', HOLD_SWEEP_SECONDS: '0' }));
    const u = await guest(leaving);
    const start = await books(u.userId);
    try {
      const failed = await cutWhileAssistantWorks(() => request(leaving.app).post(QUERY).set('Authorization', u.auth).send({ query: `sleeping bag ${randomUUID()}` }), 'refuse', {
        kind: 'fail',
        delayMs: 500,
      });
      expect(failed.status).toBe(502);
    } finally {
      proxy.setMode('pass');      // Shut down (what SIGTERM does) with its refund not made: nothing of it lives on in memory.
      await leaving.close();
    }
    await waitUntilReady();
    expect((await books(u.userId)).refunds).toBe(start.refunds);
    const end = await eventually('another process refunded the hold', () => books(u.userId), (b) => b.refunds === start.refunds + 1, 15_000);
    expect(end.available).toBe(start.available);
    expect(end.total).toBe(end.available);
  });
});
