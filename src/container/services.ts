import type { Config } from '../config.js';
import { AssistantService } from '../assistant/assistant.service.js';
import { ConversationStep } from '../assistant/conversation.step.js';
import { isUpstreamOutage } from '../assistant/providers/provider.js';
import type { CacheStore } from '../cache/cache.store.js';
import { QueryCacheService } from '../cache/query-cache.service.js';
import { CatalogService } from '../catalog/catalog.service.js';
import { ConsentService } from '../consent/consent.service.js';
import { ConversationService } from '../conversations/conversation.service.js';
import { CreditService } from '../credits/credit.service.js';
import { disabledProbe, HealthService } from '../health/health.service.js';
import { RejectionThrottle } from '../http/rejection-limit.js';
import { GuestSessionService } from '../identity/guest-session.js';
import { TokenVerifier } from '../identity/token-verifier.js';
import { MaintenanceService, scheduleCleanup, scheduleHoldSweep } from '../maintenance/maintenance.service.js';
import type { CacheResult, Metrics } from '../platform/metrics.js';
import type { Backends, OnClose, Platform } from './backends.js';

// Stage 2 of the wiring (src/container.ts): the services over the backends, and the schedules.

export interface Services {
  credits: CreditService;
  consents: ConsentService;
  verifier: TokenVerifier;
  sessions: GuestSessionService;
  cache: QueryCacheService;
  conversations: ConversationService;
  catalog: CatalogService;
  assistant: AssistantService;
  maintenance: MaintenanceService;
  health: HealthService;
  /** Floods of refused /api requests, counted in the storage backend. */
  rejections: RejectionThrottle;
}

export function createServices(config: Config, platform: Platform, backends: Backends, onClose: OnClose): Services {
  const { logger, metrics, database, databaseGuard, breakers } = platform;
  const { storage } = backends;

  // The repository reports each grant it wrote (new account, reset that raised a balance): no extra round trip.
  storage.credits.onGranted((g) => metrics.creditsGranted.inc({ user_kind: g.isGuest ? 'guest' : 'registered' }, g.amount));
  const credits = new CreditService(storage.credits);
  const consents = new ConsentService(storage.consents);
  const verifier = new TokenVerifier(config);
  const sessions = new GuestSessionService(verifier, storage.rateLimits, { perIpPerHour: config.sessions.perIpPerHour, perHour: config.sessions.perHour });

  const cache = new QueryCacheService(backends.cache.store, {
    ttlSeconds: config.cache.ttlSeconds,
    breaker: backends.cache.breaker,
    logger,
    recordLookup: lookupRecorder(metrics, backends.cache.store.backend),
  });
  const conversations = new ConversationService(backends.conversations.store, {
    ttlSeconds: config.conversations.ttlSeconds,
    breaker: backends.conversations.breaker,
    logger,
  });
  const catalog = new CatalogService(backends.catalog.store, backends.catalog.live);

  const { provider } = backends;
  const assistantBreaker = breakers.create('assistant', {
    // AssistantService bounds each call with ASSISTANT_TIMEOUT_MS and cancels it; the breaker counts.
    timeoutMs: false,
    errorThresholdPercentage: 50,
    volumeThreshold: 5,
    resetTimeoutMs: 10_000,
    // Upstream outages only: a bad reply or an error in ShopAssist's own code never refuses others.
    isFailure: isUpstreamOutage,
  });
  const assistant = new AssistantService(
    {
      credits,
      cache,
      idempotency: storage.idempotency,
      gate: storage.gate,
      finish: storage.finish,
      provider,
      conversation: new ConversationStep(conversations),
      breaker: assistantBreaker,
      metrics,
      logger,
    },
    {
      queryCost: config.credits.queryCost,
      cachedQueryCost: config.credits.cachedQueryCost,
      rateLimitPerMinute: config.queryRateLimitPerMinute,
      timeoutMs: config.assistant.timeoutMs,
      holdMs: config.holds.holdSeconds * 1000,
      leaseMs: config.assistant.requestBudgetMs,
      decideWindowMs: config.assistant.decideWindowMs,
      decideTryMs: config.database.queryTimeoutMs + 100,
    },
  );
  logger.info(
    { provider: provider.name, model: provider.model, catalogVersion: provider.catalogVersion, products: backends.catalog.live.current().catalog.products.length },
    'assistant ready',
  );

  const maintenance = new MaintenanceService({
    credits,
    cache,
    idempotency: storage.idempotency,
    rateLimits: storage.rateLimits,
    conversations,
    lock: storage.jobLock,
    logger,
    metrics,
    consents,
    guestTtlDays: config.sessions.ttlDays,
  });
  const stopSweep = scheduleHoldSweep(maintenance, { sweepSeconds: config.holds.sweepSeconds, logger });
  const stopCleanup = scheduleCleanup(maintenance, {
    intervalMinutes: config.maintenance.cleanupIntervalMinutes,
    retentionDays: config.maintenance.transactionRetentionDays,
    logger,
  });
  onClose(async () => {
    await stopCleanup();
    await stopSweep();
  });

  const health = new HealthService({
    database:
      database && databaseGuard && config.storageBackend === 'postgres'
        ? () => databaseGuard.health(() => database.ping()) // down at once while the breaker is open
        : disabledProbe,
    cache: () => cache.health(),
    // The assistant is not probed; it is down while its breaker is open.
    assistant: async () => ({ status: assistantBreaker.state === 'open' ? 'down' : 'up', latencyMs: null }),
  });
  const rejections = new RejectionThrottle(storage.rateLimits, config.rejections, logger);

  return { credits, consents, verifier, sessions, cache, conversations, catalog, assistant, maintenance, health, rejections };
}

/** One bound counter child per result, so a lookup costs an increment and no label lookup. */
function lookupRecorder(metrics: Metrics, backend: CacheStore['backend']): (result: CacheResult) => void {
  const children = Object.fromEntries(
    (['hit', 'miss', 'bypass', 'error'] as const).map((result) => [result, metrics.cacheRequests.labels({ backend, result })]),
  ) as Record<CacheResult, { inc(): void }>;
  return (result) => children[result].inc();
}
