import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, ERROR_STATUS, type ErrorCode } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';

export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; details?: unknown; requestId: string };
}

/** Errors raised by Express's body parser, by their `type`. */
const BODY_PARSER_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  'entity.parse.failed': { code: 'INVALID_JSON', message: 'The request body is not valid JSON.' },
  'entity.too.large': { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than 16384 bytes.' },
  'encoding.unsupported': { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'The request body encoding is not supported.' },
  'charset.unsupported': { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'The request body charset is not supported.' },
  'request.aborted': { code: 'VALIDATION_FAILED', message: 'The request body was not received completely.' },
  'request.size.invalid': { code: 'VALIDATION_FAILED', message: 'The request body does not match its Content-Length.' },
};

/**
 * The AppError an error stands for when it is one the API expects: an AppError, one of the body
 * parser's (mapped to the contract's codes), or a path the router could not decode. Anything else
 * is undefined (a 500).
 */
export function expectedError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const parserType = (err as { type?: unknown } | null)?.type;
  if (typeof parserType === 'string' && Object.hasOwn(BODY_PARSER_ERRORS, parserType)) {
    const known = BODY_PARSER_ERRORS[parserType];
    return new AppError(known.code, known.message);
  }
  if (err instanceof URIError) {
    // The router could not decode a path parameter: invalid UTF-8, or a lone surrogate such as
    // %ED%A0%80. That is the caller's mistake, never a 500.
    return new AppError('VALIDATION_FAILED', 'The request path is not valid percent-encoded UTF-8.', {
      details: [{ path: 'path', message: 'not valid percent-encoded UTF-8' }],
    });
  }
  return undefined;
}

export function notFound(): RequestHandler {
  return (req, _res, next) => next(new AppError('NOT_FOUND', `No route ${req.method} ${req.path}.`));
}

/**
 * Renders every error as the contract's envelope. Known errors keep their code and message;
 * anything else is logged with the request id and answered with a generic 500 that leaks
 * nothing (no stack, SQL, connection string or secret).
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    let appError = expectedError(err);
    if (!appError) {
      logger.error({ err, requestId: String(req.id) }, 'unhandled error');
      appError = new AppError('INTERNAL_ERROR', 'Something went wrong on our side; the request id identifies it.');
    }
    if (appError.status >= 500 && appError.code !== 'INTERNAL_ERROR') {
      logger.warn({ code: appError.code, requestId: req.id, cause: describeCause(appError.cause) }, 'answered with a server-side error');
    }
    const body: ErrorEnvelope = {
      error: { code: appError.code, message: appError.message, requestId: String(req.id) },
    };
    if (appError.details !== undefined) body.error.details = appError.details;
    res.status(ERROR_STATUS[appError.code]).set(appError.headers);
    if (appError.code === 'UNAUTHENTICATED') res.set('WWW-Authenticate', appError.headers['WWW-Authenticate'] ?? 'Bearer');
    res.json(body);
  };
}

function describeCause(cause: unknown): string | undefined {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return cause === undefined ? undefined : String(cause);
}
