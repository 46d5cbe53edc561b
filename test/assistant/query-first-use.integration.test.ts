import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { storageBackends } from '../support/storage-backends.js';
import { AUTH_SECRET, registeredToken, SESSION_SECRET } from '../support/tokens.js';

const ADMIN_KEY = 'operator-key-0123456789abcdef';
const QUERY = { query: 'waterproof hiking boots', limit: 3 };

const backends = storageBackends({ postgresCache: true });

/**
 * "A credit row is created on a user's first authenticated request of any kind": the query route
 * creates it by charging when it answers, and on its error path when it does not.
 */
describe.each(backends)('the query route creates the credit row on first use, on $name storage', ({ env }) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ ...env(), SESSION_SECRET, AUTH_JWT_SECRET: AUTH_SECRET, ADMIN_API_KEY: ADMIN_KEY, REGISTERED_CREDITS: '100' });
  });
  afterAll(async () => {
    await app?.close();
  });

  const newUser = async () => {
    const userId = `shopper-${randomUUID()}`;
    return { userId, auth: `Bearer ${await registeredToken(userId)}` };
  };
  const creditsOf = (userId: string) => request(app.app).get(`/api/v1/admin/users/${userId}/credits`).set('X-Admin-Key', ADMIN_KEY);
  const ledgerOf = async (auth: string) => (await request(app.app).get('/api/v1/credits/transactions').set('Authorization', auth)).body;

  it('a query refused for missing consent still creates the row with its grant', async () => {
    const u = await newUser();
    const res = await request(app.app).post('/api/v1/assistant/query').set('Authorization', u.auth).send(QUERY);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('CONSENT_REQUIRED');
    const credits = await creditsOf(u.userId);
    expect(credits.status).toBe(200);
    expect(credits.body.available).toBe(100);
  });

  it('a query with a malformed body or a body that is not JSON still creates the row', async () => {
    for (const send of [
      (r: request.Test) => r.send({ query: '' }),
      (r: request.Test) => r.set('Content-Type', 'application/json').send('{"query":'),
      (r: request.Test) => r.set('Content-Type', 'text/plain').send('boots'),
    ]) {
      const u = await newUser();
      const res = await send(request(app.app).post('/api/v1/assistant/query').set('Authorization', u.auth));
      expect([400, 415]).toContain(res.status);
      expect((await creditsOf(u.userId)).status).toBe(200);
    }
  });

  it('an unauthenticated query creates nothing, and the first answered query creates the row once', async () => {
    const u = await newUser();
    const anonymous = await request(app.app).post('/api/v1/assistant/query').send(QUERY);
    expect(anonymous.status).toBe(401);
    expect((await creditsOf(u.userId)).status).toBe(404);

    await request(app.app).put('/api/v1/consent').set('Authorization', u.auth).send({ termsAccepted: true, marketingConsent: false }).expect(200);
    const answered = await request(app.app).post('/api/v1/assistant/query').set('Authorization', u.auth).send(QUERY);
    expect(answered.status).toBe(200);
    const ledger = await ledgerOf(u.auth);
    expect(ledger.items.filter((e: { type: string }) => e.type === 'grant')).toHaveLength(1);
  });
});
