import type { Request, RequestHandler, Response } from 'express';
import type { Caller } from '../identity/caller.js';
import type { Logger } from '../platform/logger.js';
import { routeTemplate } from './metrics.middleware.js';

/**
 * One log line per request, written when the response has been sent (or the client went away
 * first): request id, method, route TEMPLATE (never the raw URL, which may carry ids), status,
 * duration, the kind of caller and, on the query route, a hash of the question (to correlate
 * repeats without keeping what was asked). It never holds headers, the body, the query text, a token,
 * the admin key or the client address. 5xx answers log at error, the rest at info. No child
 * logger and no closure per request beyond the listener.
 */
export function requestLog(logger: Logger): RequestHandler {
  const log = requestLogger(logger);
  return (req, res, next) => {
    log(req, res);
    next();
  };
}

/** What requestLog() does to a request, as a function (the app runs it in its first middleware). */
export function requestLogger(logger: Logger): (req: Request, res: Response) => void {
  return (req, res) => {
    const started = performance.now();
    // A response emits 'close' once, after 'finish' when it was sent and without it when the
    // client went away first: one listener tells both apart.
    res.on('close', () => {
      const status = res.statusCode;
      const caller = (res.locals as { caller?: Caller }).caller;
      const line = {
        requestId: req.id,
        method: req.method,
        route: routeTemplate(req),
        status,
        ms: Math.round((performance.now() - started) * 100) / 100,
        user: caller ? (caller.isGuest ? 'guest' : 'registered') : 'none',
        // Routes that take a shopper's question log its hash, never its text.
        queryHash: (res.locals as { queryHash?: string }).queryHash,
      };
      if (!res.writableFinished) logger.warn(line, 'request aborted');
      else if (status >= 500) logger.error(line, 'request failed');
      else logger.info(line, 'request completed');
    });
  };
}
