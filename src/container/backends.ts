import type { Config } from '../config.js';
import { loadCatalog, type Catalog } from '../assistant/catalog/catalog.js';
import type { CatalogIndex } from '../assistant/catalog/catalog-index.js';
import { CatalogProvider } from '../assistant/providers/catalog.js';
import { OpenAiProvider } from '../assistant/providers/openai.js';
import type { AssistantProvider } from '../assistant/providers/provider.js';
import type { CacheStore } from '../cache/cache.store.js';
import { createMemoryCacheStore } from '../cache/cache.store.memory.js';
import { createNoneCacheStore } from '../cache/cache.store.none.js';
import { createPostgresCacheStore } from '../cache/cache.store.postgres.js';
import { createRedisCacheStore } from '../cache/cache.store.redis.js';
import { seedCatalogIfEmpty } from '../catalog/catalog-seed.js';
import type { CatalogStore } from '../catalog/catalog.store.js';
import { MemoryCatalogStore } from '../catalog/catalog.store.memory.js';
import { PostgresCatalogStore } from '../catalog/catalog.store.postgres.js';
import { LiveCatalog } from '../catalog/live-catalog.js';
import { ComposedQueryGate } from '../assistant/gate/query-gate.composed.js';
import type { AnswerFinish } from '../assistant/gate/answer-finish.js';
import { PostgresAnswerFinish } from '../assistant/gate/answer-finish.postgres.js';
import type { QueryGate } from '../assistant/gate/query-gate.js';
import { PostgresQueryGate } from '../assistant/gate/query-gate.postgres.js';
import type { ConsentRepository } from '../consent/consent.repository.js';
import { MemoryConsentRepository } from '../consent/consent.repository.memory.js';
import { PostgresConsentRepository } from '../consent/consent.repository.postgres.js';
import type { ConversationStore } from '../conversations/conversation.store.js';
import { createMemoryConversationStore } from '../conversations/conversation.store.memory.js';
import { createPostgresConversationStore } from '../conversations/conversation.store.postgres.js';
import { createRedisConversationStore } from '../conversations/conversation.store.redis.js';
import type { CreditPolicy, CreditRepository } from '../credits/credit.repository.js';
import { MemoryCreditRepository } from '../credits/credit.repository.memory.js';
import { PostgresCreditRepository } from '../credits/credit.repository.postgres.js';
import type { IdempotencyStore } from '../idempotency/idempotency.store.js';
import { MemoryIdempotencyStore } from '../idempotency/idempotency.store.memory.js';
import { PostgresIdempotencyStore } from '../idempotency/idempotency.store.postgres.js';
import { MemoryJobLock, PostgresJobLock, type JobLock } from '../maintenance/job-lock.js';
import type { Breaker, BreakerRegistry } from '../platform/breaker.js';
import type { Database } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { redisTarget } from '../platform/redis-client.js';
import type { DbGuard } from '../platform/db-guard.js';
import type { Metrics } from '../platform/metrics.js';
import { unguarded, type StorageGuard } from '../platform/storage-guard.js';
import type { RateLimitStore } from '../rate-limit/rate-limit.store.js';
import { MemoryRateLimitStore } from '../rate-limit/rate-limit.store.memory.js';
import { PostgresRateLimitStore } from '../rate-limit/rate-limit.store.postgres.js';

// Stage 1 of the wiring (src/container.ts): one switch per feature picks its backend from
// Config. Nothing here is a service; whatever needs closing is handed to `onClose` as it is made.

/** What the backends are built on: made once by createContainer. */
export interface Platform {
  logger: Logger;
  /** Absent when neither storage nor cache is PostgreSQL. */
  database: Database | undefined;
  /** Where the `database` breaker (and every other) lives; `metrics` watches them. */
  breakers: BreakerRegistry;
  /**
   * With a database: every PostgreSQL call of the repositories goes through it (breaker + outage
   * mapping), and while its breaker is open the PostgreSQL cache and conversations fail at once.
   */
  databaseGuard: DbGuard | undefined;
  metrics: Metrics;
}

export type OnClose = (close: () => Promise<void>) => void;

/** STORAGE_BACKEND: everything whose correctness lives in the storage. */
export interface StorageBackends {
  credits: CreditRepository;
  consents: ConsentRepository;
  /** Fixed-window counters (shared by processes on PostgreSQL). */
  rateLimits: RateLimitStore;
  /**
   * Idempotency-Key records, on the storage of the credits: recording an answer settles its held
   * charge in the same step, so both must live in one place.
   */
  idempotency: IdempotencyStore;
  /** Lets one process at a time run the cleanup. */
  jobLock: JobLock;
  /** The query route's reads before its charge (consent, rate limit, cache entry, balance). */
  gate: QueryGate;
  /** A fresh answer's settle, cache write and turn in one statement, where all three live in the database. */
  finish: AnswerFinish | undefined;
}

/** A store and, where it is remote, the breaker its calls go through. */
export interface StoreBackend<S> {
  store: S;
  breaker?: Breaker;
}

export interface Backends {
  storage: StorageBackends;
  cache: StoreBackend<CacheStore>;
  conversations: StoreBackend<ConversationStore>;
  catalog: { store: CatalogStore; live: LiveCatalog };
  provider: AssistantProvider;
}

export async function createBackends(config: Config, platform: Platform, keyPrefixes: { cache?: string; conversations?: string }, onClose: OnClose): Promise<Backends> {
  const storage = storageBackends(config, platform);
  const cache = await cacheBackend(config, platform, keyPrefixes.cache);
  onClose(() => cache.store.close());
  const conversations = await conversationBackend(config, platform, keyPrefixes.conversations);
  onClose(() => conversations.store.close());
  const catalog = await catalogBackend(config, platform, onClose);
  const provider = assistantProvider(config.assistant, catalog.live);
  return { storage, cache, conversations, catalog, provider };
}

/** Any constant shared by every process of this app: the key of the cleanup lock. */
const CLEANUP_LOCK_KEY = 724_311_002;

function storageBackends(config: Config, { database, databaseGuard }: Platform): StorageBackends {
  const guard: StorageGuard = databaseGuard ?? unguarded;
  const policy: CreditPolicy = {
    guestAllowance: config.credits.guestAllowance,
    registeredAllowance: config.credits.registeredAllowance,
    resetPeriodMs: Math.round(config.credits.resetPeriodHours * 3_600_000),
  };
  const idempotencyLimits = { maxKeysPerUser: config.idempotencyMaxKeysPerUser };
  switch (config.storageBackend) {
    case 'postgres': {
      const db = required(database, 'STORAGE_BACKEND=postgres needs a database');
      const cacheHere = config.cacheBackend === 'postgres';
      const turnsHere = config.conversations.backend === 'postgres';
      return {
        credits: new PostgresCreditRepository(db.sequelize, guard, policy, undefined, db.replicaReads),
        consents: new PostgresConsentRepository(db.sequelize, guard, undefined, db.replicaReads),
        rateLimits: new PostgresRateLimitStore(db.sequelize, guard),
        // One statement for the reads of a question; with the cache in this database, its entry too
        // (and with the conversations here as well, a cached answer's new conversation).
        gate: new PostgresQueryGate(db.sequelize, guard, policy, { readsCache: cacheHere, keepsTurns: cacheHere && turnsHere, ...idempotencyLimits }),
        finish: cacheHere && turnsHere ? new PostgresAnswerFinish(db.sequelize, guard) : undefined,
        idempotency: new PostgresIdempotencyStore(db.sequelize, guard, undefined, {
          ...idempotencyLimits,
          // Answers in the `query_cache` table of this database are referred to, not copied (ADR 0011).
          referToCache: config.cacheBackend === 'postgres',
        }),
        jobLock: new PostgresJobLock(db.url, config.database, CLEANUP_LOCK_KEY),
      };
    }
    case 'memory': {
      const credits = new MemoryCreditRepository(policy);
      const consents = new MemoryConsentRepository();
      const rateLimits = new MemoryRateLimitStore();
      const idempotency = new MemoryIdempotencyStore(undefined, idempotencyLimits, credits);
      return {
        credits,
        consents,
        rateLimits,
        gate: new ComposedQueryGate({ consents, rateLimits, idempotency }),
        finish: undefined,
        idempotency,
        jobLock: new MemoryJobLock(),
      };
    }
  }
}

export const CACHE_BREAKER = 'cache';

/**
 * How long a cache call may take before it counts as a failure and the request goes on
 * uncached. A lookup is one indexed read: far longer than this means the backend is in trouble,
 * and the request must still answer within the outage budget of the database calls after it.
 */
export const CACHE_CALL_TIMEOUT_MS = 250;

/** CACHE_BACKEND → the store, behind the `cache` breaker when the store is remote. */
export async function cacheBackend(config: Config, platform: Pick<Platform, 'database' | 'databaseGuard' | 'breakers' | 'logger'>, keyPrefix: string | undefined): Promise<StoreBackend<CacheStore>> {
  const { database, breakers, logger } = platform;
  switch (config.cacheBackend) {
    case 'none':
      return { store: createNoneCacheStore() };
    case 'memory':
      // In-process: nothing to break.
      return { store: createMemoryCacheStore({ maxEntries: config.cache.maxEntries }) };
    case 'postgres': {
      const db = required(database, 'CACHE_BACKEND=postgres needs the database');
      const store = createPostgresCacheStore(db.sequelize, { databaseDown: whileOpen(platform.databaseGuard?.breaker), reads: db.replicaReads });
      return { store, breaker: remoteBreaker(breakers, CACHE_BREAKER, CACHE_CALL_TIMEOUT_MS) };
    }
    case 'redis': {
      const target = redisTarget(config.cache);
      const store = await createRedisCacheStore({ target, keyPrefix, commandTimeoutMs: CACHE_CALL_TIMEOUT_MS, connectTimeoutMs: 1000, logger });
      return { store, breaker: remoteBreaker(breakers, CACHE_BREAKER, false) };
    }
  }
}

export const CONVERSATION_BREAKER = 'conversations';

/**
 * How long a conversation call may take before it counts as a failure and the question is
 * answered as a new one. A read or an append is one statement on one row or key.
 */
export const CONVERSATION_CALL_TIMEOUT_MS = 300;

/** CONVERSATION_BACKEND → the store, behind the `conversations` breaker when the store is remote. */
async function conversationBackend(config: Config, platform: Platform, keyPrefix: string | undefined): Promise<StoreBackend<ConversationStore>> {
  const { database, breakers, logger } = platform;
  switch (config.conversations.backend) {
    case 'memory':
      // In-process: nothing to break.
      return { store: createMemoryConversationStore() };
    case 'postgres': {
      const db = required(database, 'CONVERSATION_BACKEND=postgres needs the database');
      const store = createPostgresConversationStore(db.sequelize, { databaseDown: whileOpen(platform.databaseGuard?.breaker) });
      return { store, breaker: remoteBreaker(breakers, CONVERSATION_BREAKER, CONVERSATION_CALL_TIMEOUT_MS) };
    }
    case 'redis': {
      // The conversations share the cache's Redis (REDIS_URL or REDIS_CLUSTER_NODES).
      const target = redisTarget(config.cache);
      const store = await createRedisConversationStore({ target, keyPrefix, commandTimeoutMs: CONVERSATION_CALL_TIMEOUT_MS, connectTimeoutMs: 1000, logger });
      return { store, breaker: remoteBreaker(breakers, CONVERSATION_BREAKER, false) };
    }
  }
}

/**
 * The breaker of a remote store (the cache, the conversations): half its calls failing, of at
 * least 3, opens it for 5 s. On Redis `timeoutMs` is false: ioredis bounds every command itself
 * (commandTimeout), so there is no second timer per call.
 */
function remoteBreaker(breakers: BreakerRegistry, name: string, timeoutMs: number | false): Breaker {
  return breakers.create(name, { timeoutMs, errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs: 5000 });
}

/** "Is the database down right now?" for a PostgreSQL store: the database breaker is open. */
function whileOpen(breaker: Breaker | undefined): (() => boolean) | undefined {
  return breaker ? () => breaker.state === 'open' : undefined;
}

/**
 * The shop's catalog, on STORAGE_BACKEND: in the database on postgres (an empty database is
 * seeded from CATALOG_PATH or the bundled sample, once, whichever process starts first), or the
 * file itself, read-only, on memory. The live catalog follows the store's changes.
 */
async function catalogBackend(config: Config, { database, logger }: Platform, onClose: OnClose): Promise<Backends['catalog']> {
  const { catalogPath, catalogRefreshSeconds } = config.assistant;
  let store: CatalogStore;
  let source: string;
  switch (config.storageBackend) {
    case 'postgres': {
      const db = required(database, 'STORAGE_BACKEND=postgres needs a database');
      const postgres = new PostgresCatalogStore(db.url, config.database, logger);
      onClose(() => postgres.close());
      await seedCatalogIfEmpty(postgres, catalogPath, logger);
      [store, source] = [postgres, 'database'];
      break;
    }
    case 'memory': {
      const memory = new MemoryCatalogStore(await loadCatalog(catalogPath));
      onClose(() => memory.close());
      [store, source] = [memory, catalogPath ?? 'bundled catalog'];
      break;
    }
  }
  const live = await LiveCatalog.open(store, { refreshSeconds: catalogRefreshSeconds }, logger, source);
  onClose(() => live.close());
  return { store, live };
}

/** ASSISTANT_PROVIDER → the provider, answering from `catalog` (fixed or live). */
export function assistantProvider(settings: Pick<Config['assistant'], 'provider' | 'openai'>, catalog: Catalog | CatalogIndex): AssistantProvider {
  const { provider, openai } = settings;
  switch (provider) {
    case 'catalog':
      return new CatalogProvider(catalog);
    case 'openai':
      // config.ts requires OPENAI_BASE_URL and OPENAI_MODEL when ASSISTANT_PROVIDER=openai.
      if (!openai.baseUrl || !openai.model) throw new Error('ASSISTANT_PROVIDER=openai needs OPENAI_BASE_URL and OPENAI_MODEL');
      return new OpenAiProvider(catalog, { baseUrl: openai.baseUrl, apiKey: openai.apiKey, model: openai.model });
  }
}

function required<T>(value: T | undefined, problem: string): T {
  if (value === undefined) throw new Error(problem);
  return value;
}
