import type { Logger } from '../platform/logger.js';
import { assertKeyPrefix, createRedisClient, scanKeys, slotKey, type RedisTarget } from '../platform/redis-client.js';
import type { CacheStore, JsonValue } from './cache.store.js';

export const DEFAULT_REDIS_KEY_PREFIX = 'shopassist:cache:';

export interface RedisCacheStoreOptions {
  /** A single Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES); see redisTarget. */
  target: RedisTarget;
  /** Every key this store writes starts with it (no braces); `clear` deletes only keys under it. */
  keyPrefix?: string;
  /** Gives up on a command after this long (ms). */
  commandTimeoutMs?: number;
  /** Gives up on a new connection after this long (ms). */
  connectTimeoutMs?: number;
  logger: Logger;
}

/**
 * CACHE_BACKEND=redis (ioredis), shared by every API process, on one Redis or a Redis Cluster
 * (see platform/redis-client.ts for how the client fails fast and recovers). Entries expire by
 * Redis's own TTL (`SET … EX`), so cleanup has nothing to do. Each entry is one key,
 * `<prefix>{<hash>}`: hash-tagged by its own hash, so entries spread over every master of a
 * cluster and anything ever stored beside an entry would share its slot. Reads of one turn of
 * the event loop go out in one pipeline per node (auto-pipelining), no MGET: an MGET over
 * entries of different slots is refused by a cluster.
 */
export async function createRedisCacheStore(options: RedisCacheStoreOptions): Promise<CacheStore> {
  const prefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
  assertKeyPrefix(prefix);
  const redis = await createRedisClient({
    target: options.target,
    commandTimeoutMs: options.commandTimeoutMs ?? 500,
    connectTimeoutMs: options.connectTimeoutMs ?? 1000,
    purpose: 'cache',
    logger: options.logger,
  });
  const keyOf = (key: string) => slotKey(prefix, key);
  const pattern = `${escapeGlob(prefix)}*`;
  return {
    backend: 'redis',
    async get(key) {
      const raw = await redis.get(keyOf(key));
      return raw === null ? undefined : (JSON.parse(raw) as JsonValue);
    },
    async set(key, value, ttlSeconds) {
      await redis.set(keyOf(key), JSON.stringify(value), 'EX', ttlSeconds);
    },
    async clear() {
      // SCAN + UNLINK under the prefix: other data in the same Redis database is left alone.
      // One key per UNLINK (pipelined): keys of different slots cannot share a command on a cluster.
      await scanKeys(redis, pattern, async (keys) => {
        await Promise.all(keys.map((k) => redis.unlink(k)));
      });
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
