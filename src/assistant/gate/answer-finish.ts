import type { ConversationTurn } from '../../conversations/conversation.store.js';
import type { SettleResult } from '../../credits/credit.repository.js';

/** A fresh answer's writes after its provider call, as one step. */
export interface FinishRequest {
  userId: string;
  /** The answer's held charge, settled here. */
  chargeId: string;
  /** The answer for the query cache (its JSON text), when the cache takes it in this step. */
  cache?: { key: string; json: string; ttlSeconds: number } | undefined;
  /** The conversation turn, kept only when the hold is settled (the answer stands). */
  turn?: KeptTurn | undefined;
  /**
   * The answer's Idempotency-Key record, completed with `response` (its JSON text) together with
   * the hold's settle, as `IdempotencyStore.complete` completes one with its hold.
   */
  record?: { key: string; attempt: string; response: string } | undefined;
}

/** A turn with where and how long it is kept (`ConversationStore.append`'s arguments). */
export interface KeptTurn {
  conversationId: string;
  turn: ConversationTurn;
  ttlSeconds: number;
  maxTurns: number;
}

export interface FinishResult {
  /** The hold's settle, as `CreditRepository.settle` reports it. */
  settle: SettleResult;
  /** True when `record` was completed (and the hold settled with it); false without a record. */
  recorded: boolean;
  /** True when the turn was kept (never when the hold is not settled, or the conversation is another shopper's). */
  turnKept: boolean;
}

/**
 * The query route's last step for a fresh answer (docs/adr/0012-the-query-gate.md): the hold's
 * settle (with an Idempotency-Key, the record's completion with it), the cache entry's write and
 * the conversation turn's append in one statement, where storage, cache and conversations are all
 * in one PostgreSQL database. Elsewhere there is no finish, and the service writes each on its own.
 *
 * Rules every backend keeps:
 * - the settle is exactly `CreditRepository.settle`'s: an open hold of this user becomes settled
 *   once; a refunded one stays refunded; one of another user is `not_found`.
 * - the cache entry is written whatever the settle's outcome (the answer is a good entry), as
 *   `CacheStore.set` writes it; concurrent writes of one key leave one of them.
 * - with a record: the record is completed and the hold settled together or not at all, and only
 *   when the record is this attempt's, still in progress, and the hold open and the user's, as
 *   `IdempotencyStore.complete` does it; the settle then reads `settled` only with `recorded`.
 * - the turn is appended as `ConversationStore.append` appends it, and only when this call
 *   settles the hold: an answer that is not charged is not kept, and one is kept once.
 * - all or nothing: when the call fails, none of it happened, or (its outcome unknown) all of it
 *   may have; the caller decides the hold (HoldStep.decide) as after any settle.
 */
export interface AnswerFinish {
  finish(request: FinishRequest): Promise<FinishResult>;
}
