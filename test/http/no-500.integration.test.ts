import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { guest } from '../support/shoppers.js';

/**
 * Properties over what a caller controls: whatever the body of a question and whatever bytes
 * stand in a path parameter, the answer is never a 500. Bad input is a 4xx; everything else is
 * an answer. Runs on PostgreSQL storage with the catalog assistant.
 */
const ADMIN_KEY = 'operator-key-0123456789abcdef';
const QUERY = '/api/v1/assistant/query';

let testDb: TestDatabase;
let app: TestApp;
let auth: string;
beforeAll(async () => {
  testDb = await createTestDatabase();
  app = await createTestApp({
    DATABASE_URL: testDb.url,
    STORAGE_BACKEND: 'postgres',
    CACHE_BACKEND: 'memory',
    ADMIN_API_KEY: ADMIN_KEY,
    SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
    GUEST_CREDITS: '1000000',
    QUERY_RATE_LIMIT_PER_MINUTE: '0',
    GUEST_SESSIONS_PER_IP_PER_HOUR: '100000',
  });
  auth = (await guest(app)).auth;
});
afterAll(async () => {
  await app?.close();
  await testDb?.dispose();
});

/** Text as shoppers and attackers write it: any code units (lone surrogates too), property names, spaces. */
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '  boots  ', '\u0000', '\ud800', 'x'.repeat(501)),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
);
const number = fc.oneof(fc.integer({ min: -5, max: 30 }), fc.double({ noNaN: false }), fc.constantFrom(1e308, -0, 2.5));
const anyValue = fc.oneof(text, number, fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 3 }), fc.dictionary(text, text, { maxKeys: 3 }));
const filters = fc.oneof(
  anyValue,
  fc.record(
    { category: fc.oneof(text, anyValue), brand: fc.oneof(text, anyValue), minPrice: fc.oneof(number, anyValue), maxPrice: fc.oneof(number, anyValue), inStock: anyValue },
    { requiredKeys: [] },
  ),
);
const body = fc.oneof(
  fc.record({ query: text, filters, limit: fc.oneof(number, anyValue) }, { requiredKeys: ['query'] }),
  fc.record({ query: text }),
  fc.dictionary(text, anyValue, { maxKeys: 4 }),
  anyValue,
);

/** A path segment of arbitrary bytes, percent-encoded: invalid UTF-8 and encoded lone surrogates included. */
const rawSegment = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('')),
  fc.constantFrom('%ED%A0%80', '%FF', '%C0%AF', 'constructor', '__proto__', 'toString', '..', '%2e%2e', 'guest_x', 'a'.repeat(300)),
  fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,40}$/),
);

describe('no caller input is ever answered 500', () => {
  it('the query route, whatever the body (JSON values of any shape and text of any code units)', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (value, withKey) => {
        let req = request(app.app).post(QUERY).set('Authorization', auth).set('Cache-Control', 'no-cache');
        if (withKey) req = req.set('Idempotency-Key', `prop-${Math.random()}`);
        const res = await req.set('Content-Type', 'application/json').send(JSON.stringify(value));
        expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
  });

  it('every route with a path parameter, whatever bytes the parameter holds', async () => {
    const doc = (await request(app.app).get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const templates = Object.entries(doc.paths)
      .filter(([path]) => path.includes('{'))
      .flatMap(([path, ops]) => Object.keys(ops).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).map((method) => ({ path, method })));
    // The demo page's and the docs page's assets take a file name too.
    templates.push({ path: '/assets/{file}', method: 'get' }, { path: '/docs/assets/{file}', method: 'get' });
    expect(templates.length).toBeGreaterThanOrEqual(5);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...templates), rawSegment, async ({ path, method }, segment) => {
        const url = path.replace(/\{[^}]+\}/g, segment);
        const agent = request(app.app) as unknown as Record<string, (url: string) => request.Test>;
        const res = await agent[method]!(url)
          .set('Authorization', auth)
          .set('X-Admin-Key', ADMIN_KEY)
          .send(method === 'get' || method === 'delete' ? undefined : { amount: 1, reason: 'property' });
        expect(res.status, `${method.toUpperCase()} ${url}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
  });
});
