/**
 * Fixed-window counters, shared by every API process that shares the backend (PostgreSQL), or
 * by one process (memory, under STORAGE_BACKEND=memory). Windows are aligned to the Unix epoch:
 * a window of W seconds starting at floor(now / W) * W.
 *
 * Rules every backend keeps:
 * - `hit` counts one event for `key` in the current window and resolves the count including
 *   this one, and when the window ends; concurrent hits are each counted exactly once.
 * - A new window starts from 1; counts of different keys never mix.
 * - `deleteExpired(before)` removes counters whose window ended before `before` and resolves
 *   how many it removed; it never changes a live window's count.
 */
export interface RateLimitStore {
  hit(key: string, windowSeconds: number): Promise<RateLimitHit>;
  deleteExpired(before: Date): Promise<number>;
}

export interface RateLimitHit {
  /** Events counted in this window, this one included. */
  count: number;
  resetsAt: Date;
}

export function windowOf(now: Date, windowSeconds: number): { start: Date; end: Date } {
  const ms = windowSeconds * 1000;
  const start = Math.floor(now.getTime() / ms) * ms;
  return { start: new Date(start), end: new Date(start + ms) };
}
