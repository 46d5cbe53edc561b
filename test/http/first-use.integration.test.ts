import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiOperations } from '../../src/http/openapi.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { storageBackends } from '../support/storage-backends.js';
import { AUTH_SECRET, registeredToken, SESSION_SECRET } from '../support/tokens.js';

const ADMIN_KEY = 'operator-key-0123456789abcdef';

/** Every operation a shopper may call, as the route files declare it (a new one is covered at once). */
const callerOperations = apiOperations().filter((op) => op.auth === 'caller');

const backends = storageBackends();

/**
 * "A user's credit row is created on their first authenticated request of any kind": each
 * caller operation, sent by a new user with input it refuses where it takes any (a page limit of
 * 0, an empty body, an unknown id), still creates the row, whichever way it declares first use.
 */
describe.each(backends)('every caller operation creates the credit row on first use, on $name storage', ({ env }) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ ...env(), SESSION_SECRET, AUTH_JWT_SECRET: AUTH_SECRET, ADMIN_API_KEY: ADMIN_KEY });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('covers the operations that read, charge or never touch credits', () => {
    expect(callerOperations.map((op) => op.firstUse).sort()).toEqual(expect.arrayContaining(['ensure', 'handler']));
    expect(callerOperations.length).toBeGreaterThanOrEqual(7);
  });

  it.each(callerOperations.map((op) => [`${op.method.toUpperCase()} ${op.path} (${op.firstUse})`, op] as const))('%s', async (_name, op) => {
    const userId = `shopper-${randomUUID()}`;
    const path = `${op.path.replace(/:(\w+)/g, 'cv_unknownUnknownUnknow')}?limit=0`;
    let req = request(app.app)[op.method](path).set('Authorization', `Bearer ${await registeredToken(userId)}`);
    if (op.method === 'post' || op.method === 'put' || op.method === 'patch') req = req.send({});
    const res = await req;
    expect(res.status, res.text).not.toBe(401);
    expect(res.status, res.text).toBeLessThan(500);
    const credits = await request(app.app).get(`/api/v1/admin/users/${userId}/credits`).set('X-Admin-Key', ADMIN_KEY);
    expect(credits.status, `${op.method.toUpperCase()} ${op.path} answered ${res.status} without creating the row`).toBe(200);
  });
});
