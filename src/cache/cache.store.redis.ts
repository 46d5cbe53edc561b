import { Cluster } from 'ioredis';
import { guardedReads } from '../platform/batcher.js';
import { unguarded } from '../platform/storage-guard.js';
import { createStoreClient, scanKeys, slotKey, type RedisStoreOptions } from '../platform/redis-client.js';
import type { CacheStore, JsonValue } from './cache.store.js';

export const DEFAULT_REDIS_KEY_PREFIX = 'shopassist:cache:';

/** `keyPrefix`: `clear` deletes only keys under it. */
export type RedisCacheStoreOptions = RedisStoreOptions;

/**
 * CACHE_BACKEND=redis (ioredis), shared by every API process, on one Redis or a Redis Cluster
 * (see platform/redis-client.ts for how the client fails fast and recovers). Entries expire by
 * Redis's own TTL (`SET … EX`), so cleanup has nothing to do. Each entry is one key,
 * `<prefix>{<hash>}`: hash-tagged by its own hash, so entries spread over every master of a
 * cluster and anything ever stored beside an entry would share its slot. The reads of one turn
 * of the event loop are gathered (guardedReads, as the PostgreSQL store's are), each key once:
 * on one Redis they are one MGET; on a cluster, which refuses an MGET over keys of different
 * slots, one GET per key, sent together in one pipeline per node (auto-pipelining).
 */
export async function createRedisCacheStore(options: RedisCacheStoreOptions): Promise<CacheStore> {
  const { redis, prefix } = await createStoreClient(options, { purpose: 'cache', defaultKeyPrefix: DEFAULT_REDIS_KEY_PREFIX });
  const keyOf = (key: string) => slotKey(prefix, key);
  const pattern = `${escapeGlob(prefix)}*`;
  // Unguarded here: the query cache service's breaker guards each call, and ioredis bounds it.
  const lookup = guardedReads<string, string>(unguarded, 'cache.get', async (keys) => {
    const redisKeys = keys.map(keyOf);
    const values = redis instanceof Cluster ? await Promise.all(redisKeys.map((k) => redis.get(k))) : await redis.mget(redisKeys);
    const found = new Map<string, string>();
    keys.forEach((key, i) => {
      const raw = values[i];
      if (raw !== null && raw !== undefined) found.set(key, raw);
    });
    return found;
  });
  return {
    backend: 'redis',
    async get(key) {
      const raw = await lookup(key);
      // Parsed per caller: each gets its own copy, as from a GET of its own.
      return raw === undefined ? undefined : (JSON.parse(raw) as JsonValue);
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
