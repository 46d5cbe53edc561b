import { QueryTypes, type Sequelize } from 'sequelize';
import { DISPOSABLE_COMMIT } from '../platform/disposable-commit.js';
import { deleteExpiredRows } from '../platform/expiry-cleanup.js';
import { pooledQuery, statement, type Statement } from '../platform/pooled-query.js';
import { guardedBatcher, roundsBy, sendWhileLive, type GuardedItem } from '../platform/batcher.js';
import { guardedOptions, type StorageGuard } from '../platform/storage-guard.js';
import { retryTransient } from '../platform/transient-retry.js';
import { isRefusedStatement } from '../platform/db-guard.js';
import { isEntryId } from '../credits/credit.rows.js';
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
export const BEGIN_MANY_REQUESTS = `async_commit AS (SELECT ${DISPOSABLE_COMMIT} AS setting),
req AS (
  SELECT r.* FROM async_commit,
         unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])
           WITH ORDINALITY AS r(user_id, key, request_hash, attempt, now, locked_until, expires_at, n)
)`;

/**
 * The claim's steps over `req` (BEGIN_MANY_REQUESTS: $1 to $7), ending in `begun`: one row per
 * request (by `n`) with its charge token, or the existing record, or none (see above); $8 the cap.
 * `admit`: an SQL condition over `req`'s row; a request it refuses claims nothing (the query gate
 * claims only for shoppers who accepted the terms).
 */
export function claimSteps(admit: string): string {
  return `claim AS (
  INSERT INTO idempotency_keys (user_id, key, request_hash, status, attempt, charge_token, created_at, locked_until, expires_at)
  SELECT user_id, key, request_hash, 'in_progress', attempt, attempt, now, locked_until, expires_at FROM req WHERE ${admit} ORDER BY user_id, key
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
),
begun AS (
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
   WHERE k.expires_at > r.now AND NOT EXISTS (SELECT 1 FROM claim c WHERE c.user_id = r.user_id AND c.key = r.key)
)`;
}

const BEGIN_MANY = statement('idempotency_begin_many', `
WITH ${BEGIN_MANY_REQUESTS},
${claimSteps('true')}
SELECT * FROM begun`);

/**
 * Completes the records of one turn of the event loop, each as one completion would ($1 users,
 * $2 keys, $3 attempts, $4 responses, $5 holds (NULL: none), $6 cache keys (NULL: none), aligned,
 * one per record; $7 now). Each hold (when given) and each record are locked first, holds in id
 * order and records in (user, key) order, so two batches in flight cannot deadlock; a record is
 * then completed and its hold settled only if both were found as required (the hold open, the
 * record this attempt's), so an answer is recorded and its hold settled together or not at all.
 * A hold a sweep refunded meanwhile is seen as refunded once its lock is granted (READ COMMITTED
 * rechecks a locked row).
 *
 * With a cache key, the cache row is share-locked in the same statement, and the response's
 * top-level fields it holds exactly (compared as jsonb text, as a replay would print them) are
 * left out of `response` and referred to by `cache_ref`/`cache_fields`. The lock makes a
 * concurrent overwrite or delete of that row wait for this commit, and the row's trigger then
 * copies the fields back into this record; an overwrite that got the row first is waited for
 * here, and its new answer (or its absence) is what is compared, so then a copy is kept.
 */
export const COMPLETE_MANY = `
WITH req AS (
  SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::jsonb[], $5::bigint[], $6::varchar[])
    WITH ORDINALITY AS r(user_id, key, attempt, response, hold, cache_key, n)
), h AS (
  -- Read as it stands once its lock is granted (a sweep's refund meanwhile is seen).
  SELECT ch.debit_id, ch.user_id, ch.state FROM credit_holds ch JOIN req r ON r.hold = ch.debit_id AND r.user_id = ch.user_id
   ORDER BY ch.debit_id
   FOR UPDATE OF ch
), k AS (
  SELECT i.user_id, i.key FROM idempotency_keys i JOIN req r ON r.user_id = i.user_id AND r.key = i.key AND r.attempt = i.attempt
   WHERE i.status = 'in_progress'
   ORDER BY i.user_id, i.key
   FOR UPDATE OF i
), q AS (
  SELECT query_hash, result FROM query_cache WHERE query_hash IN (SELECT cache_key FROM req WHERE cache_key IS NOT NULL)
   ORDER BY query_hash
   FOR SHARE
), ok AS (
  -- The record is this attempt's and its hold (if any) is open, its own user's; a hold named by
  -- several completions goes with the first of them only (one charge, one answer).
  SELECT DISTINCT ON (COALESCE(r.hold, -r.n)) r.* FROM req r JOIN k ON k.user_id = r.user_id AND k.key = r.key
   WHERE r.hold IS NULL OR EXISTS (SELECT 1 FROM h WHERE h.debit_id = r.hold AND h.user_id = r.user_id AND h.state = 'held')
   ORDER BY COALESCE(r.hold, -r.n), r.n
), shared AS (
  SELECT o.n, array_agg(e.f ORDER BY e.f) AS fields
    FROM ok o JOIN q ON q.query_hash = o.cache_key, jsonb_each(o.response) AS e(f, v)
   WHERE (q.result -> e.f)::text = e.v::text
   GROUP BY o.n
), s AS (
  UPDATE credit_holds SET state = 'settled', settled_at = $7
   WHERE debit_id IN (SELECT hold FROM ok WHERE hold IS NOT NULL)
  RETURNING debit_id
), c AS (
  UPDATE idempotency_keys i
     SET status = 'completed',
         response = o.response - COALESCE(sh.fields, '{}'::text[]),
         cache_ref = CASE WHEN sh.fields IS NULL THEN NULL ELSE o.cache_key END,
         cache_fields = sh.fields
    FROM ok o LEFT JOIN shared sh ON sh.n = o.n
   WHERE i.user_id = o.user_id AND i.key = o.key
  RETURNING o.n
)
SELECT r.n::int AS n, (c.n IS NOT NULL) AS completed FROM req r LEFT JOIN c ON c.n = r.n ORDER BY r.n`;

const COMPLETE_SQL = statement('idempotency_complete_many', COMPLETE_MANY);

/** One completion as `complete` asks for it (the bind of COMPLETE_MANY, one element each). */
export interface PendingCompletion {
  userId: string;
  key: string;
  attempt: string;
  response: string;
  hold: string | null;
  cacheKey: string | null;
}

/** COMPLETE_MANY's bind for `completions`, completed at `now`. */
export function completeBind(completions: readonly PendingCompletion[], now: Date): unknown[] {
  return [
    completions.map((c) => c.userId),
    completions.map((c) => c.key),
    completions.map((c) => c.attempt),
    completions.map((c) => c.response),
    completions.map((c) => c.hold),
    completions.map((c) => c.cacheKey),
    now,
  ];
}

/** A row of `begun`: the claim's charge token, or (none claimed) the existing record. */
export interface BeginRow {
  n: number;
  charge_token: string | null;
  request_hash: string | null;
  status: string | null;
  response: StoredResponse | null;
  lost: boolean;
}

/** A claim as `begin` asks for it. */
export interface PendingClaim {
  params: BeginParams;
  now: Date;
}

/** BEGIN_MANY's bind ($1 to $8) for `claims`. */
export function claimBind(claims: readonly PendingClaim[], maxKeysPerUser: number): unknown[] {
  return [
    claims.map((c) => c.params.userId),
    claims.map((c) => c.params.key),
    claims.map((c) => c.params.requestHash),
    claims.map((c) => c.params.attempt),
    claims.map((c) => c.now),
    claims.map((c) => new Date(c.now.getTime() + c.params.leaseMs)),
    claims.map((c) => new Date(c.now.getTime() + c.params.ttlMs)),
    maxKeysPerUser,
  ];
}

/** What a claim's row means for a request of `requestHash`; undefined for no row (try again, on a fresh snapshot). */
export function beginResultOf(row: BeginRow | undefined, requestHash: string): BeginResult | undefined {
  if (!row) return undefined;
  if (row.charge_token !== null) return { state: 'started', chargeToken: row.charge_token };
  // The cache table's triggers make this impossible; a replay of a part is never served.
  if (row.lost) throw new Error('an idempotency record refers to a cache row that is gone');
  if (row.request_hash !== requestHash) return { state: 'conflict' };
  if (row.status === 'completed' && row.response) return { state: 'completed', response: row.response };
  return { state: 'in_progress' };
}

/**
 * How the claims of one turn of the event loop are sent, for `guardedBatcher`: `sql` is a
 * statement over BEGIN_MANY_REQUESTS (the store's BEGIN_MANY, or the query gate's claim with
 * consent) whose rows carry `n`. A key asked twice in one turn goes in the next statement; a claim
 * whose request was answered 503 is never sent (it would hold the key until its lease ends), and
 * the others go again without it (sendWhileLive). Repeated when it rolled back (a deadlock with a
 * cache write's copy-back), never after a lost connection.
 */
export function claimRounds<Row extends { n: number }>(
  sequelize: Sequelize,
  sql: Statement,
  maxKeysPerUser: number,
): (items: readonly GuardedItem<PendingClaim>[], settle: (index: number, result: Row | undefined | Error) => void) => Promise<void> {
  return async (items, settle) => {
    for (const round of roundsBy(items, (it) => `${it.item.params.userId}\u0000${it.item.params.key}`)) {
      await sendWhileLive(items, round, settle, async (batch, beforeSend) => {
        const bind = claimBind(batch.map((b) => b.item), maxKeysPerUser);
        const rows = await retryTransient(() => pooledQuery<Row>(sequelize, sql, bind, beforeSend), { connectionErrors: false });
        const byN = new Map(rows.map((r) => [r.n, r]));
        return batch.map((_, j) => byN.get(j + 1));
      });
    }
  };
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
  /** Completions of concurrent requests share one statement. */
  private readonly completion: (completion: PendingCompletion) => Promise<boolean>;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly guard: StorageGuard,
    private readonly now: () => Date = () => new Date(),
    options: IdempotencyStoreOptions = {},
  ) {
    this.maxKeysPerUser = options.maxKeysPerUser ?? DEFAULT_MAX_KEYS_PER_USER;
    this.referToCache = options.referToCache ?? false;
    this.claim = guardedBatcher(guard, 'idempotency.begin', claimRounds<BeginRow>(sequelize, BEGIN_MANY, this.maxKeysPerUser));
    this.completion = guardedBatcher(guard, 'idempotency.complete', (items, settle) => this.runCompletions(items, settle));
  }

  async begin(p: BeginParams): Promise<BeginResult> {
    // A record that committed after the statement's snapshot, was deleted by `abandon`, or was
    // taken over meanwhile is simply tried again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const begun = beginResultOf(await this.claim({ params: p, now: this.now() }), p.requestHash);
      if (begun) return begun;
    }
    return { state: 'in_progress' };
  }

  /** One statement (COMPLETE_MANY) shared by the completions of one turn; a cache key is passed on only where the cache is `query_cache`. */
  async complete(userId: string, key: string, attempt: string, response: StoredResponse, holdId?: string | null, options?: CompleteOptions): Promise<boolean> {
    const hold = holdId ?? null;
    if (hold !== null && !isEntryId(hold)) return false;
    const cacheKey = this.referToCache ? (options?.cacheKey ?? null) : null;
    return this.completion({ userId, key, attempt, response: JSON.stringify(response), hold, cacheKey });
  }

  /**
   * The completions of one turn of the event loop (COMPLETE_MANY), through `guardedBatcher`. A
   * completion settles a hold, so, as the credits' settles, it is never sent for a request already
   * answered 503, and the statement is checked again once a connection is in hand (sendWhileLive:
   * the others go again without it). Never repeated after a failure: its outcome then decides as
   * any settle's does.
   */
  private async runCompletions(items: readonly GuardedItem<PendingCompletion>[], settle: (index: number, result: boolean | Error) => void): Promise<void> {
    for (const round of roundsBy(items, (it) => `${it.item.userId}\u0000${it.item.key}`)) {
      // A statement PostgreSQL refused (one request's answer it cannot store, say) rolled back
      // whole: each completion goes again alone, and a refusal is only its own request's.
      await sendWhileLive(items, round, settle, (batch, beforeSend) => this.sendCompletions(batch, beforeSend), { alone: isRefusedStatement });
    }
  }

  /** One COMPLETE_MANY: repeated only when it rolled back (a deadlock), never after a lost connection (it may have committed). */
  private async sendCompletions(batch: readonly GuardedItem<PendingCompletion>[], beforeSend: () => void): Promise<boolean[]> {
    const rows = await retryTransient(
      () => pooledQuery<{ n: number; completed: boolean }>(this.sequelize, COMPLETE_SQL, completeBind(batch.map((b) => b.item), this.now()), beforeSend),
      { connectionErrors: false },
    );
    const done = new Set(rows.filter((r) => r.completed).map((r) => r.n));
    return batch.map((_, j) => done.has(j + 1));
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

