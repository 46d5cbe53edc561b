import { QueryTypes, type Sequelize } from 'sequelize';
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
 * Creates the conversation or adds a turn to it, in one statement ($1 id, $2 user, $3 the turn as
 * JSON, $4 lifetime in seconds, $5 turns kept). Another user's row is left alone (the WHERE of
 * the upsert: no row comes back); an expired row of the same user starts over with this turn.
 */
const APPEND = `
INSERT INTO conversations (conversation_id, user_id, turns, created_at, updated_at, expires_at)
VALUES ($1, $2, jsonb_build_array($3::jsonb), now(), now(), now() + $4::int * interval '1 second')
ON CONFLICT (conversation_id) DO UPDATE
   SET turns = CASE
                 WHEN conversations.expires_at <= now() THEN EXCLUDED.turns
                 ELSE (SELECT jsonb_agg(t.turn ORDER BY t.n)
                         FROM jsonb_array_elements(conversations.turns || EXCLUDED.turns) WITH ORDINALITY AS t(turn, n)
                        WHERE t.n > jsonb_array_length(conversations.turns) + 1 - $5::int)
               END,
       created_at = CASE WHEN conversations.expires_at <= now() THEN now() ELSE conversations.created_at END,
       updated_at = now(),
       expires_at = EXCLUDED.expires_at
 WHERE conversations.user_id = EXCLUDED.user_id
RETURNING conversation_id, user_id, turns, expires_at`;

/**
 * CONVERSATION_BACKEND=postgres: the `conversations` table, one row per conversation, shared by
 * every API process on the database. Reads never serve a row whose `expires_at` has passed;
 * cleanup deletes expired rows in batches found through the `expires_at` index. Timeouts come
 * from the pool's statement timeouts; the conversation service bounds each call further.
 */
export function createPostgresConversationStore(
  sequelize: Sequelize,
  options: {
    /** True while the database is known to be down (its breaker is open): every call fails at once. */
    databaseDown?: () => boolean;
  } = {},
): ConversationStore {
  const databaseDown = options.databaseDown ?? (() => false);
  const select = <T extends object>(sql: string, bind: unknown[]) => {
    if (databaseDown()) return Promise.reject(new Error('the database is unavailable'));
    return sequelize.query<T>(sql, { type: QueryTypes.SELECT, bind });
  };
  const view = (r: Row): Conversation => ({ id: r.conversation_id, userId: r.user_id, turns: r.turns, expiresAt: new Date(r.expires_at) });
  return {
    backend: 'postgres',
    async get(userId, id) {
      const [row] = await select<Row>(
        'SELECT conversation_id, user_id, turns, expires_at FROM conversations WHERE conversation_id = $1 AND user_id = $2 AND expires_at > now()',
        [id, userId],
      );
      return row && view(row);
    },
    async append(userId, id, turn, { ttlSeconds, maxTurns }) {
      const [row] = await select<Row>(APPEND, [id, userId, JSON.stringify(turn), ttlSeconds, maxTurns]);
      return row && view(row);
    },
    async delete(userId, id) {
      const rows = await select<{ conversation_id: string }>(
        'DELETE FROM conversations WHERE conversation_id = $1 AND user_id = $2 AND expires_at > now() RETURNING conversation_id',
        [id, userId],
      );
      return rows.length === 1;
    },
    async cleanupExpired() {
      let total = 0;
      for (;;) {
        const [row] = await select<{ n: number }>(
          `WITH doomed AS (
             SELECT conversation_id FROM conversations WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED
           ), gone AS (
             DELETE FROM conversations c USING doomed d WHERE c.conversation_id = d.conversation_id RETURNING 1
           )
           SELECT count(*)::int AS n FROM gone`,
          [CLEANUP_BATCH_SIZE],
        );
        const deleted = row?.n ?? 0;
        total += deleted;
        if (deleted < CLEANUP_BATCH_SIZE) return total;
      }
    },
    async ping() {
      await select('SELECT 1', []);
    },
    // The pool belongs to the database module.
    close: () => Promise.resolve(),
  };
}
