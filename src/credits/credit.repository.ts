import { createHash } from 'node:crypto';
import type { Caller } from '../identity/caller.js';
import type { Page } from '../platform/cursor.js';

/** The kinds of ledger entry (the CHECK `credit_transactions_type_known`). */
export const TRANSACTION_TYPES = ['grant', 'debit', 'refund', 'reset', 'adjustment', 'carryover'] as const;
export type TransactionType = (typeof TRANSACTION_TYPES)[number];

/** A user's balance as every backend reports it, after any lazy reset that was due. */
export interface CreditAccount {
  userId: string;
  isGuest: boolean;
  available: number;
  max: number;
  lastResetAt: Date;
  resetsAt: Date;
}

export interface CreditTransaction {
  id: string;
  type: TransactionType;
  /** Never 0; negative for debits. */
  amount: number;
  balanceAfter: number;
  description: string | null;
  createdAt: Date;
}

/** The allowance rules a repository applies. */
export interface CreditPolicy {
  guestAllowance: number;
  registeredAllowance: number;
  resetPeriodMs: number;
}

export interface ChargeRequest {
  cost: number;
  description: string;
  /** Same key + same cost replays the original charge; same key + another cost is a conflict. */
  idempotencyKey?: string;
  /**
   * Takes the debit as a hold: it stays open until `settle` (or a refund), and a hold still open
   * `holdMs` after it was taken is refunded by `refundExpiredHolds`. Unset: a plain debit.
   */
  holdMs?: number;
}

/** Where a hold stands: open, or its one outcome (the CHECK `credit_holds_state_known`). */
export const HOLD_STATES = ['held', 'settled', 'refunded'] as const;
export type HoldState = (typeof HOLD_STATES)[number];

export type ChargeResult =
  | { kind: 'charged'; chargeId: string | null; account: CreditAccount }
  /** `hold`: the original debit's hold as it stands (null: it was taken without one). */
  | { kind: 'replayed'; chargeId: string; balanceAfter: number; hold: HoldState | null; account: CreditAccount }
  | { kind: 'insufficient'; account: CreditAccount }
  /** `priorChargeId`: the entry that already holds the key (a charge of another cost). */
  | { kind: 'conflict'; priorChargeId: string; account: CreditAccount };

/** See CreditRepository.refund. */
export interface RefundOptions {
  urgent?: boolean;
}

export type RefundResult =
  | { kind: 'refunded'; refundId: string; account: CreditAccount }
  | { kind: 'already_refunded'; account: CreditAccount }
  /** The charge's hold was settled: its answer was recorded, so it is never refunded. */
  | { kind: 'settled'; account: CreditAccount }
  | { kind: 'charge_not_found' };

/** The outcome of `settle`: settled (now or before), refunded first (by a sweep), or no such hold. */
export type SettleResult = 'settled' | 'refunded' | 'not_found';

/** A hold the sweep refunded. */
export interface SweptHold {
  userId: string;
  chargeId: string;
  amount: number;
}

/** `GET /api/v1/admin/ledger/verify`: every balance checked against its ledger. */
export interface LedgerReport {
  users: number;
  /** Users whose balance differs from the sum of their ledger entries. */
  mismatched: number;
  negative: number;
  /** Holds neither settled nor refunded yet. */
  openHolds: number;
  /** Open holds past their expiry that no sweep has refunded yet. */
  expiredHolds: number;
  /** Up to 10 offending user ids. */
  examples: string[];
}

/**
 * Credits a user received: the `grant` of a new account, or a reset (lazy or by an operator)
 * that raised the balance. A reset that lowers it (after an adjustment) grants nothing.
 */
export interface CreditGrant {
  isGuest: boolean;
  amount: number;
  reason: 'grant' | 'reset';
}

export type GrantListener = (grant: CreditGrant) => void;

export type AdjustResult = { kind: 'adjusted'; account: CreditAccount } | { kind: 'would_be_negative'; account: CreditAccount };

export interface ListOptions {
  limit: number;
  cursor?: string;
}

/**
 * Balances and their ledger. Rules every backend (memory, PostgreSQL) keeps:
 *
 * - Every change of `available` writes exactly one ledger entry, atomically with the change;
 *   `available` always equals the sum of the user's entries and is never negative.
 * - First use (`getOrCreate`, and `charge` on a user without a row): the row is created with
 *   `available = max = allowance` and one `grant` entry. Concurrent first uses create exactly one.
 * - Lazy reset, on every access that names the user: when `now >= lastResetAt + resetPeriod`,
 *   `available` and `max` become the current allowance, `lastResetAt` becomes now and a `reset`
 *   entry records the difference (none when it is 0; negative when an adjustment had lifted
 *   `available` above `max`). It happens under the same lock as the operation that follows.
 * - `resetsAt = lastResetAt + resetPeriod`.
 * - Operations that find no row (`find`, `adjust`, `reset`) never create one: they resolve
 *   `undefined` (`listTransactions` an empty page).
 * - A charge never takes `available` below 0: `insufficient` changes nothing but a due reset.
 *   A charge of 0 writes no entry and succeeds even at zero balance.
 * - Holds: a charge with `holdMs` writes its debit and its hold at once (so `available` is the
 *   sum of the ledger at every instant). A hold ends exactly once: `settle` (the answer was
 *   recorded) or a refund (`refund`, or `refundExpiredHolds` once it is past its expiry), never
 *   both, never twice; a settled hold is never refunded. A replayed charge reports its hold.
 * - Idempotency keys are per user. A repeated charge key with the same cost resolves `replayed`
 *   (the original charge id and its balance after) and charges nothing; with another cost it
 *   resolves `conflict`. A charge is refunded at most once (`already_refunded` after that).
 * - Any entry may be retried by the backend after a transient failure only when the retry is a
 *   replay (the operation's key or its rolled-back transaction makes it so).
 * - Transactions are listed newest first (timestamp, then id); a cursor resumes after the last
 *   row of the previous page, so pages stay stable while new entries arrive. A cursor that did
 *   not come from the backend throws `InvalidCursorError`.
 * - `cleanupTransactions` deletes entries older than `olderThan` and replaces each affected
 *   user's deleted entries by one `carryover` entry holding their sum (none when 0), in the same
 *   transaction; it works through at most `batchSize` users per transaction and resolves the
 *   number of entries deleted (carryovers it replaced are not counted).
 */
export interface CreditRepository {
  /**
   * Tells `listener` of every grant this repository object wrote (for metrics), after its
   * statement committed. A grant written by another process, or by an attempt whose answer was
   * lost and then retried, is not reported here. Returns an unsubscribe function.
   */
  onGranted(listener: GrantListener): () => void;
  getOrCreate(caller: Caller): Promise<CreditAccount>;
  /** Creates the caller's row (and `grant`) unless it exists; no lazy reset. */
  ensure(caller: Caller): Promise<void>;
  find(userId: string): Promise<CreditAccount | undefined>;
  charge(caller: Caller, request: ChargeRequest): Promise<ChargeResult>;
  /**
   * `urgent`: the refund decides a charge whose settle has an unknown outcome, so it is tried even
   * while the storage's breaker is open (still bounded like every call): an open breaker must not
   * leave a shopper charged for an answer they never got.
   */
  refund(caller: Caller, chargeId: string, description: string, options?: RefundOptions): Promise<RefundResult>;
  /** Settles an open hold of `userId` (its answer is recorded). Settling a settled hold is `settled` again. */
  settle(userId: string, chargeId: string): Promise<SettleResult>;
  /**
   * Refunds open holds past their expiry, each exactly once however many processes sweep at
   * once, at most `limit` of them; resolves those this call refunded.
   */
  refundExpiredHolds(limit: number): Promise<SweptHold[]>;
  /** Every balance against its ledger, and the holds (see LedgerReport). */
  verifyLedger(): Promise<LedgerReport>;
  adjust(userId: string, amount: number, reason: string): Promise<AdjustResult | undefined>;
  reset(userId: string): Promise<CreditAccount | undefined>;
  listTransactions(userId: string, options: ListOptions): Promise<Page<CreditTransaction>>;
  cleanupTransactions(olderThan: Date, batchSize: number): Promise<number>;
  /**
   * Up to `limit` guest users whose row no change has touched (no charge, refund, reset or
   * adjustment; creation counts) since before `idleSince`, least recently touched first.
   */
  idleGuests(idleSince: Date, limit: number): Promise<string[]>;
  /**
   * Deletes those of `userIds` that are guests still idle since before `idleSince` (a row
   * touched meanwhile is kept), with their whole ledger, in one transaction; resolves how many
   * accounts went. Nothing of any other user changes.
   */
  deleteIdleGuests(userIds: string[], idleSince: Date): Promise<number>;
}

/** The listeners of one repository; a failing listener never fails the credit operation. */
export class GrantListeners {
  private readonly listeners = new Set<GrantListener>();

  add(listener: GrantListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(grant: CreditGrant): void {
    if (grant.amount <= 0) return;
    for (const listener of this.listeners) {
      try {
        listener(grant);
      } catch {
        // Metrics must never turn a committed balance change into an error.
      }
    }
  }
}

export function allowanceFor(policy: CreditPolicy, isGuest: boolean): number {
  return isGuest ? policy.guestAllowance : policy.registeredAllowance;
}

/**
 * The ledger key of a charge: callers' keys live in their own namespace (`charge:`), apart from
 * refund keys (`refund:<chargeId>`); a key too long for the column is stored as its SHA-256.
 */
export function chargeKey(idempotencyKey: string): string {
  const plain = `charge:${idempotencyKey}`;
  return plain.length <= 255 ? plain : `charge#${createHash('sha256').update(idempotencyKey, 'utf8').digest('hex')}`;
}
