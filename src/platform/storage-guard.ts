/**
 * How repositories reach their storage: every call to PostgreSQL (or Redis) goes through a
 * guard, which applies that backend's circuit breaker and turns "the backend is unreachable,
 * timing out or its breaker is open" into `StorageUnavailableError` (503 with Retry-After).
 * Business outcomes (constraint violations mapped to domain errors) pass through untouched.
 */
export interface StorageGuard {
  /** Runs `operation` (a name for logs and metrics) under the guard. */
  run<T>(operation: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Throws when the call this runs in was already answered 503: a write about to be sent outside
   * Sequelize (which checks this in a hook) must not land after its caller was told it failed.
   */
  assertLive?(): void;
}

/** No breaker: for memory backends and for tests that exercise a repository alone. */
export const unguarded: StorageGuard = {
  run: (_operation, fn) => fn(),
};
