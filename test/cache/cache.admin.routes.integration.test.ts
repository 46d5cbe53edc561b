import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';

const ADMIN_KEY = 'operator-key-'.padEnd(32, 'x');

describe('the cache operator routes', () => {
  let app: TestApp;
  let token: string;
  const ask = (query: string) =>
    request(app.app).post('/api/v1/assistant/query').set('Authorization', `Bearer ${token}`).send({ query });
  const stats = () => request(app.app).get('/api/v1/admin/cache/stats').set('X-Admin-Key', ADMIN_KEY);

  beforeAll(async () => {
    app = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', ADMIN_API_KEY: ADMIN_KEY });
    token = (await request(app.app).post('/api/v1/sessions/guest')).body.token;
    const consent = await request(app.app).put('/api/v1/consent').set('Authorization', `Bearer ${token}`).send({ termsAccepted: true, marketingConsent: false });
    expect(consent.status).toBe(200);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('counts hits and misses since start, and the counters survive clearing the cache', async () => {
    const empty = await stats();
    expect(empty.status).toBe(200);
    expect(empty.headers['cache-control']).toBe('no-store');
    expect(empty.body).toEqual({ backend: 'memory', hits: 0, misses: 0, bypasses: 0, hitRate: 0, entries: 0, breaker: 'closed' });

    expect((await ask('trail running shoes')).headers['x-cache']).toBe('MISS');
    expect((await ask('  Trail   RUNNING shoes ')).headers['x-cache']).toBe('HIT');
    expect((await stats()).body).toMatchObject({ hits: 1, misses: 1, hitRate: 0.5, entries: 1 });

    const cleared = await request(app.app).delete('/api/v1/admin/cache').set('X-Admin-Key', ADMIN_KEY);
    expect(cleared.status).toBe(204);
    expect(cleared.text).toBe('');
    expect((await stats()).body).toMatchObject({ hits: 1, misses: 1, entries: 0 });
    expect((await ask('trail running shoes')).headers['x-cache']).toBe('MISS');
  });

  it('counts a no-cache request as a bypass', async () => {
    const before = (await stats()).body.bypasses as number;
    const res = await ask('rain jacket').set('Cache-Control', 'no-cache');
    expect(res.headers['x-cache']).toBe('BYPASS');
    expect((await stats()).body.bypasses).toBe(before + 1);
  });

  it('refuses callers without the operator key', async () => {
    const none = await request(app.app).get('/api/v1/admin/cache/stats');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHENTICATED');
    const wrong = await request(app.app).delete('/api/v1/admin/cache').set('X-Admin-Key', 'nope');
    expect(wrong.status).toBe(401);
  });

  it('answers 405 with Allow for other methods', async () => {
    const res = await request(app.app).post('/api/v1/admin/cache').set('X-Admin-Key', ADMIN_KEY);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('DELETE');
  });

  it('answers 403 ADMIN_DISABLED while ADMIN_API_KEY is unset', async () => {
    const closed = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'none' });
    try {
      const res = await request(closed.app).get('/api/v1/admin/cache/stats').set('X-Admin-Key', ADMIN_KEY);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('ADMIN_DISABLED');
    } finally {
      await closed.close();
    }
  });
});

describe('CACHE_BACKEND=none', () => {
  it('bypasses every lookup, reports the cache as disabled, and stays ready', async () => {
    const app = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'none', ADMIN_API_KEY: ADMIN_KEY });
    try {
      const ready = await request(app.app).get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('ready');
      expect(ready.body.checks.cache).toEqual({ status: 'disabled', latencyMs: null });
      const stats = await request(app.app).get('/api/v1/admin/cache/stats').set('X-Admin-Key', ADMIN_KEY);
      expect(stats.body).toMatchObject({ backend: 'none', hits: 0, misses: 0, breaker: 'closed' });
    } finally {
      await app.close();
    }
  });
});
