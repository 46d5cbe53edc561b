import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';

const CALLER_ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare module 'http' {
  interface IncomingMessage {
    /** The request id, set by requestId() before anything else runs. */
    id: string;
  }
}

/** Every response carries X-Request-Id: the caller's when it is well-formed, else a new UUID. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): void {
  const given = req.headers['x-request-id'];
  req.id = typeof given === 'string' && CALLER_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', req.id);
}

/** assignRequestId as a middleware. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    assignRequestId(req, res);
    next();
  };
}
