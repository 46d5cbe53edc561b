import express, { type RequestHandler } from 'express';
import { AppError } from '../platform/errors.js';

/** Bodies up to this many bytes are accepted; one byte more is a 413. */
export const MAX_BODY_BYTES = 16_384;

const parseJson = express.json({ limit: MAX_BODY_BYTES, strict: false, type: ['application/json', 'application/*+json'] });

function hasBody(headers: { 'content-length'?: string; 'transfer-encoding'?: string }): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * For routes that take a JSON body: a body that is not JSON is a 415, malformed JSON a 400 and
 * more than 16 KiB a 413 (the body parser's errors are rendered by the error middleware).
 */
export function jsonBody(): RequestHandler {
  return (req, res, next) => {
    // `application/json` as such (what clients send) is JSON without asking type-is.
    if (req.headers['content-type'] !== 'application/json' && hasBody(req.headers) && !req.is(['application/json', 'application/*+json'])) {
      next(new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON (Content-Type: application/json).'));
      return;
    }
    parseJson(req, res, next);
  };
}
