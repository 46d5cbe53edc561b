import { literal, QueryTypes, type Sequelize } from 'sequelize';
import { DISPOSABLE_COMMIT } from '../platform/disposable-commit.js';
import { pooledQuery, statement } from '../platform/pooled-query.js';
import { guardedReads, guardedWrites } from '../platform/batcher.js';
import { deleteExpiredRows } from '../platform/expiry-cleanup.js';
import type { ReplicaReads } from '../platform/replica-reads.js';
import { failFastGuard } from '../platform/storage-guard.js';
import { cacheModel } from './cache.models.js';
import type { CacheStore, JsonValue } from './cache.store.js';

const COUNT_LIVE = statement('cache_count', 'SELECT count(*)::int AS n FROM query_cache WHERE expires_at > now()');

const GET_MANY = statement('cache_get', 'SELECT query_hash, result FROM query_cache WHERE query_hash = ANY($1::varchar[]) AND expires_at > now()');

/**
 * Upserts entries ($1 keys, $2 JSON texts, $3 lifetimes in seconds; keys distinct). A cache
 * entry is disposable: its commit does not wait for the WAL flush (set_config with is_local holds
 * for this statement's own transaction only). A crash may lose the last entries, never anything
 * else; credit and ledger writes keep synchronous commits.
 */
const SET_MANY = statement('cache_set', `
WITH async_commit AS (SELECT ${DISPOSABLE_COMMIT})
${writeEntriesFrom(`async_commit, unnest($1::varchar[], $2::jsonb[], $3::float8[]) AS e(query_hash, result, ttl)`)}`);

/**
 * SET_MANY's upsert of the entries `from` yields as `e` (query_hash, result, ttl in seconds; keys
 * distinct): shared with the query route's finish, which writes a fresh answer's entry with its
 * settle. No RETURNING: the caller adds its own.
 */
export function writeEntriesFrom(from: string): string {
  return `INSERT INTO query_cache (query_hash, result, cached_at, expires_at)
SELECT e.query_hash, e.result, now(), now() + e.ttl * interval '1 second'
  FROM ${from}
ON CONFLICT (query_hash) DO UPDATE
  SET result = EXCLUDED.result, cached_at = EXCLUDED.cached_at, expires_at = EXCLUDED.expires_at`;
}

interface Entry {
  key: string;
  json: string;
  ttlSeconds: number;
}

/** Rows deleted per statement by cleanupExpired: short statements, short locks. */
export const CLEANUP_BATCH_SIZE = 1000;

/**
 * CACHE_BACKEND=postgres: the `query_cache` table (docs/storage.md). Shared by every API process on
 * the database. Writes upsert on the primary key; reads never serve a row whose `expires_at`
 * has passed, cleaned up or not; cleanup deletes expired rows in batches found through the
 * `expires_at` index, skipping rows another cleanup holds and rows an idempotency record still
 * refers to (docs/adr/0011: one copy of an answer serves every record referring to it; the row
 * goes at the first cleanup after the last of them, and should one go earlier, its trigger
 * copies the answer into them). Timeouts come from the pool's
 * statement/query timeouts; the query cache service bounds each call further.
 */
export function createPostgresCacheStore(
  sequelize: Sequelize,
  options: {
    /** True while the database is known to be down (its breaker is open): reads and writes fail at once. */
    databaseDown?: () => boolean;
    /** Where the entry count of the stats is read (it may lag); unset = the primary. */
    reads?: ReplicaReads;
  } = {},
): CacheStore {
  // The guard of both batched statements, around each caller's item (see guardedBatcher): it
  // refuses at once while the database's breaker is open, and adds no bound and counts nothing,
  // since the query cache service bounds and counts every call with the cache's own breaker, and
  // a cache that fails must never open the database's.
  const guard = failFastGuard(options.databaseDown ?? (() => false), () => new Error('the database is unavailable'));
  // Lookups are on every assistant query: concurrent ones share one statement (see guardedReads),
  // sent on a pooled connection directly (see pooledQuery).
  const lookup = guardedReads<string, JsonValue>(guard, 'cache.get', async (keys) => {
    const rows = await pooledQuery<{ query_hash: string; result: JsonValue }>(sequelize, GET_MANY, [keys]);
    return new Map(rows.map((r) => [r.query_hash, r.result]));
  });
  // Concurrent writes share one upsert too; the last write of a key in a batch wins, as it would
  // have one statement later (an upsert cannot touch one row twice). Rows are locked in the order
  // they are listed, and two batches in flight may hold the same keys: listed in key order, they
  // take them in one order and cannot deadlock. A disposable write may land after its caller
  // stopped waiting: it is not checked again before it leaves.
  const store = guardedWrites<Entry>(guard, 'cache.set', async (entries) => {
    const latest = new Map(entries.map((e) => [e.key, e]));
    const batch = [...latest.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    await pooledQuery(sequelize, SET_MANY, [batch.map((e) => e.key), batch.map((e) => e.json), batch.map((e) => e.ttlSeconds)]);
  });
  const select = <T extends object>(sql: string, bind: unknown[] = []) => sequelize.query<T>(sql, { type: QueryTypes.SELECT, bind });
  return {
    backend: 'postgres',
    get: (key) => lookup(key),
    async set(key, value, ttlSeconds) {
      await store({ key, json: JSON.stringify(value), ttlSeconds });
    },
    async clear() {
      await cacheModel(sequelize).destroy({ where: {} });
    },
    cleanupExpired: () =>
      deleteExpiredRows(cacheModel(sequelize), {
        batchSize: CLEANUP_BATCH_SIZE,
        // A row an idempotency record still refers to stays until the last such record is gone.
        where: literal('NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.cache_ref = "QueryCache"."query_hash")'),
      }),
    async countEntries() {
      const [row] = options.reads ? await options.reads.query<{ n: number }>(COUNT_LIVE, []) : await select<{ n: number }>(COUNT_LIVE.text);
      return row?.n ?? 0;
    },
    async ping() {
      await select('SELECT 1');
    },
    // The pool belongs to the database module.
    close: () => Promise.resolve(),
  };
}
