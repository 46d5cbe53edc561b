import { randomUUID } from 'node:crypto';
import { literal, Op, QueryTypes, type Order, type Sequelize } from 'sequelize';
import type { Caller } from '../identity/caller.js';
import { decodeCursor, encodeCursor, InvalidCursorError, type Page } from '../platform/cursor.js';
import { AppError, StorageUnavailableError } from '../platform/errors.js';
import { isDatabaseUnavailable } from '../platform/db-guard.js';
import { findLagTolerant } from '../platform/model-reads.js';
import { pooledQuery, statement, type Statement } from '../platform/pooled-query.js';
import type { ReplicaReads } from '../platform/replica-reads.js';
import { itemBatcher, readBatcher } from '../platform/batcher.js';
import { guardedOptions, type GuardedCall, type StorageGuard } from '../platform/storage-guard.js';
import { driverError, retryTransient } from '../platform/transient-retry.js';
import {
  allowanceFor,
  chargeKey,
  type AdjustResult,
  type ChargeRequest,
  type ChargeResult,
  type CreditAccount,
  type CreditPolicy,
  type CreditRepository,
  type CreditTransaction,
  GrantListeners,
  type GrantListener,
  type HoldState,
  type LedgerReport,
  type ListOptions,
  type RefundResult,
  type SettleResult,
  type SweptHold,
} from './credit.repository.js';
import { creditModels, type CreditModels, type CreditTransactionRow } from './credit.models.js';
import {
  ADJUST_OP,
  CHARGE_HOLD,
  CHARGE_MANY,
  CHARGE_OP,
  CLEANUP_BATCH,
  CLEANUP_HOLDS,
  ENSURE_ACCOUNT,
  EXPIRED_HOLDS,
  mutation,
  READ_ACCOUNT,
  READ_ACCOUNTS,
  REFUND_OP,
  refundHoldStep,
  SETTLE_MANY,
  TOUCH_OP,
  VERIFY_LEDGER,
} from './credit.sql.js';

/** A row of a mutation statement: the account after the operation, and the operation's own columns. */
interface MutationRow {
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

const CHARGE_SQL = statement('credits_charge', mutation(CHARGE_OP, { after: CHARGE_HOLD }));
const REFUND_SQL = statement('credits_refund', mutation(REFUND_OP, { before: refundHoldStep(false) }));
/** The sweep's refund: skips a hold a settle holds locked, and refunds only past its expiry. */
const SWEEP_REFUND_SQL = statement('credits_refund_expired', mutation(REFUND_OP, { before: refundHoldStep(true) }));
const SETTLE_MANY_SQL = statement('credits_settle_many', SETTLE_MANY);
const SWEEP_DESCRIPTION = 'Refund: the answer was not recorded in time';
/** Holds the sweep refunds at once (each in its own statement). */
const SWEEP_CONCURRENCY = 4;
const ADJUST_SQL = statement('credits_adjust', mutation(ADJUST_OP));
const TOUCH_SQL = statement('credits_touch', mutation(TOUCH_OP));
const READ_ONE = statement('credits_read', READ_ACCOUNT);
const READ_MANY = statement('credits_read_many', READ_ACCOUNTS);
const CHARGE_MANY_SQL = statement('credits_charge_many', CHARGE_MANY);

/** A ledger page's row: the entry's attributes and its timestamp in microseconds (the cursor's). */
type LedgerRow = Pick<CreditTransactionRow, 'id' | 'transactionType' | 'amount' | 'balanceAfter' | 'description' | 'timestamp'> & { micros: string };

/** A charge waiting to be sent, with the guarded call of the request that asked for it. */
interface PendingCharge {
  userId: string;
  cost: number;
  description: string;
  key: string;
  /** ms until an unsettled hold is refunded; null: a plain debit. */
  holdMs: number | null;
  call: GuardedCall;
}

/** A settle waiting to be sent, with the guarded call of the request that asked for it. */
interface PendingSettle {
  userId: string;
  chargeId: string;
  call: GuardedCall;
}

const isIdempotencyClash = (err: unknown) => {
  const { code, constraint } = driverError(err);
  return code === '23505' && constraint === 'credit_transactions_user_idempotency_key';
};

/**
 * Balances in PostgreSQL. Every operation on a balance is ONE statement (see credit.sql.ts): it
 * locks the user's row, applies a due lazy reset, applies the operation guarded in SQL and
 * writes the ledger entries with their `balance_after`, all in the statement's own transaction.
 * Nothing is read into Node and written back. Transient failures are retried only where a repeat
 * is safe: every charge carries an idempotency key (the caller's, or a generated one), refunds are
 * keyed by their charge, and reads/resets converge; an adjustment is retried only after errors
 * that guarantee its transaction rolled back (serialization failure, deadlock).
 */
export class PostgresCreditRepository implements CreditRepository {
  private readonly grants = new GrantListeners();
  /** Plain balance reads (no idempotency key) of concurrent requests share one statement. */
  private readonly readMany: (userId: string) => Promise<MutationRow | undefined>;
  /** Charges of concurrent requests for distinct users share one statement. */
  private readonly chargeBatched: (charge: PendingCharge) => Promise<MutationRow | undefined>;
  /** Settles of concurrent requests share one statement. */
  private readonly settleBatched: (settle: PendingSettle) => Promise<SettleResult>;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly guard: StorageGuard,
    private readonly policy: CreditPolicy,
    /** A fixed clock for tests; unset, the database clock decides (one clock for every process). */
    private readonly now?: () => Date,
    /** Where ledger pages are read (a replica within the lag limit, else the primary); unset = the primary. */
    private readonly reads?: ReplicaReads,
  ) {
    this.readMany = readBatcher(async (userIds) => {
      const bind = [userIds, this.clock(), this.policy.resetPeriodMs];
      const rows = await this.guard.run('credits.read', () => retryTransient(() => pooledQuery<MutationRow>(this.sequelize, READ_MANY, bind)));
      return new Map(rows.map((r) => [r.user_id, r]));
    });
    this.chargeBatched = itemBatcher((charges, settle) => this.runCharges(charges, settle));
    this.settleBatched = itemBatcher((settles, done) => this.runSettles(settles, done));
  }

  onGranted(listener: GrantListener): () => void {
    return this.grants.add(listener);
  }

  async getOrCreate(caller: Caller): Promise<CreditAccount> {
    const row =
      (await this.read('credits.get', caller.userId, null)) ??
      (await this.withAccount(caller, () => this.mutate('credits.get', TOUCH_SQL, caller.userId, false, [], true)));
    return this.account(row);
  }

  /** Creates the row with its `grant` entry unless it exists; concurrent callers create exactly one. */
  async ensure(caller: Caller): Promise<void> {
    const created = await this.guard.run('credits.ensure', (call) =>
      retryTransient(() =>
        this.sequelize.query<{ amount: number }>(
          ENSURE_ACCOUNT,
          guardedOptions(call, {
            bind: [caller.userId, this.clock(), caller.isGuest, allowanceFor(this.policy, caller.isGuest)],
            type: QueryTypes.SELECT,
          }),
        ),
      ),
    );
    for (const { amount } of created) this.grants.emit({ isGuest: caller.isGuest, amount, reason: 'grant' });
  }

  async find(userId: string): Promise<CreditAccount | undefined> {
    const row = (await this.read('credits.find', userId, null)) ?? (await this.mutate('credits.find', TOUCH_SQL, userId, false, [], true));
    return row && this.account(row);
  }

  async charge(caller: Caller, request: ChargeRequest): Promise<ChargeResult> {
    // A generated key makes a charge whose connection dropped safe to repeat: the repeat replays.
    const key = request.idempotencyKey === undefined ? `auto:${randomUUID()}` : chargeKey(request.idempotencyKey);
    // A charge of 0 changes nothing: when no reset is due, the plain read answers it (a prior
    // entry under its key still makes it a conflict, exactly as under the lock).
    const fast = request.cost === 0 ? await this.read('credits.charge', caller.userId, request.idempotencyKey === undefined ? null : key) : undefined;
    const row =
      fast ??
      (await this.withAccount(caller, async () => {
        try {
          return await this.guard.run('credits.charge', (call) =>
            this.chargeBatched({
              userId: caller.userId,
              cost: request.cost,
              description: request.description,
              key,
              holdMs: request.holdMs !== undefined && request.cost > 0 ? request.holdMs : null,
              call,
            }),
          );
        } catch (err) {
          throw this.translate(err);
        }
      }));
    const account = this.account(row);
    if (row.prior_id) {
      return row.prior_type === 'debit' && row.prior_amount === -request.cost
        ? { kind: 'replayed', chargeId: row.prior_id, balanceAfter: row.prior_balance!, hold: row.prior_hold ?? null, account }
        : { kind: 'conflict', priorChargeId: row.prior_id, account };
    }
    if (!row.ok) return { kind: 'insufficient', account };
    return { kind: 'charged', chargeId: row.entry_id, account };
  }

  async refund(caller: Caller, chargeId: string, description: string): Promise<RefundResult> {
    if (!/^\d{1,18}$/.test(chargeId)) return { kind: 'charge_not_found' };
    const row = await this.mutate('credits.refund', REFUND_SQL, caller.userId, false, [description, chargeId], true);
    return this.refundResult(row);
  }

  async settle(userId: string, chargeId: string): Promise<SettleResult> {
    if (!/^\d{1,18}$/.test(chargeId)) return 'not_found';
    return this.guard.run('credits.settle', (call) => this.settleBatched({ userId, chargeId, call }));
  }

  async refundExpiredHolds(limit: number): Promise<SweptHold[]> {
    const due = await this.guard.run('credits.sweep', () =>
      retryTransient(() => this.sequelize.query<{ debit_id: string; user_id: string }>(EXPIRED_HOLDS, { bind: [this.clock(), limit], type: QueryTypes.SELECT })),
    );
    const swept: SweptHold[] = [];
    const work = [...due];
    let failure: unknown;
    const worker = async () => {
      for (let hold = work.shift(); hold; hold = work.shift()) {
        try {
          const row = await this.mutate('credits.sweep', SWEEP_REFUND_SQL, hold.user_id, false, [SWEEP_DESCRIPTION, hold.debit_id, this.clock()], true);
          if (this.refundResult(row).kind === 'refunded') swept.push({ userId: hold.user_id, chargeId: hold.debit_id, amount: row!.applied });
        } catch (err) {
          // One hold that cannot be refunded must not stop the others: it is tried again next sweep.
          failure ??= err;
          if (isDatabaseUnavailable(err) || err instanceof StorageUnavailableError) return;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SWEEP_CONCURRENCY, work.length) }, worker));
    if (swept.length === 0 && failure !== undefined) throw failure;
    return swept;
  }

  async verifyLedger(): Promise<LedgerReport> {
    const [row] = await this.guard.run('credits.verify', () =>
      retryTransient(() =>
        this.sequelize.query<{ users: number; mismatched: number; negative: number; open_holds: number; expired_holds: number; examples: string[] }>(VERIFY_LEDGER, {
          bind: [this.clock()],
          type: QueryTypes.SELECT,
        }),
      ),
    );
    return {
      users: row.users,
      mismatched: row.mismatched,
      negative: row.negative,
      openHolds: row.open_holds,
      expiredHolds: row.expired_holds,
      examples: row.examples,
    };
  }

  async adjust(userId: string, amount: number, reason: string): Promise<AdjustResult | undefined> {
    const row = await this.mutate('credits.adjust', ADJUST_SQL, userId, false, [amount, reason], false);
    if (!row) return undefined;
    return row.ok ? { kind: 'adjusted', account: this.account(row) } : { kind: 'would_be_negative', account: this.account(row) };
  }

  async reset(userId: string): Promise<CreditAccount | undefined> {
    const row = await this.mutate('credits.reset', TOUCH_SQL, userId, true, [], true);
    return row && this.account(row);
  }

  /** The credit tables' models, for operator reads and maintenance (defined once per Sequelize instance). */
  private get models(): CreditModels {
    return creditModels(this.sequelize);
  }

  async listTransactions(userId: string, options: ListOptions): Promise<Page<CreditTransaction>> {
    let after: { micros: string; id: string } | undefined;
    if (options.cursor !== undefined) {
      const key = decodeCursor(options.cursor);
      if (!key || !/^\d{1,18}$/.test(key.i) || key.t.length > 18) throw new InvalidCursorError();
      after = { micros: key.t, id: key.i };
    }
    // A ledger page may lag (DB_REPLICA_MAX_LAG_SECONDS): it is read from a replica when one
    // serves; the balance beside it never is.
    const escape = (v: string) => this.sequelize.escape(v);
    const before = after
      ? literal(
          `("timestamp", id) < (to_timestamp(0) + (${escape(after.micros)}::bigint / 1000000) * interval '1 second' + (${escape(after.micros)}::bigint % 1000000) * interval '1 microsecond', ${escape(after.id)}::bigint)`,
        )
      : undefined;
    const rows = await this.guard.run('credits.listTransactions', () =>
      retryTransient(() =>
        findLagTolerant<CreditTransactionRow, LedgerRow>(
          this.models.CreditTransaction,
          {
            attributes: ['id', 'transactionType', 'amount', 'balanceAfter', 'description', 'timestamp', [literal('(extract(epoch FROM "timestamp") * 1000000)::bigint::text'), 'micros']],
            where: { userId, ...(before ? { [Op.and]: [before] } : {}) },
            order: [['timestamp', 'DESC'], ['id', 'DESC']],
            limit: options.limit + 1,
          },
          this.reads,
        ),
      ),
    );
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({
        id: r.id,
        type: r.transactionType,
        amount: r.amount,
        balanceAfter: r.balanceAfter,
        description: r.description,
        createdAt: r.timestamp,
      })),
      nextCursor: rows.length > options.limit && last ? encodeCursor({ t: last.micros, i: last.id }) : null,
    };
  }

  async cleanupTransactions(olderThan: Date, batchSize: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const [result] = await this.guard.run('credits.cleanup', (call) =>
        retryTransient(() =>
          this.sequelize.query<{ users: string; deleted: string }>(CLEANUP_BATCH, guardedOptions(call, { bind: [olderThan, batchSize], type: QueryTypes.SELECT })),
        ),
      );
      deleted += Number(result.deleted);
      if (Number(result.users) === 0) break;
    }
    // Holds with an outcome go with the ledger entries of their age; open ones are never deleted.
    for (;;) {
      const [result] = await this.guard.run('credits.cleanup', (call) =>
        retryTransient(() => this.sequelize.query<{ deleted: number }>(CLEANUP_HOLDS, guardedOptions(call, { bind: [olderThan, batchSize * 10], type: QueryTypes.SELECT }))),
      );
      if (result.deleted < batchSize * 10) return deleted;
    }
  }

  async idleGuests(idleSince: Date, limit: number): Promise<string[]> {
    const rows = await this.guard.run('credits.idleGuests', (call) =>
      this.models.UserCredit.findAll(
        guardedOptions(call, {
          attributes: ['userId'],
          where: { isGuest: true, updatedAt: { [Op.lt]: idleSince } },
          order: [['updatedAt', 'ASC']] as Order,
          limit,
          raw: true,
        }),
      ),
    );
    return rows.map((r) => r.userId);
  }

  async deleteIdleGuests(userIds: string[], idleSince: Date): Promise<number> {
    if (userIds.length === 0) return 0;
    const { UserCredit, CreditTransaction, CreditHold } = this.models;
    return this.guard.run('credits.deleteIdleGuests', (call) =>
      retryTransient(() =>
        // One transaction. The rows are locked and checked again: one touched since it was picked
        // is kept, and a change waiting on its lock finds it gone (and starts a new account, with
        // a grant). An account with a charge still held is kept until the sweep has ended that
        // hold; the holds with an outcome go with the ledger.
        this.sequelize.transaction(async (transaction) => {
          const doomed = await UserCredit.findAll(
            guardedOptions(call, {
              attributes: ['userId'],
              where: {
                userId: userIds,
                isGuest: true,
                updatedAt: { [Op.lt]: idleSince },
                [Op.and]: [literal(`NOT EXISTS (SELECT 1 FROM credit_holds h WHERE h.user_id = "UserCredit"."user_id" AND h.state = 'held')`)],
              },
              lock: true,
              raw: true,
              transaction,
            }),
          );
          if (doomed.length === 0) return 0;
          const ids = doomed.map((r) => r.userId);
          await CreditHold.destroy(guardedOptions(call, { where: { userId: ids, state: { [Op.ne]: 'held' } }, transaction }));
          await CreditTransaction.destroy(guardedOptions(call, { where: { userId: ids }, transaction }));
          return UserCredit.destroy(guardedOptions(call, { where: { userId: ids }, transaction }));
        }),
      ),
    );
  }

  // ---- internals -------------------------------------------------------------------------

  private clock(): Date | null {
    return this.now ? this.now() : null;
  }

  /**
   * The read fast path (see READ_ACCOUNT): the row when it exists and no reset is due, read
   * without a lock; otherwise undefined, and the caller goes through the locking statement.
   */
  private async read(operation: string, userId: string, key: string | null): Promise<MutationRow | undefined> {
    let row: MutationRow | undefined;
    if (key === null) {
      row = await this.readMany(userId);
    } else {
      const bind = [userId, this.clock(), this.policy.resetPeriodMs, key];
      [row] = await this.guard.run(operation, () => retryTransient(() => pooledQuery<MutationRow>(this.sequelize, READ_ONE, bind)));
    }
    return row && !row.resetting ? row : undefined;
  }

  /** Runs an operation on the caller's row; on a user without one, creates it and runs again. */
  private async withAccount(caller: Caller, run: () => Promise<MutationRow | undefined>): Promise<MutationRow> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await run();
      if (row) return row;
      await this.ensure(caller);
    }
    throw new Error(`credit row of ${caller.userId} is missing after creating it`);
  }

  /**
   * One mutation statement under the guard: $1 user, $2 clock, $3 period (ms), $4/$5
   * guest/registered allowance, $6 force a reset, $7… the operation's own values. Resolves
   * undefined for no row.
   */
  private async mutate(
    operation: string,
    sql: Statement,
    userId: string,
    forceReset: boolean,
    values: unknown[],
    repeatable: boolean,
  ): Promise<MutationRow | undefined> {
    try {
      return await this.guard.run(operation, (call) => this.send(call, sql, userId, forceReset, values, repeatable));
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** Sends one mutation statement for `call` (checked right before it leaves), retrying what is safe to repeat. */
  private async send(
    call: GuardedCall,
    sql: Statement,
    userId: string,
    forceReset: boolean,
    values: unknown[],
    repeatable: boolean,
  ): Promise<MutationRow | undefined> {
    const bind = [userId, this.clock(), this.policy.resetPeriodMs, this.policy.guestAllowance, this.policy.registeredAllowance, forceReset, ...values];
    const rows = await retryTransient(() => pooledQuery<MutationRow>(this.sequelize, sql, bind, call.assertLive), {
      // A clash on an idempotency key means a concurrent twin committed first: the repeat replays.
      alsoRetry: isIdempotencyClash,
      connectionErrors: repeatable,
    });
    return this.emitReset(rows[0]);
  }

  /**
   * Sends the charges of one turn: the first charge of each user together in one statement
   * (CHARGE_MANY), any further charge of the same user on its own, as before (one statement
   * cannot change a row twice). Each caller is released as soon as the statement holding its own
   * charge is done, never held for another's. A charge whose request was already answered 503 is
   * not sent; one whose statement was under way when its request was answered 503 may still
   * commit, and then its hold, which nobody settles, is refunded by the sweep. Every charge
   * carries an idempotency key, so a repeat after a dropped connection or a clash with a
   * concurrent twin replays instead of charging twice. If the shared statement fails for a
   * reason of its own (not the database's availability), each charge is tried on its own, so one
   * bad charge cannot fail the others.
   */
  private async runCharges(charges: readonly PendingCharge[], settle: (index: number, result: MutationRow | undefined | Error) => void): Promise<void> {
    const firsts: number[] = [];
    const repeats: number[] = [];
    const users = new Set<string>();
    charges.forEach((c, i) => {
      if (users.has(c.userId)) repeats.push(i);
      else {
        users.add(c.userId);
        firsts.push(i);
      }
    });
    const live = firsts.filter((i) => {
      try {
        charges[i]!.call.assertLive();
        return true;
      } catch (err) {
        settle(i, err as Error);
        return false;
      }
    });
    const alone = (indexes: number[]) =>
      Promise.all(indexes.map(async (i) => settle(i, await this.chargeOne(charges[i]!).catch((err: unknown) => err as Error))));
    // A user's further charges run after the shared statement (they need its row lock), each
    // releasing its caller when done.
    const firstsDone = (async () => {
      if (live.length === 1) return alone(live);
      if (live.length === 0) return;
      const batch = live.map((i) => charges[i]!);
      try {
        const bind = [
          batch.map((c) => c.userId),
          this.clock(),
          this.policy.resetPeriodMs,
          this.policy.guestAllowance,
          this.policy.registeredAllowance,
          batch.map((c) => c.cost),
          batch.map((c) => c.description),
          batch.map((c) => c.key),
          batch.map((c) => c.holdMs),
        ];
        // Checked again once a connection is in hand: a request answered 503 meanwhile sends the
        // batch back to one statement per charge, where its own charge is refused.
        const allLive = () => {
          for (const c of batch) c.call.assertLive();
        };
        const rows = await retryTransient(() => pooledQuery<MutationRow>(this.sequelize, CHARGE_MANY_SQL, bind, allLive), {
          alsoRetry: isIdempotencyClash,
          connectionErrors: true,
        });
        const byUser = new Map(rows.map((r) => [r.user_id, r]));
        for (const i of live) settle(i, this.emitReset(byUser.get(charges[i]!.userId)));
      } catch (err) {
        if (isDatabaseUnavailable(err)) for (const i of live) settle(i, err as Error);
        else await alone(live);
      }
    })();
    await firstsDone;
    await alone(repeats);
  }

  /**
   * Sends the settles of one turn as one statement. A settle whose request was already answered
   * 503 is not sent (its hold is left to the sweep); the statement is checked again once a
   * connection is in hand, and resent without a settle whose request was answered meanwhile.
   */
  private async runSettles(settles: readonly PendingSettle[], done: (index: number, result: SettleResult | Error) => void): Promise<void> {
    const liveOnes = () =>
      settles.flatMap((s, i) => {
        try {
          s.call.assertLive();
          return [i];
        } catch (err) {
          done(i, err as Error);
          return [];
        }
      });
    for (let round = 0; round < 3; round++) {
      const live = liveOnes();
      if (live.length === 0) return;
      const bind = [live.map((i) => settles[i]!.chargeId), live.map((i) => settles[i]!.userId), this.clock()];
      let changed = false;
      const allLive = () => {
        for (const i of live) {
          try {
            settles[i]!.call.assertLive();
          } catch (err) {
            changed = true;
            throw err;
          }
        }
      };
      try {
        const rows = await retryTransient(() => pooledQuery<{ debit_id: string; settled: boolean; state: HoldState | null }>(this.sequelize, SETTLE_MANY_SQL, bind, allLive), {
          connectionErrors: true,
        });
        const byId = new Map(rows.map((r) => [r.debit_id, r]));
        for (const i of live) {
          const row = byId.get(settles[i]!.chargeId);
          done(i, row?.settled || row?.state === 'settled' ? 'settled' : row?.state === 'refunded' ? 'refunded' : 'not_found');
        }
        return;
      } catch (err) {
        if (changed) continue;
        for (const i of live) done(i, err as Error);
        return;
      }
    }
  }

  /** One charge in its own statement, checked against its request's call right before it leaves. */
  private chargeOne(c: PendingCharge): Promise<MutationRow | undefined> {
    return this.send(c.call, CHARGE_SQL, c.userId, false, [c.cost, c.description, c.key, c.holdMs], true);
  }

  private refundResult(row: MutationRow | undefined): RefundResult {
    if (!row || !row.charge_id) return { kind: 'charge_not_found' };
    const account = this.account(row);
    if (row.ok) return { kind: 'refunded', refundId: row.entry_id!, account };
    // The hold's state under its lock decides; without a hold, a prior refund entry does.
    if (row.prior_hold === 'settled') return { kind: 'settled', account };
    if (row.prior_hold === 'refunded' || row.prior_id) return { kind: 'already_refunded', account };
    // The sweep skipped a hold whose settle is under way: not refunded by this call.
    return { kind: 'settled', account };
  }

  private emitReset(row: MutationRow | undefined): MutationRow | undefined {
    if (row?.resetting) this.grants.emit({ isGuest: row.is_guest, amount: row.avail0 - row.available_credits, reason: 'reset' });
    return row;
  }

  private translate(err: unknown): unknown {
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

  private account(row: MutationRow): CreditAccount {
    const available = row.avail0 + row.applied;
    return {
      userId: row.user_id,
      isGuest: row.is_guest,
      available,
      max: row.max0,
      lastResetAt: row.reset0,
      resetsAt: new Date(row.reset0.getTime() + this.policy.resetPeriodMs),
    };
  }
}
