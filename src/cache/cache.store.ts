/**
 * Where the query cache keeps its entries. Every backend (memory, PostgreSQL, Redis, none) keeps
 * the rules below; one contract suite (test/contracts/cache-store.contract.ts) proves them on each.
 *
 * - Keys are the fixed-length hashes of cache-key.ts; values are JSON values.
 * - `get` resolves `undefined` on a miss and never throws for one; an expired entry is a miss,
 *   whether or not it was cleaned up yet.
 * - `get` returns a value deep-equal to what was set (unicode, nested objects, numbers as
 *   JSON.stringify writes them). Object key order is not part of the value (PostgreSQL's
 *   jsonb reorders keys). Callers must not mutate what `get` returns (the memory backend
 *   returns its own frozen copy).
 * - `set` overwrites (the last write wins, including its TTL); concurrent sets of one key leave
 *   exactly one of the written values.
 * - Every method rejects when the backend cannot answer (down, timing out); the query cache
 *   service turns that into a miss or a skipped write. Backends fail fast rather than queue.
 * - `clear` empties this cache only (Redis: the keys under its prefix, never the database).
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface CacheStore {
  /** `memory`, `postgres`, `redis` or `none`. */
  readonly backend: 'memory' | 'postgres' | 'redis' | 'none';
  get(key: string): Promise<JsonValue | undefined>;
  /** In-process stores only: `get` without a promise, same rules (the service's fast path). */
  getSync?(key: string): JsonValue | undefined;
  /** Stores `value` for `ttlSeconds` (a positive whole number). */
  set(key: string, value: JsonValue, ttlSeconds: number): Promise<void>;
  clear(): Promise<void>;
  /** Deletes expired entries; resolves how many were deleted (0 where the backend expires them itself). */
  cleanupExpired(): Promise<number>;
  /** Live entries, or null where counting them is costly. */
  countEntries(): Promise<number | null>;
  /** Resolves when the backend answers (readiness). */
  ping(): Promise<void>;
  /** Releases connections and timers the store owns. */
  close(): Promise<void>;
}
