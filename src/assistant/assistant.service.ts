import type { QueryCacheService } from '../cache/query-cache.service.js';
import { cacheKey } from '../cache/cache-key.js';
import type { CreditAccount } from '../credits/credit.repository.js';
import type { ChargeOutcome, CreditService } from '../credits/credit.service.js';
import type { IdempotencyStore } from '../idempotency/idempotency.store.js';
import type { Caller } from '../identity/caller.js';
import type { Breaker } from '../platform/breaker.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { AnswerListener, AnsweredProduct, AssistantAnswer, AssistantProvider, AssistantRequest } from './providers/provider.js';
import type { ResolvedQuery } from '../conversations/conversation.store.js';
import { AnswerRecordStep } from './answer-record.step.js';
import type { Consent } from '../consent/consent.repository.js';
import type { AnswerFinish } from './gate/answer-finish.js';
import type { GateResult, QueryGate } from './gate/query-gate.js';
import { systemClock, type Clock } from './clock.js';
import { resolvedQueryOf, type ConversationalQuestion, type ConversationStep, type PlacedQuestion } from './conversation.step.js';
import { HoldStep } from './hold.step.js';
import { IdempotencyStep, type OwnRecord } from './idempotency.step.js';
import { ProviderCallStep } from './provider-call.step.js';
import { answerToJson, StoredAnswers } from './stored-answer.js';

export { hashRequest } from './idempotency.step.js';

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
  /** `JSON.stringify(body.products)`, when it was made already (a cached answer's, once per cache entry). */
  productsJson?: string;
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
  /** The longest one try of that refund can take (the database guard's bound). */
  decideTryMs?: number;
  /** How long a retry waits for an attempt with the same key still running. */
  idempotencyWaitMs?: number;
  idempotencyPollMs?: number;
}

export interface AssistantDeps {
  credits: CreditService;
  cache: QueryCacheService;
  idempotency: IdempotencyStore;
  /** The reads before a charge (consent, rate limit, cache entry, balance), together where the storage allows. */
  gate: QueryGate;
  /** A fresh answer's settle, cache write and turn as one step, where the storage allows (else each on its own). */
  finish?: AnswerFinish | undefined;
  provider: AssistantProvider;
  /** Places each question in its conversation (follow-ups) and keeps its turn. */
  conversation: ConversationStep;
  breaker: Breaker;
  metrics: Metrics;
  logger: Logger;
  /** The clock every step reads and waits by (tests inject their own); the system clock when unset. */
  clock?: Clock;
}

/** What `onCharged` is told in place of the answer it precedes. */
const UNKNOWN_YET: AssistantAnswer = Object.freeze({ answer: '', products: [] }) as AssistantAnswer;

/**
 * Answers a shopper's question, in the contract's order of checks (the reads before the charge
 * taken together by the query gate where the storage allows): consent → idempotency →
 * rate limit → cache lookup → charge (a hold) → assistant call (on a miss) → cache write →
 * answer recorded and hold settled → 200. A charge is refunded before any error that follows it
 * is returned; when even that refund cannot be made, the charge's hold is refunded by the sweep,
 * so a 5xx after a charge always means the credits are back or will be. Identical concurrent
 * misses on one process share one provider call; each request is still charged on its own.
 *
 * Each step lives in its own file: the Idempotency-Key protocol (idempotency.step.ts), the hold
 * and every way it ends (hold.step.ts), the provider call (provider-call.step.ts), the answer's
 * record with its settle (answer-record.step.ts) and the conversation (conversation.step.ts).
 */
export class AssistantService {
  private readonly clock: Clock;
  private readonly keys: IdempotencyStep;
  private readonly holds: HoldStep;
  private readonly providerCall: ProviderCallStep;
  private readonly recording: AnswerRecordStep;
  /** Cache entries served lately, validated and with their products serialised once. */
  private readonly storedAnswers = new StoredAnswers();

  constructor(
    private readonly deps: AssistantDeps,
    private readonly settings: AssistantSettings,
  ) {
    const clock = (this.clock = deps.clock ?? systemClock);
    const { credits, idempotency, metrics, logger } = deps;
    this.keys = new IdempotencyStep(
      { idempotency, credits, logger, clock },
      { leaseMs: settings.leaseMs, waitMs: settings.idempotencyWaitMs ?? 5000, pollMs: settings.idempotencyPollMs ?? 100 },
    );
    this.holds = new HoldStep({ credits, idempotency: this.keys, metrics, logger, clock }, settings);
    this.providerCall = new ProviderCallStep({ provider: deps.provider, breaker: deps.breaker, metrics, clock }, settings.timeoutMs);
    this.recording = new AnswerRecordStep({ idempotency: this.keys, holds: this.holds, logger });
  }

  get provider(): AssistantProvider {
    return this.deps.provider;
  }

  async query(caller: Caller, request: QuestionRequest, options: QueryOptions = {}): Promise<QueryOutcome> {
    const key = options.idempotencyKey;
    if (!key) return this.answer(caller, request, options, undefined);

    // Consent comes before the key: a shopper without it never claims one (the gate claims only
    // for a shopper who accepted the terms, in the round trip that reads their consent).
    const begun = await this.keys.begin(caller, key, request, async (claim) => {
      const claimed = await this.deps.gate.claim({ caller, claim });
      requireConsent(claimed.consent);
      return claimed.begun;
    });
    if ('replay' in begun) return this.keys.replay(caller, begun.replay);
    try {
      return await this.answer(caller, request, options, begun.record);
    } catch (err) {
      await this.keys.release(caller, begun.record);
      throw err;
    }
  }

  /** `record`: the Idempotency-Key record this attempt owns, when the request has a key. */
  private async answer(caller: Caller, request: QuestionRequest, options: QueryOptions, record: OwnRecord | undefined): Promise<QueryOutcome> {
    const { provider, cache, conversation, gate } = this.deps;
    const keyOf = (search: AssistantRequest) => cacheKey(search, { provider: provider.name, model: provider.model, catalogVersion: provider.catalogVersion });
    // A new question is placed without the conversation store, so its cache entry can be read in
    // the gate; a follow-up is placed after the gate (the rate limit comes before its 404).
    const early = request.conversationId === undefined ? await conversation.place(caller.userId, request) : undefined;
    const earlyKey = early && keyOf(early.search);
    const readInGate = earlyKey !== undefined && gate.readsCache && options.noCache !== true && cache.readableElsewhere;
    // A cache the gate does not hold (Redis) is read beside it, and counted once the gate passed.
    const beside = earlyKey !== undefined && !readInGate && options.noCache !== true ? cache.prefetch(earlyKey) : undefined;
    const limit = this.settings.rateLimitPerMinute;
    const free = this.settings.cachedQueryCost === 0;
    // A cached answer that costs nothing stands with the gate, so its new conversation's first turn
    // is kept in the same statement. With a key it stands once its record is completed; should
    // that fail, the answer is not given, nor the new conversation's id with it: that turn is
    // never read, and expires.
    const firstTurn = early && readInGate && free && gate.keepsTurns ? conversation.firstTurn(early, request, new Date(this.clock.now())) : undefined;
    // A new question whose cache entry the gate reads (or which asked for no cache) is charged
    // there when it turns out to be fresh: nothing after the gate can refuse it before its charge.
    const cost = this.settings.queryCost;
    const freshCharge = early && gate.chargesFresh && cost > 0 && (readInGate || options.noCache === true) ? this.holds.asked(cost, 'Assistant answer', record) : undefined;
    const gated = await gate.open({
      caller,
      rateLimit: limit > 0 ? { key: `query:${caller.userId}`, windowSeconds: 60, max: limit } : undefined,
      cacheKey: readInGate ? earlyKey : undefined,
      balance: free,
      firstTurn,
      charge: freshCharge,
    });
    // Not tried there: nothing was charged for this attempt's record yet.
    if (freshCharge && !gated.charge && record) record.chargeMayStand = false;
    // With a key, consent was checked before it; read again here, a withdrawal meanwhile still counts.
    requireConsent(gated.consent);
    this.enforceRateLimit(gated);

    // The conversation step: a follow-up becomes the search it means (404 for a bad id).
    const placed = early ?? (await conversation.place(caller.userId, request));
    const search = placed.search;
    const key = earlyKey ?? keyOf(search);
    const lookup = gated.cache ? cache.found(gated.cache) : beside ? await beside() : await cache.get(key, { skipRead: options.noCache === true });
    // An entry without an answer's shape is not served: the question is answered afresh and the entry overwritten.
    const stored = lookup.status === 'hit' ? this.storedAnswers.read(key, lookup.value) : undefined;
    const cached = stored?.answer;

    // A question the gate charged is answered afresh (it found no entry, so none is served).
    if (cached && !gated.charge) {
      const cost = this.settings.cachedQueryCost;
      const charge = await this.holds.charge(caller, cost, 'Assistant answer (cached)', record, gated.account);
      options.onCharged?.(this.outcome(UNKNOWN_YET, placed, { cached: true, cost, charge, cache: 'HIT' }));
      const result = this.outcome(cached, placed, { cached: true, cost, charge, cache: 'HIT' });
      result.productsJson = stored.productsJson;
      await this.recording.record(caller, charge, result, record, key);
      if (!gated.turnKept) await this.deps.conversation.record(caller.userId, placed, request, cached, new Date(this.clock.now()));
      return result;
    }

    const charge = await this.holds.charge(caller, cost, 'Assistant answer', record, undefined, gated.charge);
    const cacheHeader: CacheHeader = lookup.status === 'bypass' ? 'BYPASS' : 'MISS';
    options.onCharged?.(this.outcome(UNKNOWN_YET, placed, { cached: false, cost, charge, cache: cacheHeader }));
    let fresh: AssistantAnswer;
    try {
      fresh = await this.providerCall.answer(key, search, options.listener && this.explained(placed, options.listener));
    } catch (err) {
      await this.holds.refund(caller, charge, cost, err, record);
      throw err;
    }
    const result = this.outcome(fresh, placed, { cached: false, cost, charge, cache: cacheHeader });
    const finish = this.deps.finish;
    const chargeId = charge.chargeId;
    if (finish && chargeId !== null) {
      // One statement: the settle (with the record's completion), with the cache entry and the turn riding on it.
      const now = new Date(this.clock.now());
      const turn = conversation.turnToKeep(placed, request, fresh, now);
      const { turnKept } = await this.recording.finish(caller, finish, { ...charge, chargeId }, result, record, {
        cache: cache.readableElsewhere ? { key, json: JSON.stringify(answerToJson(fresh)), ttlSeconds: cache.ttlSeconds } : undefined,
        turn,
      });
      if (!turnKept) await conversation.record(caller.userId, placed, request, fresh, now);
      return result;
    }
    await cache.set(key, answerToJson(fresh));
    await this.recording.record(caller, charge, result, record, key);
    // The turn is kept once the answer stands (recorded and settled).
    await this.deps.conversation.record(caller.userId, placed, request, fresh, new Date(this.clock.now()));
    return result;
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

  private enforceRateLimit({ rateHit: hit }: GateResult): void {
    const limit = this.settings.rateLimitPerMinute;
    if (limit <= 0 || !hit) return;
    if (hit.count > limit) {
      const retryAfter = Math.max(1, Math.ceil((hit.resetsAt.getTime() - this.clock.now()) / 1000));
      throw new AppError('RATE_LIMITED', `At most ${limit} questions per minute; try again in ${retryAfter} s.`, {
        headers: { 'Retry-After': String(retryAfter) },
      });
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
}

function requireConsent(consent: Consent | undefined): void {
  if (!consent?.termsAccepted) {
    throw new AppError('CONSENT_REQUIRED', 'Accept the terms (PUT /api/v1/consent) before asking the assistant.');
  }
}
