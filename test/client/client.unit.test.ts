import { webcrypto } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createShopAssistClient, isShopAssistError, newIdempotencyKey, parseRetryAfter, type ShopAssistClient } from '@shopassist/client';
import { dataOf, errorOf } from '../support/results.js';

/**
 * The client's request shaping and response mapping against a scripted fetch: what it sends, and
 * how answers outside the happy path (a proxy's HTML page, missing headers, unknown codes, a
 * throwing fetch) still become typed results.
 */
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function scripted(answer: (request: Request) => Response | Promise<Response>) {
  const seen: Request[] = [];
  const fetch = vi.fn(async (input: unknown) => {
    const request = input as Request;
    seen.push(request.clone());
    return answer(request);
  });
  return { seen, fetch: fetch as unknown as typeof globalThis.fetch };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'req-1', ...headers } });
const envelope = (code: string, details?: unknown) => ({ error: { code, message: `${code} happened`, ...(details ? { details } : {}), requestId: 'req-1' } });
const answer = { answer: 'Two tents fit.', products: [], cached: false, creditsCharged: 1, credits: { available: 4, max: 5, resetsAt: '2030-01-01T00:00:00.000Z' } };

function client(fetch: typeof globalThis.fetch, baseUrl = 'https://shop.example/'): ShopAssistClient {
  return createShopAssistClient({ baseUrl, token: 't0k3n', fetch });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('what the client sends', () => {
  it('the bearer token, a JSON body, a fresh Idempotency-Key per question and Cache-Control: no-cache when asked', async () => {
    const { seen, fetch } = scripted(() => json(200, answer, { 'X-Cache': 'MISS' }));
    const c = client(fetch);
    const first = dataOf(await c.query({ query: 'tent', filters: { maxPrice: 200 } }));
    const second = dataOf(await c.query({ query: 'tent' }, { noCache: true, idempotencyKey: 'mine-1' }));

    expect(seen.map((r) => [r.method, r.url])).toEqual([
      ['POST', 'https://shop.example/api/v1/assistant/query'],
      ['POST', 'https://shop.example/api/v1/assistant/query'],
    ]);
    expect(seen[0].headers.get('Authorization')).toBe('Bearer t0k3n');
    expect(seen[0].headers.get('Content-Type')).toBe('application/json');
    expect(await seen[0].json()).toEqual({ query: 'tent', filters: { maxPrice: 200 } });
    expect(seen[0].headers.get('Idempotency-Key')).toBe(first.idempotencyKey);
    expect(first.idempotencyKey).toMatch(UUID_V4);
    expect(seen[0].headers.get('Cache-Control')).toBeNull();
    expect(seen[1].headers.get('Idempotency-Key')).toBe('mine-1');
    expect(seen[1].headers.get('Cache-Control')).toBe('no-cache');
    expect(second.idempotencyKey).toBe('mine-1');
  });

  it('no Authorization without a token (the guest session route needs none), and query strings for pages', async () => {
    const { seen, fetch } = scripted((r) =>
      r.url.includes('sessions') ? json(201, { userId: 'guest_1', token: 'new', expiresAt: '2030-01-01T00:00:00.000Z', isGuest: true }) : json(200, { items: [], nextCursor: null }),
    );
    const c = createShopAssistClient({ baseUrl: 'https://shop.example', fetch });
    dataOf(await c.startGuestSession());
    dataOf(await c.listTransactions({ limit: 5, cursor: 'abc' }));
    expect(seen[0].headers.get('Authorization')).toBeNull();
    expect(seen[1].url).toBe('https://shop.example/api/v1/credits/transactions?limit=5&cursor=abc');
    expect(seen[1].headers.get('Authorization')).toBe('Bearer new');
  });

  it('builds a v4 Idempotency-Key without crypto.randomUUID (pages served over plain http)', () => {
    vi.stubGlobal('crypto', { getRandomValues: (a: Uint8Array) => webcrypto.getRandomValues(a) });
    const keys = new Set(Array.from({ length: 50 }, () => newIdempotencyKey()));
    expect(keys.size).toBe(50);
    for (const key of keys) expect(key).toMatch(UUID_V4);
  });
});

describe('answers and their headers', () => {
  it('cache, replayed, status and requestId come from the response', async () => {
    const { fetch } = scripted(() => json(200, { ...answer, cached: true, creditsCharged: 0 }, { 'X-Cache': 'HIT', 'Idempotent-Replayed': 'true' }));
    const result = await client(fetch).query({ query: 'tent' });
    expect(result).toMatchObject({ ok: true, status: 200, requestId: 'req-1', data: { cache: 'HIT', replayed: true, cached: true } });
  });

  it('without X-Cache (a cross-origin page it is not exposed to) `cached` still tells HIT from MISS', async () => {
    const { fetch } = scripted(() => new Response(JSON.stringify({ ...answer, cached: true }), { status: 200 }));
    expect(dataOf(await client(fetch).query({ query: 'tent' }))).toMatchObject({ cache: 'HIT', replayed: false });
  });
});

describe('errors as typed results', () => {
  it('INSUFFICIENT_CREDITS takes Retry-After, or counts to resetsAt when the header is not readable', async () => {
    const resetsAt = new Date(Date.now() + 90_000).toISOString();
    const details = { available: 0, required: 1, resetsAt };
    const withHeader = scripted(() => json(402, envelope('INSUFFICIENT_CREDITS', details), { 'Retry-After': '88' }));
    expect(errorOf(await client(withHeader.fetch).query({ query: 'x' }), 'INSUFFICIENT_CREDITS')).toEqual({
      code: 'INSUFFICIENT_CREDITS',
      status: 402,
      message: 'INSUFFICIENT_CREDITS happened',
      requestId: 'req-1',
      ...details,
      retryAfterSeconds: 88,
    });
    const withoutHeader = scripted(() => json(402, envelope('INSUFFICIENT_CREDITS', details)));
    const error = errorOf(await client(withoutHeader.fetch).query({ query: 'x' }), 'INSUFFICIENT_CREDITS');
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(89);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(90);
  });

  it('RATE_LIMITED and SERVICE_UNAVAILABLE read Retry-After (seconds or an HTTP date), at least 1', async () => {
    const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
    const limited = scripted(() => json(429, envelope('RATE_LIMITED'), { 'Retry-After': inTwoMinutes }));
    expect(errorOf(await client(limited.fetch).getCredits(), 'RATE_LIMITED').retryAfterSeconds).toBeGreaterThanOrEqual(119);
    const down = scripted(() => json(503, envelope('SERVICE_UNAVAILABLE')));
    expect(errorOf(await client(down.fetch).getCredits(), 'SERVICE_UNAVAILABLE')).toMatchObject({ status: 503, retryAfterSeconds: 1 });
  });

  it('VALIDATION_FAILED keeps each issue; other codes keep status, message and requestId', async () => {
    const invalid = scripted(() => json(400, envelope('VALIDATION_FAILED', [{ path: 'limit', message: 'an integer from 1 to 20' }])));
    expect(errorOf(await client(invalid.fetch).query({ query: 'x', limit: 99 }), 'VALIDATION_FAILED').issues).toEqual([{ path: 'limit', message: 'an integer from 1 to 20' }]);
    const busy = scripted(() => json(409, envelope('IDEMPOTENCY_IN_PROGRESS'), { 'Retry-After': '1' }));
    expect(errorOf(await client(busy.fetch).query({ query: 'x' }), 'IDEMPOTENCY_IN_PROGRESS')).toEqual({
      code: 'IDEMPOTENCY_IN_PROGRESS',
      status: 409,
      message: 'IDEMPOTENCY_IN_PROGRESS happened',
      requestId: 'req-1',
    });
  });

  it('UNEXPECTED_RESPONSE for a proxy error page, a 200 that is not JSON, an empty 200 and an unknown code', async () => {
    const cases: [string, () => Response][] = [
      ['html 502', () => new Response('<html>Bad gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } })],
      ['html 200', () => new Response('<!doctype html><p>shop</p>', { status: 200, headers: { 'Content-Type': 'text/html', 'Content-Length': '26' } })],
      ['empty 200', () => new Response('', { status: 200 })],
      ['unknown code', () => json(418, envelope('TEAPOT'))],
    ];
    for (const [name, make] of cases) {
      const { fetch } = scripted(make);
      const result = await client(fetch).getCredits();
      const error = errorOf(result, 'UNEXPECTED_RESPONSE');
      expect(error.status, name).toBe(make().status);
      expect(error.message, name).toMatch(/HTTP \d{3}/);
    }
  });

  it('NETWORK_ERROR, never a throw, for a fetch that rejects or throws, and for a relative baseUrl outside a browser', async () => {
    const offline = new TypeError('Failed to fetch');
    const rejecting = client(async () => Promise.reject(offline));
    expect(errorOf(await rejecting.getCredits(), 'NETWORK_ERROR')).toEqual({
      code: 'NETWORK_ERROR',
      status: 0,
      message: 'The ShopAssist API could not be reached (Failed to fetch).',
      requestId: undefined,
      cause: offline,
    });
    const throwing = client(() => {
      throw 'no network';
    });
    expect(errorOf(await throwing.query({ query: 'x' }), 'NETWORK_ERROR').cause).toBe('no network');
    const relative = createShopAssistClient({ baseUrl: '' });
    expect(errorOf(await relative.getCredits(), 'NETWORK_ERROR').cause).toBeInstanceOf(TypeError);
  });
});

describe('helpers', () => {
  it('parseRetryAfter reads delta-seconds and HTTP dates, and nothing else', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfter('17', now)).toBe(17);
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Mon, 31 Dec 2029 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('isShopAssistError tells the client errors from anything else', async () => {
    const { fetch } = scripted(() => json(403, envelope('CONSENT_REQUIRED')));
    const result = await client(fetch).query({ query: 'x' });
    expect(isShopAssistError(!result.ok && result.error)).toBe(true);
    expect(isShopAssistError(new Error('x'))).toBe(false);
    expect(isShopAssistError({ code: 'TEAPOT', status: 418, message: 'x' })).toBe(false);
  });
});
