import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { storageBackends } from '../support/storage-backends.js';
import { AUTH_SECRET, registeredToken, SESSION_SECRET } from '../support/tokens.js';

const ADMIN_KEY = 'operator-key-0123456789abcdef';

const backends = storageBackends();

describe.each(backends)('consent routes on $name storage', ({ env }) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ ...env(), SESSION_SECRET, AUTH_JWT_SECRET: AUTH_SECRET, ADMIN_API_KEY: ADMIN_KEY });
  });
  afterAll(async () => {
    await app?.close();
  });

  const newUser = async () => {
    const userId = `shopper-${randomUUID()}`;
    return { userId, auth: `Bearer ${await registeredToken(userId)}` };
  };

  it('GET answers 404 CONSENT_NOT_FOUND before any consent, and still creates the credit row', async () => {
    const u = await newUser();
    const res = await request(app.app).get('/api/v1/consent').set('Authorization', u.auth);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('CONSENT_NOT_FOUND');
    // "A credit row is created on a user's first authenticated request of any kind."
    const credits = await request(app.app).get(`/api/v1/admin/users/${u.userId}/credits`).set('X-Admin-Key', ADMIN_KEY);
    expect(credits.status).toBe(200);
    expect(credits.body.available).toBe(100);
  });

  it('PUT records consent; timestamp stays, updatedAt follows the last change', async () => {
    const u = await newUser();
    const first = await request(app.app).put('/api/v1/consent').set('Authorization', u.auth).send({ termsAccepted: true, marketingConsent: false });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ userId: u.userId, termsAccepted: true, marketingConsent: false, timestamp: expect.any(String), updatedAt: first.body.timestamp });
    await new Promise((r) => setTimeout(r, 5));
    const second = await request(app.app).put('/api/v1/consent').set('Authorization', u.auth).send({ termsAccepted: true, marketingConsent: true });
    expect(second.body.timestamp).toBe(first.body.timestamp);
    expect(Date.parse(second.body.updatedAt)).toBeGreaterThan(Date.parse(first.body.updatedAt));
    const got = await request(app.app).get('/api/v1/consent').set('Authorization', u.auth);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(second.body);
  });

  it('PUT answers 400 VALIDATION_FAILED for a missing, mistyped or unknown field, and 401 without a token', async () => {
    const u = await newUser();
    for (const body of [{}, { termsAccepted: true }, { termsAccepted: 'yes', marketingConsent: false }, { termsAccepted: true, marketingConsent: false, extra: 1 }]) {
      const res = await request(app.app).put('/api/v1/consent').set('Authorization', u.auth).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect((await request(app.app).put('/api/v1/consent').send({ termsAccepted: true, marketingConsent: true })).status).toBe(401);
    expect((await request(app.app).get('/api/v1/consent')).status).toBe(401);
    expect((await request(app.app).delete('/api/v1/consent').set('Authorization', u.auth)).status).toBe(405);
  });

  it("a user reads only their own consent", async () => {
    const a = await newUser();
    const b = await newUser();
    await request(app.app).put('/api/v1/consent').set('Authorization', a.auth).send({ termsAccepted: true, marketingConsent: true });
    expect((await request(app.app).get('/api/v1/consent').set('Authorization', b.auth)).status).toBe(404);
  });

  it('operators list consents newest first, filtered by marketing consent, in pages', async () => {
    const users = await Promise.all([...Array(5)].map(() => newUser()));
    for (const [i, u] of users.entries()) {
      await request(app.app).put('/api/v1/consent').set('Authorization', u.auth).send({ termsAccepted: true, marketingConsent: i % 2 === 0 });
    }
    const mine = new Set(users.map((u) => u.userId));
    const seen: { userId: string; marketingConsent: boolean }[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(app.app)
        .get(`/api/v1/admin/consents?marketingConsent=true&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
        .set('X-Admin-Key', ADMIN_KEY);
      expect(res.status).toBe(200);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    const ours = seen.filter((c) => mine.has(c.userId));
    expect(ours.map((c) => c.userId)).toEqual([users[4].userId, users[2].userId, users[0].userId]);
    expect(seen.every((c) => c.marketingConsent)).toBe(true);
  });

  it('operator listing: 400 for a bad filter, limit or cursor; 401 without the key', async () => {
    for (const q of ['marketingConsent=maybe', 'limit=0', 'limit=101', 'cursor=%21%21']) {
      const res = await request(app.app).get(`/api/v1/admin/consents?${q}`).set('X-Admin-Key', ADMIN_KEY);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect((await request(app.app).get('/api/v1/admin/consents')).status).toBe(401);
  });
});
