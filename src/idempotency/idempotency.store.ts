/**
 * Where Idempotency-Key records live. Every backend keeps these rules:
 * - A key belongs to one user: the same key from two users is two records.
 * - `begin` is atomic: of any number of concurrent callers with one (user, key), exactly one
 *   gets `started`; the others see `in_progress`, `completed` or `conflict`.
 * - A record whose request hash differs from the caller's is a `conflict`, whatever its state.
 * - A completed record is replayed until it expires (`ttlMs` after it began); an expired one is
 *   treated as absent (a new attempt starts).
 * - An in-progress record holds a lease (`leaseMs`): when the lease has run out (its attempt
 *   crashed), the next `begin` with the same body takes it over as `started`, keeping its
 *   `chargeToken`; a new or expired record gets the caller's `attempt` as its token.
 * - `abandon` removes an in-progress record (a failed attempt is not kept); `complete` stores
 *   the outcome. Neither touches a record that another attempt has since taken over.
 * - `complete` with a hold records the outcome and settles the hold as one step: both or neither.
 *   It resolves false, changing nothing, when the hold is no longer open (a sweep refunded it) or
 *   the record is no longer this attempt's.
 * - `complete` told a cache key (see CompleteOptions) replays exactly the same outcome as without
 *   it, whatever becomes of that cache entry meanwhile; only what is stored may differ.
 * - `release` ends an in-progress record's lease now, keeping its charge token, so a retry takes
 *   it over at once and adopts the attempt's charge (for a failure after which that charge may
 *   stand). `renewChargeToken` gives this attempt's record a new charge token (= the attempt), for
 *   a taken-over record whose old charge can no longer be adopted.
 * - A user keeps at most `maxKeysPerUser` live (unexpired) records: when a new record would take
 *   them past it, the user's oldest completed records are dropped first (a dropped key is then
 *   like one never used). An in-progress record is never dropped, so while more than the cap
 *   are in progress at once (bounded by the query rate limit and the lease) a user holds more.
 */
export interface IdempotencyStore {
  begin(params: BeginParams): Promise<BeginResult>;
  complete(userId: string, key: string, attempt: string, response: StoredResponse, holdId?: string | null, options?: CompleteOptions): Promise<boolean>;
  abandon(userId: string, key: string, attempt: string): Promise<void>;
  release(userId: string, key: string, attempt: string): Promise<void>;
  /** Resolves the new token, or undefined when the record is no longer this attempt's. */
  renewChargeToken(userId: string, key: string, attempt: string): Promise<string | undefined>;
  /** Deletes expired records, at most `batchSize` per statement; resolves how many went. */
  cleanupExpired(batchSize?: number): Promise<number>;
}

/** IDEMPOTENCY_MAX_KEYS_PER_USER's default. */
export const DEFAULT_MAX_KEYS_PER_USER = 1000;

export interface IdempotencyStoreOptions {
  /** Live records kept per user (IDEMPOTENCY_MAX_KEYS_PER_USER); default 1000. */
  maxKeysPerUser?: number;
  /**
   * PostgreSQL only: the query cache is the `query_cache` table of the same database
   * (CACHE_BACKEND=postgres), so a record may refer to its rows (see CompleteOptions).
   */
  referToCache?: boolean;
}

export interface CompleteOptions {
  /**
   * The query-cache key of the entry the response's answer was read from or written to. A store
   * whose records sit beside that cache (PostgreSQL with CACHE_BACKEND=postgres) keeps, for the
   * top-level fields of the response that the entry holds exactly at completion, a reference to
   * the entry instead of a copy; the database keeps what is referred to for the record's life
   * (docs/adr/0011). Every other store keeps a copy.
   */
  cacheKey?: string | undefined;
}

export interface BeginParams {
  userId: string;
  key: string;
  requestHash: string;
  /** Identifies this attempt (a random id), so a taken-over record is not completed by a stale one. */
  attempt: string;
  ttlMs: number;
  leaseMs: number;
}

export type BeginResult =
  /**
   * `chargeToken` names the charge of this record: new for a new (or expired) record, kept when a
   * crashed attempt is taken over, so the retry's charge replays the crashed attempt's charge
   * instead of charging twice.
   */
  | { state: 'started'; chargeToken: string }
  | { state: 'in_progress' }
  | { state: 'conflict' }
  | { state: 'completed'; response: StoredResponse };

/** The outcome of a completed request, as replayed. Opaque JSON to the store. */
export type StoredResponse = Record<string, unknown>;
