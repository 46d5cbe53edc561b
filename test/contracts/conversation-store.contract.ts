import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConversationService, MAX_TURNS } from '../../src/conversations/conversation.service.js';
import type { ConversationStore, ConversationTurn } from '../../src/conversations/conversation.store.js';
import { AppError } from '../../src/platform/errors.js';
import { createLogger } from '../../src/platform/logger.js';
import { suiteHarness, whileUnreachable } from './harness.js';

export interface ConversationStoreHarness {
  store: ConversationStore;
  /** Another process's view of the same backend (the same store where the backend is in-process). */
  peer: ConversationStore;
  /** Lets `ms` pass for the store's clock: an injected clock moves, real backends sleep. */
  advance(ms: number): Promise<void>;
  /** A second store over the same backend that cannot reach it (refused connections). */
  unreachable?: () => Promise<ConversationStore>;
  dispose(): Promise<void>;
}

const logger = createLogger({ level: 'silent' });
const LONG = { ttlSeconds: 600, maxTurns: MAX_TURNS };
const id = () => `cv_${randomUUID().replaceAll('-', '')}`;
const user = () => `guest_${randomUUID()}`;

function turn(n: number, extra: Partial<ConversationTurn> = {}): ConversationTurn {
  return {
    query: `question ${n}`,
    resolvedQuery: { query: `hiking boots ${n}`, filters: { category: 'shoes', maxPrice: 100 + n } },
    productIds: [`p-${n}`, `p-${n + 1}`],
    prices: [89.99, 120 + n],
    createdAt: new Date(Date.UTC(2026, 0, 1, 9, 0, n)).toISOString(),
    ...extra,
  };
}

/**
 * The rules of `ConversationStore` (src/conversations/conversation.store.ts), run against every
 * backend, and the conversation service's "store down → reset" on each backend that can be down.
 * TTLs are 1 s so that the real backends expire conversations within a short wait.
 */
export function conversationStoreContract(name: string, make: () => Promise<ConversationStoreHarness>): void {
  describe(`${name} conversation store`, () => {
    const h = suiteHarness(make);

    it('resolves undefined for a conversation never started (unknown is not an error)', async () => {
      await expect(h.store.get(user(), id())).resolves.toBeUndefined();
    });

    it('starts a conversation with its first turn and returns it deep-equal, with its expiry', async () => {
      const u = user();
      const c = id();
      const before = Date.now();
      const first = turn(1, { query: 'Wanderschuhe für Nässe — 防水 🥾 "quoted" \\ back\nslash', resolvedQuery: { query: 'boots', filters: {}, offset: 5 } });
      const appended = await h.store.append(u, c, first, LONG);
      expect(appended).toMatchObject({ id: c, userId: u, turns: [first] });
      const got = await h.store.get(u, c);
      expect(got?.turns).toEqual([first]);
      expect(got?.expiresAt.getTime()).toBeGreaterThan(before + 590_000);
      expect(got?.expiresAt.getTime()).toBeLessThan(Date.now() + 610_000);
    });

    it('adds turns last and returns them oldest first', async () => {
      const u = user();
      const c = id();
      for (let n = 1; n <= 3; n++) await h.store.append(u, c, turn(n), LONG);
      expect((await h.store.get(u, c))?.turns).toEqual([turn(1), turn(2), turn(3)]);
    });

    it(`keeps at most ${MAX_TURNS} turns: the newest`, async () => {
      const u = user();
      const c = id();
      for (let n = 1; n <= MAX_TURNS + 3; n++) {
        const kept = await h.store.append(u, c, turn(n), LONG);
        expect(kept?.turns.length).toBe(Math.min(n, MAX_TURNS));
      }
      const turns = (await h.store.get(u, c))!.turns;
      expect(turns).toHaveLength(MAX_TURNS);
      expect(turns[0]).toEqual(turn(4));
      expect(turns.at(-1)).toEqual(turn(MAX_TURNS + 3));
    });

    it('never loses a turn to concurrent appends', async () => {
      const u = user();
      const c = id();
      await h.store.append(u, c, turn(0), LONG);
      await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? h.peer : h.store).append(u, c, turn(i + 1), LONG)));
      const turns = (await h.store.get(u, c))!.turns;
      expect(turns).toHaveLength(9);
      expect(new Set(turns.map((t) => t.query)).size).toBe(9);
    });

    it('forgets a conversation past its TTL; each turn renews it; a late turn starts it anew', async () => {
      const u = user();
      const short = id();
      const renewed = id();
      await h.store.append(u, short, turn(1), { ttlSeconds: 1, maxTurns: MAX_TURNS });
      await h.store.append(u, renewed, turn(1), { ttlSeconds: 1, maxTurns: MAX_TURNS });
      await h.store.append(u, renewed, turn(2), LONG);
      await expect(h.store.get(u, short)).resolves.toBeDefined();
      await h.advance(1200);
      await expect(h.store.get(u, short)).resolves.toBeUndefined();
      await expect(h.peer.get(u, short)).resolves.toBeUndefined();
      await expect(h.store.delete(u, short)).resolves.toBe(false);
      expect((await h.store.get(u, renewed))?.turns).toEqual([turn(1), turn(2)]);
      const restarted = await h.store.append(u, short, turn(9), LONG);
      expect(restarted?.turns).toEqual([turn(9)]);
    });

    it("treats another user's conversation as unknown: no read, no append, no delete", async () => {
      const owner = user();
      const other = user();
      const c = id();
      await h.store.append(owner, c, turn(1), LONG);
      await expect(h.store.get(other, c)).resolves.toBeUndefined();
      await expect(h.store.append(other, c, turn(2), LONG)).resolves.toBeUndefined();
      await expect(h.store.delete(other, c)).resolves.toBe(false);
      expect((await h.store.get(owner, c))?.turns).toEqual([turn(1)]);
    });

    it('deletes every turn at once, for every process sharing the backend', async () => {
      const u = user();
      const c = id();
      for (let n = 1; n <= 5; n++) await h.store.append(u, c, turn(n), LONG);
      await expect(h.peer.get(u, c)).resolves.toBeDefined();
      await expect(h.store.delete(u, c)).resolves.toBe(true);
      await expect(h.store.get(u, c)).resolves.toBeUndefined();
      await expect(h.peer.get(u, c)).resolves.toBeUndefined();
      await expect(h.peer.delete(u, c)).resolves.toBe(false);
    });

    it('cleanupExpired deletes expired conversations only (0 where the backend expires them itself)', async () => {
      await h.store.cleanupExpired();
      const u = user();
      const live = id();
      await h.store.append(u, live, turn(1), LONG);
      for (let i = 0; i < 3; i++) await h.store.append(u, id(), turn(1), { ttlSeconds: 1, maxTurns: MAX_TURNS });
      await h.advance(1200);
      const deleted = await h.store.cleanupExpired();
      if (h.store.backend === 'redis') expect(deleted).toBe(0);
      else expect(deleted).toBe(3);
      await expect(h.store.cleanupExpired()).resolves.toBe(0);
      await expect(h.store.get(u, live)).resolves.toBeDefined();
    });

    it('answers a ping while up', async () => {
      await expect(h.store.ping()).resolves.toBeUndefined();
    });

    it('rejects (fast, without queueing) every call while its backend is unreachable', (ctx) =>
      whileUnreachable(ctx, h.unreachable, async (down) => {
        await expect(down.get(user(), id())).rejects.toBeDefined();
        await expect(down.append(user(), id(), turn(1), LONG)).rejects.toBeDefined();
        await expect(down.delete(user(), id())).rejects.toBeDefined();
        await expect(down.ping()).rejects.toBeDefined();
      }));

    describe('through the conversation service', () => {
      it('opens a new conversation without an id, a found one with it, and 404s for unknown, foreign and malformed ids', async () => {
        const service = new ConversationService(h.store, { ttlSeconds: 600, logger });
        const u = user();
        const fresh = await service.open(u, undefined);
        expect(fresh.status).toBe('new');
        expect(fresh.id).toMatch(/^cv_[A-Za-z0-9_-]{22}$/);
        await expect(service.record(u, fresh.id, turn(1))).resolves.toBe(true);
        const found = await service.open(u, fresh.id);
        expect(found).toMatchObject({ status: 'found', id: fresh.id, conversation: { turns: [turn(1)] } });
        for (const [who, which] of [[u, id()], [user(), fresh.id], [u, 'not an id!'], [u, 'x'.repeat(65)]]) {
          const err = await service.open(who, which).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(AppError);
          expect((err as AppError).code).toBe('CONVERSATION_NOT_FOUND');
        }
        await expect(service.record(user(), fresh.id, turn(2))).resolves.toBe(false);
        await service.delete(u, fresh.id);
        await expect(service.get(u, fresh.id)).rejects.toMatchObject({ code: 'CONVERSATION_NOT_FOUND' });
        await expect(service.delete(u, fresh.id)).rejects.toMatchObject({ code: 'CONVERSATION_NOT_FOUND' });
      });

      it('reports a reset (never throws) when the store is down, and the routes get a 503', (ctx) =>
        whileUnreachable(ctx, h.unreachable, async (down) => {
          const service = new ConversationService(down, { ttlSeconds: 600, logger });
          const c = id();
          await expect(service.open(user(), c)).resolves.toEqual({ status: 'reset', id: c });
          await expect(service.record(user(), c, turn(1))).resolves.toBe(false);
          await expect(service.get(user(), c)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
          await expect(service.delete(user(), c)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
        }));
    });
  });
}
