import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { storageBackends } from '../support/storage-backends.js';
import { AUTH_SECRET, registeredToken, SESSION_SECRET } from '../support/tokens.js';

const ADMIN_KEY = 'operator-key-0123456789abcdef';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const backends = storageBackends();

describe.each(backends)('credit routes on $name storage', ({ env }) => {
  let app: TestApp;
  let disabled: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ ...env(), SESSION_SECRET, AUTH_JWT_SECRET: AUTH_SECRET, ADMIN_API_KEY: ADMIN_KEY, GUEST_SESSIONS_PER_IP_PER_HOUR: '1000' });
    disabled = await createTestApp({ ...env(), SESSION_SECRET, AUTH_JWT_SECRET: AUTH_SECRET, MIGRATE_ON_START: 'false' });
  });
  afterAll(async () => {
    await app?.close();
    await disabled?.close();
  });

  const newUser = async () => {
    const userId = `shopper-${randomUUID()}`;
    return { userId, auth: `Bearer ${await registeredToken(userId)}` };
  };
  const admin = (r: request.Test) => r.set('X-Admin-Key', ADMIN_KEY);
  const adjust = (userId: string, body: unknown) =>
    admin(request(app.app).post(`/api/v1/admin/users/${encodeURIComponent(userId)}/credits/adjust`)).send(body as object);

  const expectBalanceHeaders = (res: request.Response, available: number, max: number) => {
    expect(res.headers['x-credits-remaining']).toBe(String(available));
    expect(res.headers['x-credits-limit']).toBe(String(max));
    expect(res.headers['x-credits-reset']).toBe(String(Math.ceil(Date.parse(res.body.resetsAt ?? '') / 1000)));
  };

  describe('GET /api/v1/credits', () => {
    it('answers the balance with the balance headers, creating it on first use', async () => {
      const u = await newUser();
      const res = await request(app.app).get('/api/v1/credits').set('Authorization', u.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ userId: u.userId, isGuest: false, available: 100, max: 100, lastResetAt: expect.stringMatching(ISO), resetsAt: expect.stringMatching(ISO) });
      expect(Date.parse(res.body.resetsAt) - Date.parse(res.body.lastResetAt)).toBe(24 * 3_600_000);
      expectBalanceHeaders(res, 100, 100);
    });

    it('answers 401 without a token and 405 with Allow for another method', async () => {
      expect((await request(app.app).get('/api/v1/credits')).status).toBe(401);
      const res = await request(app.app).post('/api/v1/credits');
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    });
  });

  describe('GET /api/v1/credits/transactions', () => {
    it('lists the ledger newest first in stable pages, with the balance headers', async () => {
      const u = await newUser();
      await request(app.app).get('/api/v1/credits').set('Authorization', u.auth);
      for (const amount of [5, -3, 7]) expect((await adjust(u.userId, { amount, reason: `adj ${amount}` })).status).toBe(200);
      const page1 = await request(app.app).get('/api/v1/credits/transactions?limit=2').set('Authorization', u.auth);
      expect(page1.status).toBe(200);
      expect(page1.headers['x-credits-remaining']).toBe('109');
      expect(page1.headers['x-credits-limit']).toBe('100');
      expect(page1.body.items).toEqual([
        { id: expect.any(String), type: 'adjustment', amount: 7, balanceAfter: 109, description: 'adj 7', createdAt: expect.stringMatching(ISO) },
        { id: expect.any(String), type: 'adjustment', amount: -3, balanceAfter: 102, description: 'adj -3', createdAt: expect.stringMatching(ISO) },
      ]);
      await adjust(u.userId, { amount: 1, reason: 'arrives meanwhile' });
      const page2 = await request(app.app)
        .get(`/api/v1/credits/transactions?limit=2&cursor=${encodeURIComponent(page1.body.nextCursor)}`)
        .set('Authorization', u.auth);
      expect(page2.body.items.map((i: { amount: number }) => i.amount)).toEqual([5, 100]);
      expect(page2.body.nextCursor).toBeNull();
      const all = await request(app.app).get('/api/v1/credits/transactions').set('Authorization', u.auth);
      expect(all.body.items).toHaveLength(5); // default limit 20
    });

    it('answers 400 VALIDATION_FAILED for a bad limit or cursor, and 401 without a token', async () => {
      const u = await newUser();
      for (const q of ['limit=0', 'limit=101', 'limit=abc', 'limit=2.5']) {
        const res = await request(app.app).get(`/api/v1/credits/transactions?${q}`).set('Authorization', u.auth);
        expect(res.status).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'limit', message: expect.any(String) }] });
      }
      for (const cursor of ['garbage!', 'eyJ0IjoxfQ', '']) {
        const res = await request(app.app).get(`/api/v1/credits/transactions?cursor=${cursor}`).set('Authorization', u.auth);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_FAILED');
        expect(res.body.error.details[0].path).toBe('cursor');
      }
      expect((await request(app.app).get('/api/v1/credits/transactions')).status).toBe(401);
    });
  });

  describe('security: one user never reads or moves another one’s credits', () => {
    it("a user's reads show their own balance and entries only, whoever else changes", async () => {
      const a = await newUser();
      const b = await newUser();
      await request(app.app).get('/api/v1/credits').set('Authorization', a.auth);
      await request(app.app).get('/api/v1/credits').set('Authorization', b.auth);
      await adjust(b.userId, { amount: -40, reason: 'b only' });
      const aCredits = await request(app.app).get('/api/v1/credits').set('Authorization', a.auth);
      expect(aCredits.body).toMatchObject({ userId: a.userId, available: 100 });
      const bPage = await request(app.app).get('/api/v1/credits/transactions?limit=1').set('Authorization', b.auth);
      // B's cursor in A's hands lists A's own entries only.
      const aWithB = await request(app.app)
        .get(`/api/v1/credits/transactions?cursor=${encodeURIComponent(bPage.body.nextCursor)}`)
        .set('Authorization', a.auth);
      const bIds = new Set(
        (await request(app.app).get('/api/v1/credits/transactions').set('Authorization', b.auth)).body.items.map((i: { id: string }) => i.id),
      );
      for (const item of aWithB.body.items as { id: string; description: string }[]) {
        expect(bIds.has(item.id)).toBe(false);
        expect(item.description).not.toBe('b only');
      }
    });

    it('a new guest gets the guest allowance on their own first request, not before', async () => {
      const session = await request(app.app).post('/api/v1/sessions/guest');
      const guestAuth = `Bearer ${session.body.token}`;
      // A guest has no credits before their first authenticated request, and operators cannot conjure them.
      expect((await adjust(session.body.userId, { amount: 1, reason: 'x' })).status).toBe(404);
      const guest = await request(app.app).get('/api/v1/credits').set('Authorization', guestAuth);
      expect(guest.body).toMatchObject({ userId: session.body.userId, isGuest: true, available: 10 });
    });
  });

  describe('operator routes', () => {
    it('GET reads any balance with headers, never creates one, and answers 404 USER_NOT_FOUND for an unknown user', async () => {
      const u = await newUser();
      const unknown = await admin(request(app.app).get(`/api/v1/admin/users/${u.userId}/credits`));
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('USER_NOT_FOUND');
      expect((await admin(request(app.app).get(`/api/v1/admin/users/${u.userId}/credits`))).status).toBe(404);
      await request(app.app).get('/api/v1/credits').set('Authorization', u.auth);
      const known = await admin(request(app.app).get(`/api/v1/admin/users/${u.userId}/credits`));
      expect(known.status).toBe(200);
      expect(known.body).toMatchObject({ userId: u.userId, isGuest: false, available: 100, max: 100 });
      expectBalanceHeaders(known, 100, 100);
    });

    it('answers 400 VALIDATION_FAILED for a user id that breaks the rules', async () => {
      // Invalid UTF-8 and a percent-encoded lone surrogate cannot even be decoded: still a 400, never a 500.
      for (const id of ['guest_not-a-uuid', 'has%20space', 'x'.repeat(129), 'semi%3Bcolon', '%ED%A0%80', '%FF', 'a%E2%82', '%C0%AF']) {
        const res = await admin(request(app.app).get(`/api/v1/admin/users/${id}/credits`));
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_FAILED');
      }
    });

    it('adjust: may exceed max, writes the reason, refuses a result below 0 with 409', async () => {
      const u = await newUser();
      await request(app.app).get('/api/v1/credits').set('Authorization', u.auth);
      const up = await adjust(u.userId, { amount: 1_000_000, reason: '  Goodwill ✓  ' });
      expect(up.status).toBe(200);
      expect(up.body).toMatchObject({ available: 1_000_100, max: 100 });
      expectBalanceHeaders(up, 1_000_100, 100);
      const tx = await request(app.app).get('/api/v1/credits/transactions?limit=1').set('Authorization', u.auth);
      expect(tx.body.items[0]).toMatchObject({ type: 'adjustment', amount: 1_000_000, description: 'Goodwill ✓' });
      const down = await adjust(u.userId, { amount: -1_000_000, reason: 'too far' });
      expect(down.status).toBe(200);
      const below = await adjust(u.userId, { amount: -101, reason: 'below zero' });
      expect(below.status).toBe(409);
      expect(below.body.error.code).toBe('BALANCE_WOULD_BE_NEGATIVE');
      expect((await request(app.app).get('/api/v1/credits').set('Authorization', u.auth)).body.available).toBe(100);
    });

    it('adjust: 400 for every invalid body, 404 for an unknown user, 400/415 for bad JSON', async () => {
      const u = await newUser();
      await request(app.app).get('/api/v1/credits').set('Authorization', u.auth);
      const bad: unknown[] = [
        {},
        { amount: 0, reason: 'zero' },
        { amount: 1_000_001, reason: 'too big' },
        { amount: -1_000_001, reason: 'too small' },
        { amount: 1.5, reason: 'fraction' },
        { amount: '5', reason: 'string' },
        { amount: 5 },
        { amount: 5, reason: '' },
        { amount: 5, reason: '   ' },
        { amount: 5, reason: 'x'.repeat(501) },
        { amount: 5, reason: 'ok', extra: true },
      ];
      for (const body of bad) {
        const res = await adjust(u.userId, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_FAILED');
      }
      expect((await adjust(u.userId, { amount: 5, reason: '😀'.repeat(500) })).status).toBe(200);
      const unknown = await adjust(`nobody-${randomUUID()}`, { amount: 5, reason: 'x' });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('USER_NOT_FOUND');
      const malformed = await admin(request(app.app).post(`/api/v1/admin/users/${u.userId}/credits/adjust`))
        .set('Content-Type', 'application/json')
        .send('{"amount": ');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.code).toBe('INVALID_JSON');
      const notJson = await admin(request(app.app).post(`/api/v1/admin/users/${u.userId}/credits/adjust`)).set('Content-Type', 'text/plain').send('amount=5');
      expect(notJson.status).toBe(415);
    });

    it('reset: back to max at once with a reset entry, 404 for an unknown user', async () => {
      const u = await newUser();
      await request(app.app).get('/api/v1/credits').set('Authorization', u.auth);
      await adjust(u.userId, { amount: -60, reason: 'spent' });
      const res = await admin(request(app.app).post(`/api/v1/admin/users/${u.userId}/credits/reset`));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ available: 100, max: 100 });
      expectBalanceHeaders(res, 100, 100);
      const tx = await request(app.app).get('/api/v1/credits/transactions?limit=1').set('Authorization', u.auth);
      expect(tx.body.items[0]).toMatchObject({ type: 'reset', amount: 60, balanceAfter: 100 });
      const unknown = await admin(request(app.app).post(`/api/v1/admin/users/nobody-${randomUUID()}/credits/reset`));
      expect(unknown.status).toBe(404);
    });

    it('401 UNAUTHENTICATED for a missing or wrong key; 403 ADMIN_DISABLED while ADMIN_API_KEY is unset', async () => {
      const path = '/api/v1/admin/users/someone/credits';
      const missing = await request(app.app).get(path);
      expect(missing.status).toBe(401);
      expect(missing.body.error.code).toBe('UNAUTHENTICATED');
      expect((await request(app.app).get(path).set('X-Admin-Key', `${ADMIN_KEY}x`)).status).toBe(401);
      for (const r of [
        request(disabled.app).get(path),
        request(disabled.app).get(path).set('X-Admin-Key', ADMIN_KEY),
        request(disabled.app).post(`${path}/adjust`).send({ amount: 1, reason: 'x' }),
        request(disabled.app).post(`${path}/reset`),
        request(disabled.app).get('/api/v1/admin/consents'),
      ]) {
        const res = await r;
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('ADMIN_DISABLED');
      }
    });
  });
});
