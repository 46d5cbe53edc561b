import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { providerEnv, startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { requireRedis, TEST_REDIS_URL } from '../support/redis.js';
import { guest } from '../support/shoppers.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const QUERY = '/api/v1/assistant/query';
const common = { SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!', GUEST_SESSIONS_PER_IP_PER_HOUR: '100000', REGISTERED_CREDITS: '100', GUEST_CREDITS: '100' };

interface Answer {
  answer: string;
  products: { id: string; name: string; price: number; category: string }[];
  cached: boolean;
  creditsCharged: number;
  conversationId: string;
  resolvedQuery: { query: string; filters: Record<string, unknown>; offset?: number };
}

let testDb: TestDatabase;
const redisUp = await requireRedis('the follow-up questions on Redis conversations');
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.dispose();
});

const ask = (app: TestApp, auth: string, body: object, headers: Record<string, string> = {}) =>
  request(app.app).post(QUERY).set('Authorization', auth).set(headers).send(body);

/** Asks each question in turn, each one a follow-up of the conversation the first one started. */
async function converse(app: TestApp, auth: string, ...questions: (string | object)[]): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const q of questions) {
    const body = typeof q === 'string' ? { query: q } : q;
    const res = await ask(app, auth, answers.length ? { ...body, conversationId: answers[0]!.conversationId } : body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers['x-conversation']).toBeUndefined();
    answers.push(res.body as Answer);
  }
  return answers;
}

const prices = (a: Answer) => a.products.map((p) => p.price);

async function balance(app: TestApp, auth: string): Promise<number> {
  return (await request(app.app).get('/api/v1/credits').set('Authorization', auth)).body.available as number;
}

const backends = [
  { name: 'postgres', env: () => ({ STORAGE_BACKEND: 'postgres', CACHE_BACKEND: 'postgres', DATABASE_URL: testDb.url }) },
  { name: 'memory', env: () => ({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory' }) },
  ...(redisUp ? [{ name: 'redis', env: () => ({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'redis', CONVERSATION_BACKEND: 'redis' }) }] : []),
];

describe.each(backends)('follow-up questions on $name conversations', ({ env }) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ ...common, ...env() });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('"cheaper" shows only products cheaper than anything shown, and keeps the turn', async () => {
    const u = await guest(app);
    const [first, cheaper] = await converse(app, u.auth, 'waterproof hiking boots', 'cheaper');
    expect(cheaper.conversationId).toBe(first.conversationId);
    expect(cheaper.resolvedQuery.query).toBe('waterproof hiking boots');
    expect(cheaper.resolvedQuery.filters.maxPrice).toBeLessThan(Math.min(...prices(first)));
    expect(cheaper.products.length).toBeGreaterThan(0);
    for (const price of prices(cheaper)) expect(price).toBeLessThan(Math.min(...prices(first)));
    expect(cheaper.answer).toMatch(/^Following up on “waterproof hiking boots”: cheaper than anything shown \(\$[\d.]+\)\. I found/);

    const thread = await request(app.app).get(`/api/v1/conversations/${first.conversationId}`).set('Authorization', u.auth);
    expect(thread.status).toBe(200);
    expect(thread.body.turns).toEqual([
      { query: 'waterproof hiking boots', resolvedQuery: first.resolvedQuery, productIds: first.products.map((p) => p.id), createdAt: expect.any(String) },
      { query: 'cheaper', resolvedQuery: cheaper.resolvedQuery, productIds: cheaper.products.map((p) => p.id), createdAt: expect.any(String) },
    ]);
  });

  it('"less than that", "under $90" and "more expensive" move the price bounds as said', async () => {
    const u = await guest(app);
    const [first, lessThanThat, under90, pricier] = await converse(app, u.auth, 'hiking boots', 'anything less than that?', 'under $90', 'more expensive ones');
    for (const price of prices(lessThanThat)) expect(price).toBeLessThan(first.products[0]!.price);
    expect(under90.resolvedQuery).toEqual({ query: 'hiking boots', filters: { maxPrice: 90 } });
    for (const price of prices(under90)) expect(price).toBeLessThanOrEqual(90);
    expect(pricier.resolvedQuery.filters).toEqual({ minPrice: expect.any(Number) });
    expect(pricier.products.length).toBeGreaterThan(0);
    for (const price of prices(pricier)) expect(price).toBeGreaterThan(Math.max(...prices(under90)));
  });

  it('carries filters and adds audiences and colours: "for women", "in black"', async () => {
    const u = await guest(app);
    const [, women, black] = await converse(app, u.auth, { query: 'waterproof hiking boots', filters: { category: 'shoes' } }, 'for women', 'in black please');
    expect(women.resolvedQuery).toEqual({ query: 'waterproof hiking boots for women', filters: { category: 'shoes' } });
    expect(women.products[0]!.name).toMatch(/Women's/);
    for (const p of women.products) expect(p.category).toBe('shoes');
    expect(black.resolvedQuery).toEqual({ query: 'waterproof hiking boots for women in black', filters: { category: 'shoes' } });
  });

  it('filters sent with a follow-up win over carried ones', async () => {
    const u = await guest(app);
    const [, followUp] = await converse(app, u.auth, { query: 'hiking boots', filters: { category: 'shoes', maxPrice: 100 } }, { query: 'for men', filters: { maxPrice: 150, minPrice: 120 } });
    expect(followUp.resolvedQuery).toEqual({ query: 'hiking boots for men', filters: { category: 'shoes', maxPrice: 150, minPrice: 120 } });
    expect(followUp.products.length).toBeGreaterThan(0);
    for (const price of prices(followUp)) {
      expect(price).toBeGreaterThanOrEqual(120);
      expect(price).toBeLessThanOrEqual(150);
    }
  });

  it('"show me more" gives the next results of the same search, never one shown before', async () => {
    const u = await guest(app);
    const [first, more] = await converse(app, u.auth, 'hiking boots', 'show me more');
    expect(more.resolvedQuery).toEqual({ query: 'hiking boots', filters: {}, offset: 5 });
    expect(more.products).toHaveLength(5);
    const shown = new Set(first.products.map((p) => p.id));
    for (const p of more.products) expect(shown.has(p.id)).toBe(false);
  });

  it('a new topic starts over: nothing carried', async () => {
    const u = await guest(app);
    const [, , tent] = await converse(app, u.auth, { query: 'waterproof hiking boots', filters: { category: 'shoes' } }, 'cheaper', 'a camping tent for two');
    expect(tent.resolvedQuery).toEqual({ query: 'a camping tent for two', filters: {} });
    expect(tent.answer).toMatch(/^A new search for “a camping tent for two”\./);
    expect(tent.products[0]!.category).toBe('outdoor');
  });

  it('a follow-up that resolves to an earlier search is a cache HIT at CACHED_QUERY_COST', async () => {
    const word = randomUUID().slice(0, 8);
    const a = await guest(app);
    const direct = await ask(app, a.auth, { query: `hiking boots ${word}`, filters: { maxPrice: 100 } });
    expect(direct.status).toBe(200);
    expect(direct.headers['x-cache']).toBe('MISS');

    const b = await guest(app);
    const [, followUp] = await converse(app, b.auth, `hiking boots ${word}`, 'under $100');
    expect(followUp.resolvedQuery).toEqual({ query: `hiking boots ${word}`, filters: { maxPrice: 100 } });
    expect(followUp).toMatchObject({ cached: true, creditsCharged: 0, products: direct.body.products });
    expect(followUp.answer).toBe(`Following up on “hiking boots ${word}”: under $100. ${direct.body.answer as string}`);
  });

  it('answers 404 CONVERSATION_NOT_FOUND for an unknown, malformed or another shopper’s conversationId, charging nothing', async () => {
    const owner = await guest(app);
    const other = await guest(app);
    const [first] = await converse(app, owner.auth, 'hiking boots');
    const before = await balance(app, other.auth);
    for (const conversationId of [first.conversationId, app.conversations.newId(), 'constructor', 'not a conversation id!']) {
      const res = await ask(app, other.auth, { query: 'cheaper', conversationId });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('CONVERSATION_NOT_FOUND');
    }
    expect(await balance(app, other.auth)).toBe(before);
    const tooLong = await ask(app, other.auth, { query: 'cheaper', conversationId: 'x'.repeat(129) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.details[0].path).toBe('conversationId');
  });

  it('answers 404 for a conversation past CONVERSATION_TTL_SECONDS', async () => {
    const short = await createTestApp({ ...common, ...env(), CONVERSATION_TTL_SECONDS: '1' });
    try {
      const u = await guest(short);
      const [first] = await converse(short, u.auth, 'hiking boots');
      await new Promise((resolve) => setTimeout(resolve, 1300));
      const res = await ask(short, u.auth, { query: 'cheaper', conversationId: first.conversationId });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('CONVERSATION_NOT_FOUND');
    } finally {
      await short.close();
    }
  });

  it('answers 404 for a deleted conversation', async () => {
    const u = await guest(app);
    const [first] = await converse(app, u.auth, 'hiking boots');
    expect((await request(app.app).delete(`/api/v1/conversations/${first.conversationId}`).set('Authorization', u.auth)).status).toBe(204);
    const res = await ask(app, u.auth, { query: 'cheaper', conversationId: first.conversationId });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('CONVERSATION_NOT_FOUND');
  });

  it('counts conversationId as part of the body for idempotency; a replay returns it and resolvedQuery, and keeps no second turn', async () => {
    const u = await guest(app);
    const [first] = await converse(app, u.auth, 'hiking boots');
    const key = { 'Idempotency-Key': randomUUID() };
    const followUp = await ask(app, u.auth, { query: 'cheaper', conversationId: first.conversationId }, key);
    expect(followUp.status).toBe(200);
    const replay = await ask(app, u.auth, { conversationId: first.conversationId, query: 'cheaper' }, key);
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toMatchObject({ conversationId: first.conversationId, resolvedQuery: followUp.body.resolvedQuery, answer: followUp.body.answer });
    const withoutId = await ask(app, u.auth, { query: 'cheaper' }, key);
    expect(withoutId.status).toBe(409);
    expect(withoutId.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
    const thread = await request(app.app).get(`/api/v1/conversations/${first.conversationId}`).set('Authorization', u.auth);
    expect(thread.body.turns.map((t: { query: string }) => t.query)).toEqual(['hiking boots', 'cheaper']);
  });

  it('checks the conversation after the rate limit and after consent', async () => {
    const limited = await createTestApp({ ...common, ...env(), QUERY_RATE_LIMIT_PER_MINUTE: '1' });
    try {
      const u = await guest(limited);
      expect((await ask(limited, u.auth, { query: 'hiking boots' })).status).toBe(200);
      const res = await ask(limited, u.auth, { query: 'cheaper', conversationId: limited.conversations.newId() });
      expect(res.status).toBe(429);
      const unconsented = await guest(limited, { consent: false });
      expect((await ask(limited, unconsented.auth, { query: 'cheaper', conversationId: limited.conversations.newId() })).status).toBe(403);
    } finally {
      await limited.close();
    }
  });
});

describe('a conversation store that is down', () => {
  it.skipIf(!redisUp)('answers a follow-up as a new question with X-Conversation: reset, never a 5xx, and recovers', async () => {
    const proxy = await TcpProxy.forUrl(TEST_REDIS_URL).start();
    const app = await createTestApp({ ...common, STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', CONVERSATION_BACKEND: 'redis', REDIS_URL: proxy.rewrite(TEST_REDIS_URL) });
    try {
      const u = await guest(app);
      const [first] = await converse(app, u.auth, 'waterproof hiking boots');
      proxy.setMode('refuse');
      for (let i = 0; i < 4; i++) {
        const res = await ask(app, u.auth, { query: 'cheaper', conversationId: first.conversationId });
        expect(res.status).toBe(200);
        expect(res.headers['x-conversation']).toBe('reset');
        expect(res.body.conversationId).toBe(first.conversationId);
        expect(res.body.resolvedQuery).toEqual({ query: 'cheaper', filters: {} });
      }
      // A first question needs no store to be answered.
      const fresh = await ask(app, u.auth, { query: 'rain jacket' });
      expect(fresh.status).toBe(200);
      expect(fresh.headers['x-conversation']).toBeUndefined();
      // The conversation routes cannot answer without the store.
      expect((await request(app.app).get(`/api/v1/conversations/${first.conversationId}`).set('Authorization', u.auth)).status).toBe(503);

      proxy.setMode('pass');
      const deadline = Date.now() + 15_000;
      let back: request.Response;
      do {
        await new Promise((resolve) => setTimeout(resolve, 250));
        back = await ask(app, u.auth, { query: 'cheaper', conversationId: first.conversationId });
      } while (back.headers['x-conversation'] === 'reset' && Date.now() < deadline);
      expect(back.status).toBe(200);
      expect(back.headers['x-conversation']).toBeUndefined();
      expect(back.body.resolvedQuery.query).toBe('waterproof hiking boots');
    } finally {
      await app.close();
      await proxy.stop();
    }
  });
});

describe('follow-ups with the OpenAI-compatible provider', () => {
  let openai: FakeOpenAi;
  let app: TestApp;
  beforeAll(async () => {
    openai = await startFakeOpenAi();
    app = await createTestApp({ ...common, STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', ...providerEnv(openai) });
  });
  afterAll(async () => {
    await app?.close();
    await openai?.close();
  });

  it("shows the model the conversation's earlier turns as messages, then the resolved question", async () => {
    const u = await guest(app);
    const [first, , women] = await converse(app, u.auth, 'waterproof hiking boots', 'cheaper', 'for women');
    const messages = openai.lastMessages;
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(messages[1]!.content).toBe('waterproof hiking boots');
    expect(messages[2]!.content).toBe(`Searched “waterproof hiking boots”; showed ${first.products.map((p) => p.id).join(', ')}.`);
    expect(messages[3]!.content).toBe('cheaper');
    expect(messages[4]!.content).toMatch(/^Searched “waterproof hiking boots” \(maxPrice=[\d.]+\); showed /);
    expect(JSON.parse(messages[5]!.content)).toMatchObject({ question: 'waterproof hiking boots for women', filters: { maxPrice: women.resolvedQuery.filters.maxPrice } });

    // A new topic leaves the earlier turns behind.
    await converse(app, u.auth, 'waterproof hiking boots', 'a coffee grinder');
    expect(openai.lastMessages.map((m) => m.role)).toEqual(['system', 'user']);
  });
});
