/**
 * How repositories reach their storage: every call to PostgreSQL (or Redis) goes through a
 * guard, which applies that backend's circuit breaker and turns "the backend is unreachable,
 * timing out or its breaker is open" into `StorageUnavailableError` (503 with Retry-After).
 * Business outcomes (constraint violations mapped to domain errors) pass through untouched.
 */
export interface StorageGuard {
  /** Runs `operation` (a name for logs and metrics) under the guard; `fn` gets the call's handle. */
  run<T>(operation: string, fn: (call: GuardedCall) => Promise<T>, options?: GuardOptions): Promise<T>;
}

export interface GuardOptions {
  /**
   * Tried even while the breaker is open (or half-open), still bounded by the guard's time limit
   * and not counted by the breaker: for the few calls that decide a money outcome, which must
   * not be refused because other calls failed a moment ago.
   */
  whileOpen?: boolean;
}

/**
 * One call under a guard. Once the guard has answered the call 503 (it ran past its bound),
 * statements the call had not yet sent must not be sent: a write must never land after its
 * caller was told it failed. `assertLive` throws then; statements pass the call along (see
 * `guardedOptions` for Sequelize, `pooledQuery`'s `beforeSend`) so it is checked right before
 * each one leaves. The call is passed explicitly rather than kept in AsyncLocalStorage, whose
 * promise hooks would tax every promise of every request.
 */
export interface GuardedCall {
  assertLive(): void;
}

const LIVE: GuardedCall = { assertLive: () => {} };

/** No breaker: for memory backends and for tests that exercise a repository alone. */
export const unguarded: StorageGuard = {
  run: (_operation, fn) => fn(LIVE),
};

/** The key under which Sequelize query options carry the call (read by the database guard's hook). */
export const GUARDED_CALL_OPTION = 'guardedCall';

/** Sequelize query options that make the database guard refuse the statement once `call` is answered. */
export function guardedOptions<O extends object>(call: GuardedCall, options: O): O {
  return Object.assign(options, { [GUARDED_CALL_OPTION]: call });
}

/**
 * A guard that only refuses while `down()` says the backend is known to be down (its breaker
 * elsewhere is open), with `error()`; it adds no time bound and counts nothing. For disposable
 * data on the database (the PostgreSQL query cache), whose calls are bounded and counted by
 * their own breaker, so that their failures never open the database's.
 */
export function failFastGuard(down: () => boolean, error: () => Error): StorageGuard {
  return {
    run: (_operation, fn) => (down() ? Promise.reject(error()) : fn(LIVE)),
  };
}
