import { fn, Op, type Sequelize } from 'sequelize';
import { DISPOSABLE_COMMIT } from '../platform/disposable-commit.js';
import { guardedBatcher, roundsBy } from '../platform/batcher.js';
import { failFastGuard } from '../platform/storage-guard.js';
import { deleteExpiredRows } from '../platform/expiry-cleanup.js';
import { pooledQuery, statement } from '../platform/pooled-query.js';
import { conversationModel } from './conversation.models.js';
import type { Conversation, ConversationStore, ConversationTurn } from './conversation.store.js';

/** Rows deleted per statement by cleanupExpired: short statements, short locks. */
export const CLEANUP_BATCH_SIZE = 1000;

interface Row {
  conversation_id: string;
  user_id: string;
  turns: ConversationTurn[];
  expires_at: Date;
}

/**
 * Creates the conversations or adds a turn to each, in one statement, for the appends of one
 * turn of the event loop ($1 ids, distinct; $2 users, $3 the turns as JSON, $4 lifetimes in
 * seconds, $5 turns kept; the arrays align). Another user's row is left alone (the WHERE of the
 * upsert: no row comes back for it); an expired row of the same user starts over with its turn.
 * Rows are locked in the order listed: in id order, two batches in flight cannot deadlock.
 * A turn is context, not money: its commit does not wait for the WAL flush (set_config with
 * is_local holds for this statement's transaction only). A crash may forget the last turns kept,
 * never a credit: any later charge or settle flushes the WAL up to its own commit, these included.
 */
const APPEND_MANY = statement('conversation_append', `
WITH async_commit AS (SELECT ${DISPOSABLE_COMMIT} AS setting),
input AS (
  SELECT i.* FROM async_commit, unnest($1::varchar[], $2::varchar[], $3::jsonb[], $4::int[], $5::int[]) WITH ORDINALITY AS i(conversation_id, user_id, turn, ttl, max_turns, n)
)
${appendTurnsFrom('input', 'n')}
RETURNING conversation_id, user_id, turns, expires_at`);

/**
 * APPEND_MANY's upsert from `source` (rows of conversation_id, user_id, turn, ttl, max_turns;
 * conversation ids distinct), taken in `orderBy` order: shared with the query route's finish,
 * which appends the turns of the answers it settled. No RETURNING: the caller adds its own.
 */
export function appendTurnsFrom(source: string, orderBy: string): string {
  return `INSERT INTO conversations AS c (conversation_id, user_id, turns, created_at, updated_at, expires_at)
SELECT conversation_id, user_id, jsonb_build_array(turn), now(), now(), now() + ttl * interval '1 second' FROM ${source} ORDER BY ${orderBy}
ON CONFLICT (conversation_id) DO UPDATE
   SET turns = CASE
                 WHEN c.expires_at <= now() THEN EXCLUDED.turns
                 ELSE (SELECT jsonb_agg(t.turn ORDER BY t.n)
                         FROM jsonb_array_elements(c.turns || EXCLUDED.turns) WITH ORDINALITY AS t(turn, n)
                        WHERE t.n > jsonb_array_length(c.turns) + 1
                                    - (SELECT i.max_turns FROM ${source} i WHERE i.conversation_id = EXCLUDED.conversation_id))
               END,
       created_at = CASE WHEN c.expires_at <= now() THEN now() ELSE c.created_at END,
       updated_at = now(),
       expires_at = EXCLUDED.expires_at
 WHERE c.user_id = EXCLUDED.user_id`;
}

interface PendingAppend {
  id: string;
  userId: string;
  json: string;
  ttlSeconds: number;
  maxTurns: number;
}

/**
 * CONVERSATION_BACKEND=postgres: the `conversations` table, one row per conversation, shared by
 * every API process on the database. Every answer adds a turn, so appends are the hot path: the
 * appends of one turn of the event loop share one planned statement (APPEND_MANY, see
 * guardedBatcher and pooledQuery); reads, deletes and cleanup go through the model. Reads never
 * serve a row whose `expires_at` has passed; cleanup deletes expired rows in batches found
 * through the `expires_at` index. Timeouts come from the pool's statement timeouts; the
 * conversation service bounds each call further.
 */
export function createPostgresConversationStore(
  sequelize: Sequelize,
  options: {
    /** True while the database is known to be down (its breaker is open): every call fails at once. */
    databaseDown?: () => boolean;
  } = {},
): ConversationStore {
  const databaseDown = options.databaseDown ?? (() => false);
  const Conversations = conversationModel(sequelize);
  const up = () => {
    if (databaseDown()) throw new Error('the database is unavailable');
  };
  const view = (r: Row): Conversation => ({ id: r.conversation_id, userId: r.user_id, turns: r.turns, expiresAt: new Date(r.expires_at) });
  const send = async (batch: readonly PendingAppend[]) => {
    const sorted = [...batch].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const rows = await pooledQuery<Row>(sequelize, APPEND_MANY, [
      sorted.map((a) => a.id),
      sorted.map((a) => a.userId),
      sorted.map((a) => a.json),
      sorted.map((a) => a.ttlSeconds),
      sorted.map((a) => a.maxTurns),
    ]);
    return new Map(rows.map((r) => [r.conversation_id, view(r)]));
  };
  // One statement cannot change a row twice: a conversation's second append of the same turn
  // goes in the next statement (rounds, in call order), so no turn is lost. A statement that
  // fails for one item of its own (not the database's availability) is retried item by item,
  // so one bad append cannot fail the others.
  // Like the cache's, the store's guard only fails fast while the database's breaker is open; the
  // conversation service's own breaker counts its failures.
  const guard = failFastGuard(databaseDown, () => new Error('the database is unavailable'));
  const append = guardedBatcher<PendingAppend, Conversation | undefined>(guard, 'conversations.append', async (items, settle) => {
    const appends = items.map((it) => it.item);
    for (const round of roundsBy(appends, (a) => a.id)) {
      try {
        const stored = await send(round.map((i) => appends[i]!));
        for (const i of round) settle(i, stored.get(appends[i]!.id));
      } catch (err) {
        if (round.length === 1) {
          settle(round[0]!, err as Error);
          continue;
        }
        await Promise.all(
          round.map(async (i) => {
            try {
              settle(i, (await send([appends[i]!])).get(appends[i]!.id));
            } catch (one) {
              settle(i, one as Error);
            }
          }),
        );
      }
    }
  });
  const live = (userId: string, id: string) => ({ conversationId: id, userId, expiresAt: { [Op.gt]: fn('now') } });
  return {
    backend: 'postgres',
    async get(userId, id) {
      up();
      const row = await Conversations.findOne({ where: live(userId, id) });
      return row ? { id: row.conversationId, userId: row.userId, turns: row.turns, expiresAt: row.expiresAt } : undefined;
    },
    async append(userId, id, turn, { ttlSeconds, maxTurns }) {
      return append({ id, userId, json: JSON.stringify(turn), ttlSeconds, maxTurns });
    },
    async delete(userId, id) {
      up();
      return (await Conversations.destroy({ where: live(userId, id) })) === 1;
    },
    async cleanupExpired() {
      up();
      return deleteExpiredRows(Conversations, { batchSize: CLEANUP_BATCH_SIZE });
    },
    async ping() {
      up();
      await sequelize.query('SELECT 1');
    },
    // The pool belongs to the database module.
    close: () => Promise.resolve(),
  };
}
