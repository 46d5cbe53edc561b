import type { ComponentHealth } from '../health/health.service.js';
import type { Breaker, BreakerState } from '../platform/breaker.js';
import { StorageUnavailableError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { CacheResult } from '../platform/metrics.js';
import type { CacheStore, JsonValue } from './cache.store.js';

export type CacheLookup = { status: 'hit'; value: JsonValue } | { status: 'miss' } | { status: 'bypass' };

export interface CacheStats {
  backend: CacheStore['backend'];
  hits: number;
  misses: number;
  bypasses: number;
  /** hits / (hits + misses); 0 before any lookup. */
  hitRate: number;
  /** Live entries, or null where counting is costly or the store does not answer. */
  entries: number | null;
  breaker: BreakerState;
}

export interface QueryCacheOptions {
  ttlSeconds: number;
  /** Guards a remote store (PostgreSQL, Redis); none for memory and none, which cannot fail. */
  breaker?: Breaker | undefined;
  /** Bound of the readiness ping (ms). */
  probeTimeoutMs?: number;
  logger: Logger;
  /**
   * Told the result of every lookup (for `shopassist_cache_requests_total`): `hit`, `miss`,
   * `bypass` when the read was not attempted (cache disabled, `Cache-Control: no-cache`), and
   * `error` when the store failed, timed out or its breaker was open, so the lookup became a bypass.
   */
  recordLookup?: (result: CacheResult) => void;
}

const MISS: CacheLookup = Object.freeze({ status: 'miss' });
const BYPASS: CacheLookup = Object.freeze({ status: 'bypass' });

/**
 * The query cache: answers by cache key, on whichever store CACHE_BACKEND chose. The cache is an
 * optimisation, never a dependency: a store that fails, times out or whose breaker is open makes
 * `get` a bypass and `set` a skipped write, and neither ever throws. Counters are per process
 * and survive `clear`.
 */
export class QueryCacheService {
  private hits = 0;
  private misses = 0;
  private bypasses = 0;
  private readonly breaker: Breaker | undefined;
  private readonly disabled: boolean;
  private readonly record: (result: CacheResult) => void;

  constructor(
    private readonly store: CacheStore,
    private readonly options: QueryCacheOptions,
  ) {
    this.breaker = options.breaker;
    this.disabled = store.backend === 'none';
    this.record = options.recordLookup ?? (() => {});
  }

  /** CACHE_TTL_SECONDS: how long an entry lives. */
  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  get backend(): CacheStore['backend'] {
    return this.store.backend;
  }

  /**
   * A hit, a miss, or a bypass: the cache is disabled or failing, or the caller asked to skip
   * the read (`Cache-Control: no-cache`; the fresh answer is still written with `set`).
   */
  get(key: string, options?: { skipRead?: boolean }): Promise<CacheLookup> {
    if (this.disabled || options?.skipRead) {
      this.bypasses++;
      this.record('bypass');
      return Promise.resolve(BYPASS);
    }
    if (this.store.getSync) return Promise.resolve(this.counted(this.store.getSync(key)));
    return this.read(key).then(
      (value) => this.counted(value),
      (err: unknown) => this.failedRead(err),
    );
  }

  /** The store's read, under the cache's breaker when there is one. */
  private read(key: string): Promise<JsonValue | undefined> {
    return this.breaker ? this.breaker.run(() => this.store.get(key)) : this.store.get(key);
  }

  /** A read that failed: a bypass, counted as one. */
  private failedRead(err: unknown): CacheLookup {
    this.bypasses++;
    this.record('error');
    this.options.logger.debug({ event: 'cache_bypass', err: describe(err) }, 'cache read failed: bypassed');
    return BYPASS;
  }

  /**
   * Whether another statement may read the entry in this lookup's place (the query gate, which
   * reads the `query_cache` table with its other reads): the cache is on and its breaker not open.
   */
  get readableElsewhere(): boolean {
    return !this.disabled && this.breaker?.state !== 'open';
  }

  /**
   * Starts a lookup now and counts it only when `take` is called: the query route reads a remote
   * cache (Redis) beside its gate, and counts the lookup only for a question that passed the gate.
   * A failed read is a bypass, as in `get`; one never taken is not counted and never rejects.
   */
  prefetch(key: string): () => Promise<CacheLookup> {
    if (this.disabled || this.store.getSync) return () => this.get(key);
    const read = this.read(key).then(
      (value) => ({ ok: true as const, value }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    return async () => {
      const result = await read;
      return result.ok ? this.counted(result.value) : this.failedRead(result.err);
    };
  }

  /** A lookup made by another statement (see `readableElsewhere`), counted as `get` counts its own. */
  found(entry: { found: false } | { found: true; value: JsonValue }): CacheLookup {
    return this.counted(entry.found ? entry.value : undefined);
  }

  private counted(value: JsonValue | undefined): CacheLookup {
    if (value === undefined) {
      this.misses++;
      this.record('miss');
      return MISS;
    }
    this.hits++;
    this.record('hit');
    return { status: 'hit', value };
  }

  /** Stores an answer for CACHE_TTL_SECONDS; resolves false when the write was skipped (cache disabled or failing). */
  async set(key: string, value: JsonValue): Promise<boolean> {
    if (this.disabled) return false;
    try {
      const write = () => this.store.set(key, value, this.options.ttlSeconds);
      await (this.breaker ? this.breaker.run(write) : write());
      return true;
    } catch (err) {
      this.options.logger.debug({ event: 'cache_write_skipped', err: describe(err) }, 'cache write failed: skipped');
      return false;
    }
  }

  /** Empties the cache (operator). Rejects with StorageUnavailableError when the store cannot answer. */
  async clear(): Promise<void> {
    await this.operate(() => this.store.clear());
  }

  /** Deletes expired entries; resolves how many. Rejects with StorageUnavailableError when the store cannot answer. */
  async cleanupExpired(): Promise<number> {
    return this.operate(() => this.store.cleanupExpired());
  }

  /** Never throws: `entries` is null when the store does not answer. */
  async stats(): Promise<CacheStats> {
    let entries: number | null = null;
    if (this.breaker?.state !== 'open') entries = await this.store.countEntries().catch(() => null);
    const looked = this.hits + this.misses;
    return {
      backend: this.store.backend,
      hits: this.hits,
      misses: this.misses,
      bypasses: this.bypasses,
      hitRate: looked === 0 ? 0 : this.hits / looked,
      entries,
      breaker: this.breaker?.state ?? 'closed',
    };
  }

  /** Readiness: `disabled` for none, `down` at once while the breaker is open or when the store does not answer in time. */
  async health(): Promise<ComponentHealth> {
    if (this.disabled) return { status: 'disabled', latencyMs: null };
    if (this.breaker?.state === 'open') return { status: 'down', latencyMs: null };
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const ping = () => this.store.ping();
      await Promise.race([
        this.breaker ? this.breaker.run(ping) : ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('cache ping timed out')), this.options.probeTimeoutMs ?? 1000);
        }),
      ]);
      return { status: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch {
      return { status: 'down', latencyMs: null };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private async operate<T>(fn: () => Promise<T>): Promise<T> {
    if (this.breaker?.state === 'open') throw new StorageUnavailableError(this.breaker.secondsUntilProbe());
    try {
      // Not through the breaker: operator work may take longer than a lookup's time limit.
      return await fn();
    } catch (err) {
      this.options.logger.warn({ event: 'cache_operation_failed', err: describe(err) }, 'cache operation failed');
      throw new StorageUnavailableError(this.breaker?.secondsUntilProbe() || 5, err);
    }
  }
}

function describe(err: unknown): { name?: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) };
}
