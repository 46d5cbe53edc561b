import type { Config } from '../config.js';
import type { Breaker, BreakerRegistry } from '../platform/breaker.js';
import type { Database } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import type { CacheResult, Metrics } from '../platform/metrics.js';
import type { CacheStore } from './cache.store.js';
import { createMemoryCacheStore } from './cache.store.memory.js';
import { createNoneCacheStore } from './cache.store.none.js';
import { createPostgresCacheStore } from './cache.store.postgres.js';
import { createRedisCacheStore } from './cache.store.redis.js';
import { redisTarget } from '../platform/redis-client.js';
import { QueryCacheService } from './query-cache.service.js';

export const CACHE_BREAKER = 'cache';

/**
 * How long a cache call may take before it counts as a failure and the request goes on
 * uncached. A lookup is one indexed read: far longer than this means the backend is in trouble,
 * and the request must still answer within the outage budget of the database calls after it.
 */
export const CACHE_CALL_TIMEOUT_MS = 250;

export interface QueryCacheDeps {
  config: Config;
  database: Database | undefined;
  breakers: BreakerRegistry;
  /** The database breaker: while it is open the PostgreSQL cache bypasses at once. */
  databaseBreaker?: Breaker | undefined;
  logger: Logger;
  /** Redis key prefix (tests use their own). */
  redisKeyPrefix?: string;
  /** Where lookups are counted (`shopassist_cache_requests_total`); none in tests that build a bare cache. */
  metrics?: Metrics;
}

/** CACHE_BACKEND → the store, behind the `cache` breaker when the store is remote. */
export async function createQueryCache(deps: QueryCacheDeps): Promise<QueryCacheService> {
  const { config, logger } = deps;
  let store: CacheStore;
  let breaker: Breaker | undefined;
  const remoteBreaker = (timeoutMs: number | false) =>
    deps.breakers.create(CACHE_BREAKER, { timeoutMs, errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs: 5000 });
  switch (config.cacheBackend) {
    case 'none':
      store = createNoneCacheStore();
      break;
    case 'memory':
      // In-process: nothing to break.
      store = createMemoryCacheStore({ maxEntries: config.cache.maxEntries });
      break;
    case 'postgres': {
      if (!deps.database) throw new Error('CACHE_BACKEND=postgres needs the database');
      const dbBreaker = deps.databaseBreaker;
      store = createPostgresCacheStore(deps.database.sequelize, {
        databaseDown: dbBreaker ? () => dbBreaker.state === 'open' : undefined,
        reads: deps.database.replicaReads,
      });
      breaker = remoteBreaker(CACHE_CALL_TIMEOUT_MS);
      break;
    }
    case 'redis':
      store = await createRedisCacheStore({
        target: redisTarget(config.cache),
        keyPrefix: deps.redisKeyPrefix,
        commandTimeoutMs: CACHE_CALL_TIMEOUT_MS,
        connectTimeoutMs: 1000,
        logger,
      });
      // ioredis bounds every command itself (commandTimeout): no second timer per call.
      breaker = remoteBreaker(false);
      break;
  }
  return new QueryCacheService(store, { ttlSeconds: config.cache.ttlSeconds, breaker, logger, recordLookup: deps.metrics && lookupRecorder(deps.metrics, store.backend) });
}

/** One bound counter child per result, so a lookup costs an increment and no label lookup. */
function lookupRecorder(metrics: Metrics, backend: CacheStore['backend']): (result: CacheResult) => void {
  const children = Object.fromEntries(
    (['hit', 'miss', 'bypass', 'error'] as const).map((result) => [result, metrics.cacheRequests.labels({ backend, result })]),
  ) as Record<CacheResult, { inc(): void }>;
  return (result) => children[result].inc();
}
