import {
  DEFAULT_MAX_KEYS_PER_USER,
  type BeginParams,
  type BeginResult,
  type CompleteOptions,
  type IdempotencyStore,
  type IdempotencyStoreOptions,
  type StoredResponse,
} from './idempotency.store.js';

/** Settles an open hold at once, without a turn of the event loop (the memory credit repository). */
export interface HoldSettler {
  /** True only when this call settled it. */
  settleNow(userId: string, chargeId: string): boolean;
}

interface Entry {
  requestHash: string;
  status: 'in_progress' | 'completed';
  response: StoredResponse | undefined;
  attempt: string;
  chargeToken: string;
  createdAt: number;
  lockedUntil: number;
  expiresAt: number;
}

/**
 * Idempotency records in process memory (STORAGE_BACKEND=memory: one process), per user then
 * per key. Bounded by the per-user cap (see IdempotencyStore) and by expiry. Every operation runs
 * to its end without awaiting, so recording an answer and settling its hold (in the memory credit
 * repository) is one step.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly users = new Map<string, Map<string, Entry>>();
  private readonly maxKeysPerUser: number;

  constructor(
    private readonly now: () => Date = () => new Date(),
    options: IdempotencyStoreOptions = {},
    private readonly holds?: HoldSettler,
  ) {
    this.maxKeysPerUser = options.maxKeysPerUser ?? DEFAULT_MAX_KEYS_PER_USER;
  }

  async begin(p: BeginParams): Promise<BeginResult> {
    const now = this.now().getTime();
    let records = this.users.get(p.userId);
    const existing = records?.get(p.key);
    const takeOver =
      !existing ||
      existing.expiresAt <= now ||
      (existing.status === 'in_progress' && existing.lockedUntil <= now && existing.requestHash === p.requestHash);
    if (takeOver) {
      const fresh = !existing || existing.expiresAt <= now;
      const chargeToken = fresh ? p.attempt : existing.chargeToken;
      if (!records) {
        records = new Map();
        this.users.set(p.userId, records);
      }
      records.set(p.key, {
        chargeToken,
        requestHash: p.requestHash,
        status: 'in_progress',
        response: undefined,
        attempt: p.attempt,
        createdAt: now,
        lockedUntil: now + p.leaseMs,
        expiresAt: now + p.ttlMs,
      });
      if (fresh) this.trim(records, now);
      return { state: 'started', chargeToken };
    }
    if (existing.requestHash !== p.requestHash) return { state: 'conflict' };
    if (existing.status === 'completed') return { state: 'completed', response: structuredClone(existing.response!) };
    return { state: 'in_progress' };
  }

  /** Keeps a copy of the response: a cache key (`_options`) is never referred to in memory. */
  async complete(userId: string, key: string, attempt: string, response: StoredResponse, holdId?: string | null, _options?: CompleteOptions): Promise<boolean> {
    const entry = this.mine(userId, key, attempt);
    if (!entry) return false;
    if (holdId) {
      if (!this.holds) throw new Error('this idempotency store settles no holds');
      if (!this.holds.settleNow(userId, holdId)) return false;
    }
    entry.status = 'completed';
    entry.response = structuredClone(response);
    return true;
  }

  async release(userId: string, key: string, attempt: string): Promise<void> {
    const entry = this.mine(userId, key, attempt);
    if (entry) entry.lockedUntil = Math.min(entry.lockedUntil, this.now().getTime());
  }

  async renewChargeToken(userId: string, key: string, attempt: string): Promise<string | undefined> {
    const entry = this.mine(userId, key, attempt);
    if (!entry) return undefined;
    entry.chargeToken = attempt;
    return attempt;
  }

  /** The record while it is this attempt's and in progress. */
  private mine(userId: string, key: string, attempt: string): Entry | undefined {
    const entry = this.users.get(userId)?.get(key);
    return entry && entry.attempt === attempt && entry.status === 'in_progress' ? entry : undefined;
  }

  async abandon(userId: string, key: string, attempt: string): Promise<void> {
    const records = this.users.get(userId);
    const entry = records?.get(key);
    if (records && entry && entry.attempt === attempt && entry.status === 'in_progress') {
      records.delete(key);
      if (records.size === 0) this.users.delete(userId);
    }
  }

  /** In memory there is no statement to bound: every expired record goes at once. */
  async cleanupExpired(): Promise<number> {
    const now = this.now().getTime();
    let deleted = 0;
    for (const [userId, records] of this.users) {
      for (const [key, entry] of records) {
        if (entry.expiresAt <= now) {
          records.delete(key);
          deleted++;
        }
      }
      if (records.size === 0) this.users.delete(userId);
    }
    return deleted;
  }

  /** Drops a user's expired records, then the oldest completed ones past the cap. */
  private trim(records: Map<string, Entry>, now: number): void {
    for (const [key, entry] of records) if (entry.expiresAt <= now) records.delete(key);
    let excess = records.size - this.maxKeysPerUser;
    if (excess <= 0) return;
    const completed = [...records].filter(([, e]) => e.status === 'completed').sort(([ka, a], [kb, b]) => a.createdAt - b.createdAt || (ka < kb ? -1 : 1));
    for (const [key] of completed) {
      if (excess-- <= 0) break;
      records.delete(key);
    }
  }
}
