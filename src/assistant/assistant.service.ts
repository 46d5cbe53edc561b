import { createHash, randomUUID } from 'node:crypto';
import type { QueryCacheService } from '../cache/query-cache.service.js';
import { cacheKey } from '../cache/cache-key.js';
import type { ConsentService } from '../consent/consent.service.js';
import type { CreditAccount } from '../credits/credit.repository.js';
import { ChargeConflictError, type ChargeOutcome, type CreditService } from '../credits/credit.service.js';
import type { IdempotencyStore } from '../idempotency/idempotency.store.js';
import type { Caller } from '../identity/caller.js';
import type { RateLimitStore } from '../rate-limit/rate-limit.store.js';
import { BreakerOpenError, type Breaker } from '../platform/breaker.js';
import { AppError, isAppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import {
  AssistantTimeoutError,
  type AnswerListener,
  type AnsweredProduct,
  type AssistantAnswer,
  type AssistantProvider,
  type AssistantRequest,
} from './providers/provider.js';
import { canonicalJson } from '../platform/canonical-json.js';
import type { ResolvedQuery } from '../conversations/conversation.store.js';
import { resolvedQueryOf, type ConversationalQuestion, type ConversationStep, type PlacedQuestion } from './conversation.step.js';

export type CacheHeader = 'HIT' | 'MISS' | 'BYPASS';

export interface QueryOptions {
  /** The `Idempotency-Key` header, already validated. */
  idempotencyKey?: string | undefined;
  /** `Cache-Control: no-cache`: skip the cache read (the fresh answer is still written). */
  noCache?: boolean;
  /**
   * Told once the question has passed every check and is charged, before the answer is known
   * (a streamed answer's 200 and `meta` event go out then): the outcome without its answer text
   * and products. Not called for an idempotent replay, which charges nothing.
   */
  onCharged?: (charged: QueryOutcome) => void;
  /**
   * Told of a fresh answer while the provider writes it (a streamed answer's `products` and
   * `delta` events), the text as the shopper reads it (a follow-up's explanation first). Not told
   * for a cached answer, a replay, or one that shares another request's provider call: the
   * caller then sends the whole answer once `query` resolves.
   */
  listener?: AnswerListener;
}

export interface QueryResult {
  answer: string;
  products: AnsweredProduct[];
  cached: boolean;
  creditsCharged: number;
  credits: { available: number; max: number; resetsAt: string };
  conversationId: string;
  resolvedQuery: ResolvedQuery;
}

/** A question as the route hands it over: the search, and the conversation it follows up (if any). */
export type QuestionRequest = AssistantRequest & ConversationalQuestion;

export interface QueryOutcome {
  body: QueryResult;
  cache: CacheHeader;
  /** True when an earlier request with the same Idempotency-Key and body was replayed. */
  replayed: boolean;
  /** For the balance headers. */
  account: Pick<CreditAccount, 'available' | 'max' | 'resetsAt'>;
  /** The conversation store could not answer: a follow-up was answered as a new question. */
  conversationReset?: boolean;
}

/** What an idempotency record keeps of a completed request. */
interface Replayable {
  answer: string;
  products: AnsweredProduct[];
  cached: boolean;
  creditsCharged: number;
  cache: CacheHeader;
  conversationId: string;
  resolvedQuery: ResolvedQuery;
}

export interface AssistantSettings {
  queryCost: number;
  cachedQueryCost: number;
  /** Per user and minute; 0 turns the limit off. */
  rateLimitPerMinute: number;
  timeoutMs: number;
  /** How long a charge stays held before the sweep refunds it (CHARGE_HOLD_SECONDS). */
  holdMs: number;
  /**
   * The longest a request can run after its charge (config's request budget): an in-progress
   * idempotency record whose attempt crashed is taken over once this has passed.
   */
  leaseMs: number;
  /**
   * How long the refund that decides a hold whose settle has an unknown outcome is tried while
   * the database is out of reach (counted in the request budget, so the hold outlives it).
   */
  decideWindowMs: number;
  /** How long a retry waits for an attempt with the same key still running. */
  idempotencyWaitMs?: number;
  idempotencyPollMs?: number;
}

export interface AssistantDeps {
  credits: CreditService;
  consent: ConsentService;
  cache: QueryCacheService;
  idempotency: IdempotencyStore;
  rateLimit: RateLimitStore;
  provider: AssistantProvider;
  /** Places each question in its conversation (follow-ups) and keeps its turn. */
  conversation: ConversationStep;
  breaker: Breaker;
  metrics: Metrics;
  logger: Logger;
  now?: () => Date;
}

const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
/** What `onCharged` is told in place of the answer it precedes. */
const UNKNOWN_YET: AssistantAnswer = Object.freeze({ answer: '', products: [] }) as AssistantAnswer;
const REFUND_DESCRIPTION = 'Refund: the assistant could not answer';
/** Backoff between tries of the refund that decides a hold whose settle has an unknown outcome. */
const DECIDE_BACKOFF_MS = 100;
const DECIDE_BACKOFF_MAX_MS = 1000;

/** The Idempotency-Key record this attempt owns, and whether its charge may stand. */
interface OwnRecord {
  key: string;
  attempt: string;
  chargeToken: string;
  /**
   * True from the moment a charge could have landed until it is known refunded (or never taken):
   * a failed attempt's record is then released for a retry to adopt, not deleted.
   */
  chargeMayStand: boolean;
}

/**
 * Answers a shopper's question, in the contract's order of checks: consent → idempotency →
 * rate limit → cache lookup → charge (a hold) → assistant call (on a miss) → cache write →
 * answer recorded and hold settled → 200. A charge is refunded before any error that follows it
 * is returned; when even that refund cannot be made, the charge's hold is refunded by the sweep,
 * so a 5xx after a charge always means the credits are back or will be. Identical concurrent
 * misses on one process share one provider call; each request is still charged on its own.
 */
export class AssistantService {
  private readonly inflight = new Map<string, Promise<AssistantAnswer>>();
  private readonly now: () => Date;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly deps: AssistantDeps,
    private readonly settings: AssistantSettings,
  ) {
    this.now = deps.now ?? (() => new Date());
    this.waitMs = settings.idempotencyWaitMs ?? 5000;
    this.pollMs = settings.idempotencyPollMs ?? 100;
  }

  get provider(): AssistantProvider {
    return this.deps.provider;
  }

  async query(caller: Caller, request: QuestionRequest, options: QueryOptions = {}): Promise<QueryOutcome> {
    const consent = await this.deps.consent.find(caller);
    if (!consent?.termsAccepted) {
      throw new AppError('CONSENT_REQUIRED', 'Accept the terms (PUT /api/v1/consent) before asking the assistant.');
    }

    const key = options.idempotencyKey;
    if (!key) return this.answer(caller, request, options, undefined);

    const attempt = randomUUID();
    const begun = await this.beginIdempotent(caller, key, hashRequest(request), attempt);
    if ('replay' in begun) return this.replay(caller, begun.replay);
    const record: OwnRecord = { key, attempt, chargeToken: begun.chargeToken, chargeMayStand: false };
    try {
      return await this.answer(caller, request, options, record);
    } catch (err) {
      // A failed attempt is not kept (a retry runs afresh), unless its charge may stand: then the
      // record is released, and a retry takes it over at once and adopts that charge's hold.
      const { idempotency, logger } = this.deps;
      const release = record.chargeMayStand ? idempotency.release(caller.userId, key, attempt) : idempotency.abandon(caller.userId, key, attempt);
      await release.catch((e: unknown) => {
        logger.warn({ err: e }, 'could not release an idempotency key after a failure; it frees itself when its lease ends');
      });
      throw err;
    }
  }

  /** Resolves the charge token when this attempt may run, or the stored outcome to replay. */
  private async beginIdempotent(
    caller: Caller,
    key: string,
    requestHash: string,
    attempt: string,
  ): Promise<{ chargeToken: string } | { replay: Replayable }> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const begun = await this.deps.idempotency.begin({
        userId: caller.userId,
        key,
        requestHash,
        attempt,
        ttlMs: IDEMPOTENCY_TTL_MS,
        // A crashed attempt's record frees itself once no live attempt could still be running.
        leaseMs: this.settings.leaseMs,
      });
      switch (begun.state) {
        case 'started':
          return { chargeToken: begun.chargeToken };
        case 'completed':
          return { replay: begun.response as unknown as Replayable };
        case 'conflict':
          throw new AppError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used with a different request body.');
        case 'in_progress':
          if (Date.now() + this.pollMs > deadline) {
            throw new AppError('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still running; retry shortly.', {
              headers: { 'Retry-After': '1' },
            });
          }
          await sleep(this.pollMs);
      }
    }
  }

  private async replay(caller: Caller, kept: Replayable): Promise<QueryOutcome> {
    const account = await this.deps.credits.get(caller);
    return {
      body: {
        answer: kept.answer,
        products: kept.products,
        cached: kept.cached,
        creditsCharged: kept.creditsCharged,
        credits: creditsOf(account),
        conversationId: kept.conversationId,
        resolvedQuery: kept.resolvedQuery,
      },
      cache: kept.cache,
      replayed: true,
      account,
    };
  }

  /** `record`: the Idempotency-Key record this attempt owns, when the request has a key. */
  private async answer(caller: Caller, request: QuestionRequest, options: QueryOptions, record: OwnRecord | undefined): Promise<QueryOutcome> {
    await this.enforceRateLimit(caller);
    // The conversation step: a follow-up becomes the search it means (404 for a bad id).
    const placed = await this.deps.conversation.place(caller.userId, request);
    const search = placed.search;

    const { provider, cache } = this.deps;
    const key = cacheKey(search, { provider: provider.name, model: provider.model, catalogVersion: provider.catalogVersion });
    const lookup = await cache.get(key, { skipRead: options.noCache === true });

    let result: QueryOutcome;
    if (lookup.status === 'hit') {
      const cost = this.settings.cachedQueryCost;
      const charge = await this.charge(caller, cost, 'Assistant answer (cached)', record);
      options.onCharged?.(this.outcome(UNKNOWN_YET, placed, { cached: true, cost, charge, cache: 'HIT' }));
      const value = lookup.value as unknown as AssistantAnswer;
      result = this.outcome(value, placed, { cached: true, cost, charge, cache: 'HIT' });
      await this.recordAnswer(caller, charge, result, record, key);
      await this.deps.conversation.record(caller.userId, placed, request, value, this.now());
      return result;
    }

    const cost = this.settings.queryCost;
    const charge = await this.charge(caller, cost, 'Assistant answer', record);
    const cacheHeader: CacheHeader = lookup.status === 'bypass' ? 'BYPASS' : 'MISS';
    options.onCharged?.(this.outcome(UNKNOWN_YET, placed, { cached: false, cost, charge, cache: cacheHeader }));
    let fresh: AssistantAnswer;
    try {
      fresh = await this.callProvider(key, search, options.listener && this.explained(placed, options.listener));
    } catch (err) {
      await this.refund(caller, charge, cost, err, record);
      throw err;
    }
    await cache.set(key, fresh as unknown as Parameters<QueryCacheService['set']>[1]);
    result = this.outcome(fresh, placed, { cached: false, cost, charge, cache: cacheHeader });
    await this.recordAnswer(caller, charge, result, record, key);
    // The turn is kept once the answer stands (recorded and settled).
    await this.deps.conversation.record(caller.userId, placed, request, fresh, this.now());
    return result;
  }

  /**
   * Records the answer and settles its hold, the step before the 200: with an Idempotency-Key,
   * the record's outcome and the settle are one step (both or neither); without, the settle
   * alone. A hold that is no longer open (the sweep refunded it, or another attempt took the
   * record over) gets no 200: the shopper is told to try again, and is not charged for this one.
   * `cacheKey`: the cache entry holding the answer, which the record may refer to (ADR 0010).
   */
  private async recordAnswer(caller: Caller, charge: ChargeOutcome, result: QueryOutcome, record: OwnRecord | undefined, cacheKey?: string): Promise<void> {
    const { idempotency, credits } = this.deps;
    const cost = result.body.creditsCharged;
    let recorded: boolean;
    try {
      if (record) {
        const kept: Replayable = {
          answer: result.body.answer,
          products: result.body.products,
          cached: result.body.cached,
          creditsCharged: result.body.creditsCharged,
          cache: result.cache,
          conversationId: result.body.conversationId,
          resolvedQuery: result.body.resolvedQuery,
        };
        recorded = await idempotency.complete(caller.userId, record.key, record.attempt, kept as unknown as Record<string, unknown>, charge.chargeId, { cacheKey });
      } else {
        recorded = charge.chargeId === null || (await credits.settle(caller, charge.chargeId)) === 'settled';
      }
    } catch (err) {
      // The statement's outcome is unknown: it timed out or lost its connection, and may still
      // commit. That is never answered 503 as it stands (a charged answer would be lost): the
      // hold decides, below. Without a hold there is no charge to lose.
      if (charge.chargeId === null) throw err;
      recorded = await this.decideHold(caller, charge.chargeId, cost, err);
    }
    if (recorded) return;
    // Nothing was recorded or settled: the hold is refunded (or belongs to the attempt that took
    // the record over), so this attempt's record may go.
    if (record) record.chargeMayStand = false;
    this.deps.logger.warn({ chargeId: charge.chargeId, userKind: userKind(caller) }, 'an answer came too late for its hold: not recorded, not charged');
    throw new AppError('SERVICE_UNAVAILABLE', 'The answer took too long to record and was not charged; please try again.', {
      headers: { 'Retry-After': '1' },
    });
  }

  /**
   * Decides a hold whose settle (alone, or with its answer's record) has an unknown outcome: the
   * request's own refund takes the hold's row lock, so it either finds the hold settled (the
   * settle, and with it the record, landed: true, the answer goes out) or refunds it (false: not
   * charged). The hold cannot expire meanwhile (it outlives the request budget), so the decision
   * is retried for `decideWindowMs` while the database is out of reach; only when it never answers is the
   * outcome left open: the hold then ends settled (an answer lost on the way) or refunded by the
   * sweep, and the charge id is logged for an operator.
   */
  private async decideHold(caller: Caller, chargeId: string, cost: number, cause: unknown): Promise<boolean> {
    let last: unknown = cause;
    // Tries until the window closes (a refused connection fails at once, a hanging one takes the
    // guard's bound): the window is counted in the request budget, so the hold outlives it.
    const deadline = Date.now() + this.settings.decideWindowMs;
    for (let attempt = 0; attempt === 0 || Date.now() < deadline; attempt++) {
      if (attempt > 0) await sleep(Math.min(DECIDE_BACKOFF_MAX_MS, DECIDE_BACKOFF_MS * 2 ** (attempt - 1), Math.max(0, deadline - Date.now())));
      try {
        const result = await this.deps.credits.refund(caller, chargeId, REFUND_DESCRIPTION);
        if (result === 'refunded') this.deps.metrics.creditsRefunded.inc({ user_kind: userKind(caller) }, cost);
        return result === 'settled';
      } catch (err) {
        last = err;
      }
    }
    this.deps.logger.error({ err: last, chargeId, userKind: userKind(caller) }, 'answer outcome unknown: its hold ends settled, or refunded by the sweep');
    throw last;
  }

  private outcome(
    answer: AssistantAnswer,
    placed: PlacedQuestion,
    o: { cached: boolean; cost: number; charge: ChargeOutcome; cache: CacheHeader },
  ): QueryOutcome {
    const account = o.charge.account;
    return {
      body: {
        answer: this.deps.conversation.answerText(placed, answer.answer),
        products: answer.products,
        cached: o.cached,
        creditsCharged: o.cost,
        credits: { available: o.charge.balanceAfter, max: account.max, resetsAt: account.resetsAt.toISOString() },
        conversationId: placed.conversationId,
        resolvedQuery: resolvedQueryOf(placed),
      },
      cache: o.cache,
      replayed: false,
      account: { available: o.charge.balanceAfter, max: account.max, resetsAt: account.resetsAt },
      ...(placed.reset ? { conversationReset: true } : {}),
    };
  }

  private async enforceRateLimit(caller: Caller): Promise<void> {
    const limit = this.settings.rateLimitPerMinute;
    if (limit <= 0) return;
    const hit = await this.deps.rateLimit.hit(`query:${caller.userId}`, 60);
    if (hit.count > limit) {
      const retryAfter = Math.max(1, Math.ceil((hit.resetsAt.getTime() - this.now().getTime()) / 1000));
      throw new AppError('RATE_LIMITED', `At most ${limit} questions per minute; try again in ${retryAfter} s.`, {
        headers: { 'Retry-After': String(retryAfter) },
      });
    }
  }

  /**
   * Takes the request's charge as a hold. With an Idempotency-Key its ledger key comes from the
   * record's charge token, so a retry that took a crashed attempt's record over replays that
   * attempt's charge and adopts its open hold instead of charging twice. A replayed charge whose
   * hold is no longer open (refunded by the sweep) cannot be adopted, nor can one of another cost:
   * the record gets a new charge token and the retry is charged afresh.
   */
  private async charge(caller: Caller, cost: number, description: string, record: OwnRecord | undefined): Promise<ChargeOutcome> {
    for (let round = 0; ; round++) {
      // Hashed: the key may be 255 characters, and the ledger column holds 255 in all.
      const ledgerKey = record && cost > 0 ? `query:${createHash('sha256').update(`${record.key}\u0000${record.chargeToken}`).digest('hex')}` : undefined;
      if (record && cost > 0) record.chargeMayStand = true;
      let outcome: ChargeOutcome;
      try {
        outcome = await this.deps.credits.charge(caller, cost, description, ledgerKey, { holdMs: this.settings.holdMs });
      } catch (err) {
        // Refused (402) or clashing: nothing was charged. Anything else may have landed.
        if (record && isAppError(err) && err.status < 500) record.chargeMayStand = false;
        if (record && round === 0 && err instanceof ChargeConflictError) {
          // The key holds the crashed attempt's charge of another cost (a fresh answer then, a
          // cached one now): charge this one afresh, and give that one back now.
          await this.renewChargeToken(caller, record);
          await this.refund(caller, { chargeId: err.priorChargeId }, 0, 'its answer changed on retry', undefined);
          continue;
        }
        throw err;
      }
      if (outcome.replayed && outcome.hold !== 'held' && record && round === 0) {
        // That charge has ended (refunded by the sweep): it cannot be adopted.
        await this.renewChargeToken(caller, record);
        continue;
      }
      if (cost > 0 && !outcome.replayed) this.deps.metrics.creditsCharged.inc({ user_kind: userKind(caller) }, cost);
      return outcome;
    }
  }

  private async renewChargeToken(caller: Caller, record: OwnRecord): Promise<void> {
    const token = await this.deps.idempotency.renewChargeToken(caller.userId, record.key, record.attempt);
    if (token === undefined) {
      throw new AppError('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still running; retry shortly.', {
        headers: { 'Retry-After': '1' },
      });
    }
    record.chargeToken = token;
  }

  /**
   * Gives a charge back: after the assistant failed, or a crashed attempt's hold that a retry
   * cannot adopt. When the database cannot be reached for it, the charge's hold is left to the
   * sweep, which refunds it within CHARGE_HOLD_SECONDS: no refund waits in this process's
   * memory, so none is lost to a restart.
   */
  private async refund(caller: Caller, charge: Pick<ChargeOutcome, 'chargeId'>, cost: number, cause: unknown, record: OwnRecord | undefined): Promise<void> {
    if (!charge.chargeId) return;
    try {
      const result = await this.deps.credits.refund(caller, charge.chargeId, REFUND_DESCRIPTION);
      if (result === 'refunded' && cost > 0) this.deps.metrics.creditsRefunded.inc({ user_kind: userKind(caller) }, cost);
      if (record && result !== 'settled') record.chargeMayStand = false;
    } catch (err) {
      this.deps.logger.error(
        { err, chargeId: charge.chargeId, userKind: userKind(caller), cause: describe(cause) },
        'refund failed; the hold is refunded by the sweep',
      );
    }
  }

  /** The listener told the answer text as `answerText` gives it: a follow-up's explanation first. */
  private explained(placed: PlacedQuestion, listener: AnswerListener): AnswerListener {
    const prefix = this.deps.conversation.answerText(placed, '');
    let first = true;
    return {
      products: (products) => listener.products(products),
      delta: (text) => {
        listener.delta(first ? `${prefix}${text}` : text);
        first = false;
      },
    };
  }

  /** One provider call per cache key at a time on this process; later identical misses share it. */
  private callProvider(key: string, request: AssistantRequest, listener?: AnswerListener): Promise<AssistantAnswer> {
    const running = this.inflight.get(key);
    if (running) return running;
    const call = this.callUnderBreaker(request, listener).finally(() => this.inflight.delete(key));
    this.inflight.set(key, call);
    return call;
  }

  private async callUnderBreaker(request: AssistantRequest, listener: AnswerListener | undefined): Promise<AssistantAnswer> {
    const { provider, breaker, metrics } = this.deps;
    const started = performance.now();
    let outcome: 'ok' | 'error' | 'timeout' = 'ok';
    try {
      return await breaker.run(() => withTimeout(this.settings.timeoutMs, (signal) => provider.answer(request, signal, listener)));
    } catch (err) {
      if (err instanceof BreakerOpenError) {
        outcome = 'error';
        throw new AppError('SERVICE_UNAVAILABLE', 'The product assistant is temporarily unavailable; try again shortly.', {
          headers: { 'Retry-After': String(Math.max(1, breaker.secondsUntilProbe())) },
          cause: err,
        });
      }
      if (err instanceof AssistantTimeoutError) {
        outcome = 'timeout';
        throw err;
      }
      // An upstream error is a 502; anything else is an error of ShopAssist's own code, a 500 for
      // this request alone. Only upstream outages count towards the breaker (see its isFailure).
      outcome = 'error';
      throw err;
    } finally {
      metrics.assistantDuration.observe({ provider: provider.name, outcome }, (performance.now() - started) / 1000);
    }
  }
}

function creditsOf(account: CreditAccount): QueryResult['credits'] {
  return { available: account.available, max: account.max, resetsAt: account.resetsAt.toISOString() };
}

function userKind(caller: Caller): 'guest' | 'registered' {
  return caller.isGuest ? 'guest' : 'registered';
}

/** The same request body gives the same hash whatever the key order of its objects. */
export function hashRequest(request: AssistantRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/** Runs `task` with a signal that fires after `ms`; a fired signal settles as AssistantTimeoutError. */
async function withTimeout<T>(ms: number, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`timed out after ${ms} ms`));
      reject(new AssistantTimeoutError());
    }, ms);
  });
  try {
    return await Promise.race([task(controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
