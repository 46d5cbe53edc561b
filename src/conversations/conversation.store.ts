import type { ProductFilters } from '../assistant/providers/provider.js';

/**
 * Where conversations (follow-up context) live. Every backend (memory, PostgreSQL, Redis) keeps
 * the rules below; one contract suite (test/contracts/conversation-store.contract.ts) proves them
 * on each.
 *
 * - A conversation belongs to one user. `get`, `append` and `delete` with another user's id
 *   behave exactly as for an unknown conversation: `get` resolves `undefined`, `append` resolves
 *   `undefined` and changes nothing, `delete` resolves false.
 * - A conversation expires `ttlSeconds` after its last `append`; an expired one is unknown,
 *   whether or not it was cleaned up yet. An `append` to an expired conversation of the same
 *   user starts it anew with that one turn.
 * - `append` creates the conversation when it does not exist, adds the turn last and keeps the
 *   newest `maxTurns` turns; it is atomic (concurrent appends never lose a turn below the cap).
 * - Turns come back deep-equal to what was appended, oldest first.
 * - One record (row or key) per conversation: `delete` removes every turn at once, for every
 *   process that shares the backend.
 * - Every method rejects when the backend cannot answer (down, timing out); the conversation
 *   service turns that into a reset. Backends fail fast rather than queue.
 */

/** What was actually searched for a turn (API: `resolvedQuery`). */
export interface ResolvedQuery {
  query: string;
  filters: ProductFilters;
  /** Results skipped ("show me more"); absent for the first page. */
  offset?: number;
}

export interface ConversationTurn {
  /** The shopper's own words. */
  query: string;
  resolvedQuery: ResolvedQuery;
  /** The products shown, best first. */
  productIds: string[];
  /** Their prices as shown (same order): "cheaper" is relative to these, whatever the catalog says later. */
  prices: number[];
  /** The currency of those prices (ISO 4217), for the answer text; absent when nothing was shown. */
  currency?: string;
  /** ISO-8601 UTC. */
  createdAt: string;
}

export interface Conversation {
  id: string;
  userId: string;
  /** Oldest first, at most the cap. */
  turns: ConversationTurn[];
  expiresAt: Date;
}

export interface AppendOptions {
  /** The conversation's lifetime from this turn on (a positive whole number). */
  ttlSeconds: number;
  /** Turns kept: the oldest are dropped beyond it. */
  maxTurns: number;
}

export type ConversationBackendName = 'memory' | 'postgres' | 'redis';

export interface ConversationStore {
  readonly backend: ConversationBackendName;
  get(userId: string, id: string): Promise<Conversation | undefined>;
  /** Resolves the conversation as stored after the append, or `undefined` when it is another user's. */
  append(userId: string, id: string, turn: ConversationTurn, options: AppendOptions): Promise<Conversation | undefined>;
  /** Resolves true when the user's live conversation was deleted. */
  delete(userId: string, id: string): Promise<boolean>;
  /** Deletes expired conversations; resolves how many (0 where the backend expires them itself). */
  cleanupExpired(): Promise<number>;
  /** Resolves when the backend answers (readiness). */
  ping(): Promise<void>;
  /** Releases connections and timers the store owns. */
  close(): Promise<void>;
}
