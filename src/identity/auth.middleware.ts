import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, StorageUnavailableError } from '../platform/errors.js';
import { callerOf, setCaller, type Caller } from './caller.js';
import type { TokenVerifier } from './token-verifier.js';

const BEARER = /^bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i;

/**
 * Requires `Authorization: Bearer <token>` (scheme matched case-insensitively) and puts the
 * verified caller on the response (`callerOf(res)`). Any failure is 401 UNAUTHENTICATED; the
 * error middleware adds `WWW-Authenticate: Bearer`.
 */
export function authenticate(verifier: TokenVerifier): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    if (!header) throw new AppError('UNAUTHENTICATED', 'A bearer token is required (Authorization: Bearer <token>).');
    const match = BEARER.exec(header);
    if (!match) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>".');
    // A token verified moments ago (the common case) passes on at once, without a promise.
    const known = verifier.remembered(match[1]);
    if (known) {
      setCaller(res, known);
      next();
      return;
    }
    // Express passes a rejection (a refused token, an unreachable key set) on as the error.
    return verifier.verify(match[1]).then((caller) => {
      setCaller(res, caller);
      next();
    });
  };
}

/**
 * "A credit row is created on a user's first authenticated request of any kind", for operations
 * whose handler never touches credits (`firstUse: 'ensure'`, see http/route.ts, which puts it
 * after authentication). `ensure` must be idempotent.
 */
export function ensureAccount(ensure: (caller: Caller) => Promise<void>): RequestHandler {
  return async (_req, res, next) => {
    await ensure(callerOf(res));
    next();
  };
}

/**
 * The same rule for operations whose every successful answer reads or charges the caller's
 * credits, which creates the row (`firstUse: 'handler'`: http/route.ts puts this error middleware
 * last on the operation). A request that fails after authentication (validation, consent, rate
 * limit…) still creates the row, while a successful one pays no extra statement. The route's own
 * error is passed on unchanged, even when the row cannot be created. Not after a storage outage
 * (503): the storage would make the caller wait a second time for the same outage; the row comes
 * with their next request.
 */
export function ensureAccountOnError(ensure: (caller: Caller) => Promise<void>): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    const caller = (res.locals as { caller?: Caller }).caller;
    if (!caller || err instanceof StorageUnavailableError) {
      next(err);
      return;
    }
    ensure(caller).then(
      () => next(err),
      () => next(err),
    );
  };
}
