import { extendZodWithOpenApi, OpenApiGeneratorV31, OpenAPIRegistry, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { HeaderObject, OpenAPIObject, SecurityRequirementObject } from 'openapi3-ts/oas31';
import { z } from 'zod';
import { idempotencyKeyHeader, queryBody, queryResponse } from '../assistant/assistant.schemas.js';
import { cacheStatsResponse } from '../cache/cache.schemas.js';
import { catalogSummaryResponse, productBody, productIdParams, productPatch, productResponse } from '../catalog/catalog.schemas.js';
import { consentBody, type consentListQuery, consentListResponse, consentResponse } from '../consent/consent.schemas.js';
import { adjustBody, creditsResponse, ledgerReportResponse, type transactionsQuery, transactionsResponse, userIdParams } from '../credits/credit.schemas.js';
import { conversationParams, conversationResponse } from '../conversations/conversation.schemas.js';
import { liveResponse, readinessResponse } from '../health/health.schemas.js';
import { guestSessionResponse } from '../identity/guest-session.schemas.js';
import { cleanupBody, cleanupResponse } from '../maintenance/maintenance.schemas.js';
import { ERROR_STATUS, type ErrorCode } from '../platform/errors.js';
import { CORS_EXPOSED_HEADERS, CORS_MAX_AGE_SECONDS } from './cors.js';
import { DOCS_ASSETS } from './docs.routes.js';
import { MAX_BODY_BYTES } from './json-body.js';

extendZodWithOpenApi(z);

export interface OpenApiOptions {
  /** Where the API is reached; a relative `/` (the document's own origin) by default. */
  serverUrl?: string;
  /** The API's version as published in `info.version`. */
  version?: string;
}

const API_DESCRIPTION = `REST API behind a shop's AI product assistant: credits, consent, query cache and product answers.

Conventions that hold for every route:
- JSON in and out. Request bodies are strict: unknown keys are a 400 \`VALIDATION_FAILED\`.
  Unknown query-string parameters are ignored.
- Every response carries \`X-Request-Id\`: the caller's if it sent one of 1–128 characters of
  \`[A-Za-z0-9._:-]\`, else a new UUID.
- Every error has one shape, \`{"error": {"code", "message", "details"?, "requestId"}}\` (schema \`ErrorEnvelope\`).
- An unknown route is 404 \`NOT_FOUND\`; a known path with a method it does not answer is 405
  \`METHOD_NOT_ALLOWED\` with \`Allow\` (both in the same envelope).
- Bodies over ${MAX_BODY_BYTES} bytes are 413 \`PAYLOAD_TOO_LARGE\`; a body that is not JSON is 415.
- Timestamps are ISO-8601 UTC strings; credits are whole numbers.
- Browsers: with \`CORS_ORIGINS\` set (comma-separated origins, or \`*\`), the API answers CORS
  preflights (OPTIONS, 204, cached for ${CORS_MAX_AGE_SECONDS} s) from those origins and exposes
  ${CORS_EXPOSED_HEADERS.map((h) => `\`${h}\``).join(', ')} to their scripts. Other origins get no CORS
  header (their preflight is a 405). Credentials (cookies) are never allowed: authenticate with a bearer token.
- Every response carries \`X-Content-Type-Options: nosniff\` and a restrictive
  \`Content-Security-Policy\` (with the other helmet headers); /docs and the demo page allow only
  their own files.
- A caller (or a client address: IPv4 /32, IPv6 /64) whose requests under /api are refused
  with 400, 413 or 415 more than \`REJECTED_REQUESTS_PER_MINUTE\` (default 30) /
  \`REJECTED_REQUESTS_PER_IP_PER_MINUTE\` (default 120) times a minute gets 429 \`RATE_LIMITED\`
  with \`Retry-After\` until the minute ends, whatever it sends (0 turns a limit off).`;

// ---------------------------------------------------------------------------------------------
// Shared components: error envelope, headers, security schemes
// ---------------------------------------------------------------------------------------------

const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

const validationIssue = z.object({ path: z.string(), message: z.string() }).openapi('ValidationIssue', {
  example: { path: 'filters.maxPrice', message: 'a number ≥ 0' },
});
const insufficientCreditsDetails = z
  .object({ available: z.int().min(0), required: z.int().min(1), resetsAt: z.iso.datetime() })
  .openapi('InsufficientCreditsDetails');

/** The one error shape of the contract; `details` only for VALIDATION_FAILED and INSUFFICIENT_CREDITS. */
function errorEnvelopeFor(codes: readonly ErrorCode[]) {
  const withDetails = codes.includes('VALIDATION_FAILED') || codes.includes('INSUFFICIENT_CREDITS');
  const details = [
    ...(codes.includes('VALIDATION_FAILED') ? [z.array(validationIssue)] : []),
    ...(codes.includes('INSUFFICIENT_CREDITS') ? [insufficientCreditsDetails] : []),
  ];
  const detailsSchema = details.length === 1 ? details[0]! : z.union(details as unknown as [z.ZodType, z.ZodType]);
  // A response whose every code carries details (402 INSUFFICIENT_CREDITS) always has them.
  const alwaysDetails = codes.every((c) => c === 'VALIDATION_FAILED' || c === 'INSUFFICIENT_CREDITS');
  return z.strictObject({
    error: z.strictObject({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
      message: z.string().describe('What went wrong, in words (never a stack trace, SQL or secret)'),
      ...(withDetails ? { details: alwaysDetails ? detailsSchema : detailsSchema.optional() } : {}),
      requestId: z.string().describe('The X-Request-Id of the request'),
    }),
  });
}

export const errorEnvelope = errorEnvelopeFor(ERROR_CODES).describe(
  'Every error response. `details` is present for VALIDATION_FAILED (a list of issues) and INSUFFICIENT_CREDITS (the balance) only.',
);

const HEADERS = {
  'X-Request-Id': {
    description: "The caller's X-Request-Id when it is 1–128 characters of [A-Za-z0-9._:-], else a new UUID.",
    schema: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]{1,128}$' },
  },
  'X-Credits-Remaining': { description: 'Credits available after this request.', schema: { type: 'string', pattern: '^[0-9]+$' } },
  'X-Credits-Limit': { description: "The caller's allowance per period.", schema: { type: 'string', pattern: '^[0-9]+$' } },
  'X-Credits-Reset': { description: 'When the allowance resets, in Unix seconds.', schema: { type: 'string', pattern: '^[0-9]+$' } },
  'X-Cache': {
    description: 'HIT or MISS of the shared query cache; BYPASS when `Cache-Control: no-cache` was asked or the cache is down or disabled.',
    schema: { type: 'string', enum: ['HIT', 'MISS', 'BYPASS'] },
  },
  'Idempotent-Replayed': {
    description: 'Present (true) only on a replay of an earlier answer with the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
  },
  'X-Conversation': {
    description: 'Present (reset) only when the conversation store could not answer: the follow-up was answered as a new question.',
    schema: { type: 'string', enum: ['reset'] },
  },
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'string', pattern: '^[0-9]+$' } },
  'WWW-Authenticate': { description: 'The authentication scheme to use.', schema: { type: 'string', pattern: '^Bearer' } },
  'Cache-Control': { description: 'Answers are personal or live: not to be stored.', schema: { type: 'string' } },
} satisfies Record<string, HeaderObject>;
type HeaderName = keyof typeof HEADERS;

const headerRefs = (...names: HeaderName[]) =>
  Object.fromEntries(['X-Request-Id' as HeaderName, ...names].map((n) => [n, { $ref: `#/components/headers/${n}` }]));

/**
 * Names a schema (imported from a feature) as a component. `.meta({ id })` works on schemas made
 * before `extendZodWithOpenApi`; it enters zod's global registry, where an id may be added once.
 */
const namedSchemas = new Map<string, z.ZodType>();
const named = <T extends z.ZodType>(id: string, schema: T): T => {
  if (!namedSchemas.has(id)) namedSchemas.set(id, schema.meta({ id }));
  return namedSchemas.get(id) as T;
};

/** Which headers must be present on a response (the rest are optional). */
const REQUIRED_HEADERS: ReadonlySet<HeaderName> = new Set(['X-Request-Id', 'X-Credits-Remaining', 'X-Credits-Limit', 'X-Credits-Reset', 'X-Cache', 'Retry-After', 'WWW-Authenticate']);

const SECURITY: Record<'user' | 'admin' | 'none', SecurityRequirementObject[]> = {
  user: [{ guestToken: [] }, { registeredToken: [] }],
  admin: [{ adminKey: [] }],
  none: [],
};

// ---------------------------------------------------------------------------------------------
// Response builders
// ---------------------------------------------------------------------------------------------

const ERROR_TEXT: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'the request does not match its schema (details lists each issue)',
  INVALID_JSON: 'the body is malformed JSON',
  UNAUTHENTICATED: 'missing, malformed, expired or wrongly signed credentials',
  INSUFFICIENT_CREDITS: 'not enough credits; Retry-After = seconds to the next reset',
  CONSENT_REQUIRED: 'the terms have not been accepted (PUT /api/v1/consent)',
  ADMIN_DISABLED: 'operator routes are off while ADMIN_API_KEY is unset',
  NOT_FOUND: 'no such route',
  USER_NOT_FOUND: 'no credit row for this user',
  CONSENT_NOT_FOUND: 'no consent recorded yet',
  CONVERSATION_NOT_FOUND: 'no such conversation: unknown, expired, deleted or another shopper’s',
  PRODUCT_NOT_FOUND: 'no product with this id in the live catalog',
  METHOD_NOT_ALLOWED: 'the path does not answer this method',
  IDEMPOTENCY_CONFLICT: 'the same Idempotency-Key was used with a different body',
  IDEMPOTENCY_IN_PROGRESS: 'the first attempt with this Idempotency-Key is still running after 5 s',
  BALANCE_WOULD_BE_NEGATIVE: 'the adjustment would take the balance below 0',
  CATALOG_READ_ONLY: 'on memory storage the catalog is the file loaded at start and cannot be changed',
  PAYLOAD_TOO_LARGE: `the body is over ${MAX_BODY_BYTES} bytes`,
  UNSUPPORTED_MEDIA_TYPE: 'the body is not JSON',
  RATE_LIMITED: 'too many requests; Retry-After = seconds to wait',
  INTERNAL_ERROR: 'something unexpected; the request id identifies it',
  UPSTREAM_ERROR: 'the assistant failed (any charge was refunded, or will be)',
  SERVICE_UNAVAILABLE: 'storage or the assistant is unavailable; Retry-After = seconds to wait (any charge was refunded, or will be)',
  UPSTREAM_TIMEOUT: 'the assistant timed out (any charge was refunded, or will be)',
};

const ERROR_EXAMPLE_DETAILS: Partial<Record<ErrorCode, unknown>> = {
  VALIDATION_FAILED: [{ path: 'filters.maxPrice', message: 'a number ≥ 0' }],
  INSUFFICIENT_CREDITS: { available: 0, required: 1, resetsAt: '2026-01-02T09:00:00.000Z' },
};

function errorResponse(codes: ErrorCode[], extraHeaders: HeaderName[] = []): ResponseConfig {
  const headers: HeaderName[] = [...extraHeaders];
  if (codes.includes('UNAUTHENTICATED')) headers.push('WWW-Authenticate');
  if (codes.some((c) => c === 'RATE_LIMITED' || c === 'SERVICE_UNAVAILABLE' || c === 'INSUFFICIENT_CREDITS')) headers.push('Retry-After');
  const examples = Object.fromEntries(
    codes.map((code) => [
      code,
      {
        summary: ERROR_TEXT[code],
        value: {
          error: {
            code,
            message: `${ERROR_TEXT[code][0].toUpperCase()}${ERROR_TEXT[code].slice(1)}.`,
            ...(ERROR_EXAMPLE_DETAILS[code] ? { details: ERROR_EXAMPLE_DETAILS[code] } : {}),
            requestId: '9b2f6c1e-4f0a-4d43-9a57-0f4b3c1d2e8a',
          },
        },
      },
    ]),
  );
  return {
    description: codes.map((c) => `${c}: ${ERROR_TEXT[c]}`).join('; '),
    headers: headerRefs(...new Set(headers)),
    content: { 'application/json': { schema: errorEnvelopeFor(codes), examples } },
  };
}

function json(description: string, schema: z.ZodType, example: unknown, headers: HeaderName[] = []): ResponseConfig {
  return { description, headers: headerRefs(...headers), content: { 'application/json': { schema, example } } };
}

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

type Status = '400' | '401' | '402' | '403' | '404' | '409' | '413' | '415' | '429' | '500' | '502' | '503' | '504';

/** Groups codes by status into one response each. */
function errors(codes: ErrorCode[], headersFor: Partial<Record<Status, HeaderName[]>> = {}): Record<string, ResponseConfig> {
  const byStatus = new Map<string, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = String(ERROR_STATUS[code]);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries([...byStatus].map(([status, list]) => [status, errorResponse(list, headersFor[status as Status])]));
}

const BODY_ERRORS: ErrorCode[] = ['VALIDATION_FAILED', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
// RATE_LIMITED: every /api route answers it to a sender of too many refused requests.
const USER_ERRORS: ErrorCode[] = ['UNAUTHENTICATED', 'RATE_LIMITED', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE'];
const ADMIN_ERRORS: ErrorCode[] = ['UNAUTHENTICATED', 'ADMIN_DISABLED', 'RATE_LIMITED', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE'];
const BALANCE: HeaderName[] = ['X-Credits-Remaining', 'X-Credits-Limit', 'X-Credits-Reset'];

// ---------------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------------

const AT = '2026-01-01T09:00:00.000Z';
const RESETS = '2026-01-02T09:00:00.000Z';
const creditsExample = { userId: 'guest_0f8fad5b-d9cb-469f-a165-70867728950e', isGuest: true, available: 9, max: 10, lastResetAt: AT, resetsAt: RESETS };
const conversationExample = {
  conversationId: 'cv_3q2mJ8kP0sX1vYtR9wLz4A',
  turns: [
    { query: 'waterproof hiking boots', resolvedQuery: { query: 'waterproof hiking boots', filters: {} }, productIds: ['p-1042', 'p-2210'], createdAt: AT },
    { query: 'cheaper', resolvedQuery: { query: 'waterproof hiking boots', filters: { maxPrice: 89.98 } }, productIds: ['p-0307'], createdAt: AT },
  ],
  expiresAt: '2026-01-01T17:00:00.000Z',
};
const consentExample = { userId: creditsExample.userId, termsAccepted: true, marketingConsent: false, timestamp: AT, updatedAt: AT };
const queryExample = {
  answer: 'The Trailmaster GTX is waterproof and within budget.',
  products: [
    { id: 'p-1042', name: 'Trailmaster GTX', brand: 'Northpeak', category: 'shoes', price: 89.99, currency: 'USD', score: 0.87, url: 'https://shop.example/p/1042', imageUrl: 'https://shop.example/img/1042.jpg', inStock: true },
  ],
  cached: false,
  creditsCharged: 1,
  credits: { available: 9, max: 10, resetsAt: RESETS },
  conversationId: 'cv_3q2mJ8kP0sX1vYtR9wLz4A',
  resolvedQuery: { query: 'waterproof hiking boots', filters: { category: 'shoes', maxPrice: 150 } },
};

const productExample = {
  id: 'p-1042',
  name: 'Trailmaster GTX',
  brand: 'Northpeak',
  category: 'shoes',
  price: 89.99,
  currency: 'USD',
  description: 'A waterproof hiking boot.',
  tags: ['boots', 'hiking'],
  rating: 4.6,
  url: 'https://shop.example/p/1042',
  imageUrl: 'https://shop.example/img/1042.jpg',
  inStock: true,
};
const catalogSummaryExample = { version: 'a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef0123456789abcdef', products: 580, updatedAt: AT };

const CATALOG_UPLOAD_DESCRIPTION =
  'The body is `application/json` (`{"products": […]}`), `application/x-ndjson` (one product a line) or `text/csv` ' +
  '(a header row of the field names, `tags` separated by `|`), up to CATALOG_MAX_BYTES (default 50 MB; the 16 KiB body limit ' +
  'does not apply). It is read and validated as it streams in, while the old catalog keeps answering; then the new one ' +
  'replaces it in one step. A bad upload changes nothing: 400 VALIDATION_FAILED names the index (`products[3].price`) or ' +
  'line (`line 4.price`) and field of at most 20 bad products. The catalog gets a new `version` (its content hash); every ' +
  'API process answers from it within CATALOG_REFRESH_SECONDS, and the version is part of the answer cache key.';

// ---------------------------------------------------------------------------------------------
// Query-string and header parameters (the route schemas parse strings; these say what is accepted)
// ---------------------------------------------------------------------------------------------

const pageLimit = z.int().min(1).max(100).default(20).openapi({ description: 'Items per page, 1–100.' });
const pageCursor = z.string().min(1).optional().openapi({ description: 'The `nextCursor` of the previous page (opaque); a bad cursor is 400.' });
const transactionsQueryDoc = z.object({ limit: pageLimit.optional(), cursor: pageCursor }) satisfies z.ZodObject<Record<keyof z.input<typeof transactionsQuery>, z.ZodType>>;
const consentListQueryDoc = z.object({
  marketingConsent: z.enum(['true', 'false']).optional().openapi({ description: 'Only records with this marketing choice.' }),
  limit: pageLimit.optional(),
  cursor: pageCursor,
}) satisfies z.ZodObject<Record<keyof z.input<typeof consentListQuery>, z.ZodType>>;

const userIdParamsDoc = z.object({
  userId: userIdParams.shape.userId.meta({
    description: 'guest_<uuid>, or a registered user id: 1–128 of A–Z a–z 0–9 _ . : @ - not starting with guest_',
    example: 'user_42',
  }),
});

const conversationParamsDoc = z.object({
  conversationId: conversationParams.shape.conversationId.meta({ description: 'The `conversationId` of an answer (opaque)', example: 'cv_3q2mJ8kP0sX1vYtR9wLz4A' }),
});

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

// ---------------------------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------------------------

/** Every route the app serves, described with the zod schemas the routes validate and shape with. */
export function createOpenApiRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();

  registry.registerComponent('securitySchemes', 'guestToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A guest token from POST /api/v1/sessions/guest (user id guest_<uuid>).',
  });
  registry.registerComponent('securitySchemes', 'registeredToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "A JWT from the shop's identity provider; `sub` is the user id.",
  });
  registry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'METRICS_TOKEN, for GET /metrics when it is set.',
  });
  registry.registerComponent('securitySchemes', 'adminKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Admin-Key',
    description: 'ADMIN_API_KEY, for /api/v1/admin/*. While it is unset these routes answer 403 ADMIN_DISABLED.',
  });
  for (const [name, header] of Object.entries(HEADERS)) {
    registry.registerComponent('headers', name, { ...header, required: REQUIRED_HEADERS.has(name as HeaderName) });
  }
  const credits = named('Credits', creditsResponse);
  const catalogSummary = named('CatalogSummary', catalogSummaryResponse);
  const product = named('Product', productResponse);
  const consent = named('Consent', consentResponse);
  const paths: RouteConfig[] = [
    {
      method: 'post',
      path: '/api/v1/sessions/guest',
      tags: ['identity'],
      operationId: 'createGuestSession',
      summary: 'Start a guest session',
      description:
        'Any body is ignored. Limited per client address in fixed one-hour windows (GUEST_SESSIONS_PER_IP_PER_HOUR, default 20; ' +
        'an IPv6 client counts by its /64, an IPv4 one by its address), and in all, whatever the address, to ' +
        'GUEST_SESSIONS_PER_HOUR (default 1000, 0 = no ceiling), counted across processes. Past either: 429 with Retry-After. ' +
        'A guest account that no charge or reset has touched for GUEST_SESSION_TTL_DAYS (the token lifetime) is deleted ' +
        'by the scheduled cleanup, with its ledger and consent.',
      security: SECURITY.none,
      responses: {
        201: json('A guest token', named('GuestSession', guestSessionResponse), { userId: creditsExample.userId, token: 'eyJhbGciOiJIUzI1NiJ9.e30.sig', expiresAt: '2026-01-31T09:00:00.000Z', isGuest: true }, ['Cache-Control']),
        ...errors(['RATE_LIMITED', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE']),
      },
    },
    {
      method: 'get',
      path: '/api/v1/credits',
      tags: ['credits'],
      operationId: 'getCredits',
      summary: "The caller's balance",
      description: "Creates the caller's credit row on first use. The allowance resets lazily at `resetsAt`.",
      security: SECURITY.user,
      responses: { 200: json('The balance', credits, creditsExample, [...BALANCE, 'Cache-Control']), ...errors(USER_ERRORS) },
    },
    {
      method: 'get',
      path: '/api/v1/credits/transactions',
      tags: ['credits'],
      operationId: 'listCreditTransactions',
      summary: "The caller's ledger, newest first",
      description:
        'Where the API runs with read replicas (`DATABASE_REPLICA_URLS`), a page may be read on one and be up to `DB_REPLICA_MAX_LAG_SECONDS` (5 s) behind the balance (`GET /api/v1/credits`, always current): the newest entry may appear a moment later.',
      security: SECURITY.user,
      request: { query: transactionsQueryDoc },
      responses: {
        200: json(
          'One page of ledger entries',
          named('TransactionPage', transactionsResponse),
          { items: [{ id: '17', type: 'debit', amount: -1, balanceAfter: 9, description: 'assistant query', createdAt: AT }], nextCursor: null },
          [...BALANCE, 'Cache-Control'],
        ),
        ...errors(['VALIDATION_FAILED', ...USER_ERRORS]),
      },
    },
    {
      method: 'get',
      path: '/api/v1/consent',
      tags: ['consent'],
      operationId: 'getConsent',
      summary: "The caller's consent",
      security: SECURITY.user,
      responses: { 200: json('The consent record', consent, consentExample, ['Cache-Control']), ...errors(['CONSENT_NOT_FOUND', ...USER_ERRORS]) },
    },
    {
      method: 'put',
      path: '/api/v1/consent',
      tags: ['consent'],
      operationId: 'putConsent',
      summary: "Record the caller's consent",
      description: '`timestamp` is when consent was first recorded, `updatedAt` the last change.',
      security: SECURITY.user,
      request: { body: { required: true, content: { 'application/json': { schema: consentBody, example: { termsAccepted: true, marketingConsent: false } } } } },
      responses: { 200: json('The consent record', consent, consentExample), ...errors([...BODY_ERRORS, ...USER_ERRORS]) },
    },
    {
      method: 'get',
      path: '/api/v1/conversations/{conversationId}',
      tags: ['assistant'],
      operationId: 'getConversation',
      summary: "One of the caller's conversations, with its turns",
      description:
        'The questions of a conversation (oldest first, at most 20) with what each was resolved to and the products shown. ' +
        'A conversation expires CONVERSATION_TTL_SECONDS after its last turn. An unknown, expired, deleted or another shopper’s id is 404; a path that is not valid percent-encoded UTF-8 is 400.',
      security: SECURITY.user,
      request: { params: conversationParamsDoc },
      responses: {
        200: json('The conversation', named('Conversation', conversationResponse), conversationExample, ['Cache-Control']),
        ...errors(['VALIDATION_FAILED', 'CONVERSATION_NOT_FOUND', ...USER_ERRORS]),
      },
    },
    {
      method: 'delete',
      path: '/api/v1/conversations/{conversationId}',
      tags: ['assistant'],
      operationId: 'deleteConversation',
      summary: 'Forget a conversation',
      description: 'Every turn is gone at once, for every API process; a later follow-up with this id is 404 CONVERSATION_NOT_FOUND.',
      security: SECURITY.user,
      request: { params: conversationParamsDoc },
      responses: { 204: { description: 'Forgotten', headers: headerRefs() }, ...errors(['VALIDATION_FAILED', 'CONVERSATION_NOT_FOUND', ...USER_ERRORS]) },
    },
    {
      method: 'post',
      path: '/api/v1/assistant/query',
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
      security: SECURITY.user,
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
    {
      method: 'get',
      path: '/api/v1/admin/users/{userId}/credits',
      tags: ['operator'],
      operationId: 'adminGetUserCredits',
      summary: "Read any user's balance",
      description: 'Never creates a credit row.',
      security: SECURITY.admin,
      request: { params: userIdParamsDoc },
      responses: { 200: json('The balance', credits, creditsExample, [...BALANCE, 'Cache-Control']), ...errors(['VALIDATION_FAILED', 'USER_NOT_FOUND', ...ADMIN_ERRORS]) },
    },
    {
      method: 'post',
      path: '/api/v1/admin/users/{userId}/credits/adjust',
      tags: ['operator'],
      operationId: 'adminAdjustUserCredits',
      summary: 'Add or remove credits',
      description: 'Writes an `adjustment` entry; may lift `available` above `max`; `reason` becomes its description.',
      security: SECURITY.admin,
      request: {
        params: userIdParamsDoc,
        body: { required: true, content: { 'application/json': { schema: adjustBody, example: { amount: 25, reason: 'goodwill after an outage' } } } },
      },
      responses: {
        200: json('The balance', credits, creditsExample, BALANCE),
        ...errors([...BODY_ERRORS, 'USER_NOT_FOUND', 'BALANCE_WOULD_BE_NEGATIVE', ...ADMIN_ERRORS]),
      },
    },
    {
      method: 'post',
      path: '/api/v1/admin/users/{userId}/credits/reset',
      tags: ['operator'],
      operationId: 'adminResetUserCredits',
      summary: 'Reset a balance to its allowance now',
      description: 'Writes a `reset` entry (none when already at `max`) and restarts the period.',
      security: SECURITY.admin,
      request: { params: userIdParamsDoc },
      responses: { 200: json('The balance', credits, creditsExample, BALANCE), ...errors(['VALIDATION_FAILED', 'USER_NOT_FOUND', ...ADMIN_ERRORS]) },
    },
    {
      method: 'get',
      path: '/api/v1/admin/consents',
      tags: ['operator'],
      operationId: 'adminListConsents',
      summary: 'List consent records, newest first',
      description: 'With read replicas (`DATABASE_REPLICA_URLS`) the list may be up to `DB_REPLICA_MAX_LAG_SECONDS` behind; consent checks on queries never are.',
      security: SECURITY.admin,
      request: { query: consentListQueryDoc },
      responses: {
        200: json('One page of consent records', named('ConsentPage', consentListResponse), { items: [consentExample], nextCursor: null }, ['Cache-Control']),
        ...errors(['VALIDATION_FAILED', ...ADMIN_ERRORS]),
      },
    },
    {
      method: 'get',
      path: '/api/v1/admin/cache/stats',
      tags: ['operator'],
      operationId: 'adminCacheStats',
      summary: 'Query cache statistics since the process started',
      description: '`entries` (PostgreSQL cache) may be read on a replica (`DATABASE_REPLICA_URLS`), up to `DB_REPLICA_MAX_LAG_SECONDS` behind. On Redis (one Redis or a Redis Cluster, `REDIS_CLUSTER_NODES`) it is null.',
      security: SECURITY.admin,
      responses: {
        200: json('Counts since start (clearing keeps them)', named('CacheStats', cacheStatsResponse), { backend: 'postgres', hits: 3, misses: 1, bypasses: 0, hitRate: 0.75, entries: 1, breaker: 'closed' }, ['Cache-Control']),
        ...errors(ADMIN_ERRORS),
      },
    },
    {
      method: 'delete',
      path: '/api/v1/admin/cache',
      tags: ['operator'],
      operationId: 'adminClearCache',
      summary: 'Empty the query cache',
      security: SECURITY.admin,
      responses: { 204: { description: 'Emptied', headers: headerRefs() }, ...errors(ADMIN_ERRORS) },
    },
    {
      method: 'get',
      path: '/api/v1/admin/catalog',
      tags: ['catalog'],
      operationId: 'adminGetCatalog',
      summary: "The live catalog's summary",
      security: SECURITY.admin,
      responses: { 200: json('The live catalog', catalogSummary, catalogSummaryExample, ['Cache-Control']), ...errors(ADMIN_ERRORS) },
    },
    {
      method: 'put',
      path: '/api/v1/admin/catalog',
      tags: ['catalog'],
      operationId: 'adminReplaceCatalog',
      summary: 'Replace the whole catalog, atomically',
      description: CATALOG_UPLOAD_DESCRIPTION,
      security: SECURITY.admin,
      request: {
        body: {
          required: true,
          content: {
            'application/json': { schema: z.object({ products: z.array(productBody) }), example: { products: [productExample] } },
            'application/x-ndjson': { schema: z.string().describe('One product (JSON) per line'), example: `${JSON.stringify(productExample)}\n` },
            'text/csv': {
              schema: z.string().describe('A header row of field names, then one product per row; `tags` separated by |'),
              example: 'id,name,brand,category,price,currency,tags,url,inStock\np-1042,Trailmaster GTX,Northpeak,shoes,89.99,USD,boots|hiking,https://shop.example/p/1042,true\n',
            },
          },
        },
      },
      responses: {
        200: json('The new live catalog', catalogSummary, catalogSummaryExample, ['Cache-Control']),
        ...errors(['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'CATALOG_READ_ONLY', ...ADMIN_ERRORS]),
      },
    },
    {
      method: 'put',
      path: '/api/v1/admin/catalog/products/{productId}',
      tags: ['catalog'],
      operationId: 'adminPutProduct',
      summary: 'Create or replace one product',
      description: 'The body is the product; `id`, when given, must be the path\'s. Gives the catalog a new version.',
      security: SECURITY.admin,
      request: { params: productIdParams, body: { required: true, content: { 'application/json': { schema: productBody, example: productExample } } } },
      responses: { 200: json('The product as stored', product, productExample, ['Cache-Control']), ...errors([...BODY_ERRORS, 'CATALOG_READ_ONLY', ...ADMIN_ERRORS]) },
    },
    {
      method: 'patch',
      path: '/api/v1/admin/catalog/products/{productId}',
      tags: ['catalog'],
      operationId: 'adminPatchProduct',
      summary: 'Change some fields of one product (price, stock, …)',
      description: '`null` removes an optional field (`description`, `tags`, `rating`, `url`, `imageUrl`). Gives the catalog a new version.',
      security: SECURITY.admin,
      request: { params: productIdParams, body: { required: true, content: { 'application/json': { schema: productPatch, example: { price: 79.99, inStock: false } } } } },
      responses: {
        200: json('The product as stored', product, { ...productExample, price: 79.99, inStock: false }, ['Cache-Control']),
        ...errors([...BODY_ERRORS, 'PRODUCT_NOT_FOUND', 'CATALOG_READ_ONLY', ...ADMIN_ERRORS]),
      },
    },
    {
      method: 'delete',
      path: '/api/v1/admin/catalog/products/{productId}',
      tags: ['catalog'],
      operationId: 'adminDeleteProduct',
      summary: 'Remove one product',
      description: 'Gives the catalog a new version.',
      security: SECURITY.admin,
      request: { params: productIdParams },
      responses: {
        204: { description: 'Removed', headers: headerRefs() },
        ...errors(['VALIDATION_FAILED', 'PRODUCT_NOT_FOUND', 'CATALOG_READ_ONLY', ...ADMIN_ERRORS]),
      },
    },
    {
      method: 'post',
      path: '/api/v1/admin/maintenance/cleanup',
      tags: ['operator'],
      operationId: 'adminCleanup',
      summary: 'Delete expired cache entries and old ledger entries; refund expired holds',
      description:
        'Old ledger entries are replaced by one `carryover` per user; the default age is TRANSACTION_RETENTION_DAYS. Held charges past CHARGE_HOLD_SECONDS are refunded (as the periodic sweep does).',
      security: SECURITY.admin,
      request: { body: { required: false, content: { 'application/json': { schema: cleanupBody, example: { transactionsOlderThanDays: 90 } } } } },
      responses: {
        200: json('What was deleted', named('CleanupReport', cleanupResponse), { expiredCacheEntriesDeleted: 4, transactionsDeleted: 120, expiredHoldsRefunded: 0 }, ['Cache-Control']),
        ...errors([...BODY_ERRORS, ...ADMIN_ERRORS]),
      },
    },
    {
      method: 'get',
      path: '/api/v1/admin/ledger/verify',
      tags: ['operator'],
      operationId: 'adminVerifyLedger',
      summary: 'Check every balance against its ledger',
      description:
        'One set-based check of every user (for operators and tests, not for a hot path): `mismatched` counts users whose `available` differs from the sum of their ledger, `negative` balances below 0, `openHolds` charges not yet settled or refunded, `expiredHolds` those past CHARGE_HOLD_SECONDS that no sweep has refunded yet; `examples` names up to 10 offending users. On a healthy system all but `users` and `openHolds` are 0.',
      security: SECURITY.admin,
      responses: {
        200: json('The check', named('LedgerReport', ledgerReportResponse), { users: 1204, mismatched: 0, negative: 0, openHolds: 3, expiredHolds: 0, examples: [] }, ['Cache-Control']),
        ...errors(ADMIN_ERRORS),
      },
    },
    {
      method: 'get',
      path: '/health/live',
      tags: ['operations'],
      operationId: 'live',
      summary: 'Liveness',
      security: SECURITY.none,
      responses: { 200: json('The process runs', liveResponse, { status: 'ok' }), ...errors(['INTERNAL_ERROR']) },
    },
    {
      method: 'get',
      path: '/health/ready',
      tags: ['operations'],
      operationId: 'ready',
      summary: 'Readiness',
      description:
        'A cache or assistant outage is `degraded` (200); a database outage is `unavailable` (503). The database check runs a statement the way the hot path does, so a pooler in transaction mode in front of an API with named statements (`DB_PREPARED_STATEMENTS=true`) is `unavailable` too. A read replica that is down or behind never changes the status: its reads go to the primary.',
      security: SECURITY.none,
      responses: {
        200: json('Ready or degraded', readinessResponse, { status: 'ready', checks: { database: { status: 'up', latencyMs: 1.2 }, cache: { status: 'up', latencyMs: 0.4 }, assistant: { status: 'up', latencyMs: null } } }, ['Cache-Control']),
        503: json('Unavailable: the database is down', readinessResponse, { status: 'unavailable', checks: { database: { status: 'down', latencyMs: null }, cache: { status: 'up', latencyMs: 0.4 }, assistant: { status: 'up', latencyMs: null } } }, ['Cache-Control']),
        ...errors(['INTERNAL_ERROR']),
      },
    },
    {
      method: 'get',
      path: '/metrics',
      tags: ['operations'],
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description:
        'With METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>` is answered (401 otherwise). ' +
        'With METRICS_PORT set, this route is served on that port only (a second listener) and is 404 on the API port.',
      security: [{}, { metricsToken: [] }],
      responses: {
        200: {
          description: 'The Prometheus text exposition format',
          headers: headerRefs('Cache-Control'),
          content: { 'text/plain': { schema: { type: 'string' }, example: 'http_requests_total{method="GET",route="/health/live",status="200"} 1\n' } },
        },
        ...errors(['UNAUTHENTICATED', 'NOT_FOUND', 'INTERNAL_ERROR']),
      },
    },
    {
      method: 'get',
      path: '/openapi.json',
      tags: ['operations'],
      operationId: 'openapi',
      summary: 'This document',
      security: SECURITY.none,
      responses: {
        200: { description: 'OpenAPI 3.1', headers: headerRefs(), content: {
            'application/json': {
              schema: { type: 'object', properties: { openapi: { type: 'string', pattern: '^3\\.1\\.' }, info: { type: 'object' }, paths: { type: 'object' } }, required: ['openapi', 'info', 'paths'] },
            },
          },
        },
        ...errors(['INTERNAL_ERROR']),
      },
    },
    {
      method: 'get',
      path: '/docs',
      tags: ['operations'],
      operationId: 'docs',
      summary: 'A page to read and try this API (works offline)',
      security: SECURITY.none,
      responses: { 200: { description: 'HTML', headers: headerRefs(), content: { 'text/html': { schema: { type: 'string' } } } }, ...errors(['INTERNAL_ERROR']) },
    },
    {
      method: 'get',
      path: '/docs/assets/{file}',
      tags: ['operations'],
      operationId: 'docsAsset',
      summary: 'The scripts and styles of the /docs page',
      security: SECURITY.none,
      request: { params: z.object({ file: z.enum(Object.keys(DOCS_ASSETS) as [string, ...string[]]) }) },
      responses: {
        200: {
          description: 'The file',
          headers: headerRefs(),
          content: { 'application/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } },
        },
        // 400: a file name that is not valid percent-encoded UTF-8.
        ...errors(['VALIDATION_FAILED', 'NOT_FOUND', 'INTERNAL_ERROR']),
      },
    },
  ];
  for (const path of paths) registry.registerPath(path);
  return registry;
}

/** The OpenAPI 3.1 document of the whole API, generated from the route schemas. */
export function buildOpenApiDocument(options: OpenApiOptions = {}): OpenAPIObject {
  const generator = new OpenApiGeneratorV31([
    ...createOpenApiRegistry().definitions,
    // Named components that responses inline (each error response narrows the envelope's codes).
    { type: 'schema', schema: named('ErrorEnvelope', errorEnvelope) },
  ]);
  return generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'ShopAssist API',
      version: options.version ?? '1.0.0',
      description: API_DESCRIPTION,
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: options.serverUrl ?? '/' }],
    tags: [
      { name: 'identity', description: 'Guest sessions' },
      { name: 'credits', description: "The caller's credits and ledger" },
      { name: 'consent', description: "The caller's consent" },
      { name: 'assistant', description: 'Product answers' },
      { name: 'operator', description: 'Operator routes (X-Admin-Key)' },
      { name: 'catalog', description: "The shop's catalog the assistant answers from (operator routes, X-Admin-Key)" },
      { name: 'operations', description: 'Health, metrics and this documentation' },
    ],
  });
}
