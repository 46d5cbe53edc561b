import type { Router } from 'express';
import type { Config } from '../config.js';
import type { QueryCacheService } from '../cache/query-cache.service.js';
import type { ConversationService } from '../conversations/conversation.service.js';
import type { CreditFeatures } from '../credits/credit.module.js';
import type { ComponentHealth } from '../health/health.service.js';
import { MemoryJobLock, PostgresJobLock, type JobLock } from '../maintenance/job-lock.js';
import { maintenanceRoutes } from '../maintenance/maintenance.routes.js';
import { MaintenanceService, scheduleCleanup, scheduleHoldSweep } from '../maintenance/maintenance.service.js';
import type { BreakerRegistry } from '../platform/breaker.js';
import type { Database } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { assistantRoutes } from './assistant.routes.js';
import { AssistantService } from './assistant.service.js';
import type { CatalogIndex } from './catalog/catalog-index.js';
import { ConversationStep } from './conversation.step.js';
import { createProvider } from './providers/create-provider.js';
import { isUpstreamOutage } from './providers/provider.js';

/** Any constant shared by every process of this app: the key of the cleanup lock. */
const CLEANUP_LOCK_KEY = 724_311_002;

export interface AssistantFeatures {
  assistant: AssistantService;
  maintenance: MaintenanceService;
  routers: Router[];
  /** Readiness: the assistant is not probed; it is down while its breaker is open. */
  health(): Promise<ComponentHealth>;
  /** Stops the cleanup and hold-sweep schedules (waiting for a running one). */
  close(): Promise<void>;
}

export interface AssistantModuleDeps {
  config: Config;
  database: Database | undefined;
  breakers: BreakerRegistry;
  credits: CreditFeatures;
  cache: QueryCacheService;
  conversations: ConversationService;
  metrics: Metrics;
  logger: Logger;
  /** The live catalog the provider answers from. */
  catalog: CatalogIndex;
}

/** Builds the provider, the assistant and maintenance services, their routers and the schedule. */
export async function createAssistantFeatures(deps: AssistantModuleDeps): Promise<AssistantFeatures> {
  const { config, database, breakers, credits, cache, conversations, metrics, logger } = deps;
  const provider = createProvider(config, deps.catalog);
  const breaker = breakers.create('assistant', {
    // AssistantService bounds each call with ASSISTANT_TIMEOUT_MS and cancels it; the breaker counts.
    timeoutMs: false,
    errorThresholdPercentage: 50,
    volumeThreshold: 5,
    resetTimeoutMs: 10_000,
    // Upstream outages only: a bad reply or an error in ShopAssist's own code never refuses others.
    isFailure: isUpstreamOutage,
  });

  const { idempotency } = credits;
  let lock: JobLock;
  if (config.storageBackend === 'postgres') {
    if (!database) throw new Error('STORAGE_BACKEND=postgres needs a database');
    lock = new PostgresJobLock(database.url, config.database, CLEANUP_LOCK_KEY);
  } else {
    lock = new MemoryJobLock();
  }

  const assistant = new AssistantService(
    {
      credits: credits.credits,
      consent: credits.consents,
      cache,
      idempotency,
      rateLimit: credits.rateLimits,
      provider,
      conversation: new ConversationStep(conversations),
      breaker,
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
    },
  );
  const maintenance = new MaintenanceService({
    credits: credits.credits,
    cache,
    idempotency,
    rateLimits: credits.rateLimits,
    conversations,
    lock,
    logger,
    metrics,
    consents: credits.consents,
    guestTtlDays: config.sessions.ttlDays,
  });
  const stopSweep = scheduleHoldSweep(maintenance, { sweepSeconds: config.holds.sweepSeconds, logger });
  const stopSchedule = scheduleCleanup(maintenance, {
    intervalMinutes: config.maintenance.cleanupIntervalMinutes,
    retentionDays: config.maintenance.transactionRetentionDays,
    logger,
  });
  logger.info({ provider: provider.name, model: provider.model, catalogVersion: provider.catalogVersion, products: deps.catalog.current().catalog.products.length }, 'assistant ready');

  return {
    assistant,
    maintenance,
    routers: [
      assistantRoutes(assistant, credits.guards, config.queryHashKey, logger),
      maintenanceRoutes(maintenance, credits.guards, config.maintenance.transactionRetentionDays),
    ],
    health: async () => ({ status: breaker.state === 'open' ? 'down' : 'up', latencyMs: null }),
    close: async () => {
      await stopSchedule();
      await stopSweep();
    },
  };
}
