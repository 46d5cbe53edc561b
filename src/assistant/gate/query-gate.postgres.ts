import { randomUUID } from 'node:crypto';
import type { Sequelize } from 'sequelize';
import { DISPOSABLE_COMMIT } from '../../platform/disposable-commit.js';
import type { JsonValue } from '../../cache/cache.store.js';
import { toConsent, type ConsentRow } from '../../consent/consent.repository.postgres.js';
import { chargeKey, type ChargeResult, type CreditPolicy, type HoldState } from '../../credits/credit.repository.js';
import { accountOf, chargeResultOf, isIdempotencyClash, type MutationRow } from '../../credits/credit.rows.js';
import { chargeSteps } from '../../credits/credit.sql.js';
import { isRefusedStatement } from '../../platform/db-guard.js';
import { guardedBatcher, sendWhileLive, type GuardedItem } from '../../platform/batcher.js';
import { DEFAULT_MAX_KEYS_PER_USER } from '../../idempotency/idempotency.store.js';
import { BEGIN_MANY_REQUESTS, beginResultOf, claimRounds, claimSteps, type BeginRow, type PendingClaim } from '../../idempotency/idempotency.store.postgres.js';
import { pooledQuery, statement } from '../../platform/pooled-query.js';
import type { StorageGuard } from '../../platform/storage-guard.js';
import { retryTransient } from '../../platform/transient-retry.js';
import { COUNT_HITS } from '../../rate-limit/rate-limit.store.postgres.js';
import { windowOf } from '../../rate-limit/rate-limit.store.js';
import type { ClaimRequest, ClaimResult, GateCharge, GateRequest, GateResult, QueryGate } from './query-gate.js';

/**
 * The gates of one turn of the event loop in one statement (one round trip, one transaction).
 * $1 user ids, $2 clock (NULL: the database's), $3 reset period in ms, $4/$5 guest/registered
 * allowance (the credit statements' common parameters), $6 rate-limit keys (NULL: not counted),
 * $7/$8 their window's start and end, $9 cache keys (NULL: not read), $10 new conversations' ids
 * (NULL: no turn kept here), $11 their first turns without the products, $12 their lifetimes in
 * seconds, $13 the rate limit per window (NULL: none), $14 fresh answers' costs (NULL: no charge
 * here), $15 their ledger descriptions, $16 their ledger keys, $17 their holds in ms; the arrays
 * align, one element per question (a user may ask several at once).
 *
 * - `consent`: the users' consent records, as `user_consents` holds them.
 * - `counted`/`hits`: the questions counted against the rate limit — only those whose user has
 *   accepted the terms — summed per counter and added to it in one upsert (a statement cannot
 *   change a row twice), as `rate_limit_counters` counts a hit: a newer window starts over, an
 *   older one is counted in the newer. Each question's own count is the counter's new value less
 *   the questions after it in the batch, so concurrent questions each get a count of their own.
 *   Counters are upserted in key order: two gates in flight cannot deadlock.
 * - `cache`: the live entries asked for (an expired one is never served).
 * - the balance: each user's `user_credits` row read without a lock, with `resetting` (a lazy
 *   reset is due; the credit service then answers under the row's lock).
 * - `turns`: a new conversation with its first turn, for each question whose answer stands with
 *   this statement (consent accepted, within the rate limit, the cache entry found, the balance
 *   read), its products taken from the entry in their order, as the conversation step takes them
 *   from an answer, when the entry has an answer's shape (the service refuses one that has not).
 *   A new conversation's id is random (128 bits): DO NOTHING meets a row only when this very
 *   statement is sent again after a lost connection (retryTransient) and its first run committed;
 *   the turn is then kept already, which `turn_kept` reads back. (Such a repeat counts the
 *   question against the rate limit twice: a count, never a charge.)
 * - `to_charge`, then the credit statements' own charge steps (`chargeSteps`): a fresh answer's
 *   charge, as a hold, for each question asking for one that is sure to be answered afresh once
 *   this statement stands — consent accepted, within the rate limit (the same count the question
 *   is told), its cache entry not read ($9 NULL: the shopper asked for no cache) or not found, the
 *   account there with no reset due — and is its user's first such question in the batch (one
 *   statement cannot change a row twice). The charge is guarded under the row's lock as every
 *   charge is: refused (`ok` false) when the balance does not cover it. Its ledger key is the
 *   caller's, so a repeat of this statement after a lost connection replays the charge. Any other
 *   question is not charged here; the credit service charges it, as before. The counters are
 *   locked (by `hits`, which `to_charge` reads) before the credit rows, in every gate alike.
 *
 * Without a charge it writes only rate-limit counters, which are not money: its commit then does
 * not wait for the WAL flush (a crash may forget the last second of counts, never a credit). When
 * a charge lands (`durable`), the session's own setting is put back, so that commit waits for the
 * flush as every charge statement's does. set_config with is_local holds for this statement's own
 * transaction only. A lazy reset cannot apply in the gate's charge: `to_charge` takes no account
 * whose unlocked row has one due, and a reset only moves `last_reset_timestamp` later, so the
 * locked row has none due either (the reset's grant would otherwise go uncounted in the metrics;
 * the ledger would still be right).
 */
export const GATE_MANY = `
WITH prior AS (SELECT current_setting('synchronous_commit') AS setting),
async_commit AS (SELECT p.setting AS prior, ${DISPOSABLE_COMMIT} AS setting FROM prior p),
req AS (
  SELECT r.* FROM async_commit,
         unnest($1::varchar[], $6::varchar[], $7::timestamptz[], $8::timestamptz[], $9::varchar[],
                $10::varchar[], $11::jsonb[], $12::int[], $13::int[], $14::int[], $15::text[], $16::varchar[], $17::float8[])
           WITH ORDINALITY AS r(user_id, rate_key, window_start, window_end, cache_key, conversation_id, turn, turn_ttl, rate_max,
                                cost, description, ledger_key, hold_ms, n)
),
consent AS (
  SELECT user_id, terms_accepted, marketing_consent, "timestamp", updated_at
    FROM user_consents WHERE user_id IN (SELECT user_id FROM req)
),
counted AS (
  SELECT r.n, r.rate_key, r.window_start, r.window_end,
         row_number() OVER (PARTITION BY r.rate_key ORDER BY r.n) AS rank,
         count(*) OVER (PARTITION BY r.rate_key) AS k
    FROM req r JOIN consent c ON c.user_id = r.user_id
   WHERE c.terms_accepted AND r.rate_key IS NOT NULL
),
hits AS (
  INSERT INTO rate_limit_counters AS c (key, window_start, window_end, count)
  SELECT rate_key, max(window_start), max(window_end), count(*) FROM counted GROUP BY rate_key ORDER BY rate_key
  ${COUNT_HITS}
  RETURNING key, count, window_end
),
cache AS (
  SELECT query_hash, result FROM query_cache
   WHERE query_hash IN (SELECT cache_key FROM req WHERE cache_key IS NOT NULL) AND expires_at > now()
),
acct AS (
  SELECT a.*, (a.last_reset_timestamp + $3::float8 * interval '1 millisecond' <= COALESCE($2::timestamptz, statement_timestamp())) AS resetting
    FROM user_credits a WHERE a.user_id IN (SELECT user_id FROM req)
),
turns AS (
  INSERT INTO conversations (conversation_id, user_id, turns, created_at, updated_at, expires_at)
  SELECT r.conversation_id, r.user_id,
         jsonb_build_array(r.turn || jsonb_build_object(
           'productIds', jsonb_path_query_array(q.result, '$.products[*].id'),
           'prices', jsonb_path_query_array(q.result, '$.products[*].price'))
           || CASE WHEN jsonb_typeof(q.result #> '{products,0,currency}') = 'string'
                   THEN jsonb_build_object('currency', q.result #> '{products,0,currency}') ELSE '{}'::jsonb END),
         now(), now(), now() + r.turn_ttl * interval '1 second'
    FROM req r
    JOIN consent c ON c.user_id = r.user_id AND c.terms_accepted
    JOIN cache q ON q.query_hash = r.cache_key
    JOIN acct a ON a.user_id = r.user_id AND NOT a.resetting
    LEFT JOIN counted ct ON ct.n = r.n
    LEFT JOIN hits h ON h.key = ct.rate_key
   WHERE r.conversation_id IS NOT NULL
     AND (r.rate_key IS NULL OR (h.count - ct.k + ct.rank) <= r.rate_max)
     AND jsonb_typeof(q.result -> 'answer') = 'string' AND jsonb_typeof(q.result -> 'products') = 'array'
   ORDER BY r.conversation_id
  ON CONFLICT (conversation_id) DO NOTHING
  RETURNING conversation_id
),
to_charge AS (
  SELECT r.n, r.user_id, r.cost, r.description, r.ledger_key AS key, r.hold_ms
    FROM req r
    JOIN consent c ON c.user_id = r.user_id AND c.terms_accepted
    JOIN acct a ON a.user_id = r.user_id AND NOT a.resetting
    LEFT JOIN cache q ON q.query_hash = r.cache_key
    LEFT JOIN counted ct ON ct.n = r.n
    LEFT JOIN hits h ON h.key = ct.rate_key
   WHERE r.cost IS NOT NULL AND q.query_hash IS NULL
     AND (r.rate_key IS NULL OR (h.count - ct.k + ct.rank) <= r.rate_max)
     AND NOT EXISTS (SELECT 1 FROM req e WHERE e.user_id = r.user_id AND e.cost IS NOT NULL AND e.n < r.n)
),
${chargeSteps('to_charge')},
durable AS (
  -- A charge landed: the commit waits for the WAL flush, as every charge's does (the setting is
  -- read at commit, so the one made last holds).
  SELECT set_config('synchronous_commit', (SELECT prior FROM async_commit), true) AS setting WHERE EXISTS (SELECT 1 FROM led)
)
SELECT r.n::int AS n, r.user_id,
       c.user_id IS NOT NULL AS has_consent, c.terms_accepted, c.marketing_consent, c."timestamp", c.updated_at,
       (h.count - ct.k + ct.rank)::int AS rate_count, h.window_end AS rate_resets_at,
       r.cache_key IS NOT NULL AS cache_read, q.query_hash IS NOT NULL AS cache_found,
       -- An entry asked for by several questions is sent once, with the first of them.
       CASE WHEN row_number() OVER (PARTITION BY r.cache_key ORDER BY r.n) = 1 THEN q.result END AS cache_value,
       a.user_id IS NOT NULL AS has_account, a.is_guest, a.available_credits AS avail0, 0 AS applied,
       a.max_credits AS max0, a.last_reset_timestamp AS reset0, a.resetting,
       (t.conversation_id IS NOT NULL
        OR EXISTS (SELECT 1 FROM conversations kept WHERE kept.conversation_id = r.conversation_id AND kept.user_id = r.user_id)) AS turn_kept,
       e.user_id IS NOT NULL AS charged, e.is_guest AS charge_is_guest, e.resetting AS charge_resetting, e.available_credits AS charge_available,
       e.avail0 AS charge_avail0, e.applied AS charge_applied, e.max0 AS charge_max0, e.reset0 AS charge_reset0, e.ok AS charge_ok,
       e.prior_id, e.prior_type, e.prior_amount, e.prior_balance, e.prior_hold,
       (SELECT l.id FROM led l WHERE l.user_id = e.user_id AND l.transaction_type <> 'reset') AS charge_entry_id
  FROM req r
  LEFT JOIN consent c ON c.user_id = r.user_id
  LEFT JOIN counted ct ON ct.n = r.n
  LEFT JOIN hits h ON h.key = ct.rate_key
  LEFT JOIN cache q ON q.query_hash = r.cache_key
  LEFT JOIN acct a ON a.user_id = r.user_id
  LEFT JOIN turns t ON t.conversation_id = r.conversation_id
  LEFT JOIN to_charge tc ON tc.n = r.n
  LEFT JOIN eff e ON e.user_id = tc.user_id
  LEFT JOIN durable ON true
 ORDER BY r.n`;

const GATE_SQL = statement('assistant_gate', GATE_MANY);

/**
 * The claims of one turn's keyed questions with their consent, in one statement: the
 * idempotency store's own claim steps (claimSteps over BEGIN_MANY_REQUESTS, $1 to $8), admitting
 * only the questions whose user has accepted the terms (the contract checks consent before the
 * key: a shopper without it never claims one). One row per question: its consent record, and its
 * claim's row when there is one. Like the store's claim, it commits without waiting for the WAL
 * flush, and it is never sent for a question already answered 503.
 */
export const CLAIM_GATE_MANY = `
WITH ${BEGIN_MANY_REQUESTS},
consent AS (
  SELECT user_id, terms_accepted, marketing_consent, "timestamp", updated_at
    FROM user_consents WHERE user_id IN (SELECT user_id FROM req)
),
${claimSteps('EXISTS (SELECT 1 FROM consent c WHERE c.user_id = req.user_id AND c.terms_accepted)')}
SELECT r.n::int AS n, r.user_id,
       c.user_id IS NOT NULL AS has_consent, c.terms_accepted, c.marketing_consent, c."timestamp", c.updated_at,
       b.n IS NOT NULL AS has_begun, b.charge_token, b.request_hash, b.status, b.response, b.lost
  FROM req r
  LEFT JOIN consent c ON c.user_id = r.user_id
  LEFT JOIN begun b ON b.n = r.n
 ORDER BY r.n`;

const CLAIM_GATE_SQL = statement('assistant_claim_gate', CLAIM_GATE_MANY);

interface ClaimGateRow extends ConsentRow, BeginRow {
  has_consent: boolean;
  has_begun: boolean;
}

/** A question's row: consent in the consent repository's columns, the balance in a credit mutation's. */
interface GateRow extends ConsentRow, Pick<MutationRow, 'is_guest' | 'avail0' | 'applied' | 'max0' | 'reset0'> {
  n: number;
  has_consent: boolean;
  has_account: boolean;
  rate_count: number | null;
  rate_resets_at: Date | null;
  cache_read: boolean;
  cache_found: boolean;
  cache_value: JsonValue | null;
  resetting: boolean | null;
  turn_kept: boolean;
  /** The charge was tried here: the charge's own columns follow (`charge_*` and `prior_*`). */
  charged: boolean;
  charge_is_guest: boolean | null;
  charge_resetting: boolean | null;
  charge_available: number | null;
  charge_avail0: number | null;
  charge_applied: number | null;
  charge_max0: number | null;
  charge_reset0: Date | null;
  charge_ok: boolean | null;
  charge_entry_id: string | null;
  prior_id: string | null;
  prior_type: string | null;
  prior_amount: number | null;
  prior_balance: number | null;
  prior_hold: HoldState | null;
}

/** A question's part of the batch, with its window taken when it asked. */
interface PendingGate {
  request: GateRequest;
  window: { start: Date; end: Date } | null;
  /**
   * The charge this gate takes for the question (none where the gate does not charge), with its
   * ledger key fixed once: every send of its statement carries the same.
   */
  charge: (GateCharge & { ledgerKey: string }) | null;
}

/**
 * STORAGE_BACKEND=postgres: the gate as one statement (GATE_MANY) for the questions of one turn
 * of the event loop, through `guardedBatcher` (the database guard around each question). With
 * CACHE_BACKEND=postgres (the cache in the same database) it reads the cache entry too.
 */
export class PostgresQueryGate implements QueryGate {
  private readonly gate: (pending: PendingGate) => Promise<GateResult>;
  private readonly claims: (pending: PendingClaim) => Promise<ClaimGateRow | undefined>;

  constructor(
    private readonly sequelize: Sequelize,
    guard: StorageGuard,
    private readonly policy: CreditPolicy,
    private readonly options: {
      /** True when the query cache is the `query_cache` table of this database. */
      readsCache: boolean;
      /** True when the conversations are the `conversations` table of this database. */
      keepsTurns?: boolean;
      /** The fixed clock of tests for the balance's reset; unset: the database's clock. */
      clock?: () => Date | null;
      /** The rate limit's clock (windows are taken in the process, as the rate-limit store takes them), and the claims'. */
      now?: () => Date;
      /** IDEMPOTENCY_MAX_KEYS_PER_USER, as the idempotency store is given it. */
      maxKeysPerUser?: number;
      /** False: a fresh answer's charge is never taken here (the credits live elsewhere). Default true. */
      chargesFresh?: boolean;
    },
  ) {
    this.gate = guardedBatcher(guard, 'assistant.gate', (items, settle) => this.run(items, settle));
    this.claims = guardedBatcher(guard, 'assistant.claim', claimRounds<ClaimGateRow>(sequelize, CLAIM_GATE_SQL, options.maxKeysPerUser ?? DEFAULT_MAX_KEYS_PER_USER));
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const row = await this.claims({ params: request.claim, now: this.now() });
    const consent = row?.has_consent ? toConsent(row) : undefined;
    if (!row || !consent?.termsAccepted) return { consent, begun: undefined };
    return { consent, begun: row.has_begun ? beginResultOf(row, request.claim.requestHash) : undefined };
  }

  /** The rate limit's and the claims' clock. */
  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  get readsCache(): boolean {
    return this.options.readsCache;
  }

  get keepsTurns(): boolean {
    return this.options.keepsTurns === true;
  }

  get chargesFresh(): boolean {
    return this.options.chargesFresh !== false;
  }

  open(request: GateRequest): Promise<GateResult> {
    const limit = request.rateLimit;
    const window = limit ? windowOf(this.now(), limit.windowSeconds) : null;
    const asked = this.chargesFresh ? request.charge : undefined;
    // Keyed as the credit repository keys a charge: the caller's key, or one of its own.
    const charge = asked && { ...asked, ledgerKey: asked.idempotencyKey === undefined ? `auto:${randomUUID()}` : chargeKey(asked.idempotencyKey) };
    return this.gate({ request, window, charge: charge ?? null });
  }

  /**
   * Sends the turn's gates. Without a charge among them the statement is sent once (a question
   * answered 503 meanwhile only loses a count). With one it is a write of money: like every
   * charge, it is never sent for a question already answered 503 (checked again once a connection
   * is in hand, and sent again without it), and a statement PostgreSQL refused is sent again
   * question by question, so one question's failure is only its own.
   */
  private async run(items: readonly GuardedItem<PendingGate>[], settle: (index: number, result: GateResult | Error) => void): Promise<void> {
    if (!items.some((it) => it.item.charge !== null)) {
      const results = await this.send(items, undefined);
      results.forEach((result, i) => settle(i, result));
      return;
    }
    await sendWhileLive(items, items.map((_, i) => i), settle, (batch, beforeSend) => this.send(batch, beforeSend), { alone: isRefusedStatement });
  }

  /** One statement for `items`: one result per item, in order. */
  private async send(items: readonly GuardedItem<PendingGate>[], beforeSend: (() => void) | undefined): Promise<GateResult[]> {
    const requests = items.map((it) => it.item);
    const bind = [
      requests.map((p) => p.request.caller.userId),
      this.options.clock?.() ?? null,
      this.policy.resetPeriodMs,
      this.policy.guestAllowance,
      this.policy.registeredAllowance,
      requests.map((p) => (p.window ? p.request.rateLimit!.key : null)),
      requests.map((p) => p.window?.start ?? null),
      requests.map((p) => p.window?.end ?? null),
      requests.map((p) => (this.options.readsCache ? (p.request.cacheKey ?? null) : null)),
      requests.map((p) => (this.keepsTurns ? (p.request.firstTurn?.conversationId ?? null) : null)),
      requests.map((p) => (this.keepsTurns && p.request.firstTurn ? JSON.stringify(p.request.firstTurn.turn) : null)),
      requests.map((p) => p.request.firstTurn?.ttlSeconds ?? null),
      requests.map((p) => (p.window ? p.request.rateLimit!.max : null)),
      requests.map((p) => p.charge?.cost ?? null),
      requests.map((p) => p.charge?.description ?? null),
      requests.map((p) => p.charge?.ledgerKey ?? null),
      requests.map((p) => p.charge?.holdMs ?? null),
    ];
    // Without a charge, repeated after a lost connection too: see `turns` above for what a repeat
    // does. With one, only after a rollback (nothing committed) or a clash on a ledger key (a twin
    // committed first: the repeat replays it): a repeat after a lost connection would decide the
    // question's freshness, count and consent again, and could refuse a question whose first run
    // committed its charge. Such a question fails 503 instead, and its hold, if it landed, is the
    // sweep's (or, with a key, its retry's to adopt).
    const charging = requests.some((p) => p.charge !== null);
    const rows = await retryTransient(() => pooledQuery<GateRow>(this.sequelize, GATE_SQL, bind, beforeSend), {
      connectionErrors: !charging,
      alsoRetry: charging ? isIdempotencyClash : undefined,
    });
    // Rows come in question order: an entry sent with the first question asking for it serves the
    // later ones (one parse, one value shared; its readers never change it).
    const entries = new Map<string, JsonValue | null>();
    const results: GateResult[] = [];
    for (const row of rows) {
      const pending = requests[row.n - 1];
      if (!pending) continue;
      const key = pending.request.cacheKey;
      if (row.cache_found && key !== undefined) {
        if (entries.has(key)) row.cache_value = entries.get(key) ?? null;
        else entries.set(key, row.cache_value);
      }
      results[row.n - 1] = this.resultOf(row, pending);
    }
    if (results.length !== requests.length || results.includes(undefined as never)) throw new Error('the gate statement answered without a row for every question');
    return results;
  }

  private resultOf(row: GateRow, { request, charge }: PendingGate): GateResult {
    return {
      consent: row.has_consent ? toConsent(row) : undefined,
      rateHit: row.rate_count === null ? undefined : { count: row.rate_count, resetsAt: row.rate_resets_at! },
      cache: !row.cache_read ? undefined : row.cache_found ? { found: true, value: row.cache_value as JsonValue } : { found: false },
      // Only a balance no lazy reset would change (`resetting` false: the row exists, none is due).
      account: request.balance && row.has_account && row.resetting === false ? accountOf(row, this.policy) : undefined,
      turnKept: row.turn_kept,
      charge: row.charged && charge ? this.chargeOf(row, charge.cost) : undefined,
    };
  }

  /** The charge's outcome, from its columns read as the credit repository reads a charge's row. */
  private chargeOf(row: GateRow, cost: number): ChargeResult {
    const charge: MutationRow = {
      user_id: row.user_id,
      is_guest: row.charge_is_guest!,
      resetting: row.charge_resetting ?? false,
      available_credits: row.charge_available!,
      avail0: row.charge_avail0!,
      applied: row.charge_applied!,
      max0: row.charge_max0!,
      reset0: row.charge_reset0!,
      ok: row.charge_ok === true,
      entry_id: row.charge_entry_id,
      prior_id: row.prior_id,
      prior_type: row.prior_type,
      prior_amount: row.prior_amount,
      prior_balance: row.prior_balance,
      prior_hold: row.prior_hold,
    };
    return chargeResultOf(charge, cost, this.policy);
  }
}
