import { AsyncLocalStorage } from 'node:async_hooks';
import { ConnectionError, type Sequelize } from 'sequelize';
import type { ComponentHealth } from '../health/health.service.js';
import { BreakerOpenError, BreakerTimeoutError, type Breaker, type BreakerRegistry } from './breaker.js';
import { isAppError, StorageUnavailableError } from './errors.js';
import type { StorageGuard } from './storage-guard.js';

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

interface CallContext {
  /** Set once the guard has answered 503 for this call: its later statements must not run. */
  expired: boolean;
}

/**
 * The PostgreSQL guard of the credit and consent repositories: one breaker (`database`) and a
 * time bound per call.
 * - While the breaker is open every call fails at once with StorageUnavailableError carrying the
 *   seconds until the next probe (Retry-After).
 * - Each call answers within DB_QUERY_TIMEOUT_MS + 100 ms even when a connection hangs silently
 *   or the pool has no free connection; the statements a call had not yet sent by then are
 *   refused (a `beforeQuery` hook, or `assertLive` outside Sequelize, sees the call's expired context), so a write never lands after
 *   its caller was told 503. A COMMIT already under way may still land: Idempotency-Key
 *   retries make that safe.
 * - Driver errors that mean "unreachable / timing out" become StorageUnavailableError and count
 *   towards opening; business errors (AppError, constraint violations) pass through untouched and
 *   never count.
 */
export class DbGuard implements StorageGuard {
  readonly breaker: Breaker;
  private readonly calls = new AsyncLocalStorage<CallContext>();

  constructor(
    breakers: BreakerRegistry,
    sequelize: Sequelize,
    settings: DbGuardSettings,
  ) {
    this.breaker = breakers.create(DATABASE_BREAKER, {
      timeoutMs: settings.queryTimeoutMs + 100,
      errorThresholdPercentage: 50,
      volumeThreshold: 3,
      resetTimeoutMs: settings.resetTimeoutMs ?? 5000,
      isFailure: (err) => !isAppError(err) && isDatabaseUnavailable(err),
    });
    sequelize.addHook('beforeQuery', (options) => {
      // ROLLBACK (and COMMIT) must still run so the connection goes back to the pool clean.
      if (!(options as { completesTransaction?: boolean }).completesTransaction) this.assertLive();
    });
  }

  assertLive(): void {
    if (this.calls.getStore()?.expired) throw new StorageUnavailableError(this.breaker.secondsUntilProbe() || 1);
  }

  async run<T>(_operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.breaker.state === 'open') throw new StorageUnavailableError(this.breaker.secondsUntilProbe());
    const context: CallContext = { expired: false };
    try {
      return await this.breaker.run(() => this.calls.run(context, fn));
    } catch (err) {
      if (err instanceof BreakerTimeoutError) {
        context.expired = true;
        throw new StorageUnavailableError(this.retryAfter(), err);
      }
      if (err instanceof BreakerOpenError) throw new StorageUnavailableError(this.breaker.secondsUntilProbe(), err);
      if (!isAppError(err) && isDatabaseUnavailable(err)) throw new StorageUnavailableError(this.retryAfter(), err);
      throw err;
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
