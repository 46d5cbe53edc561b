import { Redis } from 'ioredis';
import type { Logger } from '../platform/logger.js';
import type { CacheStore, JsonValue } from './cache.store.js';

export const DEFAULT_REDIS_KEY_PREFIX = 'shopassist:cache:';

export interface RedisCacheStoreOptions {
  url: string;
  /** Every key this store writes starts with it; `clear` deletes only keys under it. */
  keyPrefix?: string;
  /** Gives up on a command after this long (ms). */
  commandTimeoutMs?: number;
  /** Gives up on a new connection after this long (ms). */
  connectTimeoutMs?: number;
  logger: Logger;
}

/**
 * CACHE_BACKEND=redis (ioredis), shared by every API process. Entries expire by Redis's own TTL
 * (`SET … EX`), so cleanup has nothing to do. Built to fail fast in an outage: no offline queue
 * (a command while disconnected rejects at once instead of waiting for a reconnect), one retry
 * per command at most, a command timeout for a peer that hangs silently; ioredis keeps
 * reconnecting in the background, so the cache comes back by itself.
 */
export async function createRedisCacheStore(options: RedisCacheStoreOptions): Promise<CacheStore> {
  const prefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
  const { logger } = options;
  const redis = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 500,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
  });
  // Log the first error of an outage and the recovery, not every reconnect attempt.
  let healthy = true;
  redis.on('error', (err: Error) => {
    if (!healthy) return;
    healthy = false;
    logger.warn({ event: 'cache_redis_error', err: { message: err.message } }, 'Redis cache connection failed');
  });
  redis.on('ready', () => {
    if (healthy) return;
    healthy = true;
    logger.info({ event: 'cache_redis_ready' }, 'Redis cache connection restored');
  });
  // A Redis that is down at start is an outage like any other (uncached answers), not a failed start.
  await redis.connect().catch(() => {});

  const pattern = `${escapeGlob(prefix)}*`;
  return {
    backend: 'redis',
    async get(key) {
      const raw = await redis.get(prefix + key);
      return raw === null ? undefined : (JSON.parse(raw) as JsonValue);
    },
    async set(key, value, ttlSeconds) {
      await redis.set(prefix + key, JSON.stringify(value), 'EX', ttlSeconds);
    },
    async clear() {
      // SCAN + UNLINK under the prefix: other data in the same Redis database is left alone.
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    },
    cleanupExpired: () => Promise.resolve(0),
    // Counting would mean a SCAN of the whole keyspace.
    countEntries: () => Promise.resolve(null),
    async ping() {
      await redis.ping();
    },
    async close() {
      redis.disconnect();
    },
  };
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
