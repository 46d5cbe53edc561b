import type { CacheStore } from './cache.store.js';

/** CACHE_BACKEND=none: every lookup misses and nothing is kept. */
export function createNoneCacheStore(): CacheStore {
  return {
    backend: 'none',
    get: () => Promise.resolve(undefined),
    set: () => Promise.resolve(),
    clear: () => Promise.resolve(),
    cleanupExpired: () => Promise.resolve(0),
    countEntries: () => Promise.resolve(0),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
