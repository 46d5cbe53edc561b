import cors from 'cors';
import type { RequestHandler } from 'express';

/** The response headers a shop frontend's script may read (the contract's list, exactly). */
export const CORS_EXPOSED_HEADERS = [
  'X-Request-Id',
  'X-Cache',
  'X-Credits-Remaining',
  'X-Credits-Limit',
  'X-Credits-Reset',
  'Retry-After',
  'Idempotent-Replayed',
  'X-Conversation',
] as const;

/** The request headers a shop frontend may send (the operator's X-Admin-Key is not among them). */
export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id', 'Cache-Control'] as const;

export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] as const;

/** How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours). */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * CORS for the shop frontends of CORS_ORIGINS (`['*']` = any origin). An allowed origin's
 * preflight is answered 204 with the methods, headers and max age; its other responses name
 * it in Access-Control-Allow-Origin and expose the headers above. Another origin gets no CORS
 * header at all (its preflight goes on to the route, which answers 405), so its script cannot
 * read anything. Credentials (cookies) are never allowed: the API authenticates by bearer token,
 * which is what makes `*` safe.
 */
export function corsFor(origins: readonly string[]): RequestHandler {
  const any = origins.length === 1 && origins[0] === '*';
  const allowed = new Set(origins);
  return cors({
    origin: any ? '*' : (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: false,
    methods: [...CORS_METHODS],
    allowedHeaders: [...CORS_ALLOWED_HEADERS],
    exposedHeaders: [...CORS_EXPOSED_HEADERS],
    maxAge: CORS_MAX_AGE_SECONDS,
    optionsSuccessStatus: 204,
    preflightContinue: false,
  });
}
