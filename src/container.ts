import type { Express } from 'express';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createBackends, type Platform } from './container/backends.js';
import { createRouters } from './container/routers.js';
import { createServices } from './container/services.js';
import type { ConversationService } from './conversations/conversation.service.js';
import { metricsRoutes } from './health/metrics.routes.js';
import { BreakerRegistry } from './platform/breaker.js';
import { DbGuard } from './platform/db-guard.js';
import { createDatabase, type Database } from './platform/db.js';
import { createLogger, type Logger } from './platform/logger.js';
import { Metrics } from './platform/metrics.js';
import { Migrator } from './platform/migrator.js';

/**
 * The only wiring of the app, in stages read top to bottom:
 *
 *   config → database (+ migrations), metrics, breakers
 *          → backends   (container/backends.ts: one switch per feature — storage, cache,
 *                        conversations, catalog, provider)
 *          → services   (container/services.ts: the services over them, the schedules, readiness)
 *          → routers    (container/routers.ts: the shared middleware, then every router in order)
 *          → app        (app.ts: the middleware every request passes, the routers, the error envelope)
 *
 * Feature folders build only their own pieces; nothing is a module-level singleton, so a test
 * builds a whole app for any backend with one call.
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
  // Whatever is opened is closed in reverse order, by close() or when a later stage fails.
  const closers: (() => Promise<void>)[] = [];
  const onClose = (close: () => Promise<void>) => void closers.push(close);
  if (database) onClose(() => database.close());
  const metrics = new Metrics({ poolStats: database ? () => database.poolStats() : undefined });

  try {
    if (database && config.database.migrateOnStart) {
      await new Migrator(database.sequelize, logger).up();
    }
    const breakers = new BreakerRegistry(logger);
    metrics.watchBreakers(breakers);
    onClose(async () => breakers.shutdown());
    const databaseGuard = database ? new DbGuard(breakers, database.sequelize, config.database) : undefined;
    const platform: Platform = { logger, metrics, database, databaseGuard, breakers };

    const backends = await createBackends(config, platform, { cache: options.redisKeyPrefix, conversations: options.conversationKeyPrefix }, onClose);
    const services = createServices(config, platform, backends, onClose);
    const routers = createRouters(config, platform, services);

    const app = createApp({ config, logger, metrics, routers, rejections: services.rejections });
    const metricsApp = config.metrics.port === undefined ? undefined : createApp({ config: { ...config, corsOrigins: undefined }, logger, routers: [metricsRoutes(metrics, config.metrics.token)] });

    let closing: Promise<void> | undefined;
    return {
      app,
      config,
      logger,
      database,
      metrics,
      conversations: services.conversations,
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
