import { LRUCache } from 'lru-cache';
import { MEMORY_MAX_CONVERSATIONS } from '../platform/memory-bounds.js';
import type { Conversation, ConversationStore, ConversationTurn } from './conversation.store.js';

export interface MemoryConversationStoreOptions {
  maxConversations?: number;
  /** Milliseconds clock (tests inject one to expire conversations without sleeping). */
  now?: () => number;
}

interface Entry {
  userId: string;
  turns: readonly ConversationTurn[];
  expiresAt: number;
}

/**
 * CONVERSATION_BACKEND=memory: an LRU (lru-cache) with a TTL per conversation, bounded by
 * MEMORY_MAX_CONVERSATIONS. One process only (the rollback setting of memory storage). Turns are
 * deep-copied in and out, so no caller can change a stored turn.
 */
export function createMemoryConversationStore(options: MemoryConversationStoreOptions = {}): ConversationStore {
  const now = options.now ?? Date.now;
  const lru = new LRUCache<string, Entry>({
    max: options.maxConversations ?? MEMORY_MAX_CONVERSATIONS,
    ttlResolution: 0,
    perf: { now },
  });
  const live = (userId: string, id: string): Entry | undefined => {
    const entry = lru.get(id);
    return entry && entry.userId === userId && entry.expiresAt > now() ? entry : undefined;
  };
  const view = (id: string, e: Entry): Conversation => ({ id, userId: e.userId, turns: structuredClone([...e.turns]), expiresAt: new Date(e.expiresAt) });
  return {
    backend: 'memory',
    get(userId, id) {
      const entry = live(userId, id);
      return Promise.resolve(entry && view(id, entry));
    },
    append(userId, id, turn, { ttlSeconds, maxTurns }) {
      const existing = lru.get(id);
      if (existing && existing.userId !== userId) return Promise.resolve(undefined);
      const earlier = existing && existing.expiresAt > now() ? existing.turns : [];
      const entry: Entry = { userId, turns: [...earlier, structuredClone(turn)].slice(-maxTurns), expiresAt: now() + ttlSeconds * 1000 };
      lru.set(id, entry, { ttl: ttlSeconds * 1000 });
      return Promise.resolve(view(id, entry));
    },
    delete(userId, id) {
      if (!live(userId, id)) return Promise.resolve(false);
      lru.delete(id);
      return Promise.resolve(true);
    },
    cleanupExpired() {
      const before = lru.size;
      lru.purgeStale();
      return Promise.resolve(before - lru.size);
    },
    ping: () => Promise.resolve(),
    close() {
      lru.clear();
      return Promise.resolve();
    },
  };
}
