import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Consent, ConsentRepository } from '../../src/consent/consent.repository.js';
import { InvalidCursorError } from '../../src/platform/cursor.js';
import { TestClock } from './clock.js';

export interface ConsentRepositoryHarness {
  repo: ConsentRepository;
  dispose(): Promise<void>;
}

/** The rules of `ConsentRepository` (src/consent/consent.repository.ts), run against every backend. Storage starts empty. */
export function consentRepositoryContract(name: string, make: (clock: TestClock) => Promise<ConsentRepositoryHarness>): void {
  describe(`${name} consent repository`, () => {
    let clock: TestClock;
    let h: ConsentRepositoryHarness;
    let repo: ConsentRepository;
    const user = () => `user-${randomUUID()}`;
    beforeEach(async () => {
      clock = new TestClock();
      h = await make(clock);
      repo = h.repo;
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('deletes the records of the users named, and only those', async () => {
      const [a, b, c] = [user(), user(), user()];
      for (const u of [a, b, c]) await repo.record(u, { termsAccepted: true, marketingConsent: false });
      expect(await repo.deleteMany([a, b, user()])).toBe(2);
      await expect(repo.get(a)).resolves.toBeUndefined();
      await expect(repo.get(b)).resolves.toBeUndefined();
      expect((await repo.get(c))?.termsAccepted).toBe(true);
      expect(await repo.deleteMany([])).toBe(0);
    });

    it('resolves undefined for a user who never recorded consent', async () => {
      await expect(repo.get(user())).resolves.toBeUndefined();
    });

    it('records consent, keeps when it was first recorded and moves updatedAt only on a change', async () => {
      const u = user();
      const first = clock.now();
      expect(await repo.record(u, { termsAccepted: true, marketingConsent: false })).toEqual({
        userId: u,
        termsAccepted: true,
        marketingConsent: false,
        recordedAt: first,
        updatedAt: first,
      });
      clock.advance(1000);
      expect(await repo.record(u, { termsAccepted: true, marketingConsent: false })).toMatchObject({ recordedAt: first, updatedAt: first });
      clock.advance(1000);
      const changed = await repo.record(u, { termsAccepted: true, marketingConsent: true });
      expect(changed).toMatchObject({ marketingConsent: true, recordedAt: first, updatedAt: clock.now() });
      expect(await repo.get(u)).toEqual(changed);
    });

    it('leaves exactly one record under concurrent writes', async () => {
      const u = user();
      await Promise.all([...Array(10)].map((_, i) => repo.record(u, { termsAccepted: true, marketingConsent: i % 2 === 0 })));
      const page = await repo.list({ limit: 100 });
      expect(page.items.filter((c) => c.userId === u)).toHaveLength(1);
    });

    it('lists newest first, filters by marketing consent and pages stably while records arrive and change', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const u = `user-${i}`;
        ids.push(u);
        await repo.record(u, { termsAccepted: true, marketingConsent: i % 2 === 0 });
        if (i % 2 === 1) clock.advance(10); // some share an instant
      }
      const all: Consent[] = [];
      let cursor: string | undefined;
      const page1 = await repo.list({ limit: 3 });
      expect(page1.items.map((c) => c.userId)).toEqual(['user-6', 'user-5', 'user-4']);
      // Arrivals and changes meanwhile never shift the next pages.
      await repo.record('user-new', { termsAccepted: true, marketingConsent: true });
      await repo.record('user-2', { termsAccepted: true, marketingConsent: true });
      all.push(...page1.items);
      cursor = page1.nextCursor ?? undefined;
      while (cursor) {
        const page = await repo.list({ limit: 3, cursor });
        all.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      }
      expect(all.map((c) => c.userId)).toEqual(['user-6', 'user-5', 'user-4', 'user-3', 'user-2', 'user-1', 'user-0']);
      const marketing = await repo.list({ limit: 100, marketingConsent: true });
      expect(marketing.items.map((c) => c.userId)).toEqual(['user-new', 'user-6', 'user-4', 'user-2', 'user-0']);
      const none = await repo.list({ limit: 100, marketingConsent: false });
      expect(none.items.map((c) => c.userId)).toEqual(['user-5', 'user-3', 'user-1']);
    });

    it('pages through user ids holding quotes and backslashes like any other (the cursor carries them)', async () => {
      const ids = [`o'neil`, `back\\slash`, `quote"d`, `semi';--`];
      for (const u of ids) await repo.record(u, { termsAccepted: true, marketingConsent: false }); // one instant
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await repo.list({ limit: 1, cursor });
        seen.push(...page.items.map((c) => c.userId));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual([...ids].sort().reverse());
    });

    it('refuses a cursor it did not make', async () => {
      await expect(repo.list({ limit: 5, cursor: 'garbage!' })).rejects.toBeInstanceOf(InvalidCursorError);
      await expect(repo.list({ limit: 5, cursor: Buffer.from('[1,2]').toString('base64url') })).rejects.toBeInstanceOf(InvalidCursorError);
    });
  });
}
