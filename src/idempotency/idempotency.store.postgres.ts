import { QueryTypes, type Sequelize } from 'sequelize';
import { DISPOSABLE_COMMIT } from '../platform/disposable-commit.js';
import { deleteExpiredRows } from '../platform/expiry-cleanup.js';
import { pooledQuery, statement } from '../platform/pooled-query.js';
import { guardedBatcher, roundsBy, sendWhileLive, type GuardedItem } from '../platform/batcher.js';
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
 * The claims of one turn of the event loop in one statement, each as `begin` claims: $1 users, $2
 * keys, $3 request hashes, $4 attempts, $5 now, $6 lease ends, $7 expiries (aligned, one per
 * claim; no (user, key) twice: those go in the next statement), $8 live records kept per user.
 *
 * - `claim` creates each record, takes over an expired one (or an in-progress one whose lease
 *   ran out, for the same body), or leaves the existing one alone; rows are locked in (user, key)
 *   order, so two batches in flight cannot deadlock.
 * - A new record (not a taken-over one: `fresh`) then trims its user's records: the expired ones,
 *   and the oldest completed ones past the cap. The trim reads the statement's snapshot, which
 *   does not hold the new records: they are counted in (`added`). No key the statement asks for
 *   is ever a candidate (one statement must not change a row twice; a replayed record stays and
 *   counts). Only completed rows are ever picked past the cap, so an in-progress one is never
 *   dropped. Each user's records are read once; only users past the cap are ranked. A row to drop
 *   that another statement holds is skipped (SKIP LOCKED), so a trim never waits and two batches
 *   holding several users cannot wait on each other.
 * - When nothing was claimed, the existing record comes back in the same statement (a referred
 *   answer read through its cache row, one snapshot). No row at all for a claim means its record
 *   committed after the snapshot, was deleted by `abandon`, or was taken over after the snapshot
 *   (an expired version is never read back: its old answer is not this key's any more): the
 *   caller tries again, on a fresh snapshot.
 *
 * Its commit does not wait for the WAL flush (DISPOSABLE_COMMIT): a claim only matters once its
 * attempt charges, and that charge's synchronous commit flushes the WAL up to itself, this claim's
 * commit included (it came first). A crash before the charge forgets a claim that charged
 * nothing, and a retry claims afresh.
 */
const BEGIN_MANY = statement('idempotency_begin_many', `
WITH async_commit AS (SELECT ${DISPOSABLE_COMMIT} AS setting),
req AS (
  SELECT r.* FROM async_commit,
         unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])
           WITH ORDINALITY AS r(user_id, key, request_hash, attempt, now, locked_until, expires_at, n)
),
claim AS (
  INSERT INTO idempotency_keys (user_id, key, request_hash, status, attempt, charge_token, created_at, locked_until, expires_at)
  SELECT user_id, key, request_hash, 'in_progress', attempt, attempt, now, locked_until, expires_at FROM req ORDER BY user_id, key
  ON CONFLICT (user_id, key) DO UPDATE
     SET request_hash = EXCLUDED.request_hash, status = 'in_progress', response = NULL,
         cache_ref = NULL, cache_fields = NULL,
         attempt = EXCLUDED.attempt,
         -- a taken-over attempt keeps its charge; a new record gets a new one
         charge_token = CASE WHEN idempotency_keys.expires_at <= EXCLUDED.created_at THEN EXCLUDED.charge_token
                             ELSE idempotency_keys.charge_token END,
         created_at = EXCLUDED.created_at,
         locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
   WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
      OR (idempotency_keys.status = 'in_progress' AND idempotency_keys.locked_until <= EXCLUDED.created_at
          AND idempotency_keys.request_hash = EXCLUDED.request_hash)
  RETURNING user_id, key, charge_token, charge_token = attempt AS fresh
), fresh_users AS (
  -- Per user with a new record: how many are new, and every key this statement asks for (never a
  -- trim candidate: one statement must not change a row twice, and a replayed record stays).
  SELECT f.user_id, f.added, f.now, (SELECT array_agg(r.key) FROM req r WHERE r.user_id = f.user_id) AS keys
    FROM (SELECT c.user_id, count(*) AS added, max(r.now) AS now
            FROM claim c JOIN req r ON r.user_id = c.user_id AND r.key = c.key
           WHERE c.fresh GROUP BY c.user_id) f
), live AS (
  -- The user's records as the snapshot holds them (the new ones are not there: they are counted in as added).
  SELECT k.user_id, k.key, k.status, k.created_at, k.expires_at <= f.now AS expired, f.added, k.key = ANY (f.keys) AS asked
    FROM idempotency_keys k JOIN fresh_users f ON f.user_id = k.user_id
), over_cap AS (
  -- The users who would hold more records than the cap, the new ones counted in.
  SELECT COALESCE(array_agg(user_id), '{}') AS users FROM (
    SELECT user_id FROM live GROUP BY user_id, added HAVING count(*) FILTER (WHERE NOT expired) + added > $8::int
  ) o
), doomed AS (
  SELECT user_id, key FROM live WHERE expired AND NOT asked
  UNION ALL
  -- The oldest completed ones of those users, ranked for them only (one sort serves both windows).
  SELECT user_id, key FROM (
    SELECT l.user_id, l.key, l.added, l.status = 'completed' AND NOT l.asked AS droppable,
           row_number() OVER (PARTITION BY l.user_id, l.status = 'completed' AND NOT l.asked ORDER BY l.created_at, l.key) AS rn,
           count(*) OVER (PARTITION BY l.user_id) AS kept
      FROM live l
     WHERE l.user_id = ANY ((SELECT users FROM over_cap)::varchar[]) AND NOT l.expired
  ) o WHERE o.droppable AND o.rn <= o.kept + o.added - $8::int
), victims AS (
  -- A row another statement holds (its own trim, a takeover) is left to it: no trim ever waits.
  SELECT v.user_id, v.key FROM doomed d, LATERAL (
    SELECT k.user_id, k.key FROM idempotency_keys k WHERE k.user_id = d.user_id AND k.key = d.key FOR UPDATE SKIP LOCKED
  ) v
), trimmed AS (
  DELETE FROM idempotency_keys k USING victims v, fresh_users f
   WHERE k.user_id = v.user_id AND k.key = v.key AND f.user_id = v.user_id
     AND (k.status = 'completed' OR k.expires_at <= f.now)
  RETURNING 1
)
SELECT r.n::int AS n, c.charge_token::text AS charge_token, NULL::text AS request_hash, NULL::text AS status, NULL::jsonb AS response, false AS lost
  FROM req r JOIN claim c ON c.user_id = r.user_id AND c.key = r.key
UNION ALL
SELECT r.n::int, NULL, k.request_hash, k.status,
       CASE WHEN k.cache_ref IS NULL THEN k.response
            ELSE k.response || (SELECT jsonb_object_agg(f, q.result -> f) FROM unnest(k.cache_fields) AS f) END,
       k.cache_ref IS NOT NULL AND q.query_hash IS NULL
  FROM req r
  JOIN idempotency_keys k ON k.user_id = r.user_id AND k.key = r.key
  LEFT JOIN query_cache q ON q.query_hash = k.cache_ref
 WHERE k.expires_at > r.now AND NOT EXISTS (SELECT 1 FROM claim c WHERE c.user_id = r.user_id AND c.key = r.key)`);

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
  n: number;
  charge_token: string | null;
  request_hash: string | null;
  status: string | null;
  response: StoredResponse | null;
  lost: boolean;
}

/** A claim as `begin` asks for it. */
interface PendingClaim {
  params: BeginParams;
  now: Date;
}

/**
 * Idempotency records in PostgreSQL, so they hold across processes and restarts. `begin` is one
 * planned statement (BEGIN_MANY) shared by the claims of one turn of the event loop: the claim,
 * the user's trim, and the existing record when there is nothing to claim.
 */
export class PostgresIdempotencyStore implements IdempotencyStore {
  private readonly maxKeysPerUser: number;
  private readonly referToCache: boolean;
  /** Claims of concurrent requests share one statement. */
  private readonly claim: (claim: PendingClaim) => Promise<BeginRow | undefined>;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly guard: StorageGuard,
    private readonly now: () => Date = () => new Date(),
    options: IdempotencyStoreOptions = {},
  ) {
    this.maxKeysPerUser = options.maxKeysPerUser ?? DEFAULT_MAX_KEYS_PER_USER;
    this.referToCache = options.referToCache ?? false;
    this.claim = guardedBatcher(guard, 'idempotency.begin', (items, settle) => this.runClaims(items, settle));
  }

  async begin(p: BeginParams): Promise<BeginResult> {
    // A record that committed after the statement's snapshot, was deleted by `abandon`, or was
    // taken over meanwhile is simply tried again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await this.claim({ params: p, now: this.now() });
      if (!row) continue;
      if (row.charge_token !== null) return { state: 'started', chargeToken: row.charge_token };
      // The cache table's triggers make this impossible; a replay of a part is never served.
      if (row.lost) throw new Error('an idempotency record refers to a cache row that is gone');
      if (row.request_hash !== p.requestHash) return { state: 'conflict' };
      if (row.status === 'completed' && row.response) return { state: 'completed', response: row.response };
      return { state: 'in_progress' };
    }
    return { state: 'in_progress' };
  }

  /**
   * The claims of one turn of the event loop (BEGIN_MANY), through `guardedBatcher`: a key asked
   * twice in one turn goes in the next statement, and a claim whose request was answered 503 is
   * never sent (a claim landing after that would hold the key until its lease ends).
   */
  private runClaims(items: readonly GuardedItem<PendingClaim>[], settle: (index: number, result: BeginRow | undefined | Error) => void): Promise<void> {
    return (async () => {
      for (const round of roundsBy(items, (it) => `${it.item.params.userId}\u0000${it.item.params.key}`)) {
        await sendWhileLive(items, round, settle, async (batch, beforeSend) => {
          const claims = batch.map((b) => b.item);
          const bind = [
            claims.map((c) => c.params.userId),
            claims.map((c) => c.params.key),
            claims.map((c) => c.params.requestHash),
            claims.map((c) => c.params.attempt),
            claims.map((c) => c.now),
            claims.map((c) => new Date(c.now.getTime() + c.params.leaseMs)),
            claims.map((c) => new Date(c.now.getTime() + c.params.ttlMs)),
            this.maxKeysPerUser,
          ];
          const rows = await pooledQuery<BeginRow>(this.sequelize, BEGIN_MANY, bind, beforeSend);
          const byN = new Map(rows.map((r) => [r.n, r]));
          return claims.map((_, j) => byN.get(j + 1));
        });
      }
    })();
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
