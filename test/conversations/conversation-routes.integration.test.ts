import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationTurn } from '../../src/conversations/conversation.store.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { requireRedis } from '../support/redis.js';
import { guest } from '../support/shoppers.js';

const common = { SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!', GUEST_SESSIONS_PER_IP_PER_HOUR: '100000' };
const path = (id: string) => `/api/v1/conversations/${encodeURIComponent(id)}`;

let testDb: TestDatabase;
const redisUp = await requireRedis('the conversation routes on Redis');
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.dispose();
});

const backends = [
  { name: 'memory', env: () => ({ STORAGE_BACKEND: 'memory', CONVERSATION_BACKEND: 'memory' }) },
  { name: 'postgres', env: () => ({ STORAGE_BACKEND: 'postgres', CACHE_BACKEND: 'memory', DATABASE_URL: testDb.url }) },
  ...(redisUp ? [{ name: 'redis', env: () => ({ STORAGE_BACKEND: 'memory', CONVERSATION_BACKEND: 'redis' }) }] : []),
];

function turn(n: number): ConversationTurn {
  return {
    query: n === 1 ? 'waterproof hiking boots' : 'cheaper',
    resolvedQuery: { query: 'waterproof hiking boots', filters: n === 1 ? {} : { maxPrice: 113.48 } },
    productIds: [`shoes-00${n}`],
    prices: [184.49],
    currency: 'USD',
    createdAt: new Date().toISOString(),
  };
}

describe.each(backends)('the conversation routes on $name conversations', ({ env }) => {
  let app: TestApp;
  let short: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ ...common, ...env() });
    short = await createTestApp({ ...common, ...env(), CONVERSATION_TTL_SECONDS: '1' });
  });
  afterAll(async () => {
    await app?.close();
    await short?.close();
  });

  /** A conversation of `userId` with two turns, as the query route keeps them. */
  async function conversationOf(target: TestApp, userId: string): Promise<string> {
    const id = target.conversations.newId();
    for (const n of [1, 2]) expect(await target.conversations.record(userId, id, turn(n))).toBe(true);
    return id;
  }

  it("GET returns the caller's turns, oldest first, with what each was resolved to, and when it expires", async () => {
    const shopper = await guest(app);
    const id = await conversationOf(app, shopper.userId);
    const res = await request(app.app).get(path(id)).set('Authorization', shopper.auth);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      conversationId: id,
      turns: [
        { query: 'waterproof hiking boots', resolvedQuery: { query: 'waterproof hiking boots', filters: {} }, productIds: ['shoes-001'], createdAt: expect.any(String) },
        { query: 'cheaper', resolvedQuery: { query: 'waterproof hiking boots', filters: { maxPrice: 113.48 } }, productIds: ['shoes-002'], createdAt: expect.any(String) },
      ],
      expiresAt: expect.any(String),
    });
    const expiresIn = Date.parse(res.body.expiresAt as string) - Date.now();
    expect(expiresIn).toBeGreaterThan(28_700_000);
    expect(expiresIn).toBeLessThanOrEqual(28_800_000);
  });

  it('DELETE forgets every turn at once: 204, then 404 on GET and on a second DELETE', async () => {
    const shopper = await guest(app);
    const id = await conversationOf(app, shopper.userId);
    const gone = await request(app.app).delete(path(id)).set('Authorization', shopper.auth);
    expect(gone.status).toBe(204);
    expect(gone.text).toBe('');
    for (const method of ['get', 'delete'] as const) {
      const res = await request(app.app)[method](path(id)).set('Authorization', shopper.auth);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('CONVERSATION_NOT_FOUND');
    }
    await expect(app.conversations.open(shopper.userId, id)).rejects.toMatchObject({ code: 'CONVERSATION_NOT_FOUND' });
  });

  it("answers 404 CONVERSATION_NOT_FOUND for an unknown, malformed or another shopper's id, and leaves the owner's alone", async () => {
    const owner = await guest(app);
    const other = await guest(app);
    const id = await conversationOf(app, owner.userId);
    for (const [who, which] of [
      [other.auth, id],
      [owner.auth, app.conversations.newId()],
      [owner.auth, 'x'.repeat(300)],
      [owner.auth, 'constructor'],
      [owner.auth, 'a b/c?'],
    ] as const) {
      for (const method of ['get', 'delete'] as const) {
        const res = await request(app.app)[method](path(which)).set('Authorization', who);
        expect(res.status, `${method} ${which}`).toBe(404);
        expect(res.body.error).toMatchObject({ code: 'CONVERSATION_NOT_FOUND', requestId: expect.any(String) });
      }
    }
    const still = await request(app.app).get(path(id)).set('Authorization', owner.auth);
    expect(still.status).toBe(200);
    expect(still.body.turns).toHaveLength(2);
  });

  it('answers 400 VALIDATION_FAILED for a path that is not valid percent-encoded UTF-8', async () => {
    const shopper = await guest(app);
    for (const method of ['get', 'delete'] as const) {
      const res = await request(app.app)[method]('/api/v1/conversations/%ED%A0%80').set('Authorization', shopper.auth);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('answers 404 for a conversation past CONVERSATION_TTL_SECONDS', async () => {
    const shopper = await guest(short);
    const id = await conversationOf(short, shopper.userId);
    expect((await request(short.app).get(path(id)).set('Authorization', shopper.auth)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    for (const method of ['get', 'delete'] as const) {
      const res = await request(short.app)[method](path(id)).set('Authorization', shopper.auth);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('CONVERSATION_NOT_FOUND');
    }
  });

  it('needs a shopper token (401 with WWW-Authenticate) and answers other methods 405', async () => {
    const shopper = await guest(app);
    const id = await conversationOf(app, shopper.userId);
    for (const method of ['get', 'delete'] as const) {
      const res = await request(app.app)[method](path(id));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    const post = await request(app.app).post(path(id)).set('Authorization', shopper.auth).send({});
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD, DELETE');
  });
});

describe('retention', () => {
  it('the cleanup deletes expired conversations from PostgreSQL', async () => {
    const adminKey = 'operator-key-0123456789abcdef';
    const app = await createTestApp({ ...common, ADMIN_API_KEY: adminKey, STORAGE_BACKEND: 'postgres', CACHE_BACKEND: 'memory', DATABASE_URL: testDb.url, CONVERSATION_TTL_SECONDS: '1' });
    try {
      const shopper = await guest(app);
      const id = app.conversations.newId();
      expect(await app.conversations.record(shopper.userId, id, turn(1))).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1300));
      const res = await request(app.app).post('/api/v1/admin/maintenance/cleanup').set('X-Admin-Key', adminKey).send({});
      expect(res.status).toBe(200);
      const line = app.logs.find((l) => l.event === 'cleanup');
      expect(line?.expiredConversationsDeleted).toBeGreaterThanOrEqual(1);
      const [rows] = await app.database!.sequelize.query('SELECT 1 FROM conversations WHERE conversation_id = $1', { bind: [id] });
      expect(rows).toHaveLength(0);
    } finally {
      await app.close();
    }
  });
});
