import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * The policy of every API response (JSON): it may load nothing, run nothing and be framed by
 * nothing. Pages (/, /docs) replace it with their own, which allows what they load from here.
 */
export const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * helmet's browser-facing headers on every response: the CSP above, `X-Content-Type-Options:
 * nosniff` (the contract's), `X-Frame-Options`, `Referrer-Policy: no-referrer`,
 * `Strict-Transport-Security` (honoured over HTTPS only), the cross-origin isolation headers.
 * `Cross-Origin-Resource-Policy` is left out: the API is meant to be read by shop frontends on
 * other origins (CORS decides which), and CORP would block their no-cors loads for no gain.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
  });
}
