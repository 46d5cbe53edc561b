import { QueryTypes, type Sequelize } from 'sequelize';
import { DISPOSABLE_COMMIT } from '../platform/disposable-commit.js';
import { deleteExpiredRows } from '../platform/expiry-cleanup.js';
import { pooledQuery, statement } from '../platform/pooled-query.js';
import { guardedOptions, type StorageGuard } from '../platform/storage-guard.js';
import { idempotencyModel } from './idempotency.models.js';
import {
  DEFAULT_MAX_KEYS_PER_USER,
  type BeginParams,
  type BeginResult,
  type CompleteOptions,
  type IdempotencyStore,
  type IdempotencyStoreOptions,
  type StoredResponse,
} from './idempotency.store.js';

/**
 * A claim in one statement ($1 user, $2 key, $3 request hash, $4 attempt, $5 now, $6 lease end,
 * $7 expiry, $8 live records kept per user). `claim` creates the record, takes over an expired
 * one (or an in-progress one whose lease ran out, for the same body), or leaves the existing one
 * alone. A new record (not a taken-over one: `fresh`) then trims the user's records: the expired
 * ones, and the oldest completed ones past the cap. The trim reads the statement's snapshot,
 * which does not hold the new record: it is counted in (+ 1), and its key is never a candidate
 * (one statement must not change a row twice). Only completed rows are ever picked past the
 * cap, so an in-progress one is never dropped. When nothing was claimed, the existing record
 * comes back in the same statement (a referred answer read through its cache row, one snapshot);
 * no row at all means the record committed after the snapshot, was deleted by `abandon`, or was
 * taken over after the snapshot (an expired version is never read back: its old answer is not
 * this key's any more): the caller tries again, on a fresh snapshot.
 *
 * Its commit does not wait for the WAL flush: a claim only matters once its attempt charges, and
 * that charge's synchronous commit flushes the WAL up to itself, this claim's commit included
 * (it came first). A crash before the charge forgets a claim that charged nothing, and a retry
 * claims afresh.
 */
const BEGIN = statement('idempotency_begin', `
WITH async_commit AS (SELECT ${DISPOSABLE_COMMIT} AS setting),
claim AS (
  INSERT INTO idempotency_keys (user_id, key, request_hash, status, attempt, charge_token, created_at, locked_until, expires_at)
  SELECT $1, $2, $3, 'in_progress', $4, $4, $5, $6, $7 FROM async_commit
  ON CONFLICT (user_id, key) DO UPDATE
     SET request_hash = EXCLUDED.request_hash, status = 'in_progress', response = NULL,
         cache_ref = NULL, cache_fields = NULL,
         attempt = EXCLUDED.attempt,
         -- a taken-over attempt keeps its charge; a new record gets a new one
         charge_token = CASE WHEN idempotency_keys.expires_at <= $5 THEN EXCLUDED.charge_token
                             ELSE idempotency_keys.charge_token END,
         created_at = EXCLUDED.created_at,
         locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
   WHERE idempotency_keys.expires_at <= $5
      OR (idempotency_keys.status = 'in_progress' AND idempotency_keys.locked_until <= $5
          AND idempotency_keys.request_hash = EXCLUDED.request_hash)
  RETURNING charge_token, charge_token = $4 AS fresh
), live AS (
  SELECT key, status, created_at, expires_at <= $5 AS expired FROM idempotency_keys
   WHERE user_id = $1 AND key <> $2 AND EXISTS (SELECT 1 FROM claim WHERE fresh)
), excess AS (
  SELECT GREATEST(count(*) FILTER (WHERE NOT expired) + 1 - $8::int, 0) AS n FROM live
), doomed AS (
  SELECT key FROM live WHERE expired
  UNION ALL
  (SELECT key FROM live WHERE NOT expired AND status = 'completed' ORDER BY created_at, key LIMIT (SELECT n FROM excess))
), trimmed AS (
  -- Run whether or not it is read (a data-modifying step always is).
  DELETE FROM idempotency_keys k USING doomed d
   WHERE k.user_id = $1 AND k.key = d.key AND (k.status = 'completed' OR k.expires_at <= $5)
  RETURNING 1
)
SELECT c.charge_token::text AS charge_token, NULL::text AS request_hash, NULL::text AS status, NULL::jsonb AS response, false AS lost
  FROM claim c
UNION ALL
SELECT NULL, k.request_hash, k.status,
       CASE WHEN k.cache_ref IS NULL THEN k.response
            ELSE k.response || (SELECT jsonb_object_agg(f, q.result -> f) FROM unnest(k.cache_fields) AS f) END,
       k.cache_ref IS NOT NULL AND q.query_hash IS NULL
  FROM idempotency_keys k LEFT JOIN query_cache q ON q.query_hash = k.cache_ref
 WHERE k.user_id = $1 AND k.key = $2 AND k.expires_at > $5 AND NOT EXISTS (SELECT 1 FROM claim)`);

/**
 * Completes a record ($1 user, $2 key, $3 attempt, $4 response, $5 hold or NULL, $6 now, $7 cache
 * key or NULL): the hold (when given) and the record are locked first; each update then runs only
 * if the other row was found as required (the hold open, the record this attempt's), so the
 * answer is recorded and its hold settled together or not at all. A hold a sweep refunded
 * meanwhile is seen as refunded once its lock is granted (READ COMMITTED rechecks a locked row).
 *
 * With a cache key, the cache row is share-locked in the same statement, and the response's
 * top-level fields it holds exactly (compared as jsonb text, as a replay would print them) are
 * left out of `response` and referred to by `cache_ref`/`cache_fields`. The lock makes a
 * concurrent overwrite or delete of that row wait for this commit, and the row's trigger then
 * copies the fields back into this record; an overwrite that got the row first is waited for
 * here, and its new answer (or its absence) is what is compared, so then a copy is kept.
 */
export const COMPLETE = `
WITH h AS (
  SELECT debit_id FROM credit_holds
   WHERE debit_id = $5::bigint AND user_id = $1 AND state = 'held'
   FOR UPDATE
), k AS (
  SELECT user_id, key FROM idempotency_keys
   WHERE user_id = $1 AND key = $2 AND attempt = $3 AND status = 'in_progress'
   FOR UPDATE
), q AS (
  SELECT result FROM query_cache WHERE query_hash = $7::varchar FOR SHARE
), shared AS (
  SELECT array_agg(r.f ORDER BY r.f) AS fields
    FROM q, jsonb_each($4::jsonb) AS r(f, v)
   WHERE (q.result -> r.f)::text = r.v::text
), s AS (
  UPDATE credit_holds SET state = 'settled', settled_at = $6
   WHERE debit_id IN (SELECT debit_id FROM h) AND EXISTS (SELECT 1 FROM k)
  RETURNING debit_id
), c AS (
  UPDATE idempotency_keys i
     SET status = 'completed',
         response = $4::jsonb - COALESCE(shared.fields, '{}'::text[]),
         cache_ref = CASE WHEN shared.fields IS NULL THEN NULL ELSE $7::varchar END,
         cache_fields = shared.fields
    FROM k, shared
   WHERE i.user_id = k.user_id AND i.key = k.key AND ($5::bigint IS NULL OR EXISTS (SELECT 1 FROM h))
  RETURNING 1
)
SELECT (SELECT count(*) FROM c)::int AS completed`;

const COMPLETE_SQL = statement('idempotency_complete', COMPLETE);

/** A row of BEGIN: the claim's charge token, or (none claimed) the existing record. */
interface BeginRow {
  charge_token: string | null;
  request_hash: string | null;
  status: string | null;
  response: StoredResponse | null;
  lost: boolean;
}

/**
 * Idempotency records in PostgreSQL, so they hold across processes and restarts. `begin` is one
 * planned statement (BEGIN): the claim, the user's trim, and the existing record when there is
 * nothing to claim.
 */
export class PostgresIdempotencyStore implements IdempotencyStore {
  private readonly maxKeysPerUser: number;
  private readonly referToCache: boolean;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly guard: StorageGuard,
    private readonly now: () => Date = () => new Date(),
    options: IdempotencyStoreOptions = {},
  ) {
    this.maxKeysPerUser = options.maxKeysPerUser ?? DEFAULT_MAX_KEYS_PER_USER;
    this.referToCache = options.referToCache ?? false;
  }

  async begin(p: BeginParams): Promise<BeginResult> {
    return this.guard.run('idempotency.begin', async (call) => {
      // A record that committed after the statement's snapshot, or was deleted by `abandon`, is simply tried again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const now = this.now();
        const bind = [p.userId, p.key, p.requestHash, p.attempt, now, new Date(now.getTime() + p.leaseMs), new Date(now.getTime() + p.ttlMs), this.maxKeysPerUser];
        const [row] = await pooledQuery<BeginRow>(this.sequelize, BEGIN, bind, call.assertLive);
        if (!row) continue;
        if (row.charge_token !== null) return { state: 'started', chargeToken: row.charge_token };
        // The cache table's triggers make this impossible; a replay of a part is never served.
        if (row.lost) throw new Error('an idempotency record refers to a cache row that is gone');
        if (row.request_hash !== p.requestHash) return { state: 'conflict' };
        if (row.status === 'completed' && row.response) return { state: 'completed', response: row.response };
        return { state: 'in_progress' };
      }
      return { state: 'in_progress' };
    });
  }

  /** One statement (COMPLETE); a cache key is passed on only where the cache is `query_cache`. */
  async complete(userId: string, key: string, attempt: string, response: StoredResponse, holdId?: string | null, options?: CompleteOptions): Promise<boolean> {
    const hold = holdId ?? null;
    if (hold !== null && !/^\d{1,18}$/.test(hold)) return false;
    const cacheKey = this.referToCache ? (options?.cacheKey ?? null) : null;
    const [row] = await this.guard.run('idempotency.complete', (call) =>
      // Checked right before it leaves: a completion (with its settle) never lands after its request was answered 503.
      pooledQuery<{ completed: number }>(this.sequelize, COMPLETE_SQL, [userId, key, attempt, JSON.stringify(response), hold, this.now(), cacheKey], call.assertLive),
    );
    return row?.completed === 1;
  }

  async release(userId: string, key: string, attempt: string): Promise<void> {
    await this.guard.run('idempotency.release', (call) =>
      this.sequelize.query(
        `UPDATE idempotency_keys SET locked_until = LEAST(locked_until, $4)
          WHERE user_id = $1 AND key = $2 AND attempt = $3 AND status = 'in_progress'`,
        guardedOptions(call, { bind: [userId, key, attempt, this.now()] }),
      ),
    );
  }

  async renewChargeToken(userId: string, key: string, attempt: string): Promise<string | undefined> {
    const rows = await this.guard.run('idempotency.renew', (call) =>
      this.sequelize.query<{ charge_token: string }>(
        `UPDATE idempotency_keys SET charge_token = attempt
          WHERE user_id = $1 AND key = $2 AND attempt = $3 AND status = 'in_progress'
         RETURNING charge_token`,
        guardedOptions(call, { bind: [userId, key, attempt], type: QueryTypes.SELECT }),
      ),
    );
    return rows[0]?.charge_token;
  }

  async abandon(userId: string, key: string, attempt: string): Promise<void> {
    await this.guard.run('idempotency.abandon', (call) =>
      this.sequelize.query(
        `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND attempt = $3 AND status = 'in_progress'`,
        guardedOptions(call, { bind: [userId, key, attempt] }),
      ),
    );
  }

  cleanupExpired(batchSize = 1000): Promise<number> {
    return deleteExpiredRows(idempotencyModel(this.sequelize), {
      batchSize,
      now: this.now,
      run: (batch) => this.guard.run('idempotency.cleanup', batch),
    });
  }
}
