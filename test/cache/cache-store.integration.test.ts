import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createMemoryCacheStore } from '../../src/cache/cache.store.memory.js';
import { createNoneCacheStore } from '../../src/cache/cache.store.none.js';
import { createPostgresCacheStore } from '../../src/cache/cache.store.postgres.js';
import { createRedisCacheStore } from '../../src/cache/cache.store.redis.js';
import { createDatabase } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import type { RedisTarget } from '../../src/platform/redis-client.js';
import { Migrator } from '../../src/platform/migrator.js';
import { testConfig } from '../support/app.js';
import { cacheStoreContract } from '../contracts/cache-store.contract.js';
import { createTestDatabase } from '../support/database.js';
import { requireRedis, TEST_REDIS_URL } from '../support/redis.js';
import { clusterNodes, requireScaleService, TEST_REDIS_CLUSTER_NODES } from '../support/scale.js';
import { RefusingBackends } from '../support/refusing-backends.js';

const logger = createLogger({ level: 'silent' });
const single = (url: string): RedisTarget => ({ kind: 'single', url });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

cacheStoreContract('memory', async () => {
  let now = 1_000_000;
  const store = createMemoryCacheStore({ maxEntries: 1000, now: () => now });
  return {
    store,
    advance: async (ms) => {
      now += ms;
    },
    dispose: () => store.close(),
  };
});

cacheStoreContract('postgres', async () => {
  const testDb = await createTestDatabase();
  const settings = { ...testConfig().database, url: testDb.url };
  const database = await createDatabase(settings, logger);
  await new Migrator(database.sequelize).up();
  const refusing = new RefusingBackends();
  return {
    store: createPostgresCacheStore(database.sequelize),
    advance: sleep,
    unreachable: async () => createPostgresCacheStore((await refusing.database(settings)).sequelize),
    async dispose() {
      await refusing.close();
      await database.close();
      await testDb.dispose();
    },
  };
});

const redisUp = await requireRedis('the Redis cache store contract');
describe.skipIf(!redisUp)('redis', () => {
  const prefix = `shopassist:test:${randomBytes(6).toString('hex')}:`;
  cacheStoreContract('redis', async () => {
    const store = await createRedisCacheStore({ target: single(TEST_REDIS_URL), keyPrefix: prefix, logger });
    const refusing = new RefusingBackends();
    return {
      store,
      advance: sleep,
      unreachable: async () => createRedisCacheStore({ target: await refusing.redis(single(TEST_REDIS_URL)), keyPrefix: prefix, logger }),
      async dispose() {
        await store.clear();
        await store.close();
        await refusing.close();
      },
    };
  });

  it('clear deletes only the keys under its own prefix', async () => {
    const raw = new Redis(TEST_REDIS_URL);
    const foreign = `shopassist:test:foreign:${randomBytes(6).toString('hex')}`;
    const store = await createRedisCacheStore({ target: single(TEST_REDIS_URL), keyPrefix: `${prefix}clear:`, logger });
    try {
      await raw.set(foreign, 'keep me', 'EX', 60);
      await store.set('a'.repeat(64), 'mine', 60);
      await store.clear();
      await expect(store.get('a'.repeat(64))).resolves.toBeUndefined();
      await expect(raw.get(foreign)).resolves.toBe('keep me');
    } finally {
      await raw.del(foreign);
      raw.disconnect();
      await store.close();
    }
  });

  it('lets Redis expire entries with a native TTL', async () => {
    const raw = new Redis(TEST_REDIS_URL);
    const store = await createRedisCacheStore({ target: single(TEST_REDIS_URL), keyPrefix: `${prefix}ttl:`, logger });
    try {
      await store.set('b'.repeat(64), 'x', 120);
      const ttl = await raw.ttl(`${prefix}ttl:{${'b'.repeat(64)}}`);
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(120);
    } finally {
      await store.clear();
      raw.disconnect();
      await store.close();
    }
  });
});

// The same contract on a Redis Cluster (three masters, .ci/scale-services): entries spread over
// the masters, the reads of one turn pipelined per node.
const clusterUp = requireScaleService('the Redis Cluster cache store contract', { TEST_REDIS_CLUSTER_NODES });
describe.skipIf(!clusterUp)('redis cluster', () => {
  const prefix = `shopassist:test:${randomBytes(6).toString('hex')}:`;
  const target = (): RedisTarget => ({ kind: 'cluster', nodes: clusterNodes(TEST_REDIS_CLUSTER_NODES!) });
  cacheStoreContract('redis cluster', async () => {
    const store = await createRedisCacheStore({ target: target(), keyPrefix: prefix, logger });
    const refusing = new RefusingBackends();
    return {
      store,
      advance: sleep,
      // A cluster whose every node refuses: the seed list points at refusing proxies.
      unreachable: async () => createRedisCacheStore({ target: await refusing.redis(target()), keyPrefix: prefix, logger }),
      async dispose() {
        await store.clear();
        await store.close();
        await refusing.close();
      },
    };
  });

  it('spreads entries over every master and clears them on each', async () => {
    const store = await createRedisCacheStore({ target: target(), keyPrefix: `${prefix}spread:`, logger });
    const raws = clusterNodes(TEST_REDIS_CLUSTER_NODES!).map((n) => new Redis(n.port, n.host));
    try {
      await Promise.all(Array.from({ length: 30 }, (_, i) => store.set(String(i).padStart(64, 'c'), i, 60)));
      const perNode = await Promise.all(raws.map(async (r) => (await r.keys(`${prefix}spread:*`)).length));
      expect(perNode.reduce((a, b) => a + b, 0)).toBe(30);
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
      await store.clear();
      expect(await Promise.all(raws.map(async (r) => (await r.keys(`${prefix}spread:*`)).length))).toEqual(raws.map(() => 0));
    } finally {
      await store.clear();
      await store.close();
      for (const r of raws) r.disconnect();
    }
  });
});

describe('memory cache store bounds', () => {
  it('evicts the least recently used entry beyond CACHE_MAX_ENTRIES', async () => {
    const store = createMemoryCacheStore({ maxEntries: 2 });
    await store.set('a', 1, 60);
    await store.set('b', 2, 60);
    await store.get('a');
    await store.set('c', 3, 60);
    await expect(store.get('b')).resolves.toBeUndefined();
    await expect(store.get('a')).resolves.toBe(1);
    await expect(store.get('c')).resolves.toBe(3);
  });
});

describe('none cache store', () => {
  it('never keeps anything and never fails', async () => {
    const store = createNoneCacheStore();
    await store.set('k', 'v', 60);
    await expect(store.get('k')).resolves.toBeUndefined();
    await expect(store.cleanupExpired()).resolves.toBe(0);
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
