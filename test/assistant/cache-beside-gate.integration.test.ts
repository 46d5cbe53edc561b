/**
 * With the query cache in Redis (not in the database the gate reads), a new question's cache
 * entry is read beside the gate, not after it: with both the database and Redis 150 ms away, a
 * cached answer takes one wait, not two. And a lookup is counted only for a question that passed
 * the gate.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { requireRedis, TEST_REDIS_URL } from '../support/redis.js';
import { guest } from '../support/shoppers.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const QUERY = '/api/v1/assistant/query';
/** Below the cache's call bound (250 ms): a slow Redis, not an outage. */
const DELAY_MS = 150;
const redisUp = await requireRedis('the cache-beside-the-gate test');

describe.runIf(redisUp)('a Redis cache read beside the gate', () => {
  let testDb: TestDatabase;
  let dbProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let app: TestApp;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    dbProxy = await TcpProxy.forUrl(testDb.url).start();
    redisProxy = await TcpProxy.forUrl(TEST_REDIS_URL).start();
    app = await createTestApp({
      SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
      STORAGE_BACKEND: 'postgres',
      CACHE_BACKEND: 'redis',
      CONVERSATION_BACKEND: 'memory',
      DATABASE_URL: dbProxy.rewrite(testDb.url),
      REDIS_URL: redisProxy.rewrite(TEST_REDIS_URL),
      HOLD_SWEEP_SECONDS: '0',
      CLEANUP_INTERVAL_MINUTES: '0',
    });
  });
  afterAll(async () => {
    await app?.close();
    await dbProxy?.stop();
    await redisProxy?.stop();
    await testDb?.dispose();
  });

  it('a cached answer waits for the database and Redis at once, not one after the other', async () => {
    const question = { query: `waterproof hiking boots ${Date.now()}`, limit: 3 };
    const u = await guest(app);
    expect((await request(app.app).post(QUERY).set('Authorization', u.auth).send(question)).status).toBe(200);
    // Warm: the account exists and the pool's connections are open.
    expect((await request(app.app).post(QUERY).set('Authorization', u.auth).send(question)).headers['x-cache']).toBe('HIT');
    dbProxy.setDelay(DELAY_MS);
    redisProxy.setDelay(DELAY_MS);
    try {
      const timings: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const res = await request(app.app).post(QUERY).set('Authorization', u.auth).send(question);
        timings.push(performance.now() - started);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.headers['x-cache']).toBe('HIT');
      }
      // One after the other would be at least 2 × 150 ms; side by side, one wait and the rest.
      expect(Math.min(...timings), `timings ${timings.map((t) => t.toFixed(0)).join(', ')} ms`).toBeLessThan(2 * DELAY_MS - 40);
    } finally {
      dbProxy.setDelay(0);
      redisProxy.setDelay(0);
    }
  });

  it('counts a lookup only for a question that passed the gate', async () => {
    const metrics = async () => (await request(app.app).get('/metrics')).text;
    const lookups = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('shopassist_cache_requests_total'))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    const before = lookups(await metrics());
    const stranger = await guest(app, { consent: false });
    const refused = await request(app.app).post(QUERY).set('Authorization', stranger.auth).send({ query: 'tents', limit: 3 });
    expect(refused.status).toBe(403);
    expect(lookups(await metrics())).toBe(before);
    const u = await guest(app);
    expect((await request(app.app).post(QUERY).set('Authorization', u.auth).send({ query: 'tents', limit: 3 })).status).toBe(200);
    expect(lookups(await metrics())).toBe(before + 1);
  });
});
