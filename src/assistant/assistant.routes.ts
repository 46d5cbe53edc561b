import { createHmac } from 'node:crypto';
import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { normalizeText } from '../cache/cache-key.js';
import { balanceHeaders } from '../credits/credit.headers.js';
import { jsonBody } from '../http/json-body.js';
import { sendJsonText } from '../http/json-text.js';
import { named } from '../http/openapi-components.js';
import { BALANCE, BODY_ERRORS, EXAMPLE_RESETS_AT, errors, json } from '../http/openapi-responses.js';
import { defineRoutes, type RouteGuards } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { callerOf } from '../identity/caller.js';
import type { Logger } from '../platform/logger.js';
import type { AssistantService, QueryOutcome } from './assistant.service.js';
import { AnswerStream, wantsEventStream } from './assistant.stream.js';
import { idempotencyHeaders, idempotencyKeyHeader, queryBody, queryResponse, type QueryResponse } from './assistant.schemas.js';
import { queryResultJson } from './query-response-json.js';

const NO_CACHE = /(^|[\s,])no-cache($|[\s,;=])/i;

/**
 * For the request log: an HMAC of the normalised question (16 hex digits), never its text. Keyed
 * by a secret from config, so a reader of the logs cannot confirm a guess by hashing it.
 */
export function queryHash(query: string, key: string): string {
  return createHmac('sha256', key).update(normalizeText(query)).digest('hex').slice(0, 16);
}

const queryHeaders = z.object({
  'Idempotency-Key': idempotencyKeyHeader.meta({
    description:
      'A retry with the same key and body within 24 h replays the first answer and charges nothing more. ' +
      'At most IDEMPOTENCY_MAX_KEYS_PER_USER (default 1000) keys are kept per user: past it the oldest answered ones ' +
      'are forgotten first (a forgotten key is like a new one); a key still running is never forgotten.',
    example: 'b3c1e8a2-1d4f-4a7e-9a0c-5f2e7d9b6c31',
  }),
  'Cache-Control': z
    .string()
    .optional()
    .openapi({ param: { description: '`no-cache` skips the cache read (the fresh answer is still written to the cache).' }, example: 'no-cache' }),
});


const queryExample = {
  answer: 'The Trailmaster GTX is waterproof and within budget.',
  products: [
    { id: 'p-1042', name: 'Trailmaster GTX', brand: 'Northpeak', category: 'shoes', price: 89.99, currency: 'USD', score: 0.87, url: 'https://shop.example/p/1042', imageUrl: 'https://shop.example/img/1042.jpg', inStock: true },
  ],
  cached: false,
  creditsCharged: 1,
  credits: { available: 9, max: 10, resetsAt: EXAMPLE_RESETS_AT },
  conversationId: 'cv_3q2mJ8kP0sX1vYtR9wLz4A',
  resolvedQuery: { query: 'waterproof hiking boots', filters: { category: 'shoes', maxPrice: 150 } },
};


const EVENT_STREAM_TEXT = [
  'Sent with `Accept: text/event-stream`, once every check up to and including the charge has passed (errors before that stay JSON with their statuses).',
  'Events, in order: `meta` {cached, creditsCharged, credits, conversationId, resolvedQuery}; `products` {products}; one or more `delta` {text},',
  'whose texts concatenate to the answer; then `done` {answer}. Or, in place of what is left, `error` {code, message}: the assistant failed and the charge',
  'was refunded before the event was sent. A client that goes away does not stop the answer: it is completed and recorded, and a retry with the same',
  'Idempotency-Key replays it (as JSON or as a stream, as asked). Credits, cache, idempotency and rate limits are exactly as for JSON.',
].join(' ');

const EVENT_STREAM_EXAMPLE = [
  'event: meta',
  `data: ${JSON.stringify({ cached: false, creditsCharged: 1, credits: { available: 9, max: 10, resetsAt: '2026-01-02T09:00:00.000Z' }, conversationId: 'cv_3q2mJ8kP0sX1vYtR9wLz4A', resolvedQuery: { query: 'waterproof hiking boots', filters: {} } })}`,
  '',
  'event: products',
  `data: ${JSON.stringify({ products: [{ id: 'p-1042', name: 'Trailmaster GTX', brand: 'Northpeak', category: 'shoes', price: 89.99, currency: 'USD', score: 0.87 }] })}`,
  '',
  'event: delta',
  'data: {"text":"The Trailmaster GTX is waterproof and within budget."}',
  '',
  'event: done',
  'data: {"answer":"The Trailmaster GTX is waterproof and within budget."}',
  '',
  '',
].join('\n');

/** The query route's 200 as Server-Sent Events too. */
function withEventStream(response: ResponseConfig): ResponseConfig {
  return {
    ...response,
    content: {
      ...response.content,
      'text/event-stream': { schema: z.string().describe(EVENT_STREAM_TEXT), example: EVENT_STREAM_EXAMPLE },
    },
  };
}

export interface AssistantRouteDeps {
  assistant: AssistantService;
  queryHashKey: string;
  logger?: Logger;
}

/** POST /api/v1/assistant/query: the endpoint the shop's frontend lives on. */
export const assistantApi = defineRoutes<AssistantRouteDeps>([
  {
    method: 'post',
    path: '/api/v1/assistant/query',
    auth: 'caller',
    // Every answer charges (or, replayed, reads) the caller's credits, which creates their row.
    firstUse: 'handler',
    handle: ({ assistant, queryHashKey, logger }) => [
      jsonBody(),
      async (req, res) => {
        const body = parseOrThrow(queryBody, req.body, 'request body');
        res.locals.queryHash = queryHash(body.query, queryHashKey);
        const keyHeader = req.get('idempotency-key');
        const idempotencyKey =
          keyHeader === undefined ? undefined : parseOrThrow(idempotencyHeaders, { 'Idempotency-Key': keyHeader }, 'Idempotency-Key header')['Idempotency-Key'];
        const noCache = NO_CACHE.test(req.get('cache-control') ?? '');
        if (wantsEventStream(req)) {
          // The 200 and `meta` go out once the question is charged; errors before that stay JSON.
          const stream = new AnswerStream(res, logger);
          let streamed: QueryOutcome;
          try {
            streamed = await assistant.query(callerOf(res), body, {
              idempotencyKey,
              noCache,
              onCharged: (charged) => stream.open(charged),
              // A fresh answer's products and text go out as the provider writes them.
              listener: stream,
            });
          } catch (err) {
            if (!stream.started) throw err;
            stream.fail(err);
            return;
          }
          stream.finish(streamed);
          return;
        }
        const outcome = await assistant.query(callerOf(res), body, { idempotencyKey, noCache });
        const response: QueryResponse = outcome.body;
        res.set(balanceHeaders(outcome.account)).set('X-Cache', outcome.cache).set('Cache-Control', 'no-store');
        if (outcome.replayed) res.set('Idempotent-Replayed', 'true');
        if (outcome.conversationReset) res.set('X-Conversation', 'reset');
        // The bytes res.json would send; a cached answer's products are serialised once per cache entry.
        sendJsonText(res, outcome.productsJson === undefined ? JSON.stringify(response) : queryResultJson(outcome.body, outcome.productsJson));
      },
    ],
    doc: {
      tags: ['assistant'],
      operationId: 'queryAssistant',
      summary: 'Ask the product assistant',
      description:
        'Order of checks: authentication → validation → consent → idempotency → rate limit → conversation → cache lookup → charge (a hold) → assistant call → cache write and answer recorded → hold settled → 200 (and the turn kept). ' +
        'A fresh answer costs QUERY_COST, a cached one CACHED_QUERY_COST. The charge is held until the answer is recorded (idempotency record and answer stored); only then is it settled and the 200 sent. A 5xx after a charge always means the charge was refunded, or will be: a hold that is not settled within CHARGE_HOLD_SECONDS (the process died, the database went away between charge and answer) is refunded exactly once by whichever process sweeps first. A retry with the same Idempotency-Key while the first attempt\'s hold is open takes that hold over instead of charging again.\n\n' +
        'Follow-ups: every answer carries `conversationId`; sent back in the body, the question is read against the conversation’s last turn ' +
        '("cheaper", "less than that", "under $80", "for women", "in black", "waterproof", "show me more"; anything naming something new starts over), ' +
        'filters in the body win over carried ones, and `resolvedQuery` says what was searched (the cache key is made of it, not of the raw text). ' +
        'An unknown, expired or another shopper’s `conversationId` is 404 CONVERSATION_NOT_FOUND. With the conversation store down the question is answered ' +
        'as a new one, with `X-Conversation: reset`. `conversationId` is part of the body for idempotency.',
      request: {
        headers: queryHeaders,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: named('QueryRequest', queryBody),
              example: { query: 'waterproof hiking boots', filters: { category: 'shoes', maxPrice: 150 }, limit: 5 },
            },
          },
        },
      },
      responses: {
        200: withEventStream(
          json('The answer and the balance right after its own charge (or, with `Accept: text/event-stream`, the same answer as events)', named('QueryResponse', queryResponse), queryExample, [
            ...BALANCE,
            'X-Cache',
            'Idempotent-Replayed',
            'X-Conversation',
            'Cache-Control',
          ]),
        ),
        ...errors(
          [
            ...BODY_ERRORS,
            'UNAUTHENTICATED',
            'INSUFFICIENT_CREDITS',
            'CONSENT_REQUIRED',
            'CONVERSATION_NOT_FOUND',
            'IDEMPOTENCY_CONFLICT',
            'IDEMPOTENCY_IN_PROGRESS',
            'RATE_LIMITED',
            'INTERNAL_ERROR',
            'UPSTREAM_ERROR',
            'SERVICE_UNAVAILABLE',
            'UPSTREAM_TIMEOUT',
          ],
          { 402: BALANCE },
        ),
      },
    },
  },
]);

/** Registered on the app's own router: the route the shop's frontend lives on walks one router. */
export const assistantRoutes = (assistant: AssistantService, guards: RouteGuards, queryHashKey: string, logger?: Logger) =>
  assistantApi.routes({ assistant, queryHashKey, logger }, guards);
