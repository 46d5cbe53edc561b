import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShopAssistClient } from '@shopassist/client';
import { guestClient, serveApp, type ServedApp } from '../support/client-server.js';
import { dataOf, errorOf } from '../support/results.js';
import { SESSION_SECRET } from '../support/tokens.js';

/**
 * The limits a shopper meets, through the typed client over real HTTP: out of credits (with the
 * reset time), too many questions, too many guest sessions, and a server that is not there.
 */
describe('the typed client at the limits', () => {
  let served: ServedApp;

  beforeAll(async () => {
    served = await serveApp({
      STORAGE_BACKEND: 'memory',
      CACHE_BACKEND: 'memory',
      SESSION_SECRET,
      GUEST_CREDITS: '2',
      CREDIT_RESET_PERIOD_HOURS: '0.5',
      QUERY_COST: '1',
      CACHED_QUERY_COST: '0',
      QUERY_RATE_LIMIT_PER_MINUTE: '5',
    });
  });
  afterAll(() => served?.close());

  it('INSUFFICIENT_CREDITS: the balance, the cost and the reset time, with retryAfterSeconds counting down to it', async () => {
    const client = await guestClient(served);
    const spent = dataOf(await client.query({ query: 'headlamp' }));
    dataOf(await client.query({ query: 'sleeping bag' }));

    const before = Date.now();
    const result = await client.query({ query: 'trekking poles' });
    const after = Date.now();
    const error = errorOf(result, 'INSUFFICIENT_CREDITS');
    expect(error).toMatchObject({ status: 402, available: 0, required: 1, resetsAt: spent.credits.resetsAt, requestId: expect.any(String) });
    expect(error.message).not.toBe('');
    // Retry-After is the whole seconds from the server's now to the reset (30 minutes from the first use).
    const resetsAt = Date.parse(error.resetsAt);
    expect(resetsAt - before).toBeLessThanOrEqual(30 * 60_000);
    expect(error.retryAfterSeconds * 1000).toBeGreaterThanOrEqual(resetsAt - after);
    expect(error.retryAfterSeconds * 1000).toBeLessThan(resetsAt - before + 1000);
    expect(dataOf(await client.getCredits())).toMatchObject({ available: 0, resetsAt: error.resetsAt });

    // At zero, a cached answer (free) and a replay (already paid) still come through.
    expect(dataOf(await client.query({ query: 'headlamp' }))).toMatchObject({ cache: 'HIT', creditsCharged: 0, credits: { available: 0 } });
    expect(dataOf(await client.query({ query: 'headlamp' }, { idempotencyKey: spent.idempotencyKey }))).toMatchObject({ replayed: true, creditsCharged: 1 });
  });

  it('RATE_LIMITED past QUERY_RATE_LIMIT_PER_MINUTE, with retryAfterSeconds within the minute', async () => {
    const client = await guestClient(served);
    for (let i = 0; i < 5; i++) dataOf(await client.query({ query: 'water bottle' }));
    const error = errorOf(await client.query({ query: 'water bottle' }), 'RATE_LIMITED');
    expect(error).toMatchObject({ status: 429, requestId: expect.any(String) });
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(60);
  });
});

describe('the typed client and guest sessions per address', () => {
  let served: ServedApp;

  beforeAll(async () => {
    served = await serveApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', SESSION_SECRET, GUEST_SESSIONS_PER_IP_PER_HOUR: '1' });
  });
  afterAll(() => served?.close());

  it('RATE_LIMITED past GUEST_SESSIONS_PER_IP_PER_HOUR: retryAfterSeconds within the hour, and the kept token stays', async () => {
    const stored: (string | undefined)[] = [];
    const client = served.client({ onTokenChange: (token) => stored.push(token) });
    const first = dataOf(await client.startGuestSession());
    const error = errorOf(await client.startGuestSession(), 'RATE_LIMITED');
    expect(error.status).toBe(429);
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(3600);
    expect(client.token).toBe(first.token);
    expect(stored).toEqual([first.token]);
  });
});

describe('the typed client with no server', () => {
  it('NETWORK_ERROR (status 0, the cause kept) for a closed port: every call resolves, none throws', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const client = createShopAssistClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'kept' });
    const results = await Promise.all([
      client.startGuestSession(),
      client.getCredits(),
      client.listTransactions({ limit: 5 }),
      client.getConsent(),
      client.recordConsent({ termsAccepted: true, marketingConsent: true }),
      client.query({ query: 'tent' }),
    ]);
    for (const result of results) {
      const error = errorOf(result, 'NETWORK_ERROR');
      expect(error).toMatchObject({ status: 0, requestId: undefined });
      expect(error.cause).toBeInstanceOf(Error);
      expect(error.message).toMatch(/could not be reached.*ECONNREFUSED/);
    }
    expect(client.token).toBe('kept');
  });
});
