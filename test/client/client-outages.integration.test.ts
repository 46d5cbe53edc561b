import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { guestClient, serveApp, type ServedApp } from '../support/client-server.js';
import { dataOf, errorOf } from '../support/results.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { eventually } from '../support/outage.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { SESSION_SECRET } from '../support/tokens.js';

/**
 * Failures behind the API, as the typed client reports them: the chat model failing, timing out
 * or shut off by its breaker (the charge refunded each time), and the database out of reach.
 */
const common = { SESSION_SECRET, GUEST_CREDITS: '10', QUERY_COST: '1', CACHED_QUERY_COST: '0', QUERY_RATE_LIMIT_PER_MINUTE: '0' };

describe('the typed client when the chat model fails', () => {
  let openai: FakeOpenAi;
  let served: ServedApp;

  beforeAll(async () => {
    openai = await startFakeOpenAi();
    served = await serveApp({
      ...common,
      STORAGE_BACKEND: 'memory',
      CACHE_BACKEND: 'memory',
      ASSISTANT_PROVIDER: 'openai',
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_MODEL: 'test-model',
      ASSISTANT_TIMEOUT_MS: '300',
    });
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
    served = await serveApp({
      ...common,
      STORAGE_BACKEND: 'memory',
      CACHE_BACKEND: 'memory',
      ASSISTANT_PROVIDER: 'openai',
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_MODEL: 'test-model',
    });
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
  afterAll(async () => {
    proxy?.setMode('pass');
    await served?.close();
    await proxy?.stop();
    await testDb?.dispose();
  });

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
