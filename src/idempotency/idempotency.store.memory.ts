import type { SettleResult } from '../credits/credit.repository.js';
import type { BeginParams, BeginResult, IdempotencyStore, StoredResponse } from './idempotency.store.js';

/** Settles a hold at once, without a turn of the event loop (the memory credit repository). */
export interface HoldSettler {
  settleNow(userId: string, chargeId: string): SettleResult;
}

interface Entry {
  requestHash: string;
  status: 'in_progress' | 'completed';
  response: StoredResponse | undefined;
  attempt: string;
  chargeToken: string;
  lockedUntil: number;
  expiresAt: number;
}

/**
 * Idempotency records in process memory (STORAGE_BACKEND=memory: one process). Every operation
 * runs to its end without awaiting, so recording an answer and settling its hold is one step.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => Date = () => new Date(),
    private readonly holds?: HoldSettler,
  ) {}

  private id(userId: string, key: string): string {
    return `${userId}\u0000${key}`;
  }

  async begin(p: BeginParams): Promise<BeginResult> {
    const now = this.now().getTime();
    const id = this.id(p.userId, p.key);
    const existing = this.entries.get(id);
    const takeOver =
      !existing ||
      existing.expiresAt <= now ||
      (existing.status === 'in_progress' && existing.lockedUntil <= now && existing.requestHash === p.requestHash);
    if (takeOver) {
      const fresh = !existing || existing.expiresAt <= now;
      const chargeToken = fresh ? p.attempt : existing.chargeToken;
      this.entries.set(id, {
        chargeToken,
        requestHash: p.requestHash,
        status: 'in_progress',
        response: undefined,
        attempt: p.attempt,
        lockedUntil: now + p.leaseMs,
        expiresAt: now + p.ttlMs,
      });
      return { state: 'started', chargeToken };
    }
    if (existing.requestHash !== p.requestHash) return { state: 'conflict' };
    if (existing.status === 'completed') return { state: 'completed', response: structuredClone(existing.response!) };
    return { state: 'in_progress' };
  }

  async complete(userId: string, key: string, attempt: string, response: StoredResponse, holdId?: string | null): Promise<boolean> {
    const entry = this.mine(userId, key, attempt);
    if (!entry) return false;
    if (holdId) {
      if (!this.holds) throw new Error('this idempotency store settles no holds');
      if (this.holds.settleNow(userId, holdId) !== 'settled') return false;
    }
    entry.status = 'completed';
    entry.response = structuredClone(response);
    return true;
  }

  async release(userId: string, key: string, attempt: string): Promise<void> {
    const entry = this.mine(userId, key, attempt);
    if (entry) entry.lockedUntil = this.now().getTime();
  }

  async renewChargeToken(userId: string, key: string, attempt: string): Promise<string | undefined> {
    const entry = this.mine(userId, key, attempt);
    if (!entry) return undefined;
    entry.chargeToken = attempt;
    return attempt;
  }

  /** The record while it is this attempt's and in progress. */
  private mine(userId: string, key: string, attempt: string): Entry | undefined {
    const entry = this.entries.get(this.id(userId, key));
    return entry && entry.attempt === attempt && entry.status === 'in_progress' ? entry : undefined;
  }

  async abandon(userId: string, key: string, attempt: string): Promise<void> {
    const id = this.id(userId, key);
    const entry = this.entries.get(id);
    if (entry && entry.attempt === attempt && entry.status === 'in_progress') this.entries.delete(id);
  }

  /** In memory there is no statement to bound: every expired record goes at once. */
  async cleanupExpired(): Promise<number> {
    const now = this.now().getTime();
    let deleted = 0;
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.entries.delete(id);
        deleted++;
      }
    }
    return deleted;
  }
}
