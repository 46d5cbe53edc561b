/**
 * The closed list of error codes of the REST contract and the status each one answers with.
 * The `Record` makes the compiler reject a code without a status.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  UNAUTHENTICATED: 401,
  INSUFFICIENT_CREDITS: 402,
  CONSENT_REQUIRED: 403,
  ADMIN_DISABLED: 403,
  NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  CONSENT_NOT_FOUND: 404,
  CONVERSATION_NOT_FOUND: 404,
  PRODUCT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  IDEMPOTENCY_CONFLICT: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  BALANCE_WOULD_BE_NEGATIVE: 409,
  CATALOG_READ_ONLY: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  UPSTREAM_ERROR: 502,
  SERVICE_UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ValidationIssue {
  path: string;
  message: string;
}

export interface InsufficientCreditsDetails {
  available: number;
  required: number;
  resetsAt: string;
}

export type ErrorDetails<C extends ErrorCode> = C extends 'VALIDATION_FAILED'
  ? ValidationIssue[]
  : C extends 'INSUFFICIENT_CREDITS'
    ? InsufficientCreditsDetails
    : undefined;

/**
 * A domain or protocol error that the error middleware renders as the contract's envelope.
 * Services throw these for expected outcomes; anything else becomes a generic 500.
 */
export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  readonly status: number;

  constructor(
    readonly code: C,
    message: string,
    readonly options: {
      details?: ErrorDetails<C>;
      /** Extra response headers: Retry-After, WWW-Authenticate, Allow, balance headers. */
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }

  get details(): ErrorDetails<C> | undefined {
    return this.options.details;
  }

  get headers(): Record<string, string> {
    return this.options.headers ?? {};
  }
}

/** Thrown by repositories when the storage behind them is unreachable, timing out or its breaker is open. */
export class StorageUnavailableError extends AppError<'SERVICE_UNAVAILABLE'> {
  constructor(
    readonly retryAfterSeconds: number,
    cause?: unknown,
  ) {
    super('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; try again shortly.', {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
      cause,
    });
    this.name = 'StorageUnavailableError';
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
