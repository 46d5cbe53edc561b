import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { providerEnv, startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { AUTH_SECRET, registeredToken, SESSION_SECRET } from '../support/tokens.js';

const ADMIN_KEY = 'operator-key-that-must-never-be-logged';
const QUESTIONS = ['Waterproof hiking boots for my trip to Skye', 'a quiet espresso grinder please'];

describe('structured logs', () => {
  let app: TestApp;
  let openai: FakeOpenAi;
  let failing: TestApp;
  const tokens: string[] = [];

  beforeAll(async () => {
    openai = await startFakeOpenAi();
    const env = { STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', SESSION_SECRET, AUTH_JWT_SECRET: AUTH_SECRET, ADMIN_API_KEY: ADMIN_KEY };
    app = await createTestApp(env);
    failing = await createTestApp({ ...env, ...providerEnv(openai), OPENAI_API_KEY: 'sk-never-logged-0123456789' });

    // A scripted session: a guest and a registered shopper ask, repeat (a cache hit), an
    // operator reads and adjusts, a bad token is refused, and an assistant failure is refunded.
    const guest = await request(app.app).post('/api/v1/sessions/guest');
    const registered = await registeredToken('shopper-logs-1');
    tokens.push(guest.body.token as string, registered);
    for (const token of tokens) {
      const auth = `Bearer ${token}`;
      await request(app.app).put('/api/v1/consent').set('Authorization', auth).send({ termsAccepted: true, marketingConsent: true });
      for (const query of [...QUESTIONS, QUESTIONS[0]]) {
        expect((await request(app.app).post('/api/v1/assistant/query').set('Authorization', auth).send({ query })).status).toBe(200);
      }
    }
    await request(app.app).get(`/api/v1/admin/users/${guest.body.userId as string}/credits`).set('X-Admin-Key', ADMIN_KEY);
    await request(app.app).post('/api/v1/admin/users/shopper-logs-1/credits/adjust').set('X-Admin-Key', ADMIN_KEY).send({ amount: 5, reason: 'goodwill' });
    await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${registered}x`);

    const failingGuest = await request(failing.app).post('/api/v1/sessions/guest');
    tokens.push(failingGuest.body.token as string);
    const auth = `Bearer ${failingGuest.body.token as string}`;
    await request(failing.app).put('/api/v1/consent').set('Authorization', auth).send({ termsAccepted: true, marketingConsent: false });
    openai.mode = { kind: 'fail' };
    expect((await request(failing.app).post('/api/v1/assistant/query').set('Authorization', auth).send({ query: QUESTIONS[1] })).status).toBe(502);
    openai.mode = { kind: 'answer' };
  });

  afterAll(async () => {
    await app?.close();
    await failing?.close();
    await openai?.close();
  });

  const allLines = () => [...app.logs, ...failing.logs];

  it('never contains a token, the admin key, an API key, the client address or the question text', () => {
    const text = JSON.stringify(allLines()).toLowerCase();
    expect(allLines().length).toBeGreaterThan(10);
    for (const token of tokens) {
      expect(text).not.toContain(token.toLowerCase());
      // Not even a token's signature part.
      expect(text).not.toContain(token.split('.')[2].toLowerCase());
    }
    expect(text).not.toContain(ADMIN_KEY.toLowerCase());
    expect(text).not.toContain('sk-never-logged');
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain('::ffff');
    for (const q of QUESTIONS) {
      expect(text).not.toContain(q.toLowerCase());
      expect(text).not.toContain('espresso');
      expect(text).not.toContain('skye');
    }
  });

  it('writes one line per request with request id, route template, status, duration and user kind', () => {
    const requests = app.logs.filter((l) => l.msg === 'request completed');
    const queries = requests.filter((l) => l.route === '/api/v1/assistant/query');
    expect(queries).toHaveLength(6);
    for (const line of queries) {
      expect(line).toMatchObject({ method: 'POST', status: 200, requestId: expect.any(String), ms: expect.any(Number) });
      expect(['guest', 'registered']).toContain(line.user);
      expect(line.queryHash).toMatch(/^[0-9a-f]{16}$/);
    }
    // The same question (after normalisation) has the same hash, so repeats can be told apart.
    const hashes = queries.map((l) => l.queryHash);
    expect(new Set(hashes).size).toBe(2);
    const admin = requests.find((l) => l.route === '/api/v1/admin/users/:userId/credits');
    expect(admin).toMatchObject({ method: 'GET', status: 200, user: 'none' });
    expect(requests.find((l) => l.status === 401)).toMatchObject({ route: '/api/v1/credits', user: 'none' });
  });

  it('logs a 5xx at error level, with its request id', () => {
    const failed = failing.logs.filter((l) => l.msg === 'request failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 50, status: 502, route: '/api/v1/assistant/query', requestId: expect.any(String) });
  });
});
