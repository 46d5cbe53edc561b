import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShopAssistClient } from '@shopassist/client';
import { CLIENT_SCHEMA_FILE, renderClientSchema } from '../../scripts/client-schema.js';
import { guestClient, serveApp, type ServedApp } from '../support/client-server.js';
import { dataOf, errorOf } from '../support/results.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { AUTH_SECRET, registeredToken, SESSION_SECRET } from '../support/tokens.js';

/**
 * The typed client over real HTTP against the whole app (PostgreSQL storage and cache): what a
 * shopper's page does, and the caller errors each surfacing as its typed result.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let testDb: TestDatabase;
let served: ServedApp;

beforeAll(async () => {
  testDb = await createTestDatabase();
  served = await serveApp({
    STORAGE_BACKEND: 'postgres',
    CACHE_BACKEND: 'postgres',
    DATABASE_URL: testDb.url,
    SESSION_SECRET,
    AUTH_JWT_SECRET: AUTH_SECRET,
    GUEST_CREDITS: '10',
    QUERY_COST: '1',
    CACHED_QUERY_COST: '0',
  });
});

afterAll(async () => {
  await served?.close();
  await testDb?.dispose();
});

describe('the typed client: its types', () => {
  it('are what openapi-typescript makes of the document the server publishes at GET /openapi.json', async () => {
    const res = await fetch(`${served.baseUrl}/openapi.json`);
    expect(res.status).toBe(200);
    const published = await renderClientSchema((await res.json()) as Parameters<typeof renderClientSchema>[0]);
    expect(published === (await readFile(CLIENT_SCHEMA_FILE, 'utf8')), 'the committed client types are stale: run `npm run client:generate`').toBe(true);
  });
});

describe('the typed client: a guest from first visit to a replayed answer', () => {
  it('starts a session, keeps the token, records consent, asks (MISS, then HIT), replays without paying and reads the credits', async () => {
    const stored: (string | undefined)[] = [];
    const client = served.client({ onTokenChange: (token) => stored.push(token) });
    expect(client.token).toBeUndefined();

    const session = await client.startGuestSession();
    expect(session.ok && session.status).toBe(201);
    const guest = dataOf(session);
    expect(guest).toMatchObject({ userId: expect.stringMatching(/^guest_/), isGuest: true });
    expect(client.token).toBe(guest.token);
    expect(stored).toEqual([guest.token]);

    // Before consent: none recorded, and questions are refused.
    expect(errorOf(await client.getConsent(), 'CONSENT_NOT_FOUND')).toMatchObject({ status: 404, requestId: expect.any(String) });
    expect(errorOf(await client.query({ query: 'trail running shoes' }), 'CONSENT_REQUIRED').status).toBe(403);

    const consent = dataOf(await client.recordConsent({ termsAccepted: true, marketingConsent: false }));
    expect(consent).toMatchObject({ userId: guest.userId, termsAccepted: true, marketingConsent: false });
    expect(dataOf(await client.getConsent())).toEqual(consent);

    // A page reloaded later builds its client from the stored token.
    const reloaded = createShopAssistClient({ baseUrl: served.baseUrl, token: stored.at(-1) });
    const question = { query: `waterproof hiking boots ${guest.userId}`, filters: { maxPrice: 400 }, limit: 3 };

    const first = await reloaded.query(question);
    expect(first.ok && first.status).toBe(200);
    const miss = dataOf(first);
    expect(miss).toMatchObject({ cache: 'MISS', replayed: false, cached: false, creditsCharged: 1, credits: { available: 9, max: 10 } });
    expect(miss.idempotencyKey).toMatch(UUID);
    expect(miss.products.length).toBeGreaterThan(0);
    expect(miss.products.every((p) => p.price <= 400)).toBe(true);
    // The shop's page and stock come through typed (the bundled sample has links, no pictures).
    for (const p of miss.products) {
      expect(p.inStock).toBe(true);
      expect(p.url).toMatch(/^https:\/\/shop\.example\.com\/products\//);
      expect(p.imageUrl).toBeUndefined();
    }

    const hit = dataOf(await reloaded.query({ ...question, query: question.query.toUpperCase() }));
    expect(hit).toMatchObject({ cache: 'HIT', replayed: false, cached: true, creditsCharged: 0, answer: miss.answer, credits: { available: 9 } });
    expect(hit.idempotencyKey).not.toBe(miss.idempotencyKey);

    // A retry of the first question with its key: the first answer again, charged nothing more.
    const replay = dataOf(await reloaded.query(question, { idempotencyKey: miss.idempotencyKey }));
    expect(replay).toMatchObject({ cache: 'MISS', replayed: true, cached: false, creditsCharged: 1, idempotencyKey: miss.idempotencyKey, credits: { available: 9 } });
    expect(replay.answer).toBe(miss.answer);
    expect(replay.products).toEqual(miss.products);

    const credits = await reloaded.getCredits();
    expect(credits.ok && credits.requestId).toMatch(UUID);
    expect(dataOf(credits)).toMatchObject({ userId: guest.userId, isGuest: true, available: 9, max: 10, resetsAt: miss.credits.resetsAt });

    const ledger = dataOf(await reloaded.listTransactions());
    expect(ledger.items.map((t) => [t.type, t.amount])).toEqual([
      ['debit', -1],
      ['grant', 10],
    ]);
    const page = dataOf(await reloaded.listTransactions({ limit: 1 }));
    expect(page.items).toHaveLength(1);
    expect(dataOf(await reloaded.listTransactions({ limit: 1, cursor: page.nextCursor! })).items[0].type).toBe('grant');
  });

  it('noCache skips the cache read: BYPASS, charged as a fresh answer', async () => {
    const client = await guestClient(served);
    const question = { query: 'camping stove for two' };
    dataOf(await client.query(question));
    const bypass = dataOf(await client.query(question, { noCache: true }));
    expect(bypass).toMatchObject({ cache: 'BYPASS', cached: false, creditsCharged: 1, credits: { available: 8 } });
  });

  it('setToken switches the caller and tells onTokenChange; clearing it makes calls UNAUTHENTICATED', async () => {
    const seen: (string | undefined)[] = [];
    const client = served.client({ onTokenChange: (token) => seen.push(token) });
    const token = dataOf(await served.client().startGuestSession()).token;
    client.setToken(token);
    expect(dataOf(await client.getCredits()).isGuest).toBe(true);
    client.setToken(token);
    client.setToken(token);
    client.setToken(undefined);
    expect(seen).toEqual([token, undefined]);
    expect(client.token).toBeUndefined();
    const error = errorOf(await client.getCredits(), 'UNAUTHENTICATED');
    expect(error).toMatchObject({ status: 401, message: expect.any(String), requestId: expect.stringMatching(UUID) });
  });

  it('an onTokenChange that throws (storage refused) still leaves the session usable', async () => {
    const client = served.client({
      onTokenChange: () => {
        throw new Error('QuotaExceededError');
      },
    });
    const session = dataOf(await client.startGuestSession());
    expect(client.token).toBe(session.token);
    expect(dataOf(await client.getCredits()).userId).toBe(session.userId);
  });
});

describe('the typed client: caller errors as typed results', () => {
  it('a registered token from the shop works as given; UNAUTHENTICATED for a malformed one and one signed with another secret', async () => {
    const registered = served.client({ token: await registeredToken('shopper-42') });
    expect(dataOf(await registered.getCredits())).toMatchObject({ userId: 'shopper-42', isGuest: false, available: 100, max: 100 });

    for (const token of ['not-a-token', await registeredToken('shopper-42', { secret: 'another-secret-of-at-least-32-bytes!!!!' })]) {
      const client = served.client({ token });
      const error = errorOf(await client.getCredits(), 'UNAUTHENTICATED');
      expect(error).toMatchObject({ status: 401, requestId: expect.stringMatching(UUID) });
      expect(error.message).not.toBe('');
      expect(errorOf(await client.query({ query: 'tent' }), 'UNAUTHENTICATED').status).toBe(401);
    }
  });

  it('VALIDATION_FAILED lists each issue with the path of its field', async () => {
    const client = await guestClient(served);
    const error = errorOf(await client.query({ query: '   ', filters: { minPrice: 50, maxPrice: 10 }, limit: 21 }), 'VALIDATION_FAILED');
    expect(error.status).toBe(400);
    const paths = error.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['query', 'limit']));
    expect(paths.some((p) => p.startsWith('filters'))).toBe(true);
    expect(error.issues.every((i) => i.message.length > 0)).toBe(true);

    const cursor = errorOf(await client.listTransactions({ cursor: 'not-a-cursor' }), 'VALIDATION_FAILED');
    expect(cursor.issues.map((i) => i.path)).toEqual(['cursor']);
  });

  it('PAYLOAD_TOO_LARGE (413) for a body over 16384 bytes, before anything is charged', async () => {
    const client = await guestClient(served);
    const error = errorOf(await client.query({ query: 'tent '.repeat(4000) }), 'PAYLOAD_TOO_LARGE');
    expect(error).toMatchObject({ status: 413, requestId: expect.stringMatching(UUID) });
    expect(error.message).toMatch(/16384/);
    expect(dataOf(await client.getCredits()).available).toBe(10);
  });

  it('NOT_FOUND (404) for a baseUrl that misses the API, e.g. an extra path prefix', async () => {
    const client = createShopAssistClient({ baseUrl: `${served.baseUrl}/shop` });
    for (const result of [await client.startGuestSession(), await client.getCredits()]) {
      expect(errorOf(result, 'NOT_FOUND')).toMatchObject({ status: 404, requestId: expect.stringMatching(UUID) });
    }
    expect(client.token).toBeUndefined();
  });

  it('IDEMPOTENCY_CONFLICT: the same key with another question', async () => {
    const client = await guestClient(served);
    const idempotencyKey = `order-${Date.now()}`;
    expect(dataOf(await client.query({ query: 'rain jacket' }, { idempotencyKey })).idempotencyKey).toBe(idempotencyKey);
    const error = errorOf(await client.query({ query: 'rain jacket', limit: 2 }, { idempotencyKey }), 'IDEMPOTENCY_CONFLICT');
    expect(error).toMatchObject({ status: 409, requestId: expect.stringMatching(UUID) });
    expect(dataOf(await client.getCredits()).available).toBe(9);
  });
});

describe('the typed client: a conversation', () => {
  it('asks a follow-up with conversationId, reads the thread, and forgets it', async () => {
    const client = await guestClient(served);
    const first = dataOf(await client.query({ query: 'waterproof hiking boots' }));
    expect(first.conversationReset).toBe(false);
    expect(first.resolvedQuery).toEqual({ query: 'waterproof hiking boots', filters: {} });
    const cheaper = dataOf(await client.query({ query: 'cheaper', conversationId: first.conversationId }));
    expect(cheaper.conversationId).toBe(first.conversationId);
    expect(cheaper.resolvedQuery.filters.maxPrice).toBeLessThan(Math.min(...first.products.map((p) => p.price)));

    const thread = dataOf(await client.getConversation(first.conversationId));
    expect(thread.turns.map((t) => t.query)).toEqual(['waterproof hiking boots', 'cheaper']);

    const forgotten = await client.deleteConversation(first.conversationId);
    expect(forgotten).toMatchObject({ ok: true, status: 204, data: null });
    expect(errorOf(await client.getConversation(first.conversationId), 'CONVERSATION_NOT_FOUND').status).toBe(404);
    expect(errorOf(await client.deleteConversation(first.conversationId), 'CONVERSATION_NOT_FOUND').status).toBe(404);
    expect(errorOf(await client.query({ query: 'cheaper', conversationId: first.conversationId }), 'CONVERSATION_NOT_FOUND').status).toBe(404);
  });
});

describe('the typed client: a streamed answer', () => {
  it('askStream() hands out the events as they arrive: meta, products, deltas that make up the answer, done', async () => {
    const client = await guestClient(served);
    const stream = dataOf(await client.askStream({ query: 'waterproof hiking boots', limit: 3 }));
    expect(stream).toMatchObject({ cache: expect.stringMatching(/^(MISS|HIT)$/), replayed: false, conversationReset: false, idempotencyKey: expect.stringMatching(UUID) });
    const events = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual(['meta', 'products', 'delta', 'done']);
    const [meta, products, delta, done] = events;
    expect(meta).toMatchObject({ type: 'meta', conversationId: expect.stringMatching(/^cv_/), resolvedQuery: { query: 'waterproof hiking boots', filters: {} } });
    expect(products?.type === 'products' && products.products.length).toBe(3);
    expect(delta?.type === 'delta' && done?.type === 'done' && delta.text === done.answer).toBe(true);

    // A follow-up, streamed; then a replay of it with the same key, whole.
    const conversationId = meta?.type === 'meta' ? meta.conversationId : '';
    const key = newIdempotencyKeyForTest();
    const followUp = dataOf(await client.askStream({ query: 'cheaper', conversationId }, { idempotencyKey: key }));
    const followUpEvents = [];
    for await (const event of followUp) followUpEvents.push(event);
    const replay = dataOf(await client.askStream({ query: 'cheaper', conversationId }, { idempotencyKey: key }));
    expect(replay.replayed).toBe(true);
    const replayEvents = [];
    for await (const event of replay) replayEvents.push(event);
    expect(replayEvents.slice(1)).toEqual(followUpEvents.slice(1));
  });

  it('resolves an error result for the errors before the charge, as query() does', async () => {
    const client = await guestClient(served);
    expect(errorOf(await client.askStream({ query: 'cheaper', conversationId: 'cv_unknown' }), 'CONVERSATION_NOT_FOUND').status).toBe(404);
    expect(errorOf(await client.askStream({ query: '' }), 'VALIDATION_FAILED').status).toBe(400);
    const offline = served.client({ token: 'x' });
    expect(errorOf(await createShopAssistClient({ baseUrl: 'http://127.0.0.1:9' }).askStream({ query: 'boots' }), 'NETWORK_ERROR').status).toBe(0);
    expect(errorOf(await offline.askStream({ query: 'boots' }), 'UNAUTHENTICATED').status).toBe(401);
  });

  it('stops reading when its signal fires', async () => {
    const client = await guestClient(served);
    const controller = new AbortController();
    const stream = dataOf(await client.askStream({ query: 'rain jacket' }, { signal: controller.signal }));
    const seen: string[] = [];
    for await (const event of stream) {
      seen.push(event.type);
      controller.abort();
    }
    expect(seen[0]).toBe('meta');
    expect(seen).not.toContain('error');
  });
});

function newIdempotencyKeyForTest(): string {
  return crypto.randomUUID();
}
