import type { QueryCacheService } from '../cache/query-cache.service.js';
import type { ConsentService } from '../consent/consent.service.js';
import type { ConversationService } from '../conversations/conversation.service.js';
import { SWEEP_BATCH, type CreditService } from '../credits/credit.service.js';
import type { IdempotencyStore } from '../idempotency/idempotency.store.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { RateLimitStore } from '../rate-limit/rate-limit.store.js';
import type { JobLock } from './job-lock.js';

export interface CleanupReport {
  expiredCacheEntriesDeleted: number;
  transactionsDeleted: number;
  expiredHoldsRefunded: number;
}

export interface MaintenanceDeps {
  credits: CreditService;
  cache: QueryCacheService;
  idempotency: IdempotencyStore;
  rateLimits: RateLimitStore;
  /** Expired conversations are deleted with the rest (where the store does not expire them itself). */
  conversations?: Pick<ConversationService, 'cleanupExpired'>;
  lock: JobLock;
  logger: Logger;
  /** Counts the credits the sweep gives back. */
  metrics?: Metrics;
  /** With both set, guest accounts idle for `guestTtlDays` are deleted with their consent. */
  consents?: ConsentService;
  guestTtlDays?: number;
  now?: () => Date;
}

const DAY_MS = 86_400_000;
/** Past a guest token's lifetime, a little longer for clock skew and tokens remembered as verified. */
const GUEST_DELETE_GRACE_MS = 3_600_000;
/** Idle guest accounts deleted per statement. */
const GUESTS_PER_BATCH = 500;

/**
 * Retention: expired cache entries, ledger entries past the retention period (folded into one
 * carryover entry per user, so "available = sum of ledger" keeps holding), expired idempotency
 * records and finished rate-limit windows. Every deletion is batched by the repositories, and
 * the whole run holds a lock so one process at a time does it.
 */
export class MaintenanceService {
  private readonly now: () => Date;

  constructor(private readonly deps: MaintenanceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Operator cleanup: waits for a running one to finish, then runs. */
  cleanup(transactionsOlderThanDays: number): Promise<CleanupReport> {
    return this.deps.lock.run(() => this.runOnce(transactionsOlderThanDays));
  }

  /** Scheduled cleanup: skipped (resolves undefined) when another process is running it. */
  async scheduledCleanup(transactionsOlderThanDays: number): Promise<CleanupReport | undefined> {
    let report: CleanupReport | undefined;
    await this.deps.lock.tryRun(async () => {
      report = await this.runOnce(transactionsOlderThanDays);
    });
    return report;
  }

  /**
   * Refunds held charges past CHARGE_HOLD_SECONDS (a process died, the database went away
   * between charge and answer, a reply never reached the server). Any process may run it at any
   * time: each hold is refunded exactly once, whoever sweeps. Resolves how many it refunded.
   */
  async sweepHolds(): Promise<number> {
    const { credits, metrics, logger } = this.deps;
    let refunded = 0;
    for (;;) {
      const swept = await credits.refundExpiredHolds(SWEEP_BATCH);
      for (const hold of swept) {
        metrics?.creditsRefunded.inc({ user_kind: hold.userId.startsWith('guest_') ? 'guest' : 'registered' }, hold.amount);
      }
      refunded += swept.length;
      if (swept.length > 0) logger.info({ event: 'holds_refunded', holds: swept.length }, 'refunded held charges whose answer was never recorded');
      if (swept.length < SWEEP_BATCH) return refunded;
    }
  }

  private async runOnce(transactionsOlderThanDays: number): Promise<CleanupReport> {
    const { credits, cache, idempotency, rateLimits, logger } = this.deps;
    const now = this.now();
    const expiredHoldsRefunded = await this.sweepHolds();
    // The cache is an optimisation: a cache outage must not stop the ledger's retention.
    const expiredCacheEntriesDeleted = await cache.cleanupExpired().catch((err: unknown) => {
      logger.warn({ err }, 'cache cleanup skipped: the cache store did not answer');
      return 0;
    });
    const transactionsDeleted = await credits.cleanupTransactions(new Date(now.getTime() - transactionsOlderThanDays * DAY_MS));
    const idempotencyKeysDeleted = await idempotency.cleanupExpired();
    const rateLimitWindowsDeleted = await rateLimits.deleteExpired(now);
    const guestAccountsDeleted = await this.deleteIdleGuests(now);
    // Like the cache, conversations are an aid: their store being down must not stop the rest.
    const expiredConversationsDeleted = await (this.deps.conversations?.cleanupExpired() ?? Promise.resolve(0)).catch((err: unknown) => {
      logger.warn({ err }, 'conversation cleanup skipped: the conversation store did not answer');
      return 0;
    });
    logger.info(
      {
        event: 'cleanup',
        expiredCacheEntriesDeleted,
        transactionsDeleted,
        expiredHoldsRefunded,
        idempotencyKeysDeleted,
        rateLimitWindowsDeleted,
        guestAccountsDeleted,
        expiredConversationsDeleted,
      },
      'cleanup finished',
    );
    return { expiredCacheEntriesDeleted, transactionsDeleted, expiredHoldsRefunded };
  }

  /**
   * Deletes guest accounts that no change has touched for GUEST_SESSION_TTL_DAYS (plus an hour),
   * with their ledger and consent. A guest token lives GUEST_SESSION_TTL_DAYS from before its
   * account was made, so no token that could still reach such an account exists. The choice
   * rests on the account row alone: anything still open on an account (a charge being answered,
   * a refund) touches that row, so such an account is never picked. Consent goes first: a run
   * cut short leaves an account without consent (deleted next run), never a consent without
   * an account. Other users' rows and ledgers are untouched.
   */
  async deleteIdleGuests(now: Date = this.now()): Promise<number> {
    const { credits, consents, guestTtlDays } = this.deps;
    if (!consents || guestTtlDays === undefined) return 0;
    const idleSince = new Date(now.getTime() - guestTtlDays * DAY_MS - GUEST_DELETE_GRACE_MS);
    let deleted = 0;
    for (;;) {
      const userIds = await credits.idleGuests(idleSince, GUESTS_PER_BATCH);
      if (userIds.length === 0) return deleted;
      await consents.forget(userIds);
      deleted += await credits.deleteIdleGuests(userIds, idleSince);
      if (userIds.length < GUESTS_PER_BATCH) return deleted;
    }
  }
}

/**
 * Runs the scheduled cleanup every `intervalMinutes` (0 = never). Several processes may run the
 * schedule; the lock lets one of them do each run. Failures are logged, never thrown.
 */
export function scheduleCleanup(service: MaintenanceService, options: { intervalMinutes: number; retentionDays: number; logger: Logger }): () => Promise<void> {
  if (options.intervalMinutes <= 0) return async () => {};
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = service.scheduledCleanup(options.retentionDays).catch((err: unknown) => {
      options.logger.error({ err }, 'scheduled cleanup failed; it runs again at the next interval');
    });
  }, options.intervalMinutes * 60_000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/**
 * Sweeps for expired holds every `sweepSeconds` (0 = never: the cleanup route still does). Every
 * process runs it; the holds' own state makes each refund happen once. Failures (the database is
 * down) are logged and the next sweep tries again: nothing waits in memory.
 */
export function scheduleHoldSweep(service: MaintenanceService, options: { sweepSeconds: number; logger: Logger }): () => Promise<void> {
  if (options.sweepSeconds <= 0) return async () => {};
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return; // the previous sweep is still at work
    running = service
      .sweepHolds()
      .catch((err: unknown) => {
        options.logger.warn({ err }, 'hold sweep failed; it runs again at the next interval');
      })
      .finally(() => (running = undefined));
  }, options.sweepSeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
