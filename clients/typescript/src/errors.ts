/**
 * Maps what the API answered (or what fetch threw) to one `ShopAssistError`. Never throws: a
 * body outside the contract becomes UNEXPECTED_RESPONSE, no response at all NETWORK_ERROR.
 */
import type { ErrorCode, NetworkError, ShopAssistError, UnexpectedResponseError, ValidationIssue } from './types.js';

/** The contract's codes; typed against the generated union, so a new code fails the typecheck until it is listed. */
const KNOWN_CODES: Record<ErrorCode, true> = {
  VALIDATION_FAILED: true,
  INVALID_JSON: true,
  UNAUTHENTICATED: true,
  INSUFFICIENT_CREDITS: true,
  CONSENT_REQUIRED: true,
  ADMIN_DISABLED: true,
  NOT_FOUND: true,
  USER_NOT_FOUND: true,
  CONSENT_NOT_FOUND: true,
  CONVERSATION_NOT_FOUND: true,
  PRODUCT_NOT_FOUND: true,
  METHOD_NOT_ALLOWED: true,
  IDEMPOTENCY_CONFLICT: true,
  IDEMPOTENCY_IN_PROGRESS: true,
  BALANCE_WOULD_BE_NEGATIVE: true,
  CATALOG_READ_ONLY: true,
  PAYLOAD_TOO_LARGE: true,
  UNSUPPORTED_MEDIA_TYPE: true,
  RATE_LIMITED: true,
  INTERNAL_ERROR: true,
  UPSTREAM_ERROR: true,
  SERVICE_UNAVAILABLE: true,
  UPSTREAM_TIMEOUT: true,
};

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(KNOWN_CODES, code);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * `Retry-After` in whole seconds: delta-seconds or an HTTP date (RFC 9110); undefined when absent
 * or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

function issuesOf(details: unknown): ValidationIssue[] {
  if (!Array.isArray(details)) return [];
  return details
    .filter(isObject)
    .map((d) => ({ path: typeof d.path === 'string' ? d.path : '', message: typeof d.message === 'string' ? d.message : String(d.message ?? '') }));
}

/** The balance of a 402: its `details`, else (a response outside the contract) the balance headers. */
function creditsOf(details: unknown, headers: Headers, now: number): { available: number; required: number; resetsAt: string } {
  const d = isObject(details) ? details : {};
  const remaining = Number(headers.get('X-Credits-Remaining') ?? 0);
  const available = isCount(d.available) ? d.available : Number.isFinite(remaining) ? remaining : 0;
  const resetSeconds = Number(headers.get('X-Credits-Reset') ?? NaN);
  const resetsAt = typeof d.resetsAt === 'string' ? d.resetsAt : new Date(Number.isFinite(resetSeconds) ? resetSeconds * 1000 : now).toISOString();
  return { available, required: isCount(d.required) ? d.required : available + 1, resetsAt };
}

export function unexpectedResponse(response: Response, message: string): UnexpectedResponseError {
  return { code: 'UNEXPECTED_RESPONSE', status: response.status, message, requestId: response.headers.get('X-Request-Id') ?? undefined };
}

export function networkError(cause: unknown): NetworkError {
  // Node's fetch says "fetch failed" and puts the reason (ECONNREFUSED …) in its own cause.
  const inner = cause instanceof Error && cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
  const reason = cause instanceof Error ? `${cause.message}${inner}` : String(cause);
  return { code: 'NETWORK_ERROR', status: 0, message: `The ShopAssist API could not be reached (${reason}).`, requestId: undefined, cause };
}

/** The error of a non-2xx response whose body (JSON-parsed when it could be) is `body`. */
export function errorFromResponse(response: Response, body: unknown, now: number = Date.now()): ShopAssistError {
  const envelope = isObject(body) && isObject(body.error) ? body.error : undefined;
  if (!envelope || typeof envelope.message !== 'string') {
    return unexpectedResponse(response, `The server answered HTTP ${response.status} without the ShopAssist error envelope.`);
  }
  const code = envelope.code;
  if (!isErrorCode(code)) {
    return unexpectedResponse(response, `The server answered HTTP ${response.status} with an unknown error code ${JSON.stringify(code)}: ${envelope.message}`);
  }
  const message = envelope.message;
  const requestId = typeof envelope.requestId === 'string' ? envelope.requestId : (response.headers.get('X-Request-Id') ?? '');
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After'), now);
  switch (code) {
    case 'INSUFFICIENT_CREDITS': {
      const balance = creditsOf(envelope.details, response.headers, now);
      const retryAfterSeconds = retryAfter ?? Math.max(1, Math.ceil((Date.parse(balance.resetsAt) - now) / 1000));
      return { code, status: 402, message, requestId, ...balance, retryAfterSeconds };
    }
    case 'VALIDATION_FAILED':
      return { code, status: 400, message, requestId, issues: issuesOf(envelope.details) };
    case 'CONSENT_REQUIRED':
      return { code, status: 403, message, requestId };
    case 'RATE_LIMITED':
      return { code, status: 429, message, requestId, retryAfterSeconds: Math.max(1, retryAfter ?? 1) };
    case 'SERVICE_UNAVAILABLE':
      return { code, status: 503, message, requestId, retryAfterSeconds: Math.max(1, retryAfter ?? 1) };
    default:
      return { code, status: response.status, message, requestId };
  }
}

/** True for a value this client returned as an error (e.g. kept in UI state). */
export function isShopAssistError(value: unknown): value is ShopAssistError {
  return isObject(value) && typeof value.message === 'string' && typeof value.status === 'number' && (isErrorCode(value.code) || value.code === 'UNEXPECTED_RESPONSE' || value.code === 'NETWORK_ERROR');
}
