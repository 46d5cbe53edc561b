/**
 * The client's public types. Request and response shapes are aliases of the types generated
 * from the OpenAPI document (schema.ts); only the result and error union are written here.
 */
import type { components, operations } from './schema.js';

type Schemas = components['schemas'];

export type GuestSession = Schemas['GuestSession'];
export type Credits = Schemas['Credits'];
export type TransactionPage = Schemas['TransactionPage'];
export type Transaction = TransactionPage['items'][number];
export type TransactionsParams = NonNullable<operations['listCreditTransactions']['parameters']['query']>;
export type Consent = Schemas['Consent'];
export type ConsentRequest = operations['putConsent']['requestBody']['content']['application/json'];
export type QueryRequest = Schemas['QueryRequest'];
export type QueryResponse = Schemas['QueryResponse'];
export type Product = QueryResponse['products'][number];
/** What was actually searched for an answer (a follow-up resolved against its conversation). */
export type ResolvedQuery = QueryResponse['resolvedQuery'];
export type Conversation = Schemas['Conversation'];
export type ValidationIssue = Schemas['ValidationIssue'];
/** Every error code of the contract (the `code` of the error envelope). */
export type ErrorCode = Schemas['ErrorEnvelope']['error']['code'];
/** The `X-Cache` header: HIT or MISS of the shared cache, BYPASS when it was skipped or down. */
export type CacheStatus = components['headers']['X-Cache'];

/** An answer with what its headers said. */
export type QueryResult = QueryResponse & {
  /** `X-Cache`. */
  cache: CacheStatus;
  /** True when this is a replay of an earlier answer with the same idempotency key (`Idempotent-Replayed`): nothing was charged. */
  replayed: boolean;
  /** The `Idempotency-Key` sent: the caller's, or a new UUID. Send it again to retry without paying twice. */
  idempotencyKey: string;
  /** `X-Conversation: reset`: the conversation could not be read, so the follow-up was answered as a new question. */
  conversationReset: boolean;
};

/**
 * One event of a streamed answer, in order: `meta`, `products`, one or more `delta` (their texts
 * concatenate to the answer), then `done`; or, in place of what is left, `error` (the charge
 * was refunded; NETWORK_ERROR when the connection broke off).
 */
export type AnswerEvent =
  | ({ type: 'meta' } & Pick<QueryResponse, 'cached' | 'creditsCharged' | 'credits' | 'conversationId' | 'resolvedQuery'>)
  | { type: 'products'; products: Product[] }
  | { type: 'delta'; text: string }
  | { type: 'done'; answer: string }
  | { type: 'error'; code: string; message: string };

/** A streamed answer: its events as an async iterator, with what its headers said. */
export interface AnswerStream extends AsyncIterable<AnswerEvent> {
  cache: CacheStatus;
  replayed: boolean;
  idempotencyKey: string;
  conversationReset: boolean;
}

export type Result<T> = { ok: true; data: T; status: number; requestId: string } | { ok: false; error: ShopAssistError };

interface ApiErrorBase {
  /** What went wrong, in words (the server's message). */
  message: string;
  /** The request's `X-Request-Id`: quote it when reporting a problem. */
  requestId: string;
}

/** Not enough credits for this answer; the allowance comes back at `resetsAt`. */
export interface InsufficientCreditsError extends ApiErrorBase {
  code: 'INSUFFICIENT_CREDITS';
  status: 402;
  available: number;
  required: number;
  /** ISO-8601 time of the next reset. */
  resetsAt: string;
  /** Whole seconds until the reset (`Retry-After`). */
  retryAfterSeconds: number;
}

export interface ConsentRequiredError extends ApiErrorBase {
  code: 'CONSENT_REQUIRED';
  status: 403;
}

export interface RateLimitedError extends ApiErrorBase {
  code: 'RATE_LIMITED';
  status: 429;
  /** Whole seconds to wait (`Retry-After`), at least 1. */
  retryAfterSeconds: number;
}

export interface ValidationFailedError extends ApiErrorBase {
  code: 'VALIDATION_FAILED';
  status: 400;
  /** One entry per problem, `path` naming the field (`filters.maxPrice`). */
  issues: ValidationIssue[];
}

export interface ServiceUnavailableError extends ApiErrorBase {
  code: 'SERVICE_UNAVAILABLE';
  status: 503;
  /** Whole seconds to wait (`Retry-After`), at least 1. */
  retryAfterSeconds: number;
}

type DetailedCode = 'INSUFFICIENT_CREDITS' | 'CONSENT_REQUIRED' | 'RATE_LIMITED' | 'VALIDATION_FAILED' | 'SERVICE_UNAVAILABLE';

/** Every other contract error: UNAUTHENTICATED, CONSENT_NOT_FOUND, IDEMPOTENCY_CONFLICT, UPSTREAM_ERROR, … */
export interface ApiError extends ApiErrorBase {
  code: Exclude<ErrorCode, DetailedCode>;
  status: number;
}

/**
 * The server (or something in front of it) answered outside the contract: a body that is not
 * JSON or not the error envelope (a proxy's HTML error page), or an error code this client
 * does not know.
 */
export interface UnexpectedResponseError {
  code: 'UNEXPECTED_RESPONSE';
  status: number;
  message: string;
  /** `X-Request-Id`, when the response had one. */
  requestId: string | undefined;
}

/** No response: the network failed, the server is not reachable, or the URL is bad. */
export interface NetworkError {
  code: 'NETWORK_ERROR';
  status: 0;
  message: string;
  requestId: undefined;
  /** What fetch threw. */
  cause: unknown;
}

/** Every failure of a call, told apart by `code`. */
export type ShopAssistError =
  | InsufficientCreditsError
  | ConsentRequiredError
  | RateLimitedError
  | ValidationFailedError
  | ServiceUnavailableError
  | ApiError
  | UnexpectedResponseError
  | NetworkError;

type Narrow<E, C> = E extends { code: infer K } ? (C extends K ? E & { code: C } : never) : never;
/** The ShopAssistError of one code, e.g. `ShopAssistErrorOf<'UPSTREAM_ERROR'>`. */
export type ShopAssistErrorOf<C extends ShopAssistError['code']> = Narrow<ShopAssistError, C>;

export interface ShopAssistClientOptions {
  /** Where the API is: `''` or `'/'` in a browser means the page's own origin. */
  baseUrl: string;
  /** A stored guest or registered token. */
  token?: string;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Called whenever the token changes (a new guest session, `setToken`), e.g. to keep it in localStorage; what it throws is ignored. */
  onTokenChange?: (token: string | undefined) => void;
}

export interface QueryOptions {
  /** Sent as `Idempotency-Key`; a new UUID when not given. Retry with the same key to never pay twice. */
  idempotencyKey?: string;
  /** Skip the cache read (`Cache-Control: no-cache`); the fresh answer is still cached. */
  noCache?: boolean;
}

export interface StreamOptions extends QueryOptions {
  /** Stops reading (the answer is still completed and recorded: retry with the same key to read it). */
  signal?: AbortSignal;
}

export interface ShopAssistClient {
  readonly token: string | undefined;
  setToken(token: string | undefined): void;
  /** POST /api/v1/sessions/guest; on success the client keeps the new token (and calls onTokenChange). */
  startGuestSession(): Promise<Result<GuestSession>>;
  /** GET /api/v1/credits. */
  getCredits(): Promise<Result<Credits>>;
  /** GET /api/v1/credits/transactions, newest first; pass `nextCursor` as `cursor` for the next page. */
  listTransactions(params?: TransactionsParams): Promise<Result<TransactionPage>>;
  /** GET /api/v1/consent; CONSENT_NOT_FOUND (an error result) when none was recorded yet. */
  getConsent(): Promise<Result<Consent>>;
  /** PUT /api/v1/consent. */
  recordConsent(body: ConsentRequest): Promise<Result<Consent>>;
  /**
   * POST /api/v1/assistant/query, always with an Idempotency-Key. Pass an earlier answer's
   * `conversationId` in `body` to ask a follow-up ("cheaper", "for women", "show me more").
   */
  query(body: QueryRequest, options?: QueryOptions): Promise<Result<QueryResult>>;
  /**
   * POST /api/v1/assistant/query with `Accept: text/event-stream`: resolves once the question is
   * charged (errors before that are error results, as for `query`), with the answer's events to
   * iterate as they arrive.
   */
  askStream(body: QueryRequest, options?: StreamOptions): Promise<Result<AnswerStream>>;
  /** GET /api/v1/conversations/{conversationId}: the turns so far; CONVERSATION_NOT_FOUND when unknown, expired or another shopper's. */
  getConversation(conversationId: string): Promise<Result<Conversation>>;
  /** DELETE /api/v1/conversations/{conversationId}: forgets every turn (data null on success). */
  deleteConversation(conversationId: string): Promise<Result<null>>;
}
