import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { AssistantService, hashRequest } from '../../src/assistant/assistant.service.js';
import { ConversationStep } from '../../src/assistant/conversation.step.js';
import { ConversationService } from '../../src/conversations/conversation.service.js';
import { createMemoryConversationStore } from '../../src/conversations/conversation.store.memory.js';
import { loadCatalog } from '../../src/assistant/catalog/catalog.js';
import { CatalogProvider } from '../../src/assistant/providers/catalog.js';
import { isUpstreamOutage } from '../../src/assistant/providers/provider.js';
import { createMemoryCacheStore } from '../../src/cache/cache.store.memory.js';
import { QueryCacheService } from '../../src/cache/query-cache.service.js';
import { ComposedQueryGate } from '../../src/assistant/gate/query-gate.composed.js';
import { MemoryConsentRepository } from '../../src/consent/consent.repository.memory.js';
import { ConsentService } from '../../src/consent/consent.service.js';
import { MemoryCreditRepository } from '../../src/credits/credit.repository.memory.js';
import { CreditService } from '../../src/credits/credit.service.js';
import { MemoryIdempotencyStore } from '../../src/idempotency/idempotency.store.memory.js';
import type { Caller } from '../../src/identity/caller.js';
import { BreakerRegistry } from '../../src/platform/breaker.js';
import { StorageUnavailableError } from '../../src/platform/errors.js';
import { createLogger } from '../../src/platform/logger.js';
import { Metrics } from '../../src/platform/metrics.js';
import { MemoryRateLimitStore } from '../../src/rate-limit/rate-limit.store.memory.js';

/**
 * The assistant service's hold rules on memory storage, with faults injected where the database
 * would fail: the outcome of a settle lost on the way, and a retry whose answer is now cached.
 */
const POLICY = { guestAllowance: 10, registeredAllowance: 10, resetPeriodMs: 24 * 3600_000 };
const logger = createLogger({ level: 'silent' });

async function setup(options: { settle?: 'lost-after-commit' | 'lost-before-commit'; complete?: 'lost-after-commit' | 'lost-before-commit'; breakerOpen?: true } = {}) {
  const repository = new MemoryCreditRepository(POLICY);
  const credits = new CreditService(repository);
  const idempotency = new MemoryIdempotencyStore(undefined, {}, repository);
  if (options.complete) {
    const complete = idempotency.complete.bind(idempotency);
    // The answer's record (with its settle) is sent; its reply never arrives.
    idempotency.complete = async (...args) => {
      if (options.complete === 'lost-after-commit') await complete(...args);
      throw new StorageUnavailableError(1);
    };
  }
  if (options.settle) {
    const settle = credits.settle.bind(credits);
    // The statement's answer never arrives: it committed (or not) and the caller hears a 503.
    credits.settle = async (caller, chargeId) => {
      if (options.settle === 'lost-after-commit') await settle(caller, chargeId);
      throw new StorageUnavailableError(1);
    };
  }
  if (options.breakerOpen) {
    const refund = credits.refund.bind(credits);
    // The database's breaker is open (other requests' failures): only an urgent call is made.
    credits.refund = async (caller, chargeId, description, refundOptions) => {
      if (!refundOptions?.urgent) throw new StorageUnavailableError(5);
      return refund(caller, chargeId, description, refundOptions);
    };
  }
  const consentRepository = new MemoryConsentRepository();
  const consents = new ConsentService(consentRepository);
  const breakers = new BreakerRegistry(logger);
  const service = new AssistantService(
    {
      credits,
      cache: new QueryCacheService(createMemoryCacheStore({ maxEntries: 100 }), { ttlSeconds: 60, logger }),
      idempotency,
      gate: new ComposedQueryGate({ consents: consentRepository, rateLimits: new MemoryRateLimitStore(), idempotency }),
      provider: new CatalogProvider(await loadCatalog(undefined)),
      conversation: new ConversationStep(new ConversationService(createMemoryConversationStore(), { ttlSeconds: 60, logger })),
      breaker: breakers.create('assistant', { timeoutMs: false, errorThresholdPercentage: 50, volumeThreshold: 5, resetTimeoutMs: 10_000, isFailure: isUpstreamOutage }),
      metrics: new Metrics(),
      logger,
    },
    { queryCost: 3, cachedQueryCost: 1, rateLimitPerMinute: 0, timeoutMs: 1000, holdMs: 60_000, leaseMs: 5000, decideWindowMs: 300 },
  );
  const caller: Caller = { userId: 'shopper-1', isGuest: false };
  await consents.record(caller, { termsAccepted: true, marketingConsent: false });
  const balance = async () => (await credits.get(caller)).available;
  return { service, credits, repository, caller, balance, close: () => breakers.shutdown() };
}

describe('a settle whose answer is lost (no Idempotency-Key)', () => {
  it('committed after all: the answer goes out, charged once', async () => {
    const { service, caller, balance, repository, close } = await setup({ settle: 'lost-after-commit' });
    const outcome = await service.query(caller, { query: 'waterproof hiking boots', limit: 3 });
    expect(outcome.body.creditsCharged).toBe(3);
    expect(await balance()).toBe(7);
    expect(await repository.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 0 });
    close();
  });

  it('committed after all, with the database\'s breaker open meanwhile: the deciding refund is still made, and the answer goes out', async () => {
    const { service, caller, balance, repository, close } = await setup({ settle: 'lost-after-commit', breakerOpen: true });
    const outcome = await service.query(caller, { query: 'waterproof hiking boots', limit: 3 });
    expect(outcome.body.creditsCharged).toBe(3);
    expect(await balance()).toBe(7);
    expect(await repository.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 0 });
    close();
  });

  it('never committed: the request refunds its own hold at once and answers 503, not charged', async () => {
    const { service, caller, balance, repository, close } = await setup({ settle: 'lost-before-commit' });
    await expect(service.query(caller, { query: 'waterproof hiking boots', limit: 3 })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(await balance()).toBe(10);
    expect(await repository.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 0 });
    close();
  });
});

describe('an answer recorded with its settle whose reply is lost (with an Idempotency-Key)', () => {
  it('committed after all: the answer goes out, charged once, and a retry replays it', async () => {
    const { service, caller, balance, repository, close } = await setup({ complete: 'lost-after-commit' });
    const request = { query: 'waterproof hiking boots', limit: 3 };
    const outcome = await service.query(caller, request, { idempotencyKey: 'k-lost' });
    expect(outcome.replayed).toBe(false);
    const retry = await service.query(caller, request, { idempotencyKey: 'k-lost' });
    expect(retry.replayed).toBe(true);
    expect(retry.body.answer).toBe(outcome.body.answer);
    expect(await balance()).toBe(7);
    expect(await repository.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 0 });
    close();
  });

  it('never committed: the request refunds its own hold at once and answers 503, not charged', async () => {
    const { service, caller, balance, repository, close } = await setup({ complete: 'lost-before-commit' });
    await expect(service.query(caller, { query: 'waterproof hiking boots', limit: 3 }, { idempotencyKey: 'k-lost' })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(await balance()).toBe(10);
    expect(await repository.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 0 });
    close();
  });
});

describe('a retry that cannot adopt the first attempt\'s hold', () => {
  it('gives that hold back at once when the retry is charged another cost (its answer is cached now)', async () => {
    const { service, caller, balance, repository, credits, close } = await setup();
    // The first attempt charged a fresh answer (3) under its ledger key, then its process died.
    const request = { query: 'rain jacket', limit: 3 };
    const first = await service.query(caller, request);
    expect(await balance()).toBe(7);
    // Simulate the crash of a keyed attempt: its record in progress, its hold open.
    const idempotency = (service as unknown as { deps: { idempotency: MemoryIdempotencyStore } }).deps.idempotency;
    const begun = await idempotency.begin({ userId: caller.userId, key: 'k-1', requestHash: hash(request), attempt: 'crashed', ttlMs: 86_400_000, leaseMs: 0 });
    expect(begun.state).toBe('started');
    const ledgerKey = `query:${createHash('sha256').update(`k-1\u0000crashed`).digest('hex')}`;
    await credits.charge(caller, 3, 'Assistant answer', ledgerKey, { holdMs: 60_000 });
    expect(await balance()).toBe(4);
    // The retry takes the record over: the answer is cached now (cost 1), so the old hold of 3 cannot be adopted.
    const retry = await service.query(caller, request, { idempotencyKey: 'k-1' });
    expect(retry.body.cached).toBe(true);
    expect(retry.body.answer).toBe(first.body.answer);
    // 10 − 3 (first question) − 1 (the retry's cached answer): the crashed attempt's 3 came back at once.
    expect(await balance()).toBe(6);
    expect(await repository.verifyLedger()).toMatchObject({ mismatched: 0, openHolds: 0 });
    close();
  });
});

function hash(request: object): string {
  return hashRequest(request as never);
}
