/**
 * The shared parts of the OpenAPI document: the error envelope, the response headers, the
 * security schemes and named schemas. Route files describe their operations with these (and
 * with openapi-responses.ts); openapi.ts assembles the document.
 */
import { extendZodWithOpenApi, type OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { HeaderObject, SecurityRequirementObject } from 'openapi3-ts/oas31';
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../platform/errors.js';

extendZodWithOpenApi(z);

const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

const validationIssue = z.object({ path: z.string(), message: z.string() }).openapi('ValidationIssue', {
  example: { path: 'filters.maxPrice', message: 'a number ≥ 0' },
});
const insufficientCreditsDetails = z
  .object({ available: z.int().min(0), required: z.int().min(1), resetsAt: z.iso.datetime() })
  .openapi('InsufficientCreditsDetails');

/** The one error shape of the contract; `details` only for VALIDATION_FAILED and INSUFFICIENT_CREDITS. */
export function errorEnvelopeFor(codes: readonly ErrorCode[]) {
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

export const HEADERS = {
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
export type HeaderName = keyof typeof HEADERS;

export const headerRefs = (...names: HeaderName[]) =>
  Object.fromEntries(['X-Request-Id' as HeaderName, ...names].map((n) => [n, { $ref: `#/components/headers/${n}` }]));

/**
 * Names a schema (imported from a feature) as a component. `.meta({ id })` works on schemas made
 * before `extendZodWithOpenApi`; it enters zod's global registry, where an id may be added once.
 */
const namedSchemas = new Map<string, z.ZodType>();
export const named = <T extends z.ZodType>(id: string, schema: T): T => {
  if (!namedSchemas.has(id)) namedSchemas.set(id, schema.meta({ id }));
  return namedSchemas.get(id) as T;
};

/** Which headers must be present on a response (the rest are optional). */
const REQUIRED_HEADERS: ReadonlySet<HeaderName> = new Set(['X-Request-Id', 'X-Credits-Remaining', 'X-Credits-Limit', 'X-Credits-Reset', 'X-Cache', 'Retry-After', 'WWW-Authenticate']);

export const SECURITY: Record<'user' | 'admin' | 'none', SecurityRequirementObject[]> = {
  user: [{ guestToken: [] }, { registeredToken: [] }],
  admin: [{ adminKey: [] }],
  none: [],
};


/** The security schemes and the response headers, as components of the document. */
export function registerSharedComponents(registry: OpenAPIRegistry): void {
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
}
