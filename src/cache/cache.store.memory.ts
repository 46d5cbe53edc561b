import { LRUCache } from 'lru-cache';
import type { CacheStore, JsonValue } from './cache.store.js';

export interface MemoryCacheStoreOptions {
  /** CACHE_MAX_ENTRIES: past it, the least recently used entry is evicted. */
  maxEntries: number;
  /** Milliseconds clock (tests inject one to expire entries without sleeping). */
  now?: () => number;
}

/**
 * CACHE_BACKEND=memory: an LRU (lru-cache) bounded by CACHE_MAX_ENTRIES, each entry with its own
 * TTL. One process only: entries are not shared between API processes. Values are deep-copied
 * and frozen when stored, so a caller can neither change an entry after `set` nor through what
 * `get` returned, and a hit costs no copy.
 */
export function createMemoryCacheStore(options: MemoryCacheStoreOptions): CacheStore {
  const lru = new LRUCache<string, { value: JsonValue }>({
    max: options.maxEntries,
    ttlResolution: 0,
    ...(options.now ? { perf: { now: options.now } } : {}),
  });
  return {
    backend: 'memory',
    get(key) {
      return Promise.resolve(lru.get(key)?.value);
    },
    getSync(key) {
      return lru.get(key)?.value;
    },
    set(key, value, ttlSeconds) {
      lru.set(key, { value: deepFreeze(structuredClone(value)) }, { ttl: ttlSeconds * 1000 });
      return Promise.resolve();
    },
    clear() {
      lru.clear();
      return Promise.resolve();
    },
    cleanupExpired() {
      const before = lru.size;
      lru.purgeStale();
      return Promise.resolve(before - lru.size);
    },
    countEntries() {
      // `size` still holds expired entries until they are purged or read.
      lru.purgeStale();
      return Promise.resolve(lru.size);
    },
    ping: () => Promise.resolve(),
    close() {
      lru.clear();
      return Promise.resolve();
    },
  };
}

function deepFreeze<T extends JsonValue>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
