import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CacheStore, JsonValue } from '../../src/cache/cache.store.js';
import { suiteHarness, whileUnreachable } from './harness.js';

export interface CacheStoreHarness {
  store: CacheStore;
  /** Lets `ms` pass for the store's clock: an injected clock moves, real backends sleep. */
  advance(ms: number): Promise<void>;
  /** A second store over the same backend that cannot reach it (stopped, refused, unreachable). */
  unreachable?: () => Promise<CacheStore>;
  dispose(): Promise<void>;
}

const key = () => randomUUID().replaceAll('-', '').padEnd(64, '0');

/**
 * The rules of `CacheStore` (src/cache/cache.store.ts), run against every backend. TTLs are
 * 1 s so that the real backends expire entries within a short wait.
 */
export function cacheStoreContract(name: string, make: () => Promise<CacheStoreHarness>): void {
  describe(`${name} cache store`, () => {
    const h = suiteHarness(make);

    it('resolves undefined for a key never set (a miss is not an error)', async () => {
      await expect(h.store.get(key())).resolves.toBeUndefined();
    });

    it('returns what was set (a hit)', async () => {
      const k = key();
      await h.store.set(k, { answer: 'boots', products: [{ id: 'p1', price: 89.99 }] }, 60);
      await expect(h.store.get(k)).resolves.toEqual({ answer: 'boots', products: [{ id: 'p1', price: 89.99 }] });
    });

    it('round-trips unicode, nesting and numbers exactly', async () => {
      const payload: JsonValue = {
        text: 'Wanderschuhe für Nässe — 防水 🥾 e\u0301 \u202eRTL\u202c "quotes" \\ back\nslash',
        nested: { a: [1, [2, [3, { deep: [true, false, null] }]]], empty: {}, list: [] },
        numbers: [0, -1, 42, 89.99, 0.1 + 0.2, 1e21, 1.5e-7, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 5e-324, 1.7976931348623157e308],
        plainString: '',
      };
      for (const value of [payload, 'just a string', 12.5, true, null, [1, 'two', { three: 3 }]] as JsonValue[]) {
        const k = key();
        await h.store.set(k, value, 60);
        const back = await h.store.get(k);
        expect(back).toEqual(value);
        expect(JSON.stringify(sortKeys(back))).toBe(JSON.stringify(sortKeys(value)));
      }
    });

    it('keeps the stored entry unchanged when the caller mutates its own object afterwards', async () => {
      const k = key();
      const value = { list: [1, 2] };
      await h.store.set(k, value, 60);
      value.list.push(3);
      await expect(h.store.get(k)).resolves.toEqual({ list: [1, 2] });
    });

    it('overwrites: the last write wins, with its own TTL', async () => {
      const k = key();
      await h.store.set(k, 'first', 1);
      await h.store.set(k, 'second', 60);
      await h.advance(1200);
      await expect(h.store.get(k)).resolves.toBe('second');
    });

    it('never serves an entry past its TTL', async () => {
      const k = key();
      const kept = key();
      await h.store.set(k, 'short-lived', 1);
      await h.store.set(kept, 'long-lived', 60);
      await expect(h.store.get(k)).resolves.toBe('short-lived');
      await h.advance(1200);
      await expect(h.store.get(k)).resolves.toBeUndefined();
      await expect(h.store.get(kept)).resolves.toBe('long-lived');
    });

    it('leaves exactly one of the values after concurrent sets of one key', async () => {
      const k = key();
      const values = Array.from({ length: 20 }, (_, i) => ({ writer: i, body: 'x'.repeat(i * 10) }));
      await Promise.all(values.map((v) => h.store.set(k, v, 60)));
      const back = await h.store.get(k);
      expect(values).toContainEqual(back);
    });

    it('keeps every entry of a burst of concurrent sets and gets of different keys', async () => {
      const keys = Array.from({ length: 40 }, () => key());
      await Promise.all(keys.map((k, i) => h.store.set(k, { i, text: `answer \u201c${i}\u201d \\ "quoted"` }, 60)));
      const back = await Promise.all(keys.map((k) => h.store.get(k)));
      expect(back).toEqual(keys.map((_, i) => ({ i, text: `answer \u201c${i}\u201d \\ "quoted"` })));
    });

    it('cleanupExpired deletes expired entries only and reports how many (0 where the backend expires them itself)', async () => {
      await h.store.clear();
      const live = key();
      await h.store.set(live, 'live', 60);
      for (let i = 0; i < 3; i++) await h.store.set(key(), 'doomed', 1);
      await h.advance(1200);
      const deleted = await h.store.cleanupExpired();
      expect([0, 3]).toContain(deleted);
      if (h.store.backend !== 'redis') expect(deleted).toBe(3);
      await expect(h.store.cleanupExpired()).resolves.toBe(0);
      await expect(h.store.get(live)).resolves.toBe('live');
    });

    it('counts live entries (or says null where counting is costly)', async () => {
      await h.store.clear();
      await h.store.set(key(), 1, 60);
      await h.store.set(key(), 2, 60);
      await h.store.set(key(), 3, 1);
      await h.advance(1200);
      const entries = await h.store.countEntries();
      if (entries !== null) expect(entries).toBe(2);
      else expect(h.store.backend).toBe('redis');
    });

    it('clear empties the cache', async () => {
      const a = key();
      const b = key();
      await h.store.set(a, 'a', 60);
      await h.store.set(b, 'b', 60);
      await h.store.clear();
      await expect(h.store.get(a)).resolves.toBeUndefined();
      await expect(h.store.get(b)).resolves.toBeUndefined();
      const entries = await h.store.countEntries();
      if (entries !== null) expect(entries).toBe(0);
    });

    it('answers a ping while up', async () => {
      await expect(h.store.ping()).resolves.toBeUndefined();
    });

    it('rejects (fast, without queueing) every call while its backend is unreachable', (ctx) =>
      whileUnreachable(ctx, h.unreachable, async (down) => {
        const k = key();
        await expect(down.get(k)).rejects.toBeDefined();
        await expect(down.set(k, 'x', 60)).rejects.toBeDefined();
        await expect(down.ping()).rejects.toBeDefined();
        await expect(down.clear()).rejects.toBeDefined();
      }));
  });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
