import { fn, Op, type FindOptions, type Model, type ModelStatic, type WhereOptions } from 'sequelize';
import { guardedOptions, type GuardedCall } from './storage-guard.js';

const LIVE: GuardedCall = { assertLive: () => {} };

export interface ExpiryCleanupOptions {
  /** Rows deleted per transaction at most: short transactions, short locks. */
  batchSize: number;
  /** The clock a row is expired by; unset = the database's `now()` (one clock for every process). */
  now?: () => Date;
  /** A further condition on the rows to delete (e.g. rows nothing refers to any more). */
  where?: WhereOptions;
  /** Runs each batch (the storage guard, whose call each statement carries); unset = unguarded. */
  run?: <T>(batch: (call: GuardedCall) => Promise<T>) => Promise<T>;
}

/**
 * Deletes the rows of `model` whose `expiresAt` has passed, batch after batch, and resolves how
 * many went: each batch is one transaction that locks up to `batchSize` expired rows (found
 * through the table's `expires_at` index, oldest first), skipping rows another cleanup holds,
 * and deletes them by primary key. The cleanup of every table with an `expires_at` (query cache,
 * conversations, idempotency records) is this one loop.
 */
export async function deleteExpiredRows<M extends Model>(model: ModelStatic<M>, options: ExpiryCleanupOptions): Promise<number> {
  const keys = model.primaryKeyAttributes as string[];
  const run = options.run ?? ((batch) => batch(LIVE));
  let total = 0;
  for (;;) {
    const deleted = await run((call) =>
      model.sequelize!.transaction(async (transaction) => {
        const due = { expiresAt: { [Op.lte]: options.now ? options.now() : fn('now') } } as WhereOptions;
        const expired = options.where ? ({ [Op.and]: [due, options.where] } as WhereOptions) : due;
        const doomed = await model.findAll(
          guardedOptions<FindOptions>(call, { attributes: keys, where: expired, order: [['expiresAt', 'ASC']], limit: options.batchSize, lock: true, skipLocked: true, raw: true, transaction }),
        );
        if (doomed.length === 0) return 0;
        const where = (keys.length === 1 ? { [keys[0]!]: doomed.map((row) => (row as Record<string, unknown>)[keys[0]!]) } : { [Op.or]: doomed }) as WhereOptions;
        return model.destroy(guardedOptions(call, { where, transaction }));
      }),
    );
    total += deleted;
    if (deleted < options.batchSize) return total;
  }
}
