import type { Caller } from '../identity/caller.js';
import { InvalidCursorError, type Page } from '../platform/cursor.js';
import { AppError } from '../platform/errors.js';
import { balanceHeaders } from './credit.headers.js';
import type { ChargeResult, CreditAccount, CreditRepository, CreditTransaction, HoldState, LedgerReport, ListOptions, RefundOptions, RefundResult, SettleResult, SweptHold } from './credit.repository.js';

export interface ChargeOutcome {
  /** The debit entry's id; null for a charge of 0 (no entry). */
  chargeId: string | null;
  /** True when an earlier charge with the same idempotency key was returned instead. */
  replayed: boolean;
  /** For a replay: the original charge's hold as it stands (null: a plain debit, or no replay). */
  hold: HoldState | null;
  /** The balance right after this charge (for a replay: right after the original charge). */
  balanceAfter: number;
  /** The account now (after this charge, or as it stands for a replay). */
  account: CreditAccount;
}

/** 409: the charge's idempotency key already holds a charge of another cost (`priorChargeId`). */
export class ChargeConflictError extends AppError<'IDEMPOTENCY_CONFLICT'> {
  constructor(readonly priorChargeId: string) {
    super('IDEMPOTENCY_CONFLICT', 'This idempotency key was already used for a different charge.');
    this.name = 'ChargeConflictError';
  }
}

/** Retention cleanup works through this many users per transaction. */
export const CLEANUP_USERS_PER_BATCH = 500;

/** Expired holds one sweep refunds at most (the next sweep takes the rest). */
export const SWEEP_BATCH = 500;

const userNotFound = (userId: string) => new AppError('USER_NOT_FOUND', `No credits are recorded for user ${userId}.`);

/**
 * Credits in domain terms, whatever the backend. Allowances and the reset period are the
 * repository's policy (from config); this service turns the repository's typed outcomes into
 * the contract's errors.
 */
export class CreditService {
  constructor(
    private readonly repository: CreditRepository,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The caller's balance, creating it on first use and applying a due reset. */
  get(caller: Caller): Promise<CreditAccount> {
    return this.repository.getOrCreate(caller);
  }

  /** Creates the caller's row on their first authenticated request of any kind. */
  ensure(caller: Caller): Promise<void> {
    return this.repository.ensure(caller);
  }

  /**
   * Charges `cost` (≥ 0; 0 writes no entry and succeeds at zero balance). Throws 402
   * INSUFFICIENT_CREDITS (details, balance headers and Retry-After) when the balance does not
   * cover it, and 409 IDEMPOTENCY_CONFLICT when the key was used for another cost.
   */
  async charge(caller: Caller, cost: number, description: string, idempotencyKey?: string, options: { holdMs?: number } = {}): Promise<ChargeOutcome> {
    if (!Number.isInteger(cost) || cost < 0) throw new Error(`a charge must be a whole number ≥ 0, got ${cost}`);
    return this.outcomeOf(cost, await this.repository.charge(caller, { cost, description, idempotencyKey, holdMs: options.holdMs }));
  }

  /**
   * A charge's outcome as `charge` gives it, from the repository's result of a charge of `cost`
   * taken elsewhere in the same way (the query gate's, docs/adr/0012-the-query-gate.md): the same
   * 402 when it was refused, the same 409 on a conflict.
   */
  outcomeOf(cost: number, result: ChargeResult): ChargeOutcome {
    switch (result.kind) {
      case 'charged':
        return { chargeId: result.chargeId, replayed: false, hold: null, balanceAfter: result.account.available, account: result.account };
      case 'replayed':
        return { chargeId: result.chargeId, replayed: true, hold: result.hold, balanceAfter: result.balanceAfter, account: result.account };
      case 'conflict':
        throw new ChargeConflictError(result.priorChargeId);
      case 'insufficient': {
        const { account } = result;
        const retryAfter = Math.max(1, Math.ceil((account.resetsAt.getTime() - this.now().getTime()) / 1000));
        throw new AppError('INSUFFICIENT_CREDITS', `This needs ${cost} credits and ${account.available} are left.`, {
          details: { available: account.available, required: cost, resetsAt: account.resetsAt.toISOString() },
          headers: { ...balanceHeaders(account), 'Retry-After': String(retryAfter) },
        });
      }
    }
  }

  /**
   * A charge of 0 answered from a balance already read in this request without a lock (the query
   * gate, docs/adr/0012-the-query-gate.md): it changes nothing, so nothing is written; the outcome
   * is the one `charge` gives for a cost of 0.
   */
  chargeNothing(account: CreditAccount): ChargeOutcome {
    return { chargeId: null, replayed: false, hold: null, balanceAfter: account.available, account };
  }

  /**
   * Gives a charge back (once; a second refund of it changes nothing, and a settled hold is
   * never refunded): `refunded` when this call did it.
   */
  async refund(caller: Caller, chargeId: string, description: string, options?: RefundOptions): Promise<Exclude<RefundResult['kind'], 'charge_not_found'>> {
    const result = await this.repository.refund(caller, chargeId, description, options);
    if (result.kind === 'charge_not_found') throw new Error(`no charge ${chargeId} of ${caller.userId} to refund`);
    return result.kind;
  }

  /** Settles a held charge once its answer is recorded (see CreditRepository.settle). */
  settle(caller: Caller, chargeId: string): Promise<SettleResult> {
    return this.repository.settle(caller.userId, chargeId);
  }

  /** Refunds held charges past their expiry, each exactly once across every process. */
  refundExpiredHolds(limit = SWEEP_BATCH): Promise<SweptHold[]> {
    return this.repository.refundExpiredHolds(limit);
  }

  /** Every balance against its ledger, and the open holds. */
  verifyLedger(): Promise<LedgerReport> {
    return this.repository.verifyLedger();
  }

  /** Operator read: never creates a row. */
  async find(userId: string): Promise<CreditAccount> {
    const account = await this.repository.find(userId);
    if (!account) throw userNotFound(userId);
    return account;
  }

  async adjust(userId: string, amount: number, reason: string): Promise<CreditAccount> {
    const result = await this.repository.adjust(userId, amount, reason);
    if (!result) throw userNotFound(userId);
    if (result.kind === 'would_be_negative') {
      throw new AppError(
        'BALANCE_WOULD_BE_NEGATIVE',
        `An adjustment of ${amount} would take the balance of ${result.account.available} below zero.`,
      );
    }
    return result.account;
  }

  /** Operator reset: back to the current allowance now; the period restarts. */
  async reset(userId: string): Promise<CreditAccount> {
    const account = await this.repository.reset(userId);
    if (!account) throw userNotFound(userId);
    return account;
  }

  /** The caller's balance and one page of their ledger, newest first. */
  async history(caller: Caller, options: ListOptions): Promise<{ account: CreditAccount; page: Page<CreditTransaction> }> {
    const account = await this.repository.getOrCreate(caller);
    try {
      return { account, page: await this.repository.listTransactions(caller.userId, options) };
    } catch (err) {
      if (err instanceof InvalidCursorError) {
        throw new AppError('VALIDATION_FAILED', 'The cursor is not valid.', {
          details: [{ path: 'cursor', message: 'not a cursor from a previous page' }],
        });
      }
      throw err;
    }
  }

  /** Deletes ledger entries older than `olderThan`, keeping balances provable with carryovers. */
  cleanupTransactions(olderThan: Date, usersPerBatch = CLEANUP_USERS_PER_BATCH): Promise<number> {
    return this.repository.cleanupTransactions(olderThan, usersPerBatch);
  }

  /** Guests whose account no change has touched since before `idleSince` (see the repository). */
  idleGuests(idleSince: Date, limit: number): Promise<string[]> {
    return this.repository.idleGuests(idleSince, limit);
  }

  /** Deletes those of `userIds` still idle since before `idleSince`, with their ledger. */
  deleteIdleGuests(userIds: string[], idleSince: Date): Promise<number> {
    return this.repository.deleteIdleGuests(userIds, idleSince);
  }
}
