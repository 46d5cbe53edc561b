import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createShopAssistClient } from '@shopassist/client';
import { guestClient, serveApp, type ServedApp } from '../support/client-server.js';
import { dataOf, errorOf } from '../support/results.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { providerEnv, startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { closeCutSuite, eventually } from '../support/outage.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { SESSION_SECRET } from '../support/tokens.js';

/**
 * Failures behind the API, as the typed client reports them: the chat model failing, timing out,
 * slow or shut off by its breaker (the charge refunded each time), the database out of reach,
 * and something other than the API answering in front of it.
 */
const common = { SESSION_SECRET, GUEST_CREDITS: '10', QUERY_COST: '1', CACHED_QUERY_COST: '0', QUERY_RATE_LIMIT_PER_MINUTE: '0' };

/** An app on memory storage whose assistant is the chat model at `openai`. */
const withModel = (openai: FakeOpenAi, extra: Record<string, string> = {}) => ({
  ...common,
  STORAGE_BACKEND: 'memory',
  CACHE_BACKEND: 'memory',
  ...providerEnv(openai),
  ...extra,
});

describe('the typed client when the chat model fails', () => {
  let openai: FakeOpenAi;
  let served: ServedApp;

  beforeAll(async () => {
    openai = await startFakeOpenAi();
    served = await serveApp(withModel(openai, { ASSISTANT_TIMEOUT_MS: '300' }));
  });
  afterEach(() => {
    openai.mode = { kind: 'answer' };
  });
  afterAll(async () => {
    await served?.close();
    await openai?.close();
  });

  it('answers through the model while it works', async () => {
    const client = await guestClient(served);
    expect(dataOf(await client.query({ query: 'espresso machine' }))).toMatchObject({ cache: 'MISS', creditsCharged: 1, credits: { available: 9 } });
  });

  it('UPSTREAM_ERROR (502) when the model fails; the charge is refunded', async () => {
    const client = await guestClient(served);
    openai.mode = { kind: 'fail' };
    const calls = openai.calls;
    const error = errorOf(await client.query({ query: `rain jacket ${randomUUID()}` }), 'UPSTREAM_ERROR');
    expect(openai.calls).toBe(calls + 1);
    expect(error).toMatchObject({ status: 502, requestId: expect.any(String) });
    expect(error.message).not.toMatch(/overloaded|127\.0\.0\.1/);
    expect(dataOf(await client.getCredits()).available).toBe(10);
  });

  it('UPSTREAM_TIMEOUT (504) when the model does not answer within ASSISTANT_TIMEOUT_MS; the charge is refunded', async () => {
    const client = await guestClient(served);
    openai.mode = { kind: 'hang' };
    const calls = openai.calls;
    const error = errorOf(await client.query({ query: `hiking boots ${randomUUID()}` }), 'UPSTREAM_TIMEOUT');
    expect(openai.calls).toBe(calls + 1);
    expect(error).toMatchObject({ status: 504, requestId: expect.any(String) });
    expect(dataOf(await client.getCredits()).available).toBe(10);
  });
});

describe('the typed client when the chat model keeps failing', () => {
  let openai: FakeOpenAi;
  let served: ServedApp;

  beforeAll(async () => {
    openai = await startFakeOpenAi();
    openai.mode = { kind: 'fail' };
    served = await serveApp(withModel(openai));
  });
  afterAll(async () => {
    await served?.close();
    await openai?.close();
  });

  it('SERVICE_UNAVAILABLE (503) with retryAfterSeconds once its breaker opens, without calling the model', async () => {
    const client = await guestClient(served);
    const codes: string[] = [];
    for (let i = 0; i < 10 && codes.at(-1) !== 'SERVICE_UNAVAILABLE'; i++) {
      const result = await client.query({ query: `kettle ${i}` });
      codes.push(result.ok ? 'ok' : result.error.code);
    }
    expect(codes.at(-1)).toBe('SERVICE_UNAVAILABLE');
    expect(new Set(codes.slice(0, -1))).toEqual(new Set(['UPSTREAM_ERROR']));

    const calls = openai.calls;
    const error = errorOf(await client.query({ query: 'kettle again' }), 'SERVICE_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(10);
    expect(openai.calls).toBe(calls);
    expect(dataOf(await client.getCredits()).available).toBe(10);
  });
});

describe('the typed client when the database is out of reach', () => {
  let testDb: TestDatabase;
  let proxy: TcpProxy;
  let served: ServedApp;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    proxy = await TcpProxy.forUrl(testDb.url).start();
    served = await serveApp({ ...common, STORAGE_BACKEND: 'postgres', CACHE_BACKEND: 'memory', DATABASE_URL: proxy.rewrite(testDb.url) });
  });
  afterEach(() => proxy?.setMode('pass'));
  afterAll(() => closeCutSuite(proxy, [served], testDb));

  it('SERVICE_UNAVAILABLE (503) with retryAfterSeconds while it is refused, answers again once it is back', async () => {
    const client = await guestClient(served);
    proxy.setMode('refuse');
    for (const result of [await client.getCredits(), await client.query({ query: 'hammock' })]) {
      const error = errorOf(result, 'SERVICE_UNAVAILABLE');
      expect(error).toMatchObject({ status: 503, requestId: expect.any(String) });
      expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(error.message).not.toMatch(/postgres|ECONN|SELECT/);
    }
    proxy.setMode('pass');
    const credits = await eventually('credits answer again', () => client.getCredits(), (r) => r.ok);
    expect(dataOf(credits).available).toBe(10);
  });
});

describe('the typed client while the same question is still being answered', () => {
  let openai: FakeOpenAi;
  let served: ServedApp;

  beforeAll(async () => {
    openai = await startFakeOpenAi();
    // Slower than the 5 s a retry waits for the first attempt, well within the assistant timeout.
    openai.mode = { kind: 'slow', delayMs: 6500 };
    served = await serveApp(withModel(openai, { ASSISTANT_TIMEOUT_MS: '15000' }));
  });
  afterAll(async () => {
    await served?.close();
    await openai?.close();
  });

  it('IDEMPOTENCY_IN_PROGRESS (409) for a retry with the same key while the first attempt runs; a later retry replays it, charged once', async () => {
    const client = await guestClient(served);
    const question = { query: `tent for two ${randomUUID()}` };
    const idempotencyKey = randomUUID();
    const first = client.query(question, { idempotencyKey });
    await eventually('the first attempt reaches the model', async () => openai.calls, (calls) => calls === 1);

    const error = errorOf(await client.query(question, { idempotencyKey }), 'IDEMPOTENCY_IN_PROGRESS');
    expect(error).toMatchObject({ status: 409, requestId: expect.any(String) });
    expect(error.message).not.toBe('');

    const answered = dataOf(await first);
    expect(answered).toMatchObject({ replayed: false, creditsCharged: 1, credits: { available: 9 } });
    const replay = dataOf(await client.query(question, { idempotencyKey }));
    expect(replay).toMatchObject({ replayed: true, answer: answered.answer, creditsCharged: 1, credits: { available: 9 } });
    expect(openai.calls).toBe(1);
  }, 30_000);
});

describe('the typed client when something other than the API answers', () => {
  let server: Server;
  let baseUrl: string;
  let answer = { status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' };

  beforeAll(async () => {
    // What a proxy or a web server in front of the API (or a baseUrl that points at a website) sends.
    server = createServer((_req, res) => res.writeHead(answer.status, { 'Content-Type': 'text/html', 'X-Request-Id': 'edge-1' }).end(answer.body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('UNEXPECTED_RESPONSE for an HTML error page and for an HTML 200, keeping the status and X-Request-Id; the token is kept', async () => {
    const client = createShopAssistClient({ baseUrl, token: 'kept' });
    const failed = errorOf(await client.query({ query: 'tent' }), 'UNEXPECTED_RESPONSE');
    expect(failed).toMatchObject({ status: 502, requestId: 'edge-1' });
    expect(failed.message).toMatch(/HTTP 502/);

    answer = { status: 200, body: '<!doctype html><title>Shop</title>' };
    for (const result of [await client.getCredits(), await client.startGuestSession()]) {
      const error = errorOf(result, 'UNEXPECTED_RESPONSE');
      expect(error).toMatchObject({ status: 200, requestId: 'edge-1' });
      expect(error.message).toMatch(/not JSON/);
    }
    expect(client.token).toBe('kept');
  });
});
