import type { ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The policy of every API response (JSON): it may load nothing, run nothing and be framed by
 * nothing. Pages (/, /docs) replace it with their own, which allows what they load from here.
 */
export const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** helmet's options for the headers below. */
export const SECURITY_HEADERS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginResourcePolicy: false,
  referrerPolicy: { policy: 'no-referrer' },
};

/**
 * helmet's browser-facing headers on every response: the CSP above, `X-Content-Type-Options:
 * nosniff` (the contract's), `X-Frame-Options`, `Referrer-Policy: no-referrer`,
 * `Strict-Transport-Security` (honoured over HTTPS only), the cross-origin isolation headers.
 * `Cross-Origin-Resource-Policy` is left out: the API is meant to be read by shop frontends on
 * other origins (CORS decides which), and CORP would block their no-cors loads for no gain.
 *
 * The policy depends on nothing in the request, so helmet is asked once, at startup, which
 * headers it sets (and removes); each request then gets that list in one middleware, in helmet's
 * order, instead of helmet's twelve middlewares one after the other.
 */
export function securityHeaders(): RequestHandler {
  const apply = securityHeaderWriter();
  return (_req, res, next) => {
    apply(res);
    next();
  };
}

/** What securityHeaders() does to a response, as a function (the app runs it in its first middleware). */
export function securityHeaderWriter(): (res: ServerResponse) => void {
  const { set, removed } = headersOf(helmet(SECURITY_HEADERS));
  return (res) => {
    for (let i = 0; i < set.length; i++) res.setHeader(set[i]![0], set[i]![1]);
    for (let i = 0; i < removed.length; i++) res.removeHeader(removed[i]!);
  };
}

/**
 * The headers a middleware that only sets and removes fixed headers sets and removes, in order.
 * Throws if it does anything else (reads the request, fails, or does not call `next` at once).
 */
export function headersOf(middleware: RequestHandler): { set: [string, string][]; removed: string[] } {
  const set: [string, string][] = [];
  const removed: string[] = [];
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      if (typeof value !== 'string') throw new Error(`header ${name}: not a fixed string`);
      set.push([name, value]);
    },
    removeHeader: (name: string) => {
      removed.push(name);
    },
  };
  let passed = false;
  // A request with nothing on it: a middleware that reads it fails here, at startup.
  void middleware(Object.freeze({}) as Request, res as unknown as Response, (err?: unknown) => {
    if (err) throw err instanceof Error ? err : new Error(String(err));
    passed = true;
  });
  if (!passed) throw new Error('the headers middleware did not pass the request on at once');
  return { set, removed };
}
