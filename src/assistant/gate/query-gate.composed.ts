import type { ConsentRepository } from '../../consent/consent.repository.js';
import type { IdempotencyStore } from '../../idempotency/idempotency.store.js';
import type { RateLimitStore } from '../../rate-limit/rate-limit.store.js';
import type { ClaimRequest, ClaimResult, GateRequest, GateResult, QueryGate } from './query-gate.js';

/**
 * The gate of memory storage (and of any storage without a one-statement gate): the consent
 * record from its repository, then the rate-limit hit from its store (or the key's claim from the
 * idempotency store), in the contract's order.
 * The cache is not read here (the query cache service reads it, with its own breaker), the
 * balance and the charge are left to the credit service, and no turn is kept (the conversation
 * step keeps it).
 */
export class ComposedQueryGate implements QueryGate {
  readonly readsCache = false;
  readonly keepsTurns = false;
  readonly chargesFresh = false;

  constructor(private readonly stores: { consents: ConsentRepository; rateLimits: RateLimitStore; idempotency: IdempotencyStore }) {}

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const consent = await this.stores.consents.get(request.caller.userId);
    return { consent, begun: consent?.termsAccepted ? await this.stores.idempotency.begin(request.claim) : undefined };
  }

  async open(request: GateRequest): Promise<GateResult> {
    const consent = await this.stores.consents.get(request.caller.userId);
    const limit = request.rateLimit;
    const rateHit = consent?.termsAccepted && limit ? await this.stores.rateLimits.hit(limit.key, limit.windowSeconds) : undefined;
    return { consent, rateHit, cache: undefined, account: undefined, turnKept: false };
  }
}
