// Over 300 lines (just): the repository's operator reads, maintenance and single guarded
// statements; the batched hot-path statements are in credit.statements.ts.
import { literal, Op, QueryTypes, type Order, type Sequelize } from 'sequelize';
import type { Caller } from '../identity/caller.js';
import { decodeCursor, encodeCursor, InvalidCursorError, type Page } from '../platform/cursor.js';
import { StorageUnavailableError } from '../platform/errors.js';
import { isDatabaseUnavailable } from '../platform/db-guard.js';
import { findLagTolerant } from '../platform/model-reads.js';
import { statement, type Statement } from '../platform/pooled-query.js';
import type { ReplicaReads } from '../platform/replica-reads.js';
import { guardedOptions, type StorageGuard } from '../platform/storage-guard.js';
import { retryTransient } from '../platform/transient-retry.js';
import {
  type AdjustResult,
  type ChargeRequest,
  type ChargeResult,
  type CreditAccount,
  type CreditPolicy,
  type CreditRepository,
  type CreditTransaction,
  GrantListeners,
  type GrantListener,
  type LedgerReport,
  type ListOptions,
  type RefundOptions,
  type RefundResult,
  type SettleResult,
  type SweptHold,
} from './credit.repository.js';
import { creditModels, type CreditModels, type CreditTransactionRow } from './credit.models.js';
import { ADJUST_OP, CLEANUP_BATCH, CLEANUP_HOLDS, EXPIRED_HOLDS, mutation, REFUND_OP, refundHoldStep, TOUCH_OP, VERIFY_LEDGER } from './credit.sql.js';
import { accountOf, chargeResultOf, isEntryId, refundResultOf, type MutationRow } from './credit.rows.js';
import { CreditStatements } from './credit.statements.js';

const REFUND_SQL = statement('credits_refund', mutation(REFUND_OP, { before: refundHoldStep(false) }));
/** The sweep's refund: skips a hold a settle holds locked, and refunds only past its expiry. */
const SWEEP_REFUND_SQL = statement('credits_refund_expired', mutation(REFUND_OP, { before: refundHoldStep(true) }));
const SWEEP_DESCRIPTION = 'Refund: the answer was not recorded in time';
/** Holds the sweep refunds at once (each in its own statement). */
const SWEEP_CONCURRENCY = 4;
const ADJUST_SQL = statement('credits_adjust', mutation(ADJUST_OP));
const TOUCH_SQL = statement('credits_touch', mutation(TOUCH_OP));

/** A ledger page's row: the entry's attributes and its timestamp in microseconds (the cursor's). */
type LedgerRow = Pick<CreditTransactionRow, 'id' | 'transactionType' | 'amount' | 'balanceAfter' | 'description' | 'timestamp'> & { micros: string };

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
  /** The hot path's statements: reads, charges and settles batched per turn (credit.statements.ts). */
  private readonly statements: CreditStatements;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly guard: StorageGuard,
    private readonly policy: CreditPolicy,
    /** A fixed clock for tests; unset, the database clock decides (one clock for every process). */
    private readonly now?: () => Date,
    /** Where ledger pages are read (a replica within the lag limit, else the primary); unset = the primary. */
    private readonly reads?: ReplicaReads,
  ) {
    this.statements = new CreditStatements(sequelize, guard, policy, () => this.clock(), this.grants);
  }

  onGranted(listener: GrantListener): () => void {
    return this.grants.add(listener);
  }

  async getOrCreate(caller: Caller): Promise<CreditAccount> {
    const row =
      (await this.read('credits.get', caller.userId, null)) ??
      (await this.statements.withAccount(caller, () => this.mutate('credits.get', TOUCH_SQL, caller.userId, false, [], true)));
    return this.account(row);
  }

  /** Creates the row with its `grant` entry unless it exists; concurrent callers create exactly one. */
  ensure(caller: Caller): Promise<void> {
    return this.statements.ensure(caller);
  }

  async find(userId: string): Promise<CreditAccount | undefined> {
    const row = (await this.read('credits.find', userId, null)) ?? (await this.mutate('credits.find', TOUCH_SQL, userId, false, [], true));
    return row && this.account(row);
  }

  async charge(caller: Caller, request: ChargeRequest): Promise<ChargeResult> {
    return chargeResultOf(await this.statements.chargeRow(caller, request), request.cost, this.policy);
  }

  async refund(caller: Caller, chargeId: string, description: string, options?: RefundOptions): Promise<RefundResult> {
    if (!isEntryId(chargeId)) return { kind: 'charge_not_found' };
    const row = await this.statements.mutate('credits.refund', { sql: REFUND_SQL, userId: caller.userId, forceReset: false, values: [description, chargeId], repeatable: true }, { whileOpen: options?.urgent === true });
    return this.refundResult(row);
  }

  async settle(userId: string, chargeId: string): Promise<SettleResult> {
    if (!isEntryId(chargeId)) return 'not_found';
    return this.statements.settle(userId, chargeId);
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
      if (!key || !isEntryId(key.i) || key.t.length > 18) throw new InvalidCursorError();
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

  /** The read fast path (see CreditStatements.read). */
  private read(operation: string, userId: string, key: string | null): Promise<MutationRow | undefined> {
    return this.statements.read(operation, userId, key);
  }

  /** One mutation statement under the guard (see Mutation); resolves undefined for no row. */
  private mutate(operation: string, sql: Statement, userId: string, forceReset: boolean, values: unknown[], repeatable: boolean): Promise<MutationRow | undefined> {
    return this.statements.mutate(operation, { sql, userId, forceReset, values, repeatable });
  }

  private refundResult(row: MutationRow | undefined): RefundResult {
    return refundResultOf(row, this.policy);
  }

  private account(row: MutationRow): CreditAccount {
    return accountOf(row, this.policy);
  }
}
