/**
 * The ShopAssist client: openapi-fetch over the generated `paths`, each call resolving a
 * `Result` (never rejecting). Runs wherever a global fetch does (browsers, Node 20+).
 */
import createClient from 'openapi-fetch';
import { errorFromResponse, networkError, unexpectedResponse } from './errors.js';
import type { paths } from './schema.js';
import { readAnswerEvents } from './stream.js';
import type { AnswerStream, CacheStatus, QueryResult, Result, ShopAssistClient, ShopAssistClientOptions, ShopAssistError } from './types.js';

type Fetch = (input: Request) => Promise<Response>;
type Sent<T> = { ok: true; data: T; response: Response } | { ok: false; error: ShopAssistError };

const CACHE_STATUSES: readonly string[] = ['HIT', 'MISS', 'BYPASS'] satisfies CacheStatus[];

/** A v4 UUID; crypto.randomUUID needs a secure context (https or localhost), getRandomValues does not. */
export function newIdempotencyKey(): string {
  if (typeof globalThis.crypto?.randomUUID === 'function') return globalThis.crypto.randomUUID();
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const ok = <T>(response: Response, data: T): Result<T> => ({ ok: true, data, status: response.status, requestId: response.headers.get('X-Request-Id') ?? '' });

export function createShopAssistClient(options: ShopAssistClientOptions): ShopAssistClient {
  let token = options.token || undefined;
  // Looked up per call, and never called as a method (browsers refuse an unbound window.fetch).
  const userFetch = options.fetch;
  const baseFetch: Fetch = (request) => (userFetch ?? globalThis.fetch)(request);
  // JSON answers only: a streamed answer (text/event-stream) is read by its own method.
  const api = createClient<paths, 'application/json'>({ baseUrl: options.baseUrl, fetch: baseFetch });

  const auth = (): Record<string, string> => (token ? { Authorization: `Bearer ${token}` } : {});

  /** Runs one openapi-fetch call and maps its outcome; a body that is not JSON is told apart from no response. */
  async function send<T>(perform: (fetch: Fetch) => Promise<{ data?: T; error?: unknown; response: Response }>): Promise<Sent<T>> {
    let response: Response | undefined;
    const tracked: Fetch = async (request) => (response = await baseFetch(request));
    try {
      const sent = await perform(tracked);
      if (!sent.response.ok) return { ok: false, error: errorFromResponse(sent.response, sent.error) };
      if (typeof sent.data !== 'object' || sent.data === null) {
        return { ok: false, error: unexpectedResponse(sent.response, `The server answered HTTP ${sent.response.status} without a JSON body.`) };
      }
      return { ok: true, data: sent.data, response: sent.response };
    } catch (cause) {
      if (response && cause instanceof SyntaxError) {
        return { ok: false, error: unexpectedResponse(response, `The server answered HTTP ${response.status} with a body that is not JSON.`) };
      }
      return { ok: false, error: networkError(cause) };
    }
  }

  const setToken = (next: string | undefined) => {
    const value = next || undefined;
    if (value === token) return;
    token = value;
    try {
      options.onTokenChange?.(value);
    } catch {
      // Persisting is best effort (localStorage may refuse, e.g. in private browsing): the token is kept here.
    }
  };

  return {
    get token() {
      return token;
    },
    setToken,

    async startGuestSession() {
      const sent = await send((fetch) => api.POST('/api/v1/sessions/guest', { fetch }));
      if (!sent.ok) return sent;
      setToken(sent.data.token);
      return ok(sent.response, sent.data);
    },

    async getCredits() {
      const sent = await send((fetch) => api.GET('/api/v1/credits', { fetch, headers: auth() }));
      return sent.ok ? ok(sent.response, sent.data) : sent;
    },

    async listTransactions(params = {}) {
      const sent = await send((fetch) => api.GET('/api/v1/credits/transactions', { fetch, headers: auth(), params: { query: params } }));
      return sent.ok ? ok(sent.response, sent.data) : sent;
    },

    async getConsent() {
      const sent = await send((fetch) => api.GET('/api/v1/consent', { fetch, headers: auth() }));
      return sent.ok ? ok(sent.response, sent.data) : sent;
    },

    async recordConsent(body) {
      const sent = await send((fetch) => api.PUT('/api/v1/consent', { fetch, headers: auth(), body }));
      return sent.ok ? ok(sent.response, sent.data) : sent;
    },

    async query(body, { idempotencyKey = newIdempotencyKey(), noCache = false } = {}) {
      const header = { 'Idempotency-Key': idempotencyKey, ...(noCache ? { 'Cache-Control': 'no-cache' } : {}) };
      const sent = await send((fetch) => api.POST('/api/v1/assistant/query', { fetch, headers: auth(), params: { header }, body }));
      if (!sent.ok) return sent;
      const xCache = sent.response.headers.get('X-Cache') ?? '';
      // Without the header (a cross-origin page the API does not expose it to) `cached` still tells HIT from MISS.
      const cache = (CACHE_STATUSES.includes(xCache) ? xCache : sent.data.cached ? 'HIT' : 'MISS') as CacheStatus;
      const replayed = sent.response.headers.get('Idempotent-Replayed') === 'true';
      const conversationReset = sent.response.headers.get('X-Conversation') === 'reset';
      return ok<QueryResult>(sent.response, { ...sent.data, cache, replayed, idempotencyKey, conversationReset });
    },

    async askStream(body, { idempotencyKey = newIdempotencyKey(), noCache = false, signal } = {}) {
      const headers: Record<string, string> = {
        ...auth(),
        'Content-Type': 'application/json',
        Accept: 'text/event-stream',
        'Idempotency-Key': idempotencyKey,
        ...(noCache ? { 'Cache-Control': 'no-cache' } : {}),
      };
      let response: Response;
      try {
        response = await baseFetch(new Request(`${options.baseUrl.replace(/\/+$/, '')}/api/v1/assistant/query`, { method: 'POST', headers, body: JSON.stringify(body), signal }));
      } catch (cause) {
        return { ok: false, error: networkError(cause) };
      }
      if (!response.ok || !response.body || !(response.headers.get('Content-Type') ?? '').startsWith('text/event-stream')) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(await response.text());
        } catch {
          parsed = undefined;
        }
        if (response.ok) return { ok: false, error: unexpectedResponse(response, `The server answered HTTP ${response.status} without an event stream.`) };
        return { ok: false, error: errorFromResponse(response, parsed) };
      }
      const xCache = response.headers.get('X-Cache') ?? '';
      const stream = response.body;
      const events: AnswerStream = {
        cache: (CACHE_STATUSES.includes(xCache) ? xCache : 'MISS') as CacheStatus,
        replayed: response.headers.get('Idempotent-Replayed') === 'true',
        conversationReset: response.headers.get('X-Conversation') === 'reset',
        idempotencyKey,
        [Symbol.asyncIterator]: () => readAnswerEvents(stream, signal),
      };
      return ok(response, events);
    },

    async getConversation(conversationId) {
      const params = { path: { conversationId } };
      const sent = await send((fetch) => api.GET('/api/v1/conversations/{conversationId}', { fetch, headers: auth(), params }));
      return sent.ok ? ok(sent.response, sent.data) : sent;
    },

    async deleteConversation(conversationId) {
      const params = { path: { conversationId } };
      // 204 has no body: only the status is read.
      try {
        const { response, error } = await api.DELETE('/api/v1/conversations/{conversationId}', { fetch: baseFetch, headers: auth(), params });
        if (!response.ok) return { ok: false, error: errorFromResponse(response, error) };
        return ok(response, null);
      } catch (cause) {
        return { ok: false, error: networkError(cause) };
      }
    },
  };
}
