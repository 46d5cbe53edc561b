import type { Express } from 'express';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { healthRoutes } from './health/health.routes.js';
import { metricsRoutes } from './health/metrics.routes.js';
import { disabledProbe, HealthService } from './health/health.service.js';
import { createDatabase, type Database } from './platform/db.js';
import { createLogger, type Logger } from './platform/logger.js';
import { Metrics } from './platform/metrics.js';
import { Migrator } from './platform/migrator.js';
import { unguarded, type StorageGuard } from './platform/storage-guard.js';
import { BreakerRegistry } from './platform/breaker.js';
import { DbGuard } from './platform/db-guard.js';
import { createQueryCache } from './cache/query-cache.factory.js';
import { cacheAdminRoutes } from './cache/cache.admin.routes.js';
import { docsRoutes } from './http/docs.routes.js';
import { buildOpenApiDocument } from './http/openapi.js';
import { createCreditFeatures } from './credits/credit.module.js';
import { createAssistantFeatures } from './assistant/assistant.module.js';
import { createConversations } from './conversations/conversation.factory.js';
import { conversationRoutes } from './conversations/conversation.routes.js';
import type { ConversationService } from './conversations/conversation.service.js';
import { createCatalogFeatures } from './catalog/catalog.module.js';
import { webRoutes } from './web/web.routes.js';
import { RejectionThrottle } from './http/rejection-limit.js';

/**
 * The composition root: config → database → repositories → services → app. Nothing here is a
 * module-level singleton, so a test builds a whole app for any backend with one call.
 */
export interface Container {
  readonly app: Express;
  readonly config: Config;
  readonly logger: Logger;
  readonly database: Database | undefined;
  /** The app's metrics registry, rendered at GET /metrics. */
  readonly metrics: Metrics;
  /** Follow-up context, on CONVERSATION_BACKEND. */
  readonly conversations: ConversationService;
  /**
   * With METRICS_PORT set: the app that serves GET /metrics (and nothing else) on that port;
   * the main app then has no /metrics route.
   */
  readonly metricsApp: Express | undefined;
  /** Stops background work, then closes the pool and the embedded database. */
  close(): Promise<void>;
}

export interface ContainerOptions {
  logger?: Logger;
  /** Redis key prefix of the query cache (tests give each app its own). */
  redisKeyPrefix?: string;
  /** Redis key prefix of the conversations (tests give each app its own; never under the cache's, which `clear` empties). */
  conversationKeyPrefix?: string;
}

export async function createContainer(config: Config, options: ContainerOptions = {}): Promise<Container> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const needsDatabase = config.storageBackend === 'postgres' || config.cacheBackend === 'postgres';
  const database = needsDatabase ? await createDatabase(config.database, logger) : undefined;
  const closers: (() => Promise<void>)[] = [];
  if (database) closers.push(() => database.close());
  const metrics = new Metrics({ poolStats: database ? () => database.poolStats() : undefined });

  try {
    if (database && config.database.migrateOnStart) {
      await new Migrator(database.sequelize, logger).up();
    }

    // Every PostgreSQL call of the repositories goes through this guard (breaker + outage mapping).
    const breakers = new BreakerRegistry(logger);
    metrics.watchBreakers(breakers);
    closers.push(async () => breakers.shutdown());
    const databaseGuard = database ? new DbGuard(breakers, database.sequelize, config.database) : undefined;
    const dbGuard: StorageGuard = databaseGuard ?? unguarded;
    const creditFeatures = createCreditFeatures({ config, database, dbGuard, metrics });

    const queryCache = await createQueryCache({ config, database, breakers, databaseBreaker: databaseGuard?.breaker, logger, redisKeyPrefix: options.redisKeyPrefix, metrics });
    closers.push(() => queryCache.close());

    const conversations = await createConversations({ config, database, breakers, databaseBreaker: databaseGuard?.breaker, logger, redisKeyPrefix: options.conversationKeyPrefix });
    closers.push(() => conversations.close());

    const catalogFeatures = await createCatalogFeatures({ config, database, logger });
    closers.push(() => catalogFeatures.close());

    const assistantFeatures = await createAssistantFeatures({ config, database, breakers, credits: creditFeatures, cache: queryCache, conversations, metrics, logger, catalog: catalogFeatures.index });
    closers.push(() => assistantFeatures.close());

    const health = new HealthService({
      database:
        database && databaseGuard && config.storageBackend === 'postgres'
          ? () => databaseGuard.health(() => database.ping()) // down at once while the breaker is open
          : disabledProbe,
      cache: () => queryCache.health(),
      assistant: () => assistantFeatures.health(),
    });

    // Every request walks the routers in this order until one matches: the assistant's (the
    // route the shop's frontend lives on) go first. Paths never overlap, so order is only speed.
    const routers = [
      ...assistantFeatures.routers,
      ...creditFeatures.routers,
      conversationRoutes(conversations, creditFeatures.guards),
      ...catalogFeatures.routers,
      healthRoutes(health),
      ...(config.metrics.port === undefined ? [metricsRoutes(metrics, config.metrics.token)] : []),
      cacheAdminRoutes(queryCache, config.adminApiKey),
      docsRoutes(buildOpenApiDocument()),
      webRoutes(),
    ];
    const rejections = new RejectionThrottle(creditFeatures.rateLimits, config.rejections, logger);
    const app = createApp({ config, logger, metrics, routers, rejections });
    const metricsApp = config.metrics.port === undefined ? undefined : createApp({ config: { ...config, corsOrigins: undefined }, logger, routers: [metricsRoutes(metrics, config.metrics.token)] });

    let closing: Promise<void> | undefined;
    return {
      app,
      config,
      logger,
      database,
      metrics,
      conversations,
      metricsApp,
      close() {
        closing ??= (async () => {
          for (const close of closers.reverse()) await close();
        })();
        return closing;
      },
    };
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw err;
  }
}
