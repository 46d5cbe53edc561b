import { createHash, createHmac } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { normalizeText } from '../../src/cache/cache-key.js';
import { CORS_EXPOSED_HEADERS } from '../../src/http/cors.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { guest } from '../support/shoppers.js';
import { SESSION_SECRET } from '../support/tokens.js';

const MEMORY = { STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', SESSION_SECRET, GUEST_SESSIONS_PER_IP_PER_HOUR: '1000' };
const SHOP = 'https://shop.example';
const OTHER = 'https://evil.example';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

describe('security headers on every response', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp(MEMORY);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('sends nosniff, a restrictive CSP and the other helmet headers on API answers, errors and pages', async () => {
    const u = await guest(app);
    const responses = {
      json: await request(app.app).get('/api/v1/credits').set('Authorization', u.auth),
      '400': await request(app.app).post('/api/v1/assistant/query').set('Authorization', u.auth).send({ query: '' }),
      '401': await request(app.app).get('/api/v1/credits'),
      '404': await request(app.app).get('/nowhere'),
      '405': await request(app.app).delete('/api/v1/credits'),
      live: await request(app.app).get('/health/live'),
      metrics: await request(app.app).get('/metrics'),
      docs: await request(app.app).get('/docs'),
      openapi: await request(app.app).get('/openapi.json'),
    };
    for (const [name, res] of Object.entries(responses)) {
      expect(res.headers['x-content-type-options'], name).toBe('nosniff');
      expect(res.headers['content-security-policy'], name).toMatch(/default-src 'none'/);
      expect(res.headers['content-security-policy'], name).toMatch(/frame-ancestors 'none'/);
      expect(res.headers['x-frame-options'], name).toBe('SAMEORIGIN');
      expect(res.headers['referrer-policy'], name).toBe('no-referrer');
      expect(res.headers['strict-transport-security'], name).toMatch(/max-age=\d+/);
      expect(res.headers['x-powered-by'], name).toBeUndefined();
    }
    expect(responses.json.status).toBe(200);
    expect(responses.json.headers['content-security-policy']).toBe("default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'");
    // The docs page runs its own files only: no inline script.
    expect(responses.docs.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
  });

  it('sends no CORS header at all while CORS_ORIGINS is unset', async () => {
    const res = await request(app.app).get('/health/live').set('Origin', SHOP);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await request(app.app).options('/api/v1/credits').set('Origin', SHOP).set('Access-Control-Request-Method', 'GET');
    expect(preflight.status).toBe(405);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS for the shop frontends of CORS_ORIGINS', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ ...MEMORY, CORS_ORIGINS: `${SHOP}, https://second-shop.example:8443` });
  });
  afterAll(async () => {
    await app?.close();
  });

  const preflight = (origin: string, method = 'POST', headers = 'authorization,content-type,idempotency-key') =>
    request(app.app).options('/api/v1/assistant/query').set('Origin', origin).set('Access-Control-Request-Method', method).set('Access-Control-Request-Headers', headers);

  it('answers an allowed origin its preflight: methods, request headers and how long to cache it', async () => {
    const res = await preflight(SHOP);
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(SHOP);
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(res.headers['access-control-allow-headers']!.toLowerCase().split(',')).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'idempotency-key', 'x-request-id', 'cache-control']),
    );
    expect(res.headers['access-control-allow-headers']!.toLowerCase()).not.toContain('x-admin-key');
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers.vary).toMatch(/Origin/);
    expect((await preflight('https://second-shop.example:8443')).headers['access-control-allow-origin']).toBe('https://second-shop.example:8443');
  });

  it('exposes exactly the contract headers to an allowed origin on real answers, errors included', async () => {
    const u = await guest(app);
    const ok = await request(app.app).post('/api/v1/assistant/query').set('Origin', SHOP).set('Authorization', u.auth).send({ query: 'warm scarf' });
    expect(ok.status).toBe(200);
    const refused = await request(app.app).get('/api/v1/credits').set('Origin', SHOP);
    for (const res of [ok, refused]) {
      expect(res.headers['access-control-allow-origin']).toBe(SHOP);
      expect(res.headers['access-control-expose-headers']!.split(',')).toEqual([...CORS_EXPOSED_HEADERS]);
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    }
    expect(CORS_EXPOSED_HEADERS).toEqual(['X-Request-Id', 'X-Cache', 'X-Credits-Remaining', 'X-Credits-Limit', 'X-Credits-Reset', 'Retry-After', 'Idempotent-Replayed', 'X-Conversation']);
  });

  it('gives any other origin nothing: no preflight answer, no CORS header on answers', async () => {
    for (const origin of [OTHER, 'https://shop.example.evil.example', 'http://shop.example', 'null']) {
      const pre = await preflight(origin);
      expect(pre.status, origin).toBe(405);
      expect(pre.headers['access-control-allow-origin'], origin).toBeUndefined();
      expect(pre.headers['access-control-allow-methods'], origin).toBeUndefined();
      const res = await request(app.app).get('/health/live').set('Origin', origin);
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
      expect(res.headers['access-control-expose-headers'], origin).toBeUndefined();
    }
  });

  it('allows any origin with CORS_ORIGINS=*, never with credentials', async () => {
    const open = await createTestApp({ ...MEMORY, CORS_ORIGINS: '*' });
    try {
      const pre = await request(open.app).options('/api/v1/credits').set('Origin', OTHER).set('Access-Control-Request-Method', 'GET');
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('*');
      expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
      const res = await request(open.app).get('/health/live').set('Origin', OTHER);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-expose-headers']).toBe(CORS_EXPOSED_HEADERS.join(','));
    } finally {
      await open.close();
    }
  });
});

describe('/metrics', () => {
  it('refuses a request without METRICS_TOKEN (401) and answers the token', async () => {
    const app = await createTestApp({ ...MEMORY, METRICS_TOKEN });
    try {
      for (const auth of [undefined, 'Bearer wrong-token-0123456789abcdef', `Basic ${METRICS_TOKEN}`, `Bearer ${METRICS_TOKEN}x`]) {
        const req = request(app.app).get('/metrics');
        const res = await (auth ? req.set('Authorization', auth) : req);
        expect(res.status, auth).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.body.error.code).toBe('UNAUTHENTICATED');
        expect(res.text).not.toContain('http_requests_total');
      }
      const ok = await request(app.app).get('/metrics').set('Authorization', `bearer ${METRICS_TOKEN}`);
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('http_requests_total');
    } finally {
      await app.close();
    }
  });

  it('is served on METRICS_PORT alone when that is set', async () => {
    const app = await createTestApp({ ...MEMORY, METRICS_PORT: '9464' });
    try {
      expect((await request(app.app).get('/metrics')).status).toBe(404);
      expect(app.metricsApp).toBeDefined();
      const res = await request(app.metricsApp!).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.text).toContain('http_requests_total');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect((await request(app.metricsApp!).get('/api/v1/credits')).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});

describe("the request log's queryHash", () => {
  it('is an HMAC keyed by a secret from config: not the plain hash, and different under another secret', async () => {
    const question = 'Waterproof hiking boots';
    const hashes: string[] = [];
    for (const secret of [SESSION_SECRET, `${SESSION_SECRET}-another`]) {
      const app = await createTestApp({ ...MEMORY, SESSION_SECRET: secret });
      try {
        const u = await guest(app);
        expect((await request(app.app).post('/api/v1/assistant/query').set('Authorization', u.auth).send({ query: question })).status).toBe(200);
        const line = app.logs.find((l) => l.route === '/api/v1/assistant/query' && l.msg === 'request completed');
        const key = loadConfig({ SESSION_SECRET: secret }).queryHashKey;
        expect(line?.queryHash).toBe(createHmac('sha256', key).update(normalizeText(question)).digest('hex').slice(0, 16));
        hashes.push(String(line?.queryHash));
      } finally {
        await app.close();
      }
    }
    // A dictionary of plain hashes finds nothing, and one deployment's hashes say nothing of another's.
    expect(hashes).not.toContain(createHash('sha256').update(normalizeText(question)).digest('hex').slice(0, 16));
    expect(hashes[0]).not.toBe(hashes[1]);
  });
});
