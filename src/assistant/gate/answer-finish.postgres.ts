import type { Sequelize } from 'sequelize';
import { writeEntriesFrom } from '../../cache/cache.store.postgres.js';
import { appendTurnsFrom } from '../../conversations/conversation.store.postgres.js';
import type { HoldState } from '../../credits/credit.repository.js';
import { isEntryId, settleResultOf } from '../../credits/credit.rows.js';
import { settleHoldSteps } from '../../credits/credit.sql.js';
import { guardedBatcher, roundsBy, sendWhileLive, type GuardedItem } from '../../platform/batcher.js';
import { isRefusedStatement } from '../../platform/db-guard.js';
import { pooledQuery, statement } from '../../platform/pooled-query.js';
import type { StorageGuard } from '../../platform/storage-guard.js';
import { retryTransient } from '../../platform/transient-retry.js';
import type { AnswerFinish, FinishRequest, FinishResult } from './answer-finish.js';

/**
 * The finishes of one turn of the event loop in one statement (one transaction, committed with
 * the WAL flush: it settles holds). $1 debit ids and $2 their users, $3 conversation ids (NULL:
 * no turn), $4 the turns, $5 their lifetimes in seconds, $6 turns kept, $11 Idempotency-Keys
 * (NULL: none), $12 their attempts, $13 the responses to record: one element per answer, aligned;
 * $7 cache keys, $8 their JSON, $9 lifetimes in seconds (distinct keys, in key order); $10 clock
 * (NULL: the database's).
 *
 * - `lk`/`s`: the credits' own settle steps (`settleHoldSteps`): each hold locked first (in id
 *   order: two batches in flight cannot deadlock) and read as it stands once the lock is
 *   granted; an open one becomes settled when `settling` names it.
 * - `k`/`settling`/`c`: an answer with an Idempotency-Key is recorded and its hold settled
 *   together or not at all, as the idempotency store's completion does it: its record, locked
 *   after the holds (in (user, key) order, as every completion locks them), must be this
 *   attempt's and still in progress, and its hold open and its own user's. The record keeps the
 *   response whole (a copy, not a reference to the cache entry written beside it). A hold goes
 *   with one answer only. An answer without a key settles its open hold, as before.
 * - `cw`: the cache store's own upsert (`writeEntriesFrom`, rows locked in key order).
 * - `stood`/`tw`: the turns of the answers whose hold this statement settled (only a finish
 *   settles a hold of an answer without a key, so a repeat never appends a turn again), appended
 *   by the conversation store's own upsert (`appendTurnsFrom`: in id order; another user's
 *   conversation is left alone).
 */
const KEYED_STEPS = `k AS (
  SELECT i.user_id, i.key, i.attempt FROM idempotency_keys i JOIN req r ON r.user_id = i.user_id AND r.key = i.key AND r.attempt = i.attempt
   WHERE i.status = 'in_progress'
   ORDER BY i.user_id, i.key
   FOR UPDATE OF i
),
settling AS (
  SELECT DISTINCT ON (r.debit_id) r.debit_id, r.n, r.key IS NOT NULL AS keyed
    FROM req r JOIN lk ON lk.debit_id = r.debit_id AND lk.state = 'held'
   WHERE r.key IS NULL OR EXISTS (SELECT 1 FROM k WHERE k.user_id = r.user_id AND k.key = r.key AND k.attempt = r.attempt)
   ORDER BY r.debit_id, r.n
)`;

const FINISH_MANY = statement('assistant_finish', `
WITH req AS (
  SELECT * FROM unnest($1::bigint[], $2::varchar[], $3::varchar[], $4::jsonb[], $5::int[], $6::int[], $11::varchar[], $12::varchar[], $13::jsonb[])
    WITH ORDINALITY AS r(debit_id, user_id, conversation_id, turn, ttl, max_turns, key, attempt, response, n)
),
${settleHoldSteps('req', '$10', { between: KEYED_STEPS, only: 'settling' })},
c AS (
  UPDATE idempotency_keys i
     SET status = 'completed', response = r.response, cache_ref = NULL, cache_fields = NULL
    FROM settling st JOIN req r ON r.n = st.n
   WHERE st.keyed AND i.user_id = r.user_id AND i.key = r.key AND i.attempt = r.attempt
  RETURNING r.n
),
cw AS (
  ${writeEntriesFrom('unnest($7::varchar[], $8::jsonb[], $9::float8[]) AS e(query_hash, result, ttl)')}
  RETURNING query_hash
),
stood AS (
  SELECT r.* FROM req r JOIN settling st ON st.n = r.n JOIN s ON s.debit_id = r.debit_id WHERE r.conversation_id IS NOT NULL
),
tw AS (
  ${appendTurnsFrom('stood', 'conversation_id')}
  RETURNING conversation_id
)
SELECT r.n::int AS n, (s.debit_id IS NOT NULL) AS settled, lk.state, (c.n IS NOT NULL) AS recorded,
       (tw.conversation_id IS NOT NULL) AS turn_kept, (SELECT count(*) FROM cw)::int AS cached
  FROM req r
  LEFT JOIN s ON s.debit_id = r.debit_id
  LEFT JOIN lk ON lk.debit_id = r.debit_id
  LEFT JOIN c ON c.n = r.n
  LEFT JOIN tw ON tw.conversation_id = r.conversation_id
 ORDER BY r.n`);

interface FinishRow {
  n: number;
  settled: boolean;
  state: HoldState | null;
  recorded: boolean;
  turn_kept: boolean;
}

/**
 * STORAGE_BACKEND, CACHE_BACKEND and CONVERSATION_BACKEND all postgres: the finish as one
 * statement (FINISH_MANY) for the answers of one turn of the event loop, through `guardedBatcher`
 * with the database guard around each answer. A finish settles money, so, like the credits'
 * settles, it is never sent for an answer already answered 503, and the statement is checked
 * again once a connection is in hand. One statement cannot change a row twice: a conversation's
 * second turn in the same batch goes in the next statement (rounds, in call order).
 */
export class PostgresAnswerFinish implements AnswerFinish {
  private readonly batched: (request: FinishRequest) => Promise<FinishResult>;

  constructor(
    private readonly sequelize: Sequelize,
    guard: StorageGuard,
    /** The fixed clock of tests; unset: the database's. */
    private readonly clock: () => Date | null = () => null,
  ) {
    this.batched = guardedBatcher(guard, 'assistant.finish', (items, settle) => this.run(items, settle));
  }

  finish(request: FinishRequest): Promise<FinishResult> {
    if (!isEntryId(request.chargeId)) return Promise.resolve({ settle: 'not_found', recorded: false, turnKept: false });
    return this.batched(request);
  }

  /**
   * A conversation's second turn in one batch, and a record's second finish (an attempt that took
   * the record over, beside the one whose lease ran out), go in the next statement (rounds); in
   * each, an answer answered 503 while the statement waits for a connection is left out and the
   * others sent again (sendWhileLive, as the credits' settles do).
   */
  private async run(items: readonly GuardedItem<FinishRequest>[], settle: (index: number, result: FinishResult | Error) => void): Promise<void> {
    const keysOf = (it: GuardedItem<FinishRequest>) => [it.item.turn?.conversationId, it.item.record && `${it.item.userId}\u0000${it.item.record.key}`];
    for (const round of roundsBy(items, keysOf)) {
      await sendWhileLive(
        items,
        round,
        settle,
        async (batch, beforeSend) => {
          const rows = await this.send(batch, beforeSend);
          const byN = new Map(rows.map((r) => [r.n, resultOf(r)]));
          return batch.map((_, j) => byN.get(j + 1) ?? { settle: 'not_found' as const, recorded: false, turnKept: false });
        },
        // A statement PostgreSQL refused (one answer it cannot store, say) rolled back whole:
        // each finish goes again alone, and a refusal is only its own answer's.
        { alone: isRefusedStatement },
      );
    }
  }

  private send(batch: readonly GuardedItem<FinishRequest>[], beforeSend: () => void): Promise<FinishRow[]> {
    const requests = batch.map((b) => b.item);
    // The last write of a key in the batch wins, as it would one statement later.
    const entries = new Map<string, { json: string; ttlSeconds: number }>();
    for (const r of requests) if (r.cache) entries.set(r.cache.key, r.cache);
    const keys = [...entries.keys()].sort();
    const bind = [
      requests.map((r) => r.chargeId),
      requests.map((r) => r.userId),
      requests.map((r) => r.turn?.conversationId ?? null),
      requests.map((r) => (r.turn ? JSON.stringify(r.turn.turn) : null)),
      requests.map((r) => r.turn?.ttlSeconds ?? null),
      requests.map((r) => r.turn?.maxTurns ?? null),
      keys,
      keys.map((k) => entries.get(k)!.json),
      keys.map((k) => entries.get(k)!.ttlSeconds),
      this.clock(),
      requests.map((r) => r.record?.key ?? null),
      requests.map((r) => r.record?.attempt ?? null),
      requests.map((r) => r.record?.response ?? null),
    ];
    // Checked once a connection is in hand: no settle lands after its request was answered 503.
    // Retried only when it rolled back whole, never after a lost connection (it may have
    // committed): a turn is never appended twice.
    return retryTransient(() => pooledQuery<FinishRow>(this.sequelize, FINISH_MANY, bind, beforeSend), { connectionErrors: false });
  }
}

function resultOf(row: FinishRow): FinishResult {
  return { settle: settleResultOf(row), recorded: row.recorded, turnKept: row.turn_kept };
}
