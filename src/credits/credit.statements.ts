import { randomUUID } from 'node:crypto';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { Caller } from '../identity/caller.js';
import { isDatabaseUnavailable } from '../platform/db-guard.js';
import { pooledQuery, statement, type Statement } from '../platform/pooled-query.js';
import { assertAllLive, guardedBatcher, guardedReads, sendWhileLive, type GuardedItem } from '../platform/batcher.js';
import { guardedOptions, type GuardedCall, type GuardOptions, type StorageGuard } from '../platform/storage-guard.js';
import { retryTransient } from '../platform/transient-retry.js';
import { allowanceFor, chargeKey, type ChargeRequest, type CreditPolicy, type GrantListeners, type HoldState, type SettleResult } from './credit.repository.js';
import { isIdempotencyClash, settleResultOf, translateCreditError, type MutationRow } from './credit.rows.js';
import { CHARGE_HOLD, CHARGE_MANY, CHARGE_OP, ENSURE_ACCOUNT, mutation, READ_ACCOUNT, READ_ACCOUNTS, SETTLE_MANY } from './credit.sql.js';

/**
 * One mutation statement (see credit.sql.ts `mutation`): $1 user, $2 clock, $3 period (ms), $4/$5
 * guest/registered allowance, $6 force a reset, $7… the operation's own `values`. `repeatable`:
 * safe to send again after a dropped connection.
 */
export interface Mutation {
  sql: Statement;
  userId: string;
  forceReset: boolean;
  values: unknown[];
  repeatable: boolean;
}

/** A charge of the hot path, as its request asks for it. */
interface PendingCharge {
  userId: string;
  cost: number;
  description: string;
  key: string;
  /** ms until an unsettled hold is refunded; null: a plain debit. */
  holdMs: number | null;
}

const CHARGE_SQL = statement('credits_charge', mutation(CHARGE_OP, { after: CHARGE_HOLD }));
const SETTLE_MANY_SQL = statement('credits_settle_many', SETTLE_MANY);
const READ_ONE = statement('credits_read', READ_ACCOUNT);
const READ_MANY = statement('credits_read_many', READ_ACCOUNTS);
const CHARGE_MANY_SQL = statement('credits_charge_many', CHARGE_MANY);


/**
 * The credit repository's hot path (ADR 0005): balance reads, charges and settles of concurrent
 * requests batched per turn of the event loop through `guardedBatcher` (the guard around each
 * request's item), the account's creation, and single mutation statements under the guard. Each
 * is one statement in its own transaction (ADR 0003); nothing is read into Node and written back.
 */
export class CreditStatements {
  /** Plain balance reads (no idempotency key) of concurrent requests share one statement. */
  private readonly readMany: (userId: string) => Promise<MutationRow | undefined>;
  /** Charges of concurrent requests for distinct users share one statement. */
  private readonly chargeBatched: (charge: PendingCharge) => Promise<MutationRow | undefined>;
  private readonly settleBatched: (settle: { userId: string; chargeId: string }) => Promise<SettleResult>;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly guard: StorageGuard,
    private readonly policy: CreditPolicy,
    /** The fixed clock of tests, or null: the database clock decides. */
    private readonly clock: () => Date | null,
    /** Told of every grant: an account's first, and each lazy reset's. */
    private readonly grants: GrantListeners,
  ) {
    this.readMany = guardedReads(guard, 'credits.read', async (userIds) => {
      const rows = await retryTransient(() => pooledQuery<MutationRow>(this.sequelize, READ_MANY, [userIds, this.clock(), this.policy.resetPeriodMs]));
      return new Map(rows.map((r) => [r.user_id, r]));
    });
    this.chargeBatched = guardedBatcher(guard, 'credits.charge', (charges, settle) => this.runCharges(charges, settle));
    this.settleBatched = guardedBatcher(guard, 'credits.settle', (settles, done) => this.runSettles(settles, done));
  }

  /**
   * The read fast path (see READ_ACCOUNT): the row when it exists and no reset is due, read
   * without a lock; otherwise undefined, and the caller goes through the locking statement.
   */
  async read(operation: string, userId: string, key: string | null): Promise<MutationRow | undefined> {
    let row: MutationRow | undefined;
    if (key === null) {
      row = await this.readMany(userId);
    } else {
      const bind = [userId, this.clock(), this.policy.resetPeriodMs, key];
      [row] = await this.guard.run(operation, () => retryTransient(() => pooledQuery<MutationRow>(this.sequelize, READ_ONE, bind)));
    }
    return row && !row.resetting ? row : undefined;
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

  /** Runs an operation on the caller's row; on a user without one, creates it and runs again. */
  async withAccount(caller: Caller, run: () => Promise<MutationRow | undefined>): Promise<MutationRow> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await run();
      if (row) return row;
      await this.ensure(caller);
    }
    throw new Error(`credit row of ${caller.userId} is missing after creating it`);
  }

  /** A charge's row (creating the account first if need be); see chargeResultOf for its outcome. */
  async chargeRow(caller: Caller, request: ChargeRequest): Promise<MutationRow> {
    // A generated key makes a charge whose connection dropped safe to repeat: the repeat replays.
    const key = request.idempotencyKey === undefined ? `auto:${randomUUID()}` : chargeKey(request.idempotencyKey);
    // A charge of 0 changes nothing: when no reset is due, the plain read answers it (a prior
    // entry under its key still makes it a conflict, exactly as under the lock).
    const fast = request.cost === 0 ? await this.read('credits.charge', caller.userId, request.idempotencyKey === undefined ? null : key) : undefined;
    const charge: PendingCharge = {
      userId: caller.userId,
      cost: request.cost,
      description: request.description,
      key,
      holdMs: request.holdMs !== undefined && request.cost > 0 ? request.holdMs : null,
    };
    return (
      fast ??
      this.withAccount(caller, async () => {
        try {
          return await this.chargeBatched(charge);
        } catch (err) {
          throw translateCreditError(err);
        }
      })
    );
  }

  settle(userId: string, chargeId: string): Promise<SettleResult> {
    return this.settleBatched({ userId, chargeId });
  }

  /** One mutation statement under the guard, its errors translated; resolves undefined for no row. */
  async mutate(operation: string, m: Mutation, options?: GuardOptions): Promise<MutationRow | undefined> {
    try {
      return await this.guard.run(operation, (call) => this.send(call, m), options);
    } catch (err) {
      throw translateCreditError(err);
    }
  }

  /** Sends one mutation statement for `call` (checked right before it leaves), retrying what is safe to repeat. */
  private async send(call: GuardedCall, m: Mutation): Promise<MutationRow | undefined> {
    const bind = [m.userId, this.clock(), this.policy.resetPeriodMs, this.policy.guestAllowance, this.policy.registeredAllowance, m.forceReset, ...m.values];
    const rows = await retryTransient(() => pooledQuery<MutationRow>(this.sequelize, m.sql, bind, call.assertLive), {
      // A clash on an idempotency key means a concurrent twin committed first: the repeat replays.
      alsoRetry: isIdempotencyClash,
      connectionErrors: m.repeatable,
    });
    return this.emitReset(rows[0]);
  }

  /**
   * Sends the charges of one turn: the first charge of each user together in one statement
   * (CHARGE_MANY), any further charge of the same user on its own, as before (one statement
   * cannot change a row twice). Each caller is released as soon as the statement holding its own
   * charge is done, never held for another's. A charge whose request was already answered 503 is
   * not sent (guardedBatcher leaves it out); one whose statement was under way when its request
   * was answered 503 may still commit, and then its hold, which nobody settles, is refunded by
   * the sweep. Every charge carries an idempotency key, so a repeat after a dropped connection or
   * a clash with a concurrent twin replays instead of charging twice. If the shared statement
   * fails for a reason of its own (not the database's availability), each charge is tried on its
   * own, so one bad charge cannot fail the others.
   */
  private async runCharges(
    charges: readonly GuardedItem<PendingCharge>[],
    settle: (index: number, result: MutationRow | undefined | Error) => void,
  ): Promise<void> {
    const firsts: number[] = [];
    const repeats: number[] = [];
    const users = new Set<string>();
    charges.forEach((c, i) => {
      if (users.has(c.item.userId)) repeats.push(i);
      else {
        users.add(c.item.userId);
        firsts.push(i);
      }
    });
    const alone = (indexes: number[]) =>
      Promise.all(indexes.map(async (i) => settle(i, await this.chargeOne(charges[i]!).catch((err: unknown) => err as Error))));
    // A user's further charges run after the shared statement (they need its row lock), each
    // releasing its caller when done.
    if (firsts.length === 1) await alone(firsts);
    else if (firsts.length > 1) {
      const batch = firsts.map((i) => charges[i]!);
      try {
        const bind = [
          batch.map((c) => c.item.userId),
          this.clock(),
          this.policy.resetPeriodMs,
          this.policy.guestAllowance,
          this.policy.registeredAllowance,
          batch.map((c) => c.item.cost),
          batch.map((c) => c.item.description),
          batch.map((c) => c.item.key),
          batch.map((c) => c.item.holdMs),
        ];
        // Checked again once a connection is in hand: a request answered 503 meanwhile sends the
        // batch back to one statement per charge, where its own charge is refused.
        const rows = await retryTransient(() => pooledQuery<MutationRow>(this.sequelize, CHARGE_MANY_SQL, bind, () => assertAllLive(batch)), {
          alsoRetry: isIdempotencyClash,
          connectionErrors: true,
        });
        const byUser = new Map(rows.map((r) => [r.user_id, r]));
        for (const i of firsts) settle(i, this.emitReset(byUser.get(charges[i]!.item.userId)));
      } catch (err) {
        if (isDatabaseUnavailable(err)) for (const i of firsts) settle(i, err as Error);
        else await alone(firsts);
      }
    }
    await alone(repeats);
  }

  /**
   * Sends the settles of one turn as one statement. A settle whose request was already answered
   * 503 is not sent (its hold is left to the sweep); the statement is checked again once a
   * connection is in hand, and resent without a settle whose request was answered meanwhile.
   */
  private async runSettles(
    settles: readonly GuardedItem<{ userId: string; chargeId: string }>[],
    done: (index: number, result: SettleResult | Error) => void,
  ): Promise<void> {
    await sendWhileLive(settles, settles.map((_, i) => i), done, async (batch, beforeSend) => {
      const bind = [batch.map((s) => s.item.chargeId), batch.map((s) => s.item.userId), this.clock()];
      const rows = await retryTransient(() => pooledQuery<{ debit_id: string; settled: boolean; state: HoldState | null }>(this.sequelize, SETTLE_MANY_SQL, bind, beforeSend), {
        connectionErrors: true,
      });
      const byId = new Map(rows.map((r) => [r.debit_id, r]));
      return batch.map((s) => settleResultOf(byId.get(s.item.chargeId)));
    });
  }

  /** One charge in its own statement, checked against its request's call right before it leaves. */
  private chargeOne({ item: c, call }: GuardedItem<PendingCharge>): Promise<MutationRow | undefined> {
    return this.send(call, { sql: CHARGE_SQL, userId: c.userId, forceReset: false, values: [c.cost, c.description, c.key, c.holdMs], repeatable: true });
  }

  private emitReset(row: MutationRow | undefined): MutationRow | undefined {
    if (row?.resetting) this.grants.emit({ isGuest: row.is_guest, amount: row.avail0 - row.available_credits, reason: 'reset' });
    return row;
  }
}
