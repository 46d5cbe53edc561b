import type { JsonValue } from '../../cache/cache.store.js';
import type { Consent } from '../../consent/consent.repository.js';
import type { ChargeResult, CreditAccount } from '../../credits/credit.repository.js';
import type { Caller } from '../../identity/caller.js';
import type { BeginParams, BeginResult } from '../../idempotency/idempotency.store.js';
import type { ConversationTurn } from '../../conversations/conversation.store.js';
import type { RateLimitHit } from '../../rate-limit/rate-limit.store.js';

/** What one question asks of the gate. */
export interface GateRequest {
  caller: Caller;
  /**
   * The per-user rate limit's counter and window: counted only when the caller has accepted the
   * terms (the contract checks consent first). Undefined: the limit is off, nothing is counted.
   */
  rateLimit?: { key: string; windowSeconds: number; max: number } | undefined;
  /** The cache entry to read with the rest, when the gate holds the cache (`readsCache`). */
  cacheKey?: string | undefined;
  /** The balance is read too (a cached answer that costs nothing answers from it). */
  balance?: boolean;
  /**
   * A new conversation's first turn, kept here when its answer is the cached entry and stands
   * at once (see `keepsTurns`): the turn without the products, which come from the entry.
   */
  firstTurn?: FirstTurn | undefined;
  /**
   * A fresh answer's charge, taken here (see `chargesFresh`) when the question is sure to be
   * answered afresh once the gate stands: consent accepted, within the rate limit, and the cache
   * entry not found (or not read: `cacheKey` unset because the shopper asked for no cache).
   */
  charge?: GateCharge | undefined;
}

/** A fresh answer's charge as the gate takes it: a hold, as `CreditService.charge` takes one. */
export interface GateCharge {
  cost: number;
  description: string;
  /**
   * The charge's idempotency key, as `CreditService.charge` is given it (the ledger keys it the
   * same way). Unset: the gate gives the charge a key of its own, so a repeat of its statement
   * after a lost connection replays it.
   */
  idempotencyKey?: string;
  /** How long the hold stays open before the sweep refunds it. */
  holdMs: number;
}

/** A new conversation's first turn as known before its answer. */
export interface FirstTurn {
  conversationId: string;
  turn: Omit<ConversationTurn, 'productIds' | 'prices' | 'currency'>;
  ttlSeconds: number;
}

/** What the gate found, each part as its own feature reads it. */
export interface GateResult {
  /** The caller's consent record; undefined when they never recorded one. */
  consent: Consent | undefined;
  /** This question's count in the window, this one included; undefined when not counted. */
  rateHit: RateLimitHit | undefined;
  /** The cache entry when it was read here (`found` false: no live entry); undefined when not read. */
  cache: { found: false } | { found: true; value: JsonValue } | undefined;
  /**
   * The balance as it stands, read without a lock, when it was asked for, the account exists and
   * no reset is due; otherwise undefined and the credit service answers (it creates the account
   * or applies the reset under the row's lock).
   */
  account: CreditAccount | undefined;
  /** True when `firstTurn` was kept, with the cached entry's products. */
  turnKept: boolean;
  /**
   * The outcome of `charge` when it was tried here: charged (a hold), refused for want of credits,
   * or a prior charge under its ledger key. Undefined when it was not tried (not asked, a gate that
   * does not charge, or a question not sure to be fresh, another question of its user first in the
   * batch, no account yet, a reset due): the credit service then charges the question, as before.
   */
  charge?: ChargeResult | undefined;
}

/**
 * The query route's first step (docs/adr/0012-the-query-gate.md): the reads every question
 * needs before its charge — consent, the rate-limit count, the cache entry and the balance —
 * taken together. On PostgreSQL storage they are one batched statement (one round trip for the
 * questions of a turn of the event loop); elsewhere each comes from its own store, as the
 * service would read them one by one.
 *
 * Rules every backend keeps:
 * - `consent` is the record as `ConsentRepository.get` reads it.
 * - the rate limit is counted exactly as `RateLimitStore.hit` counts it, and only when
 *   `consent.termsAccepted`; concurrent questions of one user are each counted once.
 * - `cache` is read only when `cacheKey` is given and the backend holds the cache; it never
 *   serves an expired entry.
 * - `account` is never a balance older than the statement, and never one a lazy reset would change.
 * - Nothing is charged but `charge`, and only as the credit repository charges (one guarded
 *   statement with its ledger entry and hold), when the question is sure to be answered afresh:
 *   consent accepted, within the rate limit, its cache entry not found or not read. A gate that
 *   tried it says how it went (`charge`); otherwise it changed no balance and wrote no entry.
 * - `firstTurn` is kept only when the answer stands with this statement: consent accepted, the
 *   question within the rate limit, the cache entry found, the balance read (an answer of cost
 *   0). Its products (ids, prices, currency) are the entry's, as `ConversationStep.record` would
 *   take them from the answer. Otherwise nothing is kept and `turnKept` is false.
 */
export interface QueryGate {
  /** True when `cacheKey` is read in the same round trip (the cache lives in the same database). */
  readonly readsCache: boolean;
  /** True when `firstTurn` can be kept in the same round trip (the conversations live in the same database). */
  readonly keepsTurns: boolean;
  /** True when `charge` is taken in the same round trip (the credits live in the same database). */
  readonly chargesFresh: boolean;
  open(request: GateRequest): Promise<GateResult>;
  /**
   * A question with an Idempotency-Key: the caller's consent and, only when they accepted the
   * terms, the key's claim (as `IdempotencyStore.begin` claims it), together where the storage
   * allows. `begun` is undefined when nothing was claimed for want of consent, or when the claim
   * must be tried again (its record changed under the statement's snapshot).
   */
  claim(request: ClaimRequest): Promise<ClaimResult>;
}

export interface ClaimRequest {
  caller: Caller;
  claim: BeginParams;
}

export interface ClaimResult {
  consent: Consent | undefined;
  begun: BeginResult | undefined;
}
