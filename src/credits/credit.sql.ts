// Over 300 lines: every statement that changes a balance, with its ledger row and hold, is here
// so the guarded single statements can be read and reviewed side by side (they share the lazy-
// reset step and the parameter layout), and the bench runs exactly the same text on bare `pg`.
/**
 * The credit statements of the PostgreSQL repository, one round trip each. Shared by the bench,
 * which runs the same shape on a bare `pg` pool to measure the repository's overhead.
 *
 * Common parameters of a mutation: $1 user id, $2 clock (NULL = the database's), $3 reset
 * period in ms, $4 guest allowance, $5 registered allowance, $6 force a reset (operator).
 */
const NOW = 'COALESCE($2::timestamptz, statement_timestamp())';

/**
 * The `base` step of a mutation: each locked row of `cur` as it stands after a due lazy reset
 * (`avail0`, `max0`, `reset0`: the current allowance and now, when `resetting`).
 */
const LAZY_RESET = `base AS (
  SELECT cur.*,
         CASE WHEN resetting THEN allowance ELSE available_credits END AS avail0,
         CASE WHEN resetting THEN allowance ELSE max_credits END AS max0,
         CASE WHEN resetting THEN ${NOW} ELSE last_reset_timestamp END AS reset0
  FROM cur
),`;

/** The `upd` step of a mutation: each row of `eff` is written back when a reset is due or its change applies. */
const UPDATE_ROWS = `upd AS (
  UPDATE user_credits u
     SET available_credits = e.avail0 + e.applied, max_credits = e.max0,
         last_reset_timestamp = e.reset0, updated_at = ${NOW}
    FROM eff e
   WHERE u.user_id = e.user_id AND (e.resetting OR e.applied <> 0)
  RETURNING u.user_id
),`;

/**
 * Wraps an operation in the lock → lazy reset → guarded change → ledger pipeline.
 *
 * `op` is a SELECT over `base` (the locked row after any due reset: `avail0`, `max0`, `reset0`)
 * yielding at most one row with `delta` (the change it asks for), `type`, `description`, `key`
 * (idempotency key) and `ok` (whether the change is allowed), plus any columns of its own.
 * The row is updated when a reset is due or the change applies; the ledger gets a `reset`
 * entry (when the reset changes the balance) and then the operation's entry, in that order.
 * The CHECK constraints back the guards: no statement can leave a negative balance.
 */
export function mutation(op: string, extra: { before?: string; after?: string } = {}): string {
  return `
WITH cur AS (
  SELECT user_id, is_guest, available_credits, max_credits, last_reset_timestamp,
         CASE WHEN is_guest THEN $4::int ELSE $5::int END AS allowance,
         ($6::boolean OR last_reset_timestamp + $3::float8 * interval '1 millisecond' <= ${NOW}) AS resetting
  FROM user_credits WHERE user_id = $1
  FOR UPDATE
),
${LAZY_RESET}
${extra.before ?? ''}
op AS (${op}),
eff AS (
  SELECT b.*, o.*, CASE WHEN o.ok THEN o.delta ELSE 0 END AS applied FROM base b CROSS JOIN op o
),
${UPDATE_ROWS}
led AS (
  INSERT INTO credit_transactions (user_id, transaction_type, amount, "timestamp", description, balance_after, idempotency_key)
  -- clock_timestamp(), read after the row lock was taken: a user's entries are dated in the
  -- order their balances changed (statement_timestamp() is when the statement started, before
  -- it waited for the lock, so a later change could be dated earlier and sort as older).
  SELECT user_id, t, amount, COALESCE($2::timestamptz, clock_timestamp()), d, bal, k FROM (
    SELECT 1 AS ord, user_id, 'reset'::varchar AS t, avail0 - available_credits AS amount,
           CASE WHEN $6::boolean THEN 'Allowance reset by an operator' ELSE 'Allowance reset' END::text AS d,
           avail0 AS bal, NULL::varchar AS k
      FROM eff WHERE resetting AND avail0 <> available_credits
    UNION ALL
    SELECT 2, user_id, type, applied, description, avail0 + applied, key FROM eff WHERE applied <> 0
  ) x ORDER BY ord
  RETURNING id, user_id, transaction_type, amount, "timestamp"
)${extra.after ? `,
${extra.after}` : ''}
SELECT e.*, (SELECT id FROM led WHERE transaction_type <> 'reset') AS entry_id,
       (SELECT count(*) FROM upd) AS updated
  FROM eff e`;
}

/** A read: applies a due reset (or the forced one), changes nothing else. */
export const TOUCH_OP = `
  SELECT 0 AS delta, 'none'::varchar AS type, NULL::text AS description, NULL::varchar AS key, true AS ok FROM base`;

/**
 * $7 cost, $8 description, $9 idempotency key, $10 hold (ms until an unsettled debit is refunded;
 * NULL: no hold). Allowed when the key is new and the balance covers the cost. A prior entry under
 * the key comes back with its hold's state (`prior_hold`: held, settled, refunded, or NULL).
 */
export const CHARGE_OP = `
  SELECT -$7::int AS delta, 'debit'::varchar AS type, $8::text AS description, $9::varchar AS key,
         (p.id IS NULL AND b.avail0 >= $7::int) AS ok,
         p.id AS prior_id, p.transaction_type AS prior_type, p.amount AS prior_amount, p.balance_after AS prior_balance,
         ph.state AS prior_hold
    FROM base b
    LEFT JOIN credit_transactions p ON p.user_id = b.user_id AND p.idempotency_key = $9::varchar
    LEFT JOIN credit_holds ph ON ph.debit_id = p.id`;

/**
 * CHARGE_OP's hold: the debit just written, held for $10 ms, in the same statement (and so the
 * same transaction) as the debit itself.
 */
export const CHARGE_HOLD = `hold AS (
  INSERT INTO credit_holds (debit_id, user_id, amount, state, created_at, expires_at)
  SELECT id, user_id, -amount, 'held', "timestamp", "timestamp" + $10::float8 * interval '1 millisecond'
    FROM led WHERE transaction_type = 'debit' AND $10::float8 IS NOT NULL
  RETURNING debit_id
)`;

/**
 * The refund's hold steps. `hl` locks this user's hold of debit $8 (after the user's row, like
 * every refund) and reads it as it stands once the lock is granted, not as the statement's
 * snapshot saw it: a settle or another refund that committed meanwhile shows. `hupd` moves an
 * open hold to `refunded`; the refund entry is written only when it did (see REFUND_OP), so the
 * entry and the hold's outcome are one change. The sweep's variant refunds only a hold past its
 * expiry ($9) and skips one whose row is locked (a settle is under way: it decides).
 */
export function refundHoldStep(sweep: boolean): string {
  return `hl AS (
  SELECT h.debit_id, h.amount, h.state
    FROM credit_holds h JOIN cur ON cur.user_id = h.user_id
   WHERE h.debit_id = $8::bigint${sweep ? `
     AND h.expires_at <= COALESCE($9::timestamptz, statement_timestamp())` : ''}
   FOR UPDATE OF h${sweep ? ' SKIP LOCKED' : ''}
),
hupd AS (
  UPDATE credit_holds h SET state = 'refunded', refunded_at = COALESCE($2::timestamptz, clock_timestamp())
    FROM hl
   WHERE h.debit_id = hl.debit_id AND hl.state = 'held'
  RETURNING h.debit_id, h.amount
),`;
}

/**
 * $7 description, $8 charge id. Gives back a debit of this user once (ledger key `refund:<id>`):
 * a held debit when REFUND's hold step moved its hold to `refunded`; a debit without a hold when
 * it has no refund yet. A settled hold is never refunded. `prior_hold` is the hold's state as
 * found under its lock (NULL: no hold, or the sweep skipped it).
 */
export const REFUND_OP = `
  SELECT COALESCE(hu.amount, -c.amount) AS delta, 'refund'::varchar AS type, $7::text AS description,
         ('refund:' || $8::bigint)::varchar AS key,
         (hu.debit_id IS NOT NULL OR (hs.debit_id IS NULL AND hx.debit_id IS NULL AND c.id IS NOT NULL AND p.id IS NULL)) AS ok,
         COALESCE(c.id, hs.debit_id, hx.debit_id) AS charge_id, p.id AS prior_id, hs.state AS prior_hold
    FROM base b
    LEFT JOIN hupd hu ON true
    LEFT JOIN hl hs ON true
    LEFT JOIN credit_holds hx ON hx.debit_id = $8::bigint AND hx.user_id = b.user_id
    LEFT JOIN credit_transactions c ON c.user_id = b.user_id AND c.id = $8::bigint AND c.transaction_type = 'debit'
    LEFT JOIN credit_transactions p ON p.user_id = b.user_id AND p.idempotency_key = 'refund:' || $8::bigint`;

/** $7 amount, $8 reason. Allowed unless the balance would go below 0. */
export const ADJUST_OP = `
  SELECT $7::int AS delta, 'adjustment'::varchar AS type, $8::text AS description, NULL::varchar AS key,
         (b.avail0::bigint + $7::int >= 0) AS ok
    FROM base b`;

/**
 * The read fast path: the row as it stands, read without a lock, in the columns of a mutation
 * row (`applied` 0), plus `resetting` (a reset is due) and `prior_*`, the ledger entry holding
 * idempotency key $4 (NULL: none). $1 user id, $2 clock, $3 reset period in ms. A plain SELECT
 * takes no row lock and so no transaction id: its commit writes nothing and waits for no WAL
 * flush. Its answer may stand only when the row exists and no reset is due; anything else goes
 * through the locking statement, which decides again under the lock.
 */
export const READ_ACCOUNT = `
SELECT c.user_id, c.is_guest, c.available_credits, c.available_credits AS avail0, 0 AS applied,
       c.max_credits AS max0, c.last_reset_timestamp AS reset0, true AS ok, NULL::bigint AS entry_id,
       (c.last_reset_timestamp + $3::float8 * interval '1 millisecond' <= ${NOW}) AS resetting,
       p.id AS prior_id, p.transaction_type AS prior_type, p.amount AS prior_amount, p.balance_after AS prior_balance
  FROM user_credits c
  LEFT JOIN credit_transactions p ON p.user_id = c.user_id AND p.idempotency_key = $4::varchar
 WHERE c.user_id = $1`;

/** READ_ACCOUNT without an idempotency key, for many users at once: $1 user ids, $2 clock, $3 reset period in ms. */
export const READ_ACCOUNTS = `
SELECT c.user_id, c.is_guest, c.available_credits, c.available_credits AS avail0, 0 AS applied,
       c.max_credits AS max0, c.last_reset_timestamp AS reset0, true AS ok, NULL::bigint AS entry_id,
       (c.last_reset_timestamp + $3::float8 * interval '1 millisecond' <= ${NOW}) AS resetting
  FROM user_credits c
 WHERE c.user_id = ANY($1::varchar[])`;

/**
 * The steps of CHARGE_MANY, over `source`: a relation of charges with the columns `user_id`,
 * `cost`, `description`, `key` (the ledger's idempotency key) and `hold_ms` (NULL: no hold), one
 * row per user (one statement cannot change a row twice). The same lock → lazy reset → guarded
 * debit → ledger → hold pipeline as a single charge, row by row; rows are locked in user-id order,
 * so two such statements never deadlock. Uses the credit statements' common parameters ($2 clock,
 * $3 reset period in ms, $4/$5 guest/registered allowance). Defines `cur`, `base`, `eff` (one row
 * per charge whose user has an account, in the columns of a mutation row), `upd`, `led` and `hold`.
 * Composable: the query gate charges a fresh answer with these very steps (query-gate.postgres.ts).
 */
export function chargeSteps(source: string): string {
  return `cur AS (
  SELECT c.user_id, c.is_guest, c.available_credits, c.max_credits, c.last_reset_timestamp,
         CASE WHEN c.is_guest THEN $4::int ELSE $5::int END AS allowance,
         (c.last_reset_timestamp + $3::float8 * interval '1 millisecond' <= ${NOW}) AS resetting,
         r.cost, r.description AS req_description, r.key AS req_key, r.hold_ms
  FROM user_credits c JOIN ${source} r ON r.user_id = c.user_id
  ORDER BY c.user_id
  FOR UPDATE OF c
),
${LAZY_RESET}
eff AS (
  SELECT b.*, -b.cost AS delta, 'debit'::varchar AS type, b.req_description AS description, b.req_key AS key,
         (p.id IS NULL AND b.avail0 >= b.cost) AS ok,
         CASE WHEN p.id IS NULL AND b.avail0 >= b.cost THEN -b.cost ELSE 0 END AS applied,
         p.id AS prior_id, p.transaction_type AS prior_type, p.amount AS prior_amount, p.balance_after AS prior_balance,
         ph.state AS prior_hold
    FROM base b
    LEFT JOIN credit_transactions p ON p.user_id = b.user_id AND p.idempotency_key = b.req_key
    LEFT JOIN credit_holds ph ON ph.debit_id = p.id
),
${UPDATE_ROWS}
led AS (
  INSERT INTO credit_transactions (user_id, transaction_type, amount, "timestamp", description, balance_after, idempotency_key)
  -- Dated after the row locks were taken, as in mutation().
  SELECT user_id, t, amount, COALESCE($2::timestamptz, clock_timestamp()), d, bal, k FROM (
    SELECT 1 AS ord, user_id, 'reset'::varchar AS t, avail0 - available_credits AS amount,
           'Allowance reset'::text AS d, avail0 AS bal, NULL::varchar AS k
      FROM eff WHERE resetting AND avail0 <> available_credits
    UNION ALL
    SELECT 2, user_id, type, applied, description, avail0 + applied, key FROM eff WHERE applied <> 0
  ) x ORDER BY user_id, ord
  RETURNING id, user_id, transaction_type, amount, "timestamp"
),
hold AS (
  INSERT INTO credit_holds (debit_id, user_id, amount, state, created_at, expires_at)
  SELECT l.id, l.user_id, -l.amount, 'held', l."timestamp", l."timestamp" + e.hold_ms * interval '1 millisecond'
    FROM led l JOIN eff e ON e.user_id = l.user_id
   WHERE l.transaction_type = 'debit' AND e.hold_ms IS NOT NULL
  RETURNING debit_id
)`;
}

/** A charge's columns of a mutation row, from `chargeSteps`' `eff` row `e` (its entry read from `led`). */
export const CHARGE_COLUMNS = `e.user_id, e.is_guest, e.resetting, e.available_credits, e.avail0, e.applied, e.max0, e.reset0, e.ok,
       e.prior_id, e.prior_type, e.prior_amount, e.prior_balance, e.prior_hold,
       (SELECT l.id FROM led l WHERE l.user_id = e.user_id AND l.transaction_type <> 'reset') AS entry_id`;

/**
 * CHARGE_OP for several users in one statement (one transaction): `chargeSteps` over the
 * requested charges, for users who are all distinct. $1 user ids, $2 clock, $3 reset period in
 * ms, $4/$5 guest/registered allowance, $6 costs, $7 descriptions, $8 idempotency keys, $9 holds
 * in ms (NULL: no hold; the arrays align). One row per user that has an account, in the columns
 * of a mutation row.
 */
export const CHARGE_MANY = `
WITH req AS (
  SELECT * FROM unnest($1::varchar[], $6::int[], $7::text[], $8::varchar[], $9::float8[]) AS r(user_id, cost, description, key, hold_ms)
),
${chargeSteps('req')}
SELECT ${CHARGE_COLUMNS},
       (SELECT count(*) FROM upd) AS updated
  FROM eff e`;

/** $1 user id, $2 clock, $3 is guest, $4 allowance: the row and its `grant` (returned), or nothing if it exists. */
export const ENSURE_ACCOUNT = `
WITH ins AS (
  INSERT INTO user_credits (user_id, is_guest, available_credits, max_credits, last_reset_timestamp, created_at, updated_at)
  VALUES ($1, $3::boolean, $4::int, $4::int, ${NOW}, ${NOW}, ${NOW})
  ON CONFLICT (user_id) DO NOTHING
  RETURNING user_id, available_credits
)
INSERT INTO credit_transactions (user_id, transaction_type, amount, "timestamp", description, balance_after)
SELECT user_id, 'grant', available_credits, ${NOW}, 'Initial allowance', available_credits FROM ins
RETURNING amount`;

/**
 * $1 cutoff, $2 users per batch. Deletes every entry older than the cutoff of up to $2 users that
 * still have such entries (other than carryovers) and writes each one `carryover` with their sum
 * (dated like the newest deleted entry, with its balance), in one transaction. DELETE … RETURNING
 * yields only rows this statement removed, so concurrent runs never count a row twice.
 */
export const CLEANUP_BATCH = `
WITH users AS (
  SELECT DISTINCT user_id FROM credit_transactions
   WHERE "timestamp" < $1::timestamptz AND transaction_type <> 'carryover'
   LIMIT $2::int
),
del AS (
  DELETE FROM credit_transactions t USING users u
   WHERE t.user_id = u.user_id AND t."timestamp" < $1::timestamptz
  RETURNING t.user_id, t.id, t.amount, t."timestamp", t.balance_after, t.transaction_type
),
agg AS (
  SELECT user_id, sum(amount) AS total, max("timestamp") AS newest,
         (array_agg(balance_after ORDER BY "timestamp" DESC, id DESC))[1] AS balance
    FROM del GROUP BY user_id
),
ins AS (
  INSERT INTO credit_transactions (user_id, transaction_type, amount, "timestamp", description, balance_after)
  SELECT user_id, 'carryover', total, newest, 'Carried over from entries past retention', balance
    FROM agg WHERE total <> 0
  RETURNING id
)
SELECT (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM del WHERE transaction_type <> 'carryover') AS deleted,
       (SELECT count(*) FROM ins) AS carryovers`;

/**
 * The settle's steps, shared by SETTLE_MANY and the query route's finish: `lk` locks the holds
 * asked for in `source` (rows of debit_id, user_id) in id order, so overlapping batches never
 * deadlock, and reads each as it stands once its lock is granted; `s` moves an open one to
 * `settled` at `clock` (a timestamptz parameter, NULL: the database's clock). The finish puts
 * steps of its own between the two (`between`, which may read `lk`) and settles only the holds
 * `only` names (a relation of debit_id; unset: every open one of `lk`).
 */
export function settleHoldSteps(source: string, clock: string, options: { between?: string; only?: string } = {}): string {
  return `lk AS (
  SELECT h.debit_id, h.state
    FROM credit_holds h JOIN ${source} r ON r.debit_id = h.debit_id AND r.user_id = h.user_id
   ORDER BY h.debit_id
   FOR UPDATE OF h
),${options.between ? `
${options.between},` : ''}
s AS (
  UPDATE credit_holds h SET state = 'settled', settled_at = COALESCE(${clock}::timestamptz, clock_timestamp())
    FROM lk
   WHERE h.debit_id = lk.debit_id AND lk.state = 'held'${options.only ? `
     AND lk.debit_id IN (SELECT debit_id FROM ${options.only})` : ''}
  RETURNING h.debit_id
)`;
}

/**
 * Settles the holds of one turn: $1 debit ids, $2 their user ids (the arrays align), $3 clock.
 * Each hold is locked first (in id order, so overlapping batches never deadlock) and read as it
 * stands once the lock is granted; an open one becomes `settled`. One row per hold asked:
 * `settled` (this statement did it) and the hold's state under the lock (`settled` already,
 * `refunded` first by a sweep or the request's own refund, or NULL for no such hold of that user).
 */
export const SETTLE_MANY = `
WITH req AS (
  SELECT * FROM unnest($1::bigint[], $2::varchar[]) AS r(debit_id, user_id)
),
${settleHoldSteps('req', '$3')}
SELECT r.debit_id::text AS debit_id, (s.debit_id IS NOT NULL) AS settled, lk.state
  FROM req r
  LEFT JOIN s ON s.debit_id = r.debit_id
  LEFT JOIN lk ON lk.debit_id = r.debit_id`;

/** $1 clock, $2 rows: open holds past their expiry, oldest first (the sweep's work list). */
export const EXPIRED_HOLDS = `
SELECT debit_id::text AS debit_id, user_id
  FROM credit_holds
 WHERE state = 'held' AND expires_at <= COALESCE($1::timestamptz, statement_timestamp())
 ORDER BY expires_at
 LIMIT $2`;

/**
 * Every balance against its ledger, in one statement (one snapshot): users, balances that differ
 * from the sum of their entries (ledger entries of a user without a balance row count when they
 * do not sum to 0), negative balances, open holds and those past their expiry ($1 clock), and up
 * to 10 offending user ids.
 */
export const VERIFY_LEDGER = `
WITH sums AS (
  SELECT user_id, sum(amount)::bigint AS total FROM credit_transactions GROUP BY user_id
),
bal AS (
  SELECT u.user_id, u.available_credits::bigint AS available, COALESCE(s.total, 0) AS total
    FROM user_credits u LEFT JOIN sums s ON s.user_id = u.user_id
  UNION ALL
  SELECT s.user_id, 0, s.total FROM sums s
   WHERE NOT EXISTS (SELECT 1 FROM user_credits u WHERE u.user_id = s.user_id)
),
holds AS (
  SELECT user_id, count(*) AS open,
         count(*) FILTER (WHERE expires_at <= COALESCE($1::timestamptz, statement_timestamp())) AS expired
    FROM credit_holds WHERE state = 'held' GROUP BY user_id
),
checked AS (
  SELECT b.user_id, b.available <> b.total AS mismatched, b.available < 0 AS negative, COALESCE(h.expired, 0) > 0 AS expired
    FROM bal b LEFT JOIN holds h ON h.user_id = b.user_id
)
SELECT (SELECT count(*) FROM user_credits)::int AS users,
       (SELECT count(*) FROM checked WHERE mismatched)::int AS mismatched,
       (SELECT count(*) FROM checked WHERE negative)::int AS negative,
       (SELECT COALESCE(sum(open), 0) FROM holds)::int AS open_holds,
       (SELECT COALESCE(sum(expired), 0) FROM holds)::int AS expired_holds,
       ARRAY(SELECT user_id FROM checked WHERE mismatched OR negative OR expired ORDER BY user_id LIMIT 10) AS examples`;

/**
 * $1 cutoff, $2 rows: deletes holds that have their outcome and were taken before the cutoff
 * (retention, with the ledger entries of the same age). Open holds are never deleted.
 */
export const CLEANUP_HOLDS = `
WITH gone AS (
  DELETE FROM credit_holds
   WHERE debit_id IN (SELECT debit_id FROM credit_holds WHERE state <> 'held' AND created_at < $1::timestamptz LIMIT $2)
  RETURNING 1
)
SELECT count(*)::int AS deleted FROM gone`;
