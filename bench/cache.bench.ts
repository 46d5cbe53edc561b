/**
 * Cache get (hit) per backend through QueryCacheService (breaker included where the backend has
 * one) against the bare driver call doing the same work: lru-cache `get`; ioredis GET +
 * JSON.parse; one `pg` SELECT of the JSONB row. Same payload, same concurrency, alternated
 * rounds; reported as ops/s and the ratio service / driver (target ≥ 0.8; Redis, single and
 * cluster (BENCH_REDIS_CLUSTER_NODES / TEST_REDIS_CLUSTER_NODES), ≥ 1.0: see redisRow).
 */
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import pg from 'pg';
import { createMemoryCacheStore } from '../src/cache/cache.store.memory.js';
import { createPostgresCacheStore } from '../src/cache/cache.store.postgres.js';
import { createRedisCacheStore } from '../src/cache/cache.store.redis.js';
import type { CacheStore, JsonValue } from '../src/cache/cache.store.js';
import { QueryCacheService } from '../src/cache/query-cache.service.js';
import { loadConfig } from '../src/config.js';
import { CACHE_CALL_TIMEOUT_MS } from '../src/container/backends.js';
import { BreakerRegistry } from '../src/platform/breaker.js';
import { connectionOptions, createDatabase } from '../src/platform/db.js';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres.js';
import { createLogger } from '../src/platform/logger.js';
import { Migrator } from '../src/platform/migrator.js';
import { slotKey, type RedisTarget } from '../src/platform/redis-client.js';
import type { BenchRow, BenchSuite } from './run.js';

// Bench settings come from the environment like the tests' (see bench/run.ts).
const env = process.env;
const DATABASE_URL = env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || undefined;
const REDIS_URL = env.BENCH_REDIS_URL || env.TEST_REDIS_URL || 'redis://127.0.0.1:6379/0';
const REDIS_CLUSTER_NODES = env.BENCH_REDIS_CLUSTER_NODES || env.TEST_REDIS_CLUSTER_NODES || undefined;
const CONCURRENCY = 16;
const ROUND_MS = 1000;
const ROUNDS = 5;
const logger = createLogger({ level: 'silent' });
const KEY = 'a'.repeat(64);
const PAYLOAD: JsonValue = {
  answer: 'For wet trails, the Trailblazer GTX is fully waterproof — 防水 🥾 — and light.',
  products: Array.from({ length: 5 }, (_, i) => ({
    id: `p-${i}`,
    name: `Trail boot ${i}`,
    brand: 'Acme',
    category: 'shoes',
    price: 89.99 + i,
    currency: 'USD',
    score: 0.9 - i / 10,
  })),
  cached: false,
};

/** Operations per second of `op` run by CONCURRENCY workers for ROUND_MS. */
async function throughput(op: () => Promise<unknown>): Promise<number> {
  let done = 0;
  const deadline = performance.now() + ROUND_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await op();
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

async function compare(backend: string, service: () => Promise<unknown>, driver: () => Promise<unknown>, driverLabel: string, target = 0.8): Promise<BenchRow> {
  await throughput(service);
  await throughput(driver);
  let s = 0;
  let d = 0;
  for (let i = 0; i < ROUNDS; i++) {
    d += await throughput(driver);
    s += await throughput(service);
  }
  s /= ROUNDS;
  d /= ROUNDS;
  return { backend, 'service get ops/s': Math.round(s), driver: driverLabel, 'driver ops/s': Math.round(d), ratio: Number((s / d).toFixed(2)), target: `≥ ${target.toFixed(1)}` };
}

async function expectHit(service: QueryCacheService): Promise<void> {
  const r = await service.get(KEY);
  if (r.status !== 'hit') throw new Error(`bench setup: expected a hit, got ${r.status}`);
}

function serviceOn(store: CacheStore, breakers: BreakerRegistry, timeoutMs: number | false | undefined, name = `cache-${store.backend}`): QueryCacheService {
  const breaker =
    timeoutMs === undefined ? undefined : breakers.create(name, { timeoutMs, errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs: 5000 });
  return new QueryCacheService(store, { ttlSeconds: 3600, breaker, logger });
}

async function memoryRow(breakers: BreakerRegistry): Promise<BenchRow> {
  const service = serviceOn(createMemoryCacheStore({ maxEntries: 10_000 }), breakers, undefined);
  await service.set(KEY, PAYLOAD);
  await expectHit(service);
  const lru = new LRUCache<string, { value: JsonValue }>({ max: 10_000 });
  lru.set(KEY, { value: PAYLOAD }, { ttl: 3_600_000 });
  // `async` so both sides pay one promise per call, as a caller awaiting either would.
  return compare('memory', () => service.get(KEY), async () => lru.get(KEY)?.value, 'lru-cache get');
}

/**
 * The Redis store (single or cluster) against a bare ioredis GET + JSON.parse of the same key on
 * a client as ioredis comes (no auto-pipelining): the store's reads of one turn share a round
 * trip per node, so the target is ≥ 1.0.
 */
async function redisRow(breakers: BreakerRegistry, label: string, target: RedisTarget): Promise<BenchRow> {
  const prefix = `shopassist:bench:${randomBytes(4).toString('hex')}:`;
  const store = await createRedisCacheStore({ target, keyPrefix: prefix, commandTimeoutMs: CACHE_CALL_TIMEOUT_MS, logger });
  const raw = target.kind === 'single' ? new Redis(target.url) : new Cluster(target.nodes);
  try {
    // As the app builds it: ioredis bounds commands, the breaker adds no timer.
    const service = serviceOn(store, breakers, false, `cache-${target.kind}`);
    await service.set(KEY, PAYLOAD);
    await expectHit(service);
    const key = slotKey(prefix, KEY);
    return await compare(label, () => service.get(KEY), async () => JSON.parse((await raw.get(key))!) as unknown, 'ioredis GET + JSON.parse', 1.0);
  } finally {
    await store.clear();
    await store.close();
    raw.disconnect();
  }
}

async function postgresRow(breakers: BreakerRegistry): Promise<BenchRow> {
  let url = DATABASE_URL;
  let cleanup = async () => {};
  if (url) {
    const name = `shopassist_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const base = url;
    const u = new URL(url);
    u.pathname = `/${name}`;
    url = u.toString();
    cleanup = async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  } else {
    const embedded = await startEmbeddedPostgres();
    url = embedded.url;
    cleanup = () => embedded.stop();
  }
  const settings = { ...loadConfig({ NODE_ENV: 'test' }).database, url };
  const database = await createDatabase(settings, logger);
  // The embedded server runs one statement at a time whatever the pool; a bare pg.Pool of
  // several connections against it saw connections reset under this load, so it gets one.
  const poolMax = DATABASE_URL ? CONCURRENCY : 1;
  const pool = new pg.Pool({ connectionString: url, ...connectionOptions(settings), max: poolMax });
  try {
    await new Migrator(database.sequelize).up();
    const service = serviceOn(createPostgresCacheStore(database.sequelize), breakers, CACHE_CALL_TIMEOUT_MS);
    await service.set(KEY, PAYLOAD);
    await expectHit(service);
    const select = 'SELECT result FROM query_cache WHERE query_hash = $1 AND expires_at > now()';
    const driver = async () => (await pool.query(select, [KEY])).rows[0]?.result as unknown;
    return await compare(DATABASE_URL ? 'postgres' : 'postgres (embedded)', () => service.get(KEY), driver, 'pg SELECT of the JSONB row');
  } finally {
    await pool.end();
    await database.close();
    await cleanup();
  }
}

const suite: BenchSuite = {
  name: 'cache',
  async run() {
    const breakers = new BreakerRegistry(logger);
    const rows: BenchRow[] = [await memoryRow(breakers)];
    try {
      rows.push(await redisRow(breakers, 'redis', { kind: 'single', url: REDIS_URL }));
    } catch (err) {
      rows.push({ backend: 'redis', 'service get ops/s': `skipped: ${(err as Error).message}` });
    }
    if (REDIS_CLUSTER_NODES) {
      const nodes = loadConfig({ REDIS_CLUSTER_NODES }).cache.redisClusterNodes!;
      try {
        rows.push(await redisRow(breakers, 'redis cluster (3 masters)', { kind: 'cluster', nodes }));
      } catch (err) {
        rows.push({ backend: 'redis cluster (3 masters)', 'service get ops/s': `skipped: ${(err as Error).message}` });
      }
    } else {
      rows.push({ backend: 'redis cluster', 'service get ops/s': 'skipped: set BENCH_REDIS_CLUSTER_NODES or TEST_REDIS_CLUSTER_NODES' });
    }
    rows.push(await postgresRow(breakers));
    breakers.shutdown();
    return rows;
  },
};
export default suite;
