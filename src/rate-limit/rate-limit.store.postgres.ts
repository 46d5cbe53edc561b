import { Op, QueryTypes, type Sequelize } from 'sequelize';
import { guardedOptions, type StorageGuard } from '../platform/storage-guard.js';
import { retryTransient } from '../platform/transient-retry.js';
import { rateLimitModel } from './rate-limit.models.js';
import { windowOf, type RateLimitHit, type RateLimitStore } from './rate-limit.store.js';

/**
 * How an insert into `rate_limit_counters AS c` of (key, window_start, window_end, count) hits
 * counters that exist: `count` hits are added in the stored window, a newer window starts over
 * from them, and a hit from an older window (a process whose clock lags) is counted in the
 * stored, newer one. Shared by the store (one hit) and the query gate (a batch's hits per counter).
 */
export const COUNT_HITS = `ON CONFLICT (key) DO UPDATE SET
  count        = CASE WHEN EXCLUDED.window_start > c.window_start THEN EXCLUDED.count ELSE c.count + EXCLUDED.count END,
  window_start = GREATEST(c.window_start, EXCLUDED.window_start),
  window_end   = GREATEST(c.window_end, EXCLUDED.window_end)`;

/**
 * Counters in `rate_limit_counters`, one row per key holding its current window. One upsert per
 * hit: the row lock of ON CONFLICT serialises concurrent hits, so every process sees one count.
 * A hit from a process whose clock lags (an older window) is counted in the stored, newer window.
 * Its commits wait for the WAL flush: the guest-session limits count here, and a forgotten count
 * would let a crash hand out more guest allowances than the limit.
 */
export class PostgresRateLimitStore implements RateLimitStore {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly guard: StorageGuard,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async hit(key: string, windowSeconds: number): Promise<RateLimitHit> {
    const { start, end } = windowOf(this.now(), windowSeconds);
    const rows = await this.guard.run('rateLimit.hit', (call) =>
      retryTransient(() =>
        this.sequelize.query<{ count: number; window_end: Date }>(
          `INSERT INTO rate_limit_counters AS c (key, window_start, window_end, count)
           VALUES ($1, $2, $3, 1)
           ${COUNT_HITS}
           RETURNING count, window_end`,
          guardedOptions(call, { bind: [key, start, end], type: QueryTypes.SELECT }),
        ),
      ),
    );
    return { count: rows[0].count, resetsAt: rows[0].window_end };
  }

  deleteExpired(before: Date): Promise<number> {
    return this.guard.run('rateLimit.deleteExpired', (call) =>
      rateLimitModel(this.sequelize).destroy(guardedOptions(call, { where: { windowEnd: { [Op.lt]: before } } })),
    );
  }
}
