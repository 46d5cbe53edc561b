/**
 * Bounded retries with exponential backoff for PostgreSQL errors that say "nothing happened,
 * try again": serialization failure (40001), deadlock (40P01) and a connection dropped mid-way.
 * Only statements that are safe to repeat go through here (a single-statement transaction that
 * rolled back, or one whose idempotency key makes a second run a replay).
 */

const TRANSIENT_SQLSTATES = new Set(['40001', '40P01']);
const CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', '57P01', '08006', '08003', '08000']);

/** The driver error under Sequelize's wrapper (`parent`/`original`), or the error itself. */
export function driverError(err: unknown): { code?: string; message?: string; constraint?: string } {
  const e = err as { parent?: unknown; original?: unknown; code?: unknown; message?: unknown; constraint?: unknown } | null;
  const inner = (e?.parent ?? e?.original ?? e) as { code?: unknown; message?: unknown; constraint?: unknown } | null;
  return {
    code: typeof inner?.code === 'string' ? inner.code : undefined,
    message: typeof inner?.message === 'string' ? inner.message : undefined,
    constraint: typeof inner?.constraint === 'string' ? inner.constraint : undefined,
  };
}

/** Serialization failure or deadlock: the transaction rolled back, a repeat is always safe. */
export function isRolledBack(err: unknown): boolean {
  const { code } = driverError(err);
  return !!code && TRANSIENT_SQLSTATES.has(code);
}

/** The connection dropped: the statement may or may not have committed. */
export function isConnectionLost(err: unknown): boolean {
  const { code, message } = driverError(err);
  if (code && CONNECTION_CODES.has(code)) return true;
  return !!message && /Connection terminated unexpectedly|connection reset/i.test(message);
}

export function isTransient(err: unknown): boolean {
  return isRolledBack(err) || isConnectionLost(err);
}

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  /** Extra errors that make a repeat safe and useful (e.g. a unique violation that a re-run turns into a replay). */
  alsoRetry?: (err: unknown) => boolean;
  /**
   * Whether a dropped connection may be retried (default true). Set false for a statement whose
   * outcome is unknown when the connection drops and that is not safe to repeat.
   */
  connectionErrors?: boolean;
}

export async function retryTransient<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const retryable =
        isRolledBack(err) || ((options.connectionErrors ?? true) && isConnectionLost(err)) || (options.alsoRetry?.(err) ?? false);
      if (!retryable || attempt >= attempts) throw err;
      const delay = base * 2 ** (attempt - 1) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
