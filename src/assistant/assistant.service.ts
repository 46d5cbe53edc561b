import { createHash, randomUUID } from 'node:crypto';
import type { QueryCacheService } from '../cache/query-cache.service.js';
import { cacheKey } from '../cache/cache-key.js';
import type { ConsentService } from '../consent/consent.service.js';
import type { CreditAccount } from '../credits/credit.repository.js';
import type { ChargeOutcome, CreditService } from '../credits/credit.service.js';
import type { IdempotencyStore } from '../idempotency/idempotency.store.js';
import type { Caller } from '../identity/caller.js';
import type { RateLimitStore } from '../rate-limit/rate-limit.store.js';
import { BreakerOpenError, type Breaker } from '../platform/breaker.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import {
  AssistantTimeoutError,
  type AnsweredProduct,
  type AssistantAnswer,
  type AssistantProvider,
  type AssistantRequest,
} from './providers/provider.js';
import { canonicalJson } from '../platform/canonical-json.js';

export type CacheHeader = 'HIT' | 'MISS' | 'BYPASS';

export interface QueryOptions {
  /** The `Idempotency-Key` header, already validated. */
  idempotencyKey?: string | undefined;
  /** `Cache-Control: no-cache`: skip the cache read (the fresh answer is still written). */
  noCache?: boolean;
}

export interface QueryResult {
  answer: string;
  products: AnsweredProduct[];
  cached: boolean;
  creditsCharged: number;
  credits: { available: number; max: number; resetsAt: string };
}

export interface QueryOutcome {
  body: QueryResult;
  cache: CacheHeader;
  /** True when an earlier request with the same Idempotency-Key and body was replayed. */
  replayed: boolean;
  /** For the balance headers. */
  account: Pick<CreditAccount, 'available' | 'max' | 'resetsAt'>;
}

/** What an idempotency record keeps of a completed request. */
interface Replayable {
  answer: string;
  products: AnsweredProduct[];
  cached: boolean;
  creditsCharged: number;
  cache: CacheHeader;
}

export interface AssistantSettings {
  queryCost: number;
  cachedQueryCost: number;
  /** Per user and minute; 0 turns the limit off. */
  rateLimitPerMinute: number;
  timeoutMs: number;
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
  breaker: Breaker;
  metrics: Metrics;
  logger: Logger;
  now?: () => Date;
}

const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
const REFUND_DESCRIPTION = 'Refund: the assistant could not answer';
/** Background attempts of a refund that failed (backoff capped at 60 s: about half an hour). */
const REFUND_RETRIES = 35;

/**
 * Answers a shopper's question, in the contract's order of checks: consent → idempotency →
 * rate limit → cache lookup → charge → assistant call (on a miss) → cache write. A charge is
 * refunded before any error that follows it is returned, so a 5xx after a charge always means
 * the credits are back. Identical concurrent misses on one process share one provider call;
 * each request is still charged on its own.
 */
export class AssistantService {
  private readonly inflight = new Map<string, Promise<AssistantAnswer>>();
  private readonly pendingRefunds = new Map<string, NodeJS.Timeout>();
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

  async query(caller: Caller, request: AssistantRequest, options: QueryOptions = {}): Promise<QueryOutcome> {
    const consent = await this.deps.consent.find(caller);
    if (!consent?.termsAccepted) {
      throw new AppError('CONSENT_REQUIRED', 'Accept the terms (PUT /api/v1/consent) before asking the assistant.');
    }

    const key = options.idempotencyKey;
    if (!key) return this.answer(caller, request, options, undefined);

    const attempt = randomUUID();
    const begun = await this.beginIdempotent(caller, key, hashRequest(request), attempt);
    if ('replay' in begun) return this.replay(caller, begun.replay);
    try {
      // Hashed: the key may be 255 characters, and the ledger column holds 255 in all.
      const chargeKey = `query:${createHash('sha256').update(`${key}\u0000${begun.chargeToken}`).digest('hex')}`;
      const outcome = await this.answer(caller, request, options, chargeKey);
      const kept: Replayable = {
        answer: outcome.body.answer,
        products: outcome.body.products,
        cached: outcome.body.cached,
        creditsCharged: outcome.body.creditsCharged,
        cache: outcome.cache,
      };
      await this.deps.idempotency.complete(caller.userId, key, attempt, kept as unknown as Record<string, unknown>);
      return outcome;
    } catch (err) {
      // A failed first attempt is not kept: a retry runs afresh.
      await this.deps.idempotency.abandon(caller.userId, key, attempt).catch((e: unknown) => {
        this.deps.logger.warn({ err: e }, 'could not release an idempotency key after a failure; it frees itself when its lease ends');
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
        leaseMs: this.settings.timeoutMs + 30_000,
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
      },
      cache: kept.cache,
      replayed: true,
      account,
    };
  }

  /** `chargeKey`: the ledger idempotency key of this request's charge, when it has one. */
  private async answer(caller: Caller, request: AssistantRequest, options: QueryOptions, chargeKey: string | undefined): Promise<QueryOutcome> {
    await this.enforceRateLimit(caller);

    const { provider, cache } = this.deps;
    const key = cacheKey(request, { provider: provider.name, model: provider.model, catalogVersion: provider.catalogVersion });
    const lookup = await cache.get(key, { skipRead: options.noCache === true });

    if (lookup.status === 'hit') {
      const cost = this.settings.cachedQueryCost;
      const charge = await this.charge(caller, cost, 'Assistant answer (cached)', chargeKey);
      const value = lookup.value as unknown as AssistantAnswer;
      return this.outcome(value, { cached: true, cost, charge, cache: 'HIT' });
    }

    const cost = this.settings.queryCost;
    const charge = await this.charge(caller, cost, 'Assistant answer', chargeKey);
    let fresh: AssistantAnswer;
    try {
      fresh = await this.callProvider(key, request);
    } catch (err) {
      await this.refund(caller, charge, cost, err);
      throw err;
    }
    await cache.set(key, fresh as unknown as Parameters<QueryCacheService['set']>[1]);
    return this.outcome(fresh, { cached: false, cost, charge, cache: lookup.status === 'bypass' ? 'BYPASS' : 'MISS' });
  }

  private outcome(
    answer: AssistantAnswer,
    o: { cached: boolean; cost: number; charge: ChargeOutcome; cache: CacheHeader },
  ): QueryOutcome {
    const account = o.charge.account;
    return {
      body: {
        answer: answer.answer,
        products: answer.products,
        cached: o.cached,
        creditsCharged: o.cost,
        credits: { available: o.charge.balanceAfter, max: account.max, resetsAt: account.resetsAt.toISOString() },
      },
      cache: o.cache,
      replayed: false,
      account: { available: o.charge.balanceAfter, max: account.max, resetsAt: account.resetsAt },
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

  private async charge(caller: Caller, cost: number, description: string, chargeKey: string | undefined): Promise<ChargeOutcome> {
    // The ledger key makes a retry that takes over a crashed attempt replay that attempt's charge
    // instead of charging twice; a retry after a failed (refunded, released) attempt gets a new
    // record and so a new key, and is charged afresh.
    const outcome = await this.deps.credits.charge(caller, cost, description, chargeKey);
    if (cost > 0 && !outcome.replayed) this.deps.metrics.creditsCharged.inc({ user_kind: userKind(caller) }, cost);
    return outcome;
  }

  private async refund(caller: Caller, charge: ChargeOutcome, cost: number, cause: unknown): Promise<void> {
    if (!charge.chargeId) return;
    try {
      await this.deps.credits.refund(caller, charge.chargeId, REFUND_DESCRIPTION);
      this.deps.metrics.creditsRefunded.inc({ user_kind: userKind(caller) }, cost);
    } catch (err) {
      // The database went away between the charge and the refund. A refund is idempotent (at most
      // once per charge), so it is retried in the background until the database answers again;
      // the caller gets the storage error (503) meanwhile.
      this.deps.logger.error(
        { err, chargeId: charge.chargeId, userKind: userKind(caller), cause: describe(cause) },
        'refund failed after an assistant error; retrying in the background',
      );
      this.retryRefund(caller, charge.chargeId, cost, 1);
      throw err;
    }
  }

  /** Retries a refund with exponential backoff (1 s … 60 s) for about half an hour. */
  private retryRefund(caller: Caller, chargeId: string, cost: number, attempt: number): void {
    const delay = Math.min(60_000, 1000 * 2 ** (attempt - 1));
    const timer = setTimeout(() => {
      this.pendingRefunds.delete(chargeId);
      this.deps.credits.refund(caller, chargeId, REFUND_DESCRIPTION).then(
        () => {
          this.deps.metrics.creditsRefunded.inc({ user_kind: userKind(caller) }, cost);
          this.deps.logger.info({ chargeId, attempt }, 'refund retried and done');
        },
        (err: unknown) => {
          if (attempt >= REFUND_RETRIES) {
            this.deps.logger.error({ err, chargeId, userKind: userKind(caller) }, 'refund still failing after retries: adjust this balance by hand');
            return;
          }
          this.retryRefund(caller, chargeId, cost, attempt + 1);
        },
      );
    }, delay);
    timer.unref();
    this.pendingRefunds.set(chargeId, timer);
  }

  /** Stops background refund retries; any still pending are logged for an operator. */
  close(): void {
    for (const [chargeId, timer] of this.pendingRefunds) {
      clearTimeout(timer);
      this.deps.logger.error({ chargeId }, 'refund still pending at shutdown: adjust this balance by hand');
    }
    this.pendingRefunds.clear();
  }

  /** One provider call per cache key at a time on this process; later identical misses share it. */
  private callProvider(key: string, request: AssistantRequest): Promise<AssistantAnswer> {
    const running = this.inflight.get(key);
    if (running) return running;
    const call = this.callUnderBreaker(request).finally(() => this.inflight.delete(key));
    this.inflight.set(key, call);
    return call;
  }

  private async callUnderBreaker(request: AssistantRequest): Promise<AssistantAnswer> {
    const { provider, breaker, metrics } = this.deps;
    const started = performance.now();
    let outcome: 'ok' | 'error' | 'timeout' = 'ok';
    try {
      return await breaker.run(() => withTimeout(this.settings.timeoutMs, (signal) => provider.answer(request, signal)));
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
