import { MEMORY_RATE_LIMIT_MAX_KEYS } from '../platform/memory-bounds.js';
import { windowOf, type RateLimitHit, type RateLimitStore } from './rate-limit.store.js';

/**
 * In-process counters: correct for one process only (STORAGE_BACKEND=memory). At most
 * `maxKeys` (MEMORY_RATE_LIMIT_MAX_KEYS) counters: a new key that would go past it first drops
 * the finished windows, then, if still full, the counter that was started first.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly counters = new Map<string, { start: number; end: number; count: number }>();
  private sweptAt = -Infinity;

  constructor(
    private readonly now: () => Date = () => new Date(),
    private readonly maxKeys: number = MEMORY_RATE_LIMIT_MAX_KEYS,
  ) {}

  /** Counters kept now. */
  get size(): number {
    return this.counters.size;
  }

  async hit(key: string, windowSeconds: number): Promise<RateLimitHit> {
    const now = this.now();
    const { start, end } = windowOf(now, windowSeconds);
    const current = this.counters.get(key);
    if (current && current.start >= start.getTime()) {
      current.count += 1;
      return { count: current.count, resetsAt: new Date(current.end) };
    }
    // A restarted window goes to the end of the insertion order, as a new key does.
    this.counters.delete(key);
    if (this.counters.size >= this.maxKeys) this.makeRoom(now.getTime());
    this.counters.set(key, { start: start.getTime(), end: end.getTime(), count: 1 });
    return { count: 1, resetsAt: end };
  }

  async deleteExpired(before: Date): Promise<number> {
    let deleted = 0;
    for (const [key, counter] of this.counters) {
      if (counter.end < before.getTime()) {
        this.counters.delete(key);
        deleted++;
      }
    }
    return deleted;
  }

  /**
   * Drops finished windows (a full scan, at most once a second, so a flood of new keys costs no
   * scan per request); when that freed nothing, the counter started first (Map order).
   */
  private makeRoom(now: number): void {
    if (now - this.sweptAt >= 1000) {
      this.sweptAt = now;
      for (const [key, counter] of this.counters) if (counter.end <= now) this.counters.delete(key);
      if (this.counters.size < this.maxKeys) return;
    }
    const oldest = this.counters.keys().next();
    if (!oldest.done) this.counters.delete(oldest.value);
  }
}
