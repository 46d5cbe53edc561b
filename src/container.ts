import type { Express } from 'express';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { healthRoutes } from './health/health.routes.js';
import { disabledProbe, HealthService, timedProbe } from './health/health.service.js';
import { createDatabase, type Database } from './platform/db.js';
import { createLogger, type Logger } from './platform/logger.js';
import { Migrator } from './platform/migrator.js';
import { unguarded, type StorageGuard } from './platform/storage-guard.js';

/**
 * The composition root: config → database → repositories → services → app. Nothing here is a
 * module-level singleton, so a test builds a whole app for any backend with one call.
 */
export interface Container {
  readonly app: Express;
  readonly config: Config;
  readonly logger: Logger;
  readonly database: Database | undefined;
  /** Stops background work, then closes the pool and the embedded database. */
  close(): Promise<void>;
}

export interface ContainerOptions {
  logger?: Logger;
}

export async function createContainer(config: Config, options: ContainerOptions = {}): Promise<Container> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const needsDatabase = config.storageBackend === 'postgres' || config.cacheBackend === 'postgres';
  const database = needsDatabase ? await createDatabase(config.database, logger) : undefined;
  const closers: (() => Promise<void>)[] = [];
  if (database) closers.push(() => database.close());

  try {
    if (database && config.database.migrateOnStart) {
      await new Migrator(database.sequelize, logger).up();
    }

    // Every PostgreSQL call of the repositories goes through this guard (breaker + outage mapping).
    const dbGuard: StorageGuard = unguarded;
    void dbGuard;

    const health = new HealthService({
      database:
        database && config.storageBackend === 'postgres'
          ? timedProbe(() => database.ping(), config.database.queryTimeoutMs)
          : disabledProbe,
      cache: disabledProbe,
      assistant: async () => ({ status: 'up', latencyMs: null }),
    });

    const app = createApp({ config, logger, routers: [healthRoutes(health)] });

    let closing: Promise<void> | undefined;
    return {
      app,
      config,
      logger,
      database,
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
