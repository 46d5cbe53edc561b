import { AppError } from '../../platform/errors.js';
import type { CatalogProduct } from '../catalog/catalog.js';

/** Optional narrowing of a question; every key is optional and `{}` means no filters. */
export interface ProductFilters {
  /** Matched case-insensitively against the product's category (NFC, trimmed). */
  category?: string;
  /** Matched case-insensitively against the product's brand (NFC, trimmed). */
  brand?: string;
  /** Inclusive lower price bound, in the catalog's currency. */
  minPrice?: number;
  /** Inclusive upper price bound, in the catalog's currency. */
  maxPrice?: number;
  /** Products whose `inStock` is this; omitted means in-stock products only. */
  inStock?: boolean;
}

export interface AssistantRequest {
  /** The shopper's question, already trimmed (1–500 characters). */
  query: string;
  filters?: ProductFilters;
  /** How many products to return at most (1–20). */
  limit: number;
  /** Best matches to skip first ("show me more" in a conversation); 0 when absent. */
  offset?: number;
  /**
   * The earlier turns of the question's conversation, oldest first (absent for a first question).
   * Context for a model that writes the answer; never part of the cache key, which is made of
   * the resolved search above.
   */
  history?: ConversationMessage[];
}

/** One earlier turn of a conversation, as a model is shown it. */
export interface ConversationMessage {
  /** The shopper's own words. */
  question: string;
  /** What was searched and shown for it. */
  summary: string;
}

/**
 * A product of an answer: the catalog product's identity, price (`currency`: ISO 4217), links
 * (absolute http(s) URLs, when the catalog has them) and stock, with its relevance `score` in [0, 1].
 */
export interface AnsweredProduct extends Pick<CatalogProduct, 'id' | 'name' | 'brand' | 'category' | 'price' | 'currency' | 'url' | 'imageUrl' | 'inStock'> {
  /** Relevance in [0, 1]. */
  score: number;
}

export interface AssistantAnswer {
  answer: string;
  products: AnsweredProduct[];
}

export type ProviderName = 'catalog' | 'openai';

/**
 * Told of an answer while it is written (a streamed answer): `products` once, before any
 * `delta`; the deltas concatenate to the answer's text. A provider that does not stream tells
 * nothing, and the caller sends the whole answer once it is known.
 */
export interface AnswerListener {
  products(products: AnsweredProduct[]): void;
  delta(text: string): void;
}

/**
 * Answers a shopper's question with products from the catalog. Rules every provider keeps:
 * - `products` are real catalog products that satisfy every given filter (category and brand
 *   case-insensitively, both price bounds inclusive), at most `request.limit` of them, ordered
 *   by `score` (in [0, 1]) from highest to lowest; `answer` is a short, non-empty text.
 * - Nothing found is an answer too: an empty `products` list and an `answer` that says so.
 * - `signal` is honoured: once it fires, the call settles promptly with `AssistantTimeoutError`
 *   and any outbound request is cancelled. The caller owns the timeout and the breaker.
 * - A failing upstream (error status, unusable reply) is `AssistantUpstreamError`; nothing else
 *   is thrown for upstream trouble, and neither error carries secrets or upstream bodies in its
 *   message.
 * - `name` and `model` are stable for the provider's lifetime; `catalogVersion` is the version of
 *   the catalog the provider answers from right now (it moves forward when a new catalog is live).
 *   All three are part of the answer cache key, so a new catalog, new prices or another model
 *   never serve a stale cached answer.
 */
export interface AssistantProvider {
  readonly name: ProviderName;
  /** The model that writes the answers (`OPENAI_MODEL`; the catalog provider names its engine). */
  readonly model: string;
  /** The live catalog's content hash. */
  readonly catalogVersion: string;
  answer(request: AssistantRequest, signal: AbortSignal, listener?: AnswerListener): Promise<AssistantAnswer>;
}

/**
 * The upstream answered with an error or something unusable (502 UPSTREAM_ERROR). `outage` says
 * whether it tells of the model API's health — a connection error, HTTP 429 or 5xx — and so
 * counts towards the assistant's breaker; a reply in the wrong shape, or another status, is this
 * request's failure alone and never refuses other shoppers.
 */
export class AssistantUpstreamError extends AppError<'UPSTREAM_ERROR'> {
  readonly outage: boolean;

  constructor(
    /** For logs only: what went wrong (status, parse problem), never a key or a whole body. */
    readonly reason: string,
    cause?: unknown,
    options: { outage?: boolean } = {},
  ) {
    super('UPSTREAM_ERROR', 'The product assistant could not answer; please try again.', { cause });
    this.name = 'AssistantUpstreamError';
    this.outage = options.outage ?? false;
  }
}

/** The call was cancelled or ran past its time (504 UPSTREAM_TIMEOUT). */
export class AssistantTimeoutError extends AppError<'UPSTREAM_TIMEOUT'> {
  constructor(cause?: unknown) {
    super('UPSTREAM_TIMEOUT', 'The product assistant took too long to answer; please try again.', { cause });
    this.name = 'AssistantTimeoutError';
  }
}

/** Throws AssistantTimeoutError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new AssistantTimeoutError(signal.reason);
}

/**
 * What the assistant's breaker counts: a timeout, or an upstream error that tells of an outage.
 * Nothing else — a bad reply, a question that trips ShopAssist's own code — ever opens it.
 */
export function isUpstreamOutage(err: unknown): boolean {
  return err instanceof AssistantTimeoutError || (err instanceof AssistantUpstreamError && err.outage);
}
