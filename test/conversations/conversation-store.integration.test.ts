import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MAX_TURNS } from '../../src/conversations/conversation.service.js';
import { createMemoryConversationStore } from '../../src/conversations/conversation.store.memory.js';
import { createPostgresConversationStore } from '../../src/conversations/conversation.store.postgres.js';
import { createRedisConversationStore } from '../../src/conversations/conversation.store.redis.js';
import { createDatabase } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import { Migrator } from '../../src/platform/migrator.js';
import { conversationStoreContract } from '../contracts/conversation-store.contract.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { requireRedis, TEST_REDIS_URL } from '../support/redis.js';
import { clusterNodes, requireScaleService, TEST_REDIS_CLUSTER_NODES } from '../support/scale.js';
import { RefusingBackends } from '../support/refusing-backends.js';

const logger = createLogger({ level: 'silent' });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const TURN = { query: 'boots', resolvedQuery: { query: 'boots', filters: {} }, productIds: ['p-1'], prices: [10], createdAt: '2026-01-01T09:00:00.000Z' };

conversationStoreContract('memory', async () => {
  // Starts at the real time, so expiry times read like the other backends'.
  let now = Date.now();
  const store = createMemoryConversationStore({ now: () => now });
  return {
    store,
    peer: store,
    advance: async (ms) => {
      now += ms;
    },
    dispose: () => store.close(),
  };
});

conversationStoreContract('postgres', async () => {
  const testDb = await createTestDatabase();
  const settings = { ...testConfig().database, url: testDb.url, poolSize: 2, maxOverflow: 8 };
  const database = await createDatabase(settings, logger);
  await new Migrator(database.sequelize).up();
  // A second pool on the same database: another API process.
  const other = await createDatabase(settings, logger);
  const refusing = new RefusingBackends();
  return {
    store: createPostgresConversationStore(database.sequelize),
    peer: createPostgresConversationStore(other.sequelize),
    advance: sleep,
    unreachable: async () => createPostgresConversationStore((await refusing.database(settings)).sequelize),
    async dispose() {
      await refusing.close();
      await other.close();
      await database.close();
      await testDb.dispose();
    },
  };
});

const redisUp = await requireRedis('the Redis conversation store contract');
describe.skipIf(!redisUp)('redis', () => {
  const prefix = `shopassist:test:${randomBytes(6).toString('hex')}:conv:`;
  conversationStoreContract('redis', async () => {
    const single = { kind: 'single' as const, url: TEST_REDIS_URL };
    const store = await createRedisConversationStore({ target: single, keyPrefix: prefix, logger });
    const peer = await createRedisConversationStore({ target: single, keyPrefix: prefix, logger });
    const refusing = new RefusingBackends();
    return {
      store,
      peer,
      advance: sleep,
      unreachable: async () => createRedisConversationStore({ target: await refusing.redis(single), keyPrefix: prefix, logger }),
      async dispose() {
        // What the suite wrote expires by itself; remove it now all the same.
        const raw = new Redis(TEST_REDIS_URL);
        const keys = await raw.keys(`${prefix}*`);
        if (keys.length > 0) await raw.del(...keys);
        raw.disconnect();
        await store.close();
        await peer.close();
        await refusing.close();
      },
    };
  });

  it('keeps one key per conversation, its id in a hash tag (one Cluster slot), with a native TTL renewed by each turn', async () => {
    const raw = new Redis(TEST_REDIS_URL);
    const own = `${prefix}tagged:`;
    const store = await createRedisConversationStore({ target: { kind: 'single', url: TEST_REDIS_URL }, keyPrefix: own, logger });
    try {
      await store.append('guest_a', 'cv_tagged', TURN, { ttlSeconds: 30, maxTurns: MAX_TURNS });
      await store.append('guest_a', 'cv_tagged', TURN, { ttlSeconds: 120, maxTurns: MAX_TURNS });
      expect(await raw.keys(`${own}*`)).toEqual([`${own}{cv_tagged}`]);
      const ttl = await raw.ttl(`${own}{cv_tagged}`);
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(120);
    } finally {
      await raw.del(`${own}{cv_tagged}`);
      raw.disconnect();
      await store.close();
    }
  });
});

// The same contract on a Redis Cluster (three masters, .ci/scale-services): each conversation is
// one key in the slot of its id, so every script runs on one node.
const clusterUp = requireScaleService('the Redis Cluster conversation store contract', { TEST_REDIS_CLUSTER_NODES });
describe.skipIf(!clusterUp)('redis cluster', () => {
  const prefix = `shopassist:test:${randomBytes(6).toString('hex')}:conv:`;
  const target = () => ({ kind: 'cluster' as const, nodes: clusterNodes(TEST_REDIS_CLUSTER_NODES!) });
  conversationStoreContract('redis cluster', async () => {
    const store = await createRedisConversationStore({ target: target(), keyPrefix: prefix, logger });
    const peer = await createRedisConversationStore({ target: target(), keyPrefix: prefix, logger });
    const refusing = new RefusingBackends();
    return {
      store,
      peer,
      advance: sleep,
      // A cluster whose every node refuses: the seed list points at refusing proxies.
      unreachable: async () => createRedisConversationStore({ target: await refusing.redis(target()), keyPrefix: prefix, logger }),
      async dispose() {
        // What the suite wrote expires by itself; remove it now all the same, on every master.
        for (const node of clusterNodes(TEST_REDIS_CLUSTER_NODES!)) {
          const raw = new Redis(node.port, node.host);
          const keys = await raw.keys(`${prefix}*`);
          for (const key of keys) await raw.del(key);
          raw.disconnect();
        }
        await store.close();
        await peer.close();
        await refusing.close();
      },
    };
  });
});

describe('memory conversation store bounds', () => {
  it('forgets the least recently used conversation beyond its bound', async () => {
    const store = createMemoryConversationStore({ maxConversations: 2 });
    const opts = { ttlSeconds: 60, maxTurns: MAX_TURNS };
    await store.append('u', 'a', TURN, opts);
    await store.append('u', 'b', TURN, opts);
    await store.get('u', 'a');
    await store.append('u', 'c', TURN, opts);
    await expect(store.get('u', 'b')).resolves.toBeUndefined();
    await expect(store.get('u', 'a')).resolves.toBeDefined();
    await expect(store.get('u', 'c')).resolves.toBeDefined();
  });
});
