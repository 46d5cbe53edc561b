import { AppError } from '../platform/errors.js';
import { driverError } from '../platform/transient-retry.js';
import type { ChargeResult, CreditAccount, CreditPolicy, HoldState, RefundResult, SettleResult } from './credit.repository.js';

/** A row of a mutation statement: the account after the operation, and the operation's own columns. */
export interface MutationRow {
  user_id: string;
  is_guest: boolean;
  /** Whether a reset applied, and the balance before it: the reset's grant is `avail0 - available_credits`. */
  resetting: boolean;
  available_credits: number;
  avail0: number;
  applied: number;
  max0: number;
  reset0: Date;
  ok: boolean;
  entry_id: string | null;
  prior_id?: string | null;
  prior_type?: string | null;
  prior_amount?: number | null;
  prior_balance?: number | null;
  prior_hold?: HoldState | null;
  charge_id?: string | null;
}

/** The account a row describes, after its statement's operation. */
export function accountOf(row: Pick<MutationRow, 'user_id' | 'is_guest' | 'avail0' | 'applied' | 'max0' | 'reset0'>, policy: CreditPolicy): CreditAccount {
  const available = row.avail0 + row.applied;
  return {
    userId: row.user_id,
    isGuest: row.is_guest,
    available,
    max: row.max0,
    lastResetAt: row.reset0,
    resetsAt: new Date(row.reset0.getTime() + policy.resetPeriodMs),
  };
}

/** A charge statement's row as the charge's outcome: charged, refused, or a prior charge under its key. */
export function chargeResultOf(row: MutationRow, cost: number, policy: CreditPolicy): ChargeResult {
  const account = accountOf(row, policy);
  if (row.prior_id) {
    return row.prior_type === 'debit' && row.prior_amount === -cost
      ? { kind: 'replayed', chargeId: row.prior_id, balanceAfter: row.prior_balance!, hold: row.prior_hold ?? null, account }
      : { kind: 'conflict', priorChargeId: row.prior_id, account };
  }
  if (!row.ok) return { kind: 'insufficient', account };
  return { kind: 'charged', chargeId: row.entry_id, account };
}

/** A refund statement's row (the request's or the sweep's) as the refund's outcome. */
export function refundResultOf(row: MutationRow | undefined, policy: CreditPolicy): RefundResult {
  if (!row || !row.charge_id) return { kind: 'charge_not_found' };
  const account = accountOf(row, policy);
  if (row.ok) return { kind: 'refunded', refundId: row.entry_id!, account };
  // The hold's state under its lock decides; without a hold, a prior refund entry does.
  if (row.prior_hold === 'settled') return { kind: 'settled', account };
  if (row.prior_hold === 'refunded' || row.prior_id) return { kind: 'already_refunded', account };
  // The sweep skipped a hold whose settle is under way: not refunded by this call.
  return { kind: 'settled', account };
}

/** A clash on a charge's ledger key: a concurrent twin committed first, so a repeat replays it. */
export function isIdempotencyClash(err: unknown): boolean {
  const { code, constraint } = driverError(err);
  return code === '23505' && constraint === 'credit_transactions_user_idempotency_key';
}

/** A database refusal that is the caller's to hear (a balance out of range), as its domain error. */
export function translateCreditError(err: unknown): unknown {
  const { code, constraint } = driverError(err);
  if (code === '23514' && constraint?.includes('non_negative')) {
    return new AppError('BALANCE_WOULD_BE_NEGATIVE', 'The balance cannot go below zero.', { cause: err });
  }
  if (code === '22003') {
    return new AppError('VALIDATION_FAILED', 'The balance would exceed the largest number of credits.', {
      details: [{ path: 'amount', message: 'would take the balance past 2147483647' }],
      cause: err,
    });
  }
  return err;
}

/**
 * A settle's outcome from the row of its hold's settle steps (settleHoldSteps): `settled` when
 * this statement settled it or it was already, `refunded` when a refund came first, `not_found`
 * for no such hold of that user (no row).
 */
export function settleResultOf(row: { settled: boolean; state: HoldState | null } | undefined): SettleResult {
  return row?.settled || row?.state === 'settled' ? 'settled' : row?.state === 'refunded' ? 'refunded' : 'not_found';
}

/** Whether `id` can be a ledger entry's (and so a hold's) id: a bigint's digits, nothing that would fail its cast. */
export function isEntryId(id: string): boolean {
  return /^\d{1,18}$/.test(id);
}
