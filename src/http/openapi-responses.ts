/**
 * Builders of an operation's responses (its success and its errors, grouped by status), the
 * error code lists most routes share, and the example values several features' examples use.
 */
import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../platform/errors.js';
import { MAX_BODY_BYTES } from './json-body.js';
import { errorEnvelopeFor, headerRefs, type HeaderName } from './openapi-components.js';

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

export function json(description: string, schema: z.ZodType, example: unknown, headers: HeaderName[] = []): ResponseConfig {
  return { description, headers: headerRefs(...headers), content: { 'application/json': { schema, example } } };
}

type Status = '400' | '401' | '402' | '403' | '404' | '409' | '413' | '415' | '429' | '500' | '502' | '503' | '504';

/** Groups codes by status into one response each. */
export function errors(codes: ErrorCode[], headersFor: Partial<Record<Status, HeaderName[]>> = {}): Record<string, ResponseConfig> {
  const byStatus = new Map<string, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = String(ERROR_STATUS[code]);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries([...byStatus].map(([status, list]) => [status, errorResponse(list, headersFor[status as Status])]));
}

export const BODY_ERRORS: ErrorCode[] = ['VALIDATION_FAILED', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
// RATE_LIMITED: every /api route answers it to a sender of too many refused requests.
export const USER_ERRORS: ErrorCode[] = ['UNAUTHENTICATED', 'RATE_LIMITED', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE'];
export const ADMIN_ERRORS: ErrorCode[] = ['UNAUTHENTICATED', 'ADMIN_DISABLED', 'RATE_LIMITED', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE'];
export const BALANCE: HeaderName[] = ['X-Credits-Remaining', 'X-Credits-Limit', 'X-Credits-Reset'];

/** A 204 with no body. */
export const noContent = (description: string): ResponseConfig => ({ description, headers: headerRefs() });

// Example values shared by several features' examples.
export const EXAMPLE_TIME = '2026-01-01T09:00:00.000Z';
export const EXAMPLE_RESETS_AT = '2026-01-02T09:00:00.000Z';
export const EXAMPLE_GUEST_ID = 'guest_0f8fad5b-d9cb-469f-a165-70867728950e';

// `limit` and `cursor` of every paginated list as the document states them (the route schemas
// parse strings; these say what is accepted).
export const pageLimit = z.int().min(1).max(100).default(20).openapi({ description: 'Items per page, 1–100.' });
export const pageCursor = z.string().min(1).optional().openapi({ description: 'The `nextCursor` of the previous page (opaque); a bad cursor is 400.' });
