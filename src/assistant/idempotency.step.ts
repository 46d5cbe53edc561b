import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { resolvedQuerySchema } from '../conversations/conversation.schemas.js';
import type { CreditService } from '../credits/credit.service.js';
import type { BeginParams, BeginResult, IdempotencyStore, StoredResponse } from '../idempotency/idempotency.store.js';
import type { Caller } from '../identity/caller.js';
import { canonicalJson } from '../platform/canonical-json.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { QueryOutcome } from './assistant.service.js';
import type { Clock } from './clock.js';
import type { AssistantRequest } from './providers/provider.js';
import { storedProduct } from './stored-answer.js';

const IDEMPOTENCY_TTL_MS = 24 * 3600_000;

/** What an idempotency record keeps of a completed request, checked as it is read back. */
const replayable = z.object({
  answer: z.string(),
  products: z.array(storedProduct),
  cached: z.boolean(),
  creditsCharged: z.number(),
  cache: z.enum(['HIT', 'MISS', 'BYPASS']),
  conversationId: z.string(),
  resolvedQuery: resolvedQuerySchema,
});
export type Replayable = z.infer<typeof replayable>;

/** The Idempotency-Key record this attempt owns, and whether its charge may stand. */
export interface OwnRecord {
  key: string;
  attempt: string;
  chargeToken: string;
  /**
   * True from the moment a charge could have landed until it is known refunded (or never taken):
   * a failed attempt's record is then released for a retry to adopt, not deleted.
   */
  chargeMayStand: boolean;
}

export interface IdempotencySettings {
  /** The longest a request can run after its charge: a crashed attempt's record is taken over once it has passed. */
  leaseMs: number;
  /** How long a retry waits for an attempt with the same key still running. */
  waitMs: number;
  pollMs: number;
}

/**
 * The query route's Idempotency-Key protocol: `begin` runs this attempt (owning the record) or
 * resolves the completed outcome to `replay`, waiting a while for an attempt still running;
 * `complete` records the outcome with the hold's settle (both or neither); `release` lets a
 * failed attempt's record go, kept for a retry to adopt when its charge may stand.
 */
export class IdempotencyStep {
  constructor(
    private readonly deps: { idempotency: IdempotencyStore; credits: CreditService; logger: Logger; clock: Clock },
    private readonly settings: IdempotencySettings,
  ) {}

  /**
   * This attempt's record when it may run, or the stored outcome to replay. `first`: how the first
   * claim is made (the query gate's, with consent); undefined from it, and every later try while
   * another attempt runs, go to the idempotency store.
   */
  async begin(
    caller: Caller,
    key: string,
    request: AssistantRequest,
    first?: (params: BeginParams) => Promise<BeginResult | undefined>,
  ): Promise<{ record: OwnRecord } | { replay: Replayable }> {
    const { idempotency, clock } = this.deps;
    const params: BeginParams = {
      userId: caller.userId,
      key,
      requestHash: hashRequest(request),
      attempt: randomUUID(),
      ttlMs: IDEMPOTENCY_TTL_MS,
      // A crashed attempt's record frees itself once no live attempt could still be running.
      leaseMs: this.settings.leaseMs,
    };
    const deadline = clock.now() + this.settings.waitMs;
    let claim = first;
    for (;;) {
      const begun = (claim && (await claim(params))) || (await idempotency.begin(params));
      claim = undefined;
      switch (begun.state) {
        case 'started':
          return { record: { key, attempt: params.attempt, chargeToken: begun.chargeToken, chargeMayStand: false } };
        case 'completed':
          return { replay: this.readBack(begun.response) };
        case 'conflict':
          throw new AppError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used with a different request body.');
        case 'in_progress':
          if (clock.now() + this.settings.pollMs > deadline) throw stillRunning();
          await clock.sleep(this.settings.pollMs);
      }
    }
  }

  /** The stored outcome again, with the balance as it is now; charges nothing. */
  async replay(caller: Caller, kept: Replayable): Promise<QueryOutcome> {
    const account = await this.deps.credits.get(caller);
    return {
      body: {
        answer: kept.answer,
        products: kept.products,
        cached: kept.cached,
        creditsCharged: kept.creditsCharged,
        credits: { available: account.available, max: account.max, resetsAt: account.resetsAt.toISOString() },
        conversationId: kept.conversationId,
        resolvedQuery: kept.resolvedQuery,
      },
      cache: kept.cache,
      replayed: true,
      account,
    };
  }

  /**
   * Records the outcome and settles `holdId` as one step; false when the hold is no longer open or
   * the record no longer this attempt's. `cacheKey`: the cache entry holding the answer, which the
   * record may refer to instead of keeping a copy (ADR 0011).
   */
  complete(caller: Caller, record: OwnRecord, result: QueryOutcome, holdId: string | null, cacheKey?: string): Promise<boolean> {
    return this.deps.idempotency.complete(caller.userId, record.key, record.attempt, replayableOf(result), holdId, { cacheKey });
  }

  /** What the record keeps of `result`, as `complete` keeps it, for a step that completes the record itself (the answer's finish). */
  completion(record: OwnRecord, result: QueryOutcome): { key: string; attempt: string; response: string } {
    return { key: record.key, attempt: record.attempt, response: JSON.stringify(replayableOf(result)) };
  }

  /**
   * After a failure: a failed attempt is not kept (a retry runs afresh), unless its charge may
   * stand; then the record is released, and a retry takes it over at once and adopts that
   * charge's hold. Never throws: a record that cannot be reached frees itself when its lease ends.
   */
  async release(caller: Caller, record: OwnRecord): Promise<void> {
    const { idempotency, logger } = this.deps;
    const { key, attempt } = record;
    const release = record.chargeMayStand ? idempotency.release(caller.userId, key, attempt) : idempotency.abandon(caller.userId, key, attempt);
    await release.catch((e: unknown) => {
      logger.warn({ err: e }, 'could not release an idempotency key after a failure; it frees itself when its lease ends');
    });
  }

  /** Gives this attempt's record a new charge token: its old charge can no longer be adopted. */
  async renewChargeToken(caller: Caller, record: OwnRecord): Promise<void> {
    const token = await this.deps.idempotency.renewChargeToken(caller.userId, record.key, record.attempt);
    if (token === undefined) throw stillRunning();
    record.chargeToken = token;
  }

  private readBack(response: StoredResponse): Replayable {
    const parsed = replayable.safeParse(response);
    if (parsed.success) return parsed.data;
    this.deps.logger.error({ issues: parsed.error.issues.slice(0, 5) }, 'an idempotency record holds no replayable outcome');
    throw new Error('an idempotency record holds no replayable outcome', { cause: parsed.error });
  }
}

/** The same request body gives the same hash whatever the key order of its objects. */
export function hashRequest(request: AssistantRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

function stillRunning(): AppError {
  return new AppError('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still running; retry shortly.', {
    headers: { 'Retry-After': '1' },
  });
}

/** The outcome a replay answers with again. */
function replayableOf(result: QueryOutcome): Replayable {
  return {
    answer: result.body.answer,
    products: result.body.products,
    cached: result.body.cached,
    creditsCharged: result.body.creditsCharged,
    cache: result.cache,
    conversationId: result.body.conversationId,
    resolvedQuery: result.body.resolvedQuery,
  };
}
