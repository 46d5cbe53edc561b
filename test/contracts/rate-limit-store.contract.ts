import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RateLimitStore } from '../../src/rate-limit/rate-limit.store.js';
import { TestClock } from './clock.js';

export interface RateLimitStoreHarness {
  store: RateLimitStore;
  dispose(): Promise<void>;
}

/** The rules of `RateLimitStore` (src/rate-limit/rate-limit.store.ts), run against every backend. */
export function rateLimitStoreContract(name: string, make: (clock: TestClock) => Promise<RateLimitStoreHarness>): void {
  describe(`${name} rate-limit store`, () => {
    let clock: TestClock;
    let h: RateLimitStoreHarness;
    const key = () => `test:${randomUUID()}`;
    beforeEach(async () => {
      clock = new TestClock('2026-03-01T10:15:00.000Z');
      h = await make(clock);
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('counts hits in a window and says when it ends', async () => {
      const k = key();
      const end = new Date('2026-03-01T11:00:00.000Z');
      expect(await h.store.hit(k, 3600)).toEqual({ count: 1, resetsAt: end });
      expect(await h.store.hit(k, 3600)).toEqual({ count: 2, resetsAt: end });
      clock.advance(44 * 60_000 + 59_999); // 10:59:59.999, still the same window
      expect(await h.store.hit(k, 3600)).toEqual({ count: 3, resetsAt: end });
    });

    it('starts a new window from 1 at the window boundary', async () => {
      const k = key();
      await h.store.hit(k, 60);
      await h.store.hit(k, 60);
      clock.advance(60_000);
      expect(await h.store.hit(k, 60)).toEqual({ count: 1, resetsAt: new Date('2026-03-01T10:17:00.000Z') });
    });

    it('keeps keys apart', async () => {
      const a = key();
      const b = key();
      await h.store.hit(a, 3600);
      await h.store.hit(a, 3600);
      expect((await h.store.hit(b, 3600)).count).toBe(1);
    });

    it('counts each of many concurrent hits exactly once', async () => {
      const k = key();
      const counts = (await Promise.all([...Array(25)].map(() => h.store.hit(k, 3600)))).map((x) => x.count);
      expect(counts.sort((x, y) => x - y)).toEqual([...Array(25)].map((_, i) => i + 1));
    });

    it('deletes only counters whose window has ended', async () => {
      const old = key();
      await h.store.hit(old, 60);
      clock.advance(10 * 60_000);
      const live = key();
      await h.store.hit(live, 60);
      expect(await h.store.deleteExpired(clock.now())).toBeGreaterThanOrEqual(1);
      expect((await h.store.hit(live, 60)).count).toBe(2);
      expect((await h.store.hit(old, 60)).count).toBe(1);
    });
  });
}
