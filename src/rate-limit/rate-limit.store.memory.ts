import { windowOf, type RateLimitHit, type RateLimitStore } from './rate-limit.store.js';

/** In-process counters: correct for one process only (STORAGE_BACKEND=memory). */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly counters = new Map<string, { start: number; end: number; count: number }>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  async hit(key: string, windowSeconds: number): Promise<RateLimitHit> {
    const { start, end } = windowOf(this.now(), windowSeconds);
    const current = this.counters.get(key);
    if (current && current.start >= start.getTime()) {
      current.count += 1;
      return { count: current.count, resetsAt: new Date(current.end) };
    }
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
}
