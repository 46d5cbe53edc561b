import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appsSharingDatabase, createTestApp, type AppsSharingDatabase, type TestApp } from '../support/app.js';
import { guest } from '../support/shoppers.js';
import { SESSION_SECRET } from '../support/tokens.js';

// A flood of requests the API refuses (400/413/415) is throttled per caller and per address:
// the refusal past the limit is a 429, and the sender is then turned away before any parsing.
describe('refused requests are counted and throttled', () => {
  let shared: AppsSharingDatabase;
  let app: TestApp;
  let other: TestApp;
  beforeAll(async () => {
    // Two app instances on one database: the counts are shared.
    shared = await appsSharingDatabase(2, {
      CACHE_BACKEND: 'memory',
      SESSION_SECRET,
      TRUST_PROXY: 'loopback',
      GUEST_SESSIONS_PER_IP_PER_HOUR: '1000',
      REJECTED_REQUESTS_PER_MINUTE: '3',
      REJECTED_REQUESTS_PER_IP_PER_MINUTE: '5',
    });
    [app, other] = shared.apps;
  });
  afterAll(() => shared?.close());

  const ask = (target: TestApp, auth: string, ip: string, body: unknown) =>
    request(target.app).post('/api/v1/assistant/query').set('Authorization', auth).set('X-Forwarded-For', ip).send(body as object);

  it('answers the caller 429 past REJECTED_REQUESTS_PER_MINUTE, then turns them away whatever they send', async () => {
    const u = await guest(app);
    const ip = '203.0.113.10';
    const statuses: number[] = [];
    for (const target of [app, other, app]) statuses.push((await ask(target, u.auth, ip, { query: '' })).status);
    expect(statuses).toEqual([400, 400, 400]);
    const limited = await ask(other, u.auth, ip, { query: '' });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // A valid question from the same token is turned away too, before it is parsed or charged.
    const valid = await ask(other, u.auth, ip, { query: 'warm scarf' });
    expect(valid.status).toBe(429);
    // Only /api is guarded: the same sender still reaches the health check.
    expect((await request(other.app).get('/health/live').set('Authorization', u.auth).set('X-Forwarded-For', ip)).status).toBe(200);
    // Another caller from another address is not affected.
    const v = await guest(app);
    expect((await ask(other, v.auth, '203.0.113.11', { query: 'warm scarf' })).status).toBe(200);
  });

  it('counts every caller of one address (an IPv6 /64) together against REJECTED_REQUESTS_PER_IP_PER_MINUTE', async () => {
    const shoppers = [await guest(app), await guest(app), await guest(app)];
    const statuses: number[] = [];
    for (const [i, s] of [...shoppers, ...shoppers].entries()) {
      statuses.push((await ask(app, s.auth, `2001:db8:77:1::${i + 1}`, i % 2 ? 'not json' : { query: ' ' })).status);
    }
    // Five refusals are answered as such; the sixth (a different caller, same /64) is the 429.
    expect(statuses.slice(0, 5).every((s) => s === 400 || s === 415)).toBe(true);
    expect(statuses[5]).toBe(429);
    // The address is now turned away on this process, even for a new caller with a valid question.
    const fresh = await guest(app);
    expect((await ask(app, fresh.auth, '2001:db8:77:1::99', { query: 'warm scarf' })).status).toBe(429);
    expect((await ask(app, fresh.auth, '2001:db8:77:2::1', { query: 'warm scarf' })).status).toBe(200);
  });

  it('never counts answers that are not refusals of the request itself', async () => {
    const u = await guest(app, { consent: false });
    for (let i = 0; i < 6; i++) expect((await ask(app, u.auth, '203.0.113.12', { query: 'warm scarf' })).status).toBe(403);
    for (let i = 0; i < 6; i++) expect((await request(app.app).get('/api/v1/credits').set('X-Forwarded-For', '203.0.113.12')).status).toBe(401);
  });

  it('is off with both limits at 0', async () => {
    const open = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', SESSION_SECRET, REJECTED_REQUESTS_PER_MINUTE: '0', REJECTED_REQUESTS_PER_IP_PER_MINUTE: '0' });
    try {
      const u = await guest(open);
      for (let i = 0; i < 40; i++) expect((await request(open.app).post('/api/v1/assistant/query').set('Authorization', u.auth).send({ query: '' })).status).toBe(400);
    } finally {
      await open.close();
    }
  });
});
