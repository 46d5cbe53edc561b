/**
 * What a completed Idempotency-Key record costs on PostgreSQL when it keeps a copy of its answer
 * (another CACHE_BACKEND) and when it refers to the `query_cache` row holding it
 * (CACHE_BACKEND=postgres, docs/adr/0011): stored bytes per record (`pg_column_size` of the
 * response and of the whole row, and the table with its indexes and TOAST per record), and the
 * throughput of `begin` + `complete` (the query route's hot path with a key) and of a replay,
 * with one caller and with CONCURRENCY callers (all completions refer to one cache row, the
 * worst case for its share locks). The answer is the size of a catalog answer of five products with links.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import pg from 'pg';
import { createPostgresCacheStore } from '../src/cache/cache.store.postgres.js';
import { loadConfig } from '../src/config.js';
import { PostgresIdempotencyStore } from '../src/idempotency/idempotency.store.postgres.js';
import { createDatabase } from '../src/platform/db.js';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres.js';
import { createLogger } from '../src/platform/logger.js';
import { Migrator } from '../src/platform/migrator.js';
import { unguarded } from '../src/platform/storage-guard.js';
import type { BenchRow, BenchSuite } from './run.js';

const DATABASE_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || undefined;
const RECORDS = 2000;
const CONCURRENCY = 16;
const CACHE_KEY = 'b'.repeat(64);

const ANSWER = {
  answer: 'I found 5 matches for “waterproof hiking boots under $150”; the best match is the Scree Men\'s Waterproof Hiking Boot by Alpenfold at $129.99.',
  products: ['Scree Men\'s Waterproof Hiking Boot', 'Ridgeline Men\'s Waterproof Mid Hiking Boot', 'Talus Women\'s Waterproof Hiking Boot', 'Trailridge Women\'s Waterproof Hiking Boot', 'Cairn Waterproof Trail Shoe'].map((name, i) => ({
    id: `shoes-0${i}4`,
    name,
    brand: i % 2 ? 'Northpeak' : 'Alpenfold',
    category: 'shoes',
    price: 113.49 + i * 7.5,
    currency: 'USD',
    score: 0.229 - i / 1000,
    inStock: true,
    url: `https://shop.example.com/products/shoes-0${i}4`,
  })),
};

function responseOf(): Record<string, unknown> {
  return {
    ...ANSWER,
    cached: true,
    creditsCharged: 0,
    cache: 'HIT',
    conversationId: `cv_${randomBytes(16).toString('base64url')}`,
    resolvedQuery: { query: 'waterproof hiking boots', filters: { maxPrice: 150 } },
  };
}

async function freshDatabase(): Promise<{ url: string; dispose(): Promise<void> }> {
  if (!DATABASE_URL) {
    const embedded = await startEmbeddedPostgres();
    return { url: embedded.url, dispose: () => embedded.stop() };
  }
  const name = `shopassist_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(DATABASE_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async dispose() {
      const c = new pg.Client({ connectionString: DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Runs `task` RECORDS times over `callers`; resolves calls per second. */
async function timed(callers: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = next++; i < RECORDS; i = next++) await task(i);
    }),
  );
  return RECORDS / ((performance.now() - started) / 1000);
}

const suite: BenchSuite = {
  name: 'idempotency',
  async run(): Promise<BenchRow[]> {
    const db = await freshDatabase();
    const settings = { ...loadConfig({ NODE_ENV: 'test' }).database, url: db.url, poolSize: CONCURRENCY, maxOverflow: 0 };
    const database = await createDatabase(settings, createLogger({ level: 'silent' }));
    const { sequelize } = database;
    try {
      await new Migrator(sequelize).up();
      await createPostgresCacheStore(sequelize).set(CACHE_KEY, ANSWER, 3600);
      const rows: BenchRow[] = [];
      // Alternated, twice each, so a machine that slows down in between favours neither.
      for (const [round, referToCache] of [false, true, false, true].entries()) {
        const callers = round < 2 ? 1 : CONCURRENCY;
        await sequelize.query('TRUNCATE idempotency_keys');
        const store = new PostgresIdempotencyStore(sequelize, unguarded, undefined, { referToCache });
        const users = Array.from({ length: RECORDS }, () => `user-${randomUUID()}`);
        const complete = await timed(callers, async (i) => {
          const p = { userId: users[i]!, key: 'k', requestHash: 'h', attempt: randomUUID(), ttlMs: 86_400_000, leaseMs: 30_000 };
          await store.begin(p);
          if (!(await store.complete(p.userId, p.key, p.attempt, responseOf(), null, { cacheKey: CACHE_KEY }))) throw new Error('not completed');
        });
        const replay = await timed(callers, async (i) => {
          const r = await store.begin({ userId: users[i]!, key: 'k', requestHash: 'h', attempt: randomUUID(), ttlMs: 86_400_000, leaseMs: 30_000 });
          if (r.state !== 'completed') throw new Error(`replay: ${r.state}`);
        });
        await sequelize.query('VACUUM ANALYZE idempotency_keys');
        const [size] = await sequelize.query<{ response: number; row: number; referring: number; table: number }>(
          `SELECT avg(pg_column_size(response))::int AS response, avg(pg_column_size(k.*))::int AS row,
                  count(*) FILTER (WHERE cache_ref IS NOT NULL)::int AS referring,
                  (pg_total_relation_size('idempotency_keys') / count(*))::int AS table
             FROM idempotency_keys k`,
          { type: QueryTypes.SELECT },
        );
        rows.push({
          record: referToCache ? 'refers to query_cache' : 'keeps a copy',
          callers,
          'referring rows': size!.referring,
          'response bytes': size!.response,
          'row bytes': size!.row,
          'table+indexes bytes/record': size!.table,
          'begin+complete /s': Math.round(complete),
          'replay /s': Math.round(replay),
        });
      }
      return rows;
    } finally {
      await database.close();
      await db.dispose();
    }
  },
};

export default suite;
