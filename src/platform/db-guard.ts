import { ConnectionError, type Sequelize } from 'sequelize';
import type { ComponentHealth } from '../health/health.service.js';
import { BreakerOpenError, BreakerTimeoutError, type Breaker, type BreakerRegistry } from './breaker.js';
import { isAppError, StorageUnavailableError } from './errors.js';
import { GUARDED_CALL_OPTION, type GuardedCall, type GuardOptions, type StorageGuard } from './storage-guard.js';
import { driverError, isConnectionLost } from './transient-retry.js';

export const DATABASE_BREAKER = 'database';

export interface DbGuardSettings {
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  /** How long the breaker stays open before a probe (default 5 s). */
  resetTimeoutMs?: number;
}

/** SQLSTATE classes and codes that mean "the database cannot serve", not "the request is wrong". */
const UNAVAILABLE_SQLSTATES = new Set(['57014', '57P01', '57P02', '57P03', '53300', '53400']);
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND']);
const UNAVAILABLE_MESSAGES = /Query read timeout|Connection terminated|timeout expired|Connection timed out|connection timeout|Client has encountered a connection error/i;

/**
 * Whether an error (from Sequelize, pg or a socket, at any depth of its causes) says the
 * database is unreachable, hanging or refusing work; constraint violations and other answers
 * of a healthy database are not.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (e instanceof ConnectionError) return true;
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'))) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
    const next = e as { original?: unknown; parent?: unknown; cause?: unknown };
    e = next.original ?? next.parent ?? next.cause;
  }
  return false;
}

/**
 * An error PostgreSQL answered a statement with (it rolled back whole), not a lost connection nor
 * a database that cannot serve: the statement's own data was refused, and its items may go again
 * one by one (sendWhileLive's `alone`).
 */
export function isRefusedStatement(err: unknown): boolean {
  return driverError(err).code !== undefined && !isConnectionLost(err) && !isDatabaseUnavailable(err);
}

/**
 * The PostgreSQL guard of the credit and consent repositories: one breaker (`database`) and a
 * time bound per call.
 * - While the breaker is open every call fails at once with StorageUnavailableError carrying the
 *   seconds until the next probe (Retry-After), except a call marked `whileOpen` (the refund
 *   that decides a charge whose settle has an unknown outcome), which is made, bounded, and not
 *   counted.
 * - Each call answers within DB_QUERY_TIMEOUT_MS + 100 ms even when a connection hangs silently
 *   or the pool has no free connection; the statements a call had not yet sent by then are
 *   refused (each statement carries its call, see GuardedCall), so a write never lands after
 *   its caller was told 503. A COMMIT already under way may still land: Idempotency-Key
 *   retries make that safe.
 * - Driver errors that mean "unreachable / timing out" become StorageUnavailableError and count
 *   towards opening; business errors (AppError, constraint violations) pass through untouched and
 *   never count.
 */
export class DbGuard implements StorageGuard {
  readonly breaker: Breaker;
  private readonly timeoutMs: number;

  constructor(
    breakers: BreakerRegistry,
    sequelize: Sequelize,
    settings: DbGuardSettings,
  ) {
    this.timeoutMs = settings.queryTimeoutMs + 100;
    this.breaker = breakers.create(DATABASE_BREAKER, {
      timeoutMs: this.timeoutMs,
      errorThresholdPercentage: 50,
      volumeThreshold: 3,
      resetTimeoutMs: settings.resetTimeoutMs ?? 5000,
      isFailure: (err) => !isAppError(err) && isDatabaseUnavailable(err),
    });
    sequelize.addHook('beforeQuery', (options) => {
      const o = options as { completesTransaction?: boolean; [GUARDED_CALL_OPTION]?: GuardedCall };
      // ROLLBACK (and COMMIT) must still run so the connection goes back to the pool clean.
      if (!o.completesTransaction) o[GUARDED_CALL_OPTION]?.assertLive();
    });
  }

  async run<T>(_operation: string, fn: (call: GuardedCall) => Promise<T>, options?: GuardOptions): Promise<T> {
    // A call marked whileOpen is made past an open (or half-open) breaker: bounded by the same
    // time limit, with the same outage mapping, and not counted.
    const pastBreaker = options?.whileOpen === true && this.breaker.state !== 'closed';
    if (!pastBreaker && this.breaker.state === 'open') throw new StorageUnavailableError(this.breaker.secondsUntilProbe());
    let expired = false;
    const call: GuardedCall = {
      assertLive: () => {
        if (expired) throw new StorageUnavailableError(this.retryAfter());
      },
    };
    const expire = () => (expired = true);
    try {
      return await (pastBreaker ? this.withinBound(() => fn(call), expire) : this.breaker.run(() => fn(call)));
    } catch (err) {
      if (err instanceof BreakerTimeoutError) {
        expire();
        throw new StorageUnavailableError(this.retryAfter(), err);
      }
      if (err instanceof BreakerOpenError) throw new StorageUnavailableError(this.breaker.secondsUntilProbe(), err);
      if (!isAppError(err) && isDatabaseUnavailable(err)) throw new StorageUnavailableError(this.retryAfter(), err);
      throw err;
    }
  }

  /** `task` bounded as the breaker bounds a call (BreakerTimeoutError past the limit), without the breaker. */
  private async withinBound<T>(task: () => Promise<T>, onTimeout: () => void): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        onTimeout();
        reject(new BreakerTimeoutError(this.breaker.name, this.timeoutMs));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([task(), bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Readiness: `down` at once while the breaker is open; otherwise `check` (a ping) through the guard. */
  async health(check: () => Promise<unknown>): Promise<ComponentHealth> {
    if (this.breaker.state === 'open') return { status: 'down', latencyMs: null };
    const started = performance.now();
    try {
      await this.run('ping', check);
      return { status: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch {
      return { status: 'down', latencyMs: null };
    }
  }

  private retryAfter(): number {
    return this.breaker.secondsUntilProbe() || 1;
  }
}
